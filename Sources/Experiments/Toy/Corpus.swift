/// The character-level corpus shipped with the project: sonnets by William Shakespeare (1609), in the
/// public domain. Modern spelling. Used so the char-RNN task runs offline with no download.
public enum Corpus {
    public static let name = "Shakespeare, Sonnets (1609; public domain)"
    public static let sonnets = """
        From fairest creatures we desire increase,
        That thereby beauty's rose might never die,
        But as the riper should by time decease,
        His tender heir might bear his memory:
        But thou, contracted to thine own bright eyes,
        Feed'st thy light's flame with self-substantial fuel,
        Making a famine where abundance lies,
        Thyself thy foe, to thy sweet self too cruel.
        Thou that art now the world's fresh ornament
        And only herald to the gaudy spring,
        Within thine own bud buriest thy content,
        And, tender churl, mak'st waste in niggarding.
        Pity the world, or else this glutton be,
        To eat the world's due, by the grave and thee.

        When forty winters shall besiege thy brow,
        And dig deep trenches in thy beauty's field,
        Thy youth's proud livery, so gazed on now,
        Will be a tattered weed, of small worth held:
        Then being asked where all thy beauty lies,
        Where all the treasure of thy lusty days,
        To say, within thine own deep-sunken eyes,
        Were an all-eating shame and thriftless praise.
        How much more praise deserved thy beauty's use,
        If thou couldst answer 'This fair child of mine
        Shall sum my count and make my old excuse,'
        Proving his beauty by succession thine!
        This were to be new made when thou art old,
        And see thy blood warm when thou feel'st it cold.

        Shall I compare thee to a summer's day?
        Thou art more lovely and more temperate:
        Rough winds do shake the darling buds of May,
        And summer's lease hath all too short a date;
        Sometime too hot the eye of heaven shines,
        And often is his gold complexion dimmed;
        And every fair from fair sometime declines,
        By chance or nature's changing course untrimmed;
        But thy eternal summer shall not fade,
        Nor lose possession of that fair thou ow'st;
        Nor shall death brag thou wander'st in his shade,
        When in eternal lines to time thou grow'st:
        So long as men can breathe or eyes can see,
        So long lives this, and this gives life to thee.

        When, in disgrace with fortune and men's eyes,
        I all alone beweep my outcast state,
        And trouble deaf heaven with my bootless cries,
        And look upon myself and curse my fate,
        Wishing me like to one more rich in hope,
        Featured like him, like him with friends possessed,
        Desiring this man's art and that man's scope,
        With what I most enjoy contented least;
        Yet in these thoughts myself almost despising,
        Haply I think on thee, and then my state,
        Like to the lark at break of day arising
        From sullen earth, sings hymns at heaven's gate;
        For thy sweet love remembered such wealth brings
        That then I scorn to change my state with kings.

        When to the sessions of sweet silent thought
        I summon up remembrance of things past,
        I sigh the lack of many a thing I sought,
        And with old woes new wail my dear time's waste:
        Then can I drown an eye, unused to flow,
        For precious friends hid in death's dateless night,
        And weep afresh love's long since cancelled woe,
        And moan the expense of many a vanished sight:
        Then can I grieve at grievances foregone,
        And heavily from woe to woe tell o'er
        The sad account of fore-bemoaned moan,
        Which I new pay as if not paid before.
        But if the while I think on thee, dear friend,
        All losses are restored and sorrows end.

        Not marble, nor the gilded monuments
        Of princes, shall outlive this powerful rhyme;
        But you shall shine more bright in these contents
        Than unswept stone, besmeared with sluttish time.
        When wasteful war shall statues overturn,
        And broils root out the work of masonry,
        Nor Mars his sword nor war's quick fire shall burn
        The living record of your memory.
        'Gainst death and all-oblivious enmity
        Shall you pace forth; your praise shall still find room
        Even in the eyes of all posterity
        That wear this world out to the ending doom.
        So, till the judgment that yourself arise,
        You live in this, and dwell in lovers' eyes.

        Like as the waves make towards the pebbled shore,
        So do our minutes hasten to their end;
        Each changing place with that which goes before,
        In sequent toil all forwards do contend.
        Nativity, once in the main of light,
        Crawls to maturity, wherewith being crowned,
        Crooked eclipses 'gainst his glory fight,
        And Time that gave doth now his gift confound.
        Time doth transfix the flourish set on youth
        And delves the parallels in beauty's brow,
        Feeds on the rarities of nature's truth,
        And nothing stands but for his scythe to mow:
        And yet to times in hope my verse shall stand,
        Praising thy worth, despite his cruel hand.

        Since brass, nor stone, nor earth, nor boundless sea,
        But sad mortality o'ersways their power,
        How with this rage shall beauty hold a plea,
        Whose action is no stronger than a flower?
        O, how shall summer's honey breath hold out
        Against the wrackful siege of battering days,
        When rocks impregnable are not so stout,
        Nor gates of steel so strong, but Time decays?
        O fearful meditation! where, alack,
        Shall Time's best jewel from Time's chest lie hid?
        Or what strong hand can hold his swift foot back?
        Or who his spoil of beauty can forbid?
        O, none, unless this miracle have might,
        That in black ink my love may still shine bright.

        That time of year thou mayst in me behold
        When yellow leaves, or none, or few, do hang
        Upon those boughs which shake against the cold,
        Bare ruined choirs, where late the sweet birds sang.
        In me thou seest the twilight of such day
        As after sunset fadeth in the west,
        Which by and by black night doth take away,
        Death's second self, that seals up all in rest.
        In me thou seest the glowing of such fire
        That on the ashes of his youth doth lie,
        As the death-bed whereon it must expire,
        Consumed with that which it was nourished by.
        This thou perceiv'st, which makes thy love more strong,
        To love that well which thou must leave ere long.

        Let me not to the marriage of true minds
        Admit impediments. Love is not love
        Which alters when it alteration finds,
        Or bends with the remover to remove:
        O no! it is an ever-fixed mark
        That looks on tempests and is never shaken;
        It is the star to every wandering bark,
        Whose worth's unknown, although his height be taken.
        Love's not Time's fool, though rosy lips and cheeks
        Within his bending sickle's compass come;
        Love alters not with his brief hours and weeks,
        But bears it out even to the edge of doom.
        If this be error and upon me proved,
        I never writ, nor no man ever loved.

        My mistress' eyes are nothing like the sun;
        Coral is far more red than her lips' red;
        If snow be white, why then her breasts are dun;
        If hairs be wires, black wires grow on her head.
        I have seen roses damasked, red and white,
        But no such roses see I in her cheeks;
        And in some perfumes is there more delight
        Than in the breath that from my mistress reeks.
        I love to hear her speak, yet well I know
        That music hath a far more pleasing sound;
        I grant I never saw a goddess go;
        My mistress, when she walks, treads on the ground.
        And yet, by heaven, I think my love as rare
        As any she belied with false compare.

        To me, fair friend, you never can be old,
        For as you were when first your eye I eyed,
        Such seems your beauty still. Three winters cold
        Have from the forests shook three summers' pride,
        Three beauteous springs to yellow autumn turned
        In process of the seasons have I seen,
        Three April perfumes in three hot Junes burned,
        Since first I saw you fresh, which yet are green.
        Ah, yet doth beauty, like a dial-hand,
        Steal from his figure, and no pace perceived;
        So your sweet hue, which methinks still doth stand,
        Hath motion, and mine eye may be deceived:
        For fear of which, hear this, thou age unbred:
        Ere you were born was beauty's summer dead.
        """
}

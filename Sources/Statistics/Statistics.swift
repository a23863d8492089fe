import Foundation

/// Descriptive statistics, intervals, tests and multiple-comparison adjustment, each implemented once: every
/// module that summarises numbers (charts' kernel bandwidths, the study's verdicts, the analyses) calls these.
public enum Stats {
    // MARK: description

    /// The arithmetic mean; nan for no values.
    public static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

    /// Sample standard deviation (ddof = 1); 0 for fewer than two values.
    public static func std(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let m = mean(v)
        return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
    }

    /// The middle value (the mean of the two middle ones for an even count); nan for no values.
    public static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The `q` quantile as the nearest sorted value (no interpolation); nan for no values.
    public static func quantile(_ v: [Double], _ q: Double) -> Double {
        let s = v.sorted()
        return s.isEmpty ? .nan : s[min(s.count - 1, max(0, Int((Double(s.count - 1) * q).rounded())))]
    }

    /// Pearson's correlation of two equally long samples; 0 when either is constant or they are shorter than 2.
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(min(a.count, b.count))
        guard n > 1 else { return 0 }
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) {
            ab += (x - ma) * (y - mb); aa += (x - ma) * (x - ma); bb += (y - mb) * (y - mb)
        }
        return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
    }

    /// Ranks from 1, ties given their mean rank.
    public static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count), i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            for k in i...j { r[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return r
    }

    /// Spearman's rank correlation: Pearson's on the ranks.
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double { pearson(ranks(a), ranks(b)) }

    /// Cosine of the angle between two vectors (0 when either is zero).
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return na > 0 && nb > 0 ? d / (na * nb) : 0
    }
}

// MARK: - distributions

extension Stats {
    /// The regularised incomplete beta function I_x(a, b), by its continued fraction (modified Lentz), used on the
    /// side where it converges fast.
    public static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, b, a) }
        let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let front: Double = exp(logBeta + a * log(x) + b * log(1 - x))
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        d = 1 / (abs(d) < tiny ? tiny : d)
        var f = d
        for m in 1...300 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d; c = 1 + even / c
            d = 1 / (abs(d) < tiny ? tiny : d); c = abs(c) < tiny ? tiny : c
            f *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d; c = 1 + odd / c
            d = 1 / (abs(d) < tiny ? tiny : d); c = abs(c) < tiny ? tiny : c
            let step = d * c
            f *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return front * f / a
    }

    /// P(T > t) for Student's t with `df` degrees of freedom.
    public static func tUpperTail(_ t: Double, df: Double) -> Double {
        guard t.isFinite else { return t > 0 ? 0 : 1 }
        let tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
        return t >= 0 ? tail : 1 - tail
    }

    /// The two-sided p-value of a t statistic.
    public static func tTwoSided(_ t: Double, df: Double) -> Double {
        t.isNaN ? .nan : min(1, 2 * tUpperTail(abs(t), df: df))
    }

    /// Student's t quantile: the t with P(T <= t) = p (bisection on the tail, to 1e-12).
    public static func tQuantile(_ p: Double, df: Double) -> Double {
        guard p > 0, p < 1, df > 0 else { return .nan }
        if p < 0.5 { return -tQuantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while tUpperTail(hi, df: df) > 1 - p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if tUpperTail(mid, df: df) > 1 - p { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 * max(1, hi) { break }
        }
        return (lo + hi) / 2
    }

    /// The two-sided p-value of an exact binomial (sign) test: `k` successes in `n` trials against p = 1/2.
    public static func signTest(_ k: Int, of n: Int) -> Double {
        guard n > 0 else { return 1 }
        let extreme = min(k, n - k)
        var tail = 0.0
        for i in 0...extreme {
            let logChoose: Double = lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1))
            tail += exp(logChoose)
        }
        return min(1, 2 * tail * pow(0.5, Double(n)))
    }
}

// MARK: - intervals and tests

extension Stats {
    /// A mean with its 95% interval.
    public struct Interval: Equatable, Sendable, Codable {
        public var mean: Double, low: Double, high: Double
        public init(mean: Double, low: Double, high: Double) { self.mean = mean; self.low = low; self.high = high }
        /// Whether `value` lies inside (ends included).
        public func contains(_ value: Double) -> Bool { low <= value && value <= high }
    }

    /// Mean and 95% Student t-interval of the finite values; one value gives an empty interval (low = high).
    public static func tInterval(_ values: [Double]) -> Interval {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return Interval(mean: .nan, low: .nan, high: .nan) }
        let m = mean(v)
        guard v.count > 1 else { return Interval(mean: m, low: m, high: m) }
        let half = tQuantile(0.975, df: Double(v.count - 1)) * std(v) / Double(v.count).squareRoot()
        return Interval(mean: m, low: m - half, high: m + half)
    }

    /// For a positive quantity (a loss, an MSE, a time): the t-interval of its logarithms, back-transformed, so it
    /// never reaches 0. `mean` is the geometric mean. Values at or below 0 are left out.
    public static func logInterval(_ values: [Double]) -> Interval {
        let i = tInterval(values.filter { $0 > 0 }.map { log($0) })
        return Interval(mean: exp(i.mean), low: exp(i.low), high: exp(i.high))
    }

    /// The 95% Wilson score interval of a proportion `p` measured on `n` samples.
    public static func wilson(_ p: Double, n: Int) -> (low: Double, high: Double) {
        guard n > 0, p.isFinite else { return (.nan, .nan) }
        let z = 1.959964, nd = Double(n), z2 = z * z
        let centre = (p + z2 / (2 * nd)) / (1 + z2 / nd)
        let half = z / (1 + z2 / nd) * (p * (1 - p) / nd + z2 / (4 * nd * nd)).squareRoot()
        return (max(0, centre - half), min(1, centre + half))
    }

    /// A paired test's outcome: the mean difference with its 95% t-interval, the two-sided p-value of "no
    /// difference", and the pairs it rests on.
    public struct PairedTest: Equatable, Sendable, Codable {
        public var difference: Interval
        public var p: Double
        public var pairs: Int
        public init(difference: Interval, p: Double, pairs: Int) {
            self.difference = difference; self.p = p; self.pairs = pairs
        }
    }

    /// Student's paired t-test on differences (the finite ones); nil for fewer than two. Identical differences give
    /// p = 0 when they are not 0 (a difference that never varies) and 1 when they are.
    public static func pairedTTest(_ differences: [Double]) -> PairedTest? {
        let d = differences.filter(\.isFinite)
        guard d.count > 1 else { return nil }
        let i = tInterval(d)
        // Differences that never vary: certain (p = 0) unless they are all 0 (p = 1); their sd would be rounding.
        guard d.contains(where: { $0 != d[0] }) else {
            return PairedTest(difference: i, p: d[0] == 0 ? 1 : 0, pairs: d.count)
        }
        let p = tTwoSided(i.mean / (std(d) / Double(d.count).squareRoot()), df: Double(d.count - 1))
        return PairedTest(difference: i, p: p, pairs: d.count)
    }

    /// Holm's step-down adjustment of a family's p-values (the family-wise error rate held at the level the
    /// adjusted values are compared with), in the order given.
    public static func holm(_ p: [Double]) -> [Double] {
        let order = p.indices.sorted { p[$0] < p[$1] }, m = p.count
        var adjusted = [Double](repeating: 1, count: m), running = 0.0
        for (rank, i) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * p[i]))
            adjusted[i] = p[i].isNaN ? .nan : running
        }
        return adjusted
    }

    /// The two-sided p-value of a correlation statistic by permutation: the share of `rounds` seeded shuffles of `b`
    /// whose |statistic| is at least the observed one (the observed counted once, so p is never 0).
    public static func permutationP(
        _ a: [Double], _ b: [Double], rounds: Int = 9999, seed: UInt64 = 1,
        statistic: ([Double], [Double]) -> Double = spearman
    ) -> Double {
        let observed = abs(statistic(a, b))
        guard observed.isFinite else { return .nan }
        var state = seed, shuffled = b, extreme = 1
        for _ in 0..<rounds {
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
                // splitmix64: a small, fixed generator, so the p-value is the same on every machine.
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                shuffled.swapAt(i, Int((z ^ (z >> 31)) % UInt64(i + 1)))
            }
            if abs(statistic(a, shuffled)) >= observed - 1e-12 { extreme += 1 }
        }
        return Double(extreme) / Double(rounds + 1)
    }
}

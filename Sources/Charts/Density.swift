import Foundation
import Statistics

/// Kernel bandwidth rules, as scipy.stats.gaussian_kde defines them (seaborn's kdeplot uses Scott).
public enum Bandwidth: String, Codable, Sendable {
    /// h = sigma * n^(-1/5)
    case scott
    /// h = sigma * (3n / 4)^(-1/5)
    case silverman
}

/// Gaussian kernel density estimate and histogram binning.
public enum Density {
    /// The kernel bandwidth `rule` gives for these values.
    public static func bandwidth(_ values: [Double], rule: Bandwidth) -> Double {
        let n = Double(values.count), s = Stats.std(values)
        let h = rule == .scott ? s * Foundation.pow(n, -0.2) : s * Foundation.pow(3 * n / 4, -0.2)
        return h > 0 ? h : max(abs(values.first ?? 1) * 1e-3, 1e-12)  // constant data: a narrow spike
    }

    /// Density at each grid point. Large samples are first binned onto 2048 bins (weights = counts):
    /// the error is far below a pixel, and the cost stays O(grid x 2048).
    public static func kde(_ values: [Double], at grid: [Double], rule: Bandwidth = .scott) -> [Double] {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return grid.map { _ in 0 } }
        let h = bandwidth(v, rule: rule)
        var centers = v, weights = [Double](repeating: 1, count: v.count)
        if v.count > 5000, let lo = v.min(), let hi = v.max(), hi > lo {
            let bins = 2048, w = (hi - lo) / Double(bins)
            var counts = [Double](repeating: 0, count: bins)
            for x in v { counts[bin(x, lo: lo, width: w, bins: bins)] += 1 }
            centers = (0..<bins).map { lo + (Double($0) + 0.5) * w }
            weights = counts
        }
        let norm = 1 / (Double(v.count) * h * (2 * Double.pi).squareRoot())
        return grid.map { g in
            var s = 0.0
            for (c, w) in zip(centers, weights) where w > 0 {
                let z = (g - c) / h
                if abs(z) < 8 { s += w * Foundation.exp(-0.5 * z * z) }
            }
            return s * norm
        }
    }

    /// Equal-width bins over [lo, hi]; returns counts. Values outside are clamped into the end bins.
    public static func histogram(_ values: [Double], bins: Int, lo: Double, hi: Double) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        let w = (hi - lo) / Double(bins)
        for x in values where x.isFinite { counts[bin(x, lo: lo, width: w, bins: bins)] += 1 }
        return counts
    }

    /// The bin of x among `bins` of `width` from lo, clamped into 0..<bins before it becomes an Int (a value far
    /// outside the range, or a zero, infinite or NaN width, would trap the conversion).
    static func bin(_ x: Double, lo: Double, width: Double, bins: Int) -> Int {
        let u = width > 0 ? (x - lo) / width : 0
        guard !u.isNaN else { return 0 }
        return Int(min(max(u, 0), Double(bins - 1)))
    }

    /// Freedman-Diaconis bin count (2 IQR n^(-1/3) wide), kept within 5...80.
    public static func suggestedBins(_ values: [Double]) -> Int {
        let v = values.filter(\.isFinite).sorted()
        guard v.count > 4 else { return 5 }
        let iqr = v[3 * v.count / 4] - v[v.count / 4]
        guard iqr > 0, let lo = v.first, let hi = v.last, hi > lo else { return 10 }
        let width = 2 * iqr * Foundation.pow(Double(v.count), -1.0 / 3)
        // In Double until clamped: a range of 1e30 over a narrow IQR is far past Int.
        let bins = ((hi - lo) / width).rounded(.up)
        return bins.isNaN ? 10 : Int(min(max(bins, 5), 80))
    }
}

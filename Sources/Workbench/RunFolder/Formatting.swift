import Foundation

/// Number formatting for report text.
package func fmt(_ v: Double, _ digits: Int = 4) -> String {
    guard v.isFinite else { return v.isNaN ? "n/a" : (v > 0 ? "inf" : "-inf") }
    if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) { return String(format: "%.\(max(digits - 1, 1))e", v) }
    return String(format: "%.\(digits)g", v)
}

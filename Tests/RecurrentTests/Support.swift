import Foundation
import XCTest
import TensorCore
import Recurrent
import Interchange

/// Directory of the PyTorch reference fixtures copied from ../shared/fixtures/parity (generate.py beside them).
let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "Fixtures/parity")

/// max |a - b| / max(max |b|, 1e-30): the relative error used for parity.
func relativeError<T: Real>(_ a: Tensor<T>, _ b: Tensor<T>) -> Double {
    precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
    var diff = 0.0, scale = 1e-30
    for (x, y) in zip(a.data, b.data) {
        diff = max(diff, abs(Double(x) - Double(y))); scale = max(scale, abs(Double(y)))
    }
    return diff / scale
}

func assertClose<T: Real>(
    _ a: Tensor<T>, _ b: Tensor<T>, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    guard a.shape == b.shape else { return }
    let e = relativeError(a, b)
    XCTAssertLessThanOrEqual(e, tol, "\(what): relative error \(e)", file: file, line: line)
}

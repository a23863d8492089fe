import XCTest
@testable import Workbench
import Recurrent
@testable import Experiments

/// The benchmark's bookkeeping (not its speed: timings are measured with `rnnlab bench`, never asserted).
final class BenchmarkTests: XCTestCase {
    func testReportsFiguresForBothTheLayerAndTheTrainingStep() throws {
        let spec = BenchmarkSpec(cell: .gru, hidden: 8, input: 3, batch: 4, steps: 5, layers: 2, iterations: 3)
        let r = try Benchmark.run(spec)
        XCTAssertEqual(r.spec.layers, 2)
        XCTAssertEqual(r.totalMilliseconds, r.forwardMilliseconds + r.backwardMilliseconds, accuracy: 1e-9)
        // timesteps/s is batch * steps over the time of one iteration, for both figures.
        XCTAssertEqual(r.timestepsPerSecond, 20 / (r.totalMilliseconds / 1000), accuracy: r.timestepsPerSecond * 1e-9)
        XCTAssertEqual(
            r.trainingTimestepsPerSecond, 20 / (r.trainingStepMilliseconds / 1000),
            accuracy: r.trainingTimestepsPerSecond * 1e-9)
        XCTAssertTrue(r.gflops.isFinite && r.gflops > 0)
        XCTAssertEqual(r.simd, Benchmark.simdLevel)
    }
}

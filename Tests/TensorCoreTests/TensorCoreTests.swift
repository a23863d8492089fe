import Foundation
import XCTest
@testable import TensorCore

final class GEMMTests: XCTestCase {
    /// Every transpose combination, with sizes that exercise the 8/4/1-row and 32/16/scalar-column tails,
    /// strided leading dimensions and accumulation, against a naive triple loop in Double.
    func testAllTransposeCombinationsMatchNaive() {
        var rng = SeededRandom(seed: 7)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (8, 32, 16), (13, 47, 9), (33, 70, 300), (64, 96, 24)] {
            for ta in [Transpose.none, .transposed] {
                for tb in [Transpose.none, .transposed] {
                    let lda = (ta == .none ? k : m) + 3, ldb = (tb == .none ? n : k) + 2, ldc = n + 1
                    let aRows = ta == .none ? m : k, bRows = tb == .none ? k : n
                    let a = (0..<(aRows * lda)).map { _ in Float(rng.uniform(-1, 1)) }
                    let b = (0..<(bRows * ldb)).map { _ in Float(rng.uniform(-1, 1)) }
                    var c = (0..<(m * ldc)).map { _ in Float(rng.uniform(-1, 1)) }
                    let c0 = c
                    gemm(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc, accumulate: true)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = Double(c0[i * ldc + j])
                            for p in 0..<k {
                                let av = ta == .none ? a[i * lda + p] : a[p * lda + i]
                                let bv = tb == .none ? b[p * ldb + j] : b[j * ldb + p]
                                s += Double(av) * Double(bv)
                            }
                            worst = max(worst, abs(s - Double(c[i * ldc + j])))
                        }
                        // Padding columns beyond n must be untouched.
                        for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) }
                    }
                    XCTAssertLessThan(worst, 1e-4 * Double(k).squareRoot(), "m\(m) n\(n) k\(k) \(ta) \(tb)")
                }
            }
        }
    }

    /// Every row count up to 2 tiles + 1 (so each remainder kernel runs, alone and after full tiles), column counts
    /// around the vector and tile widths, depths 1 to past the k-slab, A as stored and transposed (packed when six or
    /// more column tiles read it) for every shape, both B layouts and
    /// both overwrite and accumulate, in Float and Double, against a plain triple loop.
    func testEveryKernelAndRemainderMatchesATripleLoop() {
        checkRemainders(Float.self, tolerance: 2e-5)
        checkRemainders(Double.self, tolerance: 1e-12)
    }

    func checkRemainders<T: Real>(_ type: T.Type, tolerance: Double) {
        var rng = SeededRandom(seed: 11)
        let w = T.Vector.scalarCount, nr = GEMMTile.columns(T.self)
        let ms = Array(1...(2 * GEMMTile.rows + 1))
        let ns = Array(Set([1, 2, w - 1, w, w + 1, nr - 1, nr, nr + 1, 2 * nr + 3, 6 * nr + 1].filter { $0 >= 1 }))
            .sorted()
        var cases = 0
        for m in ms {
            for n in ns {
                for (kIndex, k) in [1, 2, 5, 257].enumerated() {
                    for ta in [Transpose.none, .transposed] {
                        let tb: Transpose = (m + kIndex) % 2 == 0 ? .none : .transposed
                        let accumulate = (n + kIndex) % 2 == 0
                        let lda = (ta == .none ? k : m) + 1, ldb = (tb == .none ? n : k) + 2, ldc = n + 3
                        let a = (0..<((ta == .none ? m : k) * lda)).map { _ in T(rng.uniform(-1, 1)) }
                        let b = (0..<((tb == .none ? k : n) * ldb)).map { _ in T(rng.uniform(-1, 1)) }
                        var c = (0..<(m * ldc)).map { _ in T(rng.uniform(-1, 1)) }
                        let c0 = c
                        gemm(
                            ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc,
                            accumulate: accumulate, threads: 1)
                        for i in 0..<m {
                            for j in 0..<ldc {
                                guard j < n else {
                                    XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "padding m\(m) n\(n) k\(k)");
                                    continue
                                }
                                var s = accumulate ? Double(c0[i * ldc + j]) : 0
                                for p in 0..<k {
                                    s +=
                                        Double(ta == .none ? a[i * lda + p] : a[p * lda + i])
                                        * Double(tb == .none ? b[p * ldb + j] : b[j * ldb + p])
                                }
                                XCTAssertEqual(
                                    Double(c[i * ldc + j]), s, accuracy: tolerance * Double(k).squareRoot() * 4,
                                    "\(T.self) m\(m) n\(n) k\(k) \(ta) \(tb) accumulate \(accumulate) at [\(i), \(j)]")
                            }
                        }
                        cases += 1
                    }
                }
            }
        }
        XCTAssertEqual(cases, ms.count * ns.count * 4 * 2)
    }

    /// The packed-B product (the recurrent step's): every row count up to 2 tiles + 1, columns around the tile
    /// width, depths past the k-slab, views that start at a later row and keep the first columns (the GRU's
    /// gate blocks), overwrite and accumulate, against a triple loop; bit-equal to the unpacked product.
    func testPackedPanelsMatchATripleLoopAndTheUnpackedProduct() {
        checkPacked(Float.self, tolerance: 2e-5)
        checkPacked(Double.self, tolerance: 1e-12)
    }

    func checkPacked<T: Real>(_ type: T.Type, tolerance: Double) {
        var rng = SeededRandom(seed: 12)
        let nr = GEMMTile.columns(T.self)
        var cases = 0
        for m in 1...(2 * GEMMTile.rows + 1) {
            for n in [1, nr - 1, nr, nr + 1, 3 * nr + 5] where n >= 1 {
                for (k, firstRow, keep) in [(1, 0, n), (7, 2, n), (300, 3, max(1, n - 1))] {
                    let storedRows = k + firstRow, ld = n + 2, lda = k + 1, ldc = keep + 3
                    let b = (0..<(storedRows * ld)).map { _ in T(rng.uniform(-1, 1)) }
                    let a = (0..<(m * lda)).map { _ in T(rng.uniform(-1, 1)) }
                    let c0 = (0..<(m * ldc)).map { _ in T(rng.uniform(-1, 1)) }
                    let accumulate = (m + k) % 2 == 0
                    var c = c0, unpacked = c0
                    var storage = [T](repeating: .nan, count: PackedPanels<T>.count(rows: storedRows, columns: n))
                    b.withUnsafeBufferPointer { bp in
                        storage.withUnsafeMutableBufferPointer { sp in
                            let panels = PackedPanels(
                                packing: bp.baseAddress!, rows: storedRows, columns: n, ld: ld, into: sp.baseAddress!
                            ).rows(firstRow..<storedRows).prefix(columns: keep)
                            c.withUnsafeMutableBufferPointer { cp in
                                gemm(
                                    m: m, a: a, lda: lda, b: panels, c: cp.baseAddress!, ldc: ldc,
                                    accumulate: accumulate)
                            }
                            unpacked.withUnsafeMutableBufferPointer { cp in
                                gemm(
                                    .none, .none, m: m, n: keep, k: k, a: a, lda: lda,
                                    b: bp.baseAddress! + firstRow * ld, ldb: ld, c: cp.baseAddress!, ldc: ldc,
                                    accumulate: accumulate)
                            }
                        }
                    }
                    XCTAssertEqual(c, unpacked, "\(T.self) m\(m) n\(n) k\(k) keep \(keep)")
                    for i in 0..<m {
                        for j in 0..<ldc {
                            guard j < keep else { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]); continue }
                            var sum = accumulate ? Double(c0[i * ldc + j]) : 0
                            for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[(firstRow + p) * ld + j]) }
                            XCTAssertEqual(
                                Double(c[i * ldc + j]), sum, accuracy: tolerance * Double(k).squareRoot() * 4,
                                "\(T.self) m\(m) n\(n) k\(k) keep \(keep) at [\(i), \(j)]")
                        }
                    }
                    cases += 1
                }
            }
        }
        XCTAssertEqual(cases, (2 * GEMMTile.rows + 1) * 5 * 3)
    }

    /// A^T b with one column (dW_ih at input size 1) takes its own path; it must give bit for bit what the tiled
    /// kernels give for that column of a wider product, for every row remainder and depths past the k-slab.
    func testOneColumnTransposedProductIsBitIdenticalToTheTiledPath() {
        var rng = SeededRandom(seed: 13)
        for m in [1, 3, 7, 8, 17, 31, 32, 33, 64, 96, 101] {
            for k in [1, 5, 256, 300, 960] {
                for accumulate in [false, true] {
                    let a = (0..<(k * m)).map { _ in Float(rng.uniform(-1, 1)) }
                    let b2 = (0..<(k * 2)).map { _ in Float(rng.uniform(-1, 1)) }
                    let b1 = stride(from: 0, to: b2.count, by: 2).map { b2[$0] }
                    let c0 = (0..<(m * 2)).map { _ in Float(rng.uniform(-1, 1)) }
                    var wide = c0, narrow = stride(from: 0, to: c0.count, by: 2).map { c0[$0] }
                    gemm(
                        .transposed, .none, m: m, n: 2, k: k, a: a, lda: m, b: b2, ldb: 2, c: &wide, ldc: 2,
                        accumulate: accumulate)
                    gemm(
                        .transposed, .none, m: m, n: 1, k: k, a: a, lda: m, b: b1, ldb: 1, c: &narrow, ldc: 1,
                        accumulate: accumulate)
                    XCTAssertEqual(narrow, stride(from: 0, to: wide.count, by: 2).map { wide[$0] }, "m\(m) k\(k)")
                }
            }
        }
    }

    /// The column sums a transposed product adds while it reads A (the bias gradient beside dW = dG^T X) are those
    /// of `addColumnSums`, bit for bit, and the product is unchanged by them: every path (the one-column product, the
    /// tiled and packed ones, a padded column tail, no columns at all) on one and two threads.
    func testColumnSumsReadWithTheProductEqualTheirOwnPass() {
        var rng = SeededRandom(seed: 21)
        for m in [1, 7, 12, 33, 256] {
            for n in [0, 1, 2, 33, 64] {
                for k in [1, 300, 600] {
                    for threads in [1, 2] {
                        let a = (0..<(k * m)).map { _ in Float(rng.uniform(-1, 1)) }
                        let b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
                        let c0 = (0..<(m * n)).map { _ in Float(rng.uniform(-1, 1)) }
                        let s0 = (0..<m).map { _ in Float(rng.uniform(-1, 1)) }
                        var plain = c0, fused = c0, sums = s0, expected = s0
                        gemm(
                            .transposed, .none, m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: &plain, ldc: n,
                            accumulate: true, threads: threads)
                        gemm(
                            .transposed, .none, m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: &fused, ldc: n,
                            accumulate: true, threads: threads, sumsOfA: &sums)
                        addColumnSums(a, rows: k, cols: m, ld: m, into: &expected)
                        let shape = "m\(m) n\(n) k\(k) threads \(threads)"
                        XCTAssertEqual(fused, plain, shape)
                        XCTAssertEqual(sums, expected, shape)
                    }
                }
            }
        }
    }

    /// A step's one-feature input projection plus bias equals, bit for bit, the one-deep packed product followed by
    /// the bias add it replaces, for whole vectors and a partial last one.
    func testOneFeatureProjectionEqualsTheProductThenTheBias() {
        var rng = SeededRandom(seed: 22)
        for cols in [5, 16, 40, 256] {
            for rows in [1, 3, 32] {
                let x = (0..<(rows * 2)).map { _ in Float(rng.uniform(-1, 1)) }  // one feature, rows 2 apart
                let w = (0..<cols).map { _ in Float(rng.uniform(-1, 1)) }
                let bias = (0..<cols).map { _ in Float(rng.uniform(-1, 1)) }
                let column = stride(from: 0, to: x.count, by: 2).map { x[$0] }
                var expected = [Float](repeating: 7, count: rows * cols), fused = expected
                var storage = [Float](repeating: 0, count: PackedPanels<Float>.count(rows: 1, columns: cols))
                storage.withUnsafeMutableBufferPointer { st in
                    let panels = PackedPanels(packing: w, rows: 1, columns: cols, ld: cols, into: st.baseAddress!)
                    gemm(m: rows, a: column, lda: 1, b: panels, c: &expected, ldc: cols, accumulate: false)
                }
                addRowVector(&expected, rows: rows, cols: cols, ld: cols, bias)
                projectOneFeature(x, ldx: 2, rows: rows, weights: w, bias: bias, into: &fused, cols: cols, ldc: cols)
                XCTAssertEqual(fused, expected, "rows \(rows) cols \(cols)")
            }
        }
    }

    /// Every kernel (whole tiles, the remainder strips, the 1- and 2-row kernels over several column tiles) gives a
    /// row the same arithmetic, so a product's rows equal, bit for bit, each row computed alone, whatever the
    /// row count, transposition, packing or number of threads: the partition never changes a number.
    func testEveryRowGetsTheSameArithmeticWhateverTheStripOrThread() {
        var rng = SeededRandom(seed: 14)
        let nr = GEMMTile.columns(Float.self), tr = GEMMTile.rows
        for m in [1, 2, 3, 5, tr - 1, tr + 2, 2 * tr + 3, 4 * tr + 7] {
            for k in [1, 5, 257] {
                for n in [3, nr, 2 * nr + 3, 5 * nr] {
                    for ta in [Transpose.none, .transposed] {
                        let a = (0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) }
                        let b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
                        let lda = ta == .none ? k : m
                        var whole = [Float](repeating: 0, count: m * n), threaded = whole
                        gemm(
                            ta, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n, c: &whole, ldc: n,
                            accumulate: false)
                        gemm(
                            ta, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n, c: &threaded, ldc: n,
                            accumulate: false, threads: 3)
                        XCTAssertEqual(threaded, whole, "m\(m) k\(k) n\(n) \(ta) threads 3")
                        var packedResult = [Float](repeating: 0, count: m * n)
                        let rowMajor = ta == .none ? a : (0..<(m * k)).map { a[($0 % k) * m + $0 / k] }
                        var storage = [Float](repeating: 0, count: PackedPanels<Float>.count(rows: k, columns: n))
                        storage.withUnsafeMutableBufferPointer { st in
                            let panels = PackedPanels(packing: b, rows: k, columns: n, ld: n, into: st.baseAddress!)
                            gemm(m: m, a: rowMajor, lda: k, b: panels, c: &packedResult, ldc: n, accumulate: false)
                        }
                        XCTAssertEqual(packedResult, whole, "m\(m) k\(k) n\(n) \(ta) packed")
                        // A block of rows alone through the packed product (a time step's input projection, one
                        // batch slice of the all-steps product) gives those rows' bits.
                        let r0 = m / 3, r1 = max(r0 + 1, 2 * m / 3)
                        var block = [Float](repeating: 0, count: (r1 - r0) * n)
                        storage.withUnsafeMutableBufferPointer { st in
                            let panels = PackedPanels(packing: b, rows: k, columns: n, ld: n, into: st.baseAddress!)
                            gemm(
                                m: r1 - r0, a: Array(rowMajor[(r0 * k)...]), lda: k, b: panels, c: &block, ldc: n,
                                accumulate: false)
                        }
                        XCTAssertEqual(block, Array(whole[(r0 * n)..<(r1 * n)]), "m\(m) k\(k) n\(n) rows \(r0)..<\(r1)")
                        for row in [0, m / 2, m - 1] {
                            var alone = [Float](repeating: 0, count: n)
                            gemm(
                                .none, .none, m: 1, n: n, k: k, a: Array(rowMajor[(row * k)..<((row + 1) * k)]), lda: k,
                                b: b, ldb: n, c: &alone, ldc: n, accumulate: false)
                            XCTAssertEqual(
                                alone, Array(whole[(row * n)..<((row + 1) * n)]), "m\(m) k\(k) n\(n) row \(row)")
                        }
                    }
                }
            }
        }
    }

    /// The weight-gradient shapes (A transposed, many rows) pack A's slabs into strip panels and B's blocks into
    /// column panels: against a triple loop, with depths past the k block, lda a multiple of 4 KB and a padded tail.
    func testPackedWeightGradientPathsMatchATripleLoop() {
        checkPackedWeightGradient(Float.self, tolerance: 2e-5)
        checkPackedWeightGradient(Double.self, tolerance: 1e-12)
    }

    func checkPackedWeightGradient<T: Real>(_ type: T.Type, tolerance: Double) {
        var rng = SeededRandom(seed: 15)
        let nr = GEMMTile.columns(T.self), m = 8 * GEMMTile.rows + 5
        for n in [2 * nr, 6 * nr + 3] {
            for k in [5, 300] {
                for lda in [m + 1, 4096 / MemoryLayout<T>.stride] {
                    let a = (0..<(k * lda)).map { _ in T(rng.uniform(-1, 1)) }
                    let b = (0..<(k * n)).map { _ in T(rng.uniform(-1, 1)) }
                    let c0 = (0..<(m * n)).map { _ in T(rng.uniform(-1, 1)) }
                    var c = c0
                    gemm(
                        .transposed, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n, c: &c, ldc: n,
                        accumulate: true)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = Double(c0[i * n + j])
                            for p in 0..<k { sum += Double(a[p * lda + i]) * Double(b[p * n + j]) }
                            worst = max(worst, abs(Double(c[i * n + j]) - sum))
                        }
                    }
                    XCTAssertLessThanOrEqual(
                        worst, tolerance * Double(k).squareRoot() * 4, "\(T.self) n\(n) k\(k) lda\(lda)")
                }
            }
        }
    }

    /// A transposed A's slab packed as the kernels read it: strip s's panel holds A[kk, first + r] at kk * height + r,
    /// for the whole-tile strips and every remainder strip, and nothing is written outside the panels' extent.
    func testStripPanelsHoldEachStripContiguously() {
        let mr = GEMMTile.rows
        for rows in [1, 3, mr, mr + 7, 3 * mr + mr - 1] {
            for depth in [1, 5, 256] {
                let lda = rows + 9
                let a = (0..<(depth * lda)).map { Float($0) }
                let count = StripPanels<Float>.count(rows: rows, depth: depth)
                var storage = [Float](repeating: -1, count: count + 16)
                var seen = 0
                storage.withUnsafeMutableBufferPointer { st in
                    let strips = StripPanels(packing: a, lda: lda, rows: rows, depth: depth, into: st.baseAddress!)
                    var next = 0
                    strips.forEach { height, first, panel in
                        XCTAssertEqual(first, next, "strips in order")
                        XCTAssertLessThanOrEqual(panel + height * depth, UnsafePointer(st.baseAddress! + count))
                        for kk in 0..<depth {
                            for r in 0..<height where panel[kk * height + r] != a[kk * lda + first + r] {
                                XCTFail("rows \(rows) depth \(depth): strip at \(first) k \(kk) row \(r)")
                            }
                        }
                        next = first + height
                        seen += height
                    }
                }
                XCTAssertEqual(seen, rows)
                XCTAssertTrue(
                    storage[count...].allSatisfy { $0 == -1 }, "rows \(rows) depth \(depth): written past the end")
            }
        }
    }

    func testOverwriteIgnoresOldContents() {
        var c = [Float](repeating: .nan, count: 4)
        gemm(
            .none, .none, m: 2, n: 2, k: 2, a: [1, 2, 3, 4], lda: 2, b: [5, 6, 7, 8], ldb: 2, c: &c, ldc: 2,
            accumulate: false)
        XCTAssertEqual(c, [19, 22, 43, 50])
    }

    func testThreadedGEMMEqualsSequential() {
        var rng = SeededRandom(seed: 3)
        let a = Tensor<Float>.uniform([200, 64], -1, 1, rng: &rng),
            b = Tensor<Float>.uniform([64, 96], -1, 1, rng: &rng)
        var c1 = Tensor<Float>(zeros: [200, 96]), c2 = c1
        matmul(a, b, into: &c1)
        matmul(a, b, into: &c2, threads: 2)
        XCTAssertEqual(c1, c2)
        var c3 = c1
        matmul(a, b, into: &c3, threads: .max)  // a thread count past the rows: one part per tile of rows
        XCTAssertEqual(c1, c3)
    }

    /// A^T B on several threads that share each slab's packing (k past one slab) equals the one-thread product and its
    /// column sums bit for bit, for thread counts that split C's rows evenly, unevenly (remainder strips in the last
    /// part) and past the row tiles, and for an odd slab count (the two panel buffers alternate).
    func testSharedPackingEqualsOneThread() {
        var rng = SeededRandom(seed: 23)
        for (m, n, k) in [(256, 64, 1100), (100, 33, 700), (37, 96, 520)] {
            let a = (0..<(k * m)).map { _ in Float(rng.uniform(-1, 1)) }
            let b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
            let c0 = (0..<(m * n)).map { _ in Float(rng.uniform(-1, 1)) }
            func run(_ threads: Int) -> [Float] {
                var c = c0, sums = [Float](repeating: 0.25, count: m)
                gemm(
                    .transposed, .none, m: m, n: n, k: k, a: a, lda: m, b: b, ldb: n, c: &c, ldc: n, accumulate: true,
                    threads: threads, sumsOfA: &sums)
                return c + sums
            }
            let one = run(1)
            for threads in [2, 3, 5, 64] { XCTAssertEqual(run(threads), one, "m\(m) n\(n) k\(k), \(threads) threads") }
        }
    }

    /// Two products of one transposed A in one ([C1 | C2] += A^T [B1 | B2], B1 and B2 in their own padded buffers)
    /// equal, bit for bit, the two products apart: splits of n inside and on a tile's edge, a tail, one column, depths
    /// under and past the k-slab, one to three threads on each threaded path, the column sums of A, Float and Double;
    /// and the definition, in Double.
    func testSideBySideProductsEqualTheirOwnProducts() {
        checkSideBySide(Float.self)
        checkSideBySide(Double.self)
    }

    func checkSideBySide<T: Real>(_ type: T.Type) {
        var rng = SeededRandom(seed: 24)
        let nr = GEMMTile.columns(T.self)
        let shapes = [
            (7, 1, 3), (12, 1, nr * 4), (37, nr, 2 * nr), (100, nr - 4, 4 * nr + 1), (64, 33, 5), (200, 33, 70)
        ]
        for (m, n1, n2) in shapes {
            // k 250 at m 200: several threads split C's rows (one slab); 300 and 600: they share the slabs' packing.
            for k in m == 200 ? [250] : [1, 300, 600] {
                for threads in [1, 2, 3] {
                    let (ld1, ld2) = (n1 + 2, n2 + 1)
                    let a = (0..<(k * (m + 3))).map { _ in T(rng.uniform(-1, 1)) }
                    let b1 = (0..<(k * ld1)).map { _ in T(rng.uniform(-1, 1)) }
                    let b2 = (0..<(k * ld2)).map { _ in T(rng.uniform(-1, 1)) }
                    let c1 = (0..<(m * n1)).map { _ in T(rng.uniform(-1, 1)) }
                    let c2 = (0..<(m * n2)).map { _ in T(rng.uniform(-1, 1)) }
                    let s0 = (0..<m).map { _ in T(rng.uniform(-1, 1)) }
                    var (apart1, apart2, apartSums) = (c1, c2, s0)
                    gemm(
                        .transposed, .none, m: m, n: n1, k: k, a: a, lda: m + 3, b: b1, ldb: ld1, c: &apart1, ldc: n1,
                        accumulate: true, threads: threads, sumsOfA: &apartSums)
                    gemm(
                        .transposed, .none, m: m, n: n2, k: k, a: a, lda: m + 3, b: b2, ldb: ld2, c: &apart2, ldc: n2,
                        accumulate: true, threads: threads)
                    var (both1, both2, bothSums) = (c1, c2, s0)
                    var workspace = [T](repeating: .nan, count: m * (n1 + n2))
                    gemmTransposedSideBySide(
                        m: m, k: k, a: a, lda: m + 3, b1: b1, ldb1: ld1, n1: n1, c1: &both1, b2: b2, ldb2: ld2, n2: n2,
                        c2: &both2, workspace: &workspace, threads: threads, sumsOfA: &bothSums)
                    let shape = "\(T.self) m\(m) n \(n1)+\(n2) k\(k) threads \(threads)"
                    XCTAssertEqual(both1, apart1, shape)
                    XCTAssertEqual(both2, apart2, shape)
                    XCTAssertEqual(bothSums, apartSums, shape)
                    if threads == 1 {
                        // And against the definition, in Double: C_i[r, j] + sum_k A[k, r] B_i[k, j].
                        for (c, start, b, ld, n) in [(both1, c1, b1, ld1, n1), (both2, c2, b2, ld2, n2)] {
                            var worst = 0.0
                            for r in 0..<m {
                                for j in 0..<n {
                                    var sum = Double(start[r * n + j])
                                    for p in 0..<k { sum += Double(a[p * (m + 3) + r]) * Double(b[p * ld + j]) }
                                    worst = max(worst, abs(sum - Double(c[r * n + j])))
                                }
                            }
                            XCTAssertLessThan(worst, 1e-4 * Double(k).squareRoot(), shape)
                        }
                    }
                }
            }
        }
    }

    /// The blocked transpose equals dst[c, r] = src[r, c] for sizes around its 8 x 8 block, with a padded source row.
    func testTransposeMatchesTheDefinition() {
        for (rows, cols) in [(1, 1), (1, 9), (7, 3), (8, 8), (9, 17), (16, 33), (512, 28), (33, 128), (512, 128)] {
            let ld = cols + 3
            let src = (0..<(rows * ld)).map { Float($0) }
            var dst = [Float](repeating: -1, count: rows * cols),
                dstDouble = [Double](repeating: -1, count: rows * cols)
            transpose(src, rows: rows, cols: cols, ld: ld, into: &dst)
            transpose(src.map(Double.init), rows: rows, cols: cols, ld: ld, into: &dstDouble)
            var expected = [Float](repeating: 0, count: rows * cols)
            for r in 0..<rows { for c in 0..<cols { expected[c * rows + r] = src[r * ld + c] } }
            XCTAssertEqual(dst, expected, "\(rows) x \(cols)")
            XCTAssertEqual(dstDouble, expected.map(Double.init), "\(rows) x \(cols) Double")
        }
    }

    /// Every index of 0..<count lands in exactly one slice, whatever the number of parts.
    func testSlicesCoverEveryIndexOnce() {
        for count in [0, 1, 5, 64, 1000] {
            for parts in [0, 1, 2, 3, 7, 2000] {
                let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
                defer { hits.deallocate() }
                hits.initialize(repeating: 0)
                let bits = UInt(bitPattern: hits.baseAddress!)
                forEachSlice(of: count, parts: parts) { range in
                    for i in range { UnsafeMutablePointer<Int>(bitPattern: bits)![i] += 1 }
                }
                XCTAssertEqual(Array(hits.prefix(count)), Array(repeating: 1, count: count), "\(count) in \(parts)")
            }
        }
    }

    /// Column sums and the batch-first / time-major swap split between threads give exactly the one-thread result
    /// (sizes above the split thresholds, an odd number of columns).
    func testThreadedColumnSumsAndAxisSwapEqualSequential() {
        var rng = SeededRandom(seed: 8)
        let m = Tensor<Float>.uniform([1200, 333], -1, 1, rng: &rng).data
        var one = [Float](repeating: 0.5, count: 333), two = one
        addColumnSums(m, rows: 1200, cols: 333, ld: 333, into: &one)
        addColumnSums(m, rows: 1200, cols: 333, ld: 333, into: &two, threads: 2)
        XCTAssertEqual(one, two)
        var expected = [Float](repeating: 0.5, count: 333)
        for r in 0..<1200 { for j in 0..<333 { expected[j] += m[r * 333 + j] } }
        XCTAssertEqual(one, expected)

        let (d0, d1, f) = (40, 30, 111)  // [d0, d1, f] -> [d1, d0, f]
        var swapped1 = [Float](repeating: 0, count: m.count), swapped2 = swapped1
        swapLeadingAxes(m, d0, d1, f, into: &swapped1)
        swapLeadingAxes(m, d0, d1, f, into: &swapped2, threads: 2)
        XCTAssertEqual(swapped1, swapped2)
        let moved = (0..<d0).allSatisfy { i in
            (0..<d1).allSatisfy { j in
                (0..<f).allSatisfy { swapped1[(j * d0 + i) * f + $0] == m[(i * d1 + j) * f + $0] }
            }
        }
        XCTAssertTrue(moved, "every row lands where the swap puts it (16-lane copies and the 15-element tail)")
    }
}

final class WindowTests: XCTestCase {
    /// The paired-window pass maps every unit of every row once (an odd last row's pair is itself): doubling a
    /// rows x n buffer in place through it doubles each element exactly once.
    func testPairedWindowsCoverEveryUnitOnce() {
        for rows in 1...5 {
            for n in [8, 24, 40] {
                var x = (0..<(rows * n)).map { Float($0) + 1 }
                let original = x
                x.withUnsafeMutableBufferPointer { buffer in
                    let p = buffer.baseAddress!
                    forEachPairedWindow16(
                        rows: rows, n: n, compute: { $0.load(p, ld: n) * 2 }, store: { $0.store($1, p, ld: n) })
                }
                XCTAssertEqual(x, original.map { $0 * 2 }, "rows \(rows) n \(n)")
            }
        }
    }
}

final class ActivationTests: XCTestCase {
    /// The rational approximation stays within a few ulp of 1 (4e-7 absolute) over the whole line.
    func testFloatTanhAndSigmoidMatchLibm() {
        let xs = stride(from: -30.0, through: 30.0, by: 0.0137).map { Float($0) } + [0, 1e-6, -1e-6, 1e-30]
        var t = xs, s = xs
        Float.tanhInPlace(&t, t.count)
        Float.sigmoidInPlace(&s, s.count)
        for (i, x) in xs.enumerated() {
            XCTAssertEqual(Double(t[i]), Foundation.tanh(Double(x)), accuracy: 4e-7, "tanh(\(x))")
            XCTAssertEqual(Double(s[i]), 1 / (1 + Foundation.exp(-Double(x))), accuracy: 4e-7, "sigmoid(\(x))")
        }
        // odd symmetry and exact sign for tiny inputs
        XCTAssertEqual(t[xs.count - 1], 1e-30, accuracy: 1e-36)
    }
}

final class RandomAndInitTests: XCTestCase {
    func testSameSeedSameStreamDifferentSeedDifferentStream() {
        var a = SeededRandom(seed: 1), b = SeededRandom(seed: 1), c = SeededRandom(seed: 2)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() },
            sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
    }

    func testNormalMoments() {
        var r = SeededRandom(seed: 5)
        let v = (0..<200_000).map { _ in r.normal() }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.01)
    }

    func testPermutationIsAPermutation() {
        var r = SeededRandom(seed: 9)
        XCTAssertEqual(r.permutation(1000).sorted(), Array(0..<1000))
    }

    func testOrthogonalRowsAndColumns() {
        var r = SeededRandom(seed: 11)
        for (rows, cols) in [(16, 16), (24, 8), (8, 24)] {
            let q = Tensor<Double>.orthogonal(rows: rows, cols: cols, rng: &r)
            let tall = rows >= cols
            let n = tall ? cols : rows
            for i in 0..<n {
                for j in 0..<n {
                    var d = 0.0
                    for p in 0..<(tall ? rows : cols) { d += tall ? q[p, i] * q[p, j] : q[i, p] * q[j, p] }
                    XCTAssertEqual(d, i == j ? 1 : 0, accuracy: 1e-12)
                }
            }
        }
    }

    func testTensorShapeErrors() {
        XCTAssertThrowsError(try Tensor<Float>(shape: [2, 3], data: [1, 2, 3])) { e in
            XCTAssertTrue("\(e)".contains("needs 6 values but 3"))
        }
        XCTAssertThrowsError(try Tensor<Float>(zeros: [2]).expectShape([3], "bias")) { e in
            XCTAssertTrue("\(e)".contains("bias: expected shape [3], got [2]"))
        }
    }
}

final class CPUFeatureTests: XCTestCase {
    func testThisMachineHasWhatTheBuildUses() throws {
        try CPUFeatures.verify()
    }

    func testMissingFlagsAreNamed() {
        guard !CPUFeatures.required.isEmpty else { return }  // a portable build needs nothing
        XCTAssertThrowsError(try CPUFeatures.verify(cpuinfo: "processor : 0\nflags : fpu sse sse2\n")) {
            XCTAssertTrue("\($0)".contains("avx2"), "\($0)")
            XCTAssertTrue("\($0)".contains("RNNLAB_CPU=x86-64"))
        }
    }
}

/// Flush-to-zero and denormals-are-zero hold on every thread that runs a slice, and only while asked for.
final class SubnormalTests: XCTestCase {
    override func tearDown() { Subnormals.applyToThisThread() }

    /// What each slice's thread reports, and what it computes from a subnormal input.
    func slices(parts: Int, flush: Bool = Subnormals.flushed) -> [(flushes: Bool, product: Float)] {
        let lock = NSLock()
        var seen: [(Bool, Float)] = []
        let tiny = [Float](repeating: 1e-39, count: 1)  // subnormal (Float's normal range starts at 1.18e-38)
        forEachSlice(of: 8, parts: parts, flushSubnormals: flush) { _ in
            let product = tiny.withUnsafeBufferPointer { $0[0] * 1.5 }
            usleep(20_000)  // keep this thread busy so the others run on threads of their own
            lock.lock(); seen.append((Subnormals.thisThreadFlushes, product)); lock.unlock()
        }
        return seen
    }

    func testEveryWorkerSliceFlushesSubnormals() {
        XCTAssertTrue(Subnormals.flushed, "on by default")
        for parts in [1, 4] {
            let seen = slices(parts: parts)
            XCTAssertEqual(seen.count, parts)
            XCTAssertTrue(seen.allSatisfy { $0.flushes && $0.product == 0 }, "\(seen)")
        }
        let off = slices(parts: 4, flush: false)
        XCTAssertTrue(off.allSatisfy { !$0.flushes && $0.product == 1.5e-39 }, "\(off)")
    }
}

/// The blocking follows the caches it is given, and never changes a product's numbers.
final class BlockingTests: XCTestCase {
    func testBlockingIsDerivedFromTheCacheSizes() {
        let nr = GEMMTile.columns(Float.self)
        let cases: [(CacheSizes, Int)] = [
            (CacheSizes(l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20), 512),  // AMD EPYC Zen 4/5
            (CacheSizes(l1d: 48 << 10, l2: 2 << 20, l3: 160 << 20), 1024),  // Intel Xeon Emerald Rapids
            (CacheSizes(l1d: 32 << 10, l2: 512 << 10, l3: 16 << 20), 256),  // AMD Zen 2/3
            (CacheSizes(l1d: 32 << 10, l2: 16 << 10, l3: 0), 64)  // a tiny L2: the 64 KB floor
        ]
        for (caches, columns) in cases {
            let b = GEMMBlocking.derived(from: caches)
            XCTAssertEqual(b.depth, GEMMTile.depth, "kc is part of the arithmetic: the same everywhere")
            XCTAssertEqual(b.columns(Float.self), max(nr, columns / nr * nr), "\(caches)")
            XCTAssertEqual(b.columns(Double.self), max(nr / 2, columns / 2 / (nr / 2) * (nr / 2)), "\(caches)")
        }
        XCTAssertEqual(CacheSizes.bytes("48K"), 48 << 10)
        XCTAssertEqual(CacheSizes.bytes("32M"), 32 << 20)
        XCTAssertEqual(CacheSizes.bytes("1024"), 1024)
        XCTAssertNil(CacheSizes.bytes("x"))
    }

    func testCacheSizesAreReadFromSysfsLayout() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for (i, (level, type, size)) in [
            (1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "2048K"),
            (3, "Unified", "105M")
        ].enumerated() {
            let d = root.appendingPathComponent("index\(i)")
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try "\(level)\n".write(to: d.appendingPathComponent("level"), atomically: true, encoding: .utf8)
            try "\(type)\n".write(to: d.appendingPathComponent("type"), atomically: true, encoding: .utf8)
            try "\(size)\n".write(to: d.appendingPathComponent("size"), atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(CacheSizes.read(root: root.path), CacheSizes(l1d: 48 << 10, l2: 2 << 20, l3: 105 << 20))
        XCTAssertNil(CacheSizes.read(root: root.appendingPathComponent("none").path))
    }

    /// Column blocks of another width give the same bits (the weight-gradient shape, packed B and A, past one block).
    func testEveryBlockingGivesTheSameNumbers() {
        var rng = SeededRandom(seed: 16)
        let m = 100, n = 3000, k = 600
        let a = (0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) },
            b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
        var results: [[Float]] = []
        for l2 in [128 << 10, 1 << 20, 2 << 20, 64 << 20] {
            let blocking = GEMMBlocking.derived(from: CacheSizes(l1d: 32 << 10, l2: l2, l3: 32 << 20))
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(
                            .transposed, .none, m: m, n: n, k: k, a: ap.baseAddress!, lda: m, b: bp.baseAddress!,
                            ldb: n, c: cp.baseAddress!, ldc: n, accumulate: false, blocking: blocking)
                    }
                }
            }
            results.append(c)
        }
        XCTAssertTrue(results.allSatisfy { $0 == results[0] })
    }
}

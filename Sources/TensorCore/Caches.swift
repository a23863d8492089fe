import Foundation

/// The data-cache sizes of the CPU this runs on, in bytes, as Linux reports them (sysfs cache/index*).
public struct CacheSizes: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Level-1 data, level-2 and level-3 cache sizes (per core for L1 and L2 on current x86 and arm64 parts).
    public var l1d: Int, l2: Int, l3: Int
    /// Sizes in bytes.
    public init(l1d: Int, l2: Int, l3: Int) { (self.l1d, self.l2, self.l3) = (l1d, l2, l3) }

    /// What cpu0 reports, or, where sysfs says nothing (containers without it, other systems), a common x86 server
    /// core's: 32 KB L1d, 1 MB L2, 32 MB L3.
    public static let detected: CacheSizes = read() ?? CacheSizes(l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20)

    /// Reads `root`/index*/{level,type,size}; nil unless L1d and L2 are both found.
    public static func read(root: String = "/sys/devices/system/cpu/cpu0/cache") -> CacheSizes? {
        var found: [Int: Int] = [:]
        for index in 0..<8 {
            func field(_ name: String) -> String? {
                (try? String(contentsOfFile: "\(root)/index\(index)/\(name)", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let level = field("level").flatMap(Int.init), let type = field("type"),
                let size = field("size").flatMap(bytes), type != "Instruction"
            else { continue }
            found[level] = size
        }
        guard let l1 = found[1], let l2 = found[2] else { return nil }
        return CacheSizes(l1d: l1, l2: l2, l3: found[3] ?? l2)
    }

    /// "48K", "2048K", "32M", "1024" -> bytes.
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = text.last else { return nil }
        if let unit = units[last] { return Int(text.dropLast()).map { $0 * unit } }
        return Int(text)
    }

    public var description: String { "L1d \(l1d >> 10) KB, L2 \(l2 >> 10) KB, L3 \(l3 >> 20) MB" }
}

/// How the GEMM blocks for the caches, after the analytical model of Low et al. 2016 ("Analytical modeling is
/// enough for high-performance BLIS"), adapted to these kernels' loop order (k-slab, column block, row strip,
/// column tile):
/// - kc, the depth of a k-slab: fixed at 256 for every machine. Each slab is summed from zero and then added to C,
///   so kc is part of the arithmetic: deriving it from the cache would give other bits on another CPU of the same
///   SIMD level. At 256, an A strip (rows x kc) and a B tile (kc x nr) take 44 KB in Float on AVX-512 and 22 KB on
///   AVX2 (L1d: 32-48 KB; the B tile streams, the A strip stays).
/// - nc, the columns of the kc x nc block of B that one pass over all rows reads again for every row strip: that
///   block takes half of L2, the other half left to the A strips and C tiles passing through.
/// - mc: all rows in one pass. The recurrent shapes have at most a few thousand, and where A is read transposed
///   (the weight gradients) its kc-deep slab is packed whole rows at a time, because rows read in part defeat the
///   prefetchers (see `StripPanels`): four times slower to pack at H128 than the L2 a smaller block would save.
/// nc never changes a number (a column's sum does not depend on which block it is in), only where B is read from.
public struct GEMMBlocking: Equatable, Sendable, Codable, CustomStringConvertible {
    /// kc: the k-slab depth.
    public var depth: Int
    /// Bytes of B's kc x nc block kept in L2.
    public var columnBlockBytes: Int

    /// The blocking for `caches`.
    public static func derived(from caches: CacheSizes) -> GEMMBlocking {
        GEMMBlocking(depth: GEMMTile.depth, columnBlockBytes: max(caches.l2 / 2, 64 << 10))
    }

    /// The blocking of this CPU's caches, every product's unless it is given another (`bench --gemm` compares one).
    public static let detected = derived(from: .detected)

    /// nc for scalar type T: a multiple of the tile width, at least one tile.
    @inlinable public func columns<T: Real>(_ type: T.Type) -> Int {
        let nr = GEMMTile.columns(T.self)
        return max(nr, columnBlockBytes / (depth * MemoryLayout<T>.stride) / nr * nr)
    }

    public var description: String {
        "kc \(depth), nc \(columns(Float.self)) Float columns (\(columnBlockBytes >> 10) KB of B in L2), mc all rows"
    }
}

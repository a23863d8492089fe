import Foundation
import TensorCore
import Archives
import Files

/// Reads PyTorch checkpoints written by torch.save: the zip format (archive/data.pkl + archive/data/<key>)
/// and the legacy format (magic, protocol, sys-info and object pickles followed by the raw storages).
/// The unpickler is restricted: it builds only tensors, ordered dicts, lists, tuples and plain values, and
/// refuses any other global (code execution through pickle is impossible by construction).
public enum TorchCheckpoint {
    /// Every tensor in the checkpoint's (possibly nested) dicts, keyed by its dotted path, as Float.
    public static func load(_ url: URL) throws -> [String: Tensor<Float>] {
        let data: Data
        data = try InputFile.contents(of: url)
        return try load(data: data, source: url.path)
    }

    /// The same from the bytes of a checkpoint; errors name `source`. `wanted` picks the tensors to read by name
    /// (nil: all): the storages of the others are never inflated or copied.
    public static func load(data: Data, source: String, wanted: ((String) -> Bool)? = nil) throws
        -> [String: Tensor<Float>]
    {
        var root = PickleValue.none
        var u = Unpickler(data: data, source: source)
        // Whatever happens, the values go one level at a time (a deeply nested pickle would overflow the stack).
        defer {
            u.retired.append(root); root = .none
            u.release()
        }
        let storage: (String) throws -> Data
        var declaredBytes: [String: Int] = [:]
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            let zip = try ZipArchive(data: data, source: source)
            guard let pkl = zip.entries.first(where: { $0.name.hasSuffix("/data.pkl") || $0.name == "data.pkl" }) else {
                throw FileFormatError("\(source): a zip file without data.pkl is not a torch.save checkpoint")
            }
            let prefix = String(pkl.name.dropLast("data.pkl".count))
            u = Unpickler(data: try zip.extract(pkl.name), source: source)
            root = try u.load()
            for key in u.storageKeys {
                guard let e = zip.entry(named: "\(prefix)data/\(key)") else {
                    throw FileFormatError("\(source): storage \(BoundedText.quote(key)) missing")
                }
                declaredBytes[key] = e.size
            }
            storage = { try zip.extract("\(prefix)data/\($0)") }
        } else {
            root = try legacyRoot(&u, data: data, source: source)
            let ranges = try legacyStorages(&u, data: data, source: source)
            declaredBytes = ranges.mapValues(\.count)
            storage = { data.subdata(in: ranges[$0]!) }
        }
        var refs: [(String, TensorRef)] = []
        try collect(root, prefix: "", source: source, into: &refs)
        if let wanted { refs = refs.filter { wanted($0.0) } }
        try checkBudget(refs, declaredBytes: declaredBytes, source: source)
        var storages: [String: Data] = [:], out: [String: Tensor<Float>] = [:]
        for (name, t) in refs {
            if storages[t.storageKey] == nil { storages[t.storageKey] = try storage(t.storageKey) }
            out[name] = try t.materialize(storages[t.storageKey]!, source: "\(source): \(BoundedText.quote(name))")
        }
        guard !out.isEmpty else { throw FileFormatError("\(source): no tensors found") }
        return out
    }

    /// The legacy format's object: after the magic number, protocol version and sys info pickles.
    static func legacyRoot(_ u: inout Unpickler, data: Data, source: String) throws -> PickleValue {
        // torch.save's legacy magic number 0x1950a86a20f9469cfc6c, pickled as a 10-byte LONG1
        guard case .bigInt(let magic) = try u.load(),
            magic == [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
        else {
            throw FileFormatError("\(source): not a PyTorch checkpoint (no torch.save magic number)")
        }
        _ = try u.load()  // protocol version
        _ = try u.load()  // sys info
        return try u.load()
    }

    /// Where each storage of a legacy checkpoint lies: after the key list, each as a count and its elements.
    static func legacyStorages(_ u: inout Unpickler, data: Data, source: String) throws -> [String: Range<Int>] {
        guard case .list(let keysBox) = try u.load() else {
            throw FileFormatError("\(source): legacy checkpoint without storage keys")
        }
        var offset = u.position, ranges: [String: Range<Int>] = [:]
        for k in keysBox.items {
            guard case .string(let key) = k, let size = u.storageSizes[key] else {
                throw FileFormatError("\(source): unknown storage key (\(k.kind))")
            }
            guard offset + 8 <= data.count else {
                throw FileFormatError("\(source): truncated before storage \(BoundedText.quote(key))")
            }
            let count = Int(
                data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + 8)).withUnsafeBytes {
                    Int64(littleEndian: $0.loadUnaligned(as: Int64.self))
                })
            let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
            guard count >= 0, !overflow else {
                throw FileFormatError(
                    "\(source): storage \(BoundedText.quote(key)) has an impossible element count \(count)")
            }
            guard bytes <= data.count - offset - 8 else {
                throw FileFormatError(
                    """
                    \(source): truncated storage \(BoundedText.quote(key)): \(count) elements need \(bytes) bytes, \
                    \(data.count - offset - 8) are left
                    """
                )
            }
            ranges[key] = (data.startIndex + offset + 8)..<(data.startIndex + offset + 8 + bytes)
            offset += 8 + bytes
        }
        return ranges
    }

    /// Refuses, before a storage is read, tensors that would take far more memory than the storages they view:
    /// views of one storage (tied weights) or broadcast views (stride 0) may repeat it, but every tensor together
    /// may hold at most 4 times the elements of their distinct storages plus 16 M (a stride-0 bomb of 1,000 views
    /// of one element asks for 64 GB).
    static func checkBudget(_ refs: [(String, TensorRef)], declaredBytes: [String: Int], source: String) throws {
        var storageElements = 0, tensorElements = 0, seen: Set<String> = []
        for (_, t) in refs {
            if seen.insert(t.storageKey).inserted {
                storageElements += (declaredBytes[t.storageKey] ?? 0) / (TensorRef.elementSize(t.storageType) ?? 1)
            }
            let (n, overflow) = t.size.reduce((1, false)) { acc, d in
                let (m, o) = acc.0.multipliedReportingOverflow(by: max(d, 0)); return (m, acc.1 || o)
            }
            let (sum, o2) = tensorElements.addingReportingOverflow(n)
            tensorElements = sum
            let budget = 4 * storageElements + (1 << 24)
            guard !overflow, !o2, tensorElements <= budget else {
                throw FileFormatError(
                    """
                    \(source): its \(refs.count) tensors would hold more than \(budget) elements, over 4 times the \
                    \(storageElements) of the storages they view (broadcast views repeated without bound); refusing to \
                    expand them
                    """)
            }
        }
    }

    static func collect(
        _ v: PickleValue, prefix: String, source: String, into out: inout [(String, TensorRef)], depth: Int = 0
    ) throws {
        switch v {
        case .dict(let box):
            // A pickle can make a dict that holds itself (through the memo); real state dicts nest a few levels.
            guard depth < 64 else {
                throw FileFormatError("\(source): dicts nested more than 64 deep at '\(BoundedText.quote(prefix))'")
            }
            for (k, value) in box.items {
                guard case .string(let name) = k else { continue }
                try collect(
                    value, prefix: prefix.isEmpty ? name : "\(prefix).\(name)", source: source, into: &out,
                    depth: depth + 1)
            }
        case .tensor(let t): out.append((prefix, t))
        default: break
        }
    }
}

/// A value built by the restricted unpickler.
enum PickleValue {
    case none, bool(Bool), int(Int), bigInt([UInt8]), float(Double), string(String), bytes(Data)
    case tuple(TupleBox), list(ListBox), dict(DictBox)
    case global(String)
    case storage(type: String, key: String)
    case tensor(TensorRef)
    case mark
}

/// Containers are boxes, so a release can tell when it holds a container's last reference (and only then goes on
/// to its items: each is visited once, however many references the pickle made to it).
final class TupleBox {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
}
final class ListBox { var items: [PickleValue] = [] }
final class DictBox { var items: [(PickleValue, PickleValue)] = [] }

extension PickleValue {
    /// Releases `values` one level at a time. A pickle can nest tuples or lists tens of thousands deep in a few
    /// bytes each (`\x85` repeated), and Swift releases nested values recursively: the children are moved to a
    /// worklist before their parent goes, so the release never recurses. A box shared with a value still in use is
    /// left whole.
    static func release(_ values: inout [PickleValue]) {
        var work: [PickleValue] = []
        swap(&work, &values)
        while !work.isEmpty {
            var v = work.removeLast()
            switch v {
            case .tuple: if var box = take(&v, TupleBox.self), isKnownUniquelyReferenced(&box) { steal(box, &work) }
            case .list: if var box = take(&v, ListBox.self), isKnownUniquelyReferenced(&box) { steal(box, &work) }
            case .dict: if var box = take(&v, DictBox.self), isKnownUniquelyReferenced(&box) { steal(box, &work) }
            default: break
            }
            v = .none
        }
    }

    /// The box inside `value`, which is left `.none` (so the box's only references are the caller's and others').
    private static func take<B: AnyObject>(_ value: inout PickleValue, _ type: B.Type) -> B? {
        let box: AnyObject?
        switch value {
        case .tuple(let b): box = b
        case .list(let b): box = b
        case .dict(let b): box = b
        default: box = nil
        }
        value = .none
        return box as? B
    }

    private static func steal(_ box: TupleBox, _ work: inout [PickleValue]) {
        work.append(contentsOf: box.items); box.items = []
    }
    private static func steal(_ box: ListBox, _ work: inout [PickleValue]) {
        work.append(contentsOf: box.items); box.items = []
    }
    private static func steal(_ box: DictBox, _ work: inout [PickleValue]) {
        for (k, v) in box.items { work.append(k); work.append(v) }
        box.items = []
    }

    /// What the value is, in a few words (an error quotes this, never the value: it may be nested without end).
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int(let i): "the integer \(i)"
        case .bigInt: "a long integer"
        case .float: "a float"
        case .string(let s): "the string '\(BoundedText.quote(s))'"
        case .bytes(let b): "\(b.count) bytes"
        case .tuple(let t): "a tuple of \(t.items.count)"
        case .list(let l): "a list of \(l.items.count)"
        case .dict(let d): "a dict of \(d.items.count)"
        case .global(let g): "the global \(BoundedText.quote(g))"
        case .storage: "a storage"
        case .tensor: "a tensor"
        case .mark: "a MARK"
        }
    }
}

/// A tensor view of a storage: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...).
struct TensorRef {
    let storageKey: String, storageType: String, offset: Int, size: [Int], stride: [Int]

    static func elementSize(_ type: String) -> Int? {
        [
            "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
            "IntStorage": 4,
            "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1
        ][type]
    }

    func materialize(_ bytes: Data, source: String) throws -> Tensor<Float> {
        guard let es = Self.elementSize(storageType) else {
            throw FileFormatError("\(source): unsupported storage \(storageType)")
        }
        let storageCount = bytes.count / es
        guard size.count == stride.count, offset >= 0, stride.allSatisfy({ $0 >= 0 }), let n = elementCount(size) else {
            throw FileFormatError("\(source): invalid tensor view (size \(size), stride \(stride), offset \(offset))")
        }
        // Expanded views (stride 0) may hold more elements than their storage, but not without bound.
        guard n <= max(storageCount, 1 << 24) else {
            throw FileFormatError("\(source): tensor \(size) has \(n) elements, its storage \(storageCount)")
        }
        var out = [Float](repeating: 0, count: n)
        // Last element's index: offset + sum (size - 1) * stride; every term is checked for overflow.
        var maxIndex = offset
        for (s, st) in zip(size, stride) where n > 0 {
            let (term, o1) = (s - 1).multipliedReportingOverflow(by: st)
            let (sum, o2) = maxIndex.addingReportingOverflow(term)
            guard !o1, !o2 else { throw FileFormatError("\(source): tensor \(size) reaches past its storage") }
            maxIndex = sum
        }
        guard n == 0 || maxIndex < storageCount else {
            throw FileFormatError("\(source): tensor \(size) reaches past its storage")
        }
        bytes.withUnsafeBytes { raw in
            func read(_ i: Int) -> Float {
                let p = raw.baseAddress! + i * es
                switch storageType {
                case "FloatStorage": return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                case "DoubleStorage":
                    return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
                case "HalfStorage": return Float16Bits.decode(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                case "BFloat16Storage":
                    return Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))) << 16)
                case "LongStorage": return Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                case "IntStorage": return Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                case "ShortStorage": return Float(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
                case "CharStorage": return Float(p.load(as: Int8.self))
                default: return Float(p.load(as: UInt8.self))
                }
            }
            // walk the multi-index in row-major order
            var index = [Int](repeating: 0, count: size.count)
            for i in 0..<n {
                var src = offset
                for d in 0..<size.count { src += index[d] * stride[d] }
                out[i] = read(src)
                var d = size.count - 1
                while d >= 0 { index[d] += 1; if index[d] < size[d] { break }; index[d] = 0; d -= 1 }
            }
        }
        return try Tensor(shape: size, data: out)
    }
}

/// The pickle virtual machine, limited to the opcodes torch.save emits (protocols 2-4) and to an allow-list of globals.
struct Unpickler {
    let data: Data, source: String
    var position = 0
    var storageKeys: [String] = []
    var storageSizes: [String: Int] = [:]  // key -> element size (legacy format)
    /// The machine's stack and memo, fresh for each pickle.
    var stack: [PickleValue] = [], memo: [Int: PickleValue] = [:]

    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.LongStorage",
        "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage"
    ]

    init(data: Data, source: String) { self.data = data; self.source = source }

    func fail(_ why: String) -> FileFormatError { FileFormatError("\(source): \(why) (at byte \(position))") }

    mutating func byte() throws -> UInt8 {
        guard position < data.count else { throw fail("truncated pickle") }
        defer { position += 1 }
        return data[data.startIndex + position]
    }
    mutating func take(_ n: Int) throws -> Data {
        guard n >= 0, position + n <= data.count else { throw fail("truncated pickle") }
        defer { position += n }
        return data.subdata(in: (data.startIndex + position)..<(data.startIndex + position + n))
    }
    mutating func le(_ n: Int) throws -> Int { try take(n).reversed().reduce(0) { $0 << 8 | Int($1) } }
    /// n bytes as UTF-8 text.
    mutating func text(_ n: Int) throws -> String { String(decoding: try take(n), as: UTF8.self) }
    mutating func line() throws -> String {
        var bytes: [UInt8] = []
        while true { let b = try byte(); if b == 0x0A { break }; bytes.append(b) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Every value made by the pickles this unpickler ran, released one level at a time by `release()`.
    var retired: [PickleValue] = []

    /// Runs one pickle to its STOP and returns the object.
    mutating func load() throws -> PickleValue {
        retired += stack + memo.values
        stack = []; memo = [:]
        while true {
            let op = try byte()
            if op == 0x2E { return try pop() }  // STOP
            guard try pushConstant(op) || buildContainer(op) || useMemo(op) || callGlobal(op) else {
                throw fail(String(format: "unsupported pickle opcode 0x%02x", op))
            }
        }
    }

    /// Releases every value this unpickler made and `also` (the objects it returned), without recursion.
    mutating func release() {
        var all = retired + stack + Array(memo.values)
        retired = []; stack = []; memo = [:]
        PickleValue.release(&all)
    }

    /// The top of the stack. It is also kept in `retired`, so no value is ever released by the code that took it
    /// (a dropped value nested 60,000 deep would be released recursively), only by `release()`.
    mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        retired.append(v)
        return v
    }

    /// The items above the topmost MARK, which goes with them.
    mutating func popMark() throws -> [PickleValue] {
        guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw fail("MARK missing")
        }
        let items = Array(stack[(m + 1)...])
        stack.removeSubrange(m...)
        retired += items  // as `pop` does
        return items
    }

    /// Framing, MARK, and the opcodes that push a constant (None, bools, ints, floats, strings, bytes); false for
    /// any other opcode.
    mutating func pushConstant(_ op: UInt8) throws -> Bool {
        switch op {
        case 0x80: _ = try byte()  // PROTO
        case 0x95: _ = try take(8)  // FRAME
        case 0x28: stack.append(.mark)  // MARK
        case 0x4E: stack.append(.none)
        case 0x88: stack.append(.bool(true))
        case 0x89: stack.append(.bool(false))
        case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try le(4)))))  // BININT
        case 0x4B: stack.append(.int(Int(try byte())))  // BININT1
        case 0x4D: stack.append(.int(try le(2)))  // BININT2
        case 0x8A:  // LONG1: little-endian two's complement
            let n = Int(try byte()), b = [UInt8](try take(n))
            if n > 8 { stack.append(.bigInt(b)); break }
            var v = 0
            for (i, x) in b.enumerated() { v |= Int(x) << (8 * i) }
            if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 { v -= 1 << (8 * n) }
            stack.append(.int(v))
        case 0x47:  // BINFLOAT, big-endian
            stack.append(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
        case 0x58: stack.append(.string(try text(try le(4))))  // BINUNICODE
        case 0x8C: stack.append(.string(try text(Int(try byte()))))  // SHORT_BINUNICODE
        case 0x54: stack.append(.string(try text(try le(4))))  // BINSTRING
        case 0x55: stack.append(.string(try text(Int(try byte()))))  // SHORT_BINSTRING
        case 0x43: let n = Int(try byte()); stack.append(.bytes(try take(n)))  // SHORT_BINBYTES
        case 0x42: let n = try le(4); stack.append(.bytes(try take(n)))  // BINBYTES
        default: return false
        }
        return true
    }

    /// The opcodes that make or fill a tuple, list or dict; false for any other opcode.
    mutating func buildContainer(_ op: UInt8) throws -> Bool {
        switch op {
        case 0x7D: stack.append(.dict(DictBox()))  // EMPTY_DICT
        case 0x5D: stack.append(.list(ListBox()))  // EMPTY_LIST
        case 0x29: stack.append(.tuple(TupleBox([])))  // EMPTY_TUPLE
        case 0x74: stack.append(.tuple(TupleBox(try popMark())))  // TUPLE
        case 0x85: stack.append(.tuple(TupleBox([try pop()])))  // TUPLE1
        case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple(TupleBox([a, b])))
        case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple(TupleBox([a, b, c])))
        case 0x6C: let box = ListBox(); box.items = try popMark(); stack.append(.list(box))  // LIST
        case 0x61:  // APPEND
            let v = try pop()
            guard case .list(let l) = stack.last else { throw fail("APPEND to a non-list") }
            l.items.append(v)
        case 0x65:  // APPENDS
            let items = try popMark()
            guard case .list(let l) = stack.last else { throw fail("APPENDS to a non-list") }
            l.items += items
        case 0x73:  // SETITEM
            let v = try pop(), k = try pop()
            guard case .dict(let d) = stack.last else { throw fail("SETITEM on a non-dict") }
            d.items.append((k, v))
        case 0x75:  // SETITEMS
            let items = try popMark()
            guard case .dict(let d) = stack.last, items.count % 2 == 0 else { throw fail("SETITEMS on a non-dict") }
            for i in stride(from: 0, to: items.count, by: 2) { d.items.append((items[i], items[i + 1])) }
        default: return false
        }
        return true
    }

    /// The memo's opcodes (PUT and GET in their forms); false for any other opcode.
    mutating func useMemo(_ op: UInt8) throws -> Bool {
        switch op {
        case 0x71: memo[Int(try byte())] = stack.last  // BINPUT
        case 0x72: memo[try le(4)] = stack.last  // LONG_BINPUT
        case 0x94: memo[memo.count] = stack.last  // MEMOIZE
        case 0x68, 0x6A:  // BINGET, LONG_BINGET
            let i = op == 0x68 ? Int(try byte()) : try le(4)
            guard let v = memo[i] else { throw fail("bad memo reference") }
            stack.append(v)
        default: return false
        }
        return true
    }

    /// Globals (from the allow-list only), persistent ids (tensor storages), and the calls that build objects;
    /// false for any other opcode.
    mutating func callGlobal(_ op: UInt8) throws -> Bool {
        switch op {
        case 0x63:  // GLOBAL
            stack.append(.global(try allowedGlobal("\(try line()).\(try line())")))
        case 0x93:  // STACK_GLOBAL
            guard case .string(let n) = try pop(), case .string(let m) = try pop() else {
                throw fail("bad STACK_GLOBAL")
            }
            stack.append(.global(try allowedGlobal("\(m).\(n)")))
        case 0x51:  // BINPERSID
            guard case .tuple(let box) = try pop(), case let pid = box.items, pid.count >= 5,
                case .string("storage") = pid[0],
                case .global(let type) = pid[1], case .string(let key) = pid[2]
            else { throw fail("unsupported persistent id") }
            let t = String(type.split(separator: ".").last!)
            guard let es = TensorRef.elementSize(t) else { throw fail("unsupported storage type \(type)") }
            if !storageKeys.contains(key) { storageKeys.append(key) }
            storageSizes[key] = es
            stack.append(.storage(type: t, key: key))
        case 0x52, 0x81:  // REDUCE, NEWOBJ
            let args = try pop(), fn = try pop()
            guard case .global(let name) = fn, case .tuple(let box) = args, case let a = box.items else {
                throw fail(op == 0x52 ? "REDUCE of a non-global" : "NEWOBJ of a non-global")
            }
            stack.append(try reduce(name, a))
        case 0x62: _ = try pop()  // BUILD: state (e.g. a state dict's _metadata) ignored
        default: return false
        }
        return true
    }

    func allowedGlobal(_ name: String) throws -> String {
        guard Self.allowedGlobals.contains(name) else {
            throw fail("refusing to load '\(name)': only tensors and dicts of tensors are allowed")
        }
        return name
    }

    func reduce(_ name: String, _ a: [PickleValue]) throws -> PickleValue {
        switch name {
        case "collections.OrderedDict": return .dict(DictBox())
        case "torch._utils._rebuild_parameter":
            guard let t = a.first else { throw fail("empty parameter") }
            return t
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case .storage(let type, let key) = a[0], case .int(let offset) = a[1],
                case .tuple(let sizeBox) = a[2], case .tuple(let strideBox) = a[3], case let size = sizeBox.items,
                case let stride = strideBox.items
            else { throw fail("malformed tensor record") }
            let ints = { (v: [PickleValue]) throws -> [Int] in
                try v.map {
                    if case .int(let i) = $0 { return i }; throw fail("non-integer tensor size")
                }
            }
            return .tensor(
                TensorRef(
                    storageKey: key, storageType: type, offset: offset, size: try ints(size), stride: try ints(stride)))
        default: throw fail("refusing to call '\(name)'")
        }
    }
}

/// Named Float tensors from a weights file, whichever format it is in.
public enum WeightFile {
    /// Every tensor of a safetensors file or a torch.save checkpoint (zip or legacy), keyed by name, e.g.
    /// torchvision's resnet18-f37072fd.pth: `try ResNet18(stateDict: StateDict(WeightFile.tensors(contentsOf: url)))`.
    /// `wanted` picks the tensors by name (nil: all); the others are never read.
    public static func tensors(contentsOf url: URL, wanted: ((String) -> Bool)? = nil) throws -> [String: Tensor<Float>]
    {
        let file = try InputFile(url)
        let head = try file.read(0..<min(4, file.size))
        if head.starts(with: [0x50, 0x4B]) || head.starts(with: [0x80]) {
            return try TorchCheckpoint.load(data: try InputFile.contents(of: url), source: url.path, wanted: wanted)
        }
        let f = try SafetensorsFile(contentsOf: url)
        var t: [String: Tensor<Float>] = [:]
        for name in f.names where wanted?(name) ?? true { t[name] = try f.tensor(name, as: Float.self) }
        return t
    }
}

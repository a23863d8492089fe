import Foundation

/// A registered recurrent cell, by the name files and options use ("lstm"). Everything a cell is (gates,
/// parameter shapes, state, forward and backward step) lives in its ``RecurrentCell`` type; this names it.
public struct CellKind: RawRepresentable, Hashable, Codable, @unchecked Sendable, CaseIterable, CustomStringConvertible
{
    /// The cell's name ("lstm").
    public let rawValue: String
    /// The cell type behind this name (looked up once: the step loop asks it at every step). A metatype is
    /// immutable, which is why the struct is Sendable.
    public let cellType: any RecurrentCell.Type

    /// The registered cell called `rawValue`, or nil.
    public init?(rawValue: String) {
        guard let type = CellRegistry.shared.cell(named: rawValue) else { return nil }
        self.rawValue = rawValue; cellType = type
    }

    public static func == (a: CellKind, b: CellKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    /// The cells the library defines, one line each, in the order help texts list them.
    static let builtIn: [any RecurrentCell.Type] = [
        ElmanCell.self, LSTMCell.self, GRUCell.self, IndRNNCell.self, MinGRUCell.self, MinLSTMCell.self
    ]

    /// A built-in cell, by the name its type declares.
    init(builtIn cell: any RecurrentCell.Type) { rawValue = cell.name; cellType = cell }

    public static let rnn = CellKind(builtIn: ElmanCell.self)
    public static let lstm = CellKind(builtIn: LSTMCell.self)
    public static let gru = CellKind(builtIn: GRUCell.self)
    public static let indrnn = CellKind(builtIn: IndRNNCell.self)

    /// Every registered cell: the built-in ones, then those registered since, in order.
    public static var allCases: [CellKind] { CellRegistry.shared.names.map { CellKind(rawValue: $0)! } }

    /// Registers a cell defined outside the library, so networks, training, checkpoints and `--cells` accept its
    /// name. Registering the same type again returns its kind; another type under a taken name throws.
    @discardableResult
    public static func register(_ cell: any RecurrentCell.Type) throws -> CellKind {
        try CellRegistry.shared.register(cell)
        return CellKind(builtIn: cell)
    }

    public var description: String { rawValue }

    /// Facts that hold for every configuration of the cell, read at PyTorch's defaults.
    var defaultLayout: CellLayout { cellType.layout(RecurrentConfig(cell: self, inputSize: 1, hiddenSize: 1)) }
    /// Gate blocks stacked in W_ih / W_hh: RNN 1; LSTM 4 (i, f, g, o); GRU 3 (r, z, n).
    public var gateCount: Int { cellType.gateNames.count }
    /// The gate blocks' names, in order (LSTM i, f, g, o; GRU r, z, n).
    public var gateNames: [String] { cellType.gateNames }
    /// The name reports use ("LSTM").
    public var displayName: String { cellType.displayName }
    /// Whether the cell carries a cell state c beside h (the LSTM), so it takes c0 and returns c_n.
    public var hasCellState: Bool { defaultLayout.cellState }
    /// The gate block that decides how much of the previous state is kept (LSTM f, GRU z); nil without one.
    public var carryGateBlock: Int? { defaultLayout.carryGate }
    /// The gate block that decides how much of the new candidate is written (LSTM i), set opposite to the carry
    /// gate by chrono initialisation; nil where the carry gate does both (GRU's 1 - z).
    public var writeGateBlock: Int? { defaultLayout.writeGate }
    /// The shape of weight_hh: a matrix, a diagonal (IndRNN's u; its largest singular value is max |u|), or none.
    public var recurrentWeight: RecurrentWeightForm { defaultLayout.recurrentWeight }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let kind = CellKind(rawValue: name) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "unknown cell '\(name)' (registered: \(CellRegistry.shared.names.joined(separator: ", ")))"
                ))
        }
        self = kind
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The process's registered cells, by name: the built-in ones and any registered since.
final class CellRegistry: @unchecked Sendable {
    static let shared = CellRegistry()
    private let lock = NSLock()
    private var cells: [(name: String, type: any RecurrentCell.Type)] = CellKind.builtIn.map { ($0.name, $0) }

    struct Conflict: Error, CustomStringConvertible {
        let description: String
    }

    var names: [String] { lock.withLock { cells.map(\.name) } }

    func cell(named name: String) -> (any RecurrentCell.Type)? {
        lock.withLock { cells.first { $0.name == name }?.type }
    }

    func register(_ cell: any RecurrentCell.Type) throws {
        try lock.withLock {
            if let existing = cells.first(where: { $0.name == cell.name }) {
                guard ObjectIdentifier(existing.type) == ObjectIdentifier(cell) else {
                    throw Conflict(description: "a different cell is already registered as '\(cell.name)'")
                }
                return
            }
            cells.append((cell.name, cell))
        }
    }
}

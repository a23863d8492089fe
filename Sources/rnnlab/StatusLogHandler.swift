import Foundation
import Workbench
import Logging

/// The CLI's swift-log handler: status lines on standard error, indented like the progress lines
/// ("  skipping fashion_mnist: ..."), with the level named when it is a warning or worse.
struct StatusLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix = event.level >= .warning ? "\(event.level): " : ""
        FileHandle.standardError.write(Data("  \(prefix)\(event.message)\n".utf8))
    }
}

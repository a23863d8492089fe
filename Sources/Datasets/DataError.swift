import Foundation
import Archives
import Files

/// Errors reading data files: each names the file and what is wrong with it.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, naming the input.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = BoundedText.clean(description) }
    /// The whole of a data file, or a data error naming it and what stands in the way (missing, a folder, a FIFO,
    /// a device, a symbolic link loop).
    public static func contents(of url: URL) throws -> Data {
        do { return try InputFile.contents(of: url) } catch { throw DataError("\(error)") }
    }
    /// The archive error as a data error.
    public init(_ error: ArchiveError) { self.description = error.description }
}

/// Runs `body`, reporting a damaged archive or compressed file as a data error.
func readingArchive<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let e as ArchiveError { throw DataError(e) }
}

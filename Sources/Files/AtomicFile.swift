import Foundation

/// Errors from reading or writing files; each names the file and what went wrong.
public struct FileFormatError: Error, CustomStringConvertible, Equatable {
    /// What could not be written, naming the file.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = BoundedText.clean(description) }
}

/// Writes whole files atomically: the bytes go to a temporary file beside the target, are flushed to disk,
/// then renamed over it. A crash or a full disk leaves either the old file or the new one, never half of one.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `url`, flushes it, then renames it over `url`.
    public static func write(_ data: Data, to url: URL) throws {
        let fault = FaultPoints.begin()
        let dir = url.deletingLastPathComponent()
        try createFolder(dir)
        let tmp = dir.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw FileFormatError("\(url.path): cannot create a temporary file in \(dir.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try handle.write(contentsOf: data)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            FaultPoints.reach(.temporary, write: fault)
            if rename(tmp.path, url.path) != 0 {
                throw FileFormatError("\(url.path): rename failed: \(String(cString: strerror(errno)))")
            }
            FaultPoints.reach(.renamed, write: fault)
            FaultPoints.paused(after: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if let e = error as? FileFormatError { throw e }
            throw FileFormatError(
                "\(url.path): write failed (\(error.localizedDescription)); the previous file, if any, is untouched")
        }
    }

    /// Creates `folder` and its parents unless it exists, or says in one line why it cannot be: a file is in the
    /// way, or the system refused (read-only, no permission, no such place).
    public static func createFolder(_ folder: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw FileFormatError("\(folder.path) is a file, not a folder") }
            return
        }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            // Foundation's message on Linux ("The file doesn't exist.") hides the system's reason; errno's is plainer.
            let underlying = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? Error).map { $0 as NSError }
            let reason =
                underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
                ?? error.localizedDescription
            throw FileFormatError("\(folder.path): cannot create the folder (\(reason))")
        }
    }

    /// Removes, under `folder`, the temporary files of writes that never finished (`.NAME.tmp-PID-N`, left by a
    /// run killed mid-write) and returns how many. Only for a folder this process holds (`RunLock`): another
    /// writer's temporary file would look the same; a subfolder holding its own run lock is another run's and is
    /// left alone.
    @discardableResult
    public static func removeOrphanedTemporaries(in folder: URL) -> Int {
        guard let walk = FileManager.default.enumerator(atPath: folder.path) else { return 0 }
        var removed = 0
        while let relative = walk.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            // A folder with a run lock of its own is another run's (a nested run may be writing there now).
            if walk.fileAttributes?[.type] as? FileAttributeType == .typeDirectory,
                RunLock.isHeldOrMarked(folder.appendingPathComponent(relative))
            {
                walk.skipDescendants()
                continue
            }
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { continue }
            let parts = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { continue }
            if unlink(folder.appendingPathComponent(relative).path) == 0 { removed += 1 }
        }
        return removed
    }

    /// Writes `text` as UTF-8, atomically.
    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }
}

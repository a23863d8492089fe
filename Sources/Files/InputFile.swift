import Foundation

/// A file opened for reading after checking what it is. A folder, a named pipe, a device file or a symbolic
/// link loop named where a file is expected ends in one line naming the path and what it is (Foundation says
/// "You don't have permission." for /dev/zero, waits forever on a FIFO, or prints an NSError code); reads go by
/// byte range, so a file padded to gigabytes is never loaded whole.
public final class InputFile {
    /// The file's path.
    public let url: URL
    /// Its size in bytes when opened.
    public let size: Int
    let descriptor: Int32

    /// Opens `url` for reading, or throws `FileFormatError` naming it and what stands in the way.
    public init(_ url: URL) throws {
        self.url = url
        if let problem = Self.problem(url) { throw FileFormatError("\(url.path) \(problem)") }
        // O_NONBLOCK: opening a FIFO that became one after the check must not wait for a writer.
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileFormatError("\(url.path): cannot open (\(String(cString: strerror(errno))))") }
        var info = stat()
        guard fstat(fd, &info) == 0, Self.kind(info.st_mode) == nil else {
            close(fd)
            throw FileFormatError("\(url.path) is not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Why `url` cannot be read as a file ("is a folder, not a file"), or nil for a regular file it may read.
    public static func problem(_ url: URL) -> String? {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            switch errno {
            case ELOOP: return "is a symbolic link loop (or a chain of more than 40 links), not a file"
            case ENOENT: return "does not exist"
            case ENOTDIR: return "does not exist (a part of the path is a file, not a folder)"
            case EACCES: return "cannot be reached: permission denied"
            default: return "cannot be read (\(String(cString: strerror(errno))))"
            }
        }
        if let kind = kind(info.st_mode) { return "is \(kind), not a file" }
        return access(url.path, R_OK) == 0 ? nil : "cannot be read: permission denied"
    }

    /// What a non-regular file is, in words; nil for a regular file.
    static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a named pipe (FIFO)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Bytes `range` of the file; fewer than asked is an error naming what was expected.
    public func read(_ range: Range<Int>) throws -> Data {
        guard range.lowerBound >= 0, range.upperBound <= size else {
            throw FileFormatError("\(url.path): truncated: bytes \(range) asked of a \(size)-byte file")
        }
        var data = Data(count: range.count)
        var done = 0
        try data.withUnsafeMutableBytes { raw in
            while done < range.count {
                let n = pread(descriptor, raw.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let reason = n < 0 ? String(cString: strerror(errno)) : "the file ended early"
                    throw FileFormatError("\(url.path): read failed at byte \(range.lowerBound + done) (\(reason))")
                }
                done += n
            }
        }
        return data
    }

    /// The whole file, refused when larger than `limit` bytes (named, with the limit).
    public func readAll(limit: Int = Int.max) throws -> Data {
        guard size <= limit else {
            throw FileFormatError("\(url.path): \(size) bytes, more than the \(limit) expected; not read")
        }
        return try read(0..<size)
    }

    /// The whole of a regular file at `url` (see `init`).
    public static func contents(of url: URL, limit: Int = Int.max) throws -> Data {
        try InputFile(url).readAll(limit: limit)
    }
}

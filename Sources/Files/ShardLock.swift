import Foundation

/// One shard of a study at a time, and no shard while the study itself runs in the folder: an exclusive flock on
/// RUN/shards/NAME.lock (the file names its holder: host, pid, command, start) and a shared flock on the run folder,
/// which the study's own `RunLock` (exclusive) excludes. Liveness is read from the locks, never from a pid, which
/// means nothing on another machine; flock works across machines on NFSv4. Where a file system cannot lock a
/// directory, `Study` also refuses to start while any shard's lock is held.
public final class ShardLock {
    var descriptor: Int32, folderDescriptor: Int32

    /// Locks shard `name` of the run in `folder` for `command`, or throws naming who holds it or the folder.
    public init(folder: URL, name: String, command: String) throws {
        let path = Self.lockFile(folder, name)
        if let holder = Self.holder(folder: folder, name: name) {
            throw FileFormatError("shard \(name) of \(folder.path) is running already (\(holder))")
        }
        try AtomicFile.createFolder(path.deletingLastPathComponent())
        folderDescriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0, flock(folderDescriptor, LOCK_SH | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(folderDescriptor)
            folderDescriptor = -1
            if busy {
                throw FileFormatError(
                    "\(folder.path) is in use by the study itself (rnnlab all or a part); run shard \(name) after "
                        + "it ends")
            }
        }
        var notes: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "?"
        let holder = "host \(host), pid \(getpid()): \(command) (since \(ISO8601DateFormatter().string(from: Date())))"
        do { descriptor = try RunLock.lock(file: path, holder: holder, notes: &notes) } catch {
            if folderDescriptor >= 0 { close(folderDescriptor) }
            throw FileFormatError("shard \(name): \(error)")
        }
    }

    deinit { release() }

    /// RUN/shards/NAME.lock, the shard's "/" written "_".
    public static func lockFile(_ folder: URL, _ name: String) -> URL {
        folder.appendingPathComponent("shards/\(name.replacingOccurrences(of: "/", with: "_")).lock")
    }

    /// Who holds shard `name`'s lock now (its lock file's text), or nil when no one does.
    public static func holder(folder: URL, name: String) -> String? {
        holder(of: lockFile(folder, name))
    }

    /// The text of lock file `file` when someone holds it ("a shard starting" before its holder is written).
    static func holder(of file: URL) -> String? {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0, errno == EWOULDBLOCK else {
            flock(fd, LOCK_UN)
            return nil
        }
        let text = RunLock.contents(fd)
        return text.isEmpty ? "a shard starting" : text
    }

    /// The holders of every shard lock held in the run `folder` now.
    static func running(in folder: URL) -> [String] {
        let shards = folder.appendingPathComponent("shards")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shards.path)) ?? []
        return names.filter { $0.hasSuffix(".lock") }.sorted().compactMap {
            holder(of: shards.appendingPathComponent($0))
        }
    }

    /// Lets go of both locks (the lock file stays: it names the last holder for whoever looks).
    public func release() {
        if descriptor >= 0 { close(descriptor) }
        if folderDescriptor >= 0 { close(folderDescriptor) }
        descriptor = -1; folderDescriptor = -1
    }
}

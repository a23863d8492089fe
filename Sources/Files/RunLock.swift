import Foundation

/// One writer per run folder: an advisory lock (flock) on FOLDER/.rnnlab.lock, held from before the folder's
/// settings are checked until the run has written its last file. The lock file names the holder (pid, command,
/// start time), so a second run into the folder is refused by name; a holder that died (kill -9, power loss)
/// leaves the file behind but not the lock, which the next run takes over with a note. On release the lock file
/// is removed, and a folder the run created and left empty (a run refused or failed before writing) goes too.
///
/// The folder itself is locked as well (flock on its directory), so a lock file deleted by hand lets no second run
/// in. Where a file system cannot lock a directory (NFS emulates flock with POSIX locks, which a directory opened
/// read-only cannot take), the lock file alone holds: there, deleting it by hand lets a second run start.
public final class RunLock {
    /// The folder held.
    public private(set) var folder: URL
    /// What taking the lock found worth saying: a stale lock taken over, temporary files of killed runs removed.
    public private(set) var notes: [String] = []
    public static let fileName = ".rnnlab.lock"
    var descriptor: Int32
    /// The folder's own descriptor, flocked (-1 where the file system cannot lock a directory).
    var folderDescriptor: Int32 = -1
    let createdFolder: Bool
    let holder: String

    /// Creates `folder` when needed and locks it for `command`, or throws `FileFormatError` naming the process
    /// that holds it. Refuses `/` and the home folder, which are never run folders.
    public init(_ folder: URL, command: String) throws {
        let folder = folder.standardizedFileURL
        try Self.refuseSystemFolder(folder)
        self.folder = folder
        createdFolder = !FileManager.default.fileExists(atPath: folder.path)
        do { try AtomicFile.createFolder(folder) } catch { throw FileFormatError("\(error); choose another --out") }
        holder = "pid \(getpid()): \(command) (since \(ISO8601DateFormatter().string(from: Date())))"
        do {
            folderDescriptor = try Self.lockFolder(folder)
            descriptor = try Self.lock(folder, holder: holder, notes: &notes)
        } catch {
            if folderDescriptor >= 0 { close(folderDescriptor) }
            if createdFolder { rmdir(folder.path) }
            throw error
        }
        let removed = AtomicFile.removeOrphanedTemporaries(in: folder)
        if removed > 0 { notes.append("removed \(removed) temporary file(s) left by an interrupted run") }
    }

    deinit { release() }

    /// `/` and the user's home folder: an rnnlab run would write its files among everything else there, and
    /// `--fresh` would move the whole folder aside.
    static func refuseSystemFolder(_ folder: URL) throws {
        let path = folder.resolvingSymlinksInPath().path
        let home = FileManager.default.homeDirectoryForCurrentUser.resolvingSymlinksInPath().path
        if path == "/" || path == home {
            throw FileFormatError(
                "\(folder.path) is \(path == "/" ? "the root folder" : "your home folder"), not a "
                    + "run folder; choose an --out inside it (runs/NAME)")
        }
    }

    /// Opens and locks FOLDER/.rnnlab.lock, checking after the lock that the path still names the file locked
    /// (a run that moved the folder aside or removed the file meanwhile makes it stale: try again).
    static func lock(_ folder: URL, holder: String, notes: inout [String]) throws -> Int32 {
        try lock(file: folder.appendingPathComponent(fileName), holder: holder, notes: &notes)
    }

    /// Opens and locks the lock file `file`, naming `holder` in it (a shard's, or a run folder's).
    static func lock(file: URL, holder: String, notes: inout [String]) throws -> Int32 {
        let path = file.path, folder = file.deletingLastPathComponent()
        for _ in 0..<8 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw FileFormatError("\(path): cannot create the run lock (\(String(cString: strerror(errno))))")
            }
            let earlier = contents(fd)
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                let who = earlier.isEmpty ? "another process" : "another rnnlab run (\(earlier))"
                throw FileFormatError(
                    "\(folder.path) is in use by \(who); wait for it to end, or choose another --out")
            }
            var opened = stat(), named = stat()
            guard fstat(fd, &opened) == 0, stat(path, &named) == 0, opened.st_ino == named.st_ino,
                opened.st_dev == named.st_dev
            else {
                close(fd)
                continue
            }
            let now = contents(fd)
            if !now.isEmpty { notes.append("took over the lock of a run that is no longer running (\(now))") }
            ftruncate(fd, 0)
            _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
            return fd
        }
        throw FileFormatError("\(folder.path): the run lock kept changing under this run; try again")
    }

    /// Locks the folder's directory itself, or throws naming the run that holds it (from its lock file, when that
    /// is still there); -1 where the file system cannot lock a directory.
    static func lockFolder(_ folder: URL) throws -> Int32 {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            guard busy else { return -1 }
            let named = try? String(contentsOf: folder.appendingPathComponent(fileName), encoding: .utf8)
            let who =
                named.map { $0.isEmpty ? "another rnnlab run, starting" : "another rnnlab run (\($0))" }
                ?? ShardLock.running(in: folder).first.map { "a shard of its study (\($0))" }
                ?? "another rnnlab run (its \(fileName) was deleted)"
            throw FileFormatError("\(folder.path) is in use by \(who); wait for it to end, or choose another --out")
        }
        return fd
    }

    /// Whether `folder` is, or was, another run's: it holds a lock file, or a live run holds the folder's own lock
    /// (its lock file deleted by hand).
    static func isHeldOrMarked(_ folder: URL) -> Bool {
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(fileName).path) { return true }
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }

    static func contents(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = pread(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }

    /// Moves the locked folder to `target` (an earlier run set aside by --fresh) and goes on holding a new, empty
    /// folder at the old path. The lock is held throughout: no other run can start in either folder meanwhile.
    public func moveAside(to target: URL) throws {
        let old = descriptor
        guard rename(folder.path, target.path) == 0 else {
            throw FileFormatError(
                "\(folder.path): cannot move the earlier run aside to \(target.path) "
                    + "(\(String(cString: strerror(errno))))"
            )
        }
        try AtomicFile.createFolder(folder)
        var ignored: [String] = []
        let oldFolder = folderDescriptor
        folderDescriptor = try Self.lockFolder(folder)
        descriptor = try Self.lock(folder, holder: holder, notes: &ignored)
        unlink(target.appendingPathComponent(Self.fileName).path)
        close(old)
        if oldFolder >= 0 { close(oldFolder) }
    }

    /// Removes the lock file and lets go of the lock (also done when the lock is deallocated); a folder this lock
    /// created that is empty now is removed too.
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(folder.appendingPathComponent(Self.fileName).path)
        close(descriptor)
        descriptor = -1
        if folderDescriptor >= 0 { close(folderDescriptor) }
        folderDescriptor = -1
        if createdFolder, (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty == true {
            rmdir(folder.path)
        }
    }
}

import Foundation

/// A child process the tests start: rnnlab as a user runs it, or a Python with torch, onnxruntime or tensorboard.
public enum ChildProcess {
    /// Starts `executable arguments` with standard output (and standard error, unless `discardErrors`) on one pipe.
    /// `directory`: the working directory (default: this process's).
    public static func start(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], discardErrors: Bool = false,
        directory: URL? = nil
    ) throws -> (process: Process, pipe: Pipe) {
        let p = Process(), pipe = Pipe()
        p.executableURL = executable
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.standardOutput = pipe
        p.standardError = discardErrors ? FileHandle.nullDevice : pipe
        try p.run()
        return (p, pipe)
    }

    /// Runs `executable arguments` to its end: the exit status and everything it printed.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], discardErrors: Bool = false,
        directory: URL? = nil
    ) throws -> (status: Int32, output: Data) {
        let (p, pipe) = try start(
            executable, arguments, environment: environment, discardErrors: discardErrors, directory: directory)
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, out)
    }

    /// Runs `python arguments` through /usr/bin/env: $RNNLAB_PYTHON (a Python with torch / onnxruntime), or
    /// `interpreter` when given; the exit status and the output as text.
    public static func python(
        _ arguments: [String], interpreter: String? = nil, environment: [String: String] = [:],
        directory: URL? = nil
    ) throws -> (status: Int32, output: String) {
        let python = interpreter ?? ProcessInfo.processInfo.environment["RNNLAB_PYTHON"] ?? "python3"
        let (status, out) = try run(
            URL(fileURLWithPath: "/usr/bin/env"), [python] + arguments, environment: environment,
            directory: directory)
        return (status, String(decoding: out, as: UTF8.self))
    }

    /// Runs JavaScript `source` in Node (found on PATH); nil where Node is not installed.
    public static func node(_ source: String) throws -> (status: Int32, output: String)? {
        let (status, out) = try run(URL(fileURLWithPath: "/usr/bin/env"), ["node", "-e", source])
        if status == 127 { return nil }  // env: node not found
        return (status, String(decoding: out, as: UTF8.self))
    }
}

import Foundation

/// A one-node Slurm cluster on this machine, as ../shared/SLURM.md sets one up (Debian's slurm-wlm and munge, as
/// root, no systemd): a munge key and daemon, a slurm.conf for this host, slurmctld and slurmd in the background.
/// `start` returns nil, with why, where it cannot be had; `stop` ends what it started.
public final class LocalSlurm {
    var pids: [Int32] = []
    let state: URL

    /// The cluster, up and its node idle; or the reason it could not be started.
    public static func start() -> Result<LocalSlurm, SlurmUnavailable> {
        for tool in ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return .failure(SlurmUnavailable("\(tool) is not installed (Debian: apt-get install slurm-wlm munge)"))
        }
        guard getuid() == 0 else { return .failure(SlurmUnavailable("starting slurmctld needs root")) }
        let cluster = LocalSlurm()
        do {
            try cluster.configure()
            try cluster.launch()
        } catch {
            cluster.stop()
            return .failure(SlurmUnavailable("\(error)"))
        }
        return .success(cluster)
    }

    init() {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-\(UUID().uuidString)")
    }

    /// `command` run by bash, bounded by coreutils' timeout (a Slurm client retries a silent controller for minutes).
    static func shell(_ command: String, seconds: Int = 60) throws -> (status: Int32, output: String) {
        let (status, out) = try ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/timeout"), ["-k", "5", "\(seconds)", "/bin/bash", "-c", command])
        return (status, String(decoding: out, as: UTF8.self))
    }

    /// Bash that closes every descriptor above 2 before it starts a daemon. Foundation's Process learns that a child
    /// ended when a socket it handed the child is closed by every holder; a daemon that inherits it (munged does)
    /// keeps the child "running" for ever, and every wait on it with it: the hang of a fresh CI machine.
    static let closeInherited =
        #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; true"#

    /// The munge key and folders, and slurm.conf for this host (its core count and a memory it has).
    func configure() throws {
        let host = try Self.shell("hostname -s").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let setup = """
            set -e
            for d in /etc/munge /var/log/munge /run/munge /var/lib/munge; do mkdir -p $d; chown munge:munge $d; done
            [ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
            chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
            mkdir -p /etc/slurm \(state.path)/ctld \(state.path)/d
            cat > /etc/slurm/slurm.conf <<CONF
            ClusterName=local
            SlurmctldHost=\(host)
            SlurmUser=root
            AuthType=auth/munge
            StateSaveLocation=\(state.path)/ctld
            SlurmdSpoolDir=\(state.path)/d
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SchedulerType=sched/backfill
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            ReturnToService=2
            SlurmctldLogFile=\(state.path)/slurmctld.log
            SlurmdLogFile=\(state.path)/slurmd.log
            NodeName=\(host) CPUs=\(cpus) RealMemory=1000 State=UNKNOWN
            PartitionName=debug Nodes=\(host) Default=YES MaxTime=INFINITE State=UP
            CONF
            \(Self.closeInherited)
            pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1
            """
        let r = try Self.shell(setup)
        guard r.status == 0 else { throw SlurmUnavailable("setting up munge and slurm.conf failed: \(r.output)") }
    }

    /// slurmctld and slurmd in the foreground of their own sessions, started by the shell and detached (a long-lived
    /// child of Foundation's Process would block its one reaping thread in wait4), holding none of this process's
    /// descriptors (`closeInherited`). Then a wait for the node to be idle.
    func launch() throws {
        for daemon in ["/usr/sbin/slurmctld", "/usr/sbin/slurmd"] {
            let r = try Self.shell("\(Self.closeInherited); setsid \(daemon) -D </dev/null >/dev/null 2>&1 & echo $!")
            guard let pid = Int32(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw SlurmUnavailable("\(daemon) did not start: \(r.output)")
            }
            pids.append(pid)
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let r = try? Self.shell("sinfo -h -o %T", seconds: 20)
            if let r, r.status == 0, r.output.contains("idle") { return }
            usleep(250_000)
        }
        throw SlurmUnavailable("the node did not become idle within 60 s")
    }

    /// Waits until none of `jobs` is queued or running (or `seconds` pass); false on the timeout.
    public func waitFor(_ jobs: [String], seconds: Double = 300) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let r = try Self.shell("squeue -h -j \(jobs.joined(separator: ",")) -o %i 2>/dev/null", seconds: 20)
            if r.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            usleep(500_000)
        }
        return false
    }

    /// Stops the daemons this cluster started (munged stays for the next one).
    public func stop() {
        for pid in pids { kill(pid, SIGTERM) }
        for pid in pids {
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
        }
        pids = []
        try? FileManager.default.removeItem(at: state)
    }

    deinit { stop() }
}

/// Why a local Slurm cluster could not be started.
public struct SlurmUnavailable: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

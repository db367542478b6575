// The servers under test: started by the bench on 127.0.0.1 (or reached at a given URL), watched through /proc.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server process the bench started (or only a pid to watch).
final class ServerProcess: @unchecked Sendable {
    let name: String
    let process: Process?
    let pid: Int32?
    let logPath: String?

    init(name: String, process: Process?, pid: Int32?, logPath: String?) {
        self.name = name
        self.process = process
        self.pid = pid
        self.logPath = logPath
    }

    func sample() -> ProcessSample? { pid.flatMap { ProcessSample.read(pid: $0) } }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()  // SIGTERM to the one process the bench started
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func launch(name: String, executable: String, arguments: [String], log: String) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return ServerProcess(name: name, process: process, pid: process.processIdentifier, logPath: log)
    }
}

/// Waits until something listens on the TCP port (or the process died).
func waitForPort(_ port: Int, process: ServerProcess, timeout: Double = 30) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if tcpPortOpen(port) { return }
        if let p = process.process, !p.isRunning {
            let log = process.logPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            throw BenchError("\(process.name) exited (status \(p.terminationStatus)):\n\(log.suffix(2000))")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchError("\(process.name) does not listen on 127.0.0.1:\(port) after \(timeout) s")
}

struct ParleyLaunch {
    var binary: String
    var maxParticipants: Int
    var extraArguments: [String] = []

    /// Starts Parley on 127.0.0.1 with free ports; returns the process and its WebSocket URL.
    func start(logDirectory: String) async throws -> (ServerProcess, String) {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no Parley binary at \(binary) (swift build -c release --product parley)")
        }
        let port = freePort()
        let mediaPort = freePort(udp: true)
        let server = try ServerProcess.launch(
            name: "parley", executable: binary,
            arguments: ["--host", "127.0.0.1", "--port", "\(port)", "--media-port", "\(mediaPort)",
                        "--announced-ip", "127.0.0.1", "--max-participants", "\(maxParticipants)",
                        // The load comes from one address: no per-address limits.
                        "--max-connections-per-address", "100000", "--new-connections-per-address", "100000",
                        "--log-level", "warning"] + extraArguments,
            log: "\(logDirectory)/parley.log")
        try await waitForPort(port, process: server)
        return (server, "ws://127.0.0.1:\(port)/ws")
    }
}

struct JanusLaunch {
    var binary = "/usr/bin/janus"
    /// bench/janus: the configuration kept with the bench (127.0.0.1 only, WebSocket API, VideoRoom).
    var configDirectory: String
    var wsPort = 8188
    /// Janus's media address and interface: 127.0.0.2 on benchlo, made by bench/netns.sh.
    var address = "127.0.0.2"
    var interface = "benchlo"
    /// `event_loops` in janus.jcfg: a pool of this many loop threads instead of one per handle (nil: as shipped).
    var eventLoops: Int? = nil

    func start(logDirectory: String) async throws -> (ServerProcess, String) {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("Janus is not installed (apt-get install -y janus, or `make bench` installs it)")
        }
        guard if_nametoindex(interface) != 0 else {
            throw BenchError("Janus needs the bench's network namespace (interface \(interface) with \(address)): "
                             + "run `bench/netns.sh .build/release/parley-bench …` or `make bench`")
        }
        guard !tcpPortOpen(wsPort) else { throw BenchError("127.0.0.1:\(wsPort) is taken: is another Janus running?") }
        // A private copy of the configuration, so the log and pid files stay out of the repository.
        let folder = "\(logDirectory)/janus-conf"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: configDirectory) where file.hasSuffix(".jcfg") {
            var text = try String(contentsOfFile: "\(configDirectory)/\(file)", encoding: .utf8)
            text = text.replacingOccurrences(of: "@WS_PORT@", with: "\(wsPort)")
                .replacingOccurrences(of: "@JANUS_IP@", with: address)
                .replacingOccurrences(of: "@JANUS_IFACE@", with: interface)
            if let eventLoops, file == "janus.jcfg" {
                text = text.replacingOccurrences(of: "general: {\n", with: "general: {\n\tevent_loops = \(eventLoops)\n")
            }
            try text.write(toFile: "\(folder)/\(file)", atomically: true, encoding: .utf8)
        }
        let server = try ServerProcess.launch(
            name: "janus", executable: binary,
            arguments: ["-F", folder, "-L", "\(logDirectory)/janus.log", "-N", "-o", "-D"],
            log: "\(logDirectory)/janus.out")
        try await waitForPort(wsPort, process: server)
        return (server, "ws://127.0.0.1:\(wsPort)/")
    }
}

import ArgumentParser
import Foundation
import Logging
import ParleyServer
import Signaling
import UnixSignals

/// A full Parley server, as `parley` starts it, plus test hooks on the media-plane seam that must never be in the
/// production binary: synthetic sources announced in rooms, and recording sinks on participants' streams.
@main
struct Testbed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-testbed",
        abstract: "Parley with test hooks on the media-plane seam (e2e tests only).")

    // The flags of `parley` (Sources/parley/Parley.swift) that the e2e runners pass.
    @Option var host = "0.0.0.0"
    @Option var port = 8080
    @Option var mediaPort = 40000
    @Option(name: .customLong("announced-ip")) var announcedIPs: [String] = []
    @Option var webRoot = "Web"
    @Option var logLevel = "info"

    // The hooks can also come from the environment (comma-separated lists), so a runner that starts the server
    // with parley's own flags (e2e/aiortc_room.py) can start the testbed too.
    @Option(help: ArgumentHelp(
        "ROOM/NAME=PATH.ivf: NAME joins ROOM and feeds the VP8 file (looped) into a stream; it is announced once someone else is in ROOM. (env: PARLEY_TESTBED_SYNTHETIC)",
        valueName: "spec"))
    var synthetic: [String] = list("PARLEY_TESTBED_SYNTHETIC")

    @Option(help: ArgumentHelp(
        "ROOM/NAME=PATH.jsonl: record the packets of NAME's stream in ROOM as JSON lines. (env: PARLEY_TESTBED_SINK)",
        valueName: "spec"))
    var sink: [String] = list("PARLEY_TESTBED_SINK")

    @Option(help: ArgumentHelp(
        "ROOM/NAME=PATH.jsonl: as --sink, but attaches 3 s after the stream appears, past the keyframe cache's 2 s, so its first keyframe must be asked of the publisher. (env: PARLEY_TESTBED_LATE_SINK)",
        valueName: "spec"))
    var lateSink: [String] = list("PARLEY_TESTBED_LATE_SINK")

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        for spec in synthetic + sink + lateSink where Spec(spec) == nil { throw ValidationError("'\(spec)' is not ROOM/NAME=PATH") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        ParleyServer.bootstrapLogging(level: level)
        let server = try ParleyServer(configuration: ParleyConfiguration(
            host: host, port: port, webRoot: webRoot, logLevel: level, mediaPort: mediaPort, announcedIPs: announcedIPs))
        let sources = try synthetic.map { try SyntheticPublisher(spec: Spec($0)!, server: server) }
        let sinks = sink.map { PacketRecorder(spec: Spec($0)!, server: server) }
            + lateSink.map { PacketRecorder(spec: Spec($0)!, server: server, delay: .seconds(3)) }

        try await withThrowingTaskGroup(of: Bool.self) { tasks in  // true: the server ended
            tasks.addTask { try await server.run(); return true }
            // Our hooks need the media ports open, which `run` does first (unless it fails: then give up).
            for _ in 0..<500 where server.media.ports.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            guard !server.media.ports.isEmpty else { throw TestbedError("the media ports did not open") }
            for source in sources { tasks.addTask { try await source.run(); return false } }
            for sink in sinks { tasks.addTask { try await sink.run(); return false } }
            // The server shuts down on SIGTERM by itself (and may exit during its grace period): write what we
            // have first.
            tasks.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    for sink in sinks { sink.flush(final: true) }
                    for source in sources { source.report() }
                }
                return false
            }
            while let serverEnded = try await tasks.next(), !serverEnded {}
            tasks.cancelAll()
        }
        for sink in sinks { sink.flush(final: true) }
    }
}

private func list(_ name: String) -> [String] {
    (ProcessInfo.processInfo.environment[name] ?? "").split(separator: ",").map(String.init)
}

/// `ROOM/NAME=PATH`.
struct Spec: Sendable {
    let room: String
    let name: String
    let path: String

    init?(_ text: String) {
        guard let equals = text.firstIndex(of: "="), let slash = text[..<equals].firstIndex(of: "/") else { return nil }
        room = String(text[..<slash])
        name = String(text[text.index(after: slash)..<equals])
        path = String(text[text.index(after: equals)...])
        if room.isEmpty || name.isEmpty || path.isEmpty { return nil }
    }

    var label: String { "\(room)/\(name)" }
}

struct TestbedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One line to stdout, unbuffered: the tests read it from a file while we run.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A hub session for a participant that is not a socket: it has no one to tell about room events.
struct DroppingSink: SessionSink {
    func deliver(_ event: RoomEvent) {}
}

// parley-bench: a WebRTC load generator. Synthetic peers (ICE, DTLS, SRTP, RTP/RTCP on Parley's own modules)
// publish and play through Parley's signaling, or Janus's VideoRoom, on 127.0.0.1 only; the table compares them.
// Run by `make bench` (and a few seconds of it by `make test-bench-smoke`); see docs/BENCHMARKS.md.
import ArgumentParser
import Foundation
import SRTP

@main
struct ParleyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-bench",
        abstract: "WebRTC load generator: Parley side by side with Janus on 127.0.0.1.")

    @Argument(help: "Scenario: fanout (publishers → N subscribers), rooms (R rooms of K, everyone publishes and plays), churn (subscribers replaced continuously).")
    var scenario: String = "fanout"

    @Option(help: "Servers to measure, comma-separated: parley, janus (one loop thread per handle, as shipped), janus@N (event_loops = N).")
    var servers: String = "parley"

    @Option(help: "Parley binary to start on 127.0.0.1.")
    var parleyBin: String = ".build/release/parley"

    @Option(help: "An already running Parley's WebSocket URL (ws://127.0.0.1:PORT/ws) instead of starting one (no CPU/RSS then, unless --parley-pid).")
    var parleyURL: String?

    @Option(help: "The pid of the Parley at --parley-url, for CPU and RSS.")
    var parleyPid: Int32?

    @Option(parsing: .singleValue, help: "Extra argument for the Parley the bench starts (repeat).")
    var parleyArg: [String] = []

    @Option(help: "Janus binary.")
    var janusBin: String = "/usr/bin/janus"

    @Option(help: "Janus configuration folder (copied; @WS_PORT@ replaced).")
    var janusConfig: String = "bench/janus"

    @Option(help: "Janus WebSocket API port.")
    var janusPort: Int = 8188

    @Option(help: "Publishers (fanout, churn).")
    var publishers: Int = 1

    @Option(help: "Subscribers (fanout; churn: how many are live at once).")
    var subscribers: Int = 10

    @Option(help: "Rooms (rooms scenario).")
    var rooms: Int = 4

    @Option(help: "Participants per room (rooms scenario; each publishes and plays the others).")
    var roomSize: Int = 4

    @Option(help: "Churn: subscribers replaced per second.")
    var churnRate: Double = 2

    @Option(help: "Video bit rate per publisher, kbit/s.")
    var videoKbps: Double = 1200

    @Option(help: "A load sweep: video rates (kbit/s, comma-separated) measured one after another on the same peers; stops past saturation.")
    var steps: String?

    @Flag(help: "No audio track.")
    var noAudio = false

    @Option(help: "Seconds between periodic keyframes (0: only the first and on PLI/FIR).")
    var keyframeInterval: Double = 3

    @Option(help: "SRTP profiles the peers offer: both (AEAD_AES_128_GCM first, as browsers), gcm, cm.")
    var srtp: String = "both"

    @Option(help: "Seconds of traffic before the measurement window.")
    var warmup: Double = 2

    @Option(help: "Seconds of the measurement window.")
    var duration: Double = 10

    @Option(help: "Generator threads (each an epoll loop over its peers' sockets).")
    var threads: Int = 1

    @Flag(help: "Give the publishers a generator thread of their own (paced like a browser's, never behind a receive batch).")
    var publisherThread = false

    @Option(help: "Subscribers connecting at once.")
    var concurrency: Int = 8

    @Option(help: "Seconds between subscriber joins (0: as fast as --concurrency allows).")
    var subscribeInterval: Double = 0

    @Option(help: "Folder for server logs.")
    var logDir: String = "/tmp/parley-bench"

    @Flag(help: "Print the results as JSON on stdout (the table goes to stderr).")
    var json = false

    @Flag(help: "Fail (exit 1) unless every subscriber received every packet with no loss, duplicate or failure (smoke test).")
    var assertNoLoss = false

    @Option(help: "With --assert-no-loss: the highest first-keyframe time allowed, ms.")
    var maxFirstKeyframeMs: Double = 1000

    @Flag(help: "Less progress on stderr.")
    var quiet = false

    @Option(help: "Fanout, Parley: this many more publishers, recorded by the server (record: true), in a room of their own.")
    var recordedPublishers = 0

    @Option(help: "Video bit rate of each recorded publisher, kbit/s.")
    var recordedKbps = 1500.0

    func options() throws -> BenchOptions {
        guard let s = Scenario(rawValue: scenario) else { throw ValidationError("unknown scenario \(scenario)") }
        var o = BenchOptions()
        o.scenario = s
        o.publishers = publishers
        o.subscribers = subscribers
        o.rooms = rooms
        o.roomSize = roomSize
        o.churnRate = churnRate
        o.traffic.videoKbps = videoKbps
        o.traffic.audio = !noAudio
        o.traffic.keyframeInterval = keyframeInterval > 0 ? keyframeInterval : 1e9
        o.warmup = warmup
        o.duration = duration
        o.threads = threads
        o.publisherThread = publisherThread
        o.connectConcurrency = concurrency
        o.subscribeInterval = subscribeInterval
        o.quiet = quiet
        o.recordedPublishers = recordedPublishers
        o.recordedTraffic = o.traffic
        o.recordedTraffic.videoKbps = recordedKbps
        o.steps = steps?.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? []
        return o
    }

    func run() async throws {
        let options = try options()
        let profiles: [SRTPProfile] = switch srtp {
        case "gcm": [.aeadAes128Gcm]
        case "cm": [.aes128CmHmacSha1_80]
        default: [.aeadAes128Gcm, .aes128CmHmacSha1_80]
        }
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        let identity = try PeerIdentity(profiles: profiles)
        let machine = machineDescription()
        var results: [RunResult] = []
        for name in servers.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pool = WorkerPool(threads: options.threads, publisherThread: options.publisherThread)
            defer { pool.stop() }
            var process: ServerProcess?
            let server: any BenchServer
            switch name {
            case "parley":
                if let parleyURL {
                    guard parleyURL.hasPrefix("ws://127.0.0.1") || parleyURL.hasPrefix("ws://localhost") else {
                        throw ValidationError("benchmarks run on loopback only: --parley-url must be ws://127.0.0.1…")
                    }
                    process = parleyPid.map { ServerProcess(name: "parley", process: nil, pid: $0, logPath: nil) }
                    server = ParleyServerDriver(url: parleyURL)
                } else {
                    // Churn overlaps leaving and joining subscribers (up to 32 joins in flight).
                    let participants = options.subscribers + options.publishers + options.roomSize + 16
                        + (options.scenario == .churn ? 64 : 0)
                    let (p, url) = try await ParleyLaunch(binary: parleyBin, maxParticipants: participants,
                                                          extraArguments: parleyArg).start(logDirectory: logDir)
                    process = p
                    server = ParleyServerDriver(url: url)
                }
            case let janus where janus == "janus" || janus.hasPrefix("janus@"):
                var janusLaunch = JanusLaunch(binary: janusBin, configDirectory: janusConfig, wsPort: janusPort)
                if janus != "janus" {
                    guard let loops = Int(janus.dropFirst("janus@".count)), loops > 0 else {
                        throw ValidationError("janus@N: N is Janus's event_loops, at least 1")
                    }
                    janusLaunch.eventLoops = loops
                }
                let (p, url) = try await janusLaunch.start(logDirectory: logDir)
                process = p
                server = JanusServerDriver(url: url, peerAddress: janusLaunch.address, name: janus)
            default:
                throw ValidationError("unknown server \(name)")
            }
            do {
                let result = try await ScenarioRunner(options: options, server: server, process: process, pool: pool,
                                                      identity: identity).run()
                results.append(contentsOf: result)
            } catch {
                process?.stop()
                throw error
            }
            if process?.process != nil { process?.stop() }
            try await Task.sleep(for: .milliseconds(300))
        }
        let table = Table.render(results)
        let header = "machine: \(machine.cpu), \(machine.cores) cores\n"
        if json {
            FileHandle.standardError.write(Data((header + table).utf8))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Output: Codable {
                var machine: String
                var cores: Int
                var results: [RunResult]
            }
            let data = try encoder.encode(Output(machine: machine.cpu, cores: machine.cores, results: results))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(header + table, terminator: "")
        }
        if assertNoLoss {
            var problems: [String] = []
            for r in results {
                if !r.failures.isEmpty { problems.append("\(r.server): \(r.failures.count) peers failed: \(r.failures[0])") }
                if r.expectedPackets == 0 { problems.append("\(r.server): no packets measured") }
                if r.receivedPackets != r.expectedPackets {
                    problems.append("\(r.server): lost \(r.expectedPackets - r.receivedPackets) of \(r.expectedPackets) packets")
                }
                if r.duplicates > 0 { problems.append("\(r.server): \(r.duplicates) duplicates") }
                if r.silentSubscribers > 0 { problems.append("\(r.server): \(r.silentSubscribers) silent tracks") }
                if r.keyframesMeasured < r.subscribers { problems.append("\(r.server): \(r.subscribers - r.keyframesMeasured) subscribers saw no keyframe") }
                if let k = r.firstKeyframeMaxMs, k > maxFirstKeyframeMs { problems.append("\(r.server): first keyframe after \(k) ms") }
            }
            if !problems.isEmpty {
                FileHandle.standardError.write(Data(("FAILED: " + problems.joined(separator: "; ") + "\n").utf8))
                throw ExitCode(1)
            }
            FileHandle.standardError.write(Data("smoke: OK (no loss, no duplicates, every subscriber saw a keyframe)\n".utf8))
        }
    }
}


// The scenarios: fanout (publishers → N subscribers in one room), rooms (R rooms of K participants, everyone
// publishing and playing every other), churn (subscribers joining and leaving continuously while media flows).
import Foundation
import SRTP
import Synchronization

enum Scenario: String, Sendable, CaseIterable, Codable {
    case fanout, rooms, churn
}

struct BenchOptions: Sendable {
    var scenario: Scenario = .fanout
    var publishers = 1
    var subscribers = 10
    var rooms = 4
    var roomSize = 4
    /// Churn: subscribers replaced per second.
    var churnRate = 2.0
    var traffic = TrafficProfile()
    var warmup = 2.0
    var duration = 10.0
    var threads = 1
    var publisherThread = false
    var connectConcurrency = 8
    /// Seconds between subscriber joins (0: as fast as `connectConcurrency` allows).
    var subscribeInterval = 0.0
    var quiet = false
    /// Video rates (kbit/s) to measure one after the other on the same peers (a load sweep).
    var steps: [Double] = []
    /// Fanout: publishers recorded by the server (`record: true`) in a room of their own, with no subscribers:
    /// the load of recordings beside the forwarding measured.
    var recordedPublishers = 0
    var recordedTraffic = TrafficProfile()
}

/// What one subscriber measured, read on its worker thread.
struct SubscriberSummary: Sendable {
    struct Track: Sendable {
        var first: UInt64?
        var highest: UInt64
        var unique: Int
        var duplicates: Int
        var outOfOrder: Int
    }
    var publisherID: Int
    var connectedAt: UInt64
    var alive: Bool
    var firstPacket: Double?    // ms after connect
    var firstKeyframe: Double?  // ms after connect
    var firstKeyframeFromSubscribe: Double?  // ms after the subscribe (play) request was sent
    var keyframeFromCache: Bool
    var video: Track
    var audio: Track
    var measuredPackets: Int
    var measuredBytes: Int
    var catchUp: Int
    var foreign: Int
    var undecryptable: Int
    var profile: SRTPProfile?

    init(_ peer: Peer) {
        let s = peer.subscriber!
        publisherID = s.publisherID
        connectedAt = peer.connectedAt
        alive = peer.isConnected
        firstPacket = s.firstPacketAt.map { Double($0 &- peer.connectedAt) / 1e6 }
        firstKeyframe = s.firstKeyframeAt.map { Double($0 &- peer.connectedAt) / 1e6 }
        firstKeyframeFromSubscribe = s.subscribedAt > 0 ? s.firstKeyframeAt.map { Double($0 &- s.subscribedAt) / 1e6 } : nil
        keyframeFromCache = s.firstKeyframeCached
        func track(_ t: TrackReceiveStats) -> Track {
            Track(first: t.first, highest: t.highest, unique: t.unique, duplicates: t.duplicates, outOfOrder: t.outOfOrder)
        }
        video = track(s.video)
        audio = track(s.audio)
        measuredPackets = s.measuredPackets
        measuredBytes = s.measuredBytes
        catchUp = s.catchUpPackets
        foreign = s.foreign
        undecryptable = s.undecryptable
        profile = peer.srtpProfile
    }
}

struct PublisherSummary: Sendable {
    var id: Int
    var alive: Bool
    var videoWindow: (first: UInt64, last: UInt64)?
    var audioWindow: (first: UInt64, last: UInt64)?
    var keyframes: Int
    var keyframeRequests: Int
    var nacks: Int
    var packetsSent: Int
    /// Datagrams the publisher's socket refused (a full send buffer): generator-side loss.
    var sendErrors: Int
    var profile: SRTPProfile?

    init(_ peer: Peer) {
        let p = peer.publisher!
        profile = peer.srtpProfile
        sendErrors = peer.socket.sendErrors
        id = peer.id
        alive = peer.isConnected
        videoWindow = p.videoWindow
        audioWindow = p.audioWindow
        keyframes = p.keyframes
        keyframeRequests = p.plis + p.firs
        nacks = p.nacks
        packetsSent = p.packetsSent
    }
}

/// Everything the bench holds for one server run.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextID = 0
    private(set) var publishers: [Peer] = []
    private(set) var subscribers: [(peer: Peer, participant: any BenchParticipant)] = []
    private(set) var participants: [any BenchParticipant] = []
    private(set) var departed: [SubscriberSummary] = []
    private(set) var setupTimes: [Double] = []  // ms from the play request to DTLS done
    private(set) var failures: [String] = []
    private(set) var streams: [(stream: String, publisherID: Int)] = []
    /// The measurement window open now (0: none), for subscribers joining during it.
    var window: UInt8 = 0
    /// Server RSS once the publishers are up and before any subscriber: the base of the per-subscriber figure.
    var rssBeforeSubscribers: Int?

    func addStream(_ stream: String, publisherID: Int) { lock.withLock { streams.append((stream, publisherID)) } }
    func newID() -> Int { lock.withLock { nextID += 1; return nextID } }
    func addPublisher(_ p: Peer, _ participant: any BenchParticipant) {
        lock.withLock { publishers.append(p); participants.append(participant) }
    }
    func addSubscriber(_ p: Peer, _ participant: any BenchParticipant, setup: Double) {
        lock.withLock { subscribers.append((p, participant)); setupTimes.append(setup) }
    }
    func addParticipant(_ participant: any BenchParticipant) { lock.withLock { participants.append(participant) } }
    func fail(_ message: String) { lock.withLock { failures.append(message) } }
    func depart(_ summary: SubscriberSummary) { lock.withLock { departed.append(summary) } }
    /// Takes the oldest subscriber out of the live set (churn).
    func takeOldestSubscriber() -> (peer: Peer, participant: any BenchParticipant)? {
        lock.withLock { subscribers.isEmpty ? nil : subscribers.removeFirst() }
    }
    var subscriberCount: Int { lock.withLock { subscribers.count } }
}

/// Runs one scenario against one server and measures it.
struct ScenarioRunner {
    let options: BenchOptions
    let server: any BenchServer
    let process: ServerProcess?
    let pool: WorkerPool
    let identity: PeerIdentity

    func log(_ s: String) {
        if !options.quiet { FileHandle.standardError.write(Data("[\(server.name)] \(s)\n".utf8)) }
    }

    /// Sets the scenario up, then measures one window per step (video rates; one step without `steps`).
    func run() async throws -> [RunResult] {
        let state = RunState()
        let baseline = process?.sample()
        let setupStart = Date()
        switch options.scenario {
        case .fanout, .churn: try await setUpFanout(state)
        case .rooms: try await setUpRooms(state)
        }
        let setupSeconds = Date().timeIntervalSince(setupStart)
        log("set up \(state.publishers.count) publishers, \(state.subscriberCount) subscribers in \(String(format: "%.1f", setupSeconds)) s"
            + (state.failures.isEmpty ? "" : "; \(state.failures.count) failed: \(state.failures.first!)"))
        let afterSetup = process?.sample()
        var results: [RunResult] = []
        let steps = options.steps.isEmpty || options.scenario == .churn ? [options.traffic.videoKbps] : options.steps
        let forwarded = Set(state.streams.map(\.publisherID))  // not the recorded publishers: their rate is their own
        for (index, kbps) in steps.enumerated() {
            _ = await pool.each { w in
                for p in w.allPeers where p.role == .publisher && (options.recordedPublishers == 0 || forwarded.contains(p.id)) { p.publisher?.profile.videoKbps = kbps }
                return 0
            }
            try await Task.sleep(for: .seconds(options.warmup))
            var stepOptions = options
            stepOptions.traffic.videoKbps = kbps
            let result = try await measure(state, window: UInt8(index % 127 + 1), options: stepOptions, baseline: baseline,
                                           afterSetup: afterSetup, setupSeconds: setupSeconds)
            log(String(format: "%.0f kbit/s: egress %.1f Mbit/s, server %.3f cores, loss %.4f %%, p99 %.3f ms",
                       kbps, result.egressMbps, result.serverCPUCores ?? .nan, result.lossPercent, result.latencyP99Ms))
            results.append(result)
            if steps.count > 1, result.lossPercent > 5 || result.latencyP99Ms > 500 { break }  // far past saturation
        }

        // Tear down: participants leave, peers go.
        for p in state.participants { await p.leave() }
        _ = await pool.each { w in
            for p in w.allPeers {
                p.close(now: clockNanos())
                w.remove(p)
            }
            return 0
        }
        return results
    }

    /// One measurement window: publishers stamp its id into what they send; subscribers count only that.
    private func measure(_ state: RunState, window id: UInt8, options: BenchOptions, baseline: ProcessSample?,
                         afterSetup: ProcessSample?, setupSeconds: Double) async throws -> RunResult {
        let rssSamples = Mutex<[(Double, Int)]>([])
        let windowStart = clockNanos()
        state.window = id
        _ = await pool.each { w in
            w.latency = LatencyHistogram()
            w.latencyEndToEnd = LatencyHistogram()
            for p in w.allPeers {
                p.subscriber?.setWindow(id)
                p.publisher?.setWindow(id)
            }
            return 0
        }
        let serverStart = process?.sample()
        let selfStart = selfCPUSeconds()
        let udpStart = UDPCounters.read()
        let sampler = Task { [process] in
            while !Task.isCancelled {
                if let s = process?.sample() {
                    rssSamples.withLock { $0.append((Double(s.time &- windowStart) / 1e9, s.rssBytes)) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        var churned = 0
        let departedBefore = state.departed.count
        if options.scenario == .churn {
            churned = try await churn(state, until: Date().addingTimeInterval(options.duration))
        } else {
            try await Task.sleep(for: .seconds(options.duration))
        }
        _ = await pool.each { w in
            for p in w.allPeers { p.publisher?.setWindow(0) }
            return 0
        }
        let windowEnd = clockNanos()
        let serverEnd = process?.sample()
        let selfEnd = selfCPUSeconds()
        let udpEnd = UDPCounters.read()
        sampler.cancel()
        try await Task.sleep(for: .milliseconds(500))  // packets sent inside the window still arrive

        let publisherSummaries = await pool.each { w in
            w.allPeers.filter { $0.role == .publisher }.map(PublisherSummary.init)
        }.flatMap { $0 }
        let live = await pool.each { w in
            w.allPeers.filter { $0.role == .subscriber && $0.connectedAt > 0 }.map(SubscriberSummary.init)
        }.flatMap { $0 }
        var latency = LatencyHistogram()
        for h in await pool.each({ $0.latency }) { latency.merge(h) }
        var endToEnd = LatencyHistogram()
        for h in await pool.each({ $0.latencyEndToEnd }) { endToEnd.merge(h) }

        let window = Double(windowEnd - windowStart) / 1e9
        return RunResult.make(
            server: server.name, options: options, window: window, windowStart: windowStart, setupSeconds: setupSeconds,
            publishers: publisherSummaries, subscribers: live + state.departed.dropFirst(departedBefore), latency: latency,
            endToEnd: endToEnd,
            baseline: baseline, afterSetup: afterSetup, serverStart: serverStart, serverEnd: serverEnd,
            generatorCores: (selfEnd - selfStart) / window,
            udpErrors: udpEnd.receiveBufferErrors - udpStart.receiveBufferErrors,
            setupTimes: state.setupTimes, failures: state.failures, churned: churned,
            rssSamples: rssSamples.withLock { $0 }, liveSubscribers: live.count,
            rssBeforeSubscribers: state.rssBeforeSubscribers)
    }

    // MARK: set-ups

    private func newPeer(_ role: Peer.Role, _ state: RunState, traffic: TrafficProfile? = nil) throws -> Peer {
        try Peer(id: state.newID(), role: role, worker: pool.next(publisher: role == .publisher), identity: identity,
                 traffic: traffic ?? options.traffic, address: server.peerAddress)
    }

    /// Publishers and subscribers in one room; subscriber i plays publisher i mod P.
    private func setUpFanout(_ state: RunState) async throws {
        var streams: [(stream: String, publisherID: Int)] = []
        let participantServer = server
        for p in 0..<max(1, options.publishers) {
            let participant = try await participantServer.join(room: "fanout", as: "pub\(p)")
            let peer = try newPeer(.publisher, state)
            let stream = try await participant.publish(peer, profile: options.traffic, record: false)
            state.addPublisher(peer, participant)
            state.addStream(stream, publisherID: peer.id)
            streams.append((stream, peer.id))
        }
        for r in 0..<options.recordedPublishers {
            let participant = try await participantServer.join(room: "recorded", as: "rec\(r)")
            let peer = try newPeer(.publisher, state, traffic: options.recordedTraffic)
            _ = try await participant.publish(peer, profile: options.recordedTraffic, record: true)
            state.addPublisher(peer, participant)
        }
        try await Task.sleep(for: .milliseconds(300))  // the first keyframe is on its way
        state.rssBeforeSubscribers = process?.sample()?.rssBytes
        try await addSubscribers(state, count: options.subscribers, streams: streams, room: "fanout", namePrefix: "sub")
    }

    private func addSubscribers(_ state: RunState, count: Int, streams: [(stream: String, publisherID: Int)],
                                room: String, namePrefix: String, offset: Int = 0) async throws {
        let concurrency = options.subscribeInterval > 0 ? 1 : max(1, options.connectConcurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch(_ i: Int) {
                let (stream, publisherID) = streams[(i + offset) % streams.count]
                group.addTask {
                    do {
                        try await subscribe(state, room: room, name: "\(namePrefix)\(i + offset)", stream: stream, publisherID: publisherID)
                    } catch {
                        state.fail("\(namePrefix)\(i + offset): \(error)")
                    }
                    if options.subscribeInterval > 0 { try await Task.sleep(for: .seconds(options.subscribeInterval)) }
                }
            }
            while next < min(concurrency, count) { launch(next); next += 1 }
            while try await group.next() != nil {
                if next < count { launch(next); next += 1 }
            }
        }
    }

    @discardableResult
    private func subscribe(_ state: RunState, room: String, name: String, stream: String, publisherID: Int) async throws -> Peer {
        let participant = try await server.join(room: room, as: name)
        let peer = try newPeer(.subscriber, state)
        peer.subscriber?.publisherID = publisherID
        let started = clockNanos()
        peer.subscriber?.subscribedAt = started
        peer.subscriber?.setWindow(state.window)  // not on its worker yet: set before it is handed over
        do {
            try await participant.play(stream, on: peer)
        } catch {
            await participant.leave()
            throw error
        }
        state.addSubscriber(peer, participant, setup: Double(peer.connectedAt &- started) / 1e6)
        return peer
    }

    /// R rooms of K: everyone publishes, then plays each of the others on its own peer connection.
    private func setUpRooms(_ state: RunState) async throws {
        let k = max(2, options.roomSize)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in 0..<options.rooms {
                group.addTask {
                    let room = "room\(r)"
                    var members: [(participant: any BenchParticipant, stream: String, id: Int)] = []
                    for m in 0..<k {
                        let participant = try await server.join(room: room, as: "p\(m)")
                        let peer = try newPeer(.publisher, state)
                        let stream = try await participant.publish(peer, profile: options.traffic, record: false)
                        state.addPublisher(peer, participant)
                        members.append((participant, stream, peer.id))
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    for viewer in members {
                        for source in members where source.id != viewer.id {
                            let peer = try newPeer(.subscriber, state)
                            peer.subscriber?.publisherID = source.id
                            let started = clockNanos()
                            peer.subscriber?.subscribedAt = started
                            do {
                                try await viewer.participant.play(source.stream, on: peer)
                                state.addSubscriber(peer, viewer.participant, setup: Double(peer.connectedAt &- started) / 1e6)
                            } catch {
                                state.fail("room\(r): \(error)")
                            }
                        }
                    }
                }
                // A few rooms at a time, so the servers' handshakes do not time out.
                if r % max(1, options.connectConcurrency / 2) == max(1, options.connectConcurrency / 2) - 1 {
                    try await group.next()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Replaces the oldest subscriber with a new one `churnRate` times a second until `deadline`.
    private func churn(_ state: RunState, until deadline: Date) async throws -> Int {
        let streams = state.streams
        var count = 0
        let interval = 1 / max(0.01, options.churnRate)
        var nextAt = Date()
        var inFlight: [Task<Void, Never>] = []
        while Date() < deadline {
            // One leaves and one joins, concurrently with the next ones (a slow join must not slow the churn).
            let i = options.subscribers + count
            let (stream, pid) = streams[i % streams.count]
            let leaving = state.takeOldestSubscriber()
            inFlight.append(Task {
                if let (peer, participant) = leaving {
                    var summary = await peer.worker.run { SubscriberSummary(peer) }
                    summary.alive = false  // its expected packets end with what it last received
                    state.depart(summary)
                    await participant.leave()
                    await peer.worker.run {
                        peer.close(now: clockNanos())
                        peer.worker.remove(peer)
                    }
                }
                do {
                    try await subscribe(state, room: "fanout", name: "churn\(i)", stream: stream, publisherID: pid)
                } catch {
                    state.fail("churn\(i): \(error)")
                }
            })
            if inFlight.count >= 32 {
                for t in inFlight { await t.value }
                inFlight.removeAll()
            }
            count += 1
            nextAt = nextAt.addingTimeInterval(interval)
            let wait = nextAt.timeIntervalSinceNow
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        }
        for t in inFlight { await t.value }
        return count
    }
}

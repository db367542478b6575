import Logging
import NIOCore
import NIOPosix
import SFU
import Synchronization
import VideoTranscode

/// A stream's VP8 video re-encoded as H.264, for RTMP: what its players' and pushes' items carry instead of RTP.
struct TranscodedVideo: Sendable {
    let nalUnits: [ByteBuffer]
    let isKeyframe: Bool
    /// On the source's 90 kHz clock (to the millisecond).
    let rtpTimestamp: UInt32
    /// The parameter sets a keyframe carries.
    let sps: [UInt8]?
    let pps: [UInt8]?
}

/// VP8 → H.264 once per stream, shared by all its RTMP players and pushes: the first subscriber starts it (a sink
/// on the stream's video, a task that decodes and encodes off the media loops, on the blocking thread pool), the
/// last one ends it. Subscribing and leaving are control-plane calls, hence the actor.
actor VideoTranscodes {
    private var running: [String: SharedTranscode] = [:]
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Adds `continuation` to stream `id`'s transcode (video track `track` of the stream), starting it if needed;
    /// the subscriber's first picture is a keyframe made for it.
    func subscribe(_ id: String, track: Int, engine: MediaEngine, into continuation: AsyncStream<PlayItem>.Continuation) async throws -> TranscodeSubscription {
        if let existing = running[id], let subscriber = existing.add(continuation) {
            return TranscodeSubscription(transcodes: self, stream: id, shared: existing, subscriber: subscriber)
        }
        // Starting one awaits: a second subscriber meanwhile waits for the same start, not a second transcode.
        let starting: Task<SharedTranscode, any Error>
        if let pending = startingTranscodes[id] {
            starting = pending
        } else {
            let logger = self.logger
            starting = Task { try await SharedTranscode.start(id, track: track, engine: engine, logger: logger) }
            startingTranscodes[id] = starting
        }
        let shared: SharedTranscode
        do {
            shared = try await starting.value
        } catch {
            if startingTranscodes[id] == starting { startingTranscodes[id] = nil }
            throw error
        }
        if startingTranscodes[id] == starting {
            startingTranscodes[id] = nil
            running[id] = shared
        }
        // Nil when it is over already (the stream ended, or no transcoder could be made): refused.
        guard let subscriber = shared.add(continuation) else { throw TranscodeUnavailable() }
        return TranscodeSubscription(transcodes: self, stream: id, shared: shared, subscriber: subscriber)
    }

    struct TranscodeUnavailable: Error {}
    private var startingTranscodes: [String: Task<SharedTranscode, any Error>] = [:]

    func leave(_ id: String, shared: SharedTranscode, subscriber: Int) async {
        let last = shared.remove(subscriber)
        // Over: its last subscriber left, or its stream ended (then the subscribers leave after it).
        if shared.isOver, running[id] === shared { running[id] = nil }
        // The last one: the transcode ends (its sink detached, its task sees the end).
        if last { await shared.stop() }
    }

    var count: Int { running.values.filter { !$0.isOver }.count }
}

/// One subscriber's hold on a shared transcode.
struct TranscodeSubscription: Sendable {
    let transcodes: VideoTranscodes
    let stream: String
    let shared: SharedTranscode
    let subscriber: Int

    /// The next encoded picture is a keyframe (cheap: the encoder makes one; the publisher is not asked).
    func requestKeyframe() { shared.forceKeyframe() }

    func cancel() async { await transcodes.leave(stream, shared: shared, subscriber: subscriber) }
}

final class SharedTranscode: Sendable {
    private struct State {
        var subscribers: [Int: AsyncStream<PlayItem>.Continuation] = [:]
        var next = 0
        var forceKeyframe = true
        var over = false
    }
    private let state = Mutex(State())
    private let sink: MediaSinkHandle

    private init(sink: MediaSinkHandle) { self.sink = sink }

    static func start(_ id: String, track: Int, engine: MediaEngine, logger: Logger) async throws -> SharedTranscode {
        var rng = SystemRandomNumberGenerator()
        let (items, continuation) = AsyncStream.makeStream(of: PlayItem.self, bufferingPolicy: .bufferingOldest(4096))
        let sink = try await engine.attach(to: id, tracks: [ConsumerParameters(
            producerIndex: track, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng), payloadType: 96)]) { _ in
            RTMPPlaySink(continuation)
        }
        let shared = SharedTranscode(sink: sink)
        // Ends with its sink: when the stream ends, or when the last subscriber has gone and detached it.
        Task { await shared.run(items, stream: id, logger: logger) }
        return shared
    }

    var isOver: Bool { state.withLock { $0.over } }

    /// Adds a subscriber; nil once the transcode is over (its stream ended, or it could not start).
    func add(_ continuation: AsyncStream<PlayItem>.Continuation) -> Int? {
        state.withLock { s in
            guard !s.over else { return nil }
            s.next += 1
            s.subscribers[s.next] = continuation
            s.forceKeyframe = true
            return s.next
        }
    }

    /// Removes a subscriber (its items end); true when it was the last one (not when it had gone already).
    func remove(_ subscriber: Int) -> Bool {
        state.withLock { s in
            guard let continuation = s.subscribers.removeValue(forKey: subscriber) else { return false }
            continuation.finish()
            guard s.subscribers.isEmpty else { return false }
            s.over = true
            return true
        }
    }

    func forceKeyframe() { state.withLock { $0.forceKeyframe = true } }

    func stop() async { await sink.detach() }

    private func run(_ items: AsyncStream<PlayItem>, stream: String, logger: Logger) async {
        guard let transcoder = try? H264Transcoder(source: .vp8, bitrate: 2_000_000, keyframeInterval: 60) else {
            logger.error("VP8 → H.264 transcoder unavailable (libavcodec without libx264?)")
            end()
            await sink.detach()
            return
        }
        let box = TranscoderBox(transcoder)
        var depacketizer = VP8Depacketizer()
        var lastRequest = ContinuousClock.now - .seconds(10)
        var clock: (last: UInt32, ms: Int64)?
        logger.info("VP8 → H.264 transcode started", metadata: ["stream": "\(stream)"])
        for await item in items {
            guard case .packet(_, let sequence, let timestamp, let marker, let payload) = item else { break }
            guard let frame = depacketizer.push(payload, sequence: sequence, timestamp: timestamp, marker: marker) else {
                if depacketizer.needsKeyframe, ContinuousClock.now - lastRequest > .seconds(1) {
                    lastRequest = .now
                    sink.execute { $0.requestKeyframe(track: 0) }
                }
                continue
            }
            // The RTP clock as increasing milliseconds: the encoder's rate control reads them.
            let ms = clock.map { $0.ms + Int64(Int32(bitPattern: frame.rtpTimestamp &- $0.last)) / 90 } ?? 0
            clock = (frame.rtpTimestamp, max(ms, (clock?.ms ?? -1) + 1))
            let pts = clock?.ms ?? 0
            let force = state.withLock { s in
                defer { s.forceKeyframe = false }
                return s.forceKeyframe
            }
            let outputs = (try? await NIOThreadPool.singleton.runIfActive {
                box.transcoder.transcode(frame.bytes, pts: pts, forceKeyframe: force)
            }) ?? []
            for output in outputs {
                let video = TranscodedVideo(nalUnits: output.nalUnits, isKeyframe: output.isKeyframe,
                                            rtpTimestamp: UInt32(truncatingIfNeeded: output.pts * 90), sps: output.sps, pps: output.pps)
                for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(.transcoded(video)) }
            }
        }
        end()
        logger.info("VP8 → H.264 transcode ended", metadata: ["stream": "\(stream)"])
    }

    /// The stream ended (or the transcode could not start): every subscriber is told.
    private func end() {
        let subscribers = state.withLock { s in
            s.over = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for s in subscribers {
            s.yield(.ended)
            s.finish()
        }
    }
}

/// The transcoder, used by one task at a time (its calls are awaited in turn) on the thread pool.
private final class TranscoderBox: @unchecked Sendable {
    let transcoder: H264Transcoder
    init(_ transcoder: H264Transcoder) { self.transcoder = transcoder }
}

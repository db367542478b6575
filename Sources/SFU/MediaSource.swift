import NIOCore
import RTP

/// What feeds a published stream when it is not a WebRTC publisher: an RTMP encoder's media repackaged as RTP,
/// a relay from another node, a test. It pushes packets into its `MediaFeed`; the feed calls it back, on the
/// stream's media loop, when viewers need something of it.
public protocol MediaSource: AnyObject {
    /// A viewer needs a keyframe of `track` (requests are paced: at most one per 0.5 s per track). Return false
    /// when the source cannot make one on request, as an RTMP encoder cannot: viewers then start at its next
    /// keyframe, and new ones meanwhile from the keyframe cache.
    func keyframeRequested(track: Int) -> Bool
    /// RTP sequence numbers of `track` that did not arrive, for a source that can send them again.
    func retransmissionRequested(track: Int, sequenceNumbers: [UInt16])
    /// The stream ended (the engine closed it, or `end` was called); no more requests come.
    func feedDidEnd(_ feed: MediaFeed)
}

/// A published stream's entry for a `MediaSource`: one producer per track, as a WebRTC publisher has. Confined
/// to its media loop (`eventLoop`); from elsewhere, go through `MediaFeedHandle.execute`.
public final class MediaFeed {
    public let streamID: String
    public let eventLoop: any EventLoop
    let producers: [Producer]
    private weak var source: (any MediaSource)?
    private let clock: () -> Double
    private var timer: RepeatedTask?
    private(set) var isEnded = false
    var onEnd: (() -> Void)?

    init(streamID: String, producers: [Producer], eventLoop: any EventLoop, clock: @escaping () -> Double) {
        self.streamID = streamID
        self.producers = producers
        self.eventLoop = eventLoop
        self.clock = clock
    }

    func start(source: any MediaSource) {
        self.source = source
        for p in producers { p.upstream = self }
        // Deferred keyframe requests and NACK retries, on the same 50 ms beat as a WebRTC publisher's.
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { [weak self] _ in
            guard let self else { return }
            let now = self.clock()
            for p in self.producers { p.tick(now: now) }
        }
    }

    /// A media packet of `track`, as the source made it (its own SSRC, sequence numbers and timestamps). Packets
    /// of an unknown track, or after `end`, are dropped.
    public func receive(_ packet: RTPPacket, track: Int) {
        assertOnLoop(eventLoop)
        guard !isEnded, producers.indices.contains(track) else { return }
        producers[track].receive(packet, now: clock())
    }

    /// A media packet of `track` as bytes (an RTP packet, made off the loop and handed over). False when the
    /// bytes are not an RTP packet, which is then dropped.
    @discardableResult
    public func receive(_ bytes: ByteBuffer, track: Int) -> Bool {
        guard let packet = try? RTPPacket(bytes) else { return false }
        receive(packet, track: track)
        return true
    }

    /// The source's Sender Report for `track` (its SSRC, NTP and RTP time), so players keep audio and video in sync.
    public func receiveSenderReport(_ report: RTCPSenderReport, track: Int) {
        assertOnLoop(eventLoop)
        guard !isEnded, producers.indices.contains(track) else { return }
        producers[track].receiveSenderReport(report, now: clock())
    }

    /// The source is done: the stream is unpublished, and its players end with `sourceUnpublished`.
    public func end() {
        assertOnLoop(eventLoop)
        guard !isEnded else { return }
        isEnded = true
        timer?.cancel()
        timer = nil
        for p in producers { p.close() }
        source?.feedDidEnd(self)
        onEnd?()
        onEnd = nil
    }
}

extension MediaFeed: ProducerUpstream {
    func requestKeyframe(_ producer: Producer, ssrc: UInt32) -> Bool {
        guard let track = producers.firstIndex(where: { $0 === producer }), let source else { return false }
        return source.keyframeRequested(track: track)
    }

    func requestRetransmission(_ producer: Producer, ssrc: UInt32, lost: [UInt16]) {
        guard let track = producers.firstIndex(where: { $0 === producer }) else { return }
        source?.retransmissionRequested(track: track, sequenceNumbers: lost)
    }
}

/// A `MediaFeed` reachable from any thread: each call is a task on the feed's loop.
public struct MediaFeedHandle: Sendable {
    let feed: LoopConfined<MediaFeed>
    public let streamID: String
    /// The index of the media loop it runs on.
    public let mediaLoop: Int
    public var eventLoop: any EventLoop { feed.loop }

    /// Runs `body` with the feed on its loop.
    public func execute(_ body: @escaping @Sendable (MediaFeed) -> Void) { feed.execute(body) }

    /// Ends the stream (as `MediaFeed.end`) and returns once it has ended.
    public func end() async { await feed.run { $0.end() } }
}

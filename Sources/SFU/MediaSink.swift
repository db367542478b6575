import NIOCore
import RTP

/// Where a viewer's packets go when it is not a WebRTC player: a recorder, an RTMP player, a relay, a test.
/// Called on its media loop, with each track's packets as a WebRTC player gets them: in order as they arrive,
/// video from a keyframe (the cached one at once when there is one), under the numbering the sink asked for.
public protocol MediaSink: AnyObject {
    /// The next packet of `track`. Its bytes are reused once the call returns: copy what you keep.
    func receive(_ packet: RTPPacket, track: Int)
    /// The publisher's Sender Report for `track`, in the sink's numbering (its SSRC, timestamps offset as its
    /// packets are), for aligning tracks.
    func receiveSenderReport(_ report: RTCPSenderReport, track: Int)
    /// The stream ended (unpublished, or the sink was detached); nothing more comes.
    func streamEnded()
}

/// A sink attached to a published stream: one consumer per track, on the sink's loop. Confined to that loop.
public final class MediaSinkAttachment {
    public let eventLoop: any EventLoop
    private(set) var consumers: [Consumer] = []
    private weak var sink: (any MediaSink)?
    private var trackBySSRC: [UInt32: Int] = [:]
    private let clock: () -> Double
    private var ended = false
    var onDetach: (() -> Void)?

    init(eventLoop: any EventLoop, clock: @escaping () -> Double) {
        self.eventLoop = eventLoop
        self.clock = clock
    }

    func attach(_ sink: any MediaSink, consumers: [Consumer]) {
        self.sink = sink
        self.consumers = consumers
        for (track, c) in consumers.enumerated() {
            trackBySSRC[c.parameters.ssrc] = track
            c.downstream = self
            c.producer.add(c)
        }
        let now = clock()
        for c in consumers { c.connected(now: now) }
    }

    /// Asks for `sequenceNumbers` of `track` again (in the sink's numbering); they come through `receive`.
    public func requestRetransmission(track: Int, sequenceNumbers: [UInt16]) {
        assertOnLoop(eventLoop)
        guard consumers.indices.contains(track) else { return }
        consumers[track].retransmit(sequenceNumbers, now: clock())
    }

    /// Asks the publisher for a keyframe of `track` (paced like every viewer's request).
    public func requestKeyframe(track: Int) {
        assertOnLoop(eventLoop)
        guard consumers.indices.contains(track) else { return }
        consumers[track].producer.requestKeyframe(now: clock())
    }

    /// Stops the sink's packets; it gets `streamEnded`.
    public func detach() {
        assertOnLoop(eventLoop)
        end()
    }

    private func end() {
        guard !ended else { return }
        ended = true
        for c in consumers { c.producer.remove(c) }
        consumers.removeAll()
        sink?.streamEnded()
        onDetach?()
        onDetach = nil
    }
}

extension MediaSinkAttachment: ConsumerDownstream {
    var isConnected: Bool { !ended }

    func sendRTP(_ packet: inout ByteBuffer, kind: TrackKind) {
        guard let parsed = try? RTPPacket(packet), let track = trackBySSRC[parsed.ssrc] else { return }
        sink?.receive(parsed, track: track)
    }

    func sendRTCP(_ packet: inout ByteBuffer) {
        // Consumers send their track's Sender Reports here, rewritten for the sink.
        guard let headers = try? RTCPCompound.packets(packet) else { return }
        for header in headers where header.packetType == RTCPType.senderReport {
            guard let report = try? RTCPSenderReport(packet, header: header),
                  let track = trackBySSRC[report.ssrc] else { continue }
            sink?.receiveSenderReport(report, track: track)
        }
    }

    func consumerDidEnd(_ consumer: Consumer) { end() }
}

/// A `MediaSinkAttachment` reachable from any thread: each call is a task on its loop.
public struct MediaSinkHandle: Sendable {
    let attachment: LoopConfined<MediaSinkAttachment>
    public var eventLoop: any EventLoop { attachment.loop }

    /// Runs `body` with the attachment on its loop.
    public func execute(_ body: @escaping @Sendable (MediaSinkAttachment) -> Void) { attachment.execute(body) }

    /// Detaches the sink (as `MediaSinkAttachment.detach`) and returns once it is detached.
    public func detach() async { await attachment.run { $0.detach() } }
}

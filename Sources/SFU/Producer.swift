import NIOCore
import RTP

/// Where a producer's requests go: its source. A WebRTC publisher's handler turns them into RTCP (PLI or FIR,
/// NACK); another source (`MediaSource`) answers them its own way, or cannot. On the producer's loop.
protocol ProducerUpstream: AnyObject {
    /// Asks for a keyframe of the source `ssrc` (already paced by the producer). False when the source cannot
    /// make one on request (an RTMP encoder): its viewers then wait for its next keyframe.
    func requestKeyframe(_ producer: Producer, ssrc: UInt32) -> Bool
    /// Asks again for packets of `ssrc` that did not arrive.
    func requestRetransmission(_ producer: Producer, ssrc: UInt32, lost: [UInt16])
}

/// One incoming track (mediasoup's Producer): receives the publisher's packets, keeps what late subscribers and
/// retransmissions need, and hands each packet to its consumers. Lives on its transport's event loop.
///
/// Viewers on other media loops hang on a *mirror* of it there: a Producer that gets each packet once (one task
/// per packet and loop, not per copy), keeps its own retransmission buffer and keyframe cache for its loop's
/// consumers, and passes their keyframe requests back to the original, the only one that talks to the publisher.
final class Producer {
    let parameters: ProducerParameters
    private(set) var ssrc: UInt32?
    /// Bumped when the publisher's source changes (new SSRC): consumers then re-base their numbering.
    private(set) var epoch = 0
    private(set) var consumers: [Consumer] = []
    weak var upstream: (any ProducerUpstream)?

    private var unwrapper = SequenceUnwrapper()
    private(set) var statistics: ReceiveStatistics
    private var nacks = NackGenerator()
    private var buffer: RetransmissionBuffer
    private(set) var lastSenderReport: RTCPSenderReport?

    /// Keyframe requests upstream are limited to one per `keyframeInterval`; one asked within it is sent when
    /// it ends, so a burst of new subscribers costs the publisher one keyframe.
    let keyframeInterval: Double
    private var lastKeyframeRequest: Double?
    private(set) var keyframeRequestPending = false
    private(set) var keyframeRequestsSent = 0
    /// Where the latest keyframe starts in the retransmission buffer, so a new subscriber can start on it at once.
    private(set) var lastKeyframe: (sequence: Int64, timestamp: UInt32, time: Double)?
    /// Serve new subscribers the latest keyframe from the buffer (besides asking the publisher for a fresh one).
    var keyframeCache = true
    private(set) var packetsReceived = 0
    private(set) var bytesReceived = 0
    /// Sequence numbers asked again of the publisher.
    private(set) var nacksSent = 0
    /// Bits per second, measured over about a second at each `tick`.
    private(set) var bitrate = 0
    private var rateWindow: (start: Double, bytes: Int)?
    /// The operator's mute: packets are still received, reported on and stored, but none reaches a viewer, a
    /// mirror or a new viewer's keyframe cache.
    private(set) var isMuted = false
    private(set) var retransmissionsReceived = 0
    /// The newest extended sequence number stored, for seeding a new mirror.
    private var newestSequence: Int64?
    private var isClosed = false

    /// Copies of this track on other media loops (on the original only).
    private var mirrors: [LoopConfined<Producer>] = []
    /// On a mirror: the original, on the publisher's loop.
    private let original: LoopConfined<Producer>?

    /// The media loop it lives on, checked at its entry points in debug builds (nil in unit tests without loops).
    let loop: (any EventLoop)?

    init(parameters: ProducerParameters, keyframeInterval: Double = 0.5, loop: (any EventLoop)? = nil) {
        self.parameters = parameters
        self.loop = loop
        self.ssrc = parameters.ssrc
        self.keyframeInterval = keyframeInterval
        statistics = ReceiveStatistics(clockRate: parameters.clockRate)
        buffer = Self.makeBuffer(for: parameters)
        original = nil
    }

    /// A mirror of `original` (which lives on `loop`) for consumers on another loop (`viewerLoop`).
    init(mirroring original: Producer, on loop: any EventLoop, viewerLoop: (any EventLoop)? = nil, keyframeCache: Bool) {
        parameters = original.parameters
        self.loop = viewerLoop
        ssrc = nil
        keyframeInterval = original.keyframeInterval
        statistics = ReceiveStatistics(clockRate: original.parameters.clockRate)
        buffer = Self.makeBuffer(for: original.parameters)
        self.keyframeCache = keyframeCache
        self.original = LoopConfined(original, on: loop)
    }

    var isMirror: Bool { original != nil }

    var isVideo: Bool { parameters.kind == .video }

    /// Up to 2 s of each track, at most 1,024 video or 128 audio packets (audio is rarely NACKed).
    private static func makeBuffer(for parameters: ProducerParameters) -> RetransmissionBuffer {
        parameters.kind == .video
            ? RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
            : RetransmissionBuffer(initialCapacity: 16, maxCapacity: 128)
    }

    func add(_ consumer: Consumer) {
        assertOnLoop(loop)
        consumers.append(consumer)
    }

    func remove(_ consumer: Consumer) {
        assertOnLoop(loop)
        consumers.removeAll { $0 === consumer }
    }

    // MARK: packets in

    /// A media packet from the publisher (already decrypted). `isRetransmission` for RTX-recovered packets.
    func receive(_ packet: RTPPacket, now: Double, isRetransmission: Bool = false) {
        assertOnLoop(loop)
        if packet.ssrc != ssrc {
            // A new source (first packet, or the publisher restarted its encoder): start numbering afresh.
            ssrc = packet.ssrc
            epoch += 1
            unwrapper = SequenceUnwrapper()
            statistics = ReceiveStatistics(clockRate: parameters.clockRate)
            nacks = NackGenerator()
            buffer = Self.makeBuffer(for: parameters)
            lastKeyframe = nil
        }
        if keyframeRequestPending, lastKeyframeRequest.map({ now - $0 >= keyframeInterval }) ?? true {
            sendKeyframeRequest(now: now)
        }
        let seq = unwrapper.unwrap(packet.sequenceNumber)
        // RTX also carries the browser's bandwidth probes: copies of packets that already arrived.
        if isRetransmission, buffer.contains(sequence: seq, now: now) { return }
        packetsReceived += 1
        bytesReceived += packet.buffer.readableBytes
        if isRetransmission {
            retransmissionsReceived += 1
        } else {
            statistics.record(extendedSequence: seq, timestamp: packet.timestamp, now: now)
        }
        if parameters.nack, isVideo {
            let missingBefore = nacks.missingCount
            if !nacks.received(seq, now: now) {
                requestKeyframe(now: now)
            } else if nacks.missingCount > missingBefore {
                sendNacks(now: now)  // a new hole: ask at once, as browsers do, not at the next 50 ms tick
            }
        }
        buffer.store(packet.buffer, sequence: seq, now: now)
        let keyframe = isVideo && packet.payloadLength > 0 && KeyframeDetector.isKeyframe(packet.payload, codec: parameters.codec)
        if keyframe { keyframeRequestPending = false }
        if isVideo { noteKeyframeStart(packet, sequence: seq, keyframe: keyframe, now: now) }
        if seq > newestSequence ?? .min { newestSequence = seq }
        guard !isMuted else { return }
        if !mirrors.isEmpty {
            // Handed over before this loop's own copies, so the other loops make theirs at the same time instead of
            // after them. Each gets its own copy of the bytes: NIO may reuse this read's buffer once the read is done.
            let copy = ByteBufferAllocator().buffer(buffer: packet.buffer)
            let epoch = self.epoch
            for mirror in mirrors {
                mirror.execute { [copy] in $0.receiveMirrored(copy, sequence: seq, epoch: epoch, keyframe: keyframe, now: now) }
            }
        }
        fanOut(packet, sequence: seq, keyframe: keyframe, now: now)
    }

    private func fanOut(_ packet: RTPPacket, sequence seq: Int64, keyframe: Bool, now: Double) {
        let extensions = consumers.isEmpty ? [] : packet.extensionElements()  // once for every consumer
        for consumer in consumers {
            consumer.forward(packet, extensions: extensions, sequence: seq, epoch: epoch, keyframe: keyframe, now: now)
        }
    }

    // MARK: the operator's mute

    /// Stops or resumes forwarding. Resuming starts a new epoch: each viewer's numbering goes on from where it
    /// stopped (no gap it would NACK into the muted packets) and its video waits for the keyframe asked for here.
    func setMuted(_ muted: Bool, now: Double) {
        assertOnLoop(loop)
        guard muted != isMuted, !isMirror else { return }
        isMuted = muted
        lastKeyframe = nil  // nothing from the muted time is cached for a new viewer
        guard !muted else { return }
        epoch += 1
        requestKeyframe(now: now)
    }

    // MARK: mirrors

    /// On the original's loop: from now on `mirror` (on its own loop) gets every packet. It is first given what a new
    /// viewer needs from the buffer (the latest keyframe and everything after it), so the keyframe cache serves
    /// viewers on every loop.
    func addMirror(_ mirror: LoopConfined<Producer>, now: Double) {
        guard !isMirror else { return }
        guard !isClosed else {
            // The publisher left while the viewer was being set up on the other loop.
            mirror.execute { $0.close() }
            return
        }
        mirrors.append(mirror)
        guard !isMuted else { return }
        var seed: [(sequence: Int64, packet: ByteBuffer)] = []
        if let start = lastKeyframe, let newest = newestSequence, newest >= start.sequence {
            for seq in start.sequence...min(newest, start.sequence + 1023) {
                guard let stored = buffer.packet(sequence: seq, now: now) else { continue }
                seed.append((seq, ByteBufferAllocator().buffer(buffer: stored)))
            }
        }
        guard !seed.isEmpty, let keyframe = lastKeyframe else { return }
        let epoch = self.epoch
        mirror.execute { [seed] in $0.seed(seed, epoch: epoch, keyframe: keyframe) }
    }

    /// On the original's loop: `mirror` has no viewers left; packets stop going to its loop.
    func removeMirror(_ mirror: LoopConfined<Producer>) {
        mirrors.removeAll { $0.wraps(mirror) }
    }

    var mirrorCount: Int { mirrors.count }

    private func seed(_ packets: [(sequence: Int64, packet: ByteBuffer)], epoch: Int,
                      keyframe: (sequence: Int64, timestamp: UInt32, time: Double)) {
        startEpoch(epoch)
        for (seq, packet) in packets {
            buffer.store(packet, sequence: seq, now: keyframe.time)
        }
        lastKeyframe = keyframe
    }

    /// On a mirror's loop: a packet the original received.
    private func receiveMirrored(_ bytes: ByteBuffer, sequence seq: Int64, epoch: Int, keyframe: Bool, now: Double) {
        guard let packet = try? RTPPacket(bytes) else { return }
        startEpoch(epoch)
        ssrc = packet.ssrc
        packetsReceived += 1
        buffer.store(packet.buffer, sequence: seq, now: now)
        if isVideo { noteKeyframeStart(packet, sequence: seq, keyframe: keyframe, now: now) }
        fanOut(packet, sequence: seq, keyframe: keyframe, now: now)
    }

    // MARK: keyframe cache

    /// Keeps `lastKeyframe` at the first packet of the latest keyframe's access unit: every packet with its RTP
    /// timestamp, whichever of them the detector flags. An H.264 keyframe is often STAP-A[SPS, PPS, IDR slice]
    /// then FU-A slices, each flagged; SPS/PPS may come alone before the IDR; packets may arrive out of order. A
    /// decoder given anything less waits for the next keyframe, and an RTMP encoder cannot be asked for one.
    private func noteKeyframeStart(_ packet: RTPPacket, sequence seq: Int64, keyframe: Bool, now: Double) {
        if let start = lastKeyframe, packet.timestamp == start.timestamp {
            if seq < start.sequence {  // an earlier packet of the same access unit arrived late
                lastKeyframe = (firstOfAccessUnit(from: seq, timestamp: start.timestamp, now: now), start.timestamp, start.time)
            }
            return
        }
        guard keyframe, seq > lastKeyframe?.sequence ?? .min else { return }
        lastKeyframe = (firstOfAccessUnit(from: seq, timestamp: packet.timestamp, now: now), packet.timestamp, now)
    }

    /// The lowest sequence number, walking back from `seq` through the buffer, whose packets all carry `timestamp`.
    private func firstOfAccessUnit(from seq: Int64, timestamp: UInt32, now: Double) -> Int64 {
        var first = seq
        while seq - first < 256, buffer.timestamp(sequence: first - 1, now: now) == timestamp {
            first -= 1
        }
        return first
    }

    private func startEpoch(_ epoch: Int) {
        guard epoch != self.epoch else { return }
        self.epoch = epoch
        buffer = Self.makeBuffer(for: parameters)
        lastKeyframe = nil
    }

    func receiveSenderReport(_ report: RTCPSenderReport, now: Double) {
        guard report.ssrc == ssrc else { return }
        lastSenderReport = report
        statistics.recordSenderReport(report, now: now)
        guard !isMuted else { return }
        for consumer in consumers { consumer.forwardSenderReport(report, now: now) }
        for mirror in mirrors {
            mirror.execute { $0.receiveSenderReport(report, now: now) }
        }
    }

    /// The stored packet with extended sequence `seq` of the current source, for a consumer's retransmission.
    func stored(sequence seq: Int64, now: Double) -> ByteBuffer? {
        buffer.packet(sequence: seq, now: now)
    }

    /// The packets of the latest keyframe still in the buffer (all with its timestamp), oldest first.
    func cachedKeyframe(now: Double) -> [(sequence: Int64, packet: RTPPacket)] {
        guard keyframeCache, !isMuted, let start = lastKeyframe, now - start.time < 2 else { return [] }
        var frame: [(Int64, RTPPacket)] = []
        var seq = start.sequence
        while frame.count < 256, let stored = buffer.packet(sequence: seq, now: now),
              let packet = try? RTPPacket(stored), packet.timestamp == start.timestamp {
            frame.append((seq, packet))
            seq += 1
        }
        return frame
    }

    // MARK: requests upstream

    func requestKeyframe(now: Double) {
        assertOnLoop(loop)
        guard isVideo else { return }
        if let original {
            // Only the original talks to the publisher (and limits the requests of every loop's viewers).
            original.execute { $0.requestKeyframe(now: now) }
            return
        }
        if let last = lastKeyframeRequest, now - last < keyframeInterval {
            keyframeRequestPending = true
            return
        }
        sendKeyframeRequest(now: now)
    }

    /// Periodic work: deferred keyframe requests and NACKs for holes in the publisher's stream.
    func tick(now: Double) {
        assertOnLoop(loop)
        if keyframeRequestPending, let last = lastKeyframeRequest, now - last >= keyframeInterval {
            sendKeyframeRequest(now: now)
        }
        sendNacks(now: now)
        if let window = rateWindow {
            if now - window.start >= 1 {
                bitrate = Int(Double(bytesReceived - window.bytes) * 8 / (now - window.start))
                rateWindow = (now, bytesReceived)
            }
        } else {
            rateWindow = (now, bytesReceived)
        }
    }

    private func sendNacks(now: Double) {
        guard parameters.nack, let ssrc, let upstream else { return }
        let due = nacks.due(now: now)
        guard !due.isEmpty else { return }
        nacksSent += due.count
        upstream.requestRetransmission(self, ssrc: ssrc, lost: due.map { UInt16(truncatingIfNeeded: $0) })
    }

    private func sendKeyframeRequest(now: Double) {
        guard let ssrc, let upstream else {
            keyframeRequestPending = true  // nothing received yet: ask as soon as the source is known
            return
        }
        lastKeyframeRequest = now
        keyframeRequestPending = false
        keyframeRequestsSent += 1
        // A source that cannot make one on request (an RTMP encoder) says so; its viewers start from the cache or
        // at its next keyframe either way, so the answer changes nothing here yet.
        _ = upstream.requestKeyframe(self, ssrc: ssrc)
    }

    /// This track's block for a Receiver Report to the publisher.
    func reportBlock(now: Double) -> RTCPReportBlock? {
        guard let ssrc else { return nil }
        return statistics.reportBlock(ssrc: ssrc, now: now)
    }

    /// The publisher's leg of this track, for the admin API (the viewers' part is filled by the caller).
    func trackStatistics() -> TrackStatistics {
        let totals = statistics.totals
        return TrackStatistics(
            kind: parameters.kind == .video ? "video" : "audio", muted: isMuted, packetsReceived: packetsReceived,
            bytesReceived: bytesReceived, bitrate: bitrate, packetsLost: Int(totals.lost),
            lossRate: totals.expected > 0 ? Double(totals.lost) / Double(totals.expected) : 0,
            jitterMs: totals.jitter * 1000, nacksSent: nacksSent, retransmissionsReceived: retransmissionsReceived,
            keyframeRequestsSent: keyframeRequestsSent)
    }

    /// The publisher is gone: every consumer ends, on every loop.
    func close() {
        assertOnLoop(loop)
        isClosed = true
        let all = consumers
        consumers.removeAll()
        for consumer in all { consumer.producerClosed() }
        for mirror in mirrors {
            mirror.execute { $0.close() }
        }
        mirrors.removeAll()
    }
}

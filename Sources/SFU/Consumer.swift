import NIOCore
import RTP

/// Where a consumer's packets go: the subscriber's transport in production; a recorder in tests.
protocol ConsumerDownstream: AnyObject {
    var isConnected: Bool { get }
    func sendRTP(_ packet: inout ByteBuffer, kind: TrackKind)
    func sendRTCP(_ packet: inout ByteBuffer)
    /// The producer ended: the subscriber's transport closes.
    func consumerDidEnd(_ consumer: Consumer)
}

/// One producer's track as one subscriber receives it (mediasoup's Consumer): its own SSRC, payload type and
/// header extension ids, and sequence numbers and timestamps that stay continuous when the source changes.
final class Consumer {
    let parameters: ConsumerParameters
    let producer: Producer
    let extensions: HeaderExtensionIDs
    let producerExtensions: HeaderExtensionIDs
    weak var downstream: (any ConsumerDownstream)?

    /// The numbering of the current source: out = in + delta.
    private var epoch = -1
    private var sequenceDelta: Int64 = 0
    private var timestampDelta: UInt32 = 0
    /// Packets older than the one this source started at are not sent (they precede the keyframe).
    private var startSequence: Int64 = 0
    private var started = false
    private var lastOut: (sequence: Int64, timestamp: UInt32, time: Double)?
    private var rtxSequence: UInt16
    private(set) var packetsSent: UInt32 = 0
    private(set) var octetsSent: UInt32 = 0
    private(set) var retransmissionsSent = 0
    /// Sequence numbers the subscriber NACKed, and its keyframe requests (PLI/FIR).
    private(set) var nacksReceived = 0
    var keyframeRequestsReceived = 0
    /// From the subscriber's latest receiver report: round-trip time (when it answers our latest SR) and the
    /// fraction lost since its previous report.
    private(set) var lastReport: (rtt: Double?, fractionLost: Double)?
    /// The latest Sender Report sent (its compact NTP time) and when, to read the round trip from an RR.
    private var lastSenderReportSent: (compact: UInt32, time: Double)?
    private var scratch: [(id: UInt8, value: ByteBuffer)] = []
    /// The buffer of the previous copy, written again for the next one: by then the socket has sent it (the
    /// mux flushes every 64 datagrams), so its storage is ours alone and no allocation is needed.
    private var spare: ByteBuffer?
    private let midValue: ByteBuffer?
    /// The playout-delay element a video player's packets carry once its link lost packets (nil: none).
    private var playoutDelay = PlayoutDelayPolicy()
    private var playoutDelayValue: ByteBuffer?
    /// Counts at the previous receiver report, for the share lost or NACKed since.
    private var atLastReport = (sent: 0, nacked: 0, upstreamNacked: 0)

    init(parameters: ConsumerParameters, producer: Producer, extensions: HeaderExtensionIDs,
         producerExtensions: HeaderExtensionIDs) {
        self.parameters = parameters
        self.producer = producer
        self.extensions = extensions
        self.producerExtensions = producerExtensions
        midValue = parameters.mid.map { ByteBuffer(string: $0) }
        var rng = SystemRandomNumberGenerator()
        rtxSequence = UInt16.random(in: 0...UInt16.max, using: &rng)
        // A random first sequence number (RFC 3550 §5.1); continuity across sources matters, not the start.
        lastOut = nil
        sequenceDelta = Int64(UInt16.random(in: 0...0x7FFF, using: &rng))
    }

    var isWaitingForKeyframe: Bool { producer.isVideo && !started }

    /// The subscriber's transport is up: video needs a keyframe to start. The latest one is sent at once from
    /// the buffer when it is there (the packets after it follow live; the subscriber NACKs the gap between and
    /// gets it from the buffer too), and a fresh one is asked of the publisher in any case.
    func connected(now: Double) {
        assertOnLoop(producer.loop)  // a consumer lives on its producer's loop
        guard producer.isVideo && !started else { return }
        let frame = producer.cachedKeyframe(now: now)
        for (index, entry) in frame.enumerated() {
            forward(entry.packet, extensions: entry.packet.extensionElements(), sequence: entry.sequence,
                    epoch: producer.epoch, keyframe: index == 0, now: now)
        }
        producer.requestKeyframe(now: now)
    }

    // MARK: forwarding

    /// `extensions` are the packet's header extension elements, parsed once by the producer for all consumers.
    func forward(_ packet: RTPPacket, extensions: [RTPHeaderExtensionElement], sequence: Int64, epoch: Int,
                 keyframe: Bool, now: Double) {
        assertOnLoop(producer.loop)
        guard let downstream, downstream.isConnected else { return }
        if epoch != self.epoch {
            // New source: video waits for its keyframe; numbering continues from what this subscriber last got.
            guard !producer.isVideo || keyframe else {
                if started { started = false }
                producer.requestKeyframe(now: now)
                return
            }
            rebase(to: packet, sequence: sequence, epoch: epoch, now: now)
        } else if !started {
            guard !producer.isVideo || keyframe else { return }
            rebase(to: packet, sequence: sequence, epoch: epoch, now: now)
        }
        guard sequence >= startSequence else { return }
        let outSequence = sequence + sequenceDelta
        let outTimestamp = packet.timestamp &+ timestampDelta
        var out = write(packet, elements: extensions, sequence: UInt16(truncatingIfNeeded: outSequence), timestamp: outTimestamp,
                        payloadType: parameters.payloadType, ssrc: parameters.ssrc)
        if outSequence > lastOut?.sequence ?? .min {
            lastOut = (outSequence, outTimestamp, now)
        }
        packetsSent &+= 1
        octetsSent &+= UInt32(truncatingIfNeeded: packet.payloadLength)
        downstream.sendRTP(&out, kind: producer.parameters.kind)
        spare = out
    }

    private func rebase(to packet: RTPPacket, sequence: Int64, epoch: Int, now: Double) {
        if let lastOut {
            sequenceDelta = lastOut.sequence + 1 - sequence
            // Time moves on by the wall-clock gap (at least one tick), so the receiver's jitter buffer and lip
            // sync see a pause, not a jump.
            let elapsed = max(1, UInt32(clamping: Int64((now - lastOut.time) * Double(producer.parameters.clockRate))))
            timestampDelta = lastOut.timestamp &+ elapsed &- packet.timestamp
        } else {
            sequenceDelta = sequenceDelta - sequence
            timestampDelta = 0
        }
        startSequence = sequence
        self.epoch = epoch
        started = true
    }

    /// Writes the packet afresh for this subscriber: its SSRC, numbering and payload type, and only the header
    /// extensions it negotiated, under its ids.
    private func write(_ packet: RTPPacket, elements: [RTPHeaderExtensionElement], sequence: UInt16, timestamp: UInt32,
                       payloadType: UInt8, ssrc: UInt32,
                       rtxOriginalSequence: UInt16? = nil) -> ByteBuffer {
        // A scratch list kept between packets (one consumer is only used on its loop): no array per packet.
        var extensions = scratch
        scratch = []
        extensions.removeAll(keepingCapacity: true)
        defer { scratch = extensions }
        for element in elements {
            let target = mapExtension(element.id)
            if target != 0 { extensions.append((target, packet.extensionValue(element))) }
        }
        if let midValue, self.extensions.mid != 0 {
            extensions.append((self.extensions.mid, midValue))
        }
        if let playoutDelayValue {
            extensions.append((self.extensions.playoutDelay, playoutDelayValue))
        }
        var payload = packet.payload
        var out: ByteBuffer
        if var reused = spare {
            spare = nil
            reused.clear()  // copies only if the socket still holds the previous datagram
            out = reused
        } else {
            out = ByteBufferAllocator().buffer(capacity: packet.buffer.readableBytes + 64)
        }
        if let rtxOriginalSequence {
            var rtxPayload = ByteBufferAllocator().buffer(capacity: payload.readableBytes + 2)
            rtxPayload.writeInteger(rtxOriginalSequence)
            rtxPayload.writeBuffer(&payload)
            payload = rtxPayload
        }
        RTPPacketWriter.write(into: &out, marker: packet.marker, payloadType: payloadType, sequenceNumber: sequence,
                              timestamp: timestamp, ssrc: ssrc, extensions: extensions, payload: payload)
        return out
    }

    private func mapExtension(_ id: UInt8) -> UInt8 {
        switch id {
        case producerExtensions.audioLevel where producerExtensions.audioLevel != 0: extensions.audioLevel
        case producerExtensions.videoOrientation where producerExtensions.videoOrientation != 0: extensions.videoOrientation
        default: 0  // mid is rewritten, transport-wide sequence numbers belong to the publisher's leg
        }
    }

    // MARK: feedback from the subscriber

    /// Answers a NACK from the stored packets (as RTX when the subscriber negotiated it).
    func retransmit(_ lost: [UInt16], now: Double) {
        nacksReceived += lost.count
        guard let downstream, downstream.isConnected, started, let lastOut else { return }
        for seq in lost {
            // The NACKed number as an extended one: the nearest at or before the newest sent.
            let back = Int64(UInt16(truncatingIfNeeded: lastOut.sequence) &- seq)
            let outSequence = lastOut.sequence - back
            let inSequence = outSequence - sequenceDelta
            guard inSequence >= startSequence, let stored = producer.stored(sequence: inSequence, now: now),
                  let packet = try? RTPPacket(stored) else { continue }
            let timestamp = packet.timestamp &+ timestampDelta
            var out: ByteBuffer
            if let rtxSSRC = parameters.rtxSSRC, let rtxPT = parameters.rtxPayloadType {
                rtxSequence &+= 1
                out = write(packet, elements: packet.extensionElements(), sequence: rtxSequence, timestamp: timestamp, payloadType: rtxPT, ssrc: rtxSSRC,
                            rtxOriginalSequence: seq)
            } else {
                out = write(packet, elements: packet.extensionElements(), sequence: seq, timestamp: timestamp, payloadType: parameters.payloadType,
                            ssrc: parameters.ssrc)
            }
            retransmissionsSent += 1
            downstream.sendRTP(&out, kind: producer.parameters.kind)
            spare = out
        }
    }

    /// The publisher's Sender Report in this subscriber's terms: same wall clock, its SSRC and timestamps, so
    /// audio and video stay in sync.
    func forwardSenderReport(_ report: RTCPSenderReport, now: Double) {
        guard let downstream, downstream.isConnected, started else { return }
        var sr = RTCPCompound.senderReport(RTCPSenderReport(
            ssrc: parameters.ssrc, ntpTimestamp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp &+ timestampDelta,
            packetCount: packetsSent, octetCount: octetsSent, reports: []))
        downstream.sendRTCP(&sr)
        lastSenderReportSent = (UInt32(truncatingIfNeeded: report.ntpTimestamp >> 16), now)
    }

    /// A report block about this consumer's packets, from the subscriber; returns the round-trip time in seconds
    /// when the block answers the latest Sender Report (RFC 3550 §6.4.1: now − LSR − DLSR).
    @discardableResult
    func receiverReport(_ block: RTCPReportBlock, now: Double) -> Double? {
        var rtt: Double?
        if let sent = lastSenderReportSent, block.lastSR != 0, block.lastSR == sent.compact {
            let value = now - sent.time - Double(block.delaySinceLastSR) / 65536
            if value >= 0 { rtt = value }
        }
        lastReport = (rtt ?? lastReport?.rtt, Double(block.fractionLost) / 256)
        if producer.isVideo, extensions.playoutDelay != 0 {
            // Packets NACKed count as lost here: recovered ones are late, which is what the buffer is for.
            let sent = Int(packetsSent), upstream = producer.nacksSent
            let interval = sent - atLastReport.sent
            let nacked = nacksReceived - atLastReport.nacked + upstream - atLastReport.upstreamNacked
            atLastReport = (sent, nacksReceived, upstream)
            let lossRate = max(Double(block.fractionLost) / 256, interval > 0 ? Double(nacked) / Double(interval) : 0)
            if let limits = playoutDelay.update(now: now, lossRate: lossRate, rtt: lastReport?.rtt) {
                playoutDelayValue = PlayoutDelayPolicy.element(limits)
            }
        }
        return rtt
    }

    /// The playout-delay bounds this player's video carries (10 ms units), for tests and the admin API.
    var playoutDelayLimits: (min: Int, max: Int)? { playoutDelay.limits }

    func producerClosed() {
        downstream?.consumerDidEnd(self)
    }
}

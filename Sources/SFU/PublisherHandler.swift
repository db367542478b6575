import NIOCore
import RTP

/// The media side of a publisher's peer connection: routes its packets to the right producer, answers with
/// RTCP (receiver reports, NACKs, keyframe requests, transport-cc and REMB feedback). On the transport's loop.
final class PublisherHandler: TransportMediaHandler, ProducerUpstream {
    let producers: [Producer]
    let extensions: HeaderExtensionIDs
    let feedbackSSRC: UInt32
    /// Sent as REMB when the publisher negotiated it: a ceiling for its send rate (transport-cc finds the rate).
    let rembBitrate: UInt64?
    private weak var transport: WebRTCTransport?
    private var bySSRC: [UInt32: (producer: Producer, rtx: Bool)] = [:]
    private var feedback = TransportFeedbackRecorder()
    private var timer: RepeatedTask?
    private var ticks = 0
    var onClose: (() -> Void)?

    init(producers: [Producer], extensions: HeaderExtensionIDs, rembBitrate: UInt64?) {
        self.producers = producers
        self.extensions = extensions
        self.rembBitrate = rembBitrate
        var rng = SystemRandomNumberGenerator()
        feedbackSSRC = UInt32.random(in: 1...UInt32.max, using: &rng)
        for p in producers {
            if let ssrc = p.parameters.ssrc { bySSRC[ssrc] = (p, false) }
            if let rtx = p.parameters.rtxSSRC { bySSRC[rtx] = (p, true) }
        }
    }

    func attach(_ transport: WebRTCTransport) {
        self.transport = transport
        for p in producers { p.upstream = self }
    }

    /// FIR's command sequence number, per media SSRC (RFC 5104 §4.3.1.1).
    private var firSequences: [UInt32: UInt8] = [:]

    func requestKeyframe(_ producer: Producer, ssrc: UInt32) -> Bool {
        var compound = RTCPCompound.emptyReceiverReport(senderSSRC: feedbackSSRC)
        var request: ByteBuffer
        if producer.parameters.pli || !producer.parameters.fir {
            request = RTCPCompound.pli(senderSSRC: feedbackSSRC, mediaSSRC: ssrc)
        } else {
            let sequence = firSequences[ssrc, default: 0] &+ 1
            firSequences[ssrc] = sequence
            request = RTCPCompound.fir(senderSSRC: feedbackSSRC, mediaSSRC: ssrc, sequence: sequence)
        }
        compound.writeBuffer(&request)
        transport?.sendRTCP(&compound)
        transport?.stats?.keyframeRequestsSent.add(1, ordering: .relaxed)
        return true
    }

    func requestRetransmission(_ producer: Producer, ssrc: UInt32, lost: [UInt16]) {
        var compound = RTCPCompound.emptyReceiverReport(senderSSRC: feedbackSSRC)
        var nack = RTCPCompound.nack(senderSSRC: feedbackSSRC, mediaSSRC: ssrc, lost: lost)
        compound.writeBuffer(&nack)
        transport?.sendRTCP(&compound)
        transport?.stats?.nacksSent.add(lost.count, ordering: .relaxed)
    }

    func transportDidConnect(_ transport: WebRTCTransport) {
        // Transport-cc wants feedback every ~50–100 ms; NACK retries and deferred keyframe requests share the beat.
        timer = transport.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) {
            [weak self] _ in self?.tick()
        }
        for p in producers where p.isVideo { p.requestKeyframe(now: transport.now) }
    }

    func transportDidClose(_ transport: WebRTCTransport) {
        timer?.cancel()
        timer = nil
        for p in producers { p.close() }
        onClose?()
        onClose = nil
    }

    func transport(_ transport: WebRTCTransport, didReceiveRTP packet: RTPPacket) {
        let now = transport.now
        if extensions.transportWideCC != 0, let value = packet.extensionElement(id: extensions.transportWideCC),
           let seq = value.getInteger(at: value.readerIndex, as: UInt16.self) {
            feedback.record(sequence: seq, arrivalMicros: Int64(now * 1e6))
        }
        guard let (producer, isRTX) = route(packet) else {
            transport.stats?.dropped(.malformed)
            return
        }
        transport.stats?.receivedRTP(packet.buffer.readableBytes, kind: producer.parameters.kind)
        if isRTX {
            // RFC 4588: the original sequence number leads the payload; a bare RTX packet is padding (a probe).
            guard packet.payloadLength >= 2, let original = packet.payload.getInteger(at: packet.payload.readerIndex, as: UInt16.self),
                  let media = producer.ssrc else { return }
            var payload = packet.payload
            payload.moveReaderIndex(forwardBy: 2)
            var restored = ByteBufferAllocator().buffer(capacity: packet.buffer.readableBytes)
            RTPPacketWriter.write(into: &restored, marker: packet.marker, payloadType: producer.parameters.payloadType,
                                  sequenceNumber: original, timestamp: packet.timestamp, ssrc: media,
                                  extensions: packet.extensionElements().lazy.map { (id: $0.id, value: packet.extensionValue($0)) },
                                  payload: payload)
            guard let recovered = try? RTPPacket(restored) else { return }
            producer.receive(recovered, now: now, isRetransmission: true)
        } else {
            producer.receive(packet, now: now)
        }
    }

    /// The producer for a packet: by SSRC once known; a new SSRC is matched by the mid extension, else by
    /// payload type (each section has its own payload types under BUNDLE).
    private func route(_ packet: RTPPacket) -> (Producer, Bool)? {
        let ssrc = packet.ssrc
        if let known = bySSRC[ssrc] { return known }
        guard bySSRC.count < 32 else { return nil }  // a flood of random SSRCs must not grow the table
        var candidates = producers
        if extensions.mid != 0, let value = packet.extensionElement(id: extensions.mid) {
            let mid = String(buffer: value)
            candidates = producers.filter { $0.parameters.mid == mid }
        }
        let pt = packet.payloadType
        if let p = candidates.first(where: { $0.parameters.payloadType == pt }) {
            bySSRC[ssrc] = (p, false)
            return (p, false)
        }
        if let p = candidates.first(where: { $0.parameters.rtxPayloadType == pt }) {
            bySSRC[ssrc] = (p, true)
            return (p, true)
        }
        return nil
    }

    func transport(_ transport: WebRTCTransport, didReceiveRTCP packet: ByteBuffer) {
        guard let headers = try? RTCPCompound.packets(packet) else { return }
        let now = transport.now
        for header in headers where header.packetType == RTCPType.senderReport {
            guard let report = try? RTCPSenderReport(packet, header: header) else { continue }
            for p in producers where p.ssrc == report.ssrc { p.receiveSenderReport(report, now: now) }
        }
    }

    private func tick() {
        guard let transport, transport.isConnected else { return }
        let now = transport.now
        ticks += 1
        for p in producers { p.tick(now: now) }
        if !feedback.isEmpty {
            let media = producers.first?.ssrc ?? 0
            for var packet in feedback.feedback(senderSSRC: feedbackSSRC, mediaSSRC: media) {
                transport.sendRTCP(&packet)
            }
        }
        if ticks % 20 == 0 {  // once a second: receiver reports, and the REMB ceiling
            let blocks = producers.compactMap { $0.reportBlock(now: now) }
            var compound = RTCPCompound.receiverReport(senderSSRC: feedbackSSRC, reports: blocks)
            let ssrcs = producers.compactMap(\.ssrc)
            if let rembBitrate, !ssrcs.isEmpty {
                var remb = RTCPCompound.remb(senderSSRC: feedbackSSRC, bitrate: rembBitrate, ssrcs: ssrcs)
                compound.writeBuffer(&remb)
            }
            transport.sendRTCP(&compound)
        }
    }
}

import NIOCore
import RTP

/// The media side of a subscriber's peer connection: its consumers, and its feedback (NACK, PLI/FIR).
final class SubscriberHandler: TransportMediaHandler, ConsumerDownstream {
    private(set) var consumers: [Consumer] = []
    private weak var transport: WebRTCTransport?
    var onClose: (() -> Void)?

    init() {}

    func attach(_ transport: WebRTCTransport, consumers: [Consumer]) {
        self.transport = transport
        self.consumers = consumers
        for c in consumers {
            c.downstream = self
            c.producer.add(c)
        }
    }

    var isConnected: Bool { transport?.isConnected ?? false }
    func sendRTP(_ packet: inout ByteBuffer, kind: TrackKind) { transport?.sendRTP(&packet, kind: kind) }
    func sendRTCP(_ packet: inout ByteBuffer) { transport?.sendRTCP(&packet) }

    func consumerDidEnd(_ consumer: Consumer) {
        transport?.close(reason: .sourceUnpublished)
    }

    func transportDidConnect(_ transport: WebRTCTransport) {
        for c in consumers { c.connected(now: transport.now) }
    }

    func transportDidClose(_ transport: WebRTCTransport) {
        for c in consumers { c.producer.remove(c) }
        consumers.removeAll()
        onClose?()
        onClose = nil
    }

    func transport(_ transport: WebRTCTransport, didReceiveRTP packet: RTPPacket) {
        // A subscriber sends nothing; whatever comes is ignored.
    }

    func transport(_ transport: WebRTCTransport, didReceiveRTCP packet: ByteBuffer) {
        guard let headers = try? RTCPCompound.packets(packet) else { return }
        let now = transport.now
        for header in headers {
            if header.isPLI || header.isFIR {
                // A slow or lossy subscriber's requests are rate-limited by the producer, so it cannot make the
                // publisher send keyframes for everyone all the time.
                let targets: [UInt32]
                if header.isFIR, let fir = try? RTCPFir(packet, header: header) {
                    targets = fir.entries.map(\.ssrc)
                } else {
                    targets = RTCPCompound.mediaSSRC(of: header, in: packet).map { [$0] } ?? []
                }
                for c in consumers where targets.contains(c.parameters.ssrc) {
                    c.keyframeRequestsReceived += 1
                    transport.stats?.keyframeRequestsReceived.add(1, ordering: .relaxed)
                    c.producer.requestKeyframe(now: now)
                }
            } else if header.isNACK, let nack = try? RTCPNack(packet, header: header) {
                for c in consumers where c.parameters.ssrc == nack.mediaSSRC {
                    let before = c.retransmissionsSent
                    c.retransmit(nack.lost, now: now)
                    transport.stats?.nacksReceived.add(nack.lost.count, ordering: .relaxed)
                    transport.stats?.retransmissionsSent.add(c.retransmissionsSent - before, ordering: .relaxed)
                }
            } else if header.isReceiverReport || header.isSenderReport,
                      let blocks = header.isReceiverReport ? (try? RTCPReceiverReport(packet, header: header))?.reports
                                                           : (try? RTCPSenderReport(packet, header: header))?.reports {
                for block in blocks {
                    for c in consumers where c.parameters.ssrc == block.ssrc {
                        let rtt = c.receiverReport(block, now: now)
                        transport.stats?.viewerReport(rtt: rtt, jitterSeconds: Double(block.jitter) / Double(c.producer.parameters.clockRate),
                                                      fractionLost: Double(block.fractionLost) / 256)
                    }
                }
            }
        }
    }
}

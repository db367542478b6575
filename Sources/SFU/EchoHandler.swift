import NIOCore
import RTP

/// The echo test: a peer's own media comes back to it through the full transport (decrypt, re-encrypt), each
/// stream under a server-chosen SSRC. The peer's keyframe requests and NACKs for the echoed streams are turned
/// back into requests to its own sender, so its encoder answers them and the answer is echoed too.
public final class EchoHandler: TransportMediaHandler {
    /// Incoming SSRC → the SSRC it is echoed with, and back.
    private var outgoing: [UInt32: UInt32] = [:]
    private var incoming: [UInt32: UInt32] = [:]
    private let serverSSRC: UInt32

    public init() {
        var rng = SystemRandomNumberGenerator()
        serverSSRC = UInt32.random(in: 1...UInt32.max, using: &rng)
    }

    /// The SSRC the answer announced for each payload type (so the echo matches the answer's a=ssrc lines);
    /// a payload type not listed gets a random SSRC.
    public var ssrcForPayloadType: [UInt8: UInt32] = [:]

    public func transportDidConnect(_ transport: WebRTCTransport) {}
    public func transportDidClose(_ transport: WebRTCTransport) {}

    public func transport(_ transport: WebRTCTransport, didReceiveRTP packet: RTPPacket) {
        var packet = packet
        let source = packet.ssrc
        let target: UInt32
        if let known = outgoing[source] {
            target = known
        } else {
            var rng = SystemRandomNumberGenerator()
            target = ssrcForPayloadType[packet.payloadType] ?? UInt32.random(in: 1...UInt32.max, using: &rng)
            outgoing[source] = target
            incoming[target] = source
            // A new stream: ask its sender for a keyframe at once so the echo starts without waiting.
            var pli = RTCPCompound.pli(senderSSRC: serverSSRC, mediaSSRC: source)
            transport.sendRTCP(&pli)
        }
        packet.ssrc = target
        var buffer = packet.buffer
        transport.sendRTP(&buffer)
    }

    public func transport(_ transport: WebRTCTransport, didReceiveRTCP packet: ByteBuffer) {
        guard let packets = try? RTCPCompound.packets(packet) else { return }
        for header in packets {
            let isPLI = header.packetType == RTCPType.payloadFeedback && (header.count == 1 || header.count == 4)
            let isNACK = header.packetType == RTCPType.transportFeedback && header.count == 1
            guard isPLI || isNACK, let media = RTCPCompound.mediaSSRC(of: header, in: packet),
                  let source = incoming[media] else { continue }
            if isPLI {
                var pli = RTCPCompound.pli(senderSSRC: serverSSRC, mediaSSRC: source)
                transport.sendRTCP(&pli)
            } else if var nack = packet.getSlice(at: packet.readerIndex + header.offset, length: header.length) {
                // Same NACK, now about the peer's own stream: its sender retransmits, and we echo that.
                nack.setInteger(serverSSRC, at: nack.readerIndex + 4)
                nack.setInteger(source, at: nack.readerIndex + 8)
                var compound = RTCPCompound.emptyReceiverReport(senderSSRC: serverSSRC)
                compound.writeBuffer(&nack)
                transport.sendRTCP(&compound)
            }
        }
    }
}

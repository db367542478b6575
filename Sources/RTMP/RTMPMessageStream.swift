import NIOCore

/// The message layer both ends of a connection share: chunks in and out, and the protocol and user control
/// messages every peer must answer (Set Chunk Size, Window Acknowledgement Size with the acknowledgements it asks
/// for, PingRequest). What is left (commands, data, media) is for the caller.
struct RTMPMessageStream: Sendable {
    private var reader = RTMPChunkReader()
    var writer = RTMPChunkWriter()
    private var peerWindow: UInt32?
    private var received: UInt64 = 0
    private var acknowledged: UInt64 = 0

    /// Counts bytes of the peer's that were read outside messages (the handshake's), for acknowledgements.
    mutating func count(_ bytes: Int) { received += UInt64(bytes) }

    /// The messages `input` completes, control messages answered and left out. Only the bytes read count towards
    /// acknowledgements (an unfinished chunk left in `input` is counted when it is read).
    mutating func receive(_ input: inout ByteBuffer, output out: inout ByteBuffer) throws(RTMPError) -> [RTMPMessage] {
        var messages: [RTMPMessage] = []
        let available = input.readableBytes
        while let message = try reader.next(&input) {
            if try !control(message, out: &out) { messages.append(message) }
        }
        received += UInt64(available - input.readableBytes)
        if let peerWindow, received - acknowledged >= UInt64(peerWindow) {
            acknowledged = received
            send(.acknowledgement(UInt32(truncatingIfNeeded: received)), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
        }
        return messages
    }

    func send(_ message: RTMPMessage, csid: UInt8, out: inout ByteBuffer) {
        writer.write(message, chunkStream: csid, into: &out)
    }

    /// Handles a control message; false for anything else.
    private mutating func control(_ message: RTMPMessage, out: inout ByteBuffer) throws(RTMPError) -> Bool {
        var payload = message.payload
        switch message.type {
        case RTMPMessage.Kind.setChunkSize:
            guard let size = payload.readInteger(as: UInt32.self) else { throw .malformedControl(type: message.type) }
            try reader.setChunkSize(size & 0x7FFF_FFFF)
        case RTMPMessage.Kind.windowAcknowledgementSize:
            guard let size = payload.readInteger(as: UInt32.self) else { throw .malformedControl(type: message.type) }
            peerWindow = max(size, 1)
        case RTMPMessage.Kind.userControl:
            guard let event = payload.readInteger(as: UInt16.self) else { throw .malformedControl(type: message.type) }
            if event == 6, let time = payload.readInteger(as: UInt32.self) {  // PingRequest
                send(.pingResponse(time), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
            }
        case RTMPMessage.Kind.acknowledgement, RTMPMessage.Kind.setPeerBandwidth, RTMPMessage.Kind.abort:
            break
        default:
            return false
        }
        return true
    }
}

import NIOCore

/// Splits messages into chunks of `chunkSize` (RTMP 1.0 §5.3): a type 0 header, then type 3 continuations,
/// each with the extended timestamp when the timestamp needs one (as FFmpeg writes and expects).
public struct RTMPChunkWriter: Sendable {
    public var chunkSize = 128

    /// Chunk streams by purpose: 2 is reserved for protocol control; the others are conventions clients share.
    public enum ChunkStream {
        public static let control: UInt8 = 2
        public static let command: UInt8 = 3
        public static let audio: UInt8 = 4
        public static let video: UInt8 = 6
        public static let data: UInt8 = 5
    }

    public init() {}

    public func write(_ message: RTMPMessage, chunkStream csid: UInt8, into out: inout ByteBuffer) {
        let extended = message.timestamp >= 0xFF_FFFF
        let length = message.payload.readableBytes
        out.writeInteger(csid & 0x3F)
        out.writeUInt24(extended ? 0xFF_FFFF : message.timestamp)
        out.writeUInt24(UInt32(length))
        out.writeInteger(message.type)
        out.writeInteger(message.streamID, endianness: .little)
        if extended { out.writeInteger(message.timestamp) }
        var payload = message.payload
        var first = true
        repeat {
            if !first {
                out.writeInteger(0xC0 | (csid & 0x3F))
                if extended { out.writeInteger(message.timestamp) }
            }
            first = false
            if let slice = payload.readSlice(length: min(chunkSize, payload.readableBytes)) {
                out.writeImmutableBuffer(slice)
            }
        } while payload.readableBytes > 0
    }
}

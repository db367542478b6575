import NIOCore

/// Reassembles RTMP messages from the chunk stream (RTMP 1.0 §5.3): interleaved chunk streams, header types
/// 0–3, extended timestamps. Bounded: a message is at most `maxMessageLength` bytes and at most
/// `maxChunkStreams` chunk streams may be open, so a hostile peer cannot make it hold much.
public struct RTMPChunkReader: Sendable {
    public static let maxMessageLength = 16 << 20
    public static let maxChunkStreams = 64
    /// Bytes of unfinished messages held across all chunk streams.
    public static let maxBuffered = 32 << 20
    public static let chunkSizeRange: ClosedRange<UInt32> = 1...65536

    private struct ChunkStream: Sendable {
        var timestamp: UInt32 = 0
        /// What a type 3 chunk that starts a message adds: the last delta, or a type 0's absolute timestamp.
        var delta: UInt32 = 0
        var length = 0
        var type: UInt8 = 0
        var streamID: UInt32 = 0
        /// The last type 0/1/2 header of this chunk stream carried an extended timestamp, and its value.
        var extended = false
        var extendedValue: UInt32 = 0
        /// The message being reassembled.
        var partial: ByteBuffer?
    }

    /// The peer's chunk size, as its Set Chunk Size said (128 until then).
    public private(set) var chunkSize = 128
    private var streams: [UInt32: ChunkStream] = [:]
    private var buffered = 0

    public init() {}

    public mutating func setChunkSize(_ size: UInt32) throws(RTMPError) {
        guard Self.chunkSizeRange.contains(size) else { throw .chunkSizeOutOfRange(size) }
        chunkSize = Int(size)
    }

    /// The next complete message in `input`, consuming its chunks; nil when `input` ends inside a chunk (that
    /// chunk is left in `input` for the next call).
    public mutating func next(_ input: inout ByteBuffer) throws(RTMPError) -> RTMPMessage? {
        while true {
            var b = input
            guard let outcome = try readChunk(&b) else { return nil }
            input = b
            if let message = outcome { return message }
        }
    }

    /// One chunk: nil if incomplete, `.some(nil)` if read but its message is not complete yet.
    private mutating func readChunk(_ b: inout ByteBuffer) throws(RTMPError) -> RTMPMessage?? {
        guard let first = b.readInteger(as: UInt8.self) else { return nil }
        let fmt = first >> 6
        var csid = UInt32(first & 0x3F)
        if csid == 0 {
            guard let c = b.readInteger(as: UInt8.self) else { return nil }
            csid = UInt32(c) + 64
        } else if csid == 1 {
            guard let lo = b.readInteger(as: UInt8.self), let hi = b.readInteger(as: UInt8.self) else { return nil }
            csid = UInt32(hi) << 8 + UInt32(lo) + 64
        }
        var s: ChunkStream
        if let known = streams[csid] {
            s = known
        } else {
            guard fmt == 0 else { throw .chunkWithoutHeader(chunkStream: csid) }
            guard streams.count < Self.maxChunkStreams else { throw .tooManyChunkStreams }
            s = ChunkStream()
        }
        let startsMessage: Bool
        var released = 0  // bytes of a dropped half message, given back once this chunk is read whole
        if fmt < 3 {
            guard let field = b.readUInt24() else { return nil }
            if fmt < 2 {
                guard let length = b.readUInt24(), let type = b.readInteger(as: UInt8.self) else { return nil }
                s.length = Int(length)
                s.type = type
            }
            if fmt == 0 {
                guard let id = b.readInteger(endianness: .little, as: UInt32.self) else { return nil }
                s.streamID = id
            }
            s.extended = field == 0xFF_FFFF
            var value = field
            if s.extended {
                guard let ext = b.readInteger(as: UInt32.self) else { return nil }
                value = ext
                s.extendedValue = ext
            }
            if fmt == 0 { s.timestamp = value } else { s.timestamp &+= value }
            s.delta = value
            // A new header starts a new message; whatever was half-assembled on this chunk stream is dropped.
            released = s.partial?.readableBytes ?? 0
            s.partial = nil
            startsMessage = true
        } else {
            startsMessage = s.partial == nil
            if s.extended {
                // Present on a type 3 chunk after an extended header (§5.3.1.3), but older encoders leave it out of
                // a message's later chunks: there, take the four bytes only when they repeat the value (SRS's rule).
                if startsMessage {
                    guard b.readInteger(as: UInt32.self) != nil else { return nil }
                } else {
                    guard let peek = b.getInteger(at: b.readerIndex, as: UInt32.self) else { return nil }
                    if peek == s.extendedValue { b.moveReaderIndex(forwardBy: 4) }
                }
            }
            if startsMessage { s.timestamp &+= s.delta }
        }
        if startsMessage {
            guard s.length <= Self.maxMessageLength else { throw .messageTooLarge(s.length) }
        }
        let take = min(chunkSize, s.length - (startsMessage ? 0 : s.partial?.readableBytes ?? 0))
        // Only once the whole chunk is here: a peer trickling a message's first chunk a few bytes per read must
        // not cost a new buffer per read.
        guard let bytes = b.readSlice(length: take) else { return nil }
        guard buffered - released + take <= Self.maxBuffered else { throw .messageTooLarge(buffered + take) }
        var partial: ByteBuffer
        if startsMessage {
            // Grown as chunks come, never reserved from the announced length: 64 chunk streams announcing 16 MiB
            // each would otherwise hold a gigabyte before a byte of payload arrived.
            partial = ByteBufferAllocator().buffer(capacity: min(s.length, 64 * 1024))
        } else {
            // The only reference while it grows (not the table's, not `s`'s): a shared buffer would be copied
            // whole by each chunk's write, quadratic in the message's length.
            partial = s.partial ?? ByteBuffer()
            s.partial = nil
            streams[csid]?.partial = nil
        }
        partial.writeImmutableBuffer(bytes)
        buffered -= released
        if partial.readableBytes == s.length {
            buffered -= partial.readableBytes - take
            s.partial = nil
            streams[csid] = s
            return .some(RTMPMessage(type: s.type, streamID: s.streamID, timestamp: s.timestamp, payload: partial))
        }
        buffered += take
        s.partial = partial
        streams[csid] = s
        return .some(nil)
    }
}

extension ByteBuffer {
    mutating func readUInt24() -> UInt32? {
        guard readableBytes >= 3, let hi = readInteger(as: UInt8.self), let lo = readInteger(as: UInt16.self) else { return nil }
        return UInt32(hi) << 16 | UInt32(lo)
    }

    mutating func writeUInt24(_ value: UInt32) {
        writeInteger(UInt8(truncatingIfNeeded: value >> 16))
        writeInteger(UInt16(truncatingIfNeeded: value))
    }
}

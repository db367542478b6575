import NIOCore

public enum RTPError: Error, Sendable, Equatable {
    case tooShort
    case badVersion
    case badLength
    /// The packet type or feedback format is not the one the parser reads.
    case unexpectedType
    /// A field holds a value the format forbids (a reserved symbol, a wrong identifier).
    case malformed
}

/// RFC 7983 demultiplexing of what arrives on the one media port, by the first byte.
public enum PacketKind: Sendable, Equatable {
    case stun, dtls, rtp, rtcp, unknown

    public static func classify(_ buffer: ByteBuffer) -> PacketKind {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return .unknown }
        switch first {
        case 0...3: return .stun
        case 20...63: return .dtls
        case 128...191:
            // RTCP packet types 192–223 (RFC 5761 §4): the second byte tells RTCP from RTP with rtcp-mux.
            guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return .unknown }
            return (192...223).contains(second) ? .rtcp : .rtp
        default: return .unknown
        }
    }
}

/// A view of an RTP packet in a ByteBuffer (RFC 3550 §5.1): fields are read and written in place.
public struct RTPPacket {
    public var buffer: ByteBuffer
    /// Offset of the payload from the reader index (after CSRCs and the header extension).
    public let payloadOffset: Int
    /// Length of trailing padding, if the P bit is set.
    public let paddingLength: Int

    public init(_ buffer: ByteBuffer) throws(RTPError) {
        let base = buffer.readerIndex
        let length = buffer.readableBytes
        guard length >= 12, let first = buffer.getInteger(at: base, as: UInt8.self) else { throw .tooShort }
        guard first >> 6 == 2 else { throw .badVersion }
        var offset = 12 + 4 * Int(first & 0x0F)
        if first & 0x10 != 0 {
            guard offset + 4 <= length, let words = buffer.getInteger(at: base + offset + 2, as: UInt16.self) else { throw .badLength }
            offset += 4 + 4 * Int(words)
        }
        guard offset <= length else { throw .badLength }
        var padding = 0
        if first & 0x20 != 0 {
            guard let last = buffer.getInteger(at: base + length - 1, as: UInt8.self), last > 0, offset + Int(last) <= length else {
                throw .badLength
            }
            padding = Int(last)
        }
        self.buffer = buffer
        self.payloadOffset = offset
        self.paddingLength = padding
    }

    private var base: Int { buffer.readerIndex }

    public var marker: Bool { (buffer.getInteger(at: base + 1, as: UInt8.self) ?? 0) & 0x80 != 0 }

    public var payloadType: UInt8 {
        get { (buffer.getInteger(at: base + 1, as: UInt8.self) ?? 0) & 0x7F }
        set {
            let m = (buffer.getInteger(at: base + 1, as: UInt8.self) ?? 0) & 0x80
            buffer.setInteger(m | (newValue & 0x7F), at: base + 1)
        }
    }

    public var sequenceNumber: UInt16 {
        get { buffer.getInteger(at: base + 2, as: UInt16.self) ?? 0 }
        set { buffer.setInteger(newValue, at: base + 2) }
    }

    public var timestamp: UInt32 {
        get { buffer.getInteger(at: base + 4, as: UInt32.self) ?? 0 }
        set { buffer.setInteger(newValue, at: base + 4) }
    }

    public var ssrc: UInt32 {
        get { buffer.getInteger(at: base + 8, as: UInt32.self) ?? 0 }
        set { buffer.setInteger(newValue, at: base + 8) }
    }

    public var payloadLength: Int { buffer.readableBytes - payloadOffset - paddingLength }

    /// The payload bytes (without padding), as a slice of the same storage.
    public var payload: ByteBuffer {
        buffer.getSlice(at: base + payloadOffset, length: payloadLength) ?? ByteBuffer()
    }
}

import NIOCore

/// RTCP packet types (RFC 3550, RFC 4585).
public enum RTCPType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let bye: UInt8 = 203
    public static let transportFeedback: UInt8 = 205  // FMT 1 = generic NACK, 15 = transport-cc
    public static let payloadFeedback: UInt8 = 206    // FMT 1 = PLI, 4 = FIR, 15 = REMB
}

/// The FMT values (the count field) of feedback packets (RFC 4585 §6, RFC 5104 §4.3).
public enum RTCPFeedbackFormat {
    public static let genericNACK: UInt8 = 1        // transport layer
    public static let transportCC: UInt8 = 15       // transport layer
    public static let pictureLoss: UInt8 = 1        // payload-specific
    public static let fullIntraRequest: UInt8 = 4   // payload-specific
    public static let applicationLayer: UInt8 = 15  // payload-specific: REMB
}

/// One packet of an RTCP compound packet, viewed in place.
public struct RTCPHeader: Sendable, Equatable {
    /// Offset from the compound's reader index.
    public let offset: Int
    /// Whole packet length in bytes, header included.
    public let length: Int
    /// The count / FMT field (low 5 bits of the first byte).
    public let count: UInt8
    public let packetType: UInt8
    /// The first SSRC (sender) of the packet.
    public let senderSSRC: UInt32?
    /// An application-layer feedback packet carrying the "REMB" identifier: only the bytes tell it from
    /// other FMT 15 payload-specific feedback, so the walk reads it.
    public let isREMB: Bool
}

extension RTCPHeader {
    public var isSenderReport: Bool { packetType == RTCPType.senderReport }
    public var isReceiverReport: Bool { packetType == RTCPType.receiverReport }
    public var isSDES: Bool { packetType == RTCPType.sourceDescription }
    public var isBye: Bool { packetType == RTCPType.bye }
    public var isNACK: Bool { packetType == RTCPType.transportFeedback && count == RTCPFeedbackFormat.genericNACK }
    public var isTransportFeedback: Bool { packetType == RTCPType.transportFeedback && count == RTCPFeedbackFormat.transportCC }
    public var isPLI: Bool { packetType == RTCPType.payloadFeedback && count == RTCPFeedbackFormat.pictureLoss }
    public var isFIR: Bool { packetType == RTCPType.payloadFeedback && count == RTCPFeedbackFormat.fullIntraRequest }
}

public enum RTCPCompound {
    /// The packets of a compound RTCP datagram; a length that runs past the end stops the walk with an error.
    public static func packets(_ buffer: ByteBuffer) throws(RTPError) -> [RTCPHeader] {
        var result: [RTCPHeader] = []
        var offset = 0
        let total = buffer.readableBytes
        while offset < total {
            let at = buffer.readerIndex + offset
            guard offset + 4 <= total, let first = buffer.getInteger(at: at, as: UInt8.self),
                  let type = buffer.getInteger(at: at + 1, as: UInt8.self),
                  let words = buffer.getInteger(at: at + 2, as: UInt16.self) else { throw .tooShort }
            guard first >> 6 == 2 else { throw .badVersion }
            let length = 4 * (Int(words) + 1)
            guard offset + length <= total else { throw .badLength }
            let ssrc = length >= 8 ? buffer.getInteger(at: at + 4, as: UInt32.self) : nil
            let isREMB = type == RTCPType.payloadFeedback && first & 0x1F == RTCPFeedbackFormat.applicationLayer
                && length >= 16 && buffer.getInteger(at: at + 12, as: UInt32.self) == RTCPRemb.identifier
            result.append(RTCPHeader(offset: offset, length: length, count: first & 0x1F, packetType: type,
                                     senderSSRC: ssrc, isREMB: isREMB))
            offset += length
        }
        return result
    }

    /// The media SSRC a feedback packet (RFC 4585 §6.1) is about.
    public static func mediaSSRC(of packet: RTCPHeader, in buffer: ByteBuffer) -> UInt32? {
        guard packet.length >= 12 else { return nil }
        return buffer.getInteger(at: buffer.readerIndex + packet.offset + 8, as: UInt32.self)
    }

    /// Whether `packet` is a REMB (draft-alvestrand-rmcat-remb §2.2), read from the bytes of `buffer`.
    public static func isREMB(_ packet: RTCPHeader, in buffer: ByteBuffer) -> Bool {
        guard packet.packetType == RTCPType.payloadFeedback, packet.count == RTCPFeedbackFormat.applicationLayer,
              packet.length >= 16, packet.offset >= 0, packet.offset <= buffer.readableBytes - packet.length else { return false }
        return buffer.getInteger(at: buffer.readerIndex + packet.offset + 12, as: UInt32.self) == RTCPRemb.identifier
    }

    /// A Picture Loss Indication (RFC 4585 §6.3.1): asks the sender of `mediaSSRC` for a keyframe.
    public static func pli(senderSSRC: UInt32, mediaSSRC: UInt32) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(12 + 64)
        b.writeInteger(UInt8(0x81))
        b.writeInteger(RTCPType.payloadFeedback)
        b.writeInteger(UInt16(2))
        b.writeInteger(senderSSRC)
        b.writeInteger(mediaSSRC)
        return b
    }

    /// A Receiver Report with no report blocks: RTCP packets must start with SR or RR (RFC 3550 §6.1).
    public static func emptyReceiverReport(senderSSRC: UInt32) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(0x80))
        b.writeInteger(RTCPType.receiverReport)
        b.writeInteger(UInt16(1))
        b.writeInteger(senderSSRC)
        return b
    }
}

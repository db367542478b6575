import NIOCore

/// A Generic NACK (RFC 4585 §6.2.1): the sequence numbers of `mediaSSRC` the sender of the NACK lacks.
public struct RTCPNack: Sendable, Equatable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// Every PID and the BLP bits after it, expanded, in the packet's order.
    public var lost: [UInt16]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.lost = lost
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.transportFeedback,
                                     format: RTCPFeedbackFormat.genericNACK, minimumLength: 12)
        senderSSRC = try r.read(4)
        mediaSSRC = try r.read(8)
        lost = []
        for p in stride(from: 12, to: r.length - 3, by: 4) {
            let pid: UInt16 = try r.read(p)
            let blp: UInt16 = try r.read(p + 2)
            lost.append(pid)
            for bit in 0..<16 where blp & (1 << bit) != 0 { lost.append(pid &+ UInt16(bit + 1)) }
        }
    }
}

/// A Full Intra Request (RFC 5104 §4.3.1): one entry per media sender asked for a decoder refresh.
public struct RTCPFir: Sendable, Equatable {
    public var senderSSRC: UInt32
    /// The command sequence number lets the media sender ignore repeats of a request it already served.
    public var entries: [(ssrc: UInt32, sequence: UInt8)]

    public init(senderSSRC: UInt32, entries: [(ssrc: UInt32, sequence: UInt8)]) {
        self.senderSSRC = senderSSRC
        self.entries = entries
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.payloadFeedback,
                                     format: RTCPFeedbackFormat.fullIntraRequest, minimumLength: 12)
        senderSSRC = try r.read(4)
        entries = []
        for p in stride(from: 12, to: r.length - 7, by: 8) {
            entries.append((try r.read(p), try r.read(p + 4)))
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.senderSSRC == rhs.senderSSRC && lhs.entries.elementsEqual(rhs.entries, by: ==)
    }
}

/// A Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03 §2.2).
public struct RTCPRemb: Sendable, Equatable {
    /// "REMB", the unique identifier that tells it from other application-layer feedback.
    static let identifier: UInt32 = 0x5245_4D42

    public var senderSSRC: UInt32
    /// Bits per second. A mantissa and exponent too large for 64 bits read as `UInt64.max`.
    public var bitrate: UInt64
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.payloadFeedback,
                                     format: RTCPFeedbackFormat.applicationLayer, minimumLength: 20)
        guard try r.read(12, as: UInt32.self) == Self.identifier else { throw .malformed }
        senderSSRC = try r.read(4)
        let count = Int(try r.read(16, as: UInt8.self))
        let exponent = Int(try r.read(17, as: UInt8.self) >> 2)
        let mantissa = UInt64(try r.uint24(17) & 0x3_FFFF)
        bitrate = mantissa.leadingZeroBitCount >= exponent ? mantissa << exponent : .max
        guard 20 + 4 * count <= r.length else { throw .badLength }
        ssrcs = []
        ssrcs.reserveCapacity(count)
        for i in 0..<count { ssrcs.append(try r.read(20 + 4 * i)) }
    }
}

extension RTCPCompound {
    /// NACK FCI entries one packet carries at most: 64 entries name up to 1088 packets in 268 bytes.
    /// The oldest missing packets are kept; the rest wait for the next NACK.
    public static let maxNackEntries = 64

    /// A Generic NACK naming `lost`, packed into PID+BLP entries. The input may be unsorted, repeat
    /// numbers and span the 65535 → 0 wrap: it is ordered by distance from its first element.
    public static func nack(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16]) -> ByteBuffer {
        let reference = lost.first ?? 0
        let sorted = lost.sorted { Int16(bitPattern: $0 &- reference) < Int16(bitPattern: $1 &- reference) }
        var b = ByteBuffer()
        b.reserveCapacity(12 + 4 * min(sorted.count, maxNackEntries))
        let start = RTCPWriter.begin(&b, count: RTCPFeedbackFormat.genericNACK, type: RTCPType.transportFeedback)
        b.writeInteger(senderSSRC)
        b.writeInteger(mediaSSRC)
        var i = 0
        var entries = 0
        while i < sorted.count, entries < maxNackEntries {
            let pid = sorted[i]
            var blp: UInt16 = 0
            i += 1
            while i < sorted.count {
                let distance = sorted[i] &- pid
                guard distance <= 16 else { break }
                if distance > 0 { blp |= 1 << (distance - 1) }  // 0: a repeat of the PID
                i += 1
            }
            b.writeInteger(pid)
            b.writeInteger(blp)
            entries += 1
        }
        RTCPWriter.finish(&b, start: start)
        return b
    }

    /// A Full Intra Request for `mediaSSRC`; the media source field stays 0 (RFC 5104 §4.3.1.2).
    public static func fir(senderSSRC: UInt32, mediaSSRC: UInt32, sequence: UInt8) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(20)
        let start = RTCPWriter.begin(&b, count: RTCPFeedbackFormat.fullIntraRequest, type: RTCPType.payloadFeedback)
        b.writeInteger(senderSSRC)
        b.writeInteger(UInt32(0))
        b.writeInteger(mediaSSRC)
        b.writeInteger(UInt32(sequence) << 24)
        RTCPWriter.finish(&b, start: start)
        return b
    }

    /// A REMB of `bitrate` bits per second for up to 255 SSRCs. The 18-bit mantissa keeps the top bits of
    /// the bitrate, so the value sent is rounded down.
    public static func remb(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) -> ByteBuffer {
        let ssrcs = ssrcs.prefix(255)
        var mantissa = bitrate
        var exponent: UInt8 = 0
        while mantissa > 0x3_FFFF {
            mantissa >>= 1
            exponent += 1
        }
        var b = ByteBuffer()
        b.reserveCapacity(20 + 4 * ssrcs.count)
        let start = RTCPWriter.begin(&b, count: RTCPFeedbackFormat.applicationLayer, type: RTCPType.payloadFeedback)
        b.writeInteger(senderSSRC)
        b.writeInteger(UInt32(0))
        b.writeInteger(RTCPRemb.identifier)
        b.writeInteger(UInt8(ssrcs.count))
        let field = UInt32(exponent) << 18 | UInt32(mantissa)  // 6-bit exponent, 18-bit mantissa
        b.writeInteger(UInt8(field >> 16))
        b.writeInteger(UInt16(truncatingIfNeeded: field))
        for ssrc in ssrcs { b.writeInteger(ssrc) }
        RTCPWriter.finish(&b, start: start)
        return b
    }
}

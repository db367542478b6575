import NIOCore

/// A reception report block of an SR or RR (RFC 3550 §6.4.1).
public struct RTCPReportBlock: Sendable, Equatable {
    public var ssrc: UInt32
    public var fractionLost: UInt8
    /// 24-bit signed on the wire: values beyond it are clamped when written.
    public var cumulativeLost: Int32
    /// Extended highest sequence number received (cycles in the high 16 bits).
    public var highestSequence: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR from this source (`compactNTP`), 0 if none.
    public var lastSR: UInt32
    /// In units of 1/65536 s.
    public var delaySinceLastSR: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32, jitter: UInt32,
                lastSR: UInt32, delaySinceLastSR: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequence = highestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    static let size = 24

    init(_ r: RTCPPacketReader, at offset: Int) throws(RTPError) {
        ssrc = try r.read(offset)
        fractionLost = try r.read(offset + 4)
        cumulativeLost = try r.int24(offset + 5)
        highestSequence = try r.read(offset + 8)
        jitter = try r.read(offset + 12)
        lastSR = try r.read(offset + 16)
        delaySinceLastSR = try r.read(offset + 20)
    }

    func write(to buffer: inout ByteBuffer) {
        let lost = UInt32(bitPattern: min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)) & 0xFF_FFFF
        buffer.writeInteger(ssrc)
        buffer.writeInteger(UInt32(fractionLost) << 24 | lost)
        buffer.writeInteger(highestSequence)
        buffer.writeInteger(jitter)
        buffer.writeInteger(lastSR)
        buffer.writeInteger(delaySinceLastSR)
    }

    /// Report blocks are counted by a 5-bit field.
    static let maxCount = 31

    static func parse(_ r: RTCPPacketReader, at offset: Int) throws(RTPError) -> [RTCPReportBlock] {
        let count = Int(r.count)
        guard offset + count * size <= r.length else { throw .badLength }
        var blocks: [RTCPReportBlock] = []
        blocks.reserveCapacity(count)
        for i in 0..<count { blocks.append(try RTCPReportBlock(r, at: offset + i * size)) }
        return blocks
    }
}

/// A Sender Report (RFC 3550 §6.4.1). Profile-specific extensions after the report blocks are ignored.
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    public var ntpTimestamp: UInt64
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
                reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }

    /// Parses the packet `header` (from `RTCPCompound.packets(buffer)`) of the compound `buffer`.
    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.senderReport, minimumLength: 28)
        ssrc = try r.read(4)
        ntpTimestamp = try r.read(8)
        rtpTimestamp = try r.read(16)
        packetCount = try r.read(20)
        octetCount = try r.read(24)
        reports = try RTCPReportBlock.parse(r, at: 28)
    }

    /// Middle 32 bits of the NTP timestamp, as used in LSR.
    public var compactNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }
}

/// A Receiver Report (RFC 3550 §6.4.2).
public struct RTCPReceiverReport: Sendable, Equatable {
    public var ssrc: UInt32
    public var reports: [RTCPReportBlock]

    public init(ssrc: UInt32, reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.reports = reports
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.receiverReport, minimumLength: 8)
        ssrc = try r.read(4)
        reports = try RTCPReportBlock.parse(r, at: 8)
    }
}

/// A Source Description packet (RFC 3550 §6.5): per SSRC, its items (1 = CNAME, 2 = NAME, ...).
public struct RTCPSourceDescription: Sendable, Equatable {
    public static let cnameItem: UInt8 = 1

    public var chunks: [(ssrc: UInt32, items: [(type: UInt8, value: [UInt8])])]

    public init(chunks: [(ssrc: UInt32, items: [(type: UInt8, value: [UInt8])])]) {
        self.chunks = chunks
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.sourceDescription, minimumLength: 4)
        chunks = []
        var p = 4
        for _ in 0..<r.count {
            let ssrc: UInt32 = try r.read(p)
            p += 4
            var items: [(type: UInt8, value: [UInt8])] = []
            while true {
                let type: UInt8 = try r.read(p)
                if type == 0 {
                    // The null item ends the chunk; the next one starts on a 32-bit boundary.
                    p = (p + 4) & ~3
                    break
                }
                let length = Int(try r.read(p + 1, as: UInt8.self))
                items.append((type, try r.bytes(p + 2, count: length)))
                p += 2 + length
            }
            chunks.append((ssrc, items))
        }
    }

    /// The CNAME of each SSRC that sent one (UTF-8, invalid sequences repaired).
    public var cnames: [UInt32: String] {
        var result: [UInt32: String] = [:]
        for chunk in chunks {
            if let item = chunk.items.first(where: { $0.type == Self.cnameItem }) {
                result[chunk.ssrc] = String(decoding: item.value, as: UTF8.self)
            }
        }
        return result
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.chunks.elementsEqual(rhs.chunks) { a, b in
            a.ssrc == b.ssrc && a.items.elementsEqual(b.items) { $0.type == $1.type && $0.value == $1.value }
        }
    }
}

/// A Goodbye packet (RFC 3550 §6.6).
public struct RTCPBye: Sendable, Equatable {
    public var ssrcs: [UInt32]
    public var reason: String?

    public init(ssrcs: [UInt32], reason: String? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.bye, minimumLength: 4)
        let count = Int(r.count)
        guard 4 + 4 * count <= r.length else { throw .badLength }
        ssrcs = []
        ssrcs.reserveCapacity(count)
        for i in 0..<count { ssrcs.append(try r.read(4 + 4 * i)) }
        let p = 4 + 4 * count
        // A zero length octet here is padding, not an empty reason.
        let length = try p < r.length ? Int(r.read(p, as: UInt8.self)) : 0
        reason = try length > 0 ? String(decoding: r.bytes(p + 1, count: length), as: UTF8.self) : nil
    }
}

extension RTCPCompound {
    /// A Sender Report; at most 31 report blocks are written (the count field's limit).
    public static func senderReport(_ sr: RTCPSenderReport) -> ByteBuffer {
        let reports = sr.reports.prefix(RTCPReportBlock.maxCount)
        var b = ByteBuffer()
        b.reserveCapacity(28 + RTCPReportBlock.size * reports.count)
        let start = RTCPWriter.begin(&b, count: UInt8(reports.count), type: RTCPType.senderReport)
        b.writeInteger(sr.ssrc)
        b.writeInteger(sr.ntpTimestamp)
        b.writeInteger(sr.rtpTimestamp)
        b.writeInteger(sr.packetCount)
        b.writeInteger(sr.octetCount)
        for block in reports { block.write(to: &b) }
        RTCPWriter.finish(&b, start: start)
        return b
    }

    /// A Receiver Report; at most 31 report blocks are written.
    public static func receiverReport(senderSSRC: UInt32, reports: [RTCPReportBlock]) -> ByteBuffer {
        let reports = reports.prefix(RTCPReportBlock.maxCount)
        var b = ByteBuffer()
        b.reserveCapacity(8 + RTCPReportBlock.size * reports.count)
        let start = RTCPWriter.begin(&b, count: UInt8(reports.count), type: RTCPType.receiverReport)
        b.writeInteger(senderSSRC)
        for block in reports { block.write(to: &b) }
        RTCPWriter.finish(&b, start: start)
        return b
    }

    /// An SDES packet with one chunk holding the CNAME (cut to 255 UTF-8 bytes, the item length limit).
    public static func sdes(ssrc: UInt32, cname: String) -> ByteBuffer {
        let value = RTCPWriter.utf8Prefix(cname, limit: 255)
        var b = ByteBuffer()
        b.reserveCapacity(12 + value.count + 4)
        let start = RTCPWriter.begin(&b, count: 1, type: RTCPType.sourceDescription)
        b.writeInteger(ssrc)
        b.writeInteger(RTCPSourceDescription.cnameItem)
        b.writeInteger(UInt8(value.count))
        b.writeBytes(value)
        b.writeInteger(UInt8(0))  // the null item; finish pads the chunk to 32 bits with more
        RTCPWriter.finish(&b, start: start)
        return b
    }

    /// A BYE for up to 31 SSRCs, with an optional reason (cut to 255 UTF-8 bytes).
    public static func bye(ssrcs: [UInt32], reason: String?) -> ByteBuffer {
        let ssrcs = ssrcs.prefix(31)
        var b = ByteBuffer()
        b.reserveCapacity(4 + 4 * ssrcs.count + 260)
        let start = RTCPWriter.begin(&b, count: UInt8(ssrcs.count), type: RTCPType.bye)
        for ssrc in ssrcs { b.writeInteger(ssrc) }
        if let reason, !reason.isEmpty {
            let text = RTCPWriter.utf8Prefix(reason, limit: 255)
            b.writeInteger(UInt8(text.count))
            b.writeBytes(text)
        }
        RTCPWriter.finish(&b, start: start)
        return b
    }
}

import NIOCore

/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1):
/// for a run of transport-wide sequence numbers, which arrived and when.
public struct RTCPTransportFeedback: Sendable, Equatable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequence: UInt16
    /// 24-bit signed on the wire, in units of 64 ms.
    public var referenceTime: Int32
    public var feedbackCount: UInt8
    /// Each sequence number from `baseSequence` on, in order. `receivedDelta` is in microseconds since the
    /// previous received packet (the first one: since `referenceTime` × 64 ms); nil when not received.
    public var packets: [(sequence: UInt16, receivedDelta: Int64?)]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16, referenceTime: Int32, feedbackCount: UInt8,
                packets: [(sequence: UInt16, receivedDelta: Int64?)]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequence = baseSequence
        self.referenceTime = referenceTime
        self.feedbackCount = feedbackCount
        self.packets = packets
    }

    public init(_ buffer: ByteBuffer, header: RTCPHeader) throws(RTPError) {
        let r = try RTCPPacketReader(buffer, header: header, type: RTCPType.transportFeedback,
                                     format: RTCPFeedbackFormat.transportCC, minimumLength: 20)
        senderSSRC = try r.read(4)
        mediaSSRC = try r.read(8)
        baseSequence = try r.read(12)
        let statusCount = Int(try r.read(14, as: UInt16.self))
        referenceTime = try r.int24(16)
        feedbackCount = try r.read(19)

        // Chunks until every status is known: the last chunk may describe more packets than remain.
        var statuses: [UInt8] = []
        statuses.reserveCapacity(min(statusCount, r.length * 7))
        var p = 20
        while statuses.count < statusCount {
            let chunk: UInt16 = try r.read(p)
            p += 2
            let remaining = statusCount - statuses.count
            if chunk & 0x8000 == 0 {
                // Run length chunk: 2-bit status, 13-bit run.
                let status = UInt8(chunk >> 13 & 0x3)
                let run = min(Int(chunk & 0x1FFF), remaining)
                guard status != TransportStatus.reserved || run == 0 else { throw .malformed }
                statuses.append(contentsOf: repeatElement(status, count: run))
            } else if chunk & 0x4000 == 0 {
                // Status vector of fourteen 1-bit symbols: received with a small delta, or not.
                for i in 0..<min(14, remaining) { statuses.append(UInt8(chunk >> (13 - i) & 0x1)) }
            } else {
                // Status vector of seven 2-bit symbols.
                for i in 0..<min(7, remaining) {
                    let status = UInt8(chunk >> (12 - 2 * i) & 0x3)
                    guard status != TransportStatus.reserved else { throw .malformed }
                    statuses.append(status)
                }
            }
        }

        packets = []
        packets.reserveCapacity(statusCount)
        for (i, status) in statuses.enumerated() {
            let sequence = baseSequence &+ UInt16(truncatingIfNeeded: i)
            switch status {
            case TransportStatus.smallDelta:
                packets.append((sequence, Int64(try r.read(p, as: UInt8.self)) * TransportStatus.tick))
                p += 1
            case TransportStatus.largeDelta:
                packets.append((sequence, Int64(try r.read(p, as: Int16.self)) * TransportStatus.tick))
                p += 2
            default:
                packets.append((sequence, nil))
            }
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.senderSSRC == rhs.senderSSRC && lhs.mediaSSRC == rhs.mediaSSRC && lhs.baseSequence == rhs.baseSequence
            && lhs.referenceTime == rhs.referenceTime && lhs.feedbackCount == rhs.feedbackCount
            && lhs.packets.elementsEqual(rhs.packets) { $0.sequence == $1.sequence && $0.receivedDelta == $1.receivedDelta }
    }
}

/// Packet status symbols and the delta unit.
enum TransportStatus {
    static let notReceived: UInt8 = 0
    static let smallDelta: UInt8 = 1
    static let largeDelta: UInt8 = 2
    static let reserved: UInt8 = 3
    /// Receive deltas count 250 µs.
    static let tick: Int64 = 250
    /// The reference time counts 64 ms.
    static let referenceUnit: Int64 = 64_000
}

/// Packs statuses into chunks the way libwebrtc does: statuses gather until the next one no longer fits a
/// single chunk (7 two-bit, 14 one-bit, or a run of up to 8191 equal ones), then the densest chunk for the
/// gathered ones is emitted.
struct StatusChunkEncoder {
    private static let maxRun = 0x1FFF
    /// The first 14 pending statuses, two bits each, the first in the low bits.
    private var symbols: UInt32 = 0
    private(set) var size = 0
    private var first: UInt8 = 0
    private var allSame = true
    private var hasLarge = false

    func canAdd(_ status: UInt8) -> Bool {
        if size < 7 { return true }
        if size < 14, !hasLarge, status != TransportStatus.largeDelta { return true }
        return size < Self.maxRun && allSame && status == first
    }

    mutating func add(_ status: UInt8) {
        if size == 0 { first = status }
        if size < 14 { symbols |= UInt32(status) << (2 * size) }
        allSame = allSame && status == first
        hasLarge = hasLarge || status == TransportStatus.largeDelta
        size += 1
    }

    /// Call when `canAdd` refused: the chunk for the pending statuses, or for the first 7 of them.
    /// Afterwards the next status can always be added.
    mutating func emit() -> UInt16 {
        if allSame {
            defer { self = StatusChunkEncoder() }
            return runLength()
        }
        if size == 14 {  // not all equal, so no large delta among them
            defer { self = StatusChunkEncoder() }
            return oneBit()
        }
        let chunk = twoBit()
        let rest = symbols >> 14
        let restCount = size - 7
        self = StatusChunkEncoder()
        for i in 0..<restCount { add(UInt8(rest >> (2 * i) & 0x3)) }
        return chunk
    }

    /// The chunk for the statuses still pending at the end, if any.
    func last() -> UInt16? {
        guard size > 0 else { return nil }
        if allSame { return runLength() }
        return size <= 7 ? twoBit() : oneBit()
    }

    private func runLength() -> UInt16 { UInt16(first) << 13 | UInt16(size) }

    private func twoBit() -> UInt16 {
        var chunk: UInt16 = 0xC000
        for i in 0..<min(size, 7) { chunk |= UInt16(symbols >> (2 * i) & 0x3) << (12 - 2 * i) }
        return chunk
    }

    private func oneBit() -> UInt16 {
        var chunk: UInt16 = 0x8000
        for i in 0..<min(size, 14) { chunk |= UInt16(symbols >> (2 * i) & 0x1) << (13 - i) }
        return chunk
    }
}

extension RTCPCompound {
    /// The size a transport-cc feedback packet is kept under, so it fits any path MTU with room for SRTCP.
    public static let maxTransportFeedbackSize = 1100

    /// Encodes transport-cc feedback for `packets` (consecutive sequence numbers starting at
    /// `baseSequence`; arrival time in microseconds on any monotonic clock, nil = lost). The reference time
    /// is the first received packet's arrival floored to 64 ms. Deltas are 250 µs units: 1-byte when
    /// 0...255, else 2-byte signed. Returns the packet and how many entries of `packets` it encoded:
    /// encoding stops early when a delta does not fit in Int16 or when the packet would exceed
    /// `maxTransportFeedbackSize`, and the caller sends the rest in the next feedback.
    public static func transportFeedback(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16,
                                         feedbackCount: UInt8, packets: [Int64?]) -> (packet: ByteBuffer, encoded: Int) {
        var encoder = StatusChunkEncoder()
        var chunks: [UInt16] = []
        var deltas: [UInt8] = []
        var reference: Int64?   // in 64 ms units
        var previousTicks: Int64 = 0  // the previous received packet, in ticks since the reference
        var encoded = 0

        for arrival in packets.prefix(Int(UInt16.max)) {
            var status = TransportStatus.notReceived
            var ticks = previousTicks
            var delta: Int64 = 0
            if let arrival {
                let unit = reference ?? floorDivide(arrival, TransportStatus.referenceUnit)
                let (origin, o1) = unit.multipliedReportingOverflow(by: TransportStatus.referenceUnit)
                let (sinceOrigin, o2) = arrival.subtractingReportingOverflow(origin)
                let (d, o3) = floorDivide(sinceOrigin, TransportStatus.tick).subtractingReportingOverflow(previousTicks)
                if !o1, !o2, !o3, let fits = Int16(exactly: d) {
                    ticks = previousTicks + d
                    delta = Int64(fits)
                    status = (0...255).contains(delta) ? TransportStatus.smallDelta : TransportStatus.largeDelta
                    reference = unit
                } else if reference != nil {
                    break  // the next feedback starts from this packet, where its delta is 0...255
                }
                // else an arrival at the very end of Int64's range: reported lost rather than never encoded
            }
            let deltaSize = Int(status)  // 0, 1 or 2 bytes
            let chunkCount = chunks.count + (encoder.canAdd(status) ? 0 : 1) + 1
            guard (20 + 2 * chunkCount + deltas.count + deltaSize + 3) & ~3 <= maxTransportFeedbackSize else { break }

            if !encoder.canAdd(status) { chunks.append(encoder.emit()) }
            encoder.add(status)
            if status == TransportStatus.smallDelta {
                deltas.append(UInt8(delta))
            } else if status == TransportStatus.largeDelta {
                let bits = UInt16(bitPattern: Int16(delta))
                deltas.append(UInt8(bits >> 8))
                deltas.append(UInt8(truncatingIfNeeded: bits))
            }
            previousTicks = ticks
            encoded += 1
        }
        if let chunk = encoder.last() { chunks.append(chunk) }

        var b = ByteBuffer()
        b.reserveCapacity(20 + 2 * chunks.count + deltas.count + 3)
        let start = RTCPWriter.begin(&b, count: RTCPFeedbackFormat.transportCC, type: RTCPType.transportFeedback)
        b.writeInteger(senderSSRC)
        b.writeInteger(mediaSSRC)
        b.writeInteger(baseSequence)
        b.writeInteger(UInt16(encoded))
        // The receiver only compares reference times, so the 24-bit field may wrap.
        let referenceBits = UInt32(truncatingIfNeeded: reference ?? 0) & 0xFF_FFFF
        b.writeInteger(referenceBits << 8 | UInt32(feedbackCount))
        for chunk in chunks { b.writeInteger(chunk) }
        b.writeBytes(deltas)
        // RFC 3550 padding, as libwebrtc writes it.
        RTCPWriter.finish(&b, start: start, paddingBit: true)
        return (b, encoded)
    }
}

/// Division rounding toward negative infinity (`b` > 0), so times before the clock's zero floor correctly.
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return a % b < 0 ? q - 1 : q
}

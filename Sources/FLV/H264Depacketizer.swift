import NIOCore
import RTP

/// RTP H.264 (RFC 6184: single NAL unit packets, STAP-A, FU-A) back to access units, for RTMP players. An access
/// unit ends at its marker bit or when the timestamp changes. After a lost packet the broken access unit and
/// everything up to the next keyframe is dropped (`needsKeyframe` says to ask for one), so a player never decodes
/// from a hole.
public struct H264Depacketizer: Sendable {
    public struct AccessUnit: Sendable, Equatable {
        public let nalUnits: [ByteBuffer]
        public let isKeyframe: Bool
        public let rtpTimestamp: UInt32

        public init(nalUnits: [ByteBuffer], isKeyframe: Bool, rtpTimestamp: UInt32) {
            self.nalUnits = nalUnits
            self.isKeyframe = isKeyframe
            self.rtpTimestamp = rtpTimestamp
        }
    }

    /// Bound on one access unit, against a stream of fragments that never ends.
    public static let maxAccessUnit = 4 << 20
    /// Bound on a kept SPS or PPS.
    public static let maxParameterSet = 1024

    private var units: [ByteBuffer] = []
    private var size = 0
    private var fragment: ByteBuffer?
    private var boundary = RTPFrameBoundary()
    private var broken = false
    /// The latest parameter sets seen in the stream.
    public private(set) var sps: [UInt8]?
    public private(set) var pps: [UInt8]?
    /// True from a loss until a keyframe has come through.
    public private(set) var needsKeyframe = true

    public init() {}

    public mutating func push(_ payload: ByteBuffer, sequence: UInt16, timestamp: UInt32, marker: Bool) -> AccessUnit? {
        var done: AccessUnit?
        let previous = boundary.timestamp
        let (closes, lost) = boundary.next(sequence: sequence, timestamp: timestamp)
        // A loss before a new frame may have taken the previous frame's end: that frame is not given out.
        if lost {
            broken = true
            needsKeyframe = true
        }
        if closes, let previous, !units.isEmpty || fragment != nil {
            done = finish(previous)
        }
        read(payload)
        if marker, let unit = finish(timestamp) { done = unit }
        return done
    }

    private mutating func read(_ payload: ByteBuffer) {
        var b = payload
        guard let header = b.getInteger(at: b.readerIndex, as: UInt8.self) else { return }
        switch header & 0x1F {
        case 1...23:
            add(b)
        case 24:  // STAP-A
            b.moveReaderIndex(forwardBy: 1)
            while let length = b.readInteger(as: UInt16.self) {
                guard length > 0, let unit = b.readSlice(length: Int(length)) else {
                    broken = true
                    return
                }
                add(unit)
            }
        case 28:  // FU-A
            b.moveReaderIndex(forwardBy: 1)
            guard let fu = b.readInteger(as: UInt8.self) else { return }
            if fu & 0x80 != 0 {
                var start = ByteBuffer()
                start.writeInteger((header & 0xE0) | (fu & 0x1F))
                fragment = start
            }
            guard var f = fragment else {
                broken = true  // a middle or end without its start
                return
            }
            fragment = nil  // `f` the only reference: the append must not copy the fragment so far
            f.writeImmutableBuffer(b)
            fragment = f
            if f.readableBytes > Self.maxAccessUnit { broken = true }
            if fu & 0x40 != 0 {
                add(f)
                fragment = nil
            }
        default:
            broken = true  // STAP-B, MTAP, FU-B: not packetization-mode 1
        }
    }

    private mutating func add(_ unit: ByteBuffer) {
        size += unit.readableBytes
        if size > Self.maxAccessUnit { broken = true }
        switch unit.nalUnitType {
        // Parameter sets are a few bytes; a publisher's huge one is not kept (an avcC holds at most 64 KiB).
        case 7 where unit.readableBytes <= Self.maxParameterSet: sps = Array(unit.readableBytesView)
        case 8 where unit.readableBytes <= Self.maxParameterSet: pps = Array(unit.readableBytesView)
        default: break
        }
        units.append(unit)
    }

    private mutating func finish(_ timestamp: UInt32) -> AccessUnit? {
        defer {
            units = []
            size = 0
            fragment = nil
            broken = false
        }
        if fragment != nil { broken = true }  // its end never came
        guard !broken, !units.isEmpty else { return nil }
        let key = units.contains { $0.nalUnitType == 5 }
        if needsKeyframe && !key { return nil }
        if key { needsKeyframe = false }
        return AccessUnit(nalUnits: units, isKeyframe: key, rtpTimestamp: timestamp)
    }
}

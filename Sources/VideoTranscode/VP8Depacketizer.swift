import NIOCore
import RTP

/// RTP VP8 (RFC 7741) back to whole frames, for the VP8 → H.264 transcoder. A frame starts at a packet with S=1
/// and partition 0 and ends at its marker bit or when the timestamp changes. After a lost packet the broken frame
/// and everything up to the next keyframe is dropped (`needsKeyframe` says to ask for one): a decoder fed a
/// hole would show garbage until then.
public struct VP8Depacketizer: Sendable {
    public struct Frame: Sendable, Equatable {
        public let bytes: [UInt8]
        public let isKeyframe: Bool
        public let rtpTimestamp: UInt32
    }

    /// Bound on one frame, against a stream that never ends one.
    public static let maxFrame = 4 << 20

    private var bytes: [UInt8] = []
    private var boundary = RTPFrameBoundary()
    private var started = false
    private var broken = false
    /// True from a loss until a keyframe has come through.
    public private(set) var needsKeyframe = true

    public init() {}

    public mutating func push(_ payload: ByteBuffer, sequence: UInt16, timestamp: UInt32, marker: Bool) -> Frame? {
        var done: Frame?
        let previous = boundary.timestamp
        let (closes, lost) = boundary.next(sequence: sequence, timestamp: timestamp)
        // A loss before a new frame may have taken the previous frame's end: that frame is not given out. The new
        // one is whole if its start (S=1) is here, which `read` checks.
        if lost {
            broken = true
            needsKeyframe = true
        }
        if closes, let previous, started { done = finish(previous) }
        read(payload)
        if marker, let frame = finish(timestamp) { done = frame }
        return done
    }

    private mutating func read(_ payload: ByteBuffer) {
        var b = payload
        guard let first = b.readInteger(as: UInt8.self) else { return }
        if first & 0x80 != 0 {  // X: the extension byte, then what it announces
            guard let ext = b.readInteger(as: UInt8.self) else { return markBroken() }
            if ext & 0x80 != 0 {  // I: picture id, 7 or 15 bits
                guard let id = b.readInteger(as: UInt8.self) else { return markBroken() }
                if id & 0x80 != 0, b.readInteger(as: UInt8.self) == nil { return markBroken() }
            }
            if ext & 0x40 != 0, b.readInteger(as: UInt8.self) == nil { return markBroken() }  // L: TL0PICIDX
            if ext & 0x30 != 0, b.readInteger(as: UInt8.self) == nil { return markBroken() }  // T or K: TID/KEYIDX
        }
        let startOfFrame = first & 0x10 != 0 && first & 0x07 == 0
        if startOfFrame {
            if started { broken = true }  // the previous frame never ended
            bytes = []
            started = true
        } else if !started {
            return markBroken()  // a frame's middle without its start
        }
        guard bytes.count + b.readableBytes <= Self.maxFrame else { return markBroken() }
        bytes.append(contentsOf: b.readableBytesView)
    }

    private mutating func markBroken() { broken = true }

    private mutating func finish(_ timestamp: UInt32) -> Frame? {
        defer {
            bytes = []
            started = false
            broken = false
        }
        guard started, !broken, let first = bytes.first else { return nil }
        let key = first & 0x01 == 0  // the VP8 frame tag's inverse key frame flag (RFC 6386 §9.1)
        if needsKeyframe && !key { return nil }
        if key { needsKeyframe = false }
        return Frame(bytes: bytes, isKeyframe: key, rtpTimestamp: timestamp)
    }
}

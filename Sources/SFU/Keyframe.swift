import NIOCore

/// Tells whether an RTP payload starts a keyframe, so a new subscriber starts decoding at one and the server
/// knows when a keyframe request has been answered.
public enum KeyframeDetector {
    public enum Codec: Sendable { case vp8, h264, other }

    public static func isKeyframe(_ payload: ByteBuffer, codec: Codec) -> Bool {
        switch codec {
        case .vp8: vp8(payload)
        case .h264: h264(payload)
        case .other: false
        }
    }

    /// RFC 7741: the descriptor's S bit and partition 0 start the frame; bit 0 of the VP8 header is 0 for a keyframe.
    static func vp8(_ p: ByteBuffer) -> Bool {
        let base = p.readerIndex
        guard let first = p.getInteger(at: base, as: UInt8.self) else { return false }
        guard first & 0x10 != 0, first & 0x0F == 0 else { return false }  // S=1, PID=0
        var offset = 1
        if first & 0x80 != 0 {  // X: extension byte I L T K follows
            guard let x = p.getInteger(at: base + 1, as: UInt8.self) else { return false }
            offset = 2
            if x & 0x80 != 0 {  // I: picture id, 7 or 15 bits
                guard let pid = p.getInteger(at: base + offset, as: UInt8.self) else { return false }
                offset += pid & 0x80 != 0 ? 2 : 1
            }
            if x & 0x40 != 0 { offset += 1 }  // L: TL0PICIDX
            if x & 0x30 != 0 { offset += 1 }  // T or K: TID/Y/KEYIDX
        }
        guard let header = p.getInteger(at: base + offset, as: UInt8.self) else { return false }
        return header & 0x01 == 0
    }

    /// RFC 6184: an IDR slice (5) or SPS (7), alone, inside STAP-A, or starting an FU-A.
    static func h264(_ p: ByteBuffer) -> Bool {
        let base = p.readerIndex
        guard let first = p.getInteger(at: base, as: UInt8.self) else { return false }
        switch first & 0x1F {
        case 5, 7:
            return true
        case 24:  // STAP-A: 16-bit size, then a NAL unit, repeated
            var offset = 1
            while let size = p.getInteger(at: base + offset, as: UInt16.self), size > 0,
                  let nal = p.getInteger(at: base + offset + 2, as: UInt8.self) {
                if nal & 0x1F == 5 || nal & 0x1F == 7 { return true }
                offset += 2 + Int(size)
            }
            return false
        case 28:  // FU-A: the start fragment carries the NAL type
            guard let fu = p.getInteger(at: base + 1, as: UInt8.self) else { return false }
            return fu & 0x80 != 0 && (fu & 0x1F == 5 || fu & 0x1F == 7)
        default:
            return false
        }
    }
}

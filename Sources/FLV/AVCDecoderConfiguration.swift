import NIOCore

/// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1), the AVC sequence header of FLV: the SPS and
/// PPS a decoder needs before the first frame, and how long the NAL unit length prefixes of frames are.
public struct AVCDecoderConfiguration: Sendable, Equatable {
    public let lengthSize: Int
    public let sps: [[UInt8]]
    public let pps: [[UInt8]]

    public init(_ data: ByteBuffer) throws(FLVError) {
        var b = data
        guard let version = b.readInteger(as: UInt8.self), version == 1,
              b.readBytes(length: 3) != nil,  // profile, compatibility, level (the SPS has them too)
              let length = b.readInteger(as: UInt8.self), let spsCount = b.readInteger(as: UInt8.self)
        else { throw .badDecoderConfiguration }
        lengthSize = Int(length & 0x03) + 1
        func sets(_ count: Int) throws(FLVError) -> [[UInt8]] {
            var out: [[UInt8]] = []
            for _ in 0..<count {
                guard let size = b.readInteger(as: UInt16.self), size > 0, let nal = b.readBytes(length: Int(size)) else {
                    throw .badDecoderConfiguration
                }
                out.append(nal)
            }
            return out
        }
        sps = try sets(Int(spsCount & 0x1F))
        guard let ppsCount = b.readInteger(as: UInt8.self) else { throw .badDecoderConfiguration }
        pps = try sets(Int(ppsCount))
        guard let first = sps.first, first.count >= 4 else { throw .badDecoderConfiguration }
    }

    /// The SPS's profile_idc, constraint flags and level_idc as six hex digits: the SDP `profile-level-id`.
    public var profileLevelID: String? {
        guard let s = sps.first, s.count >= 4 else { return nil }
        return s[1...3].map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// Splits an access unit of length-prefixed NAL units (AVCC) into NAL units; nil if a length runs past the end.
    public func nalUnits(_ accessUnit: ByteBuffer) -> [ByteBuffer]? {
        var b = accessUnit
        var units: [ByteBuffer] = []
        while b.readableBytes > 0 {
            var length = 0
            for _ in 0..<lengthSize {
                guard let byte = b.readInteger(as: UInt8.self) else { return nil }
                length = length << 8 | Int(byte)
            }
            guard let unit = b.readSlice(length: length) else { return nil }
            if length > 0 { units.append(unit) }
        }
        return units
    }
}

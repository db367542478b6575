import NIOCore

/// FLV payloads for RTMP players (FLV 10.1 §E.4): AVC and AAC sequence headers and frames.
public enum FLVWriter {
    /// An AVC sequence header (key frame, packet type 0) holding an AVCDecoderConfigurationRecord with 4-byte lengths.
    public static func avcSequenceHeader(sps: [UInt8], pps: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x17, 0x00, 0x00, 0x00, 0x00])
        b.writeBytes(avcDecoderConfigurationRecord(sps: sps, pps: pps))
        return b
    }

    /// An AVCDecoderConfigurationRecord (ISO 14496-15 §5.2.4.1) with 4-byte lengths: FLV's sequence header and
    /// Matroska's codec private data for H.264.
    public static func avcDecoderConfigurationRecord(sps: [UInt8], pps: [UInt8]) -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(UInt8(1))
        b.writeBytes(sps.count >= 4 ? Array(sps[1...3]) : [0x42, 0xC0, 0x1E])
        b.writeInteger(UInt8(0xFF))  // 4-byte NAL unit lengths
        b.writeInteger(UInt8(0xE1))  // one SPS
        // Lengths are 16 bits: a longer parameter set is cut rather than trapping (the depacketizer keeps none).
        b.writeInteger(UInt16(clamping: sps.count))
        b.writeBytes(sps.prefix(Int(UInt16.max)))
        b.writeInteger(UInt8(1))
        b.writeInteger(UInt16(clamping: pps.count))
        b.writeBytes(pps.prefix(Int(UInt16.max)))
        return Array(b.readableBytesView)
    }

    /// One access unit as AVCC NAL units (packet type 1, composition time 0: browsers send no B-frames).
    /// Parameter sets are left out: they travel in the sequence header.
    public static func avcFrame(_ units: [ByteBuffer], keyframe: Bool) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([keyframe ? 0x17 : 0x27, 0x01, 0x00, 0x00, 0x00])
        for unit in units {
            if [7, 8, 9].contains(unit.nalUnitType) { continue }
            b.writeInteger(UInt32(unit.readableBytes))
            b.writeImmutableBuffer(unit)
        }
        return b
    }

    /// AAC, 44 kHz/16-bit/stereo flags as FLV requires for AAC (`0xAF`): the AudioSpecificConfig (packet type 0).
    public static func aacSequenceHeader(_ config: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer(bytes: [0xAF, 0x00])
        b.writeBytes(config)
        return b
    }

    /// One raw AAC frame (packet type 1).
    public static func aacFrame(_ frame: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer(bytes: [0xAF, 0x01])
        b.writeBytes(frame)
        return b
    }
}

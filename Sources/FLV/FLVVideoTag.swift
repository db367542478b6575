import NIOCore

/// The body of an RTMP video message, an FLV VIDEODATA (FLV 10.1 §E.4.3): for AVC, a frame type, a packet type
/// (sequence header or NAL units), the composition time, then the data.
public struct FLVVideoTag: Sendable, Equatable {
    public enum PacketType: Sendable, Equatable { case sequenceHeader, nalUnits, endOfSequence }

    public let isKeyframe: Bool
    public let packetType: PacketType
    /// Milliseconds from decode to presentation time: non-zero means the encoder sends B-frames.
    public let compositionTime: Int32
    /// The AVCDecoderConfigurationRecord, or the access unit's length-prefixed NAL units.
    public let data: ByteBuffer

    public init(_ payload: ByteBuffer) throws(FLVError) {
        var b = payload
        guard let first = b.readInteger(as: UInt8.self) else { throw .truncated }
        if first & 0x80 != 0 {
            // Enhanced RTMP's extended header: a FourCC after it names the codec (hvc1, av01, vp09, …).
            let fourCC = b.readString(length: 4) ?? "?"
            throw .unsupportedCodec("\(fourCC) (enhanced RTMP)")
        }
        let codec = first & 0x0F
        guard codec == 7 else { throw .unsupportedCodec(Self.codecName(codec)) }
        guard let type = b.readInteger(as: UInt8.self), let cts = b.readUInt24() else { throw .truncated }
        isKeyframe = first >> 4 == 1
        switch type {
        case 0: packetType = .sequenceHeader
        case 1: packetType = .nalUnits
        default: packetType = .endOfSequence
        }
        // SI24: sign-extend.
        compositionTime = Int32(bitPattern: cts << 8) >> 8
        data = b
    }

    static func codecName(_ id: UInt8) -> String {
        switch id {
        case 2: "Sorenson H.263"
        case 3: "Screen video"
        case 4, 5: "On2 VP6"
        case 6: "Screen video 2"
        default: "video codec \(id)"
        }
    }
}

extension ByteBuffer {
    mutating func readUInt24() -> UInt32? {
        guard readableBytes >= 3, let hi = readInteger(as: UInt8.self), let lo = readInteger(as: UInt16.self) else { return nil }
        return UInt32(hi) << 16 | UInt32(lo)
    }
}

import NIOCore

/// The body of an RTMP audio message, an FLV AUDIODATA (FLV 10.1 §E.4.2): for AAC, a packet type (the
/// AudioSpecificConfig, or one raw frame without ADTS header), then the data.
public struct FLVAudioTag: Sendable, Equatable {
    public enum PacketType: Sendable, Equatable { case sequenceHeader, raw }

    public let packetType: PacketType
    public let data: ByteBuffer

    public init(_ payload: ByteBuffer) throws(FLVError) {
        var b = payload
        guard let first = b.readInteger(as: UInt8.self) else { throw .truncated }
        let format = first >> 4
        guard format == 10 else { throw .unsupportedCodec(Self.formatName(format)) }
        guard let type = b.readInteger(as: UInt8.self) else { throw .truncated }
        packetType = type == 0 ? .sequenceHeader : .raw
        data = b
    }

    static func formatName(_ format: UInt8) -> String {
        switch format {
        case 0, 3: "Linear PCM"
        case 1: "ADPCM"
        case 2, 14: "MP3"
        case 4, 5, 6: "Nellymoser"
        case 7: "G.711 A-law"
        case 8: "G.711 µ-law"
        case 9: "an enhanced-RTMP audio codec"
        case 11: "Speex"
        default: "audio format \(format)"
        }
    }
}

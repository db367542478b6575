import SFU

/// A track of a stream fed by a `MediaSource`: what its RTP carries.
public struct SourceTrack: Sendable {
    public enum Codec: Sendable { case vp8, h264, opus, pcmu, pcma }

    public let kind: TrackKind
    public let codec: Codec
    /// The payload type of the source's own packets (players get their own).
    public let payloadType: UInt8

    public init(kind: TrackKind, codec: Codec, payloadType: UInt8) {
        self.kind = kind
        self.codec = codec
        self.payloadType = payloadType
    }

    var producerParameters: ProducerParameters {
        let clockRate: UInt32 = switch codec {
        case .vp8, .h264: 90000
        case .opus: 48000
        case .pcmu, .pcma: 8000
        }
        let keyframes: KeyframeDetector.Codec = switch codec {
        case .vp8: .vp8
        case .h264: .h264
        default: .other
        }
        // No NACKs upstream: a source that is not WebRTC has no retransmission to offer (it may still be asked).
        return ProducerParameters(kind: kind, codec: keyframes, clockRate: clockRate, payloadType: payloadType, nack: false)
    }
}

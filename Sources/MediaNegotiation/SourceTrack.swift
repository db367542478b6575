import Rooms
import SDP
import SFU

/// A track of a stream fed by a `MediaSource`: what its RTP carries.
public struct SourceTrack: Sendable {
    public enum Codec: Sendable {
        case vp8, opus, pcmu, pcma
        /// H.264 in packetization-mode 1; `profileLevelID` is the SPS's (six hex digits), so that players are
        /// answered with the profile the source really sends (any profile when nil).
        case h264(profileLevelID: String?)

        /// Its SDP name, clock rate, what players are offered, and how keyframes are told: one place for each
        /// codec's facts.
        var name: String {
            switch self {
            case .vp8: "VP8"
            case .h264: "H264"
            case .opus: "opus"
            case .pcmu: "PCMU"
            case .pcma: "PCMA"
            }
        }

        var clockRate: UInt32 {
            switch self {
            case .vp8, .h264: 90000
            case .opus: 48000
            case .pcmu, .pcma: 8000
            }
        }

        var preference: CodecPreference {
            switch self {
            case .vp8: .vp8
            case .h264(let id):
                if let profile = id.flatMap(H264ProfileLevelID.init)?.profile { .h264(H264Constraints(profiles: [profile])) } else { .h264 }
            case .opus: .opus
            case .pcmu: .pcmu
            case .pcma: .pcma
            }
        }

        var keyframes: KeyframeDetector.Codec {
            switch self {
            case .vp8: .vp8
            case .h264: .h264
            case .opus, .pcmu, .pcma: .other
            }
        }
    }

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
        // No NACKs upstream: a source that is not WebRTC has no retransmission to offer (it may still be asked).
        ProducerParameters(kind: kind, codec: codec.keyframes, clockRate: codec.clockRate, payloadType: payloadType, nack: false)
    }

    /// The track as the stream's record lists it.
    public var record: StreamRecord.Track {
        StreamRecord.Track(kind: kind == .video ? .video : .audio, codec: codec.name, clockRate: Int(codec.clockRate))
    }
}

import SDP
import SFU

/// A published track as a player is answered: its kind and the publisher's codec (for H.264, its profile).
struct PlayableTrack: Sendable {
    let kind: MediaKind
    let preference: CodecPreference
    let codecName: String

    init(_ negotiated: NegotiatedMedia) {
        kind = negotiated.kind
        preference = NegotiatingMediaService.preference(for: negotiated.codec)
        codecName = negotiated.codec.name
    }

    init(_ source: SourceTrack) {
        kind = source.kind == .video ? .video : .audio
        switch source.codec {
        case .vp8: (preference, codecName) = (.vp8, "VP8")
        case .h264: (preference, codecName) = (.h264, "H264")
        case .opus: (preference, codecName) = (.opus, "opus")
        case .pcmu: (preference, codecName) = (.pcmu, "PCMU")
        case .pcma: (preference, codecName) = (.pcma, "PCMA")
        }
    }
}

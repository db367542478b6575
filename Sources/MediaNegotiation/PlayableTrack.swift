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
        preference = source.codec.preference
        codecName = source.codec.name
    }
}

/// The outcome of answering an offer: the answer itself and what was agreed, section by section.
public struct Negotiation: Sendable, Hashable {
    public var answer: SessionDescription
    /// Accepted audio/video sections, in offer order.
    public var media: [NegotiatedMedia]
    /// Sections answered with port 0, and why.
    public var rejected: [RejectedMedia]
    /// Mids in the answer's BUNDLE group (empty when the offer did not bundle).
    public var bundle: [String]
    /// The offerer's transport for the first accepted section (the BUNDLE transport when bundled).
    public var remoteTransport: RemoteTransport

    public var answerSDP: String { answer.serialize() }
}

/// The offerer's ICE and DTLS parameters for a section, media level first, then session level, then (for bundled
/// sections) the BUNDLE-tagged section's.
public struct RemoteTransport: Sendable, Hashable {
    public var iceUsernameFragment: String
    public var icePassword: String
    /// Usually one; the DTLS layer must accept the client certificate if it matches any of them.
    public var fingerprints: [Fingerprint]
    /// As offered; nil when absent (RFC 4145 then means active). Never passive or holdconn here.
    public var setup: SetupRole?
    public var iceOptions: [String]
    public var candidates: [Candidate]
    public var endOfCandidates: Bool
}

/// The codec chosen for a section.
public struct NegotiatedCodec: Sendable, Hashable {
    public var codec: Codec
    public var payloadType: UInt8
    /// As spelled in the offer's rtpmap (`opus`, `VP8`, `H264` …).
    public var name: String
    public var clockRate: UInt32
    public var channels: UInt8
    /// The fmtp parameters the answer carries for this payload type.
    public var parameters: [FormatParameter]
    /// For H.264, the answered profile and level.
    public var h264: H264ProfileLevelID?

    public func parameter(_ name: String) -> String? {
        FormatParameters(payloadType: payloadType, parameters: parameters)[name]
    }
}

public struct NegotiatedExtension: Sendable, Hashable {
    public var uri: String
    public var id: UInt16
}

/// One accepted section.
public struct NegotiatedMedia: Sendable, Hashable {
    public var index: Int
    public var mid: String?
    public var kind: MediaKind
    /// Parley's direction, as written in the answer.
    public var direction: Direction
    public var offeredDirection: Direction
    public var codec: NegotiatedCodec
    public var rtxPayloadType: UInt8?
    public var rtcpFeedback: [RTCPFeedbackType]
    public var headerExtensions: [NegotiatedExtension]
    public var rtcpReducedSize: Bool
    /// The offerer's media SSRC and its RTX SSRC (from `a=ssrc-group:FID`), when signalled.
    public var remoteSSRC: UInt32?
    public var remoteRTXSSRC: UInt32?
    public var remoteCNAME: String?
    /// `a=msid`, else the msid of the media SSRC's `a=ssrc … msid:` line.
    public var remoteMSID: MediaStreamID?
    /// Simulcast `a=rid` ids the offerer sends.
    public var remoteRIDs: [String]
    /// What Parley announced for its own sending (RTX SSRC dropped when RTX was not agreed).
    public var outgoing: OutgoingTrack?
    public var remoteTransport: RemoteTransport
    public var bundled: Bool

    public func extensionID(_ uri: String) -> UInt16? { headerExtensions.first { $0.uri == uri }?.id }
    public func hasFeedback(_ feedback: RTCPFeedbackType) -> Bool { rtcpFeedback.contains(feedback) }
}

public struct RejectedMedia: Sendable, Hashable {
    public var index: Int
    public var mid: String?
    public var kind: MediaKind
    public var reason: RejectionReason
}

public enum RejectionReason: Sendable, Hashable, CustomStringConvertible {
    /// Port 0 in the offer (and not a bundle-only section).
    case rejectedByOfferer
    /// The caller's plan said no.
    case rejectedByPlan
    /// Data channels and other non-audio/video media.
    case unsupportedMedia(String)
    /// Not SRTP (e.g. plain RTP/AVP).
    case unsupportedTransport(String)
    case rtcpMuxRequired
    /// What the offer had, for the log.
    case noCommonCodec(offered: [String], allowed: [String])

    public var description: String {
        switch self {
        case .rejectedByOfferer: "rejected by the offerer (port 0)"
        case .rejectedByPlan: "rejected by the caller"
        case .unsupportedMedia(let kind): "Parley does not carry \(kind) sections"
        case .unsupportedTransport(let proto): "transport \(proto) is not SRTP"
        case .rtcpMuxRequired: "the offer does not use rtcp-mux"
        case .noCommonCodec(let offered, let allowed):
            "offers \(offered.isEmpty ? "no codec" : offered.joined(separator: ", ")) but this call allows \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))"
        }
    }
}

/// The codecs Parley can carry.
public enum Codec: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case opus, pcmu, pcma, vp8, h264

    public var kind: MediaKind {
        switch self {
        case .opus, .pcmu, .pcma: .audio
        case .vp8, .h264: .video
        }
    }

    /// The rtpmap encoding name (compared case-insensitively).
    public var encodingName: String {
        switch self {
        case .opus: "opus"
        case .pcmu: "PCMU"
        case .pcma: "PCMA"
        case .vp8: "VP8"
        case .h264: "H264"
        }
    }

    public var clockRate: UInt32 {
        switch self {
        case .opus: 48000
        case .pcmu, .pcma: 8000
        case .vp8, .h264: 90000
        }
    }

    public var description: String { encodingName }
}

/// Which H.264 streams are acceptable: profiles in order of preference (libwebrtc "same profile" rules, see
/// `H264ProfileLevelID`) and the highest level Parley answers with. packetization-mode=1 is always required.
public struct H264Constraints: Sendable, Hashable {
    public var profiles: [H264Profile]
    public var maxLevel: H264Level

    public init(profiles: [H264Profile] = [.constrainedBaseline, .baseline, .main, .constrainedHigh, .high],
                maxLevel: H264Level = .level5_2) {
        self.profiles = profiles
        self.maxLevel = maxLevel
    }

    /// Constrained Baseline first: every browser (Safari included) decodes it, so forwarded streams stay playable.
    public static let `default` = H264Constraints()
    /// Only Constrained Baseline, for subscribers that must receive what a Safari or OpenH264 publisher sends.
    public static let constrainedBaselineOnly = H264Constraints(profiles: [.constrainedBaseline])
}

/// One entry of a codec preference list. A list is both a filter (what is allowed) and an order (first that the
/// offer also has wins), so `[.h264, .vp8]` prefers H.264 and `[.vp8]` forces VP8.
public enum CodecPreference: Sendable, Hashable, CustomStringConvertible {
    case opus, pcmu, pcma, vp8
    case h264(H264Constraints)

    /// H.264 with the default constraints.
    public static var h264: CodecPreference { .h264(.default) }

    public var codec: Codec {
        switch self {
        case .opus: .opus
        case .pcmu: .pcmu
        case .pcma: .pcma
        case .vp8: .vp8
        case .h264: .h264
        }
    }

    public var description: String {
        if case .h264(let c) = self { return "H264(\(c.profiles.map(\.description).joined(separator: "|")) ≤\(c.maxLevel))" }
        return codec.description
    }
}

/// What the server supports, independent of any one call.
public struct ServerCapabilities: Sendable, Hashable {
    /// Everything Parley can carry, in the default order of preference.
    public var codecs: [CodecPreference]
    /// Feedback Parley understands; the answer carries the intersection with the offer.
    public var rtcpFeedback: [RTCPFeedbackType]
    /// Header extension URIs Parley understands; the answer reuses the offer's ids for them.
    public var headerExtensions: [String]
    /// Answer RTX (RFC 4588) for the chosen video codec when offered.
    public var rtx: Bool
    /// Parley listens on one port per peer, so a section without `a=rtcp-mux` is rejected.
    public var requireRTCPMux: Bool

    public init(codecs: [CodecPreference], rtcpFeedback: [RTCPFeedbackType], headerExtensions: [String],
                rtx: Bool = true, requireRTCPMux: Bool = true) {
        self.codecs = codecs
        self.rtcpFeedback = rtcpFeedback
        self.headerExtensions = headerExtensions
        self.rtx = rtx
        self.requireRTCPMux = requireRTCPMux
    }

    public static let parley = ServerCapabilities(
        codecs: [.opus, .pcmu, .pcma, .vp8, .h264],
        rtcpFeedback: [.nack, .pli, .fir, .remb, .transportCC],
        headerExtensions: [HeaderExtensionURI.mid, HeaderExtensionURI.absSendTime,
                           HeaderExtensionURI.transportWideCC, HeaderExtensionURI.audioLevel,
                           HeaderExtensionURI.videoOrientation])
}

/// One of Parley's host candidates (UDP).
public struct HostCandidate: Sendable, Hashable {
    public var ip: String
    public var port: UInt16

    public init(ip: String, port: UInt16) {
        self.ip = ip
        self.port = port
    }
}

/// Per-call inputs that end up in the answer.
public struct AnswerParameters: Sendable, Hashable {
    public var iceUsernameFragment: String
    public var icePassword: String
    /// Parley's certificate fingerprint (sha-256).
    public var fingerprint: Fingerprint
    /// Host candidates in order of preference; the first one also goes into `c=` and the m= port.
    public var candidates: [HostCandidate]
    /// Codec preference for this call; nil uses `ServerCapabilities.codecs`. Entries the server does not support
    /// are dropped.
    public var codecs: [CodecPreference]?
    public var sessionID: UInt64
    public var sessionVersion: UInt64

    /// `sessionID` defaults to a hash of the ufrag, which is random per peer connection, so tests stay
    /// deterministic without a random generator here.
    public init(iceUsernameFragment: String, icePassword: String, fingerprint: Fingerprint,
                candidates: [HostCandidate], codecs: [CodecPreference]? = nil, sessionID: UInt64? = nil,
                sessionVersion: UInt64 = 1) {
        self.iceUsernameFragment = iceUsernameFragment
        self.icePassword = icePassword
        self.fingerprint = fingerprint
        self.candidates = candidates
        self.codecs = codecs
        self.sessionID = sessionID ?? (fnv1a64(iceUsernameFragment) & 0x7FFF_FFFF_FFFF_FFFF)
        self.sessionVersion = sessionVersion
    }
}

/// A track Parley sends in a section: its SSRC (and RTX SSRC), cname and msid as the receiving browser will see
/// them.
public struct OutgoingTrack: Sendable, Hashable {
    public var ssrc: UInt32
    public var rtxSSRC: UInt32?
    public var cname: String
    public var streamID: String
    public var trackID: String

    public init(ssrc: UInt32, rtxSSRC: UInt32? = nil, cname: String, streamID: String, trackID: String) {
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.cname = cname
        self.streamID = streamID
        self.trackID = trackID
    }
}

/// What the caller sees of an offered audio/video section when deciding how to answer it.
public struct OfferedMedia: Sendable, Hashable {
    public var index: Int
    public var mid: String?
    public var kind: MediaKind
    /// The offerer's direction (media level, else session level, else sendrecv).
    public var direction: Direction
    public var description: MediaDescription
}

/// The caller's decision for one offered section.
public struct MediaPlan: Sendable, Hashable {
    public var isRejected: Bool
    /// Parley's direction; nil mirrors the offer (sendonly → recvonly …). Always narrowed to what the offer
    /// allows, so asking for sendrecv on a sendonly offer gives recvonly.
    public var direction: Direction?
    /// Overrides the call's codec preference for this section (e.g. force the publisher's codec).
    public var codecs: [CodecPreference]?
    /// Required for SSRC/msid lines when Parley sends in this section.
    public var outgoing: OutgoingTrack?

    public static func accept(direction: Direction? = nil, codecs: [CodecPreference]? = nil,
                              outgoing: OutgoingTrack? = nil) -> MediaPlan {
        MediaPlan(isRejected: false, direction: direction, codecs: codecs, outgoing: outgoing)
    }

    public static let reject = MediaPlan(isRejected: true, direction: nil, codecs: nil, outgoing: nil)
}

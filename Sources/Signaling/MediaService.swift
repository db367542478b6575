import Rooms

/// What the signaling layer needs from the media plane, as plain strings and events: it knows SDP only as text
/// and nothing of transports, so adapters stay testable without a UDP port.
public protocol MediaService: Sendable {
    /// Starts an echo test for an SDP offer; returns the stream's id and the SDP answer.
    func startEcho(offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String)
    /// Receives published stream `id` (minted and recorded by the caller): audio and/or video sections the
    /// browser sends. `preferH264`: choose H.264 over VP8 when the offer has both (RTMP watches the room).
    /// `whole`: the offer is taken whole or refused (`unsupported_offer`: a section that cannot be received, a
    /// second section of a kind, sections not BUNDLEd), as WHIP asks; otherwise what cannot be used is rejected.
    func publish(stream id: String, offer: String, preferH264: Bool, whole: Bool,
                 onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> PublishedMedia
    /// Sends the published stream `source` to a player whose offer receives it.
    func play(source: String, offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String)
    /// Ends any stream (echo, publish or play); a publish's players get `closed("unpublished")`.
    func stop(stream id: String) async
    /// The operator's mute: stops (true) or resumes (false) forwarding a published stream's audio and/or video
    /// to every viewer, sink and relay; nil leaves a kind as it is. Video resumes at a fresh keyframe.
    func setMuted(stream id: String, audio: Bool?, video: Bool?) async
}

extension MediaService {
    /// A publish from a browser: what cannot be used is rejected, the rest goes on.
    public func publish(stream id: String, offer: String, preferH264: Bool,
                        onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> PublishedMedia {
        try await publish(stream: id, offer: offer, preferH264: preferH264, whole: false, onEvent: onEvent)
    }
}

public struct PublishedMedia: Sendable, Equatable {
    public let id: String
    public let answer: String
    public let audio: Bool
    public let video: Bool
    /// The tracks as negotiated, for the stream's record.
    public let tracks: [StreamRecord.Track]
    /// The media loop its packets are forwarded on.
    public let mediaLoop: Int?

    public init(id: String, answer: String, audio: Bool, video: Bool, tracks: [StreamRecord.Track] = [], mediaLoop: Int? = nil) {
        self.id = id
        self.answer = answer
        self.audio = audio
        self.video = video
        self.tracks = tracks
        self.mediaLoop = mediaLoop
    }
}

public enum StreamEvent: Sendable, Equatable {
    case connected
    case failed(StreamEndReason)
    case closed(StreamEndReason)
}

/// Why a stream's media ended. Each adapter turns it into its own wire words by `switch`, never by its text.
public enum StreamEndReason: Sendable, Equatable {
    /// The browser ended the connection itself (DTLS close_notify), as it does when an app stops a stream: a
    /// deliberate stop, not a lost participant.
    case peerClosed
    /// No ICE consent check (STUN) came from the peer for 29 s; media packets alone do not keep a stream.
    case consentExpired
    /// The DTLS handshake failed; `detail` is for people.
    case dtlsFailed(detail: String)
    /// The peer's DTLS certificate does not match the fingerprint in its offer.
    case fingerprintMismatch
    /// No SRTP session could be made from the handshake's keys.
    case srtpFailed
    /// A play's source stream was unpublished.
    case unpublished
    /// The server ended it: a `stop`, a leave, the socket closing.
    case stopped
}

public struct MediaServiceError: Error, Sendable, Equatable {
    /// A stable wire code: `bad_sdp`, `no_common_codec`, `media_unavailable`, `unknown_stream`.
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// Stream ids, minted by the server: unguessable (16 letters and digits, ~95 bits) and independent of any
/// transport, so a stream without ICE (RTMP, a relay) has one too.
public enum StreamID {
    public static func mint() -> String {
        // An existential, not the bare (empty) struct: passed inout to a generic function, an empty value has no
        // real address, and under ThreadSanitizer the access check on that junk address can crash the process
        // (docs/ROBUSTNESS.md, "Sanitizers").
        var rng: any RandomNumberGenerator = SystemRandomNumberGenerator()
        return RandomToken.make(length: 16, using: &rng)
    }
}

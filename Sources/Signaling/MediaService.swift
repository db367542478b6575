/// What the signaling layer needs from the media plane, as plain strings and events: it knows SDP only as text
/// and nothing of transports, so adapters stay testable without a UDP port.
public protocol MediaService: Sendable {
    /// Starts an echo test for an SDP offer; returns the stream's id and the SDP answer.
    func startEcho(offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String)
    func stop(stream id: String) async
}

public enum StreamEvent: Sendable, Equatable {
    case connected
    case failed(String)
    case closed(String)
}

public struct MediaServiceError: Error, Sendable, Equatable {
    /// A stable wire code: `bad_sdp`, `no_common_codec`, `media_unavailable`.
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

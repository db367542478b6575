import Rooms

/// What happens in a room, told to its members. Each protocol adapter encodes these in its own wire format.
public enum RoomEvent: Sendable, Equatable {
    case joined(room: String, participant: Participant)
    case left(room: String, participant: Participant, reason: LeaveReason)
    case message(ChatMessage)
    case published(room: String, participant: String, stream: StreamDescription)
    case unpublished(room: String, participant: String, stream: String, reason: UnpublishReason)
    case updated(room: String, participant: String, stream: StreamDescription)
}

public enum UnpublishReason: String, Sendable, Equatable {
    /// The publisher stopped it.
    case unpublished
    /// The publisher left the room.
    case left
    /// The publisher's socket closed or stopped answering pings.
    case disconnected
    /// Its media failed: the handshake failed, or ICE consent expired while the publisher's socket was fine.
    case failed
    /// The publisher was removed by the server's operator.
    case kicked

    /// Why a publish whose transport ended is withdrawn. The browser's own close is a deliberate stop; a lost
    /// consent or handshake is the media failing (a lost socket is announced as `disconnected` before).
    public init(mediaEnd reason: StreamEndReason) {
        switch reason {
        case .peerClosed, .unpublished: self = .unpublished
        case .consentExpired, .dtlsFailed, .fingerprintMismatch, .srtpFailed: self = .failed
        case .stopped: self = .disconnected
        }
    }
}

public enum LeaveReason: String, Sendable, Equatable {
    /// The participant asked to leave.
    case left
    /// The socket closed, or stopped answering pings.
    case disconnected
    /// Removed by the server's operator (the admin API): a kick, or the room closed.
    case kicked
}

/// What happens to rooms, told to whoever watches the whole server (webhooks): rooms opening and ending, and the
/// room events `joined`, `left`, `published` and `unpublished`. Called inside the hub's isolation: it must not block.
public enum HubActivity: Sendable, Equatable {
    case roomStarted(room: String)
    case roomFinished(room: String)
    case event(RoomEvent)
}

/// Where the hub delivers events for one session. Called inside the hub's isolation, so it must not block.
public protocol SessionSink: Sendable {
    func deliver(_ event: RoomEvent)
    /// The operator removed this session (`SignalingHub.kick`): end its connection, without a reconnect.
    func evict()
}

extension SessionSink {
    /// A sink with no connection of its own (tests, internal ones) has nothing to end.
    public func evict() {}
}

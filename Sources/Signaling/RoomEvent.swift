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
    /// The publisher's socket closed, or its media went silent.
    case disconnected
    /// Its transport failed.
    case failed

    /// Why a publish whose transport ended is withdrawn: the browser's own close is a deliberate stop; any other
    /// end (consent lost, server closed it) means the publisher went away.
    public init(transportEnd reason: String, failed: Bool) {
        self = failed ? .failed : reason == StreamEvent.closedByPeer ? .unpublished : .disconnected
    }
}

public enum LeaveReason: String, Sendable, Equatable {
    /// The participant asked to leave.
    case left
    /// The socket closed, or stopped answering pings.
    case disconnected
}

/// Where the hub delivers events for one session. Called inside the hub's isolation, so it must not block.
public protocol SessionSink: Sendable {
    func deliver(_ event: RoomEvent)
}

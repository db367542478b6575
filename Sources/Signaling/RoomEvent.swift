import Rooms

/// What happens in a room, told to its members. Each protocol adapter encodes these in its own wire format.
public enum RoomEvent: Sendable, Equatable {
    case joined(room: String, participant: Participant)
    case left(room: String, participant: Participant, reason: LeaveReason)
    case message(ChatMessage)
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

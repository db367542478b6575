/// Why a room operation was refused. `code` is the stable wire code documented in docs/PROTOCOL.md.
public enum RoomError: Error, Equatable, Sendable {
    case invalidUsername
    case invalidRoomName
    case invalidText
    case invalidCap
    case nameTaken(room: String, name: String)
    case roomFull(room: String, cap: Int)
    case alreadyInRoom(room: String)
    case notInRoom(room: String)
    case unknownParticipant(room: String, name: String)
    case unknownStream(String)
    case tooManyStreams(limit: Int)
    case invalidDisplay
    /// A client-given stream name (WCS) another stream holds.
    case streamNameTaken(String)
    /// The server is draining for a restart: rooms that exist go on, no new one opens.
    case draining

    public var code: String {
        switch self {
        case .invalidUsername: "invalid_username"
        case .invalidRoomName: "invalid_room"
        case .invalidText: "invalid_text"
        case .invalidCap: "bad_request"
        case .nameTaken: "name_taken"
        case .roomFull: "room_full"
        case .alreadyInRoom: "already_in_room"
        case .notInRoom: "not_in_room"
        case .unknownParticipant: "unknown_participant"
        case .unknownStream: "unknown_stream"
        case .tooManyStreams: "too_many_streams"
        case .invalidDisplay: "bad_request"
        case .streamNameTaken: "name_taken"
        case .draining: "draining"
        }
    }

    public var message: String {
        switch self {
        case .invalidUsername:
            "Username must be 1–\(Validation.maxUsernameLength) printable characters"
        case .invalidRoomName:
            "Room name must be 1–\(Validation.maxRoomNameLength) characters of A–Z, a–z, 0–9, '-', '_' or '.'"
        case .invalidText:
            "Message text must be 1–\(Validation.maxTextLength) characters"
        case .invalidCap:
            "maxParticipants must be at least 1"
        case .nameTaken(let room, let name):
            "The name '\(name)' is already taken in room '\(room)'"
        case .roomFull(let room, let cap):
            "Current room is full: '\(room)' holds at most \(cap) participants"
        case .alreadyInRoom(let room):
            "Already in room '\(room)'"
        case .notInRoom(let room):
            "Not in room '\(room)'"
        case .unknownParticipant(let room, let name):
            "No participant named '\(name)' in room '\(room)'"
        case .unknownStream(let id):
            "No stream '\(id)'"
        case .tooManyStreams(let limit):
            "At most \(limit) published streams per participant"
        case .invalidDisplay:
            "display must be 1–\(Validation.maxDisplayLength) printable characters"
        case .streamNameTaken(let name):
            "The stream name '\(name)' is already in use"
        case .draining:
            "This server is shutting down: it opens no new room (try again: a client reconnects elsewhere or after the restart)"
        }
    }
}

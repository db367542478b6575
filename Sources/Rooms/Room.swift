/// Identifies one signaling session (one socket); assigned by the server.
public typealias SessionID = String

/// What a room is told of a stream a participant publishes into it.
public struct StreamDescription: Sendable, Equatable, Codable {
    public var id: String
    public var display: String?
    public var audio: Bool
    public var video: Bool
    public var audioMuted: Bool
    public var videoMuted: Bool
    /// The name a client gave the stream, for protocols that name streams (the Web Call Server's); nil otherwise,
    /// and then left out of the wire format.
    public var name: String?
    /// What the operator muted (the server forwards none of it, whatever the client says); nil when nothing,
    /// and then left out of the wire format. `audioMuted`/`videoMuted` include it.
    public var mutedByServer: MuteState?

    public init(id: String, display: String? = nil, audio: Bool, video: Bool, audioMuted: Bool = false, videoMuted: Bool = false,
                name: String? = nil) {
        self.id = id
        self.display = display
        self.audio = audio
        self.video = video
        self.audioMuted = audioMuted
        self.videoMuted = videoMuted
        self.name = name
    }
}

/// Which kinds of a stream are muted.
public struct MuteState: Sendable, Equatable, Codable {
    public var audio: Bool
    public var video: Bool

    public init(audio: Bool = false, video: Bool = false) {
        self.audio = audio
        self.video = video
    }

    public var isEmpty: Bool { !audio && !video }

    /// Sets the kinds given, leaves the others.
    public mutating func set(audio: Bool?, video: Bool?) {
        if let audio { self.audio = audio }
        if let video { self.video = video }
    }
}

public struct Participant: Sendable, Equatable {
    public let session: SessionID
    public let name: String
    /// Its live streams in the room, as snapshots and events show them; filled from the stream registry, which
    /// holds them (the room registry keeps membership only).
    public var streams: [StreamDescription]

    public init(session: SessionID, name: String, streams: [StreamDescription] = []) {
        self.session = session
        self.name = name
        self.streams = streams
    }
}

public struct ChatMessage: Sendable, Equatable, Codable {
    public let room: String
    public let from: String
    /// Set only for a message to one participant.
    public let to: String?
    public let text: String
    /// Server time, milliseconds since 1970.
    public let time: Int64

    public init(room: String, from: String, to: String?, text: String, time: Int64) {
        self.room = room
        self.from = from
        self.to = to
        self.text = text
        self.time = time
    }
}

/// What a joiner learns about a room: the others (not itself), and the public chat so far.
public struct RoomSnapshot: Sendable, Equatable {
    public let name: String
    public let maxParticipants: Int
    public var participants: [Participant]
    public let history: [ChatMessage]
}

/// One room: members in order of joining, its cap, and a bounded chat history.
struct Room {
    let name: String
    let cap: Int
    var members: [Participant] = []
    var history: [ChatMessage] = []

    func index(ofSession session: SessionID) -> Int? {
        members.firstIndex { $0.session == session }
    }

    func member(named name: String) -> Participant? {
        members.first { $0.name == name }
    }

    mutating func record(_ message: ChatMessage, limit: Int) {
        history.append(message)
        if history.count > limit {
            history.removeFirst(history.count - limit)
        }
    }
}

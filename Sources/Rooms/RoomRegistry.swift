/// All rooms of a server: pure logic with no I/O, so every rule is unit-tested directly.
/// Not thread-safe by design: its owner (the signaling hub actor) serialises access.
public struct RoomRegistry: Sendable {
    public struct Limits: Sendable {
        /// Server-wide cap per room; a room's creator may only lower it.
        public var maxParticipants: Int
        public var historyLimit: Int
        /// Streams one participant may have live in one room (camera and screen, with room to spare); the stream
        /// registry enforces it.
        public var maxStreamsPerParticipant: Int

        public init(maxParticipants: Int = 10, historyLimit: Int = 100, maxStreamsPerParticipant: Int = 4) {
            self.maxParticipants = max(1, maxParticipants)
            self.historyLimit = max(0, historyLimit)
            self.maxStreamsPerParticipant = max(1, maxStreamsPerParticipant)
        }
    }

    public struct JoinOutcome: Sendable, Equatable {
        public let snapshot: RoomSnapshot
        public let joined: Participant
        /// Members to tell about the newcomer.
        public let notify: [SessionID]
    }

    public struct LeaveOutcome: Sendable, Equatable {
        public let room: String
        public let participant: Participant
        /// Members still in the room, to tell about the departure.
        public let notify: [SessionID]
        public let roomRemoved: Bool
    }

    public struct PostOutcome: Sendable, Equatable {
        public let message: ChatMessage
        public let recipients: [SessionID]
    }

    public let limits: Limits
    private var rooms: [String: Room] = [:]
    /// Rooms each session is in, so a dropped socket leaves them all without a scan.
    private var roomsBySession: [SessionID: Set<String>] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public var roomCount: Int { rooms.count }
    public var participantCount: Int { rooms.values.reduce(0) { $0 + $1.members.count } }
    public func contains(room: String) -> Bool { rooms[room] != nil }
    public func participants(in room: String) -> [Participant] { rooms[room]?.members ?? [] }
    public func rooms(of session: SessionID) -> [String] { roomsBySession[session].map { $0.sorted() } ?? [] }
    public var roomNames: [String] { rooms.keys.sorted() }

    /// A room as a newcomer would see it (members and history), or nil.
    public func snapshot(of roomName: String) -> RoomSnapshot? {
        rooms[roomName].map { RoomSnapshot(name: $0.name, maxParticipants: $0.cap, participants: $0.members, history: $0.history) }
    }

    /// Chat text from the server (an operator) to everyone in the room, kept in its history; `from` is empty,
    /// which no participant's name can be.
    public mutating func postSystem(room roomName: String, text: String, time: Int64) throws(RoomError) -> PostOutcome {
        guard var room = rooms[roomName] else { throw .notInRoom(room: roomName) }
        let message = ChatMessage(room: roomName, from: "", to: nil, text: try Validation.chatText(text), time: time)
        room.record(message, limit: limits.historyLimit)
        rooms[roomName] = room
        return PostOutcome(message: message, recipients: room.members.map(\.session))
    }

    /// Joins `session` to `roomName` under `name`, creating the room on first join.
    /// `requestedCap` only counts when this join creates the room.
    public mutating func join(session: SessionID, name: String, room roomName: String, requestedCap: Int? = nil)
        throws(RoomError) -> JoinOutcome
    {
        let name = try Validation.username(name)
        let roomName = try Validation.roomName(roomName)
        if let requestedCap, requestedCap < 1 { throw .invalidCap }

        var room = rooms[roomName] ?? Room(name: roomName, cap: min(limits.maxParticipants, requestedCap ?? .max))
        if room.index(ofSession: session) != nil { throw .alreadyInRoom(room: roomName) }
        if room.member(named: name) != nil { throw .nameTaken(room: roomName, name: name) }
        if room.members.count >= room.cap { throw .roomFull(room: roomName, cap: room.cap) }

        let others = room.members
        let joined = Participant(session: session, name: name)
        room.members.append(joined)
        rooms[roomName] = room
        roomsBySession[session, default: []].insert(roomName)
        return JoinOutcome(
            snapshot: RoomSnapshot(name: roomName, maxParticipants: room.cap, participants: others, history: room.history),
            joined: joined,
            notify: others.map(\.session)
        )
    }

    public mutating func leave(session: SessionID, room roomName: String) throws(RoomError) -> LeaveOutcome {
        guard var room = rooms[roomName], let index = room.index(ofSession: session) else {
            throw .notInRoom(room: roomName)
        }
        let participant = room.members.remove(at: index)
        roomsBySession[session]?.remove(roomName)
        if roomsBySession[session]?.isEmpty == true { roomsBySession[session] = nil }
        // Empty rooms go at once, and their history with them.
        let removed = room.members.isEmpty
        rooms[roomName] = removed ? nil : room
        return LeaveOutcome(room: roomName, participant: participant, notify: room.members.map(\.session), roomRemoved: removed)
    }

    /// Removes a session from every room (socket closed or timed out).
    public mutating func removeSession(_ session: SessionID) -> [LeaveOutcome] {
        rooms(of: session).compactMap { try? leave(session: session, room: $0) }
    }

    /// Posts chat text from `session` to the whole room, or to the participant named `to`.
    /// Only messages to the whole room enter the history a later joiner sees.
    public mutating func post(session: SessionID, room roomName: String, text: String, to: String?, time: Int64)
        throws(RoomError) -> PostOutcome
    {
        guard var room = rooms[roomName], let index = room.index(ofSession: session) else {
            throw .notInRoom(room: roomName)
        }
        let text = try Validation.chatText(text)
        let sender = room.members[index]
        let recipients: [SessionID]
        if let to {
            guard let target = room.member(named: to) else { throw .unknownParticipant(room: roomName, name: to) }
            recipients = target.session == session ? [] : [target.session]
        } else {
            recipients = room.members.filter { $0.session != session }.map(\.session)
        }
        let message = ChatMessage(room: roomName, from: sender.name, to: to, text: text, time: time)
        if to == nil {
            room.record(message, limit: limits.historyLimit)
            rooms[roomName] = room
        }
        return PostOutcome(message: message, recipients: recipients)
    }

    public func isMember(session: SessionID, room roomName: String) -> Bool {
        rooms[roomName]?.index(ofSession: session) != nil
    }

    /// A fresh room name with 128+ bits of entropy that no current room uses.
    public func makeRandomRoomName<R: RandomNumberGenerator>(using rng: inout R) -> String {
        while true {
            // 22 characters of a 62-letter alphabet: log2(62^22) ≈ 131 bits.
            let name = RandomToken.make(length: 22, using: &rng)
            if rooms[name] == nil { return name }
        }
    }
}

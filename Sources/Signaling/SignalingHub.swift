import Foundation
import Rooms

/// The protocol-neutral core every signaling adapter talks to: sessions, rooms and chat.
///
/// Replies are handed to a `respond` closure that runs inside the hub's isolation, before any later event is
/// delivered. Adapters send replies and events through the same queue, so a client always sees the reply to
/// its `join` before any event of that room.
public actor SignalingHub {
    public struct Stats: Sendable, Equatable {
        public let sessions: Int
        public let rooms: Int
        public let participants: Int
        /// Published streams, starting or live.
        public let streams: Int

        public init(sessions: Int, rooms: Int, participants: Int, streams: Int = 0) {
            self.sessions = sessions
            self.rooms = rooms
            self.participants = participants
            self.streams = streams
        }
    }

    private var registry: RoomRegistry
    /// Every published stream, starting or live: the control plane's one table of them.
    private var streams = StreamRegistry()
    private var sessions: [SessionID: any SessionSink] = [:]
    /// The operator's mutes, by room and member: they hold for what the member publishes there until lifted or
    /// until it leaves.
    private var serverMutes: [String: [SessionID: MuteState]] = [:]
    private var rng: any RandomNumberGenerator
    private let now: @Sendable () -> Int64
    /// Draining for a shutdown: joins of rooms that exist go on, no new room opens.
    public private(set) var draining = false
    /// Told of rooms opening and ending and of members and streams coming and going (webhooks); must not block.
    private let observer: (@Sendable (HubActivity) -> Void)?

    /// - Parameters:
    ///   - now: wall-clock milliseconds since 1970, injected so tests control chat timestamps.
    ///   - rng: randomness for session ids and room names; tests pass a seeded one.
    public init(
        limits: RoomRegistry.Limits = .init(),
        now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) },
        rng: any RandomNumberGenerator = SystemRandomNumberGenerator(),
        observer: (@Sendable (HubActivity) -> Void)? = nil
    ) {
        self.observer = observer
        self.registry = RoomRegistry(limits: limits)
        self.now = now
        self.rng = rng
    }

    public var stats: Stats {
        Stats(sessions: sessions.count, rooms: registry.roomCount, participants: registry.participantCount,
              streams: streams.count)
    }

    public var limits: RoomRegistry.Limits { registry.limits }

    public func startDraining() { draining = true }

    // MARK: For the operator (the admin API)

    public struct RoomSummary: Sendable, Equatable, Encodable {
        public let name: String
        public let maxParticipants: Int
        public let participants: Int
        /// Live streams in the room.
        public let streams: Int
    }

    public func roomSummaries() -> [RoomSummary] {
        registry.roomNames.compactMap { name in
            guard let snapshot = registry.snapshot(of: name) else { return nil }
            let members = streams.withStreams(snapshot.participants, inRoom: name)
            return RoomSummary(name: name, maxParticipants: snapshot.maxParticipants, participants: members.count,
                               streams: members.reduce(0) { $0 + $1.streams.count })
        }
    }

    /// A room with its members and their live streams, or nil.
    public func room(named name: String) -> RoomSnapshot? {
        guard var snapshot = registry.snapshot(of: name) else { return nil }
        snapshot.participants = streams.withStreams(snapshot.participants, inRoom: name)
        return snapshot
    }

    /// Removes a participant by the operator's decision: the others hear its streams end and it leave, with
    /// reason `kicked`, and its connection is closed (so its session ends in every room it was in). False when
    /// no such participant is in the room.
    @discardableResult
    public func kick(room: String, participant name: String) -> Bool {
        guard let member = member(named: name, in: room) else { return false }
        let sink = sessions[member.session]
        closeSession(member.session, reason: .kicked)
        sink?.evict()
        return true
    }

    /// Removes everyone from a room (it then ends); returns how many were in it.
    public func closeRoom(_ room: String) -> Int {
        let members = registry.participants(in: room)
        for member in members { kick(room: room, participant: member.name) }
        return members.count
    }

    /// The operator mutes (true) or unmutes (false) the kinds given of what `name` publishes in `room`, now and
    /// later while it stays there (`publish` applies it to a new stream). Its streams' records say so, and
    /// everyone in the room, itself included, gets `updated` for each live one. Returns the mute now in force and
    /// its streams there, whose media the caller mutes; nil when no such participant is in the room.
    public func serverMute(room: String, participant name: String, audio: Bool?, video: Bool?) -> (MuteState, [StreamRecord])? {
        guard let member = member(named: name, in: room) else { return nil }
        var mute = serverMutes[room]?[member.session] ?? MuteState()
        mute.set(audio: audio, video: video)
        serverMutes[room, default: [:]][member.session] = mute.isEmpty ? nil : mute
        if serverMutes[room]?.isEmpty == true { serverMutes[room] = nil }
        let changed = streams.all(of: member.session, inRoom: room).compactMap {
            streams.updateServerMute($0.id, audio: audio, video: video)
        }
        let everyone = registry.participants(in: room).map(\.session)
        for record in changed where record.state == .live {
            broadcast(.updated(room: room, participant: name, stream: record.description), to: everyone)
        }
        return (mute, changed)
    }

    /// Chat from the server to everyone in a room (`from` is empty).
    public func postSystem(room: String, text: String) throws(RoomError) -> ChatMessage {
        let outcome = try registry.postSystem(room: room, text: text, time: now())
        broadcast(.message(outcome.message), to: outcome.recipients)
        return outcome.message
    }

    /// A room's members, each with its live streams there.
    public func participants(in room: String) -> [Participant] {
        streams.withStreams(registry.participants(in: room), inRoom: room)
    }

    /// Opens a session for an authenticated socket and returns its id.
    public func openSession(sink: any SessionSink) -> SessionID {
        var id: SessionID
        repeat { id = Self.hex(bytes: 16, using: &rng) } while sessions[id] != nil
        sessions[id] = sink
        return id
    }

    /// Ends a session: it leaves every room, and the others are told why.
    public func closeSession(_ session: SessionID, reason: LeaveReason = .disconnected) {
        guard sessions.removeValue(forKey: session) != nil else { return }
        for outcome in registry.removeSession(session) {
            announceDeparture(outcome, reason: reason)
        }
        // And its streams outside rooms.
        _ = streams.removeAll(of: session, inRoom: nil)
    }

    public func join(
        _ session: SessionID, name: String, room: String?, maxParticipants: Int?,
        respond: (Result<RoomSnapshot, RoomError>) -> Void
    ) {
        guard sessions[session] != nil else { return }
        let roomName = room ?? registry.makeRandomRoomName(using: &rng)
        if draining && !registry.contains(room: roomName) {
            respond(.failure(.draining))
            return
        }
        let opens = !registry.contains(room: roomName)
        do {
            let outcome = try registry.join(session: session, name: name, room: roomName, requestedCap: maxParticipants)
            var snapshot = outcome.snapshot
            snapshot.participants = streams.withStreams(snapshot.participants, inRoom: roomName)
            respond(.success(snapshot))
            if opens { observer?(.roomStarted(room: roomName)) }
            broadcast(.joined(room: roomName, participant: outcome.joined), to: outcome.notify, observed: true)
        } catch {
            respond(.failure(error))
        }
    }

    public func leave(_ session: SessionID, room: String, respond: (Result<Void, RoomError>) -> Void) {
        do {
            let outcome = try registry.leave(session: session, room: room)
            respond(.success(()))
            announceDeparture(outcome, reason: .left)
        } catch {
            respond(.failure(error))
        }
    }

    public func post(
        _ session: SessionID, room: String, text: String, to: String?,
        respond: (Result<ChatMessage, RoomError>) -> Void
    ) {
        do {
            let outcome = try registry.post(session: session, room: room, text: text, to: to, time: now())
            respond(.success(outcome.message))
            broadcast(.message(outcome.message), to: outcome.recipients)
        } catch {
            respond(.failure(error))
        }
    }

    // MARK: Streams

    /// Opens the record of a publish whose media is starting. Its id is the caller's (`StreamID.mint`); a
    /// stream in a room needs its owner there, and a named one a name no other stream holds.
    public func openStream(_ record: StreamRecord) throws(RoomError) {
        guard sessions[record.owner] != nil else { throw .unknownStream(record.id) }
        if let room = record.room, !registry.isMember(session: record.owner, room: room) { throw .notInRoom(room: room) }
        guard streams.open(record) else {
            if let name = record.name { throw .streamNameTaken(name) }
            throw .unknownStream(record.id)
        }
    }

    /// Records what the media plane set up for a stream of `session`: its kinds, tracks and media loop.
    public func setStreamMedia(_ session: SessionID, stream: String, _ media: PublishedMedia) {
        streams.setMedia(stream, owner: session, audio: media.audio, video: media.video, tracks: media.tracks,
                         mediaLoop: media.mediaLoop)
    }

    /// A stream's media is up: it goes live, and its room is told. Refused if it is gone (its owner stopped it
    /// or left the room meanwhile) or over its owner's stream cap in the room.
    public func publish(_ session: SessionID, stream id: String) throws(RoomError) -> StreamRecord {
        guard sessions[session] != nil, let record = streams[id], record.owner == session else { throw .unknownStream(id) }
        if let room = record.room, !registry.isMember(session: session, room: room) { throw .notInRoom(room: room) }
        if let room = record.room, let mute = serverMutes[room]?[session] {
            _ = streams.updateServerMute(id, audio: mute.audio, video: mute.video)
        }
        let live = try streams.goLive(id, owner: session, limit: registry.limits.maxStreamsPerParticipant)
        if let room = live.room, let owner = member(session, of: room) {
            broadcast(.published(room: room, participant: owner.name, stream: live.description), to: others(of: session, in: room),
                      observed: true)
        }
        return live
    }

    /// Ends a stream of `session`, starting or live; a live one's room is told why. Its name is free again.
    /// False if it had already ended.
    @discardableResult
    public func unpublish(_ session: SessionID, stream id: String, reason: UnpublishReason) -> Bool {
        guard let record = streams.remove(id, owner: session) else { return false }
        if record.state == .live, let room = record.room, let owner = member(session, of: room) {
            broadcast(.unpublished(room: room, participant: owner.name, stream: id, reason: reason),
                      to: others(of: session, in: room), observed: true)
        }
        return true
    }

    public func updateStream(_ session: SessionID, stream: String, audioMuted: Bool?, videoMuted: Bool?,
                             respond: (Result<Void, RoomError>) -> Void) {
        guard let record = streams.updateMute(stream, owner: session, audio: audioMuted, video: videoMuted) else {
            respond(.failure(.unknownStream(stream)))
            return
        }
        respond(.success(()))
        // A starting stream's state goes out when it goes live.
        if record.state == .live, let room = record.room, let owner = member(session, of: room) {
            broadcast(.updated(room: room, participant: owner.name, stream: record.description), to: others(of: session, in: room))
        }
    }

    /// The stream `session` asks to play, if it is live in a room the session is in.
    public func playable(_ session: SessionID, room: String, stream: String) throws(RoomError) -> StreamDescription {
        guard registry.isMember(session: session, room: room) else { throw .notInRoom(room: room) }
        guard let record = streams[stream], record.room == room, record.state == .live else { throw .unknownStream(stream) }
        return record.description
    }

    /// A stream's record, starting or live.
    public func stream(_ id: String) -> StreamRecord? { streams[id] }

    /// The stream that holds a client-given name (the Web Call Server's protocol names streams; Parley's does not).
    public func namedStream(_ name: String) -> StreamRecord? { streams.record(named: name) }

    public func isMember(_ session: SessionID, room: String) -> Bool {
        registry.isMember(session: session, room: room)
    }

    private func member(named name: String, in room: String) -> Participant? {
        registry.participants(in: room).first { $0.name == name }
    }

    private func member(_ session: SessionID, of room: String) -> Participant? {
        registry.participants(in: room).first { $0.session == session }
    }

    private func others(of session: SessionID, in room: String) -> [SessionID] {
        registry.participants(in: room).map(\.session).filter { $0 != session }
    }

    /// A participant left a room: its streams there end, and the others hear of each live one going, then
    /// of the participant.
    private func announceDeparture(_ outcome: RoomRegistry.LeaveOutcome, reason: LeaveReason) {
        serverMutes[outcome.room]?[outcome.participant.session] = nil
        if serverMutes[outcome.room]?.isEmpty == true { serverMutes[outcome.room] = nil }
        let streamReason: UnpublishReason = switch reason {
        case .left: .left
        case .disconnected: .disconnected
        case .kicked: .kicked
        }
        for stream in streams.removeAll(of: outcome.participant.session, inRoom: outcome.room) where stream.state == .live {
            broadcast(.unpublished(room: outcome.room, participant: outcome.participant.name, stream: stream.id,
                                   reason: streamReason), to: outcome.notify, observed: true)
        }
        broadcast(.left(room: outcome.room, participant: outcome.participant, reason: reason), to: outcome.notify, observed: true)
        if outcome.roomRemoved { observer?(.roomFinished(room: outcome.room)) }
    }

    /// `observed`: the event is also one the observer hears of (membership and streams, not chat or mute).
    private func broadcast(_ event: RoomEvent, to recipients: [SessionID], observed: Bool = false) {
        if observed { observer?(.event(event)) }
        for id in recipients {
            sessions[id]?.deliver(event)
        }
    }

    static func hex(bytes: Int, using rng: inout any RandomNumberGenerator) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let b = UInt8.random(in: .min ... .max, using: &rng)
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return out
    }
}

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
    }

    private var registry: RoomRegistry
    private var sessions: [SessionID: any SessionSink] = [:]
    private var rng: any RandomNumberGenerator
    private let now: @Sendable () -> Int64
    /// Names clients gave their streams (protocols that name streams, e.g. the Web Call Server's).
    private var streamNames: [String: NamedStream] = [:]

    /// - Parameters:
    ///   - now: wall-clock milliseconds since 1970, injected so tests control chat timestamps.
    ///   - rng: randomness for session ids and room names; tests pass a seeded one.
    public init(
        limits: RoomRegistry.Limits = .init(),
        now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) },
        rng: any RandomNumberGenerator = SystemRandomNumberGenerator()
    ) {
        self.registry = RoomRegistry(limits: limits)
        self.now = now
        self.rng = rng
    }

    public var stats: Stats {
        Stats(sessions: sessions.count, rooms: registry.roomCount, participants: registry.participantCount)
    }

    public var limits: RoomRegistry.Limits { registry.limits }

    public func participants(in room: String) -> [Participant] { registry.participants(in: room) }

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
    }

    public func join(
        _ session: SessionID, name: String, room: String?, maxParticipants: Int?,
        respond: (Result<RoomSnapshot, RoomError>) -> Void
    ) {
        guard sessions[session] != nil else { return }
        let roomName = room ?? registry.makeRandomRoomName(using: &rng)
        do {
            let outcome = try registry.join(session: session, name: name, room: roomName, requestedCap: maxParticipants)
            respond(.success(outcome.snapshot))
            broadcast(.joined(room: roomName, participant: outcome.joined), to: outcome.notify)
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

    /// Announces a stream whose transport is up; fails if the session left the room meanwhile.
    public func publish(_ session: SessionID, room: String, stream: StreamDescription) throws(RoomError) {
        guard sessions[session] != nil else { throw .notInRoom(room: room) }
        let outcome = try registry.publish(session: session, room: room, stream: stream)
        broadcast(.published(room: room, participant: outcome.participant.name, stream: outcome.stream), to: outcome.notify)
    }

    /// Withdraws a stream; false if it was not (or no longer) published.
    @discardableResult
    public func unpublish(_ session: SessionID, stream: String, reason: UnpublishReason) -> Bool {
        guard let outcome = try? registry.unpublish(session: session, stream: stream) else { return false }
        broadcast(.unpublished(room: outcome.room, participant: outcome.participant.name, stream: stream, reason: reason),
                  to: outcome.notify)
        return true
    }

    public func updateStream(_ session: SessionID, stream: String, audioMuted: Bool?, videoMuted: Bool?,
                             respond: (Result<Void, RoomError>) -> Void) {
        do {
            let outcome = try registry.updateStream(session: session, stream: stream, audioMuted: audioMuted, videoMuted: videoMuted)
            respond(.success(()))
            broadcast(.updated(room: outcome.room, participant: outcome.participant.name, stream: outcome.stream), to: outcome.notify)
        } catch {
            respond(.failure(error))
        }
    }

    /// The stream `session` asks to play, if it is published in a room the session is in.
    public func playable(_ session: SessionID, room: String, stream: String) throws(RoomError) -> StreamDescription {
        try registry.playable(session: session, room: room, stream: stream)
    }

    public func isMember(_ session: SessionID, room: String) -> Bool {
        registry.isMember(session: session, room: room)
    }

    // MARK: Stream names

    /// A stream name a client chose (the Web Call Server's protocol names streams; Parley's does not): claimed
    /// when the publish starts, live once its transport is up, released when it ends. One name, one stream per
    /// server.
    public struct NamedStream: Sendable, Equatable {
        public let session: SessionID
        /// The room it is published in; nil for a stream outside rooms, which any session may play by name.
        public let room: String?
        /// The media plane's id, once the publish has one.
        public var id: String?
        /// True once its transport is up (and, in a room, it is announced).
        public var live: Bool
    }

    /// Claims `name` for a publish of `session`; false if the name is already taken.
    public func claimStreamName(_ name: String, session: SessionID, room: String?) -> Bool {
        guard sessions[session] != nil, streamNames[name] == nil else { return false }
        streamNames[name] = NamedStream(session: session, room: room, id: nil, live: false)
        return true
    }

    /// Records the media id and state of a name `session` holds.
    public func updateStreamName(_ name: String, session: SessionID, id: String?, live: Bool) {
        guard streamNames[name]?.session == session else { return }
        streamNames[name]?.id = id
        streamNames[name]?.live = live
    }

    public func releaseStreamName(_ name: String, session: SessionID) {
        if streamNames[name]?.session == session { streamNames[name] = nil }
    }

    public func releaseStreamNames(of session: SessionID) {
        streamNames = streamNames.filter { $0.value.session != session }
    }

    public func namedStream(_ name: String) -> NamedStream? { streamNames[name] }

    /// The others hear of each stream going, then of the participant.
    private func announceDeparture(_ outcome: RoomRegistry.LeaveOutcome, reason: LeaveReason) {
        let streamReason: UnpublishReason = reason == .left ? .left : .disconnected
        for stream in outcome.participant.streams {
            broadcast(.unpublished(room: outcome.room, participant: outcome.participant.name, stream: stream.id,
                                   reason: streamReason), to: outcome.notify)
        }
        broadcast(.left(room: outcome.room, participant: outcome.participant, reason: reason), to: outcome.notify)
    }

    private func broadcast(_ event: RoomEvent, to recipients: [SessionID]) {
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

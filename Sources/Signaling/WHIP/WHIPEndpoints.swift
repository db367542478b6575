import Foundation
import Logging
import Rooms
import Synchronization

/// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep): a publish into a room, or a play from it, made by one HTTP
/// exchange around an SDP offer and its answer. This is the rules' side, without HTTP:
/// - a WHIP client is a participant of its room while its session lives: the others see `joined`, then
///   `published` once its media is up, and `unpublished` and `left` when it ends (DELETE, ICE consent lost,
///   or the room refusing it);
/// - a WHEP player is nobody's participant, only a play of a live stream, ended by DELETE or by its source;
/// - either ends if its media has not connected within `connectTimeout` of the answer. The SFU's consent clock
///   already ends a peer that never sends an ICE check; this also ends one whose checks come but whose DTLS
///   handshake never starts (Parley is the DTLS server, so no DTLS timer runs), which, with no WebSocket to
///   close, would otherwise hold its slot for good.
/// Each session is named by an unguessable id (128 random bits), the last part of its URL.
public actor WHIPEndpoints {
    public enum Kind: String, Sendable { case whip, whep }

    /// Why an exchange is refused; the HTTP adapter gives each its status.
    public enum Refusal: Error, Sendable, Equatable {
        /// The request or its offer cannot be read (400).
        case badRequest(String)
        /// The offer asks for what Parley cannot take whole: a second track of a kind, no common codec, sections
        /// not BUNDLEd (422).
        case unsupportedOffer(String)
        /// No such room, participant, stream or session (404).
        case notFound(String)
        /// The participant name is taken in the room (409).
        case nameTaken(String)
        /// The participant publishes nothing yet: try again later (409 with Retry-After).
        case notPublishing(String)
        /// The room or the server is full, or the media plane cannot take more (503 with Retry-After).
        case unavailable(String)
        /// An ICE restart, which Parley does not do yet (422, RFC 9725 §4.3.1).
        case iceRestart
        /// `If-Match` names another ICE session (412).
        case staleETag
    }

    public struct Created: Sendable, Equatable {
        /// The id that ends the session's URL.
        public let session: String
        public let answer: String
        /// The ICE session's entity tag (RFC 9725 §4.3.1), quoted as HTTP sends it.
        public let etag: String
    }

    private struct Session {
        let kind: Kind
        let room: String
        let name: String
        let stream: String
        /// WHIP: the participant's session in the hub.
        let owner: SessionID?
        let etag: String
        /// The offer's ICE username fragment: a PATCH with another one is an ICE restart.
        let iceUfrag: String?
        /// Set when its media connects (ICE and DTLS), by the media plane's own callback.
        let connected: MediaConnected
    }

    /// At most this many WHIP and WHEP sessions at once (the rest get 503).
    public let maxSessions: Int
    /// A session whose media has not connected this long after its answer ends. It has no socket, and a DELETE may
    /// never come (the encoder gave up, or UDP to the media port is blocked). The SFU expires a transport that never
    /// hears an ICE check after 29 s; this also covers ICE without DTLS, and whatever a media service does. Such a
    /// session used to stay for good: a participant in its room, a transport, and one of `maxSessions`.
    public let connectTimeout: Duration
    private var sessions: [String: Session] = [:]
    private let hub: SignalingHub
    private let media: any MediaService
    /// Set once by the server (it makes the recorder after the endpoints): `--record-all` and `?record=true`.
    private nonisolated let recorderSlot = Mutex<(any RecordingService)?>(nil)
    private let logger: Logger
    /// The tasks that follow each session's media events; run by the server (`run`).
    private let relays = StreamRelays()

    public init(hub: SignalingHub, media: any MediaService, maxSessions: Int = 1000,
                connectTimeout: Duration = .seconds(30), logger: Logger) {
        self.hub = hub
        self.media = media
        self.maxSessions = maxSessions
        self.connectTimeout = connectTimeout
        self.logger = logger
    }

    public nonisolated func attach(recorder: any RecordingService) { recorderSlot.withLock { $0 = recorder } }

    /// Follows the sessions' media until cancelled (the server's shutdown).
    public nonisolated func run() async { await relays.run() }

    public var count: Int { sessions.count }

    // MARK: WHIP

    /// Publishes `offer` into `room` as participant `name`; `record` records it (as `record: true` does).
    public func publish(room rawRoom: String, name rawName: String, offer: String, record: Bool = false) async throws(Refusal) -> Created {
        let room: String, name: String
        do throws(RoomError) {
            room = try Validation.roomName(rawRoom)
            name = try Validation.username(rawName)
        } catch {
            throw .badRequest(error.message)
        }
        guard sessions.count < maxSessions else { throw .unavailable("The server has \(maxSessions) WHIP and WHEP sessions") }
        let box = SilentSink.OwnerBox()
        let owner = await hub.openSession(sink: SilentSink(endpoints: self, owner: box))
        box.id.withLock { $0 = owner }
        var refusal: RoomError?
        await hub.join(owner, name: name, room: room, maxParticipants: nil) { result in
            if case .failure(let error) = result { refusal = error }
        }
        if let refusal {
            await hub.closeSession(owner)
            switch refusal {
            case .nameTaken: throw .nameTaken(refusal.message)
            case .roomFull, .draining: throw .unavailable(refusal.message)
            default: throw .badRequest(refusal.message)
            }
        }
        let lifecycle = StreamLifecycle(hub: hub, media: media, session: owner)
        let stream: String
        do throws(RoomError) {
            stream = try await lifecycle.open(room: room) { id in StreamDescription(id: id, display: "camera", audio: false, video: false) }
        } catch {
            await hub.closeSession(owner)
            throw .unavailable(error.message)
        }
        let pipe = StreamPipe(), connected = MediaConnected()
        let published: PublishedMedia
        do throws(MediaServiceError) {
            published = try await media.publish(stream: stream, offer: offer, preferH264: false, whole: true,
                                                onEvent: connected.noting(pipe.yield))
        } catch {
            await lifecycle.abandon(stream)
            await hub.closeSession(owner, reason: .left)
            throw Self.refusal(error)
        }
        await lifecycle.mediaReady(stream, published)
        let id = Self.mintID(), etag = "\"\(Self.mintID())\""
        sessions[id] = Session(kind: .whip, room: room, name: name, stream: stream, owner: owner, etag: etag,
                               iceUfrag: Self.iceUfrag(offer), connected: connected)
        let recorder = recorderSlot.withLock { $0 }
        let recordName = record || recorder?.recordsEverything == true
            ? recorder?.recordName(stream: stream, tracks: published.tracks) : nil
        logger.info("WHIP publish", metadata: ["room": "\(room)", "name": "\(name)", "stream": "\(stream)",
                                               "recordName": "\(recordName ?? "-")"])
        relays.start { [weak self, recorder, relays, logger] in
            for await event in pipe.events {
                switch event {
                case .connected:
                    if case .failure(let error) = await lifecycle.announce(stream) {
                        logger.notice("WHIP publish refused by its room", metadata: ["stream": "\(stream)", "error": "\(error.message)"])
                        await lifecycle.refuse(stream)
                        await self?.end(id, reason: .left)
                    } else if let recorder, let recordName {
                        // A WHIP client has no channel to hear of it: a refusal is logged.
                        await recorder.start(stream: stream, name: recordName, relays: relays, logger: logger) { _ in }
                    }
                case .failed(let why), .closed(let why):
                    // ICE consent lost (the client vanished), DTLS failed, or the client closed: the participant goes.
                    await lifecycle.withdraw(stream, reason: UnpublishReason(mediaEnd: why))
                    await self?.end(id, reason: .disconnected)
                    pipe.finish()
                }
            }
        }
        expireUnlessConnected(id)
        return Created(session: id, answer: published.answer, etag: etag)
    }

    // MARK: WHEP

    /// Plays participant `name`'s stream in `room` (its camera if it has several; `name` may also be a stream id).
    public func play(room rawRoom: String, name: String, offer: String) async throws(Refusal) -> Created {
        let room: String
        do throws(RoomError) {
            room = try Validation.roomName(rawRoom)
        } catch {
            throw .badRequest(error.message)
        }
        guard sessions.count < maxSessions else { throw .unavailable("The server has \(maxSessions) WHIP and WHEP sessions") }
        let members = await hub.participants(in: room)
        guard !members.isEmpty else { throw .notFound("No room '\(room)'") }
        let source: StreamDescription
        if let member = members.first(where: { $0.name == name }) {
            guard let stream = member.streams.first(where: { $0.display == "camera" }) ?? member.streams.first else {
                throw .notPublishing("'\(name)' publishes nothing yet")
            }
            source = stream
        } else if let stream = members.lazy.flatMap(\.streams).first(where: { $0.id == name }) {
            source = stream
        } else {
            throw .notFound("No participant or stream '\(name)' in room '\(room)'")
        }
        let pipe = StreamPipe(), connected = MediaConnected()
        let played: (id: String, answer: String)
        do throws(MediaServiceError) {
            played = try await media.play(source: source.id, offer: offer, onEvent: connected.noting(pipe.yield))
        } catch {
            throw Self.refusal(error)
        }
        let id = Self.mintID(), etag = "\"\(Self.mintID())\""
        sessions[id] = Session(kind: .whep, room: room, name: name, stream: played.id, owner: nil, etag: etag,
                               iceUfrag: Self.iceUfrag(offer), connected: connected)
        logger.info("WHEP play", metadata: ["room": "\(room)", "source": "\(source.id)", "stream": "\(played.id)"])
        relays.start { [weak self] in
            for await event in pipe.events {
                guard case .connected = event else {
                    await self?.end(id, reason: .disconnected)
                    pipe.finish()
                    return
                }
            }
        }
        expireUnlessConnected(id)
        return Created(session: id, answer: played.answer, etag: etag)
    }

    // MARK: both

    /// DELETE: ends session `id` of `kind`: a WHIP participant leaves its room, a WHEP play stops.
    public func delete(_ kind: Kind, session id: String) async throws(Refusal) {
        guard let session = sessions[id], session.kind == kind else { throw .notFound("No \(kind.rawValue) session '\(id)'") }
        if let owner = session.owner {
            await StreamLifecycle(hub: hub, media: media, session: owner).withdraw(session.stream, reason: .unpublished)
        }
        await end(id, reason: .left)
    }

    /// PATCH with an `application/trickle-ice-sdpfrag` body: trickled candidates are not needed (Parley is ICE-lite
    /// and learns the client's address from its checks), so they are accepted and ignored; an ICE restart (new
    /// credentials) is refused until Parley supports one.
    public func patch(_ kind: Kind, session id: String, fragment: String, ifMatch: String?) throws(Refusal) {
        guard let session = sessions[id], session.kind == kind else { throw .notFound("No \(kind.rawValue) session '\(id)'") }
        if let ufrag = Self.iceUfrag(fragment), ufrag != session.iceUfrag { throw .iceRestart }
        if let ifMatch, ifMatch != "*", ifMatch != session.etag { throw .staleETag }
    }

    /// The WHIP session of hub session `owner`, removed by the operator (it has left the room already).
    func endOwned(by owner: SessionID) async {
        guard let id = sessions.first(where: { $0.value.owner == owner })?.key else { return }
        await end(id, reason: .kicked)
    }

    /// Ends session `id` after `connectTimeout` if its media has not connected by then (a relay of `run`, so the
    /// server's shutdown cancels the wait).
    private func expireUnlessConnected(_ id: String) {
        relays.start { [weak self, connectTimeout] in
            try? await Task.sleep(for: connectTimeout)
            guard !Task.isCancelled else { return }
            await self?.endIfUnconnected(id)
        }
    }

    private func endIfUnconnected(_ id: String) async {
        guard let session = sessions[id], !session.connected.value else { return }
        logger.notice("\(session.kind.rawValue.uppercased()) session ended: its media did not connect",
                      metadata: ["room": "\(session.room)", "name": "\(session.name)", "after": "\(connectTimeout)"])
        if let owner = session.owner {
            await StreamLifecycle(hub: hub, media: media, session: owner).withdraw(session.stream, reason: .failed)
        }
        await end(id, reason: .disconnected)
    }

    /// Ends session `id` however it ends: its media stops, and a WHIP participant leaves its room.
    private func end(_ id: String, reason: LeaveReason) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await media.stop(stream: session.stream)
        if let owner = session.owner { await hub.closeSession(owner, reason: reason) }
        logger.info("\(session.kind.rawValue.uppercased()) session ended", metadata: ["room": "\(session.room)", "name": "\(session.name)"])
    }

    static func refusal(_ error: MediaServiceError) -> Refusal {
        switch error.code {
        case "bad_sdp": .badRequest(error.message)
        case "no_common_codec", "unsupported_offer": .unsupportedOffer(error.message)
        case "unknown_stream": .notPublishing(error.message)
        default: .unavailable(error.message)
        }
    }

    /// 128 random bits as 32 hex digits.
    static func mintID() -> String {
        var rng: any RandomNumberGenerator = SystemRandomNumberGenerator()
        return SignalingHub.hex(bytes: 16, using: &rng)
    }

    /// The first `a=ice-ufrag:` of an SDP or an SDP fragment.
    static func iceUfrag(_ sdp: String) -> String? {
        for line in sdp.split(whereSeparator: \.isNewline) where line.hasPrefix("a=ice-ufrag:") {
            return String(line.dropFirst("a=ice-ufrag:".count)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

/// Whether a session's media has connected, set as the media plane reports it (not when its relay gets to the
/// event, which a busy machine can delay past the deadline).
final class MediaConnected: Sendable {
    private let flag = Atomic<Bool>(false)
    var value: Bool { flag.load(ordering: .acquiring) }

    /// `onEvent`, noting a connection first.
    func noting(_ onEvent: @escaping @Sendable (StreamEvent) -> Void) -> @Sendable (StreamEvent) -> Void {
        { event in
            if case .connected = event { self.flag.store(true, ordering: .releasing) }
            onEvent(event)
        }
    }
}

/// A WHIP participant hears nothing of its room; removed by the operator, its session ends (its media stops).
/// The hub holds the sink and the endpoints hold the hub: the sink holds the endpoints weakly, so a server stopped
/// with WHIP sessions open is not kept by a cycle.
struct SilentSink: SessionSink {
    weak let endpoints: WHIPEndpoints?
    let owner: OwnerBox
    func deliver(_ event: RoomEvent) {}
    func evict() {
        guard let endpoints, let id = owner.id.withLock({ $0 }) else { return }
        Task { await endpoints.endOwned(by: id) }
    }

    /// The hub names the session once the sink is in; the sink learns it then.
    final class OwnerBox: Sendable {
        let id = Mutex<SessionID?>(nil)
    }
}


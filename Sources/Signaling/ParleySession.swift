import Foundation
import Logging
import Rooms

/// One WebSocket speaking Parley's protocol: reads its frames in order, keeps its state, and talks to the hub.
/// Owned by the task that reads the socket, so it needs no lock of its own.
public final class ParleySession {
    public static let closeUnsupportedData: UInt16 = 1003
    public static let closePolicyViolation: UInt16 = 1008
    /// After an `unauthorized` reply: a client gets one try per socket.
    public static let closeUnauthorized: UInt16 = 4401
    /// The operator removed the session (admin API): do not reconnect.
    public static let closeKicked: UInt16 = 4003

    private let hub: SignalingHub
    private let media: (any MediaService)?
    /// Media streams this socket started; stopped when it leaves their room or closes.
    private let streams = StreamTable()
    /// Pushes to other RTMP servers this socket started; stopped when it leaves their room or closes.
    private let republishes = RepublishTable()
    private let republisher: (any RepublishService)?
    private let recorder: (any RecordingService)?
    /// Token checks; nil when the server has none (every session may do everything).
    private let access: (any AccessControl)?
    /// The connected session's token grant (nil without token checks).
    private var grant: AccessGrant?
    /// The operator's backend, asked about connect, join and publish; nil: not asked.
    private let hook: (any AccessHook)?
    /// The token `connect` gave, passed along to the hook.
    private var connectToken: String?
    /// TURN servers for the client, if the server hands some out.
    private let iceServers: (any IceServerSource)?
    /// Recordings to start once their stream is live: stream id → file name.
    private let pendingRecordings = PendingRecordings()
    public static let maxRepublishesPerSession = 4
    public static let maxStreamsPerSession = SessionLimits.maxStreams
    private let outbox: Outbox
    /// Its streams' relay tasks, run by the socket's task.
    public let relays = StreamRelays()
    private let version: String
    private let monotonicNow: @Sendable () -> Double
    private let wallNow: @Sendable () -> Int64
    private var limiter: RateLimiter
    private var logger: Logger
    private var state: State = .awaitingConnect

    private enum State {
        case awaitingConnect
        case connected(id: SessionID, username: String)
        case closed
    }

    public init(
        hub: SignalingHub,
        media: (any MediaService)? = nil,
        republisher: (any RepublishService)? = nil,
        recorder: (any RecordingService)? = nil,
        access: (any AccessControl)? = nil,
        hook: (any AccessHook)? = nil,
        iceServers: (any IceServerSource)? = nil,
        outbox: Outbox,
        version: String,
        limiter: RateLimiter = RateLimiter(),
        logger: Logger,
        monotonicNow: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
        wallNow: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.hub = hub
        self.media = media
        self.republisher = republisher
        self.recorder = recorder
        self.access = access
        self.hook = hook
        self.iceServers = iceServers
        self.outbox = outbox
        self.version = version
        self.limiter = limiter
        self.logger = logger
        self.monotonicNow = monotonicNow
        self.wallNow = wallNow
    }

    public var sessionID: SessionID? {
        if case .connected(let id, _) = state { return id }
        return nil
    }

    /// Handles one text frame. Returns false when the socket must be closed (a close frame has been queued).
    @discardableResult
    public func receive(text: String) async -> Bool {
        if case .closed = state { return false }
        return await handleFrame(text)
    }

    /// Binary frames are not part of the protocol: close with 1003.
    public func receiveBinary() {
        outbox.close(code: Self.closeUnsupportedData, reason: "Binary frames are not supported")
    }

    /// The socket is gone (closed by the peer, a ping timeout, or the server): leave every room.
    public func socketClosed() async {
        // Streams exist only once connected.
        if case .connected(let id, _) = state {
            await hub.closeSession(id, reason: .disconnected)
            // The hub told the rooms (unpublished, then left); the media goes with the socket.
            await lifecycle(id).stopMedia(streams.removeAll(inRoom: nil))
            for job in republishes.removeAll(inRoom: nil) { await job.stop() }
        }
        state = .closed
        outbox.finish()
        relays.finish()
    }

    private func handleFrame(_ text: String) async -> Bool {
        switch limiter.check(now: monotonicNow()) {
        case .allow:
            break
        case .refuse:
            outbox.send(ParleyWire.reply(Self.peekID(text), error: .rateLimited))
            return true
        case .disconnect:
            logger.notice("closing a socket that floods requests")
            outbox.close(code: Self.closePolicyViolation, reason: "rate limit")
            return false
        }
        switch ParleyWire.decode(text) {
        case .invalid(let id, let error):
            logger.debug("refused a frame", metadata: ["code": "\(error.code)"])
            outbox.send(ParleyWire.reply(id, error: error))
        case .request(let id, let request):
            await handle(request, id: id)
        }
        return true
    }

    /// Dispatches one request; each kind is handled in its own function. Besides reading better, that keeps the
    /// socket task's async frames small: one function with every case's locals made a 9.2 KB frame, and a task
    /// keeps the stack memory its deepest call needed for as long as it lives (one per socket).
    private func handle(_ request: ClientRequest, id: RequestID) async {
        if case .connected = state, let grant, let refusal = Self.refusal(of: request, by: grant) {
            outbox.send(ParleyWire.reply(id, error: refusal))
            return
        }
        switch (request, state) {
        case (.ping, _):
            outbox.send(ParleyWire.reply(id, result: ParleyWire.PingResult(time: wallNow())))
        case (.connect(let name, let token), .awaitingConnect):
            await connect(id, name: name, token: token)
        case (.connect, .connected):
            outbox.send(ParleyWire.reply(id, error: .alreadyConnected))
        case (.join(let room, let cap), .connected(let session, let username)):
            await join(id, session: session, username: username, room: room, cap: cap)
        case (.leave(let room), .connected(let session, _)):
            await leave(id, session: session, room: room)
        case (.message(let room, let text, let to), .connected(let session, _)):
            await hub.post(session, room: room, text: text, to: to, respond: replier(id, ParleyWire.MessageResult.init))
        case (.echo(let sdp), .connected):
            await echo(id, offer: sdp)
        case (.publish(let room, let sdp, let display, let audioMuted, let videoMuted, let record),
              .connected(let session, let username)):
            await publish(id, session: session, username: username, room: room, offer: sdp, display: display,
                          muted: (audio: audioMuted, video: videoMuted), record: record)
        case (.play(let room, let source, let sdp), .connected(let session, _)):
            await play(id, session: session, room: room, source: source, offer: sdp)
        case (.mute(let stream, let audioMuted, let videoMuted), .connected(let session, _)):
            await mute(id, session: session, stream: stream, audio: audioMuted, video: videoMuted)
        case (.stopStream(let stream), .connected(let session, _)):
            await stopStream(id, session: session, stream: stream)
        case (.republish(let room, let source, let url), .connected(let session, _)):
            await republish(id, session: session, room: room, source: source, url: url)
        case (.stopRepublish(let push), .connected):
            await stopRepublish(id, push: push)
        case (_, .awaitingConnect):
            outbox.send(ParleyWire.reply(id, error: .notConnected))
        case (_, .closed):
            break
        }
    }

    private func connect(_ id: RequestID, name raw: String?, token: String?) async {
        var name = raw
        if let access {
            switch await access.grant(token: token, missing: "This server needs an access token: give 'token' in connect") {
            case .success(let granted):
                grant = granted
                name = granted.identity
            case .failure(let refusal):
                refuseConnect(id, refusal)
                return
            }
        }
        guard let name else {
            outbox.send(ParleyWire.reply(id, error: .badRequest("Missing field 'username'")))
            return
        }
        do throws(RoomError) {
            let username = try Validation.username(name)
            // The backend's word comes after the token's: it is asked about the token's subject.
            if let refusal = await hook?.authorize(.init(.connect, name: username, door: .parley, token: token)) {
                refuseConnect(id, refusal)
                return
            }
            connectToken = token
            let sessionID = await hub.openSession(sink: ParleySink(outbox: outbox))
            state = .connected(id: sessionID, username: username)
            logger[metadataKey: "session"] = "\(sessionID)"
            logger.info("session connected", metadata: ["username": "\(username)"])
            outbox.send(ParleyWire.reply(id, result: ParleyWire.ConnectResult(
                sessionId: sessionID, username: username, server: .init(version: version),
                iceServers: iceServers?.iceServers(for: sessionID))))
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
        }
    }

    private func join(_ id: RequestID, session: SessionID, username: String, room: String?, cap: Int?) async {
        if let refusal = await hook?.authorize(.init(.join, name: username, room: room, door: .parley, token: connectToken)) {
            outbox.send(ParleyWire.reply(id, error: refusal))
            return
        }
        let servers = iceServers?.iceServers(for: session)
        await hub.join(session, name: username, room: room, maxParticipants: cap,
                       respond: replier(id) { ParleyWire.JoinResult($0, iceServers: servers) })
    }

    private func leave(_ id: RequestID, session: SessionID, room: String) async {
        await hub.leave(session, room: room, respond: replier(id) { _ in ParleyWire.Empty() })
        // The hub told the others (unpublished, then left); now end the media of that room.
        if !(await hub.isMember(session, room: room)) {
            await lifecycle(session).stopMedia(streams.removeAll(inRoom: room))
            for job in republishes.removeAll(inRoom: room) { await job.stop() }
        }
    }

    private func echo(_ id: RequestID, offer: String) async {
        guard let media = mediaOrRefuse(id) else { return }
        let pipe = StreamPipe()
        do {
            let (stream, answer) = try await media.startEcho(offer: offer, onEvent: pipe.yield)
            streams.insert(stream, .echo)
            outbox.send(ParleyWire.reply(id, result: ParleyWire.StreamResult(stream: stream, sdp: answer)))
            follow(stream, pipe)
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: error.code, message: error.message)))
        }
    }

    private func publish(_ id: RequestID, session: SessionID, username: String, room: String, offer: String,
                         display: String?, muted: (audio: Bool, video: Bool), record: Bool) async {
        guard let media = mediaOrRefuse(id) else { return }
        var label: String?
        do throws(RoomError) {
            label = try display.map(Validation.display)
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            return
        }
        // Before the stream's record: a refused publish leaves no trace in the room.
        if let refusal = await hook?.authorize(.init(.publish, name: username, room: room, stream: label, record: record,
                                                     door: .parley, token: connectToken)) {
            outbox.send(ParleyWire.reply(id, error: refusal))
            return
        }
        let lifecycle = lifecycle(session)
        let stream: String
        do throws(RoomError) {
            stream = try await lifecycle.open(room: room) { id in
                StreamDescription(id: id, display: label, audio: false, video: false, audioMuted: muted.audio, videoMuted: muted.video)
            }
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            return
        }
        let pipe = StreamPipe()
        do {
            let published = try await media.publish(stream: stream, offer: offer,
                                                    preferH264: republisher?.prefersH264(inRoom: room) ?? false,
                                                    onEvent: pipe.yield)
            await lifecycle.mediaReady(stream, published)
            streams.insert(stream, .publish(room: room))
            // Recorded from when it is live; the name is known now, for the app to fetch the file later.
            let recorded = record || recorder?.recordsEverything == true
            let recordName = recorded ? recorder?.recordName(stream: stream, tracks: published.tracks) : nil
            if let recordName { pendingRecordings.set(stream, recordName) }
            outbox.send(ParleyWire.reply(id, result: ParleyWire.PublishResult(
                stream: stream, sdp: published.answer, audio: published.audio, video: published.video, recordName: recordName)))
            follow(stream, pipe)
        } catch {
            await lifecycle.abandon(stream)
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: error.code, message: error.message)))
        }
    }

    private func play(_ id: RequestID, session: SessionID, room: String, source: String, offer: String) async {
        guard let media = mediaOrRefuse(id) else { return }
        do throws(RoomError) {
            _ = try await hub.playable(session, room: room, stream: source)
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            return
        }
        let pipe = StreamPipe()
        do {
            let (stream, answer) = try await media.play(source: source, offer: offer, onEvent: pipe.yield)
            streams.insert(stream, .play(room: room))
            outbox.send(ParleyWire.reply(id, result: ParleyWire.StreamResult(stream: stream, sdp: answer)))
            follow(stream, pipe)
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: error.code, message: error.message)))
        }
    }

    private func mute(_ id: RequestID, session: SessionID, stream: String, audio: Bool?, video: Bool?) async {
        guard case .publish = streams.role(of: stream) else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(RoomError.unknownStream(stream))))
            return
        }
        // A stream still connecting keeps the state in its record: it goes out with `published`.
        let outbox = self.outbox
        await hub.updateStream(session, stream: stream, audioMuted: audio, videoMuted: video) { result in
            switch result {
            case .success:
                outbox.send(ParleyWire.reply(id, result: ParleyWire.Empty()))
            case .failure(let error):
                outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            }
        }
    }

    private func stopStream(_ id: RequestID, session: SessionID, stream: String) async {
        guard let role = streams.remove(stream) else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "unknown_stream", message: "No stream '\(stream)' on this session")))
            return
        }
        if case .publish = role { await lifecycle(session).withdraw(stream, reason: .unpublished) }
        outbox.send(ParleyWire.reply(id, result: ParleyWire.Empty()))
        await lifecycle(session).stopMedia([stream])
    }

    private func stopRepublish(_ id: RequestID, push: String) async {
        guard let job = republishes.remove(push) else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "unknown_republish", message: "No republish '\(push)' on this session")))
            return
        }
        await job.stop()
        outbox.send(ParleyWire.reply(id, result: ParleyWire.Empty()))
    }

    /// Pushes a stream the session may play to another RTMP server; the push runs beside the socket's relays,
    /// its events after the reply, and ends with its source, a stop, a leave of its room, or the socket.
    private func republish(_ id: RequestID, session: SessionID, room: String, source: String, url: String) async {
        guard let republisher else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "media_unavailable", message: "This server cannot push streams")))
            return
        }
        guard republishes.count < Self.maxRepublishesPerSession else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "too_many_streams",
                message: "At most \(Self.maxRepublishesPerSession) republishes per session")))
            return
        }
        do throws(RoomError) {
            _ = try await hub.playable(session, room: room, stream: source)
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            return
        }
        let push = StreamID.mint()
        let outbox = self.outbox, republishes = self.republishes
        let job: any RepublishJob
        do {
            job = try await republisher.republish(id: push, stream: source, url: url) { event in
                outbox.send(ParleyWire.republishEvent(id: push, stream: source, event))
            }
        } catch {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: error.code, message: error.message)))
            return
        }
        republishes.insert(push, room: room, job)
        logger.info("republish started", metadata: ["republish": "\(push)", "stream": "\(source)"])
        outbox.send(ParleyWire.reply(id, result: ParleyWire.RepublishResult(republish: push)))
        relays.start {
            await job.run()
            republishes.remove(push)
        }
    }

    /// A refused `connect` (a token, or the hook): the reply, then the socket closes with 4401 (one try per socket).
    private func refuseConnect(_ id: RequestID, _ refusal: ProtocolError) {
        logger.notice("connect refused", metadata: ["code": "\(refusal.code)", "reason": "\(refusal.message)"])
        outbox.send(ParleyWire.reply(id, error: refusal))
        outbox.close(code: Self.closeUnauthorized, reason: refusal.code)
        state = .closed
    }

    /// What the session's access token refuses of `request`, if anything.
    static func refusal(of request: ClientRequest, by grant: AccessGrant) -> ProtocolError? {
        switch request {
        case .join(let room, _): grant.refusesJoin(room)
        case .message: grant.refusesChat()
        case .publish(_, _, _, _, _, let record): grant.refusesPublish(record: record)
        case .republish: grant.refusesPublish(record: false)
        case .play: grant.refusesPlay()
        case .connect, .leave, .ping, .echo, .stopStream, .mute, .stopRepublish: nil
        }
    }

    private func mediaOrRefuse(_ id: RequestID) -> (any MediaService)? {
        guard let media else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "media_unavailable", message: "This server has no media plane")))
            return nil
        }
        guard streams.count < Self.maxStreamsPerSession else {
            outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "too_many_streams", message: "At most \(Self.maxStreamsPerSession) streams per session")))
            return nil
        }
        return media
    }

    /// Relays a stream's events to the socket, in order and after its reply, and keeps the room in step: a
    /// publish is announced once its transport is up and withdrawn when it fails or goes silent.
    private func follow(_ stream: String, _ pipe: StreamPipe) {
        let outbox = self.outbox, streams = self.streams
        guard let session = sessionID else { return }
        let lifecycle = lifecycle(session)
        let recorder = self.recorder, pendingRecordings = self.pendingRecordings, relays = self.relays, logger = self.logger
        relays.start {
            for await event in pipe.events {
                outbox.send(ParleyWire.streamEvent(stream: stream, event))
                let role = streams.role(of: stream)
                switch event {
                case .connected:
                    guard case .publish = role else { continue }
                    // Refused (left the room, or the stream cap, while connecting): the stream has nowhere to
                    // go; its media is stopped and its `stream` event says so.
                    if case .failure = await lifecycle.announce(stream), streams.remove(stream) != nil {
                        await lifecycle.refuse(stream)
                    } else if let recorder, let name = pendingRecordings.take(stream) {
                        await recorder.start(stream: stream, name: name, relays: relays, logger: logger) { progress in
                            outbox.send(ParleyWire.recordingEvent(stream: stream, recordName: name, progress))
                        }
                    }
                case .failed(let why), .closed(let why):
                    streams.remove(stream)
                    _ = pendingRecordings.take(stream)
                    if case .publish = role { await lifecycle.withdraw(stream, reason: UnpublishReason(mediaEnd: why)) }
                    pipe.finish()
                }
            }
        }
    }

    private func lifecycle(_ session: SessionID) -> StreamLifecycle {
        StreamLifecycle(hub: hub, media: media, session: session)
    }

    /// Turns a hub result into this socket's reply: the encoded success payload, or the error.
    private func replier<T, R: Encodable & SendableMetatype>(_ id: RequestID, _ payload: @escaping @Sendable (T) -> R)
        -> @Sendable (Result<T, RoomError>) -> Void
    {
        let outbox = self.outbox
        return { result in
            switch result {
            case .success(let value): outbox.send(ParleyWire.reply(id, result: payload(value)))
            case .failure(let error): outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            }
        }
    }

    /// The id of a frame refused before decoding (rate limit), so the client can still match the reply.
    private static func peekID(_ text: String) -> RequestID? {
        switch ParleyWire.decode(text) {
        case .request(let id, _): id
        case .invalid(let id, _): id
        }
    }
}

/// Delivers hub events to a Parley-protocol socket.
struct ParleySink: SessionSink {
    let outbox: Outbox

    func deliver(_ event: RoomEvent) {
        outbox.send(ParleyWire.event(event))
    }

    /// 4003: the SDK ends the session (FAILED `kicked`) instead of reconnecting.
    func evict() {
        outbox.close(code: ParleySession.closeKicked, reason: "Removed from the room by the server's operator")
    }
}

/// Recordings asked for with a publish, until the stream is live.
final class PendingRecordings: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String: String] = [:]
    func set(_ stream: String, _ name: String) { lock.withLock { names[stream] = name } }
    func take(_ stream: String) -> String? { lock.withLock { names.removeValue(forKey: stream) } }
}

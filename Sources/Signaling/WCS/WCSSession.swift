import Foundation
import Logging
import Rooms

/// One WebSocket speaking the Web Call Server protocol (Flashphoner's WebSDK; docs/WCS-COMPATIBILITY.md): reads
/// its frames in order, keeps its state, and talks to the same hub and media plane as Parley's own sessions.
/// Owned by the task that reads the socket, so it needs no lock of its own.
public final class WCSSession {
    public static let closeGoingAway: UInt16 = 1001
    public static let closeUnsupportedData: UInt16 = 1003
    public static let closePolicyViolation: UInt16 = 1008
    public static let maxStreamsPerSession = SessionLimits.maxStreams

    private let hub: SignalingHub
    private let media: (any MediaService)?
    /// Pushes a publish to its `rtmpUrl`.
    private let republisher: (any RepublishService)?
    /// Records a publish with `record: true`.
    private let recorder: (any RecordingService)?
    /// Token checks (`custom.token` in `connection`); nil when the server has none.
    private let access: (any AccessControl)?
    /// The connected session's token grant (nil without token checks).
    private var grant: AccessGrant?
    /// The operator's backend, asked about connection, join and publishStream; nil: not asked.
    private let hook: (any AccessHook)?
    /// `connection`'s custom.token, passed along to the hook.
    private var connectToken: String?
    private let outbox: Outbox
    /// Its streams' relay tasks, run by the socket's task.
    public let relays = StreamRelays()
    private let version: String
    private let monotonicNow: @Sendable () -> Double
    private var limiter: RateLimiter
    private var logger: Logger
    private var state: State = .awaitingConnection
    let streams = WCSSessionState()
    /// The application-level ping this socket's owner drives (`WCSKeepAlive.tick`).
    public let keepAlive = WCSKeepAlive()

    private enum State {
        case awaitingConnection
        case connected(id: SessionID, client: WCSConnect)
        case closed
    }

    public init(
        hub: SignalingHub,
        media: (any MediaService)? = nil,
        republisher: (any RepublishService)? = nil,
        recorder: (any RecordingService)? = nil,
        access: (any AccessControl)? = nil,
        hook: (any AccessHook)? = nil,
        outbox: Outbox,
        version: String,
        limiter: RateLimiter = RateLimiter(),
        logger: Logger,
        monotonicNow: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    ) {
        self.hub = hub
        self.media = media
        self.republisher = republisher
        self.recorder = recorder
        self.access = access
        self.hook = hook
        self.outbox = outbox
        self.version = version
        self.limiter = limiter
        self.logger = logger
        self.monotonicNow = monotonicNow
        keepAlive.heard(at: monotonicNow())
    }

    public var sessionID: SessionID? {
        if case .connected(let id, _) = state { return id }
        return nil
    }

    /// Handles one text frame. Returns false when the socket must be closed (a close frame has been queued).
    @discardableResult
    public func receive(text: String) async -> Bool {
        if case .closed = state { return false }
        if keepAlive.hasTimedOut { return false }
        let now = monotonicNow()
        keepAlive.heard(at: now)
        let decoded = WCSWire.decode(text)
        switch limiter.check(now: now) {
        case .allow:
            break
        case .refuse:
            switch decoded {
            case .failure(let invalid): refuse(invalid)
            case .success(.pong), .success(.ping): break
            case .success(let request):
                refuse(Self.identify(request, reason: "Too many requests: at most \(limiter.perSecond) per second"))
            }
            return true
        case .disconnect:
            logger.notice("closing a WCS socket that floods requests")
            outbox.close(code: Self.closePolicyViolation, reason: "rate limit")
            return false
        }
        switch decoded {
        case .failure(let invalid):
            logger.debug("refused a WCS frame", metadata: ["reason": "\(invalid.reason)"])
            refuse(invalid)
        case .success(let request):
            await handle(request)
        }
        return true
    }

    /// Binary frames are not part of the protocol (the SDK never sends them): close with 1003.
    public func receiveBinary() {
        outbox.close(code: Self.closeUnsupportedData, reason: "Binary frames are not supported")
    }

    /// The socket is gone (closed by the peer, a ping timeout, or the server): leave every room, end every stream.
    public func socketClosed() async {
        // Streams exist only once connected.
        if case .connected(let id, _) = state {
            await hub.closeSession(id, reason: .disconnected)
            await StreamLifecycle(hub: hub, media: media, session: id).stopMedia(streams.endAll(inRoom: nil).map(\.mediaID))
        }
        state = .closed
        outbox.finish()
        relays.finish()
    }

    // MARK: requests

    private func handle(_ request: WCSRequest) async {
        let outbox = self.outbox
        switch (request, state) {
        case (_, .closed):
            break

        case (.ping, _):
            outbox.send(WCSWire.pong())

        case (.pong, _):
            break  // liveness is recorded for every frame

        case (.diagnostics(let message), _):
            logger.debug("WCS client diagnostics dropped", metadata: ["message": "\(message)"])

        case (.sipCall(let callId), _):
            let info = "SIP calls are not supported by this server (Parley)"
            if let callId { outbox.send(WCSWire.callFailed(callId: callId, info: info)) }
            outbox.send(WCSWire.fail(apiMethod: "CallStatusEvent", id: callId, info: info))

        case (.sipRequest(let message, let callId), _):
            outbox.send(WCSWire.fail(apiMethod: "CallStatusEvent", id: callId,
                                     info: "'\(message)': SIP calls are not supported by this server (Parley)"))

        case (.unknown(let message), _):
            logger.notice("unsupported WCS message ignored", metadata: ["message": "\(message)"])
            outbox.send(WCSWire.fail(info: "'\(message)' is not supported by this server (Parley)"))

        case (.connection(var client), .awaitingConnection):
            var token: String?
            if case .object(let custom)? = client.custom, case .string(let given)? = custom["token"] { token = given }
            if let access {
                switch await access.grant(token: token, missing: "This server needs an access token: connect with custom.token") {
                case .success(let granted):
                    grant = granted
                    client.login = granted.identity  // the token's subject, whatever custom.login says
                case .failure(let refusal):
                    refuseConnection(refusal)
                    return
                }
            }
            if let refusal = await hook?.authorize(.init(.connect, name: client.login, door: .wcs, token: token)) {
                refuseConnection(refusal)
                return
            }
            connectToken = token
            let id = await hub.openSession(sink: WCSSink(outbox: outbox, state: streams))
            state = .connected(id: id, client: client)
            logger[metadataKey: "session"] = "\(id)"
            logger.info("WCS session connected", metadata: [
                "appKey": "\(client.appKey)", "login": "\(client.login ?? "")", "client": "\(client.clientVersion ?? "")"])
            var data: [String: WCSJSON] = [
                "status": "ESTABLISHED", "authToken": .string(id), "sessionId": .string(id),
                "appKey": .string(client.appKey), "mediaProviders": ["WebRTC"],
                "useWsTunnel": false, "useWsTunnelPacketization2": false, "useBase64BinaryEncoding": false,
                "server": .string("parley \(version)"),
            ]
            if let login = client.login { data["login"] = .string(login) }
            if let custom = client.custom { data["custom"] = custom }
            if let version = client.clientVersion { data["clientVersion"] = .string(version) }
            outbox.send(WCSWire.userData(data))

        case (.connection, .connected):
            outbox.send(WCSWire.fail(info: "This socket is already connected"))

        case (_, .awaitingConnection):
            refuse(Self.identify(request, reason: "Send 'connection' first"))

        case (.sendData(let operationId, let payload), .connected(let session, let client)):
            await roomCommand(operationId, payload, session: session, client: client)

        case (.publishStream(let request), .connected(let session, let client)):
            await publish(request, session: session, client: client)

        case (.playStream(let request), .connected(let session, _)):
            await play(request, session: session)

        case (.unPublishStream(let id, _), .connected(let session, _)), (.stopStream(let id, _), .connected(let session, _)):
            await stop(id, session: session)

        case (.sendStreamEvent(let id, let type, _), .connected(let session, _)):
            await streamEvent(id, type: type, session: session)

        case (.availableStream(let id, let name), .connected(let session, _)):
            switch await resolve(name, room: nil, session: session) {
            case .success: outbox.send(WCSWire.availableStream(mediaSessionId: id, available: true, info: nil))
            case .failure(let error): outbox.send(WCSWire.availableStream(mediaSessionId: id, available: false, info: error.info))
            }
        }
    }

    // MARK: the room app

    private func roomCommand(_ operationId: String, _ payload: WCSJSON, session: SessionID, client: WCSConnect) async {
        let outbox = self.outbox, streams = self.streams
        guard client.appKey == WCSRoomCommand.appKey else {
            outbox.send(WCSWire.dataStatus(operationId: operationId, failure:
                "No REST application '\(client.appKey)' on this server: only roomApp commands are served"))
            return
        }
        let command: WCSRoomCommand
        switch WCSRoomCommand.decode(payload) {
        case .success(let c): command = c
        case .failure(let error):
            outbox.send(WCSWire.dataStatus(operationId: operationId, failure: error.info))
            return
        }
        switch command {
        case .join(let room):
            guard let login = client.login else {
                outbox.send(WCSWire.dataStatus(operationId: operationId, failure:
                    "A room needs a login: connect with custom.login (the room API's username)"))
                return
            }
            var refusal = grant?.refusesJoin(room)
            if refusal == nil { refusal = await hook?.authorize(.init(.join, name: login, room: room, door: .wcs, token: connectToken)) }
            if let refusal {
                outbox.send(WCSWire.dataStatus(operationId: operationId, failure: refusal.message))
                return
            }
            await hub.join(session, name: login, room: room, maxParticipants: nil) { result in
                switch result {
                case .success(let snapshot):
                    // STATE lists the others (not the joiner): a login per participant without streams, and
                    // {login, name} once per stream.
                    var info: [WCSJSON] = []
                    var names: [(id: String, name: String)] = []
                    for participant in snapshot.participants {
                        if participant.streams.isEmpty { info.append(.string(participant.name)) }
                        for stream in participant.streams {
                            let name = WCSNames.name(of: stream, participant: participant.name, room: snapshot.name)
                            names.append((stream.id, name))
                            info.append(["login": .string(participant.name), "name": .string(name)])
                        }
                    }
                    streams.entered(snapshot.name, streams: names)
                    outbox.send(WCSWire.dataStatus(operationId: operationId))
                    outbox.send(WCSWire.roomEvent(room: snapshot.name, name: "STATE", info: .array(info)))
                case .failure(let error):
                    outbox.send(WCSWire.dataStatus(operationId: operationId, failure: error.message))
                }
            }

        case .leave(let room):
            await hub.leave(session, room: room) { result in
                switch result {
                case .success: outbox.send(WCSWire.dataStatus(operationId: operationId))
                case .failure(let error): outbox.send(WCSWire.dataStatus(operationId: operationId, failure: error.message))
                }
            }
            // The hub told the others (UNPUBLISHED, then LEFT); now end this socket's streams of that room.
            if !(await hub.isMember(session, room: room)) {
                streams.left(room)
                let lifecycle = StreamLifecycle(hub: hub, media: media, session: session)
                for stream in streams.endAll(inRoom: room) {
                    outbox.send(WCSWire.streamStatus(mediaSessionId: stream.mediaSessionId, name: stream.name,
                                                     status: stream.stoppedStatus, info: "Left the room", recordName: stream.recordName))
                    await lifecycle.stopMedia([stream.mediaID])
                }
            }

        case .sendMessage(let room, let to, let text):
            if let refusal = grant?.refusesChat() {
                outbox.send(WCSWire.dataStatus(operationId: operationId, failure: refusal.message))
                return
            }
            await hub.post(session, room: room, text: text, to: to) { result in
                switch result {
                case .success: outbox.send(WCSWire.dataStatus(operationId: operationId))
                case .failure(let error): outbox.send(WCSWire.dataStatus(operationId: operationId, failure: error.message))
                }
            }
        }
    }

    // MARK: streams

    private func failStream(_ mediaSessionId: String, name: String?, _ info: String) {
        outbox.send(WCSWire.streamStatus(mediaSessionId: mediaSessionId, name: name, status: .failed, info: info))
    }

    /// The media plane, if a new stream may start; otherwise the stream is failed with the reason.
    private func mediaForNewStream(_ request: WCSStreamRequest) -> (any MediaService)? {
        if streams.stream(request.mediaSessionId) != nil {
            // Failing it would end the stream that has this id: only warn.
            outbox.send(WCSWire.fail(info: "mediaSessionId '\(request.mediaSessionId)' is already in use"))
            return nil
        }
        guard let media else {
            failStream(request.mediaSessionId, name: request.name, "This server has no media plane")
            return nil
        }
        if let provider = request.mediaProvider, provider != "WebRTC" {
            failStream(request.mediaSessionId, name: request.name,
                       "Media provider '\(provider)' is not supported: this server (Parley) serves WebRTC only")
            return nil
        }
        guard let sdp = request.sdp, !sdp.isEmpty else {
            failStream(request.mediaSessionId, name: request.name, "No SDP offer: this server needs the WebRTC offer in 'sdp'")
            return nil
        }
        guard streams.count < Self.maxStreamsPerSession else {
            failStream(request.mediaSessionId, name: request.name, "At most \(Self.maxStreamsPerSession) streams per session")
            return nil
        }
        return media
    }

    private func publish(_ request: WCSStreamRequest, session: SessionID, client: WCSConnect) async {
        guard let media = mediaForNewStream(request), let sdp = request.sdp else { return }
        let id = request.mediaSessionId, name = request.name
        // A room-app stream belongs to its room (`custom.name`); any other app publishes outside rooms.
        var room: String?
        if client.appKey == WCSRoomCommand.appKey {
            guard let target = request.room else {
                failStream(id, name: name, "A room stream needs its room in custom.name")
                return
            }
            room = target
        }
        if let grant, let refusal = grant.refusesPublish(record: request.record) ?? grant.refusesRoom(room) {
            failStream(id, name: name, refusal.message)
            return
        }
        // Before the stream's record: a refused publish leaves no trace in the room.
        if let refusal = await hook?.authorize(.init(.publish, name: client.login, room: room, stream: name, record: request.record,
                                                     door: .wcs, token: connectToken)) {
            failStream(id, name: name, refusal.message)
            return
        }
        let lifecycle = StreamLifecycle(hub: hub, media: media, session: session)
        let mediaID: String
        do throws(RoomError) {
            mediaID = try await lifecycle.open(room: room) { id in
                StreamDescription(id: id, display: WCSNames.display(for: name), audio: false, video: false, name: name)
            }
        } catch .streamNameTaken {
            failStream(id, name: name, WCSStatusInfo.streamNameInUse)
            return
        } catch {
            failStream(id, name: name, error.message)
            return
        }
        let pipe = StreamPipe()
        let published: PublishedMedia
        do {
            // H.264 first where RTMP watches the room, and for a push to `rtmpUrl`.
            let preferH264 = request.rtmpUrl != nil || room.map { republisher?.prefersH264(inRoom: $0) ?? false } ?? false
            published = try await media.publish(stream: mediaID, offer: sdp, preferH264: preferH264, onEvent: pipe.yield)
        } catch {
            await lifecycle.abandon(mediaID)
            logger.debug("WCS publish refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            failStream(id, name: name, WCSStatusInfo.describe(error))
            return
        }
        await lifecycle.mediaReady(mediaID, published)
        var stream = WCSStream(kind: .publish, mediaSessionId: id, name: name, mediaID: mediaID, room: room, source: nil)
        if request.record || recorder?.recordsEverything == true {
            stream.recordName = recorder?.recordName(stream: mediaID, tracks: published.tracks)
        }
        streams.insert(stream)
        outbox.send(WCSWire.remoteSDP(mediaSessionId: id, sdp: published.answer))
        follow(id, pipe, session: session, rtmpUrl: request.rtmpUrl)
    }

    private func play(_ request: WCSStreamRequest, session: SessionID) async {
        guard let media = mediaForNewStream(request), let sdp = request.sdp else { return }
        let id = request.mediaSessionId
        let source: (description: StreamDescription, room: String?)
        switch await resolve(request.name, room: request.room, session: session) {
        case .success(let found): source = found
        case .failure(let error):
            failStream(id, name: request.name, error.info)
            return
        }
        if let grant, let refusal = grant.refusesPlay() ?? grant.refusesRoom(source.room) {
            failStream(id, name: request.name, refusal.message)
            return
        }
        let pipe = StreamPipe()
        let playID: String, answer: String
        do {
            (playID, answer) = try await media.play(source: source.description.id, offer: sdp, onEvent: pipe.yield)
        } catch {
            logger.debug("WCS play refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            failStream(id, name: request.name, WCSStatusInfo.describe(error))
            return
        }
        streams.insert(WCSStream(kind: .play, mediaSessionId: id, name: request.name, mediaID: playID, room: source.room,
                                 source: source.description))
        outbox.send(WCSWire.remoteSDP(mediaSessionId: id, sdp: answer))
        follow(id, pipe, session: session)
    }

    /// The stream a WCS client means by `name`: one published in `room` (or in any room this socket is in) under
    /// that WCS name, or a plain stream of that name outside rooms.
    private func resolve(_ name: String, room: String?, session: SessionID) async
        -> Result<(description: StreamDescription, room: String?), WCSCommandError>
    {
        var rooms = streams.rooms.sorted()
        if let room {
            guard await hub.isMember(session, room: room) else {
                // Not a room of this socket: only a plain stream of that name will do.
                if let plain = await plainStream(name) { return .success((plain, nil)) }
                return .failure(.init(RoomError.notInRoom(room: room).message))
            }
            rooms.removeAll { $0 == room }
            rooms.insert(room, at: 0)
        }
        for candidate in rooms {
            for participant in await hub.participants(in: candidate) {
                for stream in participant.streams
                where WCSNames.name(of: stream, participant: participant.name, room: candidate) == name || stream.id == name {
                    return .success((stream, candidate))
                }
            }
        }
        if let plain = await plainStream(name) { return .success((plain, nil)) }
        return .failure(.init(WCSStatusInfo.streamNotFound))
    }

    private func plainStream(_ name: String) async -> StreamDescription? {
        guard let named = await hub.namedStream(name), named.room == nil, named.state == .live else { return nil }
        return named.description
    }

    private func stop(_ id: String, session: SessionID) async {
        if let ended = streams.end(id, status: \.stoppedStatus) {
            let stream = ended.0, status = ended.1
            let lifecycle = StreamLifecycle(hub: hub, media: media, session: session)
            if stream.kind == .publish { await lifecycle.withdraw(stream.mediaID, reason: .unpublished) }
            outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: status, recordName: stream.recordName))
            await lifecycle.stopMedia([stream.mediaID])
        } else if let status = streams.endedStatus(id) {
            // Already ended (by a leave, or by its source): the same answer again.
            outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: nil, status: status))
        } else {
            failStream(id, name: nil, "No stream with mediaSessionId '\(id)' on this session")
        }
    }

    private func streamEvent(_ id: String, type: String, session: SessionID) async {
        let audio: Bool?, video: Bool?
        switch type {
        case "audioMuted": (audio, video) = (true, nil)
        case "audioUnmuted": (audio, video) = (false, nil)
        case "videoMuted": (audio, video) = (nil, true)
        case "videoUnmuted": (audio, video) = (nil, false)
        default:
            logger.debug("WCS stream event not relayed", metadata: ["type": "\(type)"])
            return
        }
        guard let stream = streams.stream(id) else {
            if streams.endedStatus(id) == nil {
                outbox.send(WCSWire.fail(apiMethod: "StreamStatusEvent", id: id,
                                         info: "No stream with mediaSessionId '\(id)' on this session"))
            }
            return
        }
        guard stream.kind == .publish else { return }
        // Still connecting: the record keeps the state, and it goes out with PUBLISHED.
        await hub.updateStream(session, stream: stream.mediaID, audioMuted: audio, videoMuted: video) { _ in }
    }

    /// Relays a stream's media events to the socket as statuses, and keeps the room in step: a publish is
    /// announced once its transport is up, and withdrawn when it fails or ends.
    private func follow(_ id: String, _ pipe: StreamPipe, session: SessionID, rtmpUrl: String? = nil) {
        let relay = WCSRelay(id: id, session: session, outbox: outbox, hub: hub, media: media, streams: streams)
        let streams = self.streams, republisher = self.republisher, relays = self.relays, logger = self.logger
        let recorder = self.recorder, outbox = self.outbox
        relays.start {
            for await event in pipe.events {
                switch event {
                case .connected:
                    await relay.connected()
                    if let rtmpUrl, let republisher, let stream = streams.stream(id), stream.kind == .publish {
                        await Self.push(stream, to: rtmpUrl, republisher: republisher, relays: relays, logger: logger)
                    }
                    if let recorder, let stream = streams.stream(id), stream.kind == .publish, let name = stream.recordName {
                        // The WebSDK has no recording status: a recording that does not start, or ends before its
                        // stream, is told as a stream event (`recordingFailed`, `recordingStopped`) to the publisher.
                        await recorder.start(stream: stream.mediaID, name: name, relays: relays, logger: logger) { progress in
                            switch progress {
                            case .ended(.stopped(let why)):
                                outbox.send(WCSWire.streamEvent(mediaSessionId: id, type: "recordingStopped", payload: [
                                    "recordName": .string(name), "reason": .string(why.rawValue),
                                    "message": .string(ParleyWire.message(why))]))
                            case .refused(let error):
                                outbox.send(WCSWire.streamEvent(mediaSessionId: id, type: "recordingFailed", payload: [
                                    "recordName": .string(name), "reason": .string(error.code), "message": .string(error.message)]))
                            case .started, .ended(.finished):
                                break
                            }
                        }
                    }
                case .failed(let reason):
                    await relay.ended(reason: reason, failed: true)
                    pipe.finish()
                case .closed(let reason):
                    await relay.ended(reason: reason, failed: false)
                    pipe.finish()
                }
            }
        }
    }

    /// A publish's `rtmpUrl`, as the Web Call Server does it: once the stream publishes, it is pushed to
    /// `rtmpUrl/rtmp_NAME` until it ends. The push's progress is logged (the WebSDK is told nothing of it).
    private static func push(_ stream: WCSStream, to rtmpUrl: String, republisher: any RepublishService,
                             relays: StreamRelays, logger: Logger) async {
        let url = WCSNames.republishURL(rtmpUrl, name: stream.name)
        let push = StreamID.mint()
        var logger = logger
        logger[metadataKey: "republish"] = "\(push)"
        let log = logger
        do {
            let job = try await republisher.republish(id: push, stream: stream.mediaID, url: url) { event in
                log.info("rtmpUrl push", metadata: ["stream": "\(stream.name)", "status": "\(event)"])
            }
            relays.start { await job.run() }
        } catch {
            logger.notice("rtmpUrl push refused", metadata: ["stream": "\(stream.name)", "code": "\(error.code)", "reason": "\(error.message)"])
        }
    }

    // MARK: refusals

    /// A refused `connection` (a token, or the hook): the SDK's failed status, then the socket closes with 4401.
    private func refuseConnection(_ refusal: ProtocolError) {
        logger.notice("WCS connection refused", metadata: ["code": "\(refusal.code)", "reason": "\(refusal.message)"])
        outbox.send(WCSWire.fail(apiMethod: "ConnectionStatusEvent", info: "\(refusal.code): \(refusal.message)"))
        outbox.close(code: ParleySession.closeUnauthorized, reason: refusal.code)
        state = .closed
    }

    /// What a refused request needs for its answer: its stream, operation or call.
    static func identify(_ request: WCSRequest, reason: String) -> WCSInvalidFrame {
        var frame = WCSInvalidFrame(reason: reason)
        switch request {
        case .sendData(let id, _): frame.message = "sendData"; frame.operationId = id
        case .publishStream(let r): frame.message = "publishStream"; frame.mediaSessionId = r.mediaSessionId
        case .playStream(let r): frame.message = "playStream"; frame.mediaSessionId = r.mediaSessionId
        case .unPublishStream(let id, _), .stopStream(let id, _), .sendStreamEvent(let id, _, _), .availableStream(let id, _):
            frame.mediaSessionId = id
        case .sipCall(let id), .sipRequest(_, let id): frame.callId = id
        case .connection, .ping, .pong, .diagnostics, .unknown: break
        }
        return frame
    }

    /// Answers a frame that was not served, where the client will see it: the operation's `DataStatusEvent`,
    /// the stream's status, the call's end, or else `fail` (the session's WARN).
    private func refuse(_ invalid: WCSInvalidFrame) {
        if let operationId = invalid.operationId, invalid.message == "sendData" {
            outbox.send(WCSWire.dataStatus(operationId: operationId, failure: invalid.reason))
        } else if let id = invalid.mediaSessionId, streams.stream(id) == nil {
            failStream(id, name: nil, invalid.reason)
        } else if let callId = invalid.callId {
            outbox.send(WCSWire.callFailed(callId: callId, info: invalid.reason))
        } else {
            outbox.send(WCSWire.fail(info: invalid.reason))
        }
    }
}

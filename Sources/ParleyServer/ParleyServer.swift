import Foundation
import Hummingbird
import HummingbirdWebSocket
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import MediaNegotiation
import NIOCore
import Rooms
import ServiceLifecycle
import SFU
import UnixSignals
import Signaling
import Synchronization

/// Builds and runs the Parley application: static files, `/health`, and the `/ws` signaling endpoint.
public struct ParleyServer: Sendable {
    public let configuration: ParleyConfiguration
    public let hub: SignalingHub
    public let media: MediaEngine
    let tlsConfiguration: TLSConfiguration?
    /// Every open HTTP/WebSocket connection, for shutdown and the per-address cap.
    let connections: OpenConnections
    let mediaSessions: NegotiatingMediaService
    /// VP8 → H.264 for RTMP players and pushes, once per stream.
    let videoTranscodes: VideoTranscodes
    /// Rooms with RTMP players or pushes: their new publishes prefer H.264.
    let rtmpAudience = RTMPAudience()
    /// The RTMP listener's connections (publishers, players, handshakes) and its publishers by room and name.
    let rtmpConnections = OpenConnections()
    let rtmpPublishers = RTMPPublishers()
    let recordingStats = RecordingStats()
    /// WHIP publishers and WHEP players (docs/WHIP-WHEP.md).
    let whipEndpoints: WHIPEndpoints
    /// Token checks, when the configuration has keys.
    let access: TokenAccess?
    /// Refused tokens per address (slowed past a limit), and refused Origins.
    let authFailures = AuthFailures()
    /// Requests refused by the per-socket (and WHIP's per-address) rate limits.
    let rateLimits = RateLimitCounts()
    /// TURN servers and credentials for browsers, when configured.
    let turn: TURNCredentials?
    /// Room activity for the operator's backend, when `webhookURLs` are given.
    let webhooks: Webhooks?
    /// The operator's backend deciding connects, joins and publishes, when `authHookURL` is given.
    let authHook: AuthHook?
    /// Open protocol sockets, told to reconnect at the end of a drain; and whether one has begun (SIGTERM with
    /// `drainTimeout`: `/health` then answers 503 `draining`).
    let liveSockets = LiveSockets()
    /// Every socket's current write, swept once a second for writes that stall (`WriteStallSweep`).
    let writeStalls = WriteStalls()
    let startedAt: ContinuousClock.Instant
    let logger: Logger

    public init(configuration: ParleyConfiguration) throws {
        self.configuration = configuration
        var logger = Logger(label: "parley")
        logger.logLevel = configuration.logLevel
        let webhooks: Webhooks? = configuration.webhookURLs.isEmpty ? nil
            : Webhooks(urls: configuration.webhookURLs, secret: configuration.webhookSecret, logger: logger)
        self.webhooks = webhooks
        self.authHook = configuration.authHookURL.map {
            AuthHook(url: $0, secret: configuration.authHookSecret, timeout: configuration.authHookTimeout, logger: logger)
        }
        var observer: (@Sendable (HubActivity) -> Void)?
        if let webhooks { observer = { webhooks.observe($0) } }
        self.hub = SignalingHub(limits: .init(maxParticipants: configuration.maxParticipants), observer: observer)
        self.connections = OpenConnections(limits: .init(perAddress: max(1, configuration.maxConnectionsPerAddress),
                                                         requestHead: configuration.requestHeadTimeout,
                                                         newPerSecond: max(1, configuration.newConnectionsPerAddressPerSecond)))
        self.access = configuration.accessTokenKeys.map { TokenAccess(keys: $0) }
        self.turn = configuration.turnSecret.flatMap { secret in
            configuration.turnURLs.isEmpty ? nil : TURNCredentials(urls: configuration.turnURLs, secret: secret, ttl: configuration.turnTTL)
        }
        self.startedAt = .now
        self.logger = logger
        let announced = configuration.announcedIPs.isEmpty ? MediaEngine.defaultAnnouncedIPs() : configuration.announcedIPs
        self.media = try MediaEngine(
            configuration: .init(host: configuration.host, port: configuration.mediaPort, announcedIPs: announced,
                                 keyframeCache: configuration.keyframeCache, mediaLoops: configuration.mediaLoops,
                                 spreadViewersFrom: configuration.spreadViewersFrom),
            logger: logger)
        self.mediaSessions = NegotiatingMediaService(engine: media, logger: logger)
        self.videoTranscodes = VideoTranscodes(logger: logger)
        self.whipEndpoints = WHIPEndpoints(hub: hub, media: mediaSessions, logger: logger)
        // Bad certificate files stop the start with a clear message rather than at the first connection.
        self.tlsConfiguration = try configuration.tls.map { try ServerTLS.configuration($0, addresses: announced) }
        whipEndpoints.attach(recorder: StreamRecordings(server: self, logger: logger))
    }

    /// Runs until SIGINT/SIGTERM, as one service group: the media plane, then the application. On a signal the
    /// application stops first: it accepts no more connections, idle ones close at once, WebSockets get a
    /// close frame (swift-websocket's, 1000) and finish their closing handshake, requests in flight complete. Whatever is still
    /// open after the grace period is closed; then the media plane closes its ports and `run` returns.
    public func run() async throws {
        try await access?.prepare()  // an unusable key stops the start here, with a clear message
        try await media.start()  // ports bound before the first offer can be answered
        RecordingRecovery.recover(configuration.recordDir, logger: logger)  // what a crash left, downloadable
        // Shut down in reverse: the application, then RTMP, then the media plane that both feed.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: MediaPlaneService(engine: media, logger: logger))]
        if configuration.rtmpPort > 0 {
            services.append(.init(service: RTMPService(server: self, host: configuration.host, port: configuration.rtmpPort,
                                                       tls: tlsConfiguration, logger: logger)))
        }
        if let retention = configuration.recordRetention {
            services.append(.init(service: RecordingRetention(directory: configuration.recordDir, retention: retention,
                                                              interval: .seconds(300), logger: logger)))
        }
        services.append(.init(service: WHIPService(endpoints: whipEndpoints)))
        services.append(.init(service: WriteStallSweep(stalls: writeStalls)))  // stops after the application
        if let webhooks { services.append(.init(service: webhooks)) }  // stops after the application: its last events go out
        if let authHook { services.append(.init(service: authHook)) }  // stops after the application, which asks it
        if let port = configuration.adminPort {  // stops after the application: /metrics and the API see the drain
            services.append(.init(service: makeAdminApplication(port: port)))
        }
        services.append(.init(service: try makeApplication()))
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let grace = configuration.shutdownGracePeriod, drainTimeout = configuration.drainTimeout
        let logger = self.logger, connections = self.connections
        try await withThrowingTaskGroup(of: Bool.self) { tasks in  // true: the service group ended
            tasks.addTask {
                try await group.run()
                return true
            }
            tasks.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    if signal == .sigterm, drainTimeout > .zero {
                        // Until the rooms are empty, the timeout, or a second signal (stop now).
                        await withTaskGroup(of: Void.self) { drain in
                            drain.addTask { await self.drain(for: drainTimeout) }
                            drain.addTask {
                                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                                    logger.notice("a second signal: stopping without waiting for the rooms")
                                    return
                                }
                            }
                            await drain.next()
                            drain.cancelAll()
                        }
                    }
                    logger.info("shutting down", metadata: ["signal": "\(signal)"])
                    await group.triggerGracefulShutdown()
                    try await Task.sleep(for: grace)
                    let open = connections.count
                    if open > 0 {
                        logger.notice("closing connections still open after the grace period", metadata: ["count": "\(open)"])
                        connections.closeAll()
                    }
                    return false
                }
                return false
            }
            // Done when the service group is; the signal watcher, if still waiting out the grace period, is cancelled.
            while let groupEnded = try await tasks.next() {
                if groupEnded { break }
            }
            tasks.cancelAll()
        }
    }

    /// Logs go to standard error at `level` (once per process, before the server is made).
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Publishes a stream fed by a `MediaSource` (not a WebRTC publisher), playable by every client like a
    /// browser's stream: the entry for RTMP ingest and relays. Its record is opened (a room stream needs its
    /// owner in the room) and its media set up; the caller makes it live with `hub.publish(_:stream:)` and ends
    /// it through `StreamLifecycle`, as the adapters do.
    public func publish(_ record: StreamRecord, tracks: [SourceTrack],
                        makeSource: @escaping @Sendable (MediaFeed) -> any MediaSource) async throws -> MediaFeedHandle {
        try await hub.openStream(record)
        let feed: MediaFeedHandle
        do {
            feed = try await mediaSessions.publish(stream: record.id, tracks: tracks, makeSource: makeSource)
        } catch {
            await hub.unpublish(record.owner, stream: record.id, reason: .failed)
            throw error
        }
        await hub.setStreamMedia(record.owner, stream: record.id, PublishedMedia(
            id: record.id, answer: "", audio: tracks.contains { $0.kind == .audio }, video: tracks.contains { $0.kind == .video },
            tracks: tracks.map(\.record), mediaLoop: feed.mediaLoop))
        return feed
    }

    /// The application, for callers that run it themselves (tests bind port 0 and learn the port from `onServerRunning`).
    public func makeApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: ParleyRequestContext.self)
        // `.ts` defaults to MPEG transport stream; the SDK's type declarations are TypeScript text.
        router.add(middleware: DirectoryRedirectMiddleware(root: configuration.webRoot))
        // Recordings, before the web root's files: a plain name under /client/records/, Range included.
        router.add(middleware: RecordDownloadsMiddleware())
        router.add(middleware: FileMiddleware(configuration.recordDir, urlBasePath: "/client/records", logger: logger)
            .withAdditionalMediaTypes(forFileExtensions: [
                "webm": MediaType(type: .video, subType: "webm"),
                "mkv": MediaType(type: .video, subType: "x-matroska"),
            ]))
        router.add(middleware: FileMiddleware(configuration.webRoot, searchForIndexHtml: true, logger: logger)
            .withAdditionalMediaTypes(forFileExtensions: ["ts": MediaType(type: .text, subType: "plain", parameter: ("charset", "utf-8"))]))
        router.get("/health") { _, _ -> Response in
            let health = await self.health()
            // Draining: load balancers take the node out of rotation; the body still says why.
            return Response(status: health.draining ? .serviceUnavailable : .ok,
                            headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(health))))
        }
        WHIPRoutes(endpoints: whipEndpoints, limiter: AddressRateLimiter(perSecond: 20, counts: rateLimits), access: access,
                   authFailures: authFailures, hook: authHook).add(to: router)

        let wsRouter = Router(context: ParleyWebSocketContext.self)
        let origins = OriginPolicy(configuration.allowedOrigins, sameOriginByDefault: access != nil)
        let authFailures = self.authFailures
        wsRouter.ws("/ws") { request, _ in
            origins.shouldUpgrade(request, counting: authFailures)
        } onUpgrade: { inbound, outbound, context in
            context.requestContext.releaseUpgradeHandler()  // see ParleyWebSocketContext
            try await self.serveParleySocket(inbound: inbound, outbound: outbound, logger: context.logger,
                                             address: context.requestContext.remoteAddress,
                                             abort: context.requestContext.closeConnection)
        }
        // Web Call Server (Flashphoner WebSDK) clients open the bare server URL, ws://HOST:8080 (docs/WCS-COMPATIBILITY.md).
        wsRouter.ws("/") { request, _ in
            origins.shouldUpgrade(request, counting: authFailures)
        } onUpgrade: { inbound, outbound, context in
            context.requestContext.releaseUpgradeHandler()
            try await self.serveWCSSocket(inbound: inbound, outbound: outbound, logger: context.logger,
                                          address: context.requestContext.remoteAddress,
                                          abort: context.requestContext.closeConnection)
        }

        let webSocketResponder = wsRouter.buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(http1: .init(), ws: .init(
            maxFrameSize: configuration.maxFrameSize,
            autoPing: .enabled(timePeriod: configuration.pingInterval),
            closeTimeout: .seconds(5)
        ))
        let connections = self.connections
        let http = HTTPServerBuilder { responder in
            connections.watching(HTTP1WebSocketUpgradeChannel(
                responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration))
        }
        return Application(
            router: router,
            server: try tlsConfiguration.map { try .tls(http, tlsConfiguration: $0) } ?? http,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "parley"),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// The admin API's listener (tests bind port 0 and learn the port from `onServerRunning`).
    public func makeAdminApplication(port: Int, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        if configuration.adminKey == nil && access == nil {
            logger.notice("the admin API has no key: anything that reaches \(configuration.adminHost):\(port) may use it")
        }
        return Application(
            router: AdminAPI(server: self, key: configuration.adminKey).routes(),
            configuration: .init(address: .hostname(configuration.adminHost, port: port), serverName: "parley-admin"),
            onServerRunning: onServerRunning, logger: logger)
    }

    struct Health: ResponseEncodable {
        /// `ok`, or `draining` (with HTTP 503) while a shutdown waits for the rooms to empty.
        let status: String
        let draining: Bool
        let version: String
        let uptime: Double
        let sessions: Int
        let rooms: Int
        let participants: Int
        /// Published streams, starting or live.
        let streams: Int
        /// VP8 → H.264 transcodes running for RTMP players and pushes (one per stream).
        let transcodes: Int
        let recordings: RecordingStats.Snapshot
        /// WHIP publishers and WHEP players.
        let whipSessions: Int
        /// HTTP and WebSocket connections: open, and closed by the per-address cap or the request-head deadline.
        let connections: OpenConnections.Snapshot
        /// Refused access tokens, checks slowed for an address past its limit, WebSocket upgrades refused for
        /// their Origin, and the authorization hook's answers (`hook`: allowed, refused, failed).
        let auth: AuthFailures.Snapshot
        let media: MediaStats.Snapshot
    }

    func health() async -> Health {
        let stats = await hub.stats
        let uptime = ContinuousClock.now - startedAt
        var auth = authFailures.snapshot
        auth.hook = authHook?.snapshot
        return Health(
            status: liveSockets.isDraining ? "draining" : "ok", draining: liveSockets.isDraining,
            version: ParleyVersion.current,
            uptime: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18,
            sessions: stats.sessions, rooms: stats.rooms, participants: stats.participants, streams: stats.streams,
            transcodes: await videoTranscodes.count,
            recordings: recordingStats.snapshot,
            whipSessions: await whipEndpoints.count,
            connections: connections.snapshot,
            auth: auth,
            media: media.stats.snapshot
        )
    }

    /// One Parley-protocol socket: a reader feeding the session, a writer draining its outbox.
    func serveParleySocket(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger,
                           address: String?, abort: @escaping @Sendable () -> Void) async throws {
        let outbox = Outbox()
        let session = ParleySession(
            hub: hub, media: mediaSessions, republisher: RTMPRepublisher(server: self, logger: logger),
            recorder: StreamRecordings(server: self, logger: logger), access: authFailures.guarding(access, address: address),
            hook: authHook?.forClient(address), iceServers: turn, outbox: outbox, version: ParleyVersion.current,
            limiter: RateLimiter(perSecond: configuration.requestsPerSecond, counts: rateLimits), logger: logger
        )
        liveSockets.add(outbox)
        defer { liveSockets.remove(outbox) }
        try await pump(session, outbox: outbox, inbound: inbound, outbound: outbound, logger: logger, abort: abort)
    }

    /// Runs one socket for a protocol adapter: a writer draining the outbox, the reader feeding the session, and
    /// optionally a side task (an application-level keep-alive). When the reader ends, the session is told, the
    /// writer flushes what is queued (a reply, a close frame), and the side task is cancelled. A client that stops
    /// reading fills its queue: `abort` then cuts the connection, since its writer waits on a socket that never drains.
    func pump(_ session: some SocketSession, outbox: Outbox, inbound: WebSocketInboundStream,
              outbound: WebSocketOutboundWriter, logger: Logger, abort: @escaping @Sendable () -> Void,
              sideTask: (@Sendable () async -> Void)? = nil) async throws {
        outbox.onOverflow {
            logger.notice("closing a socket whose send queue overflowed (the client does not read)")
            abort()
        }
        // A write waiting longer than two ping periods cuts the connection (`WriteStalls`).
        let writingSince = WriteClock()
        writeStalls.watch(writingSince, limit: configuration.pingInterval * 2) {
            logger.notice("closing a socket whose writes have stalled (the client does not read)")
            abort()
        }
        defer { writeStalls.forget(writingSince) }
        try await withThrowingTaskGroup(of: Bool.self) { group in  // true: the writer finished
            group.addTask {
                for await frame in outbox.frames {
                    writingSince.value.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                    defer { writingSince.value.store(0, ordering: .relaxed) }
                    switch frame {
                    case .text(let text):
                        try await outbound.write(.text(text))
                    case .close(let code, let reason):
                        try await outbound.close(.init(codeNumber: Int(code)), reason: reason)
                        return true
                    }
                }
                if outbox.hasOverflowed {
                    try await outbound.close(.policyViolation, reason: "too slow to receive")
                }
                return true
            }
            let relays = session.relays
            group.addTask {
                await relays.run()  // each stream's events, relayed; ends with the socket
                return false
            }
            if let sideTask {
                group.addTask {
                    await sideTask()
                    return false
                }
            }
            do {
                reading: for try await message in inbound.messages(maxSize: configuration.maxFrameSize) {
                    switch message {
                    case .text(let text):
                        guard await session.receive(text: text) else { break reading }
                    case .binary:
                        session.receiveBinary()
                        break reading
                    }
                }
            } catch {
                logger.debug("socket read ended", metadata: ["error": "\(error)"])
            }
            await session.socketClosed()
            while let writerDone = try await group.next(), !writerDone {}
            group.cancelAll()
        }
    }
}

/// Follows the media of WHIP and WHEP sessions until the server shuts down.
struct WHIPService: Service {
    let endpoints: WHIPEndpoints

    func run() async throws {
        await cancelWhenGracefulShutdown { await endpoints.run() }
    }
}

/// The media plane as a service of the group: started before the group runs, stopped (its UDP ports closed) when
/// the group shuts down, after the application that feeds it.
struct MediaPlaneService: Service {
    let engine: MediaEngine
    let logger: Logger

    func run() async throws {
        // Graceful shutdown or cancellation: either way the ports close.
        try? await gracefulShutdown()
        logger.info("closing the media ports")
        await engine.stop()
    }
}

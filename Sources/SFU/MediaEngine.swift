import DTLS
import Foundation
import Logging
import NIOCore
import NIOPosix
import STUN
import Synchronization

/// The media plane's one door for the control plane: media event loops, each with a UDP port and the transports
/// placed on it. A new transport goes to the next loop in turn; a viewer on another loop than its publisher gets a
/// mirror of the publisher's tracks on its own loop, so one stream's fan-out runs on several cores.
public final class MediaEngine: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// The first loop's UDP port; loop i listens on `port + i` (all ephemeral when 0).
        public var port: Int
        /// Addresses put in answers as host candidates.
        public var announcedIPs: [String]
        /// Serve a new viewer the publisher's latest keyframe from the buffer (besides a PLI); off measures PLI alone.
        public var keyframeCache: Bool
        /// Media event loops (and UDP ports); at most one per thread of the event loop group.
        public var mediaLoops: Int
        /// A stream's viewers stay on its publisher's loop until it has this many; later ones are spread.
        public var spreadViewersFrom: Int

        public init(host: String = "0.0.0.0", port: Int = 40000, announcedIPs: [String] = [], keyframeCache: Bool = true,
                    mediaLoops: Int = 1, spreadViewersFrom: Int = 16) {
            self.host = host
            self.port = port
            self.announcedIPs = announcedIPs
            self.keyframeCache = keyframeCache
            self.mediaLoops = max(1, mediaLoops)
            self.spreadViewersFrom = max(0, spreadViewersFrom)
        }
    }

    public let stats = MediaStats()
    public let certificate: DTLSCertificate
    private let context: DTLSContext
    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<(channels: [any Channel], muxes: [UDPMux], ports: [Int])>
    private let directory = StreamDirectory()
    private let nextLoop = Atomic<Int>(0)

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        certificate = try DTLSCertificate.generate()
        context = try DTLSContext(role: .server, certificate: certificate)
        state = Mutex(([], [], []))
    }

    /// The first loop's bound port (useful when configured as 0).
    public var port: Int { state.withLock { $0.ports.first ?? configuration.port } }
    /// Every loop's bound port.
    public var ports: [Int] { state.withLock { $0.ports } }

    public func start() async throws {
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() where loops.count < configuration.mediaLoops { loops.append(loop) }
        for (index, loop) in loops.enumerated() {
            let requested = configuration.port == 0 ? 0 : configuration.port + index
            let (channel, mux, port) = try await open(loop: loop, port: requested)
            state.withLock {
                $0.channels.append(channel)
                $0.muxes.append(mux)
                $0.ports.append(port)
            }
        }
        logger.info("media ports open", metadata: ["ports": "\(ports)", "announced": "\(configuration.announcedIPs)"])
    }

    private func open(loop: any EventLoop, port: Int) async throws -> (any Channel, UDPMux, Int) {
        let mux = UDPMux(eventLoop: loop, stats: stats, logger: logger)
        let channel = try await DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Linux's default 208 KiB receive buffer overflows in a burst at ~1 Gbit/s (measured: every loss at
            // saturation was a kernel receive-buffer drop); the kernel caps this at net.core.rmem_max.
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelOption(.datagramVectorReadMessageCount, value: 64)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * 2048))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(mux) }
            }
            .bind(host: configuration.host, port: port)
            .get()
        return (channel, mux, channel.localAddress?.port ?? port)
    }

    public func stop() async {
        let channels = state.withLock { $0.channels }
        for channel in channels { try? await channel.close() }
    }

    private func mux(_ index: Int) -> UDPMux? {
        state.withLock { $0.muxes.indices.contains(index) ? $0.muxes[index] : nil }
    }

    /// Fresh ICE credentials with this engine's fingerprint and candidates, for an answer written before the
    /// transport exists (`createTransport(local:…)` then uses them).
    public func makeLocalParameters() -> LocalTransportParameters {
        let ports = self.ports
        let loop = ports.isEmpty ? 0 : nextLoop.wrappingAdd(1, ordering: .relaxed).oldValue % ports.count
        return makeLocalParameters(loop: loop, ports: ports)
    }

    /// A stream's first viewers go on its publisher's loop: handing packets to another loop costs a task and a
    /// copy per packet, which a small audience does not repay (rooms of 4 used ~1.7× the CPU spread round-robin).
    /// From `spreadViewersFrom` viewers on, each goes to the loop with the fewest of them, so a large audience's
    /// fan-out is shared by every core.
    public func makeLocalParameters(forPlaying source: String) -> LocalTransportParameters {
        let ports = self.ports
        guard ports.count > 1, let stream = directory.stream(source) else { return makeLocalParameters() }
        let loop = stream.placeViewer(loops: ports.count, spreadFrom: configuration.spreadViewersFrom)
        return makeLocalParameters(loop: loop, ports: ports)
    }

    private func makeLocalParameters(loop: Int, ports: [Int]) -> LocalTransportParameters {
        var rng = SystemRandomNumberGenerator()
        let port = ports.indices.contains(loop) ? ports[loop] : configuration.port
        // 47 random bits of ufrag: a clash with a live transport is refused by createTransport.
        return LocalTransportParameters(iceUfrag: Self.randomToken(8, using: &rng),
                                        icePassword: Self.randomToken(24, using: &rng),
                                        fingerprint: certificate.fingerprint,
                                        candidates: configuration.announcedIPs.map { (ip: $0, port: port) },
                                        mediaLoop: loop)
    }

    /// Creates a transport for a peer whose SDP gave `remote`; media goes to `handler`, events to `onEvent`.
    /// `makeHandler` runs on the media loop and returns the object that receives the transport's media.
    public func createTransport(
        local: LocalTransportParameters? = nil,
        remote: RemoteTransportParameters,
        onEvent: @escaping @Sendable (TransportEvent) -> Void,
        makeHandler: @escaping @Sendable (WebRTCTransport) throws -> any TransportMediaHandler
    ) async throws -> LocalTransportParameters {
        let local = local ?? makeLocalParameters()
        guard let mux = mux(local.mediaLoop) else { throw MediaEngineError.notStarted }
        let dtlsContext = context
        return try await mux.eventLoop.submit {
            // Each loop checks its own table; across loops, 47 random bits make a clash as good as impossible, and
            // the directory refuses a second stream under one id.
            guard mux.transport(ufrag: local.iceUfrag) == nil else { throw MediaEngineError.ufragInUse }
            let dtls = try DTLSTransport(context: dtlsContext, expectedRemoteFingerprint: remote.fingerprint)
            let transport = WebRTCTransport(id: local.iceUfrag, local: local, remote: remote, dtls: dtls, mux: mux, onEvent: onEvent)
            let handler = try makeHandler(transport)
            transport.mediaHandler = handler
            mux.add(transport)
            // The transport holds its handler weakly; the mux's table keeps the pair alive together.
            mux.retain(handler, for: transport)
            return local
        }.get()
    }

    // MARK: SFU

    /// Receives a published stream on a new transport: one producer per negotiated track. Players and sinks find
    /// it by `id` (the control plane's stream id; the transport's ICE ufrag when nil); the transport itself is
    /// closed by its ufrag.
    public func publish(stream id: String? = nil, local: LocalTransportParameters, remote: RemoteTransportParameters,
                        tracks: [ProducerParameters], extensions: HeaderExtensionIDs, rembBitrate: UInt64?,
                        onEvent: @escaping @Sendable (TransportEvent) -> Void) async throws {
        let directory = self.directory
        let id = id ?? local.iceUfrag
        let keyframeCache = configuration.keyframeCache
        _ = try await createTransport(local: local, remote: remote, onEvent: onEvent) { transport in
            let producers = try directory.publish(id, tracks: tracks, extensions: extensions, loop: transport.eventLoop,
                                                  loopIndex: local.mediaLoop, keyframeCache: keyframeCache)
            let handler = PublisherHandler(producers: producers, extensions: extensions, rembBitrate: rembBitrate)
            handler.attach(transport)
            handler.onClose = { directory.remove(id) }
            return handler
        }
    }

    /// Sends the published stream `source` to a subscriber on a new transport.
    public func play(source: String, local: LocalTransportParameters, remote: RemoteTransportParameters,
                     tracks: [ConsumerParameters], extensions: HeaderExtensionIDs,
                     onEvent: @escaping @Sendable (TransportEvent) -> Void) async throws {
        let directory = self.directory
        _ = try await createTransport(local: local, remote: remote, onEvent: onEvent) { transport in
            guard let stream = directory.stream(source) else { throw MediaEngineError.unknownStream }
            let producers = stream.producers(on: transport.eventLoop, now: transport.now)
            var consumers: [Consumer] = []
            for track in tracks where producers.indices.contains(track.producerIndex) {
                consumers.append(Consumer(parameters: track, producer: producers[track.producerIndex],
                                          extensions: extensions, producerExtensions: stream.extensions))
            }
            let handler = SubscriberHandler()
            handler.attach(transport, consumers: consumers)
            stream.viewerAdded(loop: local.mediaLoop)
            let loop = transport.eventLoop
            handler.onClose = {
                stream.viewerRemoved(loop: local.mediaLoop)
                stream.releaseMirrorsIfUnused(on: loop)
            }
            return handler
        }
    }

    // MARK: sources and sinks that are not WebRTC

    /// Publishes stream `id` whose packets come from `source` rather than a WebRTC publisher (an RTMP encoder, a
    /// relay, a test): one producer per track on media loop `loop` (the next in turn when nil). `makeSource` runs
    /// on that loop; the source then pushes packets into the returned feed there. Players and sinks find the
    /// stream by `id` as any other.
    /// `onEnd` runs (on the loop) when the stream ends, however it ends.
    public func publish(stream id: String, tracks: [ProducerParameters], extensions: HeaderExtensionIDs = HeaderExtensionIDs(),
                        loop index: Int? = nil, onEnd: (@Sendable () -> Void)? = nil,
                        makeSource: @escaping @Sendable (MediaFeed) -> any MediaSource) async throws -> MediaFeedHandle {
        let loopIndex = index ?? makeLocalParameters().mediaLoop
        guard let mux = mux(loopIndex) else { throw MediaEngineError.notStarted }
        let directory = self.directory
        let keyframeCache = configuration.keyframeCache
        let feed = try await mux.eventLoop.submit { () throws -> LoopConfined<MediaFeed> in
            let producers = try directory.publish(id, tracks: tracks, extensions: extensions, loop: mux.eventLoop,
                                                  loopIndex: loopIndex, keyframeCache: keyframeCache)
            let feed = MediaFeed(streamID: id, producers: producers, eventLoop: mux.eventLoop, clock: { mux.now })
            let source = makeSource(feed)
            mux.retain(feed: feed, source: source)
            feed.onEnd = { [weak feed] in
                directory.remove(id)
                if let feed { mux.release(feed: feed) }
                onEnd?()
            }
            feed.start(source: source)
            return LoopConfined(feed, on: mux.eventLoop)
        }.get()
        return MediaFeedHandle(feed: feed, streamID: id, mediaLoop: loopIndex)
    }

    /// Attaches `makeSink`'s sink (made on the stream's publisher's loop) to the published stream `source`: one
    /// consumer per entry of `tracks`, each starting at a keyframe as a WebRTC player does. Detach it with the
    /// returned handle; it also ends with the stream.
    public func attach(to source: String, tracks: [ConsumerParameters],
                       makeSink: @escaping @Sendable (MediaSinkAttachment) -> any MediaSink) async throws -> MediaSinkHandle {
        guard let stream = directory.stream(source) else { throw MediaEngineError.unknownStream }
        guard let mux = mux(stream.loopIndex) else { throw MediaEngineError.notStarted }
        let loop = mux.eventLoop
        let attachment = try await loop.submit { () throws -> LoopConfined<MediaSinkAttachment> in
            let producers = stream.producers(on: loop, now: mux.now)
            let attachment = MediaSinkAttachment(eventLoop: loop, clock: { mux.now })
            let consumers = tracks.filter { producers.indices.contains($0.producerIndex) }.map {
                Consumer(parameters: $0, producer: producers[$0.producerIndex],
                         extensions: HeaderExtensionIDs(), producerExtensions: stream.extensions)
            }
            let sink = makeSink(attachment)
            mux.retain(attachment: attachment, sink: sink)
            attachment.onDetach = { mux.release(attachment: attachment) }
            attachment.attach(sink, consumers: consumers)
            return LoopConfined(attachment, on: loop)
        }.get()
        return MediaSinkHandle(attachment: attachment)
    }

    /// The operator's mute of published stream `id`: true stops forwarding that kind to every viewer and sink,
    /// false resumes it (video at a fresh keyframe); nil leaves it. False when no such stream is published.
    @discardableResult
    public func setMuted(stream id: String, audio: Bool?, video: Bool?) async -> Bool {
        guard let stream = directory.stream(id), let mux = mux(stream.loopIndex) else { return false }
        let now: @Sendable () -> Double = { mux.now }
        if let audio { await stream.setMuted(audio, video: false, now: now) }
        if let video { await stream.setMuted(video, video: true, now: now) }
        return true
    }

    /// Each track's statistics of published stream `id` (publisher's leg and viewers), read on the media loops;
    /// nil when it is not published.
    public func statistics(stream id: String) async -> [TrackStatistics]? {
        guard let stream = directory.stream(id) else { return nil }
        return await stream.statistics()
    }

    /// How many mirrors on other loops the stream `id` hands its packets to (for tests).
    func mirrorCount(stream id: String) async -> Int? {
        guard let stream = directory.stream(id) else { return nil }
        return try? await stream.mirrorCount()
    }

    /// The tracks of the published stream `id`, in order (their kind, codec and clock rate), for a sink or relay
    /// choosing what to attach; nil when it is not published.
    public func tracks(of id: String) -> [ProducerParameters]? {
        directory.stream(id)?.tracks
    }

    /// Whether `id` is a stream being published now.
    public func isPublished(_ id: String) async -> Bool {
        directory.stream(id) != nil
    }

    /// Closes the transport created with local ufrag `id`.
    public func closeTransport(id: String) async {
        _ = await onTransport(id) { $0.close(reason: .closedByServer) }
    }

    /// Whether transport `id` still holds its DTLS association (for tests: it is freed once the peer sends media).
    func holdsDTLSAssociation(id: String) async -> Bool? {
        await onTransport(id) { $0.holdsDTLSAssociation }
    }

    /// Whether transport `id` still keeps its final handshake flight for a peer that may have lost it (for tests).
    func holdsFinalFlight(id: String) async -> Bool? {
        await onTransport(id) { $0.holdsFinalFlight }
    }

    /// Runs `body` on the loop of transport `id`, whichever it is; nil when no loop has it.
    private func onTransport<T: Sendable>(_ id: String, _ body: @escaping @Sendable (WebRTCTransport) -> T) async -> T? {
        for mux in state.withLock({ $0.muxes }) {
            if let result = try? await mux.eventLoop.submit({ mux.transport(ufrag: id).map(body) }).get() {
                return result
            }
        }
        return nil
    }

    static func randomToken(_ count: Int, using rng: inout SystemRandomNumberGenerator) -> String {
        // Letters and digits: a subset of ICE's chars (RFC 8445 §15.4), and the ufrag is also a stream's id, which
        // apps put in URLs, file names and WCS stream names, where "+" and "/" get in the way.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    /// Every address of this machine's interfaces that a peer could reach, plus loopback.
    public static func defaultAnnouncedIPs() -> [String] {
        var result: [String] = []
        if let interfaces = try? System.enumerateDevices() {
            for device in interfaces {
                guard let address = device.address, let ip = address.ipAddress else { continue }
                if case .v6 = address, ip.hasPrefix("fe80") { continue }  // link-local needs a scope id
                if ip == "127.0.0.1" || ip == "::1" || result.contains(ip) { continue }
                result.append(ip)
            }
        }
        return result + ["127.0.0.1"]
    }
}

public enum MediaEngineError: Error {
    case notStarted
    case ufragInUse
    case streamIDInUse
    case unknownStream
}

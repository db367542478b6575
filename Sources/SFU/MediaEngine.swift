import DTLS
import Foundation
import Logging
import NIOCore
import NIOPosix
import STUN
import Synchronization

/// The media plane's one door for the control plane: a UDP port with its transports, on one event loop.
public final class MediaEngine: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Addresses put in answers as host candidates.
        public var announcedIPs: [String]
        /// Serve a new viewer the publisher's latest keyframe from the buffer (besides a PLI); off measures PLI alone.
        public var keyframeCache: Bool

        public init(host: String = "0.0.0.0", port: Int = 40000, announcedIPs: [String] = [], keyframeCache: Bool = true) {
            self.host = host
            self.port = port
            self.announcedIPs = announcedIPs
            self.keyframeCache = keyframeCache
        }
    }

    public let stats = MediaStats()
    public let certificate: DTLSCertificate
    private let context: DTLSContext
    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<(channel: (any Channel)?, mux: UDPMux?, port: Int)>
    private let router = Router()

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        certificate = try DTLSCertificate.generate()
        context = try DTLSContext(role: .server, certificate: certificate)
        state = Mutex((nil, nil, configuration.port))
    }

    /// The bound port (useful when configured as 0).
    public var port: Int { state.withLock { $0.port } }

    public func start() async throws {
        let loop = group.next()
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
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let port = channel.localAddress?.port ?? configuration.port
        state.withLock { $0 = (channel, mux, port) }
        logger.info("media port open", metadata: ["port": "\(port)", "announced": "\(configuration.announcedIPs)"])
    }

    public func stop() async {
        let channel = state.withLock { $0.channel }
        try? await channel?.close()
    }

    /// Fresh ICE credentials with this engine's fingerprint and candidates, for an answer written before the
    /// transport exists (`createTransport(local:…)` then uses them).
    public func makeLocalParameters() -> LocalTransportParameters {
        var rng = SystemRandomNumberGenerator()
        // 48 random bits of ufrag: a clash with a live transport is refused by createTransport.
        return LocalTransportParameters(iceUfrag: Self.randomToken(8, using: &rng),
                                        icePassword: Self.randomToken(24, using: &rng),
                                        fingerprint: certificate.fingerprint,
                                        candidates: configuration.announcedIPs.map { (ip: $0, port: port) })
    }

    /// Creates a transport for a peer whose SDP gave `remote`; media goes to `handler`, events to `onEvent`.
    /// `makeHandler` runs on the media loop and returns the object that receives the transport's media.
    public func createTransport(
        local: LocalTransportParameters? = nil,
        remote: RemoteTransportParameters,
        onEvent: @escaping @Sendable (TransportEvent) -> Void,
        makeHandler: @escaping @Sendable (WebRTCTransport) throws -> any TransportMediaHandler
    ) async throws -> LocalTransportParameters {
        guard let mux = state.withLock({ $0.mux }) else { throw MediaEngineError.notStarted }
        let dtlsContext = context
        let local = local ?? makeLocalParameters()
        return try await mux.eventLoop.submit {
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

    /// Receives a published stream on a new transport: one producer per negotiated track. Its id is the
    /// transport's (`local.iceUfrag`); players find it by that id.
    public func publish(local: LocalTransportParameters, remote: RemoteTransportParameters,
                        tracks: [ProducerParameters], extensions: HeaderExtensionIDs, rembBitrate: UInt64?,
                        onEvent: @escaping @Sendable (TransportEvent) -> Void) async throws {
        let router = self.router
        let id = local.iceUfrag
        let keyframeCache = configuration.keyframeCache
        _ = try await createTransport(local: local, remote: remote, onEvent: onEvent) { transport in
            let producers = tracks.map { Producer(parameters: $0) }
            for producer in producers { producer.keyframeCache = keyframeCache }
            let handler = PublisherHandler(producers: producers, extensions: extensions, rembBitrate: rembBitrate)
            handler.attach(transport)
            router.streams[id] = PublishedStream(producers: producers, extensions: extensions)
            handler.onClose = { router.streams[id] = nil }
            return handler
        }
    }

    /// Sends the published stream `source` to a subscriber on a new transport.
    public func play(source: String, local: LocalTransportParameters, remote: RemoteTransportParameters,
                     tracks: [ConsumerParameters], extensions: HeaderExtensionIDs,
                     onEvent: @escaping @Sendable (TransportEvent) -> Void) async throws {
        let router = self.router
        _ = try await createTransport(local: local, remote: remote, onEvent: onEvent) { transport in
            guard let stream = router.streams[source] else { throw MediaEngineError.unknownStream }
            var consumers: [Consumer] = []
            for track in tracks where stream.producers.indices.contains(track.producerIndex) {
                consumers.append(Consumer(parameters: track, producer: stream.producers[track.producerIndex],
                                          extensions: extensions, producerExtensions: stream.extensions))
            }
            let handler = SubscriberHandler()
            handler.attach(transport, consumers: consumers)
            return handler
        }
    }

    /// Whether `id` is a stream being published now.
    public func isPublished(_ id: String) async -> Bool {
        guard let mux = state.withLock({ $0.mux }) else { return false }
        let router = self.router
        return (try? await mux.eventLoop.submit { router.streams[id] != nil }.get()) ?? false
    }

    /// Closes the transport created with local ufrag `id`.
    public func closeTransport(id: String) async {
        guard let mux = state.withLock({ $0.mux }) else { return }
        try? await mux.eventLoop.submit { mux.transport(ufrag: id)?.close(reason: "closed by the server") }.get()
    }

    /// Whether transport `id` still holds its DTLS association (for tests: it is freed once the peer sends media).
    func holdsDTLSAssociation(id: String) async -> Bool? {
        guard let mux = state.withLock({ $0.mux }) else { return nil }
        return try? await mux.eventLoop.submit { mux.transport(ufrag: id)?.holdsDTLSAssociation }.get()
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
    case unknownStream
}

/// The published streams of the media loop, by id (mediasoup's Router). Touched only on that loop.
final class Router: @unchecked Sendable {
    var streams: [String: PublishedStream] = [:]
}

struct PublishedStream {
    let producers: [Producer]
    let extensions: HeaderExtensionIDs
}

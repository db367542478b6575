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

        public init(host: String = "0.0.0.0", port: Int = 40000, announcedIPs: [String] = []) {
            self.host = host
            self.port = port
            self.announcedIPs = announcedIPs
        }
    }

    public let stats = MediaStats()
    public let certificate: DTLSCertificate
    private let context: DTLSContext
    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<(channel: (any Channel)?, mux: UDPMux?, port: Int)>

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

    /// Creates a transport for a peer whose SDP gave `remote`; media goes to `handler`, events to `onEvent`.
    /// `makeHandler` runs on the media loop and returns the object that receives the transport's media.
    public func createTransport(
        remote: RemoteTransportParameters,
        onEvent: @escaping @Sendable (TransportEvent) -> Void,
        makeHandler: @escaping @Sendable (WebRTCTransport) -> any TransportMediaHandler
    ) async throws -> LocalTransportParameters {
        guard let mux = state.withLock({ $0.mux }) else { throw MediaEngineError.notStarted }
        let dtlsContext = context
        let port = self.port
        let candidates = configuration.announcedIPs.map { (ip: $0, port: port) }
        let fingerprint = certificate.fingerprint
        return try await mux.eventLoop.submit {
            var rng = SystemRandomNumberGenerator()
            var ufrag: String
            repeat { ufrag = Self.randomToken(8, using: &rng) } while mux.transport(ufrag: ufrag) != nil
            let local = LocalTransportParameters(iceUfrag: ufrag, icePassword: Self.randomToken(24, using: &rng),
                                                 fingerprint: fingerprint, candidates: candidates)
            let dtls = try DTLSTransport(context: dtlsContext, expectedRemoteFingerprint: remote.fingerprint)
            let transport = WebRTCTransport(id: ufrag, local: local, remote: remote, dtls: dtls, mux: mux, onEvent: onEvent)
            let handler = makeHandler(transport)
            transport.mediaHandler = handler
            mux.add(transport)
            // The transport holds its handler weakly; the mux's table keeps the pair alive together.
            mux.retain(handler, for: transport)
            return local
        }.get()
    }

    /// Closes the transport created with local ufrag `id`.
    public func closeTransport(id: String) async {
        guard let mux = state.withLock({ $0.mux }) else { return }
        try? await mux.eventLoop.submit { mux.transport(ufrag: id)?.close(reason: "closed by the server") }.get()
    }

    static func randomToken(_ count: Int, using rng: inout SystemRandomNumberGenerator) -> String {
        // ICE chars (RFC 8445 §15.4): ALPHA / DIGIT / "+" / "/".
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
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
}

import AccessTokens
import Logging
import NIOCore

/// Everything a Parley server is started with. The command line and environment fill it in; tests build it directly.
public struct ParleyConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Server-wide cap of participants per room.
    public var maxParticipants: Int
    /// Folder of static files: the SDK and the web apps.
    public var webRoot: String
    public var logLevel: Logger.Level
    /// WebSocket ping period; a socket silent for two periods is closed.
    public var pingInterval: Duration
    public var maxFrameSize: Int
    public var requestsPerSecond: Int
    /// UDP port shared by every peer connection; 0 picks a free one.
    public var mediaPort: Int
    /// Addresses put in SDP answers as host candidates; empty means every interface address plus 127.0.0.1.
    public var announcedIPs: [String]
    /// How long a shutdown waits for open connections before it cuts them.
    public var shutdownGracePeriod: Duration
    /// HTTPS and WSS on the same port; nil serves plain HTTP.
    public var tls: TLSSource?
    /// A new viewer gets the publisher's latest keyframe from the server's buffer at once (and a PLI goes out).
    public var keyframeCache: Bool = true
    /// Media event loops, each on its own UDP port (`mediaPort`, `mediaPort + 1`, …): a stream's viewers are
    /// spread over them, so its fan-out uses several cores. One keeps to a single port.
    public var mediaLoops: Int = ParleyConfiguration.defaultMediaLoops
    /// One media loop per core (the event loop group has a thread per core): a large audience's fan-out and
    /// different rooms run in parallel.
    public static var defaultMediaLoops: Int { min(64, System.coreCount) }
    /// With several media loops: a stream's viewers stay on its publisher's loop until it has this many.
    public var spreadViewersFrom: Int = 16
    /// TCP port for RTMP encoders (on `host`); 0 turns RTMP off. The command line's default is 1935.
    public var rtmpPort: Int = 0
    /// RTMP publishers whose H.264 has B-frames (browsers would stutter on them) are re-encoded without them
    /// instead of refused. Costs a decode and an encode per such publisher.
    public var rtmpTranscode: Bool = false
    /// Pushes (`republish`, `rtmpUrl`) may go to loopback, private and link-local addresses. Off by default: a
    /// participant names the URL, and must not reach the server's own services or network through it.
    public var republishToLocal: Bool = false
    /// Where recordings are written and served from (`/client/records/NAME`).
    public var recordDir: String = "records"
    /// Every published stream is recorded, asked or not.
    public var recordAll: Bool = false
    /// No recording starts with less free space than this in `recordDir`, and a running one is finished when the
    /// space falls below it (MiB).
    public var recordMinFreeMB: Int = 500
    /// A recording is finished after this long (seconds); the stream goes on.
    public var recordMaxSeconds: Int = 4 * 3600
    /// Recordings older than this are deleted (checked at start and every few minutes); nil keeps them.
    public var recordRetention: Duration? = nil
    /// HTTP/WebSocket connections one address may hold at once; more are closed as they are accepted (a flood of
    /// sockets from one host cannot take every file descriptor). Offices behind one NAT need room: 256 by default.
    public var maxConnectionsPerAddress: Int = 256
    /// New HTTP/WebSocket connections one address may open per second; more are closed as they are accepted.
    public var newConnectionsPerAddressPerSecond: Int = 100
    /// A connection that has not sent a whole request head this soon after opening is closed (idle sockets,
    /// slowloris headers).
    public var requestHeadTimeout: Duration = .seconds(15)
    /// Keys of access tokens: every socket must then connect with a valid token, and what it may do follows the
    /// token's grants (docs/PROTOCOL.md, "Access tokens"). nil: no token checks (everyone may do everything).
    public var accessTokenKeys: [AccessTokenKey]? = nil
    /// Origins whose pages may open the WebSockets (`*`: any). Empty: any origin without token checks, the
    /// server's own pages only with them.
    public var allowedOrigins: [String] = []
    /// TURN servers handed to browsers (`turn:host:3478?transport=udp`, `turns:host:443?transport=tcp`), with
    /// credentials made from `turnSecret` (coturn's `static-auth-secret`) valid for `turnTTL`.
    public var turnURLs: [String] = []
    public var turnSecret: [UInt8]? = nil
    public var turnTTL: Duration = .seconds(4 * 3600)
    /// On SIGTERM, wait this long for the rooms to empty before shutting down (new rooms are refused meanwhile;
    /// a second signal stops at once). Zero shuts down at once.
    public var drainTimeout: Duration = .zero
    /// The admin API and `/metrics` on their own listener; nil: off.
    public var adminPort: Int? = nil
    public var adminHost: String = "127.0.0.1"
    /// The admin API's bearer key; without it (and without token checks) the API is open to its address's reach.
    public var adminKey: [UInt8]? = nil
    /// Where room activity is POSTed (webhooks), signed with `webhookSecret` when given.
    public var webhookURLs: [String] = []
    public var webhookSecret: [UInt8]? = nil
    /// Where connects, joins and publishes are POSTed for the backend's decision (after any token checks), signed
    /// with `authHookSecret` when given; no 2xx or 403 within `authHookTimeout` refuses (fail closed). nil: not asked.
    public var authHookURL: String? = nil
    public var authHookSecret: [UInt8]? = nil
    public var authHookTimeout: Duration = .seconds(2)

    public enum TLSSource: Sendable, Equatable {
        /// PEM files: the certificate chain and its private key.
        case files(certificate: String, key: String)
        /// A certificate made at start for localhost and the announced addresses (browsers warn once).
        case selfSigned
    }

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        maxParticipants: Int = 10,
        webRoot: String = "Web",
        logLevel: Logger.Level = .info,
        pingInterval: Duration = .milliseconds(7500),
        maxFrameSize: Int = 64 * 1024,
        requestsPerSecond: Int = 50,
        mediaPort: Int = 40000,
        announcedIPs: [String] = [],
        shutdownGracePeriod: Duration = .seconds(5),
        tls: TLSSource? = nil
    ) {
        self.host = host
        self.port = port
        self.maxParticipants = maxParticipants
        self.webRoot = webRoot
        self.logLevel = logLevel
        self.pingInterval = pingInterval
        self.maxFrameSize = maxFrameSize
        self.requestsPerSecond = requestsPerSecond
        self.mediaPort = mediaPort
        self.announcedIPs = announcedIPs
        self.shutdownGracePeriod = shutdownGracePeriod
        self.tls = tls
    }
}

public enum ParleyVersion {
    public static let current = "0.1.0"
}

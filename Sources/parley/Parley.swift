import AccessTokens
import ArgumentParser
import Foundation
import Logging
import ParleyServer

@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Parley: a self-hosted WebRTC video chat and conference server.",
        discussion: """
            Every option can also be set by the environment variable shown beside it, or in a YAML file given with \
            --config (PARLEY_CONFIG): the variable's name without PARLEY_, in lower case with dashes (PARLEY_MAX_PARTICIPANTS \
            is max-participants; lists as YAML lists). A flag wins over the environment, which wins over the file.
            """,
        version: ParleyVersion.current
    )

    @Option(help: "A YAML file of settings (docs/parley.example.yaml); flags and environment variables win over it. (env: PARLEY_CONFIG)")
    var config: String?

    @Option(help: "Address to listen on for HTTP and WebSocket. (env: PARLEY_HOST)")
    var host: String = env("PARLEY_HOST") ?? "0.0.0.0"

    @Option(help: "Port for HTTP and WebSocket. (env: PARLEY_PORT)")
    var port: Int = env("PARLEY_PORT").flatMap { Int($0) } ?? 8080

    @Option(help: "Most participants in one room, server-wide; a room's creator may set a lower cap. (env: PARLEY_MAX_PARTICIPANTS)")
    var maxParticipants: Int = env("PARLEY_MAX_PARTICIPANTS").flatMap { Int($0) } ?? 10

    @Option(help: "Folder of the web apps and SDK to serve. (env: PARLEY_WEB_ROOT)")
    var webRoot: String = env("PARLEY_WEB_ROOT") ?? defaultWebRoot()

    @Option(help: "UDP port for all media (WebRTC). (env: PARLEY_MEDIA_PORT)")
    var mediaPort: Int = env("PARLEY_MEDIA_PORT").flatMap { Int($0) } ?? 40000

    @Option(help: "Media event loops, one per core at most (default: the core count); loop i takes UDP port media-port + i, and a stream's viewers are spread over the loops. (env: PARLEY_MEDIA_LOOPS)")
    var mediaLoops: Int = env("PARLEY_MEDIA_LOOPS").flatMap { Int($0) } ?? ParleyConfiguration.defaultMediaLoops

    @Option(help: "With several media loops: a stream's viewers share its publisher's loop until it has this many, then they are spread over the loops. (env: PARLEY_SPREAD_VIEWERS_FROM)")
    var spreadViewersFrom: Int = env("PARLEY_SPREAD_VIEWERS_FROM").flatMap { Int($0) } ?? 16

    @Option(name: .customLong("announced-ip"), help: ArgumentHelp(
        "Address given to browsers as a media candidate; repeat for several. Default: every interface address plus 127.0.0.1. (env: PARLEY_ANNOUNCED_IPS, comma-separated)"))
    var announcedIPs: [String] = env("PARLEY_ANNOUNCED_IPS")?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } ?? []

    @Option(help: "PEM certificate chain: serve HTTPS and WSS (with --tls-key). (env: PARLEY_TLS_CERT)")
    var tlsCert: String? = env("PARLEY_TLS_CERT")

    @Option(help: "PEM private key of --tls-cert. (env: PARLEY_TLS_KEY)")
    var tlsKey: String? = env("PARLEY_TLS_KEY")

    @Flag(help: "Serve HTTPS and WSS with a self-signed certificate made at start, so phones on the same network get the camera (they warn once). (env: PARLEY_TLS_SELF_SIGNED=1)")
    var tlsSelfSigned = false

    @Flag(help: "Do not serve new viewers the latest keyframe from the buffer; only ask the publisher (PLI). For measurements. (env: PARLEY_KEYFRAME_CACHE=0)")
    var noKeyframeCache = false

    @Option(help: "TCP port for RTMP encoders (OBS, ffmpeg) on --host; 0 turns RTMP off. (env: PARLEY_RTMP_PORT)")
    var rtmpPort: Int = env("PARLEY_RTMP_PORT").flatMap { Int($0) } ?? 1935

    @Flag(help: "Re-encode RTMP publishers' H.264 that has B-frames (OBS's x264 default) instead of refusing it; costs CPU per such publisher. (env: PARLEY_RTMP_TRANSCODE=1)")
    var rtmpTranscode = false

    @Flag(help: "Let pushes to other RTMP servers (republish, rtmpUrl) go to loopback, private and link-local addresses, e.g. an nginx-rtmp on this host or LAN. (env: PARLEY_REPUBLISH_LOCAL=1)")
    var republishLocal = false

    @Option(help: "Folder for recordings, served at /client/records/NAME. (env: PARLEY_RECORD_DIR)")
    var recordDir: String = env("PARLEY_RECORD_DIR") ?? "records"

    @Flag(help: "Record every published stream, asked or not. (env: PARLEY_RECORD_ALL=1)")
    var recordAll = false

    @Option(help: "Start no recording with less free space than this in --record-dir, and finish running ones when it falls below (MiB). (env: PARLEY_RECORD_MIN_FREE_MB)")
    var recordMinFreeMb: Int = env("PARLEY_RECORD_MIN_FREE_MB").flatMap { Int($0) } ?? 500

    @Option(help: "Finish a recording after this many seconds (the stream goes on). (env: PARLEY_RECORD_MAX_SECONDS)")
    var recordMaxSeconds: Int = env("PARLEY_RECORD_MAX_SECONDS").flatMap { Int($0) } ?? 4 * 3600

    @Option(help: "Delete recordings older than this many hours; 0 keeps them. (env: PARLEY_RECORD_RETENTION_HOURS)")
    var recordRetentionHours: Double = env("PARLEY_RECORD_RETENTION_HOURS").flatMap { Double($0) } ?? 0

    @Option(help: "HTTP/WebSocket connections one address may hold open at once; more are closed as they arrive. (env: PARLEY_MAX_CONNECTIONS_PER_ADDRESS)")
    var maxConnectionsPerAddress: Int = env("PARLEY_MAX_CONNECTIONS_PER_ADDRESS").flatMap { Int($0) } ?? 256

    @Option(help: "New HTTP/WebSocket connections one address may open per second; more are closed as they arrive. (env: PARLEY_NEW_CONNECTIONS_PER_ADDRESS)")
    var newConnectionsPerAddress: Int = env("PARLEY_NEW_CONNECTIONS_PER_ADDRESS").flatMap { Int($0) } ?? 100

    @Option(help: "Seconds a new connection has to send a whole request head before it is closed (idle and slowloris sockets). (env: PARLEY_REQUEST_HEAD_TIMEOUT)")
    var requestHeadTimeout: Double = env("PARLEY_REQUEST_HEAD_TIMEOUT").flatMap { Double($0) } ?? 15

    @Option(help: "Access tokens: off (anyone may connect, join, publish and play) or jwt (a valid token on every connect; its grants decide the rest; docs/PROTOCOL.md). (env: PARLEY_AUTH)")
    var auth: String = env("PARLEY_AUTH") ?? "off"

    @Option(name: .customLong("auth-key"), help: ArgumentHelp(
        "An HS256 token key as ID=SECRET (at least 32 bytes), picked by a token's kid, else its iss; repeat for several. (env: PARLEY_AUTH_KEYS, comma-separated)"))
    var authKeys: [String] = envList("PARLEY_AUTH_KEYS")

    @Option(name: .customLong("auth-key-file"), help: ArgumentHelp(
        "An HS256 token key as ID=PATH, the secret read from the file (a trailing newline is dropped); repeat for several. (env: PARLEY_AUTH_KEY_FILES, comma-separated)"))
    var authKeyFiles: [String] = envList("PARLEY_AUTH_KEY_FILES")

    @Option(name: .customLong("auth-public-key"), help: ArgumentHelp(
        "An ES256 (P-256) or RS256 public key as ID=PATH to a PEM file; repeat for several. (env: PARLEY_AUTH_PUBLIC_KEYS, comma-separated)"))
    var authPublicKeys: [String] = envList("PARLEY_AUTH_PUBLIC_KEYS")

    @Option(name: .customLong("auth-jwks"), help: "A JSON Web Key Set file: each key by its kid. (env: PARLEY_AUTH_JWKS)")
    var authJWKS: String? = env("PARLEY_AUTH_JWKS")

    @Option(name: .customLong("allowed-origin"), help: ArgumentHelp(
        "A web origin (https://app.example.com) whose pages may open the WebSockets; repeat for several, * for any. Default: any origin, or with --auth jwt only the server's own pages. (env: PARLEY_ALLOWED_ORIGINS, comma-separated)"))
    var allowedOrigins: [String] = envList("PARLEY_ALLOWED_ORIGINS")

    @Option(name: .customLong("turn-url"), help: ArgumentHelp(
        "A TURN server for browsers behind firewalls that block UDP, e.g. turn:turn.example.com:3478?transport=udp or turns:turn.example.com:443?transport=tcp; repeat for several; needs --turn-secret. (env: PARLEY_TURN_URLS, comma-separated)"))
    var turnURLs: [String] = envList("PARLEY_TURN_URLS")

    @Option(help: "The TURN server's shared secret (coturn: static-auth-secret); each session gets credentials made from it. (env: PARLEY_TURN_SECRET)")
    var turnSecret: String? = env("PARLEY_TURN_SECRET")

    @Option(help: "A file holding the TURN secret (a trailing newline is dropped). (env: PARLEY_TURN_SECRET_FILE)")
    var turnSecretFile: String? = env("PARLEY_TURN_SECRET_FILE")

    @Option(help: "Seconds a session's TURN credentials stay valid. (env: PARLEY_TURN_TTL)")
    var turnTtl: Int = env("PARLEY_TURN_TTL").flatMap { Int($0) } ?? 4 * 3600

    @Option(help: "On SIGTERM, refuse new rooms and wait up to this many seconds for the rooms to empty, then tell the remaining clients to reconnect and stop (a second signal stops at once); 0 stops at once. (env: PARLEY_DRAIN_TIMEOUT)")
    var drainTimeout: Double = env("PARLEY_DRAIN_TIMEOUT").flatMap { Double($0) } ?? 0

    @Option(help: "Port of the admin API and /metrics (docs/admin-api.yaml); off unless given. (env: PARLEY_ADMIN_PORT)")
    var adminPort: Int? = env("PARLEY_ADMIN_PORT").flatMap { Int($0) }

    @Option(help: "Address of the admin listener. (env: PARLEY_ADMIN_HOST)")
    var adminHost: String = env("PARLEY_ADMIN_HOST") ?? "127.0.0.1"

    @Option(help: "The admin API's bearer key (at least 16 characters); or --admin-key-file. (env: PARLEY_ADMIN_KEY)")
    var adminKey: String? = env("PARLEY_ADMIN_KEY")

    @Option(help: "A file holding the admin key (a trailing newline is dropped). (env: PARLEY_ADMIN_KEY_FILE)")
    var adminKeyFile: String? = env("PARLEY_ADMIN_KEY_FILE")

    @Option(name: .customLong("webhook-url"), help: ArgumentHelp(
        "An http(s) URL to POST room activity to (room_started, room_finished, participant_joined, participant_left, track_published, track_unpublished, recording_finished); repeat for several. (env: PARLEY_WEBHOOK_URLS, comma-separated)"))
    var webhookURLs: [String] = envList("PARLEY_WEBHOOK_URLS")

    @Option(help: "Secret that signs webhooks (Parley-Signature: t=…,v1=HMAC-SHA256); or --webhook-secret-file. (env: PARLEY_WEBHOOK_SECRET)")
    var webhookSecret: String? = env("PARLEY_WEBHOOK_SECRET")

    @Option(help: "A file holding the webhook secret. (env: PARLEY_WEBHOOK_SECRET_FILE)")
    var webhookSecretFile: String? = env("PARLEY_WEBHOOK_SECRET_FILE")

    @Option(name: .customLong("auth-hook-url"), help: ArgumentHelp(
        "An http(s) URL asked before every connect, join and publish (a JSON POST; 2xx allows, 403 refuses, anything else or no answer within --auth-hook-timeout refuses too). (env: PARLEY_AUTH_HOOK_URL)"))
    var authHookURL: String? = env("PARLEY_AUTH_HOOK_URL")

    @Option(help: "Secret that signs the hook's requests (Parley-Signature, as webhooks); or --auth-hook-secret-file. (env: PARLEY_AUTH_HOOK_SECRET)")
    var authHookSecret: String? = env("PARLEY_AUTH_HOOK_SECRET")

    @Option(help: "A file holding the hook's secret. (env: PARLEY_AUTH_HOOK_SECRET_FILE)")
    var authHookSecretFile: String? = env("PARLEY_AUTH_HOOK_SECRET_FILE")

    @Option(help: "Seconds the hook has to answer; then the request is refused. (env: PARLEY_AUTH_HOOK_TIMEOUT)")
    var authHookTimeout: Double = env("PARLEY_AUTH_HOOK_TIMEOUT").flatMap { Double($0) } ?? 2

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. (env: PARLEY_LOG_LEVEL)")
    var logLevel: String = env("PARLEY_LOG_LEVEL") ?? "info"

    /// A flag's environment variable: a `@Flag` cannot default to true (ArgumentParser refuses it), so the
    /// variable is read here.
    private var selfSigned: Bool { tlsSelfSigned || envFlag("PARLEY_TLS_SELF_SIGNED") }

    func validate() throws {
        try ConfigFile.shared.check()
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard (0...65535).contains(mediaPort) else { throw ValidationError("--media-port must be 0–65535") }
        guard spreadViewersFrom >= 0 else { throw ValidationError("--spread-viewers-from must be at least 0") }
        guard (1...64).contains(mediaLoops) else { throw ValidationError("--media-loops must be 1–64") }
        guard mediaPort == 0 || mediaPort + mediaLoops - 1 <= 65535 else {
            throw ValidationError("--media-port + --media-loops - 1 must be at most 65535")
        }
        guard (0...65535).contains(rtmpPort) else { throw ValidationError("--rtmp-port must be 0-65535") }
        guard recordMinFreeMb >= 0 else { throw ValidationError("--record-min-free-mb must be at least 0") }
        guard recordMaxSeconds >= 1 else { throw ValidationError("--record-max-seconds must be at least 1") }
        guard recordRetentionHours >= 0, recordRetentionHours.isFinite else {
            throw ValidationError("--record-retention-hours must be 0 (keep) or more")
        }
        guard maxConnectionsPerAddress >= 1 else { throw ValidationError("--max-connections-per-address must be at least 1") }
        guard newConnectionsPerAddress >= 1 else { throw ValidationError("--new-connections-per-address must be at least 1") }
        guard requestHeadTimeout > 0, requestHeadTimeout.isFinite else { throw ValidationError("--request-head-timeout must be more than 0") }
        guard maxParticipants >= 1 else { throw ValidationError("--max-participants must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard !(selfSigned && tlsCert != nil) else { throw ValidationError("use either --tls-cert/--tls-key or --tls-self-signed") }
        guard ["off", "jwt"].contains(auth) else { throw ValidationError("--auth must be off or jwt") }
        let keysGiven = !authKeys.isEmpty || !authKeyFiles.isEmpty || !authPublicKeys.isEmpty || authJWKS != nil
        if auth == "jwt" && !keysGiven {
            throw ValidationError("--auth jwt needs a key: --auth-key, --auth-key-file, --auth-public-key or --auth-jwks")
        }
        // Keys alone would look like protection and check nothing.
        if auth == "off" && keysGiven { throw ValidationError("token keys are given but --auth is off: add --auth jwt") }
        _ = try accessTokenKeys()
        guard turnSecret == nil || turnSecretFile == nil else { throw ValidationError("use either --turn-secret or --turn-secret-file") }
        let secretGiven = turnSecret != nil || turnSecretFile != nil
        guard turnURLs.isEmpty == !secretGiven else { throw ValidationError("--turn-url and --turn-secret go together") }
        for url in turnURLs where !(url.hasPrefix("turn:") || url.hasPrefix("turns:") || url.hasPrefix("stun:")) {
            throw ValidationError("--turn-url '\(url)' must start with turn:, turns: or stun:")
        }
        guard turnTtl >= 60 else { throw ValidationError("--turn-ttl must be at least 60 seconds") }
        guard drainTimeout >= 0, drainTimeout.isFinite else { throw ValidationError("--drain-timeout must be 0 or more") }
        if let adminPort, !(0...65535).contains(adminPort) { throw ValidationError("--admin-port must be 0–65535") }
        for url in webhookURLs where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--webhook-url '\(url)' must be an http:// or https:// URL")
        }
        guard webhookSecret == nil || webhookSecretFile == nil else { throw ValidationError("use either --webhook-secret or --webhook-secret-file") }
        _ = try webhookSecretBytes()
        if let url = authHookURL {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false else {
                throw ValidationError("--auth-hook-url '\(url)' must be an http:// or https:// URL")
            }
        } else if authHookSecret != nil || authHookSecretFile != nil {
            throw ValidationError("--auth-hook-secret needs --auth-hook-url")
        }
        guard authHookSecret == nil || authHookSecretFile == nil else { throw ValidationError("use either --auth-hook-secret or --auth-hook-secret-file") }
        _ = try authHookSecretBytes()
        guard authHookTimeout > 0, authHookTimeout <= 60 else { throw ValidationError("--auth-hook-timeout must be more than 0 and at most 60 seconds") }
        guard adminKey == nil || adminKeyFile == nil else { throw ValidationError("use either --admin-key or --admin-key-file") }
        if let key = try adminKeyBytes(), key.count < 16 { throw ValidationError("--admin-key must have at least 16 characters") }
        let loopback = adminHost == "127.0.0.1" || adminHost == "::1" || adminHost == "localhost"
        if adminPort != nil, !loopback, adminKey == nil, adminKeyFile == nil, auth == "off" {
            throw ValidationError("an admin API on \(adminHost) needs --admin-key (or --auth jwt): it can close rooms")
        }
        _ = try turnSecretBytes()
    }

    private func adminKeyBytes() throws -> [UInt8]? {
        try adminKey.map { Array($0.utf8) } ?? adminKeyFile.map { Array(try secret(fromFile: $0, "--admin-key-file").utf8) }
    }

    private func webhookSecretBytes() throws -> [UInt8]? {
        try webhookSecret.map { Array($0.utf8) } ?? webhookSecretFile.map { Array(try secret(fromFile: $0, "--webhook-secret-file").utf8) }
    }

    private func authHookSecretBytes() throws -> [UInt8]? {
        try authHookSecret.map { Array($0.utf8) } ?? authHookSecretFile.map { Array(try secret(fromFile: $0, "--auth-hook-secret-file").utf8) }
    }

    private func turnSecretBytes() throws -> [UInt8]? {
        try turnSecret.map { Array($0.utf8) } ?? turnSecretFile.map { Array(try secret(fromFile: $0, "--turn-secret-file").utf8) }
    }

    /// The keys of --auth jwt, files read; nil with --auth off.
    private func accessTokenKeys() throws -> [AccessTokenKey]? {
        guard auth == "jwt" else { return nil }
        func pair(_ text: String, _ flag: String) throws -> (String, String) {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else {
                throw ValidationError("\(flag) must be ID=VALUE")
            }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }
        var keys: [AccessTokenKey] = []
        for text in authKeys {
            let (id, secret) = try pair(text, "--auth-key")
            keys.append(.hmac(id: id, secret: Array(secret.utf8)))
        }
        for text in authKeyFiles {
            let (id, path) = try pair(text, "--auth-key-file")
            keys.append(.hmac(id: id, secret: Array(try secret(fromFile: path, "--auth-key-file").utf8)))
        }
        for text in authPublicKeys {
            let (id, path) = try pair(text, "--auth-public-key")
            keys.append(.publicKey(id: id, pem: try readFile(path, "--auth-public-key")))
        }
        if let authJWKS { keys.append(.jwks(json: try readFile(authJWKS, "--auth-jwks"))) }
        return keys
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        ParleyServer.bootstrapLogging(level: level)
        let config = ParleyConfiguration(
            host: host, port: port, maxParticipants: maxParticipants, webRoot: webRoot, logLevel: level,
            mediaPort: mediaPort, announcedIPs: announcedIPs,
            tls: tlsCert.flatMap { cert in tlsKey.map { .files(certificate: cert, key: $0) } } ?? (selfSigned ? .selfSigned : nil)
        )
        var configuration = config
        configuration.keyframeCache = !(noKeyframeCache || env("PARLEY_KEYFRAME_CACHE") == "0")
        configuration.mediaLoops = mediaLoops
        configuration.spreadViewersFrom = spreadViewersFrom
        configuration.rtmpPort = rtmpPort
        configuration.rtmpTranscode = rtmpTranscode || envFlag("PARLEY_RTMP_TRANSCODE")
        configuration.republishToLocal = republishLocal || envFlag("PARLEY_REPUBLISH_LOCAL")
        configuration.recordDir = recordDir
        configuration.recordAll = recordAll || envFlag("PARLEY_RECORD_ALL")
        configuration.recordMinFreeMB = recordMinFreeMb
        configuration.recordMaxSeconds = recordMaxSeconds
        configuration.recordRetention = recordRetentionHours > 0 ? .milliseconds(Int64(recordRetentionHours * 3_600_000)) : nil
        configuration.maxConnectionsPerAddress = maxConnectionsPerAddress
        configuration.newConnectionsPerAddressPerSecond = newConnectionsPerAddress
        configuration.requestHeadTimeout = .milliseconds(Int64(requestHeadTimeout * 1000))
        configuration.accessTokenKeys = try accessTokenKeys()
        configuration.allowedOrigins = allowedOrigins
        configuration.turnURLs = turnURLs
        configuration.turnSecret = try turnSecretBytes()
        configuration.turnTTL = .seconds(turnTtl)
        configuration.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        configuration.adminPort = adminPort
        configuration.adminHost = adminHost
        configuration.adminKey = try adminKeyBytes()
        configuration.webhookURLs = webhookURLs
        configuration.webhookSecret = try webhookSecretBytes()
        configuration.authHookURL = authHookURL
        configuration.authHookSecret = try authHookSecretBytes()
        configuration.authHookTimeout = .milliseconds(Int64(authHookTimeout * 1000))
        raiseOpenFileLimit()
        try await ParleyServer(configuration: configuration).run()
    }
}

/// Every socket is a file descriptor: a shell's soft limit (often 1,024) would cap a server at a few hundred
/// participants; the hard limit is what the system allows this process.
private func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif

private func envFlag(_ name: String) -> Bool {
    ["1", "true", "yes"].contains(env(name)?.lowercased() ?? "")
}

private func readFile(_ path: String, _ flag: String) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("\(flag): cannot read \(path)") }
    return text
}

/// A secret kept in a file (out of `ps` and shell history), without the trailing newline an editor adds.
private func secret(fromFile path: String, _ flag: String) throws -> String {
    var text = try readFile(path, flag)
    while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
    return text
}

/// A comma-separated environment variable as a list (empty when unset).
private func envList(_ name: String) -> [String] {
    env(name)?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
}

/// A setting's value: its environment variable, else its key in the --config file (ConfigFile).
private func env(_ name: String) -> String? {
    let inFile = ConfigFile.shared.value(forEnvironment: name)  // asked either way: the file's known keys
    if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
    return inFile
}

/// The web apps and SDK: `Web` in the working directory (the source tree), `share/parley/web` beside an installed
/// binary (`make install PREFIX=…`: PREFIX/bin/parley and PREFIX/share/parley/web), or `Web` above a build's binary.
private func defaultWebRoot() -> String {
    let fm = FileManager.default
    if fm.fileExists(atPath: "Web/sdk") { return "Web" }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let installed = executable.deletingLastPathComponent().appendingPathComponent("share/parley/web")
    if fm.fileExists(atPath: installed.appendingPathComponent("sdk").path) { return installed.path }
    var url = executable
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent("Web")
        if fm.fileExists(atPath: candidate.appendingPathComponent("sdk").path) { return candidate.path }
        url.deleteLastPathComponent()
    }
    return "Web"
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Signaling
import Synchronization

/// The operator's backend deciding connects, joins and publishes (`--auth-hook-url`; docs/DEPLOY.md, "Authorization
/// hook"), as Flashphoner WCS's REST hooks do: each is POSTed as JSON, signed like webhooks (`Parley-Signature`), and
/// waits for the answer. 2xx allows; 403 refuses with the body's `reason`; anything else, or no answer within the
/// timeout, refuses too (fail closed): a backend that is down must not let everyone in.
final class AuthHook: Service, AccessHook, Sendable {
    struct Snapshot: Codable, Sendable, Equatable {
        var allowed: Int
        var refused: Int
        /// No usable answer (timeout, no connection, another status): refused as well.
        var failed: Int
    }

    /// The POSTed JSON; nil fields are left out.
    struct Body: Encodable {
        let action: String
        let name: String?
        let room: String?
        let stream: String?
        let record: Bool?
        let `protocol`: String
        let address: String?
        let token: String?
        /// Milliseconds since 1970.
        let createdAt: Int64
    }

    let url: String
    let timeout: Duration
    private let secret: [UInt8]?
    private let client: HTTPClient
    private let logger: Logger
    private let allowed = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)

    init(url: String, secret: [UInt8]?, timeout: Duration, logger: Logger) {
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow  // a redirect is not an answer: fail closed
        // The pool retries a refused connection until this: half the time, so that a backend that is down is told
        // apart from a slow one.
        configuration.timeout.connect = .milliseconds(Int64(timeout / .milliseconds(2)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    var snapshot: Snapshot {
        Snapshot(allowed: allowed.load(ordering: .relaxed), refused: refused.load(ordering: .relaxed),
                 failed: failed.load(ordering: .relaxed))
    }

    /// The hook as one client's sessions see it: their requests carry its address.
    func forClient(_ address: String?) -> any AccessHook {
        AddressedHook(base: self, address: address)
    }

    /// Keeps the HTTP client until shutdown (after the application, whose requests use it), then closes it.
    func run() async throws {
        try? await gracefulShutdown()
        try? await client.shutdown()
    }

    func authorize(_ request: AccessHookRequest) async -> ProtocolError? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = Body(action: request.action.rawValue, name: request.name, room: request.room, stream: request.stream,
                        record: request.record, protocol: request.door.rawValue, address: request.address,
                        token: request.token, createdAt: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        var metadata: Logger.Metadata = ["action": "\(request.action)", "protocol": "\(request.door)"]
        if let name = request.name { metadata["name"] = "\(name)" }
        if let room = request.room { metadata["room"] = "\(room)" }
        guard let data = try? encoder.encode(body) else { return fail("its request could not be encoded", metadata) }
        let answer: Answer?
        do {
            answer = try await withDeadline(timeout) { try await self.post(data) }
        } catch {
            return fail("not reachable", metadata, detail: "\(error)")
        }
        switch answer {
        case nil:
            return fail("no answer within \(Self.seconds(timeout)) s", metadata)
        case .allowed:
            allowed.add(1, ordering: .relaxed)
            logger.debug("authorization hook allowed", metadata: metadata)
            return nil
        case .refused(let reason):
            refused.add(1, ordering: .relaxed)
            let why = reason ?? "The server's authorization service refused this"
            logger.info("authorization hook refused", metadata: metadata.merging(["reason": "\(why)"]) { $1 })
            return .forbidden(why)
        case .status(let code):
            return fail("HTTP \(code)", metadata)
        }
    }

    private enum Answer { case allowed, refused(reason: String?), status(Int) }

    /// A refusal for want of an answer: logged and counted apart from the backend's own refusals.
    /// `why` goes to the client; `detail` (the connection's error) only to the log.
    private func fail(_ why: String, _ metadata: Logger.Metadata, detail: String? = nil) -> ProtocolError {
        failed.add(1, ordering: .relaxed)
        logger.warning("authorization hook failed: refused (fail closed)",
                       metadata: metadata.merging(["url": "\(url)", "error": "\(detail ?? why)"]) { $1 })
        return .forbidden("The server's authorization service did not answer or allow this (\(why)), so it is refused")
    }

    private func post(_ body: Data) async throws -> Answer {
        let request = Webhooks.signedPOST(body, to: url, secret: secret)
        // The limit is `withDeadline`'s (the body too); this one only must not win the race.
        let response = try await client.execute(request, timeout: .seconds(60))
        let code = Int(response.status.code)
        // The body only matters to a 403 (its reason); a large or broken one is no reason.
        let bytes = try? await response.body.collect(upTo: 16 * 1024)
        switch code {
        case 200..<300: return .allowed
        case 403: return .refused(reason: bytes.flatMap(Self.reason))
        default: return .status(code)
        }
    }

    /// `{"reason": "…"}`, cut to a length a client's reply can carry.
    static func reason(_ body: ByteBuffer) -> String? {
        struct Refusal: Decodable { let reason: String? }
        guard let reason = (try? JSONDecoder().decode(Refusal.self, from: Data(body.readableBytesView)))?.reason,
              !reason.isEmpty else { return nil }
        return String(reason.prefix(500))
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// `operation`'s result, or nil when `limit` passes first (the operation is then cancelled): the whole answer, body
/// included, must come in time, not only its head.
private func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
    }
}

private struct AddressedHook: AccessHook {
    let base: AuthHook
    let address: String?

    func authorize(_ request: AccessHookRequest) async -> ProtocolError? {
        var request = request
        request.address = address
        return await base.authorize(request)
    }
}

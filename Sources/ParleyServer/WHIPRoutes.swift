import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Signaling
import Synchronization

/// The HTTP side of WHIP (RFC 9725) and WHEP on Parley's HTTP port (docs/WHIP-WHEP.md): it reads the request, asks
/// `WHIPEndpoints`, and answers with the status, headers and CORS fields that encoders, players and browsers expect.
///
///     POST   /whip/ROOM/NAME         application/sdp offer → 201, answer, Location /whip/ROOM/NAME/ID, ETag
///     POST   /whep/ROOM/NAME         recvonly offer → 201 (409 + Retry-After while NAME publishes nothing)
///     PATCH  /whi(e)p/ROOM/NAME/ID   application/trickle-ice-sdpfrag → 204 (an ICE restart → 422)
///     DELETE /whi(e)p/ROOM/NAME/ID   → 200
///     OPTIONS on either              → 204, CORS preflight
/// Errors carry an RFC 9457 problem body that says why. POST, PATCH and DELETE are rate-limited per address.
struct WHIPRoutes: Sendable {
    let endpoints: WHIPEndpoints
    let limiter: AddressRateLimiter
    /// Token checks (`Authorization: Bearer`) of a POST; nil when the server has none. A session's own URL is
    /// unguessable and needs no token.
    var access: (any AccessControl)? = nil
    var authFailures: AuthFailures? = nil
    /// The operator's backend, asked about each WHIP publish (not WHEP plays) after the token.
    var hook: (any AccessHook)? = nil
    /// An SDP offer is a few KiB; anything past this is refused before it is read.
    static let largestBody = 64 * 1024

    static let sdp = "application/sdp"
    static let trickle = "application/trickle-ice-sdpfrag"

    func add(to router: Router<ParleyRequestContext>) {
        for kind in [WHIPEndpoints.Kind.whip, .whep] {
            let endpoint = RouterPath("/\(kind.rawValue)/:room/:name")
            let session = RouterPath("/\(kind.rawValue)/:room/:name/:session")
            router.post(endpoint) { request, context in await create(kind, request, context) }
            router.patch(session) { request, context in await patch(kind, request, context) }
            router.delete(session) { request, context in await delete(kind, request, context) }
            router.on(endpoint, method: .options) { _, _ in Self.preflight(accept: [.acceptPost: Self.sdp]) }
            router.on(session, method: .options) { _, _ in Self.preflight(accept: [.acceptPatch: Self.trickle]) }
        }
    }

    private func create(_ kind: WHIPEndpoints.Kind, _ request: Request, _ context: ParleyRequestContext) async -> Response {
        if let refused = limit(context) { return refused }
        guard Self.mediaType(request) == Self.sdp else {
            return Self.problem(.unsupportedMediaType, "The offer must be sent as \(Self.sdp)")
        }
        guard let room = context.parameters.get("room")?.removingPercentEncoding,
              let name = context.parameters.get("name")?.removingPercentEncoding else {
            return Self.problem(.notFound, "POST /\(kind.rawValue)/ROOM/NAME")
        }
        let offer: String
        switch await Self.body(request) {
        case .success(let text): offer = text
        case .failure(let refused): return refused.response
        }
        let record = request.uri.queryParameters.get("record").map { $0 == "true" || $0 == "1" } ?? false
        let guarded = authFailures.map { $0.guarding(access, address: context.remoteAddress?.ipAddress) } ?? access
        if let guarded, let refused = await Self.authorize(kind, room: room, name: name, record: record, request, guarded) {
            return refused
        }
        if kind == .whip, let hook, let refusal = await hook.authorize(.init(
            .publish, name: name, room: room, record: record, door: .whip, address: context.remoteAddress?.ipAddress,
            token: request.bearerToken)) {
            return Self.problem(.forbidden, refusal.message)
        }
        let created: WHIPEndpoints.Created
        do {
            switch kind {
            case .whip:
                created = try await endpoints.publish(room: room, name: name, offer: offer, record: record)
            case .whep:
                created = try await endpoints.play(room: room, name: name, offer: offer)
            }
        } catch {
            return Self.response(error)
        }
        var headers = Self.cors
        headers[.contentType] = Self.sdp
        headers[.location] = "/\(kind.rawValue)/\(Self.segment(room))/\(Self.segment(name))/\(created.session)"
        headers[.eTag] = created.etag
        headers[.acceptPatch] = Self.trickle
        return Response(status: .created, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: created.answer)))
    }

    private func patch(_ kind: WHIPEndpoints.Kind, _ request: Request, _ context: ParleyRequestContext) async -> Response {
        if let refused = limit(context) { return refused }
        guard Self.mediaType(request) == Self.trickle else {
            return Self.problem(.unsupportedMediaType, "A PATCH carries \(Self.trickle)")
        }
        let fragment: String
        switch await Self.body(request) {
        case .success(let text): fragment = text
        case .failure(let refused): return refused.response
        }
        do {
            try await endpoints.patch(kind, session: context.parameters.get("session") ?? "", fragment: fragment,
                                      ifMatch: request.headers[.ifMatch])
        } catch {
            return Self.response(error)
        }
        return Response(status: .noContent, headers: Self.cors)
    }

    private func delete(_ kind: WHIPEndpoints.Kind, _ request: Request, _ context: ParleyRequestContext) async -> Response {
        if let refused = limit(context) { return refused }
        do {
            try await endpoints.delete(kind, session: context.parameters.get("session") ?? "")
        } catch {
            return Self.response(error)
        }
        return Response(status: .ok, headers: Self.cors)
    }

    /// 401 without a valid bearer token, 403 when its grant does not allow this publish or play; nil to go on.
    /// A publisher's NAME must be the token's subject; a player's NAME is the stream it plays.
    static func authorize(_ kind: WHIPEndpoints.Kind, room: String, name: String, record: Bool, _ request: Request,
                          _ access: any AccessControl) async -> Response? {
        let grant: AccessGrant
        switch await access.grant(token: request.bearerToken, missing: "This server needs an access token: send Authorization: Bearer TOKEN") {
        case .success(let granted): grant = granted
        case .failure(let refusal): return problem(.unauthorized, refusal.message, headers: [.wwwAuthenticate: "Bearer"])
        }
        let refusal = grant.refusesJoin(room) ?? (kind == .whip ? grant.refusesPublish(as: name, record: record) : grant.refusesPlay())
        return refusal.map { problem(.forbidden, $0.message) }
    }

    /// 429 for an address over its rate; nil to go on.
    private func limit(_ context: ParleyRequestContext) -> Response? {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        guard !limiter.allow(address) else { return nil }
        return Self.problem(.tooManyRequests, "Too many WHIP/WHEP requests from \(address)", retryAfter: 1)
    }

    // MARK: HTTP details

    /// What a browser client needs to read the answer's headers, on every response.
    static let cors: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlExposeHeaders: "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After",
    ]

    static func preflight(accept: HTTPFields) -> Response {
        var headers = cors
        headers[.accessControlAllowMethods] = "POST, PATCH, DELETE, OPTIONS"
        // Listed, not `*`: the wildcard does not cover Authorization.
        headers[.accessControlAllowHeaders] = "Authorization, Content-Type, If-Match"
        headers[.accessControlMaxAge] = "86400"
        headers.append(contentsOf: accept)
        return Response(status: .noContent, headers: headers)
    }

    /// The request's media type, lowercased, without parameters.
    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The body as UTF-8 text, or the response that refuses it (too large, not text).
    static func body(_ request: Request) async -> Result<String, ResponseError> {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: largestBody) else {
            return .failure(ResponseError(problem(.contentTooLarge, "The body is over \(largestBody / 1024) KiB")))
        }
        guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes), !text.isEmpty else {
            return .failure(ResponseError(problem(.badRequest, "The body is empty or not text")))
        }
        return .success(text)
    }

    struct ResponseError: Error {
        let response: Response
        init(_ response: Response) { self.response = response }
    }

    static func response(_ refusal: WHIPEndpoints.Refusal) -> Response {
        switch refusal {
        case .badRequest(let why): problem(.badRequest, why)
        case .unsupportedOffer(let why): problem(.unprocessableContent, why)
        case .notFound(let why): problem(.notFound, why)
        case .nameTaken(let why): problem(.conflict, why)
        case .notPublishing(let why): problem(.conflict, why, retryAfter: 5)
        case .unavailable(let why): problem(.serviceUnavailable, why, retryAfter: 10)
        case .iceRestart: problem(.unprocessableContent, "ICE restarts are not supported: publish again with a new POST")
        case .staleETag: problem(.preconditionFailed, "If-Match names another ICE session")
        }
    }

    /// An RFC 9457 problem, with the CORS fields a browser client needs: the status and, for people and logs, why.
    static func problem(_ status: HTTPResponse.Status, _ detail: String, retryAfter: Int? = nil,
                        headers extra: HTTPFields = [:]) -> Response {
        var headers = cors
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        headers.append(contentsOf: extra)
        return Problem.response(status, detail, headers: headers)
    }

    /// A path segment, percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

extension Request {
    /// The token of `Authorization: Bearer TOKEN`, if the request has one.
    var bearerToken: String? {
        guard let header = headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }
}

/// RFC 9457 problem bodies, for the HTTP APIs (WHIP/WHEP, the admin API).
enum Problem {
    static func response(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/problem+json"
        let body: [String: Any] = ["type": "about:blank", "title": status.reasonPhrase, "status": status.code, "detail": detail]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let acceptPost = Self("Accept-Post")!
    static let acceptPatch = Self("Accept-Patch")!
}

/// Requests per second per client address, for endpoints that anyone may call without a socket (WHIP/WHEP).
final class AddressRateLimiter: Sendable {
    private let table = Mutex<[String: RateLimiter]>([:])
    private let perSecond: Int
    private let counts: RateLimitCounts?

    init(perSecond: Int, counts: RateLimitCounts? = nil) {
        self.perSecond = perSecond
        self.counts = counts
    }

    /// `now`: seconds on a monotonic clock, as a socket's own limiter counts them.
    func allow(_ address: String, now: Double = Double(DispatchTime.now().uptimeNanoseconds) / 1e9) -> Bool {
        table.withLock { table in
            if table.count > 10_000 { table.removeAll() }  // a flood of addresses must not grow it without end
            var limiter = table[address] ?? RateLimiter(perSecond: perSecond, closeAfterRefused: .max, counts: counts)
            defer { table[address] = limiter }
            return limiter.check(now: now) == .allow
        }
    }
}

/// Parley's HTTP request context: Hummingbird's, plus the client's address (for rate limits).
struct ParleyRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

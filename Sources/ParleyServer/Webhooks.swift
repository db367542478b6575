import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Rooms
import ServiceLifecycle
import Signaling
import Synchronization

/// Room activity POSTed to the operator's backend (`--webhook-url`; docs/DEPLOY.md, "Webhooks"): JSON events with
/// an id and a time, signed with HMAC-SHA256 in `Parley-Signature: t=<unix seconds>,v1=<hex of HMAC(secret,
/// "<t>.<body>")>`. Events wait in a bounded queue and go out with retries and backoff, a few at a time; a room
/// never waits for them. When the queue is full, or an event fails every try, it is dropped and counted.
final class Webhooks: Service, Sendable {
    struct Event: Encodable, Sendable {
        struct Named: Encodable, Sendable { let name: String }
        struct Track: Encodable, Sendable {
            let id: String
            let display: String?
            let audio: Bool?
            let video: Bool?
        }
        struct Recording: Encodable, Sendable {
            let name: String
            let outcome: String
        }
        let id: String
        let event: String
        /// Milliseconds since 1970.
        let createdAt: Int64
        let room: Named
        var participant: Named? = nil
        var track: Track? = nil
        var recording: Recording? = nil
        var reason: String? = nil
    }

    struct Snapshot: Sendable, Equatable {
        var delivered: Int
        var failed: Int
        var dropped: Int
    }

    static let capacity = 1000
    static let concurrentDeliveries = 8
    /// After the first try: waits before each retry.
    static let retryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4)]

    let urls: [String]
    private let secret: [UInt8]?
    private let client: HTTPClient
    private let events: AsyncStream<Event>
    private let queue: AsyncStream<Event>.Continuation
    private let logger: Logger
    private let delivered = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let retryDelays: [Duration]

    init(urls: [String], secret: [UInt8]?, logger: Logger, retryDelays: [Duration] = Webhooks.retryDelays) {
        self.urls = urls
        self.secret = secret
        self.logger = logger
        self.retryDelays = retryDelays
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(5))
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        (events, queue) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(Self.capacity))
    }

    var snapshot: Snapshot {
        Snapshot(delivered: delivered.load(ordering: .relaxed), failed: failed.load(ordering: .relaxed),
                 dropped: dropped.load(ordering: .relaxed))
    }

    // MARK: events in (from the hub's isolation and the recorder: never blocks)

    func observe(_ activity: HubActivity) {
        switch activity {
        case .roomStarted(let room): enqueue("room_started", room: room)
        case .roomFinished(let room): enqueue("room_finished", room: room)
        case .event(.joined(let room, let participant)):
            enqueue("participant_joined", room: room) { $0.participant = .init(name: participant.name) }
        case .event(.left(let room, let participant, let reason)):
            enqueue("participant_left", room: room) { $0.participant = .init(name: participant.name); $0.reason = reason.rawValue }
        case .event(.published(let room, let participant, let stream)):
            enqueue("track_published", room: room) {
                $0.participant = .init(name: participant)
                $0.track = .init(id: stream.id, display: stream.display, audio: stream.audio, video: stream.video)
            }
        case .event(.unpublished(let room, let participant, let stream, let reason)):
            enqueue("track_unpublished", room: room) {
                $0.participant = .init(name: participant)
                $0.track = .init(id: stream, display: nil, audio: nil, video: nil)
                $0.reason = reason.rawValue
            }
        case .event: break
        }
    }

    func recordingEnded(room: String?, name: String, outcome: String) {
        enqueue("recording_finished", room: room ?? "") { $0.recording = .init(name: name, outcome: outcome) }
    }

    private func enqueue(_ name: String, room: String, _ fill: (inout Event) -> Void = { _ in }) {
        var event = Event(id: UUID().uuidString.lowercased(), event: name,
                          createdAt: Int64((Date().timeIntervalSince1970 * 1000).rounded()), room: .init(name: room))
        fill(&event)
        if case .dropped = queue.yield(event) {
            dropped.add(1, ordering: .relaxed)
            logger.warning("webhook queue full: event dropped", metadata: ["event": "\(name)"])
        }
    }

    // MARK: delivery

    /// Delivers until shutdown; then what is queued still goes out for a few seconds, and the client closes.
    func run() async throws {
        let queue = self.queue
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await event in events {
                    if running >= Self.concurrentDeliveries {
                        await group.next()
                        running -= 1
                    }
                    group.addTask { await self.deliver(event) }
                    running += 1
                }
            }
        } onGracefulShutdown: {
            queue.finish()
        }
        await close()
    }

    /// The HTTP client must be shut down before it goes (`run` does it at the end).
    func close() async {
        try? await client.shutdown()
    }

    private func deliver(_ event: Event) async {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let body = try? encoder.encode(event) else { return }
        for url in urls {
            var attempt = 0
            while true {
                if await post(body, to: url) {
                    delivered.add(1, ordering: .relaxed)
                    break
                }
                guard attempt < retryDelays.count, !Task.isCancelled else {
                    failed.add(1, ordering: .relaxed)
                    logger.warning("webhook not delivered", metadata: ["event": "\(event.event)", "url": "\(url)"])
                    break
                }
                try? await Task.sleep(for: retryDelays[attempt])
                attempt += 1
            }
        }
    }

    private func post(_ body: Data, to url: String) async -> Bool {
        let request = Self.signedPOST(body, to: url, secret: secret)
        do {
            let response = try await client.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return (200..<300).contains(response.status.code)
        } catch {
            return false
        }
    }

    /// A JSON POST to the operator's backend, signed when there is a secret (webhooks and the authorization hook).
    static func signedPOST(_ body: Data, to url: String, secret: [UInt8]?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "parley/\(ParleyVersion.current)")
        if let secret {
            request.headers.add(name: "Parley-Signature", value: signature(body, secret: secret, at: Date()))
        }
        request.body = .bytes(ByteBuffer(data: body))
        return request
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: a receiver checks it with the secret alone,
    /// and refuses an old `t` (a replay).
    static func signature(_ body: Data, secret: [UInt8], at date: Date) -> String {
        let t = Int64(date.timeIntervalSince1970)
        var signed = Data("\(t).".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret))
        return "t=\(t),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

import Foundation
import Logging
import Synchronization
import Testing
@testable import Signaling

/// Drives sessions against a real hub and reads what each socket would receive.
final class FakeSocket {
    let outbox = Outbox()
    let session: ParleySession
    private var iterator: AsyncStream<OutboundFrame>.AsyncIterator
    private var nextID = 0

    init(hub: SignalingHub, media: (any MediaService)? = nil, republisher: (any RepublishService)? = nil,
         recorder: (any RecordingService)? = nil, access: (any AccessControl)? = nil, hook: (any AccessHook)? = nil,
         iceServers: (any IceServerSource)? = nil, limiter: RateLimiter = RateLimiter(), clock: @escaping @Sendable () -> Double = { 0 }) {
        session = ParleySession(hub: hub, media: media, republisher: republisher, recorder: recorder, access: access,
                                hook: hook, iceServers: iceServers, outbox: outbox,
                                version: "test", limiter: limiter,
                                logger: Logger(label: "test"), monotonicNow: clock, wallNow: { 1_000 })
        iterator = outbox.frames.makeAsyncIterator()
        let relays = session.relays
        Task { await relays.run() }  // as the socket's task runs them
    }

    func next() async throws -> [String: Any] {
        guard case .text(let text)? = await iterator.next() else { throw CancellationError() }
        return try json(text)
    }

    func nextFrame() async -> OutboundFrame? { await iterator.next() }

    /// Sends a request and returns its reply (the next frame).
    func request(_ type: String, _ fields: [String: Any] = [:]) async throws -> [String: Any] {
        nextID += 1
        var object = fields
        object["id"] = nextID
        object["type"] = type
        let data = try JSONSerialization.data(withJSONObject: object)
        await session.receive(text: String(decoding: data, as: UTF8.self))
        let reply = try await next()
        #expect(reply["id"] as? Int == nextID)
        return reply
    }
}

func errorCode(_ reply: [String: Any]) -> String? {
    (reply["error"] as? [String: Any])?["code"] as? String
}

@Suite struct ParleySessionTests {
    @Test func requestsBeforeConnectAreRefused() async throws {
        let socket = FakeSocket(hub: SignalingHub())
        #expect(errorCode(try await socket.request("join", ["room": "r"])) == "not_connected")
        #expect(errorCode(try await socket.request("message", ["room": "r", "text": "x"])) == "not_connected")
        #expect(try await socket.request("ping")["ok"] as? Bool == true)
        #expect(errorCode(try await socket.request("connect", ["username": "  "])) == "invalid_username")
        let ok = try await socket.request("connect", ["username": " test "])
        #expect((ok["result"] as? [String: Any])?["username"] as? String == "test")
        #expect(errorCode(try await socket.request("connect", ["username": "again"])) == "already_connected")
    }

    @Test func joinReplyComesBeforeRoomEvents() async throws {
        let hub = SignalingHub(now: { 1_000 })
        let alice = FakeSocket(hub: hub)
        let bob = FakeSocket(hub: hub)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await alice.request("join", ["room": "abc"])
        let state = try await bob.request("join", ["room": "abc"])
        let room = try #require((state["result"] as? [String: Any])?["room"] as? [String: Any])
        #expect((room["participants"] as? [[String: Any]])?.map { $0["name"] as? String } == ["alice"])

        let joined = try await alice.next()
        #expect(joined["event"] as? String == "joined")
        #expect((joined["participant"] as? [String: Any])?["name"] as? String == "bob")

        let sent = try await bob.request("message", ["room": "abc", "text": "hello"])
        #expect(((sent["result"] as? [String: Any])?["message"] as? [String: Any])?["time"] as? Int == 1_000)
        let message = try await alice.next()
        #expect(message["event"] as? String == "message")
        #expect(message["from"] as? String == "bob")
        #expect(message["text"] as? String == "hello")

        await bob.session.socketClosed()
        let left = try await alice.next()
        #expect(left["event"] as? String == "left")
        #expect(left["reason"] as? String == "disconnected")
        #expect(await hub.stats == .init(sessions: 1, rooms: 1, participants: 1))
        _ = try await alice.request("leave", ["room": "abc"])
        #expect(await hub.stats == .init(sessions: 1, rooms: 0, participants: 0))
    }

    @Test func joinWithoutNameMakesARandomRoom() async throws {
        let socket = FakeSocket(hub: SignalingHub())
        _ = try await socket.request("connect", ["username": "x"])
        let reply = try await socket.request("join")
        let name = try #require(((reply["result"] as? [String: Any])?["room"] as? [String: Any])?["name"] as? String)
        #expect(name.count == 22)
    }

    @Test func floodingIsRefusedThenClosed() async throws {
        let socket = FakeSocket(hub: SignalingHub(), limiter: RateLimiter(perSecond: 3, closeAfterRefused: 2))
        for _ in 0..<3 { #expect(try await socket.request("ping")["ok"] as? Bool == true) }
        #expect(errorCode(try await socket.request("ping")) == "rate_limited")
        #expect(errorCode(try await socket.request("ping")) == "rate_limited")
        let keepOpen = await socket.session.receive(text: #"{"id":99,"type":"ping"}"#)
        #expect(!keepOpen)
        #expect(await socket.nextFrame() == .close(code: 1008, reason: "rate limit"))
    }

    @Test func binaryFramesCloseTheSocket() async {
        let socket = FakeSocket(hub: SignalingHub())
        socket.session.receiveBinary()
        #expect(await socket.nextFrame() == .close(code: 1003, reason: "Binary frames are not supported"))
        #expect(await socket.nextFrame() == nil)
    }

    @Test func aSlowSocketOverflowsInsteadOfBlocking() {
        let outbox = Outbox(capacity: 2)
        outbox.send("a")
        outbox.send("b")
        #expect(!outbox.hasOverflowed)
        outbox.send("c")
        #expect(outbox.hasOverflowed)
    }
}

@Suite struct RateLimiterTests {
    @Test func windowResetsEverySecond() {
        let counts = RateLimitCounts()
        var limiter = RateLimiter(perSecond: 2, closeAfterRefused: 1, counts: counts)
        #expect(limiter.check(now: 10.0) == .allow)
        #expect(limiter.check(now: 10.1) == .allow)
        #expect(limiter.check(now: 10.2) == .refuse)
        #expect(limiter.check(now: 10.3) == .disconnect)
        #expect(limiter.check(now: 11.0) == .allow)
        #expect(counts.refused == 1 && counts.disconnected == 1, "refusals are counted for /metrics")
    }
}

@Suite struct DrainingHubTests {
    @Test func aDrainingHubOpensNoNewRoomButExistingOnesTakePeople() async throws {
        let hub = SignalingHub()
        let alice = FakeSocket(hub: hub), bob = FakeSocket(hub: hub)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await alice.request("join", ["room": "standup"])
        await hub.startDraining()
        let refused = try await bob.request("join", ["room": "new-room"])
        #expect(errorCode(refused) == "draining")
        #expect(errorCode(try await bob.request("join", [:])) == "draining", "nor one the server would name")
        #expect(try await bob.request("join", ["room": "standup"])["ok"] as? Bool == true)
    }
}

@Suite struct OperatorHubTests {
    @Test func kickCloseAndSystemMessages() async throws {
        let hub = SignalingHub(now: { 7 })
        let alice = FakeSocket(hub: hub), bob = FakeSocket(hub: hub)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await alice.request("join", ["room": "r"])
        _ = try await bob.request("join", ["room": "r"])
        _ = try await alice.next()  // bob joined
        #expect(await hub.roomSummaries() == [.init(name: "r", maxParticipants: 10, participants: 2, streams: 0)])

        let message = try await hub.postSystem(room: "r", text: "maintenance at noon")
        #expect(message.from == "" && message.time == 7)
        for socket in [alice, bob] {
            let event = try await socket.next()
            #expect(event["event"] as? String == "message" && event["from"] as? String == "")
        }
        #expect(await hub.room(named: "r")?.history.map(\.text) == ["maintenance at noon"])

        #expect(await hub.kick(room: "r", participant: "bob"))
        let left = try await alice.next()
        #expect(left["event"] as? String == "left" && left["reason"] as? String == "kicked")
        guard case .close(let code, _)? = await bob.nextFrame() else { Issue.record("bob not closed"); return }
        #expect(code == ParleySession.closeKicked)
        #expect(await !hub.kick(room: "r", participant: "bob"))

        #expect(await hub.closeRoom("r") == 1)
        #expect(await hub.roomSummaries().isEmpty)
        #expect(await hub.stats.sessions == 0)
    }
}

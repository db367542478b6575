import Foundation
import Synchronization
import Testing
@testable import Signaling

/// The operator's backend (`--auth-hook-url`) as the sessions see it: a fake hook stands for the HTTP one
/// (e2e/test_auth_hook.py covers that). It refuses any request that names `mallory`, or the room `closed`.
final class FakeHook: AccessHook, Sendable {
    private let log = Mutex<[AccessHookRequest]>([])
    var asked: [AccessHookRequest] { log.withLock { $0 } }

    func authorize(_ request: AccessHookRequest) async -> ProtocolError? {
        log.withLock { $0.append(request) }
        if request.name == "mallory" || request.room == "closed" || request.stream == "secret" {
            return .forbidden("Not on the list")
        }
        return nil
    }
}

@Suite struct AccessHookTests {
    func message(_ reply: [String: Any]) -> String? { (reply["error"] as? [String: Any])?["message"] as? String }

    @Test func aRefusedConnectGetsForbiddenAndTheSocketClosesWith4401() async throws {
        let hub = SignalingHub(), hook = FakeHook()
        let socket = FakeSocket(hub: hub, hook: hook)
        let reply = try await socket.request("connect", ["username": "mallory", "token": "opaque"])
        #expect(errorCode(reply) == "forbidden" && message(reply) == "Not on the list", "\(reply)")
        guard case .close(let code, _)? = await socket.nextFrame() else { throw CancellationError() }
        #expect(code == ParleySession.closeUnauthorized)
        #expect(await socket.session.receive(text: #"{"id": 9, "type": "ping"}"#) == false, "the socket is done")
        #expect(await hub.stats.sessions == 0, "no session was opened")
        // Without --auth jwt the client's token still goes to the backend, which may check its own.
        #expect(hook.asked == [AccessHookRequest(.connect, name: "mallory", door: .parley, token: "opaque")])
    }

    @Test func joinAndPublishRefusalsAreForbiddenAndLeaveNoTraceInTheRoom() async throws {
        let hub = SignalingHub(), hook = FakeHook(), media = FakeMedia()
        let alice = FakeSocket(hub: hub, media: media, hook: hook)
        #expect(try await alice.request("connect", ["username": "alice", "token": "t"])["ok"] as? Bool == true)
        let closed = try await alice.request("join", ["room": "closed"])
        #expect(errorCode(closed) == "forbidden" && message(closed) == "Not on the list")
        #expect(await hub.stats.rooms == 0, "the room was never opened")
        #expect(try await alice.request("join", ["room": "r"])["ok"] as? Bool == true, "an allowed join goes on")

        let bob = FakeSocket(hub: hub, media: media)  // no hook: sees what happens in the room
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await bob.request("join", ["room": "r"])
        _ = try await alice.next()  // joined: bob
        let secret = try await alice.request("publish", ["room": "r", "sdp": "offer", "display": "secret", "record": true])
        #expect(errorCode(secret) == "forbidden")
        #expect(await hub.stats.streams == 0 && media.stopped.isEmpty, "no record, no media")
        let camera = try await alice.request("publish", ["room": "r", "sdp": "offer", "display": "camera"])
        let stream = try #require((camera["result"] as? [String: Any])?["stream"] as? String)
        media.fire(stream, .connected)
        _ = try await alice.next()  // its stream event
        #expect(try await bob.next()["event"] as? String == "published", "bob's first event is the allowed stream")
        #expect(hook.asked.map(\.action) == [.connect, .join, .join, .publish, .publish])
        #expect(hook.asked[3] == AccessHookRequest(.publish, name: "alice", room: "r", stream: "secret", record: true,
                                                   door: .parley, token: "t"))
    }

    @Test func withTokensTheHookIsAskedAboutTheTokensSubjectAfterTheTokenCheck() async throws {
        let hook = FakeHook()
        let forged = FakeSocket(hub: SignalingHub(), access: AccessSignalingTests.access, hook: hook)
        #expect(errorCode(try await forged.request("connect", ["username": "a", "token": "forged"])) == "unauthorized")
        #expect(hook.asked.isEmpty, "a bad token never reaches the backend")
        let socket = FakeSocket(hub: SignalingHub(), access: AccessSignalingTests.access, hook: hook)
        #expect(try await socket.request("connect", ["username": "mallory", "token": "alice"])["ok"] as? Bool == true)
        #expect(errorCode(try await socket.request("join", ["room": "elsewhere"])) == "forbidden")
        #expect(hook.asked == [AccessHookRequest(.connect, name: "alice", door: .parley, token: "alice")],
                "the grant refused the join before the backend was asked")
    }
}

@Suite struct WCSAccessHookTests {
    @Test func aRefusedConnectionFailsAndClosesWith4401() async throws {
        let hub = SignalingHub()
        let socket = FakeWCSSocket(hub: hub, hook: FakeHook())
        await socket.send("connection", ["appKey": "roomApp", "mediaProviders": ["WebRTC"], "custom": ["login": "mallory"]])
        let fail = try await socket.expect("fail")
        #expect(fail["apiMethod"]?.string == "ConnectionStatusEvent" && fail["info"]?.string == "forbidden: Not on the list")
        #expect(try await socket.closeFrame()?.0 == ParleySession.closeUnauthorized)
        #expect(await hub.stats.sessions == 0)
    }

    @Test func joinAndPublishStreamRefusalsFailAndLeaveNoTraceInTheRoom() async throws {
        let hub = SignalingHub(), media = FakeMedia(), hook = FakeHook()
        let alice = FakeWCSSocket(hub: hub, media: media, hook: hook, label: "alice")
        try await alice.connect(login: "alice", token: "t")
        let closed = try await alice.command("join", ["name": "closed"])
        #expect(closed["status"]?.string == "FAILED" && closed["info"]?.string == "Not on the list", "\(closed)")
        #expect(try await alice.join("abc") == [])
        let id = alice.newMediaSessionId()
        await alice.send("publishStream", ["mediaSessionId": .string(id), "name": "secret", "published": true,
                                           "mediaProvider": "WebRTC", "sdp": "offer", "custom": ["name": "abc"]])
        #expect(try await alice.expectStatus("FAILED", id: id)["info"]?.string == "Not on the list")
        #expect(await hub.stats.streams == 0 && alice.session.streams.count == 0)
        let pub = try await alice.publish("abc-alice", room: "abc")
        #expect(alice.session.streams.stream(pub) != nil, "an allowed publish goes on")
        #expect(hook.asked.map(\.action) == [.connect, .join, .join, .publish, .publish])
        #expect(hook.asked[0] == AccessHookRequest(.connect, name: "alice", door: .wcs, token: "t"))
        #expect(hook.asked[3] == AccessHookRequest(.publish, name: "alice", room: "abc", stream: "secret", record: false,
                                                   door: .wcs, token: "t"))
    }
}

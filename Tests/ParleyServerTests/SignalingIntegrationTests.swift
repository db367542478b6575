import Foundation
import Testing
@testable import ParleyServer

/// The real server on a loopback port, driven by real WebSocket clients.
@Suite struct SignalingIntegrationTests {
    @Test func twoUsersJoinChatAndLeave() async throws {
        let server = try await RunningServer.start()
        let alice = try await TestClient.connected(server, as: "alice")
        let bob = try await TestClient.connected(server, as: "bob")

        #expect(try await alice.request("join", ["room": "abc"])["ok"] as? Bool == true)
        let state = result(try await bob.request("join", ["room": "abc"]))
        let room = try #require(state["room"] as? [String: Any])
        #expect((room["participants"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["alice"])
        let joined = try await alice.nextEvent("joined")
        #expect((joined["participant"] as? [String: Any])?["name"] as? String == "bob")

        // Chat both ways, in order.
        for text in ["hi bob", "how are you?"] {
            #expect(try await alice.request("message", ["room": "abc", "text": text])["ok"] as? Bool == true)
        }
        #expect(try await bob.nextEvent("message")["text"] as? String == "hi bob")
        let second = try await bob.nextEvent("message")
        #expect(second["text"] as? String == "how are you?")
        #expect(second["from"] as? String == "alice")
        #expect(second["time"] as? Int64 != nil)
        _ = try await bob.request("message", ["room": "abc", "text": "fine"])
        #expect(try await alice.nextEvent("message")["from"] as? String == "bob")

        // A late joiner sees the conversation so far.
        let carol = try await TestClient.connected(server, as: "carol")
        let carolState = result(try await carol.request("join", ["room": "abc"]))
        let history = (carolState["room"] as? [String: Any])?["history"] as? [[String: Any]]
        #expect(history?.compactMap { $0["text"] as? String } == ["hi bob", "how are you?", "fine"])
        _ = try await alice.nextEvent("joined")
        _ = try await bob.nextEvent("joined")

        // A private message reaches only its recipient.
        _ = try await carol.request("message", ["room": "abc", "text": "psst", "to": "alice"])
        let secret = try await alice.nextEvent("message")
        #expect(secret["to"] as? String == "alice")

        // Leave, then drop a socket: the others are told why.
        _ = try await bob.request("leave", ["room": "abc"])
        for client in [alice, carol] {
            let left = try await client.nextEvent("left")
            #expect((left["participant"] as? [String: Any])?["name"] as? String == "bob")
            #expect(left["reason"] as? String == "left")
        }
        carol.close()
        let dropped = try await alice.nextEvent("left")
        #expect(dropped["reason"] as? String == "disconnected")
        #expect((dropped["participant"] as? [String: Any])?["name"] as? String == "carol")

        alice.close()
        bob.close()
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    @Test func roomFullAndNameTaken() async throws {
        let server = try await RunningServer.start { $0.maxParticipants = 3 }
        let a = try await TestClient.connected(server, as: "a")
        let b = try await TestClient.connected(server, as: "b")
        let c = try await TestClient.connected(server, as: "c")
        let a2 = try await TestClient.connected(server, as: "a")

        let created = result(try await a.request("join", ["room": "small", "maxParticipants": 2]))
        #expect((created["room"] as? [String: Any])?["maxParticipants"] as? Int == 2)
        #expect(errorCode(try await a2.request("join", ["room": "small"])) == "name_taken")
        _ = try await b.request("join", ["room": "small"])
        let full = try await c.request("join", ["room": "small"])
        #expect(errorCode(full) == "room_full")
        #expect(((full["error"] as? [String: Any])?["message"] as? String)?.contains("Current room is full") == true)

        // The server cap bounds what a creator asks for.
        let big = result(try await c.request("join", ["room": "big", "maxParticipants": 50]))
        #expect((big["room"] as? [String: Any])?["maxParticipants"] as? Int == 3)

        // A refused join leaves no trace: the room still has exactly its two members.
        #expect(await server.server.hub.participants(in: "small").map(\.name) == ["a", "b"])
        for client in [a, b, c, a2] { client.close() }
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    @Test func malformedFramesGetErrorsAndOthersCarryOn() async throws {
        let server = try await RunningServer.start()
        let alice = try await TestClient.connected(server, as: "alice")
        _ = try await alice.request("join", ["room": "r"])
        let mallory = TestClient(url: server.url)

        // Before connect, and garbage of every kind: an error reply each, and the socket stays open.
        #expect(errorCode(try await mallory.request("join", ["room": "r"])) == "not_connected")
        for (frame, code) in [("{nope", "bad_json"), ("[]", "bad_json"), (#"{"id":1}"#, "bad_request"),
                              (#"{"id":2,"type":"fly"}"#, "unknown_type"), (#"{"id":3,"type":"connect"}"#, "bad_request")] {
            mallory.sendRaw(frame)
            #expect(errorCode(try await mallory.nextJSON()) == code, "\(frame)")
        }
        _ = try await mallory.request("connect", ["username": "mallory"])
        _ = try await mallory.request("join", ["room": "r"])
        _ = try await alice.nextEvent("joined")
        #expect(errorCode(try await mallory.request("message", ["room": "r", "text": String(repeating: "x", count: 4097)])) == "invalid_text")
        #expect(errorCode(try await mallory.request("message", ["room": "nowhere", "text": "x"])) == "not_in_room")

        // A frame over 64 KiB closes that socket with 1009; alice is told it left and keeps chatting.
        mallory.sendRaw(#"{"id":9,"type":"message","room":"r","text":""# + String(repeating: "y", count: 70_000) + #""}"#)
        #expect(try await mallory.closeCode() == 1009)
        let left = try await alice.nextEvent("left")
        #expect(left["reason"] as? String == "disconnected")
        #expect(try await alice.request("message", ["room": "r", "text": "still here"])["ok"] as? Bool == true)

        alice.close()
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    @Test func floodingSocketIsRateLimitedThenClosed() async throws {
        let server = try await RunningServer.start()
        let flooder = try await TestClient.connected(server, as: "flood")
        for i in 0..<400 { flooder.sendRaw(#"{"id":\#(i + 1000),"type":"ping"}"#) }
        var limited = 0
        var closeCode: Int?
        while true {
            switch try await flooder.next() {
            case .text(let text):
                if text.contains("rate_limited") { limited += 1 }
            case .closed(let code):
                closeCode = code
            }
            if closeCode != nil { break }
        }
        #expect(limited > 0)
        #expect(closeCode == 1008)
        try await server.stop()
    }

    @Test func silentOrVanishedSocketsLeaveTheirRooms() async throws {
        // One second: short enough for a quick test, long enough that a loaded machine still answers in time.
        let server = try await RunningServer.start { $0.pingInterval = .seconds(1) }
        let alice = try await TestClient.connected(server, as: "alice")
        _ = try await alice.request("join", ["room": "r"])

        // A client that never answers pings is dropped after about two ping periods.
        let silent = try RawSocket(port: server.port)
        try await silent.upgrade()
        silent.sendText(#"{"id":1,"type":"connect","username":"silent"}"#)
        silent.sendText(#"{"id":2,"type":"join","room":"r"}"#)
        #expect(try await alice.nextEvent("joined")["participant"].flatMap { ($0 as? [String: Any])?["name"] as? String } == "silent")
        let left = try await alice.nextEvent("left", timeout: .seconds(10))
        #expect((left["participant"] as? [String: Any])?["name"] as? String == "silent")

        // A client whose TCP connection just goes away.
        var vanishing: RawSocket? = try RawSocket(port: server.port)
        try await vanishing?.upgrade()
        vanishing?.sendText(#"{"id":1,"type":"connect","username":"ghost"}"#)
        vanishing?.sendText(#"{"id":2,"type":"join","room":"r"}"#)
        _ = try await alice.nextEvent("joined")
        vanishing = nil
        let gone = try await alice.nextEvent("left")
        #expect((gone["participant"] as? [String: Any])?["name"] as? String == "ghost")
        _ = silent

        alice.close()
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    @Test func manyClientsJoinAndLeaveConcurrentlyLeavingNoRoom() async throws {
        let server = try await RunningServer.start { $0.maxParticipants = 20 }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let client = try await TestClient.connected(server, as: "user\(i)")
                    let reply = try await client.request("join", ["room": "room\(i % 20)"])
                    guard reply["ok"] as? Bool == true else { throw TestFailure("join failed: \(reply)") }
                    _ = try await client.request("message", ["room": "room\(i % 20)", "text": "hello from \(i)"])
                    // Half leave politely, half just close their socket.
                    if i % 2 == 0 {
                        let left = try await client.request("leave", ["room": "room\(i % 20)"])
                        guard left["ok"] as? Bool == true else { throw TestFailure("leave failed: \(left)") }
                    }
                    client.close()
                    await client.task.value
                }
            }
            try await group.waitForAll()
        }
        try await server.waitForStats(rooms: 0, participants: 0)
        #expect(await server.server.hub.stats.sessions == 0)
        try await server.stop()
    }

    @Test func healthAndStaticFiles() async throws {
        let server = try await RunningServer.start()
        let client = try await TestClient.connected(server, as: "h")
        _ = try await client.request("join", ["room": "x"])
        let health = try await RawSocket.get(port: server.port, path: "/health")
        #expect(health.status == 200)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any])
        #expect(body["status"] as? String == "ok")
        #expect(body["version"] as? String == ParleyVersion.current)
        #expect(body["rooms"] as? Int == 1)
        #expect(body["participants"] as? Int == 1)
        #expect(body["uptime"] as? Double != nil)

        let sdk = try await RawSocket.get(port: server.port, path: "/sdk/parley.js")
        #expect(sdk.status == 200)
        #expect(sdk.body.contains("fixture"))
        #expect(try await RawSocket.get(port: server.port, path: "/").status == 200)
        let types = try await RawSocket.get(port: server.port, path: "/sdk/parley.d.ts")
        #expect(types.head.lowercased().contains("content-type: text/plain"))
        #expect(try await RawSocket.get(port: server.port, path: "/nothing-here").status == 404)
        // An invite link typed without the folder's final slash keeps its room.
        let redirect = try await RawSocket.get(port: server.port, path: "/apps/room?roomName=abc")
        #expect(redirect.status == 301)
        #expect(redirect.head.lowercased().contains("location: /apps/room/?roomname=abc"))
        #expect(try await RawSocket.get(port: server.port, path: "/apps/room/?roomName=abc").status == 200)
        #expect(try await RawSocket.get(port: server.port, path: "/../../etc/passwd").status != 200)
        client.close()
        try await server.stop()
    }

    @Test func shutdownSendsCloseFramesAndReturns() async throws {
        let server = try await RunningServer.start()
        let client = try await TestClient.connected(server, as: "bye")
        _ = try await client.request("join", ["room": "r"])
        let started = ContinuousClock.now
        try await server.stop()
        #expect(try await client.closeCode() == 1000)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}

import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import Synchronization
import Testing
@testable import ParleyServer
@testable import Signaling

/// The Web Call Server endpoint of a real server (`ws://HOST:PORT`, path `/`), driven by clients that speak the
/// protocol from its facts, with peers that really connect ICE and DTLS to Parley's media plane.
@Suite struct WCSIntegrationTests {
    /// Publishes with a real peer until PUBLISHING; returns the mediaSessionId and the peer.
    func publish(_ client: WCSClient, name: String, room: String?) async throws -> (id: String, peer: WCSMediaPeer) {
        let peer = try WCSMediaPeer()
        let (id, answer) = try await client.stream("publishStream", name: name, room: room, sdp: peer.offer(publish: true))
        #expect(answer.contains("a=ice-lite") && answer.contains("a=candidate:") && answer.contains("a=setup:passive"))
        #expect(answer.contains("a=recvonly"))
        #expect(try await peer.connect(answer: answer), "\(client.label)'s publish did not connect")
        let status = try await client.expectStatus("PUBLISHING", id: id)
        #expect(status["name"]?.string == name)
        return (id, peer)
    }

    func play(_ client: WCSClient, name: String, room: String?) async throws -> (id: String, peer: WCSMediaPeer) {
        let peer = try WCSMediaPeer()
        let (id, answer) = try await client.stream("playStream", name: name, room: room, sdp: peer.offer(publish: false))
        #expect(answer.contains("a=sendonly"))
        #expect(try await peer.connect(answer: answer), "\(client.label)'s play did not connect")
        try await client.expectStatus("PLAYING", id: id)
        return (id, peer)
    }

    @Test func theBareURLSpeaksWCSAndTheSiteIsStillServed() async throws {
        let server = try await RunningServer.start()
        let client = WCSClient(server, label: "test")
        let data = try await client.connect(login: "test")
        #expect(data["authToken"]?.string?.isEmpty == false)
        // GET / is still the site, and /ws still Parley's protocol.
        let page = try await RawSocket.get(port: server.port, path: "/")
        #expect(page.status == 200 && page.body.contains("<title>Parley</title>"))
        let parley = try await TestClient.connected(server, as: "parley")
        #expect(try await parley.request("ping")["ok"] as? Bool == true)
        #expect(await server.server.hub.stats.sessions == 2)
        client.close()
        parley.close()
        try await waitUntil("sessions to end") { await server.server.hub.stats.sessions == 0 }
        try await server.stop()
    }

    @Test func wssWhenTLSIsOn() async throws {
        let server = try await RunningServer.start { $0.tls = .selfSigned }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var logger = Logger(label: "wss-client")
        logger.logLevel = .critical
        let received = Mutex<String?>(nil)
        try await WebSocketClient.connect(url: "wss://localhost:\(server.port)", tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"message":"connection","data":[{"appKey":"roomApp","custom":{"login":"secure"}}]}"#))
            for try await message in inbound.messages(maxSize: 1 << 16) {
                if case .text(let text) = message, text.contains("getUserData") {
                    received.withLock { $0 = text }
                    break
                }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        let text = try #require(received.withLock { $0 })
        #expect(WCSJSON.parse(text)?["data"]?.array?.first?["status"] == "ESTABLISHED")
        try await server.stop()
    }

    @Test func twoParticipantRoomWithMedia() async throws {
        let server = try await RunningServer.start()
        let alice = WCSClient(server, label: "alice"), bob = WCSClient(server, label: "bob")
        try await alice.connect(login: "alice")
        #expect(try await alice.join("test-room") == [])
        try await bob.connect(login: "bob")
        #expect(try await bob.join("test-room") == ["alice"])
        #expect(try await alice.expectRoomEvent("JOINED") == "bob")

        let name = "test-room-alice-e788"
        let pub = try await publish(alice, name: name, room: "test-room")
        #expect(try await bob.expectRoomEvent("PUBLISHED") == ["login": "alice", "name": .string(name)])
        let play = try await play(bob, name: name, room: "test-room")
        #expect(server.server.media.stats.snapshot.peerConnections == 2)

        alice.send("sendStreamEvent", ["mediaSessionId": .string(pub.id), "type": "audioMuted"])
        let muted = try await bob.expect("notifyStreamEvent")
        #expect(muted["mediaSessionId"]?.string == play.id && muted["type"] == "audioMuted")

        _ = try await bob.command("sendMessage", ["roomConfig": ["name": "test-room"], "to": "alice", "text": "hello from bob"])
        #expect(try await alice.expectRoomEvent("MESSAGE") == ["from": "bob", "text": "hello from bob"])
        _ = try await alice.command("sendMessage", ["roomConfig": ["name": "test-room"], "to": "bob", "text": "hello from alice"])
        #expect(try await bob.expectRoomEvent("MESSAGE") == ["from": "alice", "text": "hello from alice"])

        // alice stops: UNPUBLISHED to her, the room event and STOPPED (the media plane ends the play) to bob.
        alice.send("unPublishStream", ["mediaSessionId": .string(pub.id), "name": .string(name), "published": true,
                                       "status": "PUBLISHING"])
        try await alice.expectStatus("UNPUBLISHED", id: pub.id)
        #expect(try await bob.expectRoomEvent("UNPUBLISHED") == ["login": "alice", "name": .string(name)])
        try await bob.expectStatus("STOPPED", id: play.id)
        try await waitUntil("transports to close") { server.server.media.stats.snapshot.peerConnections == 0 }

        #expect(try await bob.command("leave", ["name": "test-room"])["status"] == "ACCEPTED")
        #expect(try await alice.expectRoomEvent("LEFT") == "bob")
        alice.close()
        bob.close()
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    /// Three WCS participants and one with Parley's own protocol, all in one room; then the publisher's socket drops
    /// mid-publish.
    @Test func threeParticipantsAndAParleyClientThenTheSocketDrops() async throws {
        let server = try await RunningServer.start()
        let alice = WCSClient(server, label: "alice"), bob = WCSClient(server, label: "bob"), carol = WCSClient(server, label: "carol")
        try await alice.connect(login: "alice")
        _ = try await alice.join("trio")
        try await bob.connect(login: "bob")
        _ = try await bob.join("trio")
        try await alice.expectRoomEvent("JOINED")
        let pub = try await publish(alice, name: "trio-alice-1a2b", room: "trio")
        try await bob.expectRoomEvent("PUBLISHED")
        try await carol.connect(login: "carol")
        #expect(try await carol.join("trio") == [["login": "alice", "name": "trio-alice-1a2b"], "bob"])
        for client in [alice, bob] { #expect(try await client.expectRoomEvent("JOINED") == "carol") }

        let dave = try await TestClient.connected(server, as: "dave")
        let state = result(try await dave.request("join", ["room": "trio"]))
        let others = try #require((state["room"] as? [String: Any])?["participants"] as? [[String: Any]])
        #expect(others.compactMap { $0["name"] as? String } == ["alice", "bob", "carol"])
        let stream = try #require((others[0]["streams"] as? [[String: Any]])?.first)
        #expect(stream["name"] as? String == "trio-alice-1a2b" && stream["display"] as? String == "trio-alice-1a2b")
        for client in [alice, bob, carol] { #expect(try await client.expectRoomEvent("JOINED") == "dave") }

        let bobPlay = try await play(bob, name: "trio-alice-1a2b", room: "trio")
        let carolPlay = try await play(carol, name: "trio-alice-1a2b", room: "trio")
        let davePeer = try WCSMediaPeer()
        let davePlay = try await dave.request("play", ["room": "trio", "stream": try #require(stream["id"] as? String),
                                                        "sdp": davePeer.offer(publish: false)])
        let daveStream = try #require(result(davePlay)["stream"] as? String)
        #expect(try await davePeer.connect(answer: try #require(result(davePlay)["sdp"] as? String)))
        #expect(try await dave.nextEvent("stream")["status"] as? String == "connected")

        // Chat from Parley's side reaches every WCS client from the right sender.
        _ = try await dave.request("message", ["room": "trio", "text": "hi all"])
        for client in [alice, bob, carol] {
            #expect(try await client.expectRoomEvent("MESSAGE") == ["from": "dave", "text": "hi all"])
        }
        // ... and a WCS message to dave arrives from carol.
        _ = try await carol.command("sendMessage", ["roomConfig": ["name": "trio"], "to": "dave", "text": "hi dave"])
        let message = try await dave.nextEvent("message")
        #expect(message["from"] as? String == "carol" && message["text"] as? String == "hi dave")
        #expect(server.server.media.stats.snapshot.peerConnections == 4)

        // alice's socket drops while she publishes: the others hear UNPUBLISHED then LEFT, every play ends.
        alice.close()
        for (client, play) in [(bob, bobPlay), (carol, carolPlay)] {
            #expect(try await client.expectRoomEvent("UNPUBLISHED") == ["login": "alice", "name": "trio-alice-1a2b"])
            #expect(try await client.expectRoomEvent("LEFT") == "alice")
            try await client.expectStatus("STOPPED", id: play.id)
        }
        #expect(try await dave.nextEvent("unpublished")["reason"] as? String == "disconnected")
        #expect(try await dave.nextEvent("left")["reason"] as? String == "disconnected")
        let closed = try await dave.nextEvent("stream")
        #expect(closed["stream"] as? String == daveStream && closed["reason"] as? String == "unpublished")
        try await waitUntil("transports to close") { server.server.media.stats.snapshot.peerConnections == 0 }
        _ = pub
        for client in [bob, carol] { client.close() }
        dave.close()
        try await server.waitForStats(rooms: 0, participants: 0)
        try await server.stop()
    }

    @Test func socketDropBeforeThePublishConnects() async throws {
        let server = try await RunningServer.start()
        let alice = WCSClient(server, label: "alice"), bob = WCSClient(server, label: "bob")
        try await alice.connect(login: "alice")
        _ = try await alice.join("r")
        try await bob.connect(login: "bob")
        _ = try await bob.join("r")
        try await alice.expectRoomEvent("JOINED")
        _ = try await alice.stream("publishStream", name: "r-alice-0001", room: "r", sdp: try WCSMediaPeer().offer(publish: true))
        #expect(server.server.media.stats.snapshot.peerConnections == 1)
        alice.close()
        #expect(try await bob.expectRoomEvent("LEFT") == "alice")
        try await waitUntil("the transport to close") { server.server.media.stats.snapshot.peerConnections == 0 }
        #expect(await server.server.hub.namedStream("r-alice-0001") == nil)
        bob.close()
        try await server.stop()
    }

    @Test func plainStreamingByName() async throws {
        let server = try await RunningServer.start()
        let streamer = WCSClient(server, label: "streamer"), viewer = WCSClient(server, label: "viewer")
        let rival = WCSClient(server, label: "rival")
        for client in [streamer, viewer, rival] { try await client.connect(appKey: "defaultApp") }
        let pub = try await publish(streamer, name: "stream1", room: nil)
        let play = try await play(viewer, name: "stream1", room: nil)
        rival.send("publishStream", ["mediaSessionId": "dup", "name": "stream1", "sdp": .string(try WCSMediaPeer().offer(publish: true)),
                                     "mediaProvider": "WebRTC"])
        #expect(try await rival.expectStatus("FAILED", id: "dup")["info"]?.string == "Stream name is already in use")
        rival.send("playStream", ["mediaSessionId": "ghost", "name": "nobody", "sdp": .string(try WCSMediaPeer().offer(publish: false))])
        #expect(try await rival.expectStatus("FAILED", id: "ghost")["info"]?.string == "Stream not found")
        streamer.send("unPublishStream", ["mediaSessionId": .string(pub.id), "name": "stream1", "published": true])
        try await streamer.expectStatus("UNPUBLISHED", id: pub.id)
        try await viewer.expectStatus("STOPPED", id: play.id)
        for client in [streamer, viewer, rival] { client.close() }
        try await waitUntil("transports to close") { server.server.media.stats.snapshot.peerConnections == 0 }
        try await server.stop()
    }

    @Test func badInputIsAnsweredAndOthersCarryOn() async throws {
        let server = try await RunningServer.start()
        let bystander = WCSClient(server, label: "bystander")
        try await bystander.connect(login: "bystander")
        _ = try await bystander.join("calm")
        let client = WCSClient(server, label: "bad")
        // A publish before `connection`.
        client.send("publishStream", ["mediaSessionId": "early", "name": "x", "sdp": "v=0"])
        #expect(try await client.expectStatus("FAILED", id: "early")["info"]?.string?.contains("connection") == true)
        // Not JSON, no data, data of the wrong shape.
        for text in ["{oops", #"{"message":"connection"}"#, #"{"message":"playStream","data":"x"}"#] {
            client.socket.sendRaw(text)
            #expect(try await client.expect("fail")["status"] == "FAILED")
        }
        try await client.connect(login: "bad")
        _ = try await client.join("calm")
        try await bystander.expectRoomEvent("JOINED")
        // An SDP that cannot be answered, and an unknown mediaSessionId.
        client.send("publishStream", ["mediaSessionId": "m1", "name": "calm-bad-1", "sdp": "v=0\r\nm=audio 9 RTP/AVP 0\r\n",
                                      "custom": ["name": "calm"], "mediaProvider": "WebRTC"])
        #expect(try await client.expectStatus("FAILED", id: "m1")["info"]?.string?.contains("SDP") == true)
        client.send("stopStream", ["mediaSessionId": "m404", "name": "x"])
        #expect(try await client.expectStatus("FAILED", id: "m404")["info"]?.string?.contains("No stream") == true)
        client.send("call", ["callId": "call-1", "callee": "100"])
        #expect(try await client.expect("finish")["status"] == "FAILED")
        #expect(try await client.expect("fail")["info"]?.string?.contains("SIP") == true)
        #expect(server.server.media.stats.snapshot.peerConnections == 0)
        // The bystander carries on, and so does this session.
        _ = try await bystander.command("sendMessage", ["roomConfig": ["name": "calm"], "to": "bad", "text": "still here?"])
        #expect(try await client.expectRoomEvent("MESSAGE") == ["from": "bystander", "text": "still here?"])
        // A binary frame closes this socket with 1003; its session leaves the room.
        do {
            let raw = try RawSocket(port: server.port)
            try await raw.upgrade(path: "/")
            raw.sendText(#"{"message":"connection","data":[{"appKey":"roomApp","custom":{"login":"raw"}}]}"#)
            try await waitUntil("the raw socket's session") { await server.server.hub.stats.sessions == 3 }
            raw.write([0x82, 0x81, 1, 2, 3, 4, 0x01 ^ 1])  // a masked binary frame
            try await waitUntil("the raw socket's session to end") { await server.server.hub.stats.sessions == 2 }
            let reply = String(decoding: try await offPool { raw.read() }, as: UTF8.self)
            #expect(reply.contains("getUserData"))
        }
        client.close()
        bystander.close()
        try await server.stop()
    }

    @Test func pingsKeepAnsweringClientsAndDropSilentOnes() async throws {
        // A 1 s period: short for a test. The lively client answers each ping as it arrives (as the SDK does), not
        // when the test reads it, so the test's own pauses (connecting `silent`) cannot time it out. What remains
        // is the process itself not running for a period: under a sanitizer, the suite's CPU-bound tests can hold
        // every task (the server's reader, the client's) back for a minute. A run during which the pool was held
        // back for half a period or more gives no verdict, and the scenario runs again once the pool is responsive.
        for attempt in 1...5 {
            await waitForAResponsivePool()
            let (result, delay) = await watchingThePool { try await pingScenario() }
            if case .success(let seen) = result, seen.isAsExpected { return }
            if delay >= .milliseconds(500), attempt < 5 {
                print("pingsKeepAnsweringClientsAndDropSilentOnes: attempt \(attempt) gives no verdict, the pool was \(delay) late")
                continue
            }
            let seen = try result.get()
            #expect(seen.silentLeft == "silent")
            #expect(seen.silentCode == 1001)
            #expect(seen.stillIn == ["lively"], "the lively client was dropped (the pool was at worst \(delay) late)")
            return
        }
    }

    struct PingOutcome {
        /// Who left, as the lively client heard it, and the code that closed `silent`'s socket.
        var silentLeft: String?
        var silentCode: Int?
        /// The room once the lively client had answered three more pings.
        var stillIn: [String] = []

        var isAsExpected: Bool { silentLeft == "silent" && silentCode == 1001 && stillIn == ["lively"] }
    }

    /// Two clients in a room with a 1 s ping period: `silent` never answers the application's ping, `lively` does.
    func pingScenario() async throws -> PingOutcome {
        let server = try await RunningServer.start { $0.pingInterval = .seconds(1) }
        do {
            var seen = PingOutcome()
            let lively = WCSClient(server, label: "lively")
            try await lively.connect(login: "lively")
            _ = try await lively.join("beat")
            // This one answers WebSocket pings (its library does) but never the application's `ping`.
            let silent = WCSClient(server, label: "silent", answerPings: false)
            try await silent.connect(login: "silent")
            _ = try await silent.join("beat")
            try await lively.expectRoomEvent("JOINED")
            seen.silentLeft = try await lively.expectRoomEvent("LEFT").string
            while seen.silentCode == nil {
                if case .closed(let code) = try await silent.socket.next() { seen.silentCode = code }
            }
            // The lively one is still in after three more pings, each answered: the server judged it at each.
            let answered = lively.pongs
            try await waitUntil("three more pings answered by lively") { lively.pongs >= answered + 3 }
            seen.stillIn = await server.server.hub.participants(in: "beat").map(\.name)
            lively.close()
            try await server.stop()
            return seen
        } catch {
            try? await server.stop()
            throw error
        }
    }
}

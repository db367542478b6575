import Foundation
import Testing
@testable import Rooms
@testable import Signaling

/// The Web Call Server adapter over a real hub and a fake media plane: the room app, plain streaming, refusals,
/// and the mix with Parley's own protocol. Frames are written from the protocol facts (WCS-PROTOCOL.md), not from
/// the WebSDK's code.
@Suite struct WCSSessionTests {
    func mediaID(_ socket: FakeWCSSocket, _ mediaSessionId: String) throws -> String {
        try #require(socket.session.streams.stream(mediaSessionId)?.mediaID)
    }

    @Test func connectionIsEstablishedAndPingsAreAnswered() async throws {
        let hub = SignalingHub()
        let socket = FakeWCSSocket(hub: hub)
        let data = try await socket.connect(login: "test")
        #expect(data["authToken"]?.string?.isEmpty == false)
        #expect(data["appKey"]?.string == "roomApp")
        #expect(data["mediaProviders"] == ["WebRTC"])
        #expect(data["custom"]?["login"]?.string == "test")
        #expect(await hub.stats.sessions == 1)
        // The client's own keep-alive ping ({"data":[null]}) gets a pong; its pong to ours gets nothing.
        await socket.sendRaw(#"{"message":"ping","data":[null]}"#)
        try await socket.expect("pong")
        await socket.sendRaw(#"{"message":"pong","data":[null]}"#)
        #expect(await socket.nothingPending())
        // A second connection on the same socket is refused, the first stays.
        await socket.send("connection", ["appKey": "roomApp", "custom": ["login": "other"]])
        #expect(try await socket.expect("fail")["info"]?.string?.contains("already connected") == true)
        await socket.session.socketClosed()
        #expect(await hub.stats.sessions == 0)
    }

    @Test func keepAlivePingsAndTimesOutASilentClient() {
        let keepAlive = WCSKeepAlive()
        keepAlive.heard(at: 0)
        #expect(keepAlive.tick(at: 5) == .ping)
        keepAlive.heard(at: 5.1)  // the pong
        #expect(keepAlive.tick(at: 10) == .ping)
        #expect(!keepAlive.hasTimedOut)
        #expect(keepAlive.tick(at: 15) == .timeout)  // nothing since the ping at 10
        #expect(keepAlive.hasTimedOut)
    }

    @Test func twoParticipantRoomScenario() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let bob = FakeWCSSocket(hub: hub, media: media, label: "bob")
        try await alice.connect(login: "alice")
        #expect(try await alice.join("test-room") == [])
        try await bob.connect(login: "bob")
        // STATE lists the others, never the joiner.
        #expect(try await bob.join("test-room") == ["alice"])
        #expect(try await alice.expectRoomEvent("JOINED", room: "test-room") == "bob")

        // Publish: the answer comes positionally, PUBLISHING once media is up, and bob hears PUBLISHED.
        let name = "test-room-alice-e788"
        let pub = try await alice.publish(name, room: "test-room")
        #expect(await bob.nothingPending())  // not announced before its transport is up
        media.fire(try mediaID(alice, pub), .connected)
        let publishing = try await alice.expectStatus("PUBLISHING", id: pub)
        #expect(publishing["name"]?.string == name)
        #expect(publishing["audioState"]?["muted"] == false)
        #expect(try await bob.expectRoomEvent("PUBLISHED", room: "test-room") == ["login": "alice", "name": .string(name)])

        // Play by name.
        let play = try await bob.play(name, room: "test-room")
        media.fire(try mediaID(bob, play), .connected)
        #expect(try await bob.expectStatus("PLAYING", id: play)["name"]?.string == name)

        // Mute and unmute reach the player as stream events.
        await alice.send("sendStreamEvent", ["mediaSessionId": .string(pub), "type": "audioMuted"])
        var event = try await bob.expect("notifyStreamEvent")
        #expect(event["mediaSessionId"]?.string == play && event["type"] == "audioMuted")
        await alice.send("sendStreamEvent", ["mediaSessionId": .string(pub), "type": "videoMuted"])
        #expect(try await bob.expect("notifyStreamEvent")["type"] == "videoMuted")
        await alice.send("sendStreamEvent", ["mediaSessionId": .string(pub), "type": "audioUnmuted"])
        event = try await bob.expect("notifyStreamEvent")
        #expect(event["type"] == "audioUnmuted")
        #expect(await hub.participants(in: "test-room").first?.streams.first?.videoMuted == true)

        // Chat, once per recipient as the SDK sends it, both ways.
        let sent = try await bob.command("sendMessage", ["roomConfig": ["name": "test-room"], "to": "alice", "text": "hello from bob"])
        #expect(sent["status"] == "ACCEPTED")
        #expect(try await alice.expectRoomEvent("MESSAGE") == ["from": "bob", "text": "hello from bob"])
        _ = try await alice.command("sendMessage", ["roomConfig": ["name": "test-room"], "to": "bob", "text": "hi bob"])
        #expect(try await bob.expectRoomEvent("MESSAGE") == ["from": "alice", "text": "hi bob"])

        // Stop: UNPUBLISHED to the publisher, the room event to bob, STOPPED to bob's play when the media ends.
        let published = try mediaID(alice, pub)
        await alice.send("unPublishStream", ["mediaSessionId": .string(pub), "name": .string(name), "published": true])
        try await alice.expectStatus("UNPUBLISHED", id: pub)
        #expect(try await bob.expectRoomEvent("UNPUBLISHED") == ["login": "alice", "name": .string(name)])
        #expect(media.stopped.contains(published))
        media.fire(try mediaID(bob, play), .closed(.unpublished))
        #expect(try await bob.expectStatus("STOPPED", id: play)["info"]?.string == "Stopped by publisher stop")
        // A late stop of the ended play gets the same answer again.
        await bob.send("stopStream", ["mediaSessionId": .string(play), "name": .string(name), "published": false])
        try await bob.expectStatus("STOPPED", id: play)

        // The name is free again.
        let again = try await alice.publish(name, room: "test-room")
        media.fire(try mediaID(alice, again), .connected)
        try await alice.expectStatus("PUBLISHING", id: again)
        try await bob.expectRoomEvent("PUBLISHED")

        // bob leaves: alice hears LEFT; bob's DataStatusEvent is ACCEPTED.
        #expect(try await bob.command("leave", ["name": "test-room"])["status"] == "ACCEPTED")
        #expect(try await alice.expectRoomEvent("LEFT", room: "test-room") == "bob")
        #expect(await hub.participants(in: "test-room").map(\.name) == ["alice"])

        // alice's socket closes: her stream ends, the room goes.
        let againID = try mediaID(alice, again)
        await alice.session.socketClosed()
        #expect(media.stopped.contains(againID))
        #expect(await hub.stats.rooms == 0)
        #expect(await hub.namedStream(name) == nil)
        await bob.session.socketClosed()
    }

    @Test func leaveEndsTheLeaversStreams() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let bob = FakeWCSSocket(hub: hub, media: media, label: "bob")
        try await alice.connect(login: "alice")
        _ = try await alice.join("r")
        try await bob.connect(login: "bob")
        _ = try await bob.join("r")
        try await alice.expectRoomEvent("JOINED")
        let pub = try await bob.publish("r-bob-1", room: "r")
        media.fire(try mediaID(bob, pub), .connected)
        try await bob.expectStatus("PUBLISHING")
        try await alice.expectRoomEvent("PUBLISHED")
        let play = try await bob.play("r-bob-1", room: "r")  // bob plays his own stream back
        media.fire(try mediaID(bob, play), .connected)
        try await bob.expectStatus("PLAYING")

        #expect(try await bob.command("leave", ["name": "r"])["status"] == "ACCEPTED")
        // The others: UNPUBLISHED, then LEFT. The leaver: UNPUBLISHED for its publish, STOPPED for its play.
        #expect(try await alice.expectRoomEvent("UNPUBLISHED") == ["login": "bob", "name": "r-bob-1"])
        #expect(try await alice.expectRoomEvent("LEFT") == "bob")
        var statuses: [String: String] = [:]
        for _ in 0..<2 {
            let s = try await bob.expect("notifyStreamStatusEvent")
            statuses[s["mediaSessionId"]?.string ?? ""] = s["status"]?.string
        }
        #expect(statuses == [pub: "UNPUBLISHED", play: "STOPPED"])
        #expect(media.stopped.count == 2)
        // The SDK then stops them itself (captured order): it gets the same answers, nothing fails.
        await bob.send("stopStream", ["mediaSessionId": .string(play), "name": "r-bob-1", "published": false])
        try await bob.expectStatus("STOPPED", id: play)
        await bob.send("unPublishStream", ["mediaSessionId": .string(pub), "name": "r-bob-1", "published": true])
        try await bob.expectStatus("UNPUBLISHED", id: pub)
        #expect(await hub.namedStream("r-bob-1") == nil)
    }

    @Test func threeParticipantsAcrossBothProtocols() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let bob = FakeWCSSocket(hub: hub, media: media, label: "bob")
        let carol = FakeSocket(hub: hub, media: media)  // Parley's own protocol
        try await alice.connect(login: "alice")
        _ = try await alice.join("mix")
        _ = try await carol.request("connect", ["username": "carol"])
        _ = try await carol.request("join", ["room": "mix"])
        try await alice.expectRoomEvent("JOINED") // carol

        // carol publishes with Parley's protocol: the WCS side sees PUBLISHED under a made-up name.
        let carolStream = try #require((try await carol.request("publish", ["room": "mix", "sdp": "offer", "display": "camera"])["result"]
            as? [String: Any])?["stream"] as? String)
        media.fire(carolStream, .connected)
        _ = try await carol.next()  // stream connected
        let carolName = "mix-carol-\(carolStream)"
        #expect(try await alice.expectRoomEvent("PUBLISHED") == ["login": "carol", "name": .string(carolName)])

        // bob joins late: STATE lists alice (no stream) and carol's stream, not bob.
        try await bob.connect(login: "bob")
        #expect(try await bob.join("mix") == ["alice", ["login": "carol", "name": .string(carolName)]])
        try await alice.expectRoomEvent("JOINED")
        #expect((try await carol.next())["event"] as? String == "joined")

        // bob plays carol's stream by that name.
        let bobPlay = try await bob.play(carolName, room: "mix")
        media.fire(try mediaID(bob, bobPlay), .connected)
        try await bob.expectStatus("PLAYING")
        // carol mutes (Parley's `mute`): bob's play hears it.
        _ = try await carol.request("mute", ["stream": carolStream, "videoMuted": true])
        #expect(try await bob.expect("notifyStreamEvent")["type"] == "videoMuted")

        // alice publishes with WCS: carol sees `published` with its name and label, and plays it by id.
        let pub = try await alice.publish("mix-alice-9f0e", room: "mix")
        let aliceStream = try mediaID(alice, pub)
        media.fire(aliceStream, .connected)
        try await alice.expectStatus("PUBLISHING")
        try await bob.expectRoomEvent("PUBLISHED")
        let published = try await carol.next()
        #expect(published["event"] as? String == "published")
        let info = try #require(published["stream"] as? [String: Any])
        #expect(info["id"] as? String == aliceStream)
        #expect(info["name"] as? String == "mix-alice-9f0e" && info["display"] as? String == "mix-alice-9f0e")
        let carolPlay = try await carol.request("play", ["room": "mix", "stream": aliceStream, "sdp": "o"])
        #expect(carolPlay["ok"] as? Bool == true)
        // WCS mute reaches carol as `updated`.
        await alice.send("sendStreamEvent", ["mediaSessionId": .string(pub), "type": "audioMuted"])
        let updated = try await carol.next()
        #expect(updated["event"] as? String == "updated")
        #expect((updated["stream"] as? [String: Any])?["audioMuted"] as? Bool == true)

        // Chat: carol to the room reaches both WCS clients; a WCS message to carol arrives from alice.
        _ = try await carol.request("message", ["room": "mix", "text": "hello all"])
        #expect(try await alice.expectRoomEvent("MESSAGE") == ["from": "carol", "text": "hello all"])
        #expect(try await bob.expectRoomEvent("MESSAGE") == ["from": "carol", "text": "hello all"])
        _ = try await alice.command("sendMessage", ["roomConfig": ["name": "mix"], "to": "carol", "text": "hi carol"])
        let message = try await carol.next()
        #expect(message["event"] as? String == "message" && message["from"] as? String == "alice")
        #expect(message["text"] as? String == "hi carol")

        // carol's socket closes: the WCS side hears UNPUBLISHED for her stream, then LEFT.
        await carol.session.socketClosed()
        for socket in [alice, bob] {
            #expect(try await socket.expectRoomEvent("UNPUBLISHED") == ["login": "carol", "name": .string(carolName)])
            #expect(try await socket.expectRoomEvent("LEFT") == "carol")
        }
        media.fire(try mediaID(bob, bobPlay), .closed(.unpublished))
        try await bob.expectStatus("STOPPED", id: bobPlay)
        await alice.session.socketClosed()
        try await bob.expectRoomEvent("UNPUBLISHED")
        try await bob.expectRoomEvent("LEFT")
        await bob.session.socketClosed()
        #expect(await hub.stats == SignalingHub.Stats(sessions: 0, rooms: 0, participants: 0))
    }

    @Test func screenSharesAreScreenSharesOnBothSides() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let carol = FakeSocket(hub: hub, media: media)
        try await alice.connect(login: "alice")
        _ = try await alice.join("mix")
        _ = try await carol.request("connect", ["username": "carol"])
        _ = try await carol.request("join", ["room": "mix"])
        try await alice.expectRoomEvent("JOINED")

        // Parley → WCS: a `screen` stream gets a name WCS apps recognise as a screen share, and plays by it.
        let screen = try #require((try await carol.request("publish", ["room": "mix", "sdp": "offer", "display": "screen"])["result"]
            as? [String: Any])?["stream"] as? String)
        media.fire(screen, .connected)
        _ = try await carol.next()
        let name = "mix-carol-\(screen)-screenShare"
        #expect(try await alice.expectRoomEvent("PUBLISHED") == ["login": "carol", "name": .string(name)])
        let play = try await alice.play(name, room: "mix")
        media.fire(try mediaID(alice, play), .connected)
        try await alice.expectStatus("PLAYING")

        // WCS → Parley: the demos' `…-screenShare` stream reaches Parley's apps as `display: "screen"`.
        let pub = try await alice.publish("mix-alice-4458-screenShare", room: "mix")
        media.fire(try mediaID(alice, pub), .connected)
        try await alice.expectStatus("PUBLISHING")
        let published = try await carol.next()
        #expect(published["event"] as? String == "published")
        #expect((published["stream"] as? [String: Any])?["display"] as? String == "screen")
        #expect((published["stream"] as? [String: Any])?["name"] as? String == "mix-alice-4458-screenShare")
    }

    @Test func statusInfoUsesTheSDKsConstants() {
        #expect(WCSStatusInfo.describe(reason: .unpublished) == "Stopped by publisher stop")
        #expect(WCSStatusInfo.describe(reason: .consentExpired) == "Failed by ICE keep alive")
        #expect(WCSStatusInfo.describe(reason: .fingerprintMismatch) == "Failed by DTLS fingerprint error")
        #expect(WCSStatusInfo.describe(reason: .dtlsFailed(detail: "alert")) == "Failed by DTLS error")
        #expect(WCSStatusInfo.describe(MediaServiceError(code: "no_common_codec", message: "no common codec: H265")) == "No common codecs")
        #expect(WCSStatusInfo.describe(MediaServiceError(code: "bad_sdp", message: "the offer has no media")) == "the offer has no media")
    }

    @Test func joinRefusalsCarryAReason() async throws {
        let hub = SignalingHub(limits: .init(maxParticipants: 2))
        let a = FakeWCSSocket(hub: hub, label: "a"), b = FakeWCSSocket(hub: hub, label: "b")
        let c = FakeWCSSocket(hub: hub, label: "c"), a2 = FakeWCSSocket(hub: hub, label: "a2")
        try await a.connect(login: "a")
        try await b.connect(login: "b")
        try await c.connect(login: "c")
        try await a2.connect(login: "a")
        _ = try await a.join("small")
        // DataStatusEvent status is only ever ACCEPTED or FAILED, with the reason in `info`.
        var status = try await a2.command("join", ["name": "small"])
        #expect(status["status"] == "FAILED")
        #expect(status["info"]?.string?.contains("already taken") == true)
        _ = try await b.join("small")
        try await a.expectRoomEvent("JOINED")
        status = try await c.command("join", ["name": "small"])
        #expect(status["status"] == "FAILED")
        #expect(status["info"]?.string?.hasPrefix("Current room is full") == true)
        #expect(try await c.command("join", ["name": "bad room!"])["info"]?.string?.contains("Room name") == true)
        #expect(try await c.command("join", [:])["status"] == "FAILED")
        #expect(try await c.command("leave", ["name": "small"])["info"]?.string?.contains("Not in room") == true)
        #expect(try await c.command("dance", ["name": "small"])["info"]?.string?.contains("Unknown room command") == true)
        #expect(try await a.command("sendMessage", ["roomConfig": ["name": "small"], "to": "zed", "text": "x"])["status"] == "FAILED")
        #expect(try await a.command("sendMessage", ["roomConfig": ["name": "small"], "to": "b", "text": ""])["status"] == "FAILED")
        // No login: the room app cannot name the participant.
        let anonymous = FakeWCSSocket(hub: hub, label: "anon")
        await anonymous.send("connection", ["appKey": "roomApp", "mediaProviders": ["WebRTC"]])
        try await anonymous.expect("getUserData")
        #expect(try await anonymous.command("join", ["name": "other"])["info"]?.string?.contains("login") == true)
        // Another app has no room commands.
        let plain = FakeWCSSocket(hub: hub, label: "plain")
        try await plain.connect(appKey: "defaultApp")
        #expect(try await plain.command("join", ["name": "other"])["info"]?.string?.contains("roomApp") == true)
    }

    @Test func plainStreamingByName() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let streamer = FakeWCSSocket(hub: hub, media: media, label: "streamer")
        let viewer = FakeWCSSocket(hub: hub, media: media, label: "viewer")
        let rival = FakeWCSSocket(hub: hub, media: media, label: "rival")
        for socket in [streamer, viewer, rival] { try await socket.connect(appKey: "defaultApp") }

        let pub = try await streamer.publish("stream1", room: nil)
        // Not playable before its transport is up.
        await viewer.send("playStream", ["mediaSessionId": "early", "name": "stream1", "sdp": "offer", "mediaProvider": "WebRTC"])
        #expect(try await viewer.expectStatus("FAILED", id: "early")["info"]?.string == "Stream not found")
        media.fire(try mediaID(streamer, pub), .connected)
        try await streamer.expectStatus("PUBLISHING", id: pub)

        await viewer.send("availableStream", ["mediaSessionId": "check", "name": "stream1"])
        let available = try await viewer.expect("availableStream")
        #expect(available["id"] == "check" && available["status"] == "true")
        await viewer.send("availableStream", ["mediaSessionId": "check2", "name": "nope"])
        #expect(try await viewer.expect("availableStream")["status"] == "false")

        let play = try await viewer.play("stream1", room: nil)
        media.fire(try mediaID(viewer, play), .connected)
        try await viewer.expectStatus("PLAYING", id: play)
        // The same name cannot be published twice.
        await rival.send("publishStream", ["mediaSessionId": "dup", "name": "stream1", "sdp": "offer", "mediaProvider": "WebRTC"])
        #expect(try await rival.expectStatus("FAILED", id: "dup")["info"]?.string == "Stream name is already in use")
        await rival.send("playStream", ["mediaSessionId": "p", "name": "nope", "sdp": "offer"])
        #expect(try await rival.expectStatus("FAILED", id: "p")["info"]?.string == "Stream not found")

        // Unpublish frees the name; the play ends when the media plane closes it.
        await streamer.send("unPublishStream", ["mediaSessionId": .string(pub), "name": "stream1"])
        try await streamer.expectStatus("UNPUBLISHED", id: pub)
        media.fire(try mediaID(viewer, play), .closed(.unpublished))
        try await viewer.expectStatus("STOPPED", id: play)
        let taken = try await rival.publish("stream1", room: nil)
        media.fire(try mediaID(rival, taken), .connected)
        try await rival.expectStatus("PUBLISHING")
        // A publisher whose browser closes the connection gets UNPUBLISHED.
        media.fire(try mediaID(rival, taken), .closed(.peerClosed))
        try await rival.expectStatus("UNPUBLISHED", id: taken)
        #expect(await hub.namedStream("stream1") == nil)
    }

    @Test func badInputGetsAnAnswerAndTheSessionCarriesOn() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let socket = FakeWCSSocket(hub: hub, media: media)
        // Before `connection`: refused where the client will see it.
        await socket.send("publishStream", ["mediaSessionId": "m0", "name": "x", "sdp": "offer"])
        #expect(try await socket.expectStatus("FAILED", id: "m0")["info"]?.string?.contains("connection") == true)
        await socket.send("sendData", ["operationId": "op0", "payload": ["command": "join", "options": ["name": "r"]]])
        let early = try await socket.expect("DataStatusEvent")
        #expect(early["status"] == "FAILED" && early["operationId"] == "op0")

        for bad in ["not json", "[1,2]", #"{"data":[{}]}"#, #"{"message":"publishStream"}"#,
                    #"{"message":"publishStream","data":{}}"#, #"{"message":"publishStream","data":["x"]}"#] {
            await socket.sendRaw(bad)
            #expect(try await socket.expect("fail")["status"] == "FAILED", "\(bad)")
        }
        try await socket.connect(login: "test")
        _ = try await socket.join("r")
        // Wrong types name the field; a known mediaSessionId gets the stream's FAILED.
        await socket.sendRaw(#"{"message":"publishStream","data":[{"mediaSessionId":"m1","name":7,"sdp":"offer"}]}"#)
        #expect(try await socket.expectStatus("FAILED", id: "m1")["info"]?.string?.contains("'name'") == true)
        await socket.send("publishStream", ["mediaSessionId": "m2", "name": "r-test-1", "custom": ["name": "r"]])
        #expect(try await socket.expectStatus("FAILED", id: "m2")["info"]?.string?.contains("SDP") == true)
        await socket.send("publishStream", ["mediaSessionId": "m3", "name": "r-test-1", "sdp": "bad", "custom": ["name": "r"]])
        #expect(try await socket.expectStatus("FAILED", id: "m3")["info"]?.string == "unreadable")
        await socket.send("publishStream", ["mediaSessionId": "m4", "name": "r-test-1", "sdp": "offer",
                                            "mediaProvider": "Flash", "custom": ["name": "r"]])
        #expect(try await socket.expectStatus("FAILED", id: "m4")["info"]?.string?.contains("WebRTC only") == true)
        await socket.send("publishStream", ["mediaSessionId": "m5", "name": "elsewhere-test-1", "sdp": "offer",
                                            "custom": ["name": "elsewhere"]])
        #expect(try await socket.expectStatus("FAILED", id: "m5")["info"]?.string?.contains("Not in room") == true)
        await socket.send("publishStream", ["mediaSessionId": "m6", "name": "r-test-1", "sdp": "offer"])
        #expect(try await socket.expectStatus("FAILED", id: "m6")["info"]?.string?.contains("custom.name") == true)
        await socket.send("unPublishStream", ["mediaSessionId": "nope", "name": "x"])
        #expect(try await socket.expectStatus("FAILED", id: "nope")["info"]?.string?.contains("No stream") == true)
        await socket.send("sendStreamEvent", ["mediaSessionId": "nope", "type": "audioMuted"])
        let failed = try await socket.expect("fail")
        #expect(failed["apiMethod"] == "StreamStatusEvent" && failed["id"] == "nope")
        await socket.send("sendData", ["operationId": "op1", "payload": "join"])
        #expect(try await socket.expect("DataStatusEvent")["status"] == "FAILED")
        // SIP and other unserved messages: a clear refusal, never silence.
        await socket.send("call", ["callId": "c1", "callee": "1000", "sdp": "offer"])
        let finish = try await socket.expect("finish")
        #expect(finish["callId"] == "c1" && finish["status"] == "FAILED")
        #expect(try await socket.expect("fail")["info"]?.string?.contains("SIP") == true)
        await socket.send("hangup", ["callId": "c1"])
        #expect(try await socket.expect("fail")["info"]?.string?.contains("SIP") == true)
        await socket.send("snapshot", ["mediaSessionId": "x", "name": "y"])
        #expect(try await socket.expect("fail")["info"]?.string?.contains("'snapshot' is not supported") == true)
        await socket.send("pushLogs", ["logs": "..."])
        #expect(await socket.nothingPending())
        #expect(media.stopped.isEmpty)

        // A refused publish released its name: the same name works now.
        let pub = try await socket.publish("r-test-1", room: "r")
        // A duplicate mediaSessionId only warns: the existing stream goes on.
        await socket.send("publishStream", ["mediaSessionId": .string(pub), "name": "r-test-2", "sdp": "offer", "custom": ["name": "r"]])
        #expect(try await socket.expect("fail")["info"]?.string?.contains("already in use") == true)
        #expect(socket.session.streams.stream(pub) != nil)

        // Binary frames close the socket with a reason.
        socket.session.receiveBinary()
        let close = try await socket.closeFrame()
        #expect(close?.0 == 1003)
    }

    @Test func socketDropMidPublish() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let bob = FakeWCSSocket(hub: hub, media: media, label: "bob")
        try await alice.connect(login: "alice")
        _ = try await alice.join("r")
        try await bob.connect(login: "bob")
        _ = try await bob.join("r")
        try await alice.expectRoomEvent("JOINED")

        // Dropped while its transport is still connecting: never announced, the others only hear LEFT.
        let pending = try await alice.publish("r-alice-1", room: "r")
        let pendingID = try mediaID(alice, pending)
        await alice.session.socketClosed()
        #expect(try await bob.expectRoomEvent("LEFT") == "alice")
        #expect(media.stopped == [pendingID])
        #expect(await hub.namedStream("r-alice-1") == nil)

        // Dropped while publishing and played: UNPUBLISHED then LEFT; the play ends.
        let carol = FakeWCSSocket(hub: hub, media: media, label: "carol")
        try await carol.connect(login: "carol")
        _ = try await carol.join("r")
        try await bob.expectRoomEvent("JOINED")
        let pub = try await carol.publish("r-carol-1", room: "r")
        let carolStream = try mediaID(carol, pub)
        media.fire(carolStream, .connected)
        try await bob.expectRoomEvent("PUBLISHED")
        let play = try await bob.play("r-carol-1", room: "r")
        media.fire(try mediaID(bob, play), .connected)
        try await bob.expectStatus("PLAYING")
        await carol.session.socketClosed()
        #expect(try await bob.expectRoomEvent("UNPUBLISHED") == ["login": "carol", "name": "r-carol-1"])
        #expect(try await bob.expectRoomEvent("LEFT") == "carol")
        #expect(media.stopped.contains(carolStream))
        media.fire(try mediaID(bob, play), .closed(.unpublished))
        try await bob.expectStatus("STOPPED", id: play)
        // Anything after the close is ignored.
        #expect(await carol.session.receive(text: #"{"message":"ping","data":[null]}"#) == false)
    }

    @Test func aPublishThatFailsIsWithdrawn() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, label: "alice")
        let bob = FakeWCSSocket(hub: hub, media: media, label: "bob")
        try await alice.connect(login: "alice")
        _ = try await alice.join("r")
        try await bob.connect(login: "bob")
        _ = try await bob.join("r")
        try await alice.expectRoomEvent("JOINED")
        let pub = try await alice.publish("r-alice-1", room: "r")
        media.fire(try mediaID(alice, pub), .connected)
        try await alice.expectStatus("PUBLISHING")
        try await bob.expectRoomEvent("PUBLISHED")
        media.fire(try mediaID(alice, pub), .failed(.fingerprintMismatch))
        #expect(try await alice.expectStatus("FAILED", id: pub)["info"]?.string?.contains("fingerprint") == true)
        try await bob.expectRoomEvent("UNPUBLISHED")
        #expect(await hub.participants(in: "r").allSatisfy { $0.streams.isEmpty })
    }

    @Test func floodingIsRefusedThenClosed() async throws {
        let hub = SignalingHub()
        let socket = FakeWCSSocket(hub: hub, limiter: RateLimiter(perSecond: 3, closeAfterRefused: 2))
        try await socket.connect(login: "x")
        _ = try await socket.join("r")
        await socket.send("sendData", ["operationId": "o3", "payload": ["command": "leave", "options": ["name": "r"]]])
        #expect(try await socket.expect("DataStatusEvent")["status"] == "ACCEPTED")
        await socket.send("sendData", ["operationId": "o4", "payload": ["command": "join", "options": ["name": "r"]]])
        let refused = try await socket.expect("DataStatusEvent")
        #expect(refused["status"] == "FAILED" && refused["info"]?.string?.contains("Too many requests") == true)
        await socket.send("publishStream", ["mediaSessionId": "m", "name": "n", "sdp": "o"])
        try await socket.expectStatus("FAILED", id: "m")
        #expect(await socket.session.receive(text: #"{"message":"ping","data":[null]}"#) == false)
        #expect(try await socket.closeFrame()?.0 == 1008)
    }
}

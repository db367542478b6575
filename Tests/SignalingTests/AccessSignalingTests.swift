import Foundation
import Rooms
import Testing
@testable import Signaling

/// Token checks in Parley's protocol: a fake AccessControl stands for the JWT verifier (AccessTokensTests covers
/// that), keyed by the token string.
struct FakeAccess: AccessControl {
    var grants: [String: AccessGrant]
    func grant(token: String) async -> Result<AccessGrant, ProtocolError> {
        grants[token].map { .success($0) } ?? .failure(.unauthorized("The token's signature does not verify"))
    }
}

@Suite struct AccessSignalingTests {
    static let access = FakeAccess(grants: [
        "alice": AccessGrant(identity: "alice", room: "abc", canPublish: false, canRecord: false),
        "viewer": AccessGrant(identity: "viewer", canSubscribe: false, canPublishData: false),
        "nojoin": AccessGrant(identity: "nojoin", canJoin: false),
        "recorder": AccessGrant(identity: "rec", canRecord: true),
        "badname": AccessGrant(identity: String(repeating: "x", count: 65)),
    ])

    func connected(_ token: String, hub: SignalingHub = SignalingHub()) async throws -> FakeSocket {
        let socket = FakeSocket(hub: hub, access: Self.access)
        let reply = try await socket.request("connect", ["username": "mallory", "token": token])
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        return socket
    }

    func message(_ reply: [String: Any]) -> String? { (reply["error"] as? [String: Any])?["message"] as? String }

    @Test func connectNeedsAValidTokenAndASocketGetsOneTry() async throws {
        for fields: [String: Any] in [["username": "a"], ["username": "a", "token": ""], ["username": "a", "token": "forged"],
                                      ["token": "badname"]] {
            let socket = FakeSocket(hub: SignalingHub(), access: Self.access)
            let reply = try await socket.request("connect", fields)
            #expect(errorCode(reply) == "unauthorized", "\(fields)")
            guard case .close(let code, _)? = await socket.nextFrame() else {
                Issue.record("no close after \(fields)")
                continue
            }
            #expect(code == ParleySession.closeUnauthorized)
            #expect(await socket.session.receive(text: #"{"id": 9, "type": "ping"}"#) == false, "the socket is done")
        }
    }

    @Test func theTokensSubjectIsTheUsernameWhateverConnectAsked() async throws {
        let socket = FakeSocket(hub: SignalingHub(), access: Self.access)
        let reply = try await socket.request("connect", ["username": "mallory", "token": "alice"])
        #expect((reply["result"] as? [String: Any])?["username"] as? String == "alice")
        let noName = FakeSocket(hub: SignalingHub(), access: Self.access)
        #expect(try await noName.request("connect", ["token": "viewer"])["ok"] as? Bool == true, "no username needed")
        let open = FakeSocket(hub: SignalingHub())
        #expect(errorCode(try await open.request("connect", [:])) == "bad_request", "without tokens a username is")
    }

    @Test func joinIsLimitedToTheTokensRoomAndToRoomJoin() async throws {
        let alice = try await connected("alice")
        let other = try await alice.request("join", ["room": "elsewhere"])
        #expect(errorCode(other) == "forbidden" && message(other) == "The access token is for room 'abc' only")
        #expect(errorCode(try await alice.request("join", [:])) == "forbidden", "nor a room the server would name")
        #expect(try await alice.request("join", ["room": "abc"])["ok"] as? Bool == true)
        let nojoin = try await connected("nojoin")
        #expect(errorCode(try await nojoin.request("join", ["room": "abc"])) == "forbidden")
    }

    @Test func publishPlayChatAndRecordFollowTheGrant() async throws {
        let hub = SignalingHub()
        let alice = try await connected("alice", hub: hub)
        _ = try await alice.request("join", ["room": "abc"])
        let publish = try await alice.request("publish", ["room": "abc", "sdp": "v=0"])
        #expect(errorCode(publish) == "forbidden" && message(publish)?.contains("canPublish") == true)
        #expect(errorCode(try await alice.request("republish", ["room": "abc", "stream": "s", "url": "rtmp://h/a/b"])) == "forbidden")
        #expect(try await alice.request("message", ["room": "abc", "text": "hi"])["ok"] as? Bool == true)

        let viewer = try await connected("viewer", hub: hub)
        _ = try await viewer.request("join", ["room": "abc"])
        _ = try await alice.next()  // viewer joined
        #expect(errorCode(try await viewer.request("play", ["room": "abc", "stream": "s", "sdp": "v=0"])) == "forbidden")
        #expect(errorCode(try await viewer.request("message", ["room": "abc", "text": "hi"])) == "forbidden")
        // What the grant allows goes on to the next check: this hub has no media plane.
        #expect(errorCode(try await viewer.request("publish", ["room": "abc", "sdp": "v=0"])) == "media_unavailable")

        let recorder = try await connected("recorder", hub: hub)
        _ = try await recorder.request("join", ["room": "abc"])
        _ = try await viewer.next()  // recorder joined
        #expect(errorCode(try await viewer.request("publish", ["room": "abc", "sdp": "v=0", "record": true])) == "forbidden")
        #expect(errorCode(try await recorder.request("publish", ["room": "abc", "sdp": "v=0", "record": true])) == "media_unavailable")
    }
}

/// The same grants through the WCS adapter: the token rides in `connection`'s custom.token.
@Suite struct WCSAccessTests {
    @Test func aConnectionWithoutAValidTokenIsRefusedAndClosed() async throws {
        for token in [nil, "", "forged"] as [String?] {
            let socket = FakeWCSSocket(hub: SignalingHub(), access: AccessSignalingTests.access)
            var custom: [String: WCSJSON] = ["login": "mallory"]
            if let token { custom["token"] = .string(token) }
            await socket.send("connection", ["appKey": "roomApp", "mediaProviders": ["WebRTC"], "custom": .object(custom)])
            let fail = try await socket.expect("fail")
            #expect(fail["apiMethod"]?.string == "ConnectionStatusEvent" && fail["info"]?.string?.hasPrefix("unauthorized") == true)
            #expect(try await socket.closeFrame()?.0 == ParleySession.closeUnauthorized)
        }
    }

    @Test func theGrantDecidesLoginRoomsStreamsAndChat() async throws {
        let hub = SignalingHub(), media = FakeMedia()
        let alice = FakeWCSSocket(hub: hub, media: media, access: AccessSignalingTests.access, label: "alice")
        let data = try await alice.connect(login: "mallory", token: "alice")
        #expect(data["login"]?.string == "alice", "the token's subject is the login")
        #expect(try await alice.command("join", ["name": "elsewhere"])["status"]?.string == "FAILED")
        #expect(try await alice.join("abc") == [])
        let id = alice.newMediaSessionId()
        await alice.send("publishStream", ["mediaSessionId": .string(id), "name": "abc-alice", "published": true,
                                           "mediaProvider": "WebRTC", "sdp": "offer", "custom": ["name": "abc"]])
        #expect(try await alice.expectStatus("FAILED", id: id)["info"]?.string?.contains("canPublish") == true)

        let viewer = FakeWCSSocket(hub: hub, media: media, access: AccessSignalingTests.access, label: "viewer")
        try await viewer.connect(token: "viewer")
        #expect(try await viewer.join("abc") == ["alice"])
        _ = try await alice.expectRoomEvent("JOINED")
        #expect(try await viewer.command("sendMessage", ["roomConfig": ["name": "abc"], "to": "alice", "text": "hi"])["status"]?.string == "FAILED")
        // viewer may publish (in a room, or plain), but not play.
        let pub = try await viewer.publish("abc-viewer", room: "abc")
        media.fire(try #require(viewer.session.streams.stream(pub)?.mediaID), .connected)
        try await viewer.expectStatus("PUBLISHING", id: pub)
        let play = viewer.newMediaSessionId()
        await viewer.send("playStream", ["mediaSessionId": .string(play), "name": "abc-viewer", "published": false,
                                         "mediaProvider": "WebRTC", "sdp": "offer", "custom": ["name": "abc"]])
        #expect(try await viewer.expectStatus("FAILED", id: play)["info"]?.string?.contains("canSubscribe") == true)
    }
}


@Suite struct IceServerSignalingTests {
    struct FixedTURN: IceServerSource {
        func iceServers(for session: SessionID) -> [IceServer] {
            [IceServer(urls: ["turn:t.example:3478"], username: "9:\(session)", credential: "c")]
        }
    }

    @Test func connectAndJoinRepliesCarryTheSessionsTURNServers() async throws {
        let socket = FakeSocket(hub: SignalingHub(), iceServers: FixedTURN())
        let connected = try #require(try await socket.request("connect", ["username": "a"])["result"] as? [String: Any])
        let session = try #require(connected["sessionId"] as? String)
        let servers = try #require(connected["iceServers"] as? [[String: Any]])
        #expect(servers.count == 1 && servers[0]["username"] as? String == "9:\(session)")
        #expect(servers[0]["urls"] as? [String] == ["turn:t.example:3478"] && servers[0]["credential"] as? String == "c")
        let joined = try #require(try await socket.request("join", ["room": "r"])["result"] as? [String: Any])
        #expect((joined["iceServers"] as? [[String: Any]])?.count == 1)

        let plain = FakeSocket(hub: SignalingHub())
        let reply = try #require(try await plain.request("connect", ["username": "a"])["result"] as? [String: Any])
        #expect(reply["iceServers"] == nil, "no TURN: no field")
    }
}

@Suite struct WCSKickTests {
    @Test func aKickedWCSClientsSocketIsClosed() async throws {
        let hub = SignalingHub()
        let alice = FakeWCSSocket(hub: hub, label: "alice"), bob = FakeWCSSocket(hub: hub, label: "bob")
        try await alice.connect(login: "alice")
        _ = try await alice.join("r")
        try await bob.connect(login: "bob")
        _ = try await bob.join("r")
        _ = try await alice.expectRoomEvent("JOINED")
        #expect(await hub.kick(room: "r", participant: "bob"))
        #expect(try await alice.expectRoomEvent("LEFT") == "bob")
        #expect(try await bob.closeFrame()?.0 == ParleySession.closeKicked)
    }
}

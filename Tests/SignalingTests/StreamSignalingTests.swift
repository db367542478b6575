import Foundation
import Synchronization
import Testing
import Rooms
@testable import Signaling

/// A media plane without media: hands out ids, remembers each stream's event callback so tests can fire
/// transport events, and records stops.
final class FakeMedia: MediaService {
    private let state = Mutex<(next: Int, events: [String: @Sendable (StreamEvent) -> Void], stopped: [String], preferredH264: [String])>((0, [:], [], []))

    private func add(id: String? = nil, _ onEvent: @escaping @Sendable (StreamEvent) -> Void) -> String {
        state.withLock { s in
            s.next += 1
            let id = id ?? "s\(s.next)"
            s.events[id] = onEvent
            return id
        }
    }

    func startEcho(offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String) {
        (add(onEvent), "answer")
    }

    func publish(stream id: String, offer: String, preferH264: Bool, whole: Bool,
                 onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> PublishedMedia {
        if offer == "bad" { throw MediaServiceError(code: "bad_sdp", message: "unreadable") }
        if preferH264 { state.withLock { $0.preferredH264.append(id) } }
        let published = PublishedMedia(id: add(id: id, onEvent), answer: "answer", audio: true, video: offer != "audio")
        if offer == "connects" { onEvent(.connected) }  // its transport is up before the answer is even returned
        return published
    }

    func play(source: String, offer: String, onEvent: @escaping @Sendable (StreamEvent) -> Void) async throws(MediaServiceError) -> (id: String, answer: String) {
        (add(onEvent), "answer")
    }

    /// The operator's mutes asked of the media plane: (stream, audio, video).
    let mutes = Mutex<[(String, Bool?, Bool?)]>([])

    func setMuted(stream id: String, audio: Bool?, video: Bool?) async {
        mutes.withLock { $0.append((id, audio, video)) }
    }

    func stop(stream id: String) async {
        let callback = state.withLock { s in
            s.stopped.append(id)
            return s.events.removeValue(forKey: id)
        }
        callback?(.closed(.stopped))
    }

    func fire(_ id: String, _ event: StreamEvent) {
        state.withLock { $0.events[id] }?(event)
    }

    var stopped: [String] { state.withLock { $0.stopped } }
    /// Streams started and not stopped.
    var running: [String] { state.withLock { Array($0.events.keys) } }
    /// Publishes asked to prefer H.264.
    var preferredH264: [String] { state.withLock { $0.preferredH264 } }
}

private func result(_ reply: [String: Any]) -> [String: Any] { reply["result"] as? [String: Any] ?? [:] }

@Suite struct StreamSignalingTests {
    /// alice and bob in room "r", both with the fake media plane.
    func room(_ hub: SignalingHub = SignalingHub()) async throws -> (FakeMedia, FakeSocket, FakeSocket) {
        let media = FakeMedia()
        let alice = FakeSocket(hub: hub, media: media)
        let bob = FakeSocket(hub: hub, media: media)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await alice.request("join", ["room": "r"])
        _ = try await bob.request("join", ["room": "r"])
        _ = try await alice.next()  // joined: bob
        return (media, alice, bob)
    }

    @Test func publishIsAnnouncedOnceConnectedAndPlayable() async throws {
        let (media, alice, bob) = try await room()
        let reply = try await alice.request("publish", ["room": "r", "sdp": "offer", "display": "camera", "videoMuted": true])
        let stream = try #require(result(reply)["stream"] as? String)
        #expect(result(reply)["audio"] as? Bool == true && result(reply)["video"] as? Bool == true)
        // Not published before its transport is up.
        #expect(errorCode(try await bob.request("play", ["room": "r", "stream": stream, "sdp": "o"])) == "unknown_stream")
        media.fire(stream, .connected)
        let status = try await alice.next()
        #expect(status["event"] as? String == "stream" && status["status"] as? String == "connected")
        let published = try await bob.next()
        #expect(published["event"] as? String == "published")
        let info = try #require(published["stream"] as? [String: Any])
        #expect(info["id"] as? String == stream && info["display"] as? String == "camera")
        #expect(info["videoMuted"] as? Bool == true && info["audioMuted"] as? Bool == false)
        #expect((published["participant"] as? [String: Any])?["name"] as? String == "alice")

        let play = try await bob.request("play", ["room": "r", "stream": stream, "sdp": "o"])
        #expect(result(play)["sdp"] as? String == "answer")
    }

    @Test func theOperatorsMuteHoldsForEveryoneAndForLaterStreams() async throws {
        let hub = SignalingHub()
        let (media, alice, bob) = try await room(hub)
        let stream = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(stream, .connected)
        _ = try await alice.next()  // connected
        _ = try await bob.next()  // published
        #expect(await hub.serverMute(room: "r", participant: "nobody", audio: true, video: nil) == nil)

        let (mute, streams) = try #require(await hub.serverMute(room: "r", participant: "alice", audio: true, video: nil))
        #expect(mute == MuteState(audio: true, video: false) && streams.map(\.id) == [stream])
        for socket in [alice, bob] {  // the owner too: its app shows why its microphone went quiet
            let updated = try await socket.next()
            #expect(updated["event"] as? String == "updated")
            let info = try #require(updated["stream"] as? [String: Any])
            #expect(info["audioMuted"] as? Bool == true && info["videoMuted"] as? Bool == false)
            #expect((info["mutedByServer"] as? [String: Any])?["audio"] as? Bool == true)
        }
        // The client cannot lift it: its own unmute changes its flag, not what the room sees.
        #expect(try await alice.request("mute", ["stream": stream, "audioMuted": false])["ok"] as? Bool == true)
        let still = try #require(try await bob.next()["stream"] as? [String: Any])
        #expect(still["audioMuted"] as? Bool == true)

        // A stream published later in the room starts muted, in the media plane too.
        let later = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(later, .connected)
        _ = try await alice.next()  // connected
        let published = try #require(try await bob.next()["stream"] as? [String: Any])
        #expect(published["id"] as? String == later && published["audioMuted"] as? Bool == true)
        for _ in 0..<100 where !media.mutes.withLock({ $0.contains { $0.0 == later } }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(media.mutes.withLock { $0.contains { $0.0 == later && $0.1 == true && $0.2 == false } })

        // Lifted: the room hears it, and a stream after that starts unmuted.
        let (lifted, both) = try #require(await hub.serverMute(room: "r", participant: "alice", audio: false, video: nil))
        #expect(lifted.isEmpty && both.count == 2)
        let unmuted = try #require(try await bob.next()["stream"] as? [String: Any])
        #expect(unmuted["audioMuted"] as? Bool == false && unmuted["mutedByServer"] == nil)
    }

    @Test func lateJoinerSeesPublishedStreams() async throws {
        let hub = SignalingHub()
        let media = FakeMedia()
        let alice = FakeSocket(hub: hub, media: media)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await alice.request("join", ["room": "r"])
        let stream = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "audio"]))["stream"] as? String)
        media.fire(stream, .connected)
        _ = try await alice.next()
        let carol = FakeSocket(hub: hub, media: media)
        _ = try await carol.request("connect", ["username": "carol"])
        // The relay task publishes to the hub after sending the status event: wait for it.
        var streams: [[String: Any]] = []
        for _ in 0..<100 {
            let join = try await carol.request("join", ["room": "r"])
            let participants = (result(join)["room"] as? [String: Any])?["participants"] as? [[String: Any]] ?? []
            streams = participants.first?["streams"] as? [[String: Any]] ?? []
            if !streams.isEmpty { break }
            _ = try await carol.request("leave", ["room": "r"])
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(streams.first?["id"] as? String == stream)
        #expect(streams.first?["video"] as? Bool == false)
    }

    @Test func stopUnpublishesAndLeaveEndsStreams() async throws {
        let (media, alice, bob) = try await room()
        let s1 = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s1, .connected)
        _ = try await alice.next()
        _ = try await bob.next()  // published
        let reply = try await alice.request("stop", ["stream": s1])
        #expect(reply["ok"] as? Bool == true)
        let unpublished = try await bob.next()
        #expect(unpublished["event"] as? String == "unpublished" && unpublished["reason"] as? String == "unpublished")
        #expect(media.stopped == [s1])
        #expect(try await alice.next()["status"] as? String == "closed")

        let s2 = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s2, .connected)
        _ = try await alice.next()
        _ = try await bob.next()  // published s2
        _ = try await alice.request("leave", ["room": "r"])
        let first = try await bob.next(), second = try await bob.next()
        #expect(first["event"] as? String == "unpublished" && first["reason"] as? String == "left")
        #expect(second["event"] as? String == "left")
        #expect(media.stopped.contains(s2))
    }

    @Test func aPublisherWhoseMediaDiesIsUnpublished() async throws {
        let (media, alice, bob) = try await room()
        let s = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s, .connected)
        _ = try await bob.next()
        _ = try await alice.next()  // connected
        media.fire(s, .closed(.consentExpired))
        // Consent lost while alice's socket is fine: her media failed; she did not disconnect.
        let event = try await bob.next()
        #expect(event["event"] as? String == "unpublished" && event["reason"] as? String == "failed")
        let status = try await alice.next()
        #expect(status["event"] as? String == "stream" && status["status"] as? String == "closed")
        #expect(status["reason"] as? String == "consent_expired")
        #expect(status["message"] as? String == "No ICE consent check from the peer for 29 s")
    }

    @Test func streamEventsCarryAStableReasonCodeAndAMessage() throws {
        let cases: [(StreamEvent, String, String)] = [
            (.closed(.peerClosed), "closed", "peer_closed"),
            (.closed(.consentExpired), "closed", "consent_expired"),
            (.failed(.dtlsFailed(detail: "noSRTPProfile")), "failed", "dtls_failed"),
            (.failed(.fingerprintMismatch), "failed", "fingerprint_mismatch"),
            (.failed(.srtpFailed), "failed", "srtp_failed"),
            (.closed(.unpublished), "closed", "unpublished"),
            (.closed(.stopped), "closed", "stopped"),
        ]
        for (event, status, code) in cases {
            let frame = try #require(try JSONSerialization.jsonObject(
                with: Data(ParleyWire.streamEvent(stream: "s1", event).utf8)) as? [String: Any])
            #expect(frame["event"] as? String == "stream" && frame["stream"] as? String == "s1")
            #expect(frame["status"] as? String == status && frame["reason"] as? String == code)
            #expect((frame["message"] as? String)?.isEmpty == false)
        }
        #expect(ParleyWire.streamEvent(stream: "s1", .failed(.dtlsFailed(detail: "noSRTPProfile"))).contains("noSRTPProfile"))
        let connected = ParleyWire.streamEvent(stream: "s1", .connected)
        #expect(!connected.contains("reason") && !connected.contains("message"))
        // How a publish's end is told to the room.
        #expect(UnpublishReason(mediaEnd: .peerClosed) == .unpublished)
        #expect(UnpublishReason(mediaEnd: .consentExpired) == .failed)
        #expect(UnpublishReason(mediaEnd: .fingerprintMismatch) == .failed)
    }

    @Test func socketCloseUnpublishesThenLeaves() async throws {
        let (media, alice, bob) = try await room()
        let s = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s, .connected)
        _ = try await bob.next()
        await alice.session.socketClosed()
        let first = try await bob.next(), second = try await bob.next()
        #expect(first["event"] as? String == "unpublished" && first["reason"] as? String == "disconnected")
        #expect(second["event"] as? String == "left")
        #expect(media.stopped.contains(s))
    }

    @Test func eachPublishHasOneRecordInTheHubFromRequestToEnd() async throws {
        let hub = SignalingHub()
        let (media, alice, bob) = try await room(hub)
        let reply = try await alice.request("publish", ["room": "r", "sdp": "offer", "display": "camera"])
        let s = try #require(result(reply)["stream"] as? String)
        // A server-minted id, not the media plane's own numbering.
        #expect(s.count == 16 && s != "s1")
        let starting = try #require(await hub.stream(s))
        #expect(starting.state == .starting && starting.room == "r" && starting.origin == .webRTC)
        #expect(starting.description.display == "camera" && starting.description.audio && starting.description.video)
        // Muted while connecting: the record keeps it, and `published` carries it.
        _ = try await alice.request("mute", ["stream": s, "audioMuted": true])
        media.fire(s, .connected)
        _ = try await alice.next()  // its stream event
        let published = try await bob.next()
        #expect((published["stream"] as? [String: Any])?["audioMuted"] as? Bool == true)
        #expect(await hub.stream(s)?.state == .live)
        // A second publish that the media plane refuses leaves no record behind.
        _ = try await alice.request("publish", ["room": "r", "sdp": "bad"])
        #expect(await hub.stats.streams == 1)
        // A publish still connecting when its owner leaves ends with the leave.
        let t = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        #expect(await hub.stats.streams == 2)
        _ = try await alice.request("leave", ["room": "r"])
        let (left, leftT, count) = (await hub.stream(s), await hub.stream(t), await hub.stats.streams)
        #expect(left == nil && leftT == nil && count == 0)
        #expect(media.stopped.contains(s) && media.stopped.contains(t))
    }

    @Test func playIsLimitedToTheSessionsRooms() async throws {
        let hub = SignalingHub()
        let (media, alice, _) = try await room(hub)
        let s = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s, .connected)
        _ = try await alice.next()
        let eve = FakeSocket(hub: hub, media: media)
        _ = try await eve.request("connect", ["username": "eve"])
        _ = try await eve.request("join", ["room": "elsewhere"])
        try await Task.sleep(for: .milliseconds(50))  // let the relay announce the stream
        #expect(errorCode(try await eve.request("play", ["room": "r", "stream": s, "sdp": "o"])) == "not_in_room")
        #expect(errorCode(try await eve.request("play", ["room": "elsewhere", "stream": s, "sdp": "o"])) == "unknown_stream")
    }

    @Test func muteIsSeenByOthersAndErrorsAreClear() async throws {
        let (media, alice, bob) = try await room()
        #expect(errorCode(try await alice.request("publish", ["room": "nope", "sdp": "offer"])) == "not_in_room")
        #expect(errorCode(try await alice.request("publish", ["room": "r", "sdp": "bad"])) == "bad_sdp")
        #expect(errorCode(try await alice.request("publish", ["room": "r", "sdp": "offer", "display": ""])) == "bad_request")
        #expect(errorCode(try await alice.request("mute", ["stream": "zzz", "audioMuted": true])) == "unknown_stream")
        #expect(errorCode(try await alice.request("mute", ["stream": "zzz"])) == "bad_request")
        #expect(errorCode(try await bob.request("play", ["room": "other", "stream": "x", "sdp": "o"])) == "not_in_room")
        let s = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(s, .connected)
        _ = try await alice.next()
        _ = try await bob.next()
        #expect(try await alice.request("mute", ["stream": s, "audioMuted": true])["ok"] as? Bool == true)
        let updated = try await bob.next()
        #expect(updated["event"] as? String == "updated")
        #expect((updated["stream"] as? [String: Any])?["audioMuted"] as? Bool == true)
        #expect(errorCode(try await bob.request("mute", ["stream": s, "audioMuted": true])) == "unknown_stream")
        #expect(errorCode(try await bob.request("stop", ["stream": s])) == "unknown_stream")
    }
}

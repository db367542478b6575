import Foundation
import Synchronization
import Testing
@testable import Signaling

/// Pushes without RTMP: each job says `connecting` and `publishing`, then waits for its stop and says `ended`.
final class FakeRepublisher: RepublishService {
    final class Job: RepublishJob {
        let onEvent: @Sendable (RepublishEvent) -> Void
        let (stops, stopSignal) = AsyncStream.makeStream(of: Void.self)
        init(_ onEvent: @escaping @Sendable (RepublishEvent) -> Void) { self.onEvent = onEvent }
        func run() async {
            onEvent(.connecting(attempt: 1))
            onEvent(.publishing)
            for await _ in stops { break }
            onEvent(.ended(.stopped))
        }
        func stop() async { stopSignal.yield() }
    }

    private let state = Mutex<[(stream: String, url: String)]>([])
    var started: [(stream: String, url: String)] { state.withLock { $0 } }
    /// Rooms RTMP watches.
    let watched: Set<String>
    init(watched: Set<String> = []) { self.watched = watched }
    func prefersH264(inRoom room: String) -> Bool { watched.contains(room) }

    func republish(id: String, stream: String, url: String,
                   onEvent: @escaping @Sendable (RepublishEvent) -> Void) async throws(MediaServiceError) -> any RepublishJob {
        guard url.hasPrefix("rtmp://") else { throw MediaServiceError(code: "bad_url", message: "not rtmp") }
        state.withLock { $0.append((stream, url)) }
        return Job(onEvent)
    }
}

private func result(_ reply: [String: Any]) -> [String: Any] { reply["result"] as? [String: Any] ?? [:] }

@Suite struct RepublishSignalingTests {
    /// alice publishes a live stream in room "r"; bob, in the room too, can push it.
    func room() async throws -> (FakeRepublisher, FakeSocket, FakeSocket, String) {
        let hub = SignalingHub(), media = FakeMedia(), republisher = FakeRepublisher()
        let alice = FakeSocket(hub: hub, media: media)
        let bob = FakeSocket(hub: hub, media: media, republisher: republisher)
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await bob.request("connect", ["username": "bob"])
        _ = try await alice.request("join", ["room": "r"])
        _ = try await bob.request("join", ["room": "r"])
        _ = try await alice.next()  // joined: bob
        let stream = try #require(result(try await alice.request("publish", ["room": "r", "sdp": "offer"]))["stream"] as? String)
        media.fire(stream, .connected)
        while try await bob.next()["event"] as? String != "published" {}
        return (republisher, alice, bob, stream)
    }

    @Test func aPushIsRepliedToThenItsEventsFollowAndStopEndsIt() async throws {
        let (republisher, _, bob, stream) = try await room()
        let reply = try await bob.request("republish", ["room": "r", "stream": stream, "url": "rtmp://far/live/key"])
        let push = try #require(result(reply)["republish"] as? String)
        #expect(republisher.started.map(\.url) == ["rtmp://far/live/key"] && republisher.started.map(\.stream) == [stream])
        for status in ["connecting", "publishing"] {
            let event = try await bob.next()
            #expect(event["event"] as? String == "republish" && event["republish"] as? String == push)
            #expect(event["stream"] as? String == stream && event["status"] as? String == status)
        }
        #expect(try await bob.request("stopRepublish", ["republish": push])["ok"] as? Bool == true)
        let ended = try await bob.next()
        #expect(ended["status"] as? String == "ended" && ended["reason"] as? String == "stopped")
        #expect(errorCode(try await bob.request("stopRepublish", ["republish": push])) == "unknown_republish")
    }

    @Test func pushesEndWithALeaveOfTheirRoom() async throws {
        let (_, _, bob, stream) = try await room()
        _ = try await bob.request("republish", ["room": "r", "stream": stream, "url": "rtmp://far/live/key"])
        _ = try await bob.next()
        _ = try await bob.next()
        _ = try await bob.request("leave", ["room": "r"])
        let ended = try await bob.next()
        #expect(ended["event"] as? String == "republish" && ended["status"] as? String == "ended")
    }

    @Test func onlyPlayableStreamsAndGoodURLsArePushedAndAtMostFourASocket() async throws {
        let (_, _, bob, stream) = try await room()
        #expect(errorCode(try await bob.request("republish", ["room": "r", "stream": "nosuch", "url": "rtmp://far/live/key"])) == "unknown_stream")
        #expect(errorCode(try await bob.request("republish", ["room": "elsewhere", "stream": stream, "url": "rtmp://far/live/key"])) != nil)
        #expect(errorCode(try await bob.request("republish", ["room": "r", "stream": stream, "url": "http://far/x"])) == "bad_url")
        #expect(errorCode(try await bob.request("republish", ["room": "r", "stream": stream])) == "bad_request")
        for i in 0..<ParleySession.maxRepublishesPerSession {
            let reply = try await bob.request("republish", ["room": "r", "stream": stream, "url": "rtmp://far/live/k\(i)"])
            #expect(reply["ok"] as? Bool == true)
            _ = try await bob.next()
            _ = try await bob.next()
        }
        #expect(errorCode(try await bob.request("republish", ["room": "r", "stream": stream, "url": "rtmp://far/live/more"])) == "too_many_streams")
    }

    @Test func publishesPreferH264InRoomsThatRTMPWatches() async throws {
        let hub = SignalingHub(), media = FakeMedia()
        let alice = FakeSocket(hub: hub, media: media, republisher: FakeRepublisher(watched: ["watched"]))
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await alice.request("join", ["room": "watched"])
        _ = try await alice.request("join", ["room": "plain"])
        let a = try #require(result(try await alice.request("publish", ["room": "watched", "sdp": "offer"]))["stream"] as? String)
        _ = try await alice.request("publish", ["room": "plain", "sdp": "offer"])
        #expect(media.preferredH264 == [a])
    }

    @Test func aServerWithoutPushesSaysSo() async throws {
        let socket = FakeSocket(hub: SignalingHub())
        _ = try await socket.request("connect", ["username": "carol"])
        #expect(errorCode(try await socket.request("republish", ["room": "r", "stream": "s", "url": "rtmp://far/live/key"])) == "media_unavailable")
    }
}

import Foundation
import MediaNegotiation
import Rooms
import SFU
import Signaling
import Testing
@testable import ParleyServer

/// A stream fed by a `MediaSource` (as RTMP ingest will be) is a stream like any other to clients: announced in
/// its room, in the join reply, playable with Parley's `play`, and ended for its players when its source ends.
@Suite struct SourceStreamTests {
    final class SilentSource: MediaSource, @unchecked Sendable {  // only touched on its loop
        func keyframeRequested(track: Int) -> Bool { false }
        func retransmissionRequested(track: Int, sequenceNumbers: [UInt16]) {}
        func feedDidEnd(_ feed: MediaFeed) {}
    }

    struct DroppingSink: SessionSink {
        func deliver(_ event: RoomEvent) {}
    }

    @Test func aSourceFedStreamIsAnnouncedPlayableAndEndsForItsPlayers() async throws {
        let server = try await RunningServer.start()
        let hub = server.server.hub
        let encoder = await hub.openSession(sink: DroppingSink())
        await hub.join(encoder, name: "encoder", room: "r", maxParticipants: nil) { _ in }
        let id = StreamID.mint()
        let record = StreamRecord(id: id, owner: encoder, room: "r", origin: .source("test"),
                                  description: StreamDescription(id: id, display: "rtmp", audio: false, video: true))
        let feed = try await server.server.publish(record, tracks: [SourceTrack(kind: .video, codec: .vp8, payloadType: 96)]) { _ in
            SilentSource()
        }
        _ = try await hub.publish(encoder, stream: id)
        // Its record says what it is and where its media runs.
        let live = try #require(await hub.stream(id))
        #expect(live.origin == .source("test") && live.state == .live && live.mediaLoop == feed.mediaLoop)
        #expect(live.tracks == [StreamRecord.Track(kind: .video, codec: "VP8", clockRate: 90000)])

        let viewer = try await TestClient.connected(server, as: "viewer")
        let joined = try await viewer.request("join", ["room": "r"])
        let room = (joined["result"] as? [String: Any])?["room"] as? [String: Any]
        let streams = (room?["participants"] as? [[String: Any]])?.first?["streams"] as? [[String: Any]]
        #expect(streams?.first?["id"] as? String == id && streams?.first?["display"] as? String == "rtmp")

        // A browser's play offer (audio and video, receive only): answered with the source's codec, audio refused.
        let offer = EchoSignalingTests.chromeLikeOffer.replacingOccurrences(of: "a=sendrecv", with: "a=recvonly")
        let play = try await viewer.request("play", ["room": "r", "stream": id, "sdp": offer])
        let result = try #require(play["result"] as? [String: Any], "\(play)")
        let answer = try #require(result["sdp"] as? String)
        #expect(answer.contains("a=rtpmap:96 VP8/90000") && answer.contains("m=audio 0 "), "\(answer)")
        let playID = try #require(result["stream"] as? String)

        // The source ends: the player's stream closes as for a browser publisher that stopped.
        await feed.end()
        let closed = try await viewer.nextEvent("stream")
        #expect(closed["stream"] as? String == playID && closed["status"] as? String == "closed")
        #expect(closed["reason"] as? String == "unpublished")
        // And the stream is no longer playable.
        let again = try await viewer.request("play", ["room": "r", "stream": id, "sdp": offer])
        #expect(errorCode(again) == "unknown_stream")
        viewer.close()
        try await server.stop()
    }
}

import Testing
@testable import Rooms

@Suite struct StreamRegistryTests {
    func record(_ id: String, owner: SessionID = "a", room: String? = "r", name: String? = nil) -> StreamRecord {
        StreamRecord(id: id, owner: owner, room: room, origin: .webRTC,
                     description: StreamDescription(id: id, audio: false, video: false, name: name))
    }

    @Test func aStreamIsStartingUntilItsMediaIsUpThenLiveAndListedInItsRoom() throws {
        var streams = StreamRegistry()
        #expect(streams.open(record("s1")) == true)
        streams.setMedia("s1", owner: "a", audio: true, video: true,
                         tracks: [.init(kind: .audio, codec: "opus", clockRate: 48000), .init(kind: .video, codec: "VP8", clockRate: 90000)],
                         mediaLoop: 1)
        #expect(streams["s1"]?.state == .starting && streams["s1"]?.tracks.count == 2 && streams["s1"]?.mediaLoop == 1)
        #expect(streams.live(inRoom: "r").isEmpty)
        let live = try streams.goLive("s1", owner: "a", limit: 4)
        #expect(live.state == .live && live.description.audio && live.description.video)
        #expect(streams.live(inRoom: "r").map(\.id) == ["s1"])
        // Only its owner may change or end it.
        #expect(streams.updateMute("s1", owner: "b", audio: true, video: nil) == nil)
        #expect(streams.remove("s1", owner: "b") == nil)
        #expect(streams.updateMute("s1", owner: "a", audio: true, video: nil)?.description.audioMuted == true)
        #expect(streams.remove("s1", owner: "a")?.id == "s1" && streams.count == 0)
    }

    @Test func aNameIsHeldFromTheStartOfThePublishUntilItEnds() {
        var streams = StreamRegistry()
        #expect(streams.open(record("s1", name: "cam")) == true)
        #expect(streams.open(record("s2", owner: "b", name: "cam")) == false)
        #expect(streams.open(record("s1", name: "other")) == false, "ids are unique too")
        #expect(streams.record(named: "cam")?.id == "s1")
        _ = streams.remove("s1", owner: "a")
        #expect(streams.record(named: "cam") == nil)
        #expect(streams.open(record("s2", owner: "b", name: "cam")) == true)
    }

    @Test func theCapCountsLiveStreamsPerOwnerAndRoom() throws {
        var streams = StreamRegistry()
        for id in ["s1", "s2", "s3"] { #expect(streams.open(record(id)) == true) }
        #expect(streams.open(record("t1", owner: "b")) == true)
        #expect(streams.open(record("o1", room: "other")) == true)
        _ = try streams.goLive("s1", owner: "a", limit: 2)
        _ = try streams.goLive("s2", owner: "a", limit: 2)
        #expect(throws: RoomError.tooManyStreams(limit: 2)) { try streams.goLive("s3", owner: "a", limit: 2) }
        _ = try streams.goLive("t1", owner: "b", limit: 2)
        _ = try streams.goLive("o1", owner: "a", limit: 2)
        #expect(throws: RoomError.unknownStream("s1")) { try streams.goLive("s1", owner: "b", limit: 2) }
    }

    @Test func leavingARoomEndsTheOwnersStreamsThereStartingOrLiveInAnnounceOrder() throws {
        var streams = StreamRegistry()
        for id in ["z", "y", "x"] { #expect(streams.open(record(id)) == true) }
        #expect(streams.open(record("o", room: "other")) == true)
        #expect(streams.open(record("plain", room: nil, name: "plain")) == true)
        _ = try streams.goLive("y", owner: "a", limit: 4)
        _ = try streams.goLive("z", owner: "a", limit: 4)
        #expect(streams.live(inRoom: "r").map(\.id) == ["y", "z"])
        #expect(streams.removeAll(of: "a", inRoom: "r").map(\.id) == ["y", "z", "x"])
        #expect(streams.removeAll(of: "a", inRoom: nil).map(\.id).sorted() == ["o", "plain"])
        #expect(streams.count == 0 && streams.record(named: "plain") == nil)
    }

    @Test func participantsAreShownWithTheirLiveStreams() throws {
        var streams = StreamRegistry()
        #expect(streams.open(record("s1")) == true)
        #expect(streams.open(record("s2")) == true)
        _ = try streams.goLive("s2", owner: "a", limit: 4)
        let shown = streams.withStreams([Participant(session: "a", name: "alice"), Participant(session: "b", name: "bob")], inRoom: "r")
        #expect(shown.map { $0.streams.map(\.id) } == [["s2"], []])
    }
}

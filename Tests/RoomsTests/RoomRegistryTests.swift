import Testing
@testable import Rooms

@Suite struct ValidationTests {
    @Test func usernamesAreTrimmedAndBounded() throws {
        #expect(try Validation.username("  test \n") == "test")
        #expect(try Validation.username("Zoë 🎥") == "Zoë 🎥")
        #expect(try Validation.username(String(repeating: "a", count: 64)).count == 64)
        for bad in ["", "   ", String(repeating: "a", count: 65), "a\u{0}b", "tab\there", "zero\u{200B}width", "new\nline"] {
            #expect(throws: RoomError.invalidUsername) { try Validation.username(bad) }
        }
    }

    @Test func roomNamesAreURLSafe() throws {
        #expect(try Validation.roomName("room-1_a.b") == "room-1_a.b")
        for bad in ["", "with space", "slash/", "ümlaut", "q?x", String(repeating: "r", count: 65)] {
            #expect(throws: RoomError.invalidRoomName) { try Validation.roomName(bad) }
        }
    }

    @Test func chatTextIsBounded() throws {
        #expect(try Validation.chatText(String(repeating: "x", count: 4096)).count == 4096)
        #expect(throws: RoomError.invalidText) { try Validation.chatText("") }
        #expect(throws: RoomError.invalidText) { try Validation.chatText(String(repeating: "x", count: 4097)) }
    }
}

@Suite struct RoomRegistryTests {
    @Test func firstJoinCreatesTheRoomAndOthersAreNotified() throws {
        var registry = RoomRegistry()
        let a = try registry.join(session: "s1", name: "alice", room: "abc")
        #expect(a.snapshot.participants.isEmpty)
        #expect(a.notify.isEmpty)
        #expect(registry.roomCount == 1)

        let b = try registry.join(session: "s2", name: "bob", room: "abc")
        #expect(b.snapshot.participants.map(\.name) == ["alice"])
        #expect(b.notify == ["s1"])
        #expect(registry.participantCount == 2)
    }

    @Test func namesAreUniquePerRoomOnly() throws {
        var registry = RoomRegistry()
        _ = try registry.join(session: "s1", name: "alice", room: "one")
        #expect(throws: RoomError.nameTaken(room: "one", name: "alice")) {
            try registry.join(session: "s2", name: "alice", room: "one")
        }
        _ = try registry.join(session: "s2", name: "alice", room: "two")
        #expect(throws: RoomError.alreadyInRoom(room: "one")) {
            try registry.join(session: "s1", name: "alice", room: "one")
        }
    }

    @Test func capIsTheServerLimitOrLowerCreatorCap() throws {
        var registry = RoomRegistry(limits: .init(maxParticipants: 3))
        // A creator cannot raise the cap above the server's.
        let first = try registry.join(session: "s1", name: "a", room: "big", requestedCap: 50)
        #expect(first.snapshot.maxParticipants == 3)
        _ = try registry.join(session: "s2", name: "b", room: "big")
        _ = try registry.join(session: "s3", name: "c", room: "big")
        #expect(throws: RoomError.roomFull(room: "big", cap: 3)) {
            try registry.join(session: "s4", name: "d", room: "big")
        }

        // A lower creator cap holds; a later joiner's cap is ignored.
        _ = try registry.join(session: "s1", name: "a", room: "small", requestedCap: 2)
        _ = try registry.join(session: "s2", name: "b", room: "small", requestedCap: 10)
        #expect(throws: RoomError.roomFull(room: "small", cap: 2)) {
            try registry.join(session: "s3", name: "c", room: "small")
        }
        #expect(throws: RoomError.invalidCap) {
            try registry.join(session: "s9", name: "z", room: "zero", requestedCap: 0)
        }
        #expect(!registry.contains(room: "zero"))
    }

    @Test func emptyRoomsAndTheirHistoryGoAtOnce() throws {
        var registry = RoomRegistry()
        _ = try registry.join(session: "s1", name: "alice", room: "abc")
        _ = try registry.post(session: "s1", room: "abc", text: "hello", to: nil, time: 1)
        let out = try registry.leave(session: "s1", room: "abc")
        #expect(out.roomRemoved)
        #expect(registry.roomCount == 0)
        let again = try registry.join(session: "s2", name: "bob", room: "abc")
        #expect(again.snapshot.history.isEmpty)
        #expect(throws: RoomError.notInRoom(room: "abc")) { try registry.leave(session: "s1", room: "abc") }
    }

    @Test func removeSessionLeavesEveryRoom() throws {
        var registry = RoomRegistry()
        _ = try registry.join(session: "s1", name: "alice", room: "one")
        _ = try registry.join(session: "s1", name: "alice", room: "two")
        _ = try registry.join(session: "s2", name: "bob", room: "two")
        let outcomes = registry.removeSession("s1")
        #expect(outcomes.map(\.room) == ["one", "two"])
        #expect(outcomes.first { $0.room == "two" }?.notify == ["s2"])
        #expect(registry.roomCount == 1)
        #expect(registry.rooms(of: "s1").isEmpty)
        #expect(registry.removeSession("s1").isEmpty)
    }

    @Test func historyKeepsTheLastPublicMessages() throws {
        var registry = RoomRegistry(limits: .init(historyLimit: 100))
        _ = try registry.join(session: "s1", name: "alice", room: "abc")
        _ = try registry.join(session: "s2", name: "bob", room: "abc")
        for i in 0..<150 {
            _ = try registry.post(session: "s1", room: "abc", text: "m\(i)", to: nil, time: Int64(i))
        }
        _ = try registry.post(session: "s1", room: "abc", text: "secret", to: "bob", time: 999)
        let late = try registry.join(session: "s3", name: "carol", room: "abc")
        #expect(late.snapshot.history.count == 100)
        #expect(late.snapshot.history.first?.text == "m50")
        #expect(late.snapshot.history.last?.text == "m149")
        #expect(!late.snapshot.history.contains { $0.text == "secret" })
    }

    @Test func messagesGoToTheRoomOrToOneParticipant() throws {
        var registry = RoomRegistry()
        _ = try registry.join(session: "s1", name: "alice", room: "abc")
        _ = try registry.join(session: "s2", name: "bob", room: "abc")
        _ = try registry.join(session: "s3", name: "carol", room: "abc")
        let all = try registry.post(session: "s1", room: "abc", text: "hi", to: nil, time: 5)
        #expect(all.recipients == ["s2", "s3"])
        #expect(all.message == ChatMessage(room: "abc", from: "alice", to: nil, text: "hi", time: 5))
        let one = try registry.post(session: "s1", room: "abc", text: "psst", to: "carol", time: 6)
        #expect(one.recipients == ["s3"])
        #expect(throws: RoomError.unknownParticipant(room: "abc", name: "dave")) {
            try registry.post(session: "s1", room: "abc", text: "x", to: "dave", time: 7)
        }
        #expect(throws: RoomError.notInRoom(room: "other")) {
            try registry.post(session: "s1", room: "other", text: "x", to: nil, time: 7)
        }
        #expect(throws: RoomError.invalidText) {
            try registry.post(session: "s1", room: "abc", text: "", to: nil, time: 7)
        }
    }

    @Test func randomRoomNamesAreLongAndValid() throws {
        var rng: any RandomNumberGenerator = SystemRandomNumberGenerator()  // not the bare empty struct: see StreamID.mint
        let registry = RoomRegistry()
        let names = Set((0..<200).map { _ in registry.makeRandomRoomName(using: &rng) })
        #expect(names.count == 200)
        for name in names {
            #expect(name.count == 22)
            #expect(try Validation.roomName(name) == name)
        }
    }
}

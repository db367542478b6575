import Testing
@testable import Recording

@Suite struct PacketReorderTests {
    @Test func latePacketsAreWaitedForAndReleasedInOrder() {
        var r = PacketReorder<Int>()
        #expect(r.push(sequence: 10, arrival: 0.00, 10).map(\.sequence) == [10])
        #expect(r.push(sequence: 12, arrival: 0.01, 12).isEmpty)
        #expect(r.push(sequence: 13, arrival: 0.02, 13).isEmpty)
        #expect(r.push(sequence: 11, arrival: 0.05, 11).map(\.sequence) == [11, 12, 13])
        #expect(r.push(sequence: 11, arrival: 0.06, 11).isEmpty, "a duplicate")
    }

    @Test func aPacketThatDoesNotComeIsGivenUpAfterTheHold() {
        var r = PacketReorder<Int>(maxHold: 0.2)
        _ = r.push(sequence: 65_534, arrival: 0, 0)
        #expect(r.push(sequence: 0, arrival: 0.05, 2).isEmpty)  // 65535 missing; the sequence wraps
        #expect(r.push(sequence: 1, arrival: 0.15, 3).isEmpty)
        #expect(r.push(sequence: 2, arrival: 0.26, 4).map(\.sequence) == [0, 1, 2], "the hole gave up after 200 ms")
        #expect(r.push(sequence: 65_535, arrival: 0.3, 1).isEmpty, "too late now")
        #expect(r.push(sequence: 3, arrival: 0.31, 5).map(\.packet) == [5])
    }

    @Test func holdingIsBoundedAndDrainGivesTheRest() {
        var r = PacketReorder<Int>(maxHold: 10, maxPackets: 4)
        _ = r.push(sequence: 0, arrival: 0, 0)
        var out: [Int] = []
        for s in 2...6 { out += r.push(sequence: UInt16(s), arrival: 0, s).map(\.packet) }
        #expect(out == [2, 3, 4, 5, 6], "five waiting is one too many: the hole is given up")
        #expect(r.push(sequence: 9, arrival: 0, 9).isEmpty)
        #expect(r.drain().map(\.packet) == [9])
    }
}

import NIOCore
import Testing
@testable import SFU

@Suite struct RetransmissionBufferTests {
    static func packet(_ sequence: Int64) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(sequence)
        b.writeRepeatingByte(0, count: 1_192)
        return b
    }

    /// Stores `count` packets `interval` seconds apart, from sequence 0 at time 0.
    static func fill(_ buffer: inout RetransmissionBuffer, count: Int, interval: Double) {
        for s in 0..<count { buffer.store(packet(Int64(s)), sequence: Int64(s), now: Double(s) * interval) }
    }

    @Test func growsUntilItHoldsTheLastTwoSeconds() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        Self.fill(&buffer, count: 1_000, interval: 1.0 / 125)  // a 1.2 Mbit/s camera
        #expect(buffer.capacity == 256)
        let now = 999.0 / 125
        for s in Int64(1_000 - 250)..<1_000 {
            #expect(buffer.packet(sequence: s, now: now)?.getInteger(at: 0, as: Int64.self) == s)
        }
    }

    @Test func staysSmallAtALowRate() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        Self.fill(&buffer, count: 400, interval: 1.0 / 20)
        #expect(buffer.capacity == 64)
        #expect(buffer.packet(sequence: 399, now: 399.0 / 20) != nil)
        #expect(buffer.packet(sequence: 300, now: 399.0 / 20) == nil)  // overwritten: older than 2 s anyway
    }

    @Test func stopsGrowingAtItsLimit() {
        var buffer = RetransmissionBuffer(initialCapacity: 16, maxCapacity: 128)
        Self.fill(&buffer, count: 1_000, interval: 0.001)
        #expect(buffer.capacity == 128)
        #expect(buffer.packet(sequence: 999 - 127, now: 0.999) != nil)
        #expect(buffer.packet(sequence: 999 - 128, now: 0.999) == nil)
    }

    @Test func forgetsWhatIsOlderThanItsAgeAndRefusesNegativeSequences() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        buffer.store(Self.packet(5), sequence: 5, now: 0)
        #expect(buffer.packet(sequence: 5, now: 1.9) != nil)
        #expect(buffer.packet(sequence: 5, now: 2.1) == nil)
        buffer.store(Self.packet(-1), sequence: -1, now: 0)
        #expect(buffer.packet(sequence: -1, now: 0) == nil)
    }
}

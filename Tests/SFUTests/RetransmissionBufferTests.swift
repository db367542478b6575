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

    @Test func holdsExactlyTheLastTwoSeconds() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        Self.fill(&buffer, count: 1_000, interval: 1.0 / 250)  // a 2.4 Mbit/s camera
        // 2 s of 250 packets/s and the newest: not the 1,024 slots a power-of-two ring grew to.
        #expect(buffer.storedCount == 501)
        let now = 999.0 / 250
        for s in Int64(1_000 - 500)..<1_000 {
            #expect(buffer.packet(sequence: s, now: now)?.getInteger(at: 0, as: Int64.self) == s)
        }
        #expect(buffer.packet(sequence: 498, now: now) == nil)
    }

    @Test func packetsAreHeldAtTheirOwnSize() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        Self.fill(&buffer, count: 500, interval: 1.0 / 250)  // 1,200-byte packets
        // Not the 2,048 a ByteBuffer rounds 1,200 up to: the packet and the allocator's rounding.
        #expect(buffer.storedBytes <= 500 * 1_264, "\(buffer.storedBytes / 500) bytes per packet")
        // Small packets after large ones do not keep the large arrays.
        for s in 500..<1_000 {
            var small = ByteBuffer()
            small.writeInteger(Int64(s))
            small.writeRepeatingByte(0, count: 92)
            buffer.store(small, sequence: Int64(s), now: Double(s) / 250)
        }
        #expect(buffer.storedBytes <= 501 * 160, "\(buffer.storedBytes / 501) bytes per packet")
        // Bytes 4–7 (an RTP packet's timestamp) are the low half of the Int64 written first.
        #expect(buffer.timestamp(sequence: 999, now: 999.0 / 250) == 999 && buffer.contains(sequence: 999, now: 999.0 / 250))
        #expect(buffer.packet(sequence: 999, now: 999.0 / 250)?.readableBytes == 100)
    }

    @Test func staysSmallAtALowRate() {
        var buffer = RetransmissionBuffer(initialCapacity: 64, maxCapacity: 1024)
        Self.fill(&buffer, count: 400, interval: 1.0 / 20)
        #expect((40...41).contains(buffer.storedCount))  // 2 s of 20 packets/s, the edge as rounding has it
        #expect(buffer.packet(sequence: 399, now: 399.0 / 20) != nil)
        #expect(buffer.packet(sequence: 300, now: 399.0 / 20) == nil)  // older than 2 s
    }

    @Test func stopsGrowingAtItsLimit() {
        var buffer = RetransmissionBuffer(initialCapacity: 16, maxCapacity: 128)
        Self.fill(&buffer, count: 1_000, interval: 0.001)
        #expect(buffer.storedCount == 128)
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

    @Test func keepsGapsForLatePacketsAndTakesThemOutOfOrder() {
        var buffer = RetransmissionBuffer(initialCapacity: 4, maxCapacity: 1024)
        buffer.store(Self.packet(10), sequence: 10, now: 0)
        buffer.store(Self.packet(14), sequence: 14, now: 0.01)
        #expect(buffer.packet(sequence: 12, now: 0.01) == nil)
        buffer.store(Self.packet(12), sequence: 12, now: 0.02)  // arrives late, into its gap
        buffer.store(Self.packet(9), sequence: 9, now: 0.02)  // before the window: ignored
        for s: Int64 in [10, 12, 14] { #expect(buffer.packet(sequence: s, now: 0.02)?.getInteger(at: 0, as: Int64.self) == s) }
        for s: Int64 in [9, 11, 13, 15] { #expect(buffer.packet(sequence: s, now: 0.02) == nil) }
        // A rewritten slot holds the new bytes, not the old ones.
        buffer.store(Self.packet(99), sequence: 12, now: 0.03)
        #expect(buffer.packet(sequence: 12, now: 0.03)?.getInteger(at: 0, as: Int64.self) == 99)
    }

    @Test func aJumpFarAheadStartsAgainAndASmallOneSlidesTheWindow() {
        var buffer = RetransmissionBuffer(initialCapacity: 16, maxCapacity: 128)
        Self.fill(&buffer, count: 100, interval: 0.001)
        buffer.store(Self.packet(200), sequence: 200, now: 0.2)  // 100 past the end: the window slides
        #expect(buffer.storedCount == 128)
        #expect(buffer.packet(sequence: 72, now: 0.2) == nil)
        #expect(buffer.packet(sequence: 73, now: 0.2) != nil)
        #expect(buffer.packet(sequence: 200, now: 0.2) != nil)
        buffer.store(Self.packet(100_000), sequence: 100_000, now: 0.3)  // far past it: only the new one is held
        #expect(buffer.storedCount == 1)
        #expect(buffer.packet(sequence: 200, now: 0.3) == nil)
        #expect(buffer.packet(sequence: 100_000, now: 0.3)?.getInteger(at: 0, as: Int64.self) == 100_000)
    }

    @Test func randomUseNeverLosesTheNewestOrReturnsAWrongPacket() {
        var buffer = RetransmissionBuffer(initialCapacity: 2, maxCapacity: 64, maxAge: 0.5)
        var rng = SystemRandomNumberGenerator()
        var sequence: Int64 = 1_000
        var now = 0.0
        for _ in 0..<20_000 {
            sequence += Int64.random(in: -40...70, using: &rng)
            sequence = max(0, sequence)
            now += Double.random(in: 0...0.02, using: &rng)
            buffer.store(Self.packet(sequence), sequence: sequence, now: now)
            #expect(buffer.storedCount <= 64)
            if let held = buffer.packet(sequence: sequence, now: now) {
                #expect(held.getInteger(at: 0, as: Int64.self) == sequence)
            }
            let probe = sequence - Int64.random(in: 0...80, using: &rng)
            if let held = buffer.packet(sequence: probe, now: now) { #expect(held.getInteger(at: 0, as: Int64.self) == probe) }
        }
    }
}

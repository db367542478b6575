import NIOCore
import Testing
@testable import RTP

@Suite struct TransportFeedbackTests {
    func parse(_ buffer: ByteBuffer) throws -> RTCPTransportFeedback {
        let header = try onlyHeader(buffer)
        #expect(header.isTransportFeedback && !header.isNACK)
        return try RTCPTransportFeedback(buffer, header: header)
    }

    /// Arrival times the feedback describes: the reference time plus the running sum of deltas.
    func decodedTimes(_ feedback: RTCPTransportFeedback) -> [Int64?] {
        var time = Int64(feedback.referenceTime) * 64_000
        return feedback.packets.map { packet in
            packet.receivedDelta.map { delta in
                time += delta
                return time
            }
        }
    }

    /// What a receiver of the feedback can know of `arrivals`: times on a 250 µs grid from the reference.
    func expectedTimes(_ arrivals: ArraySlice<Int64?>) -> [Int64?] {
        guard let first = arrivals.lazy.compactMap({ $0 }).first else { return arrivals.map { _ in nil } }
        let origin = floorDivide(first, 64_000) * 64_000
        return arrivals.map { $0.map { origin + floorDivide($0 - origin, 250) * 250 } }
    }

    // MARK: Chrome's packets (from pion/rtcp's tests)

    /// A run-length chunk of one small delta; RFC 3550 padding of one byte.
    @Test func parsesChromeSingleRunLength() throws {
        let feedback = try parse(ByteBuffer(bytes: hex("afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401")))
        #expect(feedback == RTCPTransportFeedback(senderSSRC: 4_195_875_351, mediaSSRC: 1_124_282_272, baseSequence: 153,
                                                  referenceTime: 4_057_090, feedbackCount: 23,
                                                  packets: [(sequence: 153, receivedDelta: 37_000)]))
    }

    /// A run of seven small deltas; three bytes of padding.
    @Test func parsesChromeRunOfSeven() throws {
        let feedback = try parse(ByteBuffer(bytes: hex("""
            afcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c 10000003
            """)))
        #expect(feedback.baseSequence == 4 && feedback.referenceTime == 1_074_030 && feedback.feedbackCount == 1)
        #expect(feedback.packets.map(\.sequence) == Array(4...10))
        #expect(feedback.packets.map(\.receivedDelta) == [19_000, 9_000, 9_000, 4_000, 3_000, 3_000, 4_000])
    }

    /// A two-bit vector (five small, one lost, one large) then a run of 48 lost of which only 2 count.
    static let chromeMixed = hex("""
        afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa 7b010901
        """)

    @Test func parsesChromeTwoBitVectorAndOverlongRun() throws {
        let feedback = try parse(ByteBuffer(bytes: Self.chromeMixed))
        #expect(feedback.senderSSRC == 2_608_133_663 && feedback.mediaSSRC == 2_473_712_828)
        #expect(feedback.referenceTime == 6_551_830 && feedback.feedbackCount == 179)
        #expect(feedback.packets.map(\.sequence) == Array(34108...34116))
        #expect(feedback.packets.map(\.receivedDelta) == [38_750, 42_500, 26_500, 42_500, 30_750, nil, 66_250, nil, nil])
    }

    /// The same arrivals through the builder give Chrome's bytes, but for the final run that covers only
    /// the two lost packets left (Chrome's ran on to 48).
    @Test func encodesLikeChrome() throws {
        let origin: Int64 = 6_551_830 * 64_000
        var time = origin
        let deltas: [Int64?] = [38_750, 42_500, 26_500, 42_500, 30_750, nil, 66_250, nil, nil]
        let arrivals: [Int64?] = deltas.map { delta in
            delta.map { time += $0; return time }
        }
        let (packet, encoded) = RTCPCompound.transportFeedback(senderSSRC: 2_608_133_663, mediaSSRC: 2_473_712_828,
                                                               baseSequence: 34108, feedbackCount: 179, packets: arrivals)
        #expect(encoded == 9)
        var expected = Self.chromeMixed
        expected[22] = 0x00
        expected[23] = 0x02
        #expect(packet.bytes == expected)
    }

    /// One-bit status vectors, as pion writes them from Chrome's values.
    @Test func parsesOneBitVectors() throws {
        let twelve = try parse(ByteBuffer(bytes: hex("""
            afcd0007 fa17fa17 43032fa0 9c14000c 75842000 bec0c13f 3b3f5390 3b000003
            """)))
        #expect(twelve.baseSequence == 39956 && twelve.referenceTime == 7_701_536)
        #expect(twelve.packets.map(\.receivedDelta) == [48_250, 15_750, 14_750, 15_750, 20_750, nil, 36_000, 14_750, nil, nil, nil, nil])
        // The draft's §3.1.4 example chunk 0x9F1C, zero-padded without the P bit.
        let draft = try parse(ByteBuffer(bytes: hex("8fcd0007 00000001 00000002 0000000e 00000100 9f1c0102 03040506 07080000")))
        #expect(draft.referenceTime == 1)
        #expect(draft.packets.map(\.receivedDelta) == [nil, 250, 500, 750, 1000, 1250, nil, nil, nil, 1500, 1750, 2000, nil, nil])
    }

    @Test func parsesEdgeValues() throws {
        let empty = try parse(ByteBuffer(bytes: hex("8fcd0004 9acb0442 00000000 00000000 00000000")))
        #expect(empty.packets.isEmpty && empty.senderSSRC == 0x9ACB_0442)
        // A negative reference time, a negative large delta, sequence numbers across the wrap.
        let negative = try parse(ByteBuffer(bytes: hex("8fcd0006 00000001 00000002 ffff0002 ffffff05 d8000180 00000000")))
        #expect(negative.referenceTime == -1 && negative.feedbackCount == 5)
        #expect(negative.packets.map(\.sequence) == [65535, 0])
        #expect(negative.packets.map(\.receivedDelta) == [1 * 250, -32768 * 250])
    }

    @Test func refusesMalformedFeedback() {
        // Reserved symbol (3) in a two-bit vector and in a run.
        #expect(throws: RTPError.malformed) { try parse(ByteBuffer(bytes: hex("8fcd0005 00000001 00000002 00000001 00000000 f0000000"))) }
        #expect(throws: RTPError.malformed) { try parse(ByteBuffer(bytes: hex("8fcd0005 00000001 00000002 00000001 00000000 60010000"))) }
        // Three small deltas announced, two present; statuses announced, no chunk.
        #expect(throws: RTPError.badLength) { try parse(ByteBuffer(bytes: hex("8fcd0005 00000001 00000002 00000003 00000000 20030101"))) }
        #expect(throws: RTPError.badLength) { try parse(ByteBuffer(bytes: hex("8fcd0004 00000001 00000002 00000005 00000000"))) }
        // Deltas hidden in the padding do not count.
        #expect(throws: RTPError.badLength) { try parse(ByteBuffer(bytes: hex("afcd0005 00000001 00000002 00000001 00000000 20010002"))) }
        #expect(throws: RTPError.tooShort) { try parse(ByteBuffer(bytes: hex("8fcd0003 00000001 00000002 00000000"))) }
    }

    // MARK: Builder

    @Test func roundTripsLossesLargeAndNegativeDeltas() throws {
        let t: Int64 = 3_600_000_123
        let arrivals: [Int64?] = [
            t, t + 1_000, nil, t + 5_000, t + 5_000, t + 200_000, t + 150_000, nil, nil, t + 151_000, t + 151_249,
            t + 151_250, t - 2_000_000, t + 6_000_000, nil, t + 6_000_100, t + 6_000_400, t + 6_064_000, nil,
        ]
        let (packet, encoded) = RTCPCompound.transportFeedback(senderSSRC: 11, mediaSSRC: 22, baseSequence: 65530,
                                                               feedbackCount: 200, packets: arrivals)
        #expect(encoded == arrivals.count)
        #expect(packet.readableBytes % 4 == 0)
        let feedback = try parse(packet)
        #expect(feedback.senderSSRC == 11 && feedback.mediaSSRC == 22 && feedback.feedbackCount == 200)
        #expect(feedback.baseSequence == 65530)
        #expect(feedback.packets.map(\.sequence) == (0..<arrivals.count).map { UInt16(truncatingIfNeeded: 65530 + $0) })
        #expect(feedback.referenceTime == Int32(t / 64_000))
        #expect(decodedTimes(feedback) == expectedTimes(arrivals[...]))
        #expect(feedback.packets[0].receivedDelta == (t % 64_000) / 250 * 250, "the first delta counts from the reference time")
        #expect(feedback.packets[6].receivedDelta == -50_000, "a packet that arrived before its predecessor")
    }

    @Test func stopsWhereADeltaOverflowsAndResumes() throws {
        let t: Int64 = 1_000_000
        let arrivals: [Int64?] = [t, t + 100, nil, t + 9_000_000, t + 9_000_250]
        let first = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 10, feedbackCount: 0, packets: arrivals)
        #expect(first.encoded == 3, "9 s is past the ±8.19 s of a 2-byte delta")
        #expect(decodedTimes(try parse(first.packet)) == expectedTimes(arrivals[..<3]))
        let rest = Array(arrivals[3...])
        let second = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 13, feedbackCount: 1, packets: rest)
        #expect(second.encoded == 2)
        let feedback = try parse(second.packet)
        #expect(feedback.baseSequence == 13)
        #expect(decodedTimes(feedback) == expectedTimes(rest[...]))
    }

    @Test func splitsLongFeedbackUnderTheSizeLimit() throws {
        var rng = TestRandom(seed: 2)
        var time: Int64 = 5_000_000_000
        let arrivals: [Int64?] = (0..<5000).map { _ in
            time += Int64.random(in: -2_000...300_000, using: &rng)
            return Int.random(in: 0..<10, using: &rng) < 2 ? nil : time
        }
        var start = 0
        var feedbacks = 0
        while start < arrivals.count {
            let slice = Array(arrivals[start...])
            let (packet, encoded) = RTCPCompound.transportFeedback(
                senderSSRC: 1, mediaSSRC: 2, baseSequence: UInt16(truncatingIfNeeded: start),
                feedbackCount: UInt8(truncatingIfNeeded: feedbacks), packets: slice)
            #expect(encoded > 0)
            #expect(packet.readableBytes <= RTCPCompound.maxTransportFeedbackSize)
            let feedback = try parse(packet)
            #expect(feedback.packets.count == encoded)
            #expect(decodedTimes(feedback) == expectedTimes(slice[..<encoded]))
            start += encoded
            feedbacks += 1
        }
        #expect(feedbacks > 3, "large deltas need two bytes each: 5000 packets do not fit one feedback")
    }

    @Test func longLossRunsAreRunLengthEncoded() throws {
        let arrivals: [Int64?] = [640_000] + Array(repeating: nil, count: 3000) + [700_000]
        let (packet, encoded) = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 0, feedbackCount: 0, packets: arrivals)
        #expect(encoded == 3002)
        #expect(packet.readableBytes == 28, "a one-bit vector, a run of lost packets, a run of one, two deltas")
        #expect(decodedTimes(try parse(packet)) == expectedTimes(arrivals[...]))

        let (allLost, count) = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 0, feedbackCount: 0,
                                                              packets: Array(repeating: nil, count: 100))
        #expect(count == 100)
        let feedback = try parse(allLost)
        #expect(feedback.referenceTime == 0 && feedback.packets.allSatisfy { $0.receivedDelta == nil })

        let (empty, none) = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 9, feedbackCount: 0, packets: [])
        #expect(none == 0)
        #expect(try parse(empty).packets.isEmpty)
    }

    @Test func chunkEncoderChoosesTheDensestChunk() {
        func encode(_ statuses: [UInt8]) -> [UInt16] {
            var encoder = StatusChunkEncoder()
            var chunks: [UInt16] = []
            for status in statuses {
                if !encoder.canAdd(status) { chunks.append(encoder.emit()) }
                encoder.add(status)
            }
            if let last = encoder.last() { chunks.append(last) }
            return chunks
        }
        #expect(encode([0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]) == [0x9F1C], "the draft's one-bit example")
        #expect(encode([0, 2, 1, 1, 1, 0, 0]) == [0xC950])
        #expect(encode(Array(repeating: 0, count: 221)) == [0x00DD], "the draft's run-length example")
        #expect(encode(Array(repeating: 1, count: 24)) == [0x2018])
        #expect(encode(Array(repeating: 2, count: 9000)) == [0x5FFF, 0x4000 | UInt16(9000 - 0x1FFF)])
        // A large delta after eight small ones: seven go out as a two-bit vector.
        #expect(encode([1, 1, 1, 1, 1, 1, 1, 0, 2]) == [0xD555, 0xC800])
    }

    @Test func arrivalTimesBeforeTheClocksZero() throws {
        let arrivals: [Int64?] = [-1, -250, 100_000]
        let (packet, encoded) = RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 0, feedbackCount: 0, packets: arrivals)
        #expect(encoded == 3)
        let feedback = try parse(packet)
        #expect(feedback.referenceTime == -1)
        #expect(decodedTimes(feedback) == expectedTimes(arrivals[...]))
    }
}

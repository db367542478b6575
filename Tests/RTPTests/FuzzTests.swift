import NIOCore
import Testing
@testable import RTP

/// Random and mutated input for every parser: they may refuse it, but must never crash or trap.
@Suite struct FuzzTests {
    static func validRTCP() -> [ByteBuffer] {
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 2, cumulativeLost: -3, highestSequence: 4, jitter: 5, lastSR: 6,
                                    delaySinceLastSR: 7)
        let arrivals: [Int64?] = (0..<40).map { (i: Int) -> Int64? in
            i % 5 == 0 ? nil : Int64(i * 3_000 + (i % 3) * 70_000)
        }
        return [
            RTCPCompound.senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
                                                       reports: [block, block])),
            RTCPCompound.receiverReport(senderSSRC: 9, reports: [block]),
            RTCPCompound.sdes(ssrc: 1, cname: "fuzz"),
            ByteBuffer(bytes: hex("82ca0006 00000001 01036162 63000000 00000002 01027879 02014e00")),
            RTCPCompound.bye(ssrcs: [1, 2], reason: "bye"),
            RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [1, 3, 5, 40, 41]),
            RTCPCompound.fir(senderSSRC: 1, mediaSSRC: 2, sequence: 3),
            RTCPCompound.remb(senderSSRC: 1, bitrate: 1_500_000, ssrcs: [2, 3]),
            RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2),
            RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 7, feedbackCount: 1, packets: arrivals).packet,
            ByteBuffer(bytes: hex("afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa 7b010901")),
            ByteBuffer(bytes: hex("afcd0007 fa17fa17 43032fa0 9c14000c 75842000 bec0c13f 3b3f5390 3b000003")),
        ]
    }

    /// Runs every parser on `header`, whatever its type. Returns how many accepted it.
    @discardableResult
    static func parseAll(_ buffer: ByteBuffer, _ header: RTCPHeader) -> Int {
        var accepted = 0
        func attempt<T>(_ parse: () throws(RTPError) -> T) { if (try? parse()) != nil { accepted += 1 } }
        attempt { () throws(RTPError) in try RTCPSenderReport(buffer, header: header) }
        attempt { () throws(RTPError) in try RTCPReceiverReport(buffer, header: header) }
        attempt { () throws(RTPError) in _ = try RTCPSourceDescription(buffer, header: header).cnames }
        attempt { () throws(RTPError) in try RTCPBye(buffer, header: header) }
        attempt { () throws(RTPError) in try RTCPNack(buffer, header: header) }
        attempt { () throws(RTPError) in try RTCPFir(buffer, header: header) }
        attempt { () throws(RTPError) in try RTCPRemb(buffer, header: header) }
        attempt { () throws(RTPError) in try RTCPTransportFeedback(buffer, header: header) }
        _ = RTCPCompound.isREMB(header, in: buffer)
        _ = RTCPCompound.mediaSSRC(of: header, in: buffer)
        return accepted
    }

    @Test func rtcpParsersSurviveGarbage() {
        var rng = TestRandom(seed: 4)
        let valid = Self.validRTCP()
        var accepted = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:
                // Pure noise, with a plausible first two bytes half the time.
                bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if bytes.count >= 4, Bool.random(using: &rng) {
                    bytes[0] = 0x80 | (bytes[0] & 0x3F)
                    bytes[1] = UInt8.random(in: 200...206, using: &rng)
                    bytes[2] = 0
                    bytes[3] = UInt8((bytes.count / 4) - 1)
                }
            case 1:
                // A valid packet, truncated, its length word kept consistent with what is left.
                bytes = valid.randomElement(using: &rng)?.bytes ?? []
                let words = Int.random(in: 1...(bytes.count / 4), using: &rng)
                bytes = Array(bytes.prefix(4 * words))
                bytes[2] = 0
                bytes[3] = UInt8(words - 1)
            default:
                // A valid compound with a few bytes changed.
                bytes = (0..<Int.random(in: 1...3, using: &rng)).flatMap { _ in valid.randomElement(using: &rng)?.bytes ?? [] }
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : bytes[i] ^ (1 << UInt8.random(in: 0...7, using: &rng))
                }
            }
            let buffer = ByteBuffer(bytes: bytes)
            if let headers = try? RTCPCompound.packets(buffer) {
                for header in headers { accepted += Self.parseAll(buffer, header) }
            }
            // Headers that do not describe the buffer at all.
            let stray = RTCPHeader(offset: Int.random(in: -8...90, using: &rng), length: 4 * Int.random(in: 0...25, using: &rng),
                                   count: UInt8.random(in: 0...31, using: &rng), packetType: UInt8.random(in: 200...206, using: &rng),
                                   senderSSRC: nil, isREMB: Bool.random(using: &rng))
            accepted += Self.parseAll(buffer, stray)
        }
        #expect(accepted > 1_000, "the mutations should leave many packets parseable")
    }

    @Test func rtpExtensionParsingSurvivesGarbage() throws {
        var rng = TestRandom(seed: 5)
        var valid = ByteBuffer()
        RTPPacketWriter.write(into: &valid, marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4],
                              extensions: [(id: 1, value: ByteBuffer(bytes: [1])), (id: 2, value: ByteBuffer(bytes: [1, 2, 3]))],
                              payload: ByteBuffer(bytes: Array(repeating: 9, count: 20)))
        var twoByte = ByteBuffer()
        RTPPacketWriter.write(into: &twoByte, marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                              extensions: [(id: 100, value: ByteBuffer()), (id: 2, value: ByteBuffer(bytes: Array(repeating: 5, count: 30)))],
                              payload: ByteBuffer(bytes: [1, 2]))
        let seeds = [valid.bytes, twoByte.bytes]
        for round in 0..<20_000 {
            var bytes = seeds[round % 2]
            if round % 3 == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            }
            for _ in 0..<Int.random(in: 0...4, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<min(bytes.count, 48), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            guard let packet = try? RTPPacket(ByteBuffer(bytes: bytes)) else { continue }
            for element in packet.extensionElements() {
                #expect(element.offset >= 12 && element.offset + element.length <= packet.payloadOffset)
                _ = packet.extensionValue(element)
            }
            for id in [0, 1, 2, 15, 100] as [UInt8] { _ = packet.extensionElement(id: id) }
            _ = packet.payload
        }
    }
}

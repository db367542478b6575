import NIOCore
import Testing
@testable import RTP

@Suite struct RTCPFeedbackTests {
    func parse<T>(_ buffer: ByteBuffer, _ parser: (ByteBuffer, RTCPHeader) throws(RTPError) -> T) throws -> T {
        try parser(buffer, onlyHeader(buffer))
    }

    // MARK: NACK

    /// Reduced-size RTCP (RFC 5506): a lone NACK, no report first.
    @Test func parsesAHandBuiltNACK() throws {
        let buffer = ByteBuffer(bytes: hex("81cd0003 00000001 00000002 00640005"))
        let header = try onlyHeader(buffer)
        #expect(header.isNACK && !header.isTransportFeedback && !header.isPLI)
        #expect(try RTCPNack(buffer, header: header) == RTCPNack(senderSSRC: 1, mediaSSRC: 2, lost: [100, 101, 103]))
        #expect(RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [103, 100, 101]).bytes == buffer.bytes)
    }

    @Test func packsNACKsAcrossTheSequenceWrap() throws {
        let buffer = RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [0, 65535, 20, 65534, 1])
        #expect(Array(buffer.bytes[12...]) == hex("fffe0007 00140000"))
        #expect(try parse(buffer, RTCPNack.init).lost == [65534, 65535, 0, 1, 20])
    }

    @Test func packsBitmaskEdgesAndRepeats() throws {
        #expect(try parse(RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [5, 5, 6, 5]), RTCPNack.init).lost == [5, 6])
        let sixteen = RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [10, 26])
        #expect(Array(sixteen.bytes[12...]) == hex("000a8000"), "a distance of 16 is the BLP's last bit")
        let seventeen = RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [10, 27])
        #expect(Array(seventeen.bytes[12...]) == hex("000a0000 001b0000"))
        let full = RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: (65530..<65547).map { UInt16(truncatingIfNeeded: $0) })
        #expect(Array(full.bytes[12...]) == hex("fffaffff"))
    }

    @Test func capsTheEntriesOfOneNACK() throws {
        let lost = (0..<200).map { UInt16($0 * 17) }
        let buffer = RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: lost)
        #expect(buffer.readableBytes == 12 + 4 * RTCPCompound.maxNackEntries)
        #expect(try parse(buffer, RTCPNack.init).lost == Array(lost.prefix(RTCPCompound.maxNackEntries)))
    }

    @Test func nackRoundTripsRandomLossPatterns() throws {
        var rng = TestRandom(seed: 1)
        for _ in 0..<500 {
            let base = UInt16.random(in: 0...UInt16.max, using: &rng)
            let offsets = (0..<Int.random(in: 1...60, using: &rng)).map { _ in UInt16.random(in: 0..<3000, using: &rng) }
            let lost = offsets.shuffled(using: &rng).map { base &+ $0 }
            let expected = Set(offsets).sorted().map { base &+ $0 }
            let buffer = RTCPCompound.nack(senderSSRC: 7, mediaSSRC: 8, lost: lost)
            #expect(try parse(buffer, RTCPNack.init).lost == expected, "base \(base)")
        }
    }

    // MARK: FIR

    @Test func firRequests() throws {
        let one = ByteBuffer(bytes: hex("84ce0004 00000001 00000000 0000abcd 07000000"))
        let header = try onlyHeader(one)
        #expect(header.isFIR && !header.isPLI)
        #expect(try RTCPFir(one, header: header) == RTCPFir(senderSSRC: 1, entries: [(ssrc: 0xABCD, sequence: 7)]))
        #expect(RTCPCompound.fir(senderSSRC: 1, mediaSSRC: 0xABCD, sequence: 7).bytes == one.bytes)
        let two = ByteBuffer(bytes: hex("84ce0006 00000001 00000000 00000011 01000000 00000022 02000000"))
        #expect(try parse(two, RTCPFir.init).entries.map(\.ssrc) == [0x11, 0x22])
        #expect(try parse(two, RTCPFir.init).entries.map(\.sequence) == [1, 2])
    }

    // MARK: REMB

    /// Sent by Chrome while watching a 6 Mb/s stream (from pion/rtcp's tests): mantissa 139487, exponent 6.
    static let chromeREMB = hex("8fce0005 00000001 00000000 52454d42 011a20df 4874ed16")

    @Test func parsesChromesREMB() throws {
        let buffer = ByteBuffer(bytes: Self.chromeREMB)
        let header = try onlyHeader(buffer)
        #expect(header.isREMB && RTCPCompound.isREMB(header, in: buffer))
        #expect(try RTCPRemb(buffer, header: header) == RTCPRemb(senderSSRC: 1, bitrate: 8_927_168, ssrcs: [1_215_622_422]))
        #expect(RTCPCompound.remb(senderSSRC: 1, bitrate: 8_927_168, ssrcs: [1_215_622_422]).bytes == Self.chromeREMB)
        // One bit per second less no longer fits the mantissa: it rounds down by a whole 2^6.
        let lower = RTCPCompound.remb(senderSSRC: 1, bitrate: 8_927_167, ssrcs: [])
        #expect(try parse(lower, RTCPRemb.init).bitrate == 8_927_104)
    }

    @Test(arguments: [0, 1, 0x3FFFF, 0x40000, 0x40001, 1_000_000_000, (1 << 40) + 12345, 1 << 63, UInt64.max] as [UInt64])
    func rembKeepsTheTopEighteenBits(bitrate: UInt64) throws {
        let buffer = RTCPCompound.remb(senderSSRC: 3, bitrate: bitrate, ssrcs: [1, 2, 3])
        let remb = try parse(buffer, RTCPRemb.init)
        let dropped = max(0, 64 - bitrate.leadingZeroBitCount - 18)
        #expect(remb.bitrate == (bitrate >> dropped) << dropped)
        #expect(remb.ssrcs == [1, 2, 3] && remb.senderSSRC == 3)
    }

    @Test func rembEdgeCases() throws {
        #expect(Array(RTCPCompound.remb(senderSSRC: 0, bitrate: .max, ssrcs: []).bytes[16...]) == hex("00bbffff"))
        // Exponent 63 with a full mantissa is beyond 64 bits: it saturates.
        #expect(try parse(ByteBuffer(bytes: hex("8fce0004 00000000 00000000 52454d42 00ffffff")), RTCPRemb.init).bitrate == .max)
        #expect(try parse(ByteBuffer(bytes: hex("8fce0004 00000000 00000000 52454d42 00bc0000")), RTCPRemb.init).bitrate == 0)
        let notREMB = ByteBuffer(bytes: hex("8fce0004 00000001 00000000 52454d43 00000000"))
        #expect(try !onlyHeader(notREMB).isREMB)
        #expect(throws: RTPError.malformed) { try parse(notREMB, RTCPRemb.init) }
        let missingSSRCs = ByteBuffer(bytes: hex("8fce0004 00000001 00000000 52454d42 02000001"))
        #expect(throws: RTPError.badLength) { try parse(missingSSRCs, RTCPRemb.init) }
        let many = RTCPCompound.remb(senderSSRC: 1, bitrate: 1, ssrcs: Array(0..<300))
        #expect(try parse(many, RTCPRemb.init).ssrcs == Array(0..<255))
    }

    // MARK: Classification

    @Test func classifiesEveryPacketOfACompound() throws {
        var compound = ByteBuffer()
        var parts = [
            RTCPCompound.receiverReport(senderSSRC: 1, reports: []),
            RTCPCompound.sdes(ssrc: 1, cname: "c"),
            RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2),
            RTCPCompound.fir(senderSSRC: 1, mediaSSRC: 2, sequence: 0),
            RTCPCompound.nack(senderSSRC: 1, mediaSSRC: 2, lost: [1]),
            RTCPCompound.remb(senderSSRC: 1, bitrate: 1000, ssrcs: [2]),
            RTCPCompound.transportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequence: 0, feedbackCount: 0, packets: [1000]).packet,
            RTCPCompound.senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0)),
            RTCPCompound.bye(ssrcs: [1], reason: nil),
        ]
        for i in parts.indices { compound.writeBuffer(&parts[i]) }
        let headers = try RTCPCompound.packets(compound)
        #expect(headers.count == 9)
        func flags(_ h: RTCPHeader) -> [Bool] {
            [h.isReceiverReport, h.isSDES, h.isPLI, h.isFIR, h.isNACK, h.isREMB, h.isTransportFeedback, h.isSenderReport, h.isBye]
        }
        for (i, header) in headers.enumerated() {
            #expect(flags(header) == (0..<9).map { $0 == i }, "packet \(i)")
            #expect(RTCPCompound.isREMB(header, in: compound) == (i == 5))
        }
        #expect(RTCPCompound.mediaSSRC(of: headers[4], in: compound) == 2)
    }
}

import NIOCore
import Testing
@testable import RTP

@Suite struct RTCPReportTests {
    /// Field values of a Chrome sender report quoted in pion/rtcp's tests, whose header there says 7 words;
    /// here with the length its 52 bytes have (12).
    static let chromeSR = hex("""
        81c8000c 902f9e2e da8bd1fc dddda05a aaf4edd5 00000001 00000002
        bc5e9a40 00000000 000046e1 00000111 09f36432 00024a79
        """)

    @Test func parsesASenderReportWithOneBlock() throws {
        let buffer = ByteBuffer(bytes: Self.chromeSR)
        let header = try onlyHeader(buffer)
        #expect(header.isSenderReport && !header.isReceiverReport)
        let sr = try RTCPSenderReport(buffer, header: header)
        #expect(sr == RTCPSenderReport(
            ssrc: 0x902F_9E2E, ntpTimestamp: 0xDA8B_D1FC_DDDD_A05A, rtpTimestamp: 0xAAF4_EDD5, packetCount: 1, octetCount: 2,
            reports: [RTCPReportBlock(ssrc: 0xBC5E_9A40, fractionLost: 0, cumulativeLost: 0, highestSequence: 0x46E1,
                                      jitter: 273, lastSR: 0x9F3_6432, delaySinceLastSR: 150_137)]))
        #expect(sr.compactNTP == 0xD1FC_DDDD)
        #expect(RTCPCompound.senderReport(sr).bytes == Self.chromeSR, "the builder writes the same bytes")
    }

    /// A compound packet as Chrome sends it (from pion/rtcp's tests): an SR without blocks, then an SDES CNAME.
    @Test func walksAChromeSenderReportAndCNAME() throws {
        let buffer = ByteBuffer(bytes: hex("""
            80c80006 2b7ec0c5 e020a2a9 52a53fc0 2e48a552 00000046 0000121d
            81ca0006 2b7ec0c5 01104c63 49667a58 6f6e446f 72645365 57360000
            """))
        let packets = try RTCPCompound.packets(buffer)
        #expect(packets.map(\.packetType) == [200, 202])
        let sr = try RTCPSenderReport(buffer, header: packets[0])
        #expect(sr.ssrc == 0x2B7E_C0C5 && sr.packetCount == 70 && sr.octetCount == 4637 && sr.reports.isEmpty)
        #expect(sr.rtpTimestamp == 0x2E48_A552)
        #expect(packets[1].isSDES)
        let sdes = try RTCPSourceDescription(buffer, header: packets[1])
        #expect(sdes.cnames == [0x2B7E_C0C5: "LcIfzXonDordSeW6"])
        #expect(RTCPCompound.sdes(ssrc: 0x2B7E_C0C5, cname: "LcIfzXonDordSeW6").bytes == Array(buffer.readableBytesView.suffix(28)))
    }

    @Test func reportBlocksRoundTripWithSignedLoss() throws {
        let blocks = [
            RTCPReportBlock(ssrc: 1, fractionLost: 0x40, cumulativeLost: -5, highestSequence: 0x0001_FFFF, jitter: 9,
                            lastSR: 0xABCD_EF01, delaySinceLastSR: 65_536),
            RTCPReportBlock(ssrc: 2, fractionLost: 255, cumulativeLost: 0x7F_FFFF, highestSequence: 0, jitter: 0,
                            lastSR: 0, delaySinceLastSR: 0),
            RTCPReportBlock(ssrc: 3, fractionLost: 0, cumulativeLost: -0x80_0000, highestSequence: .max, jitter: .max,
                            lastSR: .max, delaySinceLastSR: .max),
        ]
        let sr = RTCPSenderReport(ssrc: 9, ntpTimestamp: 0x0102_0304_0506_0708, rtpTimestamp: 7, packetCount: 100,
                                  octetCount: 16_000, reports: blocks)
        let srBuffer = RTCPCompound.senderReport(sr)
        #expect(srBuffer.readableBytes == 28 + 3 * 24)
        #expect(Array(srBuffer.bytes[32..<36]) == [0x40, 0xFF, 0xFF, 0xFB], "-5 as 24-bit two's complement")
        #expect(try RTCPSenderReport(srBuffer, header: onlyHeader(srBuffer)) == sr)

        let rrBuffer = RTCPCompound.receiverReport(senderSSRC: 9, reports: blocks)
        #expect(try RTCPReceiverReport(rrBuffer, header: onlyHeader(rrBuffer)) == RTCPReceiverReport(ssrc: 9, reports: blocks))
        #expect(RTCPCompound.receiverReport(senderSSRC: 5, reports: []).bytes == RTCPCompound.emptyReceiverReport(senderSSRC: 5).bytes)

        // Beyond 24 bits the loss is clamped, not wrapped.
        var wide = blocks[0]
        wide.cumulativeLost = .max
        let clamped = RTCPCompound.receiverReport(senderSSRC: 9, reports: [wide])
        #expect(try RTCPReceiverReport(clamped, header: onlyHeader(clamped)).reports[0].cumulativeLost == 0x7F_FFFF)
        wide.cumulativeLost = .min
        let clampedLow = RTCPCompound.receiverReport(senderSSRC: 9, reports: [wide])
        #expect(try RTCPReceiverReport(clampedLow, header: onlyHeader(clampedLow)).reports[0].cumulativeLost == -0x80_0000)

        // The 5-bit count caps the blocks written.
        let many = RTCPCompound.receiverReport(senderSSRC: 1, reports: Array(repeating: blocks[0], count: 40))
        #expect(try RTCPReceiverReport(many, header: onlyHeader(many)).reports.count == 31)
    }

    @Test func sourceDescriptionsWithSeveralChunksAndItems() throws {
        let buffer = ByteBuffer(bytes: hex("""
            82ca0006 00000001 01036162 63000000 00000002 01027879 02014e00
            """))
        let sdes = try RTCPSourceDescription(buffer, header: onlyHeader(buffer))
        #expect(sdes == RTCPSourceDescription(chunks: [
            (ssrc: 1, items: [(type: 1, value: Array("abc".utf8))]),
            (ssrc: 2, items: [(type: 1, value: Array("xy".utf8)), (type: 2, value: Array("N".utf8))]),
        ]))
        #expect(sdes.cnames == [1: "abc", 2: "xy"])
    }

    @Test(arguments: ["", "a", "ab", "abc", "abcd", "{6c8a0c8e-1d7b-4a4e-9ac4-2b9c3f1f1f0e}", "héllo→✓"])
    func cnamesRoundTrip(cname: String) throws {
        let buffer = RTCPCompound.sdes(ssrc: 0xFEED, cname: cname)
        #expect(buffer.readableBytes % 4 == 0)
        #expect(try RTCPSourceDescription(buffer, header: onlyHeader(buffer)).cnames == [0xFEED: cname])
    }

    @Test func longCNAMEsAreCutOnACharacterBoundary() throws {
        let ascii = RTCPCompound.sdes(ssrc: 1, cname: String(repeating: "x", count: 300))
        #expect(try RTCPSourceDescription(ascii, header: onlyHeader(ascii)).cnames[1] == String(repeating: "x", count: 255))
        // 127 two-byte characters fill 254 bytes; the 128th would not fit in 255.
        let wide = RTCPCompound.sdes(ssrc: 1, cname: String(repeating: "é", count: 200))
        #expect(try RTCPSourceDescription(wide, header: onlyHeader(wide)).cnames[1] == String(repeating: "é", count: 127))
    }

    @Test func goodbyes() throws {
        let handBuilt = ByteBuffer(bytes: hex("81cb0003 0000002a 04676f6e 65000000"))
        let header = try onlyHeader(handBuilt)
        #expect(header.isBye)
        #expect(try RTCPBye(handBuilt, header: header) == RTCPBye(ssrcs: [42], reason: "gone"))
        #expect(RTCPCompound.bye(ssrcs: [42], reason: "gone").bytes == handBuilt.bytes)

        for (ssrcs, reason) in [([UInt32](), nil), ([1, 2, 3], nil), ([7], "x"), ([7, 8], "shutting down"), ([1], "")] as [([UInt32], String?)] {
            let buffer = RTCPCompound.bye(ssrcs: ssrcs, reason: reason)
            #expect(buffer.readableBytes % 4 == 0)
            let expectedReason = reason?.isEmpty == true ? nil : reason
            #expect(try RTCPBye(buffer, header: onlyHeader(buffer)) == RTCPBye(ssrcs: ssrcs, reason: expectedReason))
        }
        let many = RTCPCompound.bye(ssrcs: Array(0..<40), reason: nil)
        #expect(try RTCPBye(many, header: onlyHeader(many)).ssrcs == Array(0..<31))
    }

    @Test func reportParsersRefuseMalformedPackets() throws {
        func parse<T>(_ bytes: [UInt8], _ parser: (ByteBuffer, RTCPHeader) throws(RTPError) -> T) throws(RTPError) -> T {
            let buffer = ByteBuffer(bytes: bytes)
            let packets = try RTCPCompound.packets(buffer)
            return try parser(buffer, packets[0])
        }
        var twoBlocksClaimed = Self.chromeSR
        twoBlocksClaimed[0] = 0x82
        #expect(throws: RTPError.badLength) { try parse(twoBlocksClaimed, RTCPSenderReport.init) }
        #expect(throws: RTPError.tooShort) { try parse(hex("80c80001 00000001"), RTCPSenderReport.init) }
        #expect(throws: RTPError.unexpectedType) { try parse(Self.chromeSR, RTCPReceiverReport.init) }
        #expect(throws: RTPError.unexpectedType) { try parse(Self.chromeSR, RTCPBye.init) }
        // SDES: no null item, an item running past the end, a second chunk missing.
        #expect(throws: RTPError.badLength) { try parse(hex("81ca0002 00000001 01026162"), RTCPSourceDescription.init) }
        #expect(throws: RTPError.badLength) { try parse(hex("81ca0002 00000001 01096162"), RTCPSourceDescription.init) }
        #expect(throws: RTPError.badLength) { try parse(hex("82ca0002 00000001 01010000"), RTCPSourceDescription.init) }
        // BYE: more SSRCs claimed than present, a reason longer than the packet.
        #expect(throws: RTPError.badLength) { try parse(hex("83cb0002 00000001 00000002"), RTCPBye.init) }
        #expect(throws: RTPError.badLength) { try parse(hex("81cb0002 0000002a 09616263"), RTCPBye.init) }
        // RFC 3550 padding: a count of 0, or more than the packet holds, is refused; a sane one is stripped.
        #expect(throws: RTPError.badLength) { try parse(hex("a0c90002 00000001 00000000"), RTCPReceiverReport.init) }
        #expect(throws: RTPError.badLength) { try parse(hex("a0c90002 00000001 00000009"), RTCPReceiverReport.init) }
        #expect(try parse(hex("a0c90002 00000001 00000004"), RTCPReceiverReport.init) == RTCPReceiverReport(ssrc: 1))
        #expect(throws: RTPError.tooShort) { try parse(hex("a0c90002 00000001 00000008"), RTCPReceiverReport.init) }

        // A header that does not describe the buffer it is given.
        let buffer = ByteBuffer(bytes: Self.chromeSR)
        let stray = RTCPHeader(offset: 40, length: 52, count: 1, packetType: 200, senderSSRC: nil, isREMB: false)
        #expect(throws: RTPError.badLength) { try RTCPSenderReport(buffer, header: stray) }
        let negative = RTCPHeader(offset: -4, length: 52, count: 1, packetType: 200, senderSSRC: nil, isREMB: false)
        #expect(throws: RTPError.badLength) { try RTCPSenderReport(buffer, header: negative) }
        let wrongLength = RTCPHeader(offset: 0, length: 48, count: 1, packetType: 200, senderSSRC: nil, isREMB: false)
        #expect(throws: RTPError.badLength) { try RTCPSenderReport(buffer, header: wrongLength) }
    }

    @Test func parsesWithAReaderIndexOffset() throws {
        var buffer = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE] + Self.chromeSR)
        buffer.moveReaderIndex(forwardBy: 3)
        let sr = try RTCPSenderReport(buffer, header: onlyHeader(buffer))
        #expect(sr.ssrc == 0x902F_9E2E && sr.reports.count == 1)
    }
}

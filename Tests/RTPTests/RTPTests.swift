import NIOCore
import Testing
@testable import RTP

@Suite struct RTPTests {
    func packet(csrcs: Int = 0, ext: [UInt8]? = nil, padding: UInt8 = 0, payload: [UInt8] = [1, 2, 3]) -> ByteBuffer {
        var bytes: [UInt8] = [0x80 | UInt8(csrcs) | (ext != nil ? 0x10 : 0) | (padding > 0 ? 0x20 : 0), 0x80 | 96, 0x12, 0x34,
                              0, 0, 0x10, 0, 0xCA, 0xFE, 0xBA, 0xBE]
        for i in 0..<csrcs { bytes += [0, 0, 0, UInt8(i)] }
        if let ext {
            bytes += [0xBE, 0xDE, 0, UInt8(ext.count / 4)] + ext
        }
        bytes += payload
        if padding > 0 { bytes += [UInt8](repeating: 0, count: Int(padding) - 1) + [padding] }
        return ByteBuffer(bytes: bytes)
    }

    @Test func readsAndRewritesHeaderFieldsInPlace() throws {
        var p = try RTPPacket(packet(csrcs: 2, ext: [0x10, 0xAA, 0x21, 0xBB, 0xCC, 0, 0, 0], padding: 4))
        #expect(p.marker)
        #expect(p.payloadType == 96)
        #expect(p.sequenceNumber == 0x1234)
        #expect(p.timestamp == 0x1000)
        #expect(p.ssrc == 0xCAFE_BABE)
        #expect(Array(p.payload.readableBytesView) == [1, 2, 3])
        #expect(p.extensionElement(id: 1).map { Array($0.readableBytesView) } == [0xAA])
        #expect(p.extensionElement(id: 2).map { Array($0.readableBytesView) } == [0xBB, 0xCC])
        #expect(p.extensionElement(id: 3) == nil)
        p.payloadType = 111
        p.ssrc = 42
        p.sequenceNumber = 7
        #expect(p.marker, "rewriting the payload type keeps the marker")
        #expect(p.payloadType == 111)
        #expect(try RTPPacket(p.buffer).ssrc == 42)
    }

    @Test func refusesMalformedPackets() {
        #expect(throws: RTPError.tooShort) { try RTPPacket(ByteBuffer(bytes: [0x80, 0, 0])) }
        #expect(throws: RTPError.badVersion) { try RTPPacket(ByteBuffer(bytes: [UInt8](repeating: 0, count: 12))) }
        #expect(throws: RTPError.badLength) { try RTPPacket(ByteBuffer(bytes: [0x8F] + [UInt8](repeating: 0, count: 20))) }
        #expect(throws: RTPError.badLength) { try RTPPacket(ByteBuffer(bytes: [0xA0] + [UInt8](repeating: 0, count: 10) + [200])) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0...60, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let p = try? RTPPacket(ByteBuffer(bytes: bytes)) {
                _ = p.payload
                _ = p.extensionElement(id: 1)
            }
            _ = try? RTCPCompound.packets(ByteBuffer(bytes: bytes))
        }
    }

    @Test func demultiplexesByFirstByte() {
        #expect(PacketKind.classify(ByteBuffer(bytes: [0x00, 0x01])) == .stun)
        #expect(PacketKind.classify(ByteBuffer(bytes: [22, 0xFE])) == .dtls)
        #expect(PacketKind.classify(ByteBuffer(bytes: [0x80, 96])) == .rtp)
        #expect(PacketKind.classify(ByteBuffer(bytes: [0x80, 200])) == .rtcp)
        #expect(PacketKind.classify(ByteBuffer(bytes: [0x81, 206])) == .rtcp)
        #expect(PacketKind.classify(ByteBuffer(bytes: [0xFF])) == .unknown)
        #expect(PacketKind.classify(ByteBuffer()) == .unknown)
    }

    @Test func walksCompoundRTCP() throws {
        var compound = RTCPCompound.emptyReceiverReport(senderSSRC: 1)
        var pli = RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 99)
        compound.writeBuffer(&pli)
        let packets = try RTCPCompound.packets(compound)
        #expect(packets.map(\.packetType) == [201, 206])
        #expect(packets[1].count == 1)
        #expect(RTCPCompound.mediaSSRC(of: packets[1], in: compound) == 99)
        var truncated = compound
        truncated.moveWriterIndex(to: truncated.writerIndex - 2)
        #expect(throws: RTPError.badLength) { try RTCPCompound.packets(truncated) }
    }

    @Test func unwrapsAcrossWrapsAndReordering() {
        var u = SequenceUnwrapper()
        #expect(u.unwrap(65_534) == 65_534)
        #expect(u.unwrap(65_535) == 65_535)
        #expect(u.unwrap(1) == 65_537)
        #expect(u.unwrap(0) == 65_536)  // late
        #expect(u.unwrap(2) == 65_538)
        var t = TimestampUnwrapper()
        #expect(t.unwrap(UInt32.max - 10) == Int64(UInt32.max) - 10)
        #expect(t.unwrap(5) == Int64(UInt32.max) + 6)
    }
}

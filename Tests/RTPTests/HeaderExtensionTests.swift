import NIOCore
import Testing
@testable import RTP

@Suite struct HeaderExtensionTests {
    func values(_ packet: RTPPacket) -> [(UInt8, [UInt8])] {
        packet.extensionElements().map { ($0.id, packet.extensionValue($0).bytes) }
    }

    func same(_ a: [(UInt8, [UInt8])], _ b: [(UInt8, [UInt8])]) -> Bool {
        a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test func writesTheOneByteForm() throws {
        var out = ByteBuffer()
        let written = RTPPacketWriter.write(
            into: &out, marker: true, payloadType: 111, sequenceNumber: 0xBEEF, timestamp: 0xDEAD_BEEF, ssrc: 0x0102_0304,
            extensions: [(id: 1, value: ByteBuffer(bytes: [0x85])), (id: 3, value: ByteBuffer(bytes: [0x12, 0x34]))],
            payload: ByteBuffer(bytes: [9, 8, 7]))
        #expect(out.bytes == hex("90efbeef deadbeef 01020304 bede0002 10853112 34000000 090807"))
        #expect(written == out.readableBytes)

        let packet = try RTPPacket(out)
        #expect(packet.hasExtension && packet.marker && packet.payloadType == 111)
        #expect(packet.sequenceNumber == 0xBEEF && packet.timestamp == 0xDEAD_BEEF && packet.ssrc == 0x0102_0304)
        #expect(packet.extensionElements() == [RTPHeaderExtensionElement(id: 1, offset: 17, length: 1),
                                                RTPHeaderExtensionElement(id: 3, offset: 19, length: 2)])
        #expect(packet.extensionElement(id: 3)?.bytes == [0x12, 0x34])
        #expect(packet.payload.bytes == [9, 8, 7])
    }

    @Test func writesTheTwoByteFormWhenOneByteCannotCarryAnElement() throws {
        var out = ByteBuffer()
        RTPPacketWriter.write(into: &out, marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                              extensions: [(id: 1, value: ByteBuffer(bytes: [0xAA])), (id: 20, value: ByteBuffer())],
                              payload: ByteBuffer(bytes: [1]))
        #expect(out.bytes == hex("90600001 00000002 00000003 10000002 0101aa14 00000000 01"))
        let packet = try RTPPacket(out)
        #expect(packet.extensionElements() == [RTPHeaderExtensionElement(id: 1, offset: 18, length: 1),
                                                RTPHeaderExtensionElement(id: 20, offset: 21, length: 0)])
        #expect(packet.extensionElement(id: 20)?.readableBytes == 0, "present, with an empty value")
        #expect(packet.extensionElement(id: 1)?.bytes == [0xAA])
        #expect(!packet.marker)

        // Each reason for the two-byte form: an id over 14, an empty value, a value over 16 bytes.
        let cases: [(id: UInt8, value: [UInt8])] = [(15, [1]), (2, []), (2, Array(repeating: 7, count: 17))]
        for element in cases {
            var b = ByteBuffer()
            RTPPacketWriter.write(into: &b, marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                  extensions: [(id: 1, value: ByteBuffer(bytes: [5])), (id: element.id, value: ByteBuffer(bytes: element.value))],
                                  payload: ByteBuffer())
            #expect(b.getInteger(at: 12, as: UInt16.self) == 0x1000)
            #expect(same(values(try RTPPacket(b)), [(1, [5]), (element.id, element.value)]))
        }
    }

    @Test func skipsPaddingInsideTheBlockAndRTPPadding() throws {
        let oneByte = ByteBuffer(bytes: hex("b0600001 00000002 00000003 bede0003 10aa0000 21bbcc00 00000000 0102 0000 0004"))
        let p1 = try RTPPacket(oneByte)
        #expect(same(values(p1), [(1, [0xAA]), (2, [0xBB, 0xCC])]))
        #expect(p1.payload.bytes == [1, 2], "the P bit's 4 bytes are not payload")
        let twoByte = ByteBuffer(bytes: hex("90600001 00000002 00000003 10000002 000101aa 00000200 ff"))
        let p2 = try RTPPacket(twoByte)
        #expect(same(values(p2), [(1, [0xAA]), (2, [])]))
        #expect(p2.payload.bytes == [0xFF])
    }

    @Test func malformedOrForeignBlocksYieldNoElements() throws {
        func packet(_ block: String) throws -> RTPPacket { try RTPPacket(ByteBuffer(bytes: hex("90600001 00000002 00000003" + block + "99"))) }
        // An element longer than the block: nothing from extensionElements(), but an earlier element is still found.
        let overrun = try packet("bede0001 10aa23bb")
        #expect(overrun.extensionElements().isEmpty)
        #expect(overrun.extensionElement(id: 1)?.bytes == [0xAA])
        #expect(overrun.extensionElement(id: 2) == nil)
        #expect(try packet("10000001 0105aabb").extensionElements().isEmpty)
        #expect(try packet("10000001 00000007").extensionElements().isEmpty, "an id without its length octet")
        // ID 15, and ID 0 with a length, end the walk (RFC 8285 §4.2, as libwebrtc reads it).
        #expect(try packet("bede0001 10aaf000").extensionElements() == [RTPHeaderExtensionElement(id: 1, offset: 17, length: 1)])
        #expect(try packet("bede0001 10aa0200").extensionElements().map(\.id) == [1])
        // Another profile's block is not RFC 8285.
        #expect(try packet("12340001 10aa0000").extensionElements().isEmpty)
        #expect(try packet("12340001 10aa0000").extensionElement(id: 1) == nil)
        #expect(try packet("12340001 10aa0000").payload.bytes == [0x99])
        // No block at all.
        let plain = try RTPPacket(ByteBuffer(bytes: hex("80600001 00000002 00000003 99")))
        #expect(!plain.hasExtension && plain.extensionElements().isEmpty && plain.extensionElement(id: 1) == nil)
        // A block whose length runs past the packet is refused by the parser itself.
        #expect(throws: RTPError.badLength) { try packet("bede0009 10aa0000") }
    }

    /// What the SFU does per subscriber: the received packet's elements, renumbered or dropped, and its
    /// payload, as slices written into a fresh packet with the subscriber's header fields.
    @Test func forwardsSlicesOfAReceivedPacket() throws {
        var source = ByteBuffer()
        RTPPacketWriter.write(into: &source, marker: true, payloadType: 96, sequenceNumber: 100, timestamp: 9000, ssrc: 0xAAAA,
                              csrcs: [7, 8],
                              extensions: [(id: 1, value: ByteBuffer(bytes: [0x80])), (id: 3, value: ByteBuffer(bytes: [0, 42])),
                                           (id: 5, value: ByteBuffer(bytes: Array(repeating: 0xEE, count: 20)))],
                              payload: ByteBuffer(bytes: Array(0..<200)))
        let incoming = try RTPPacket(source)
        #expect(incoming.getCSRCCount() == 2)
        let subscriberIDs: [UInt8: UInt8] = [1: 10, 3: 4]
        let forwarded = incoming.extensionElements().lazy.compactMap { element -> (id: UInt8, value: ByteBuffer)? in
            subscriberIDs[element.id].map { (id: $0, value: incoming.extensionValue(element)) }
        }
        var out = ByteBuffer()
        RTPPacketWriter.write(into: &out, marker: incoming.marker, payloadType: 100, sequenceNumber: 7, timestamp: 1234,
                              ssrc: 0xBBBB, csrcs: [UInt32](), extensions: forwarded, payload: incoming.payload)
        let packet = try RTPPacket(out)
        #expect(packet.marker && packet.payloadType == 100 && packet.sequenceNumber == 7 && packet.timestamp == 1234)
        #expect(packet.ssrc == 0xBBBB)
        #expect(same(values(packet), [(10, [0x80]), (4, [0, 42])]))
        #expect(out.getInteger(at: 12, as: UInt16.self) == 0xBEDE)
        #expect(packet.payload.bytes == Array(0..<200))
    }

    @Test func leavesOutWhatNoFormCarries() throws {
        var out = ByteBuffer()
        RTPPacketWriter.write(into: &out, marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
                              csrcs: Array(0..<20),
                              extensions: [(id: 0, value: ByteBuffer(bytes: [1])),
                                           (id: 9, value: ByteBuffer(bytes: Array(repeating: 1, count: 256)))],
                              payload: ByteBuffer(bytes: [3]))
        let packet = try RTPPacket(out)
        #expect(!packet.hasExtension, "no element was writable, so no block")
        #expect(packet.getCSRCCount() == 15)
        #expect(packet.payload.bytes == [3])
    }

    @Test func appendsAtTheWriterIndex() throws {
        var out = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE, 0xEE])
        out.moveReaderIndex(forwardBy: 2)
        let written = RTPPacketWriter.write(into: &out, marker: false, payloadType: 8, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                            extensions: [(id: 2, value: ByteBuffer(bytes: [1, 2, 3]))], payload: ByteBuffer(bytes: [4]))
        let slice = try #require(out.getSlice(at: 4, length: written))
        let packet = try RTPPacket(slice)
        #expect(packet.extensionElement(id: 2)?.bytes == [1, 2, 3])
        #expect(packet.payload.bytes == [4])
    }

    @Test func randomRoundTrips() throws {
        var rng = TestRandom(seed: 3)
        for round in 0..<2_000 {
            let count = Int.random(in: 0...8, using: &rng)
            let small = Bool.random(using: &rng)
            let elements: [(id: UInt8, value: ByteBuffer)] = (0..<count).map { _ in
                let id = small ? UInt8.random(in: 1...14, using: &rng) : UInt8.random(in: 0...255, using: &rng)
                let length = small ? Int.random(in: 1...16, using: &rng) : Int.random(in: 0...40, using: &rng)
                return (id, ByteBuffer(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            }
            let csrcs = (0..<Int.random(in: 0...17, using: &rng)).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) }
            let payload = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ssrc = UInt32.random(in: 0...UInt32.max, using: &rng)
            var out = ByteBuffer()
            RTPPacketWriter.write(into: &out, marker: round % 2 == 0, payloadType: UInt8(round % 128), sequenceNumber: UInt16(round),
                                  timestamp: UInt32(round * 3000), ssrc: ssrc, csrcs: csrcs, extensions: elements,
                                  payload: ByteBuffer(bytes: payload))
            let packet = try RTPPacket(out)
            let expected = elements.filter { $0.id != 0 }.map { ($0.id, $0.value.bytes) }
            #expect(same(values(packet), expected), "round \(round)")
            #expect(packet.payload.bytes == payload && packet.ssrc == ssrc && packet.marker == (round % 2 == 0))
            #expect(packet.getCSRCCount() == min(csrcs.count, 15))
            if small, count > 0 { #expect(out.getInteger(at: 12 + 4 * min(csrcs.count, 15), as: UInt16.self) == 0xBEDE) }
        }
    }
}

extension RTPPacket {
    func getCSRCCount() -> Int { Int((buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0) & 0x0F) }
}

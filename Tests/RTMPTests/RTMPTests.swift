import NIOCore
import Testing
@testable import RTMP

@Suite struct RTMPHandshakeTests {
    /// C0 + C1 as ffmpeg 5.1 sends them: version 9.0.124.2 in C1's second word (it also embeds a digest).
    static func clientHello(version: UInt32 = 0x0900_7C02) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(3))
        b.writeInteger(UInt32(1234))
        b.writeInteger(version)
        for i in 0..<(1536 - 8) { b.writeInteger(UInt8(truncatingIfNeeded: i * 7)) }
        return b
    }

    @Test func theSimpleHandshakeAnswersWithAZeroVersionAndEchoesC1() throws {
        var hs = RTMPHandshake()
        var input = Self.clientHello()
        let c1 = input.getSlice(at: 1, length: 1536)!
        var partial = input.readSlice(length: 1000)!
        #expect(try hs.receive(&partial) == nil, "waits for all of C1")
        input = Self.clientHello()
        let reply = try #require(try hs.receive(&input))
        #expect(reply.readableBytes == 1 + 2 * 1536)
        #expect(reply.getInteger(at: 0, as: UInt8.self) == 3)
        #expect(reply.getInteger(at: 5, as: UInt32.self) == 0, "S1's version field is zero: no client checks a digest")
        #expect(reply.getSlice(at: 1 + 1536, length: 1536) == c1, "S2 echoes C1")
        #expect(hs.clientVersion == 0x0900_7C02 && hs.state == .awaitingC2)
        var c2 = ByteBuffer(repeating: 0, count: 1536)
        c2.writeBytes([0x02, 0x00])  // the first chunk already behind it
        #expect(try hs.receive(&c2) == nil)
        #expect(hs.state == .done && c2.readableBytes == 2)
    }

    @Test func aC1WithADigestGetsTheDigestHandshakeThatPlayersCheck() throws {
        // A C1 as ffmpeg makes it: a version, and its digest at the scheme-0 position, keyed with the player key.
        var c1 = Array(Self.clientHello().readableBytesView.dropFirst())
        let at = RTMPDigest.position(c1, base: 8)
        c1.replaceSubrange(at..<at + 32, with: RTMPDigest.digest(c1, at: at, key: RTMPDigest.playerKey))
        var input = ByteBuffer(bytes: [3] + c1)
        var hs = RTMPHandshake()
        let reply = Array(try #require(try hs.receive(&input)).readableBytesView)
        #expect(hs.usedDigest)
        let s1 = Array(reply[1...1536]), s2 = Array(reply[1537...])
        #expect(Array(s1[4..<8]) == [4, 5, 0, 1])
        // What ffmpeg's player checks (rtmp_handshake): S1's digest with the server key's first 36 bytes…
        let p = RTMPDigest.position(s1, base: 8)
        #expect(RTMPDigest.digest(s1, at: p, key: Array(RTMPDigest.serverKey.prefix(36))) == Array(s1[p..<p + 32]))
        // …and S2's last 32 bytes, keyed by the whole server key and the client's digest.
        let key = RTMPDigest.hmac(RTMPDigest.serverKey, Array(c1[at..<at + 32]))
        #expect(RTMPDigest.hmac(key, Array(s2[..<1504])) == Array(s2[1504...]))
        // A broken digest falls back to the simple handshake.
        var broken = c1
        broken[at] ^= 0xFF
        var again = ByteBuffer(bytes: [3] + broken)
        var simple = RTMPHandshake()
        let plain = try #require(try simple.receive(&again))
        #expect(!simple.usedDigest && plain.getInteger(at: 5, as: UInt32.self) == 0)
    }

    @Test func encryptedOrUnknownVersionsAreRefused() {
        var hs = RTMPHandshake()
        var input = Self.clientHello()
        input.setInteger(UInt8(6), at: 0)
        #expect(throws: RTMPError.unsupportedVersion(6)) { try hs.receive(&input) }
    }
}

@Suite struct RTMPChunkTests {
    func roundTrip(_ messages: [(RTMPMessage, UInt8)], writerChunk: Int, readerChunk: UInt32) throws -> [RTMPMessage] {
        var writer = RTMPChunkWriter()
        writer.chunkSize = writerChunk
        var bytes = ByteBuffer()
        for (m, csid) in messages { writer.write(m, chunkStream: csid, into: &bytes) }
        var reader = RTMPChunkReader()
        try reader.setChunkSize(readerChunk)
        var out: [RTMPMessage] = []
        // Fed one byte at a time: every partial chunk is left for the next call.
        var pending = ByteBuffer()
        while let byte = bytes.readSlice(length: 1) {
            pending.writeImmutableBuffer(byte)
            while let m = try reader.next(&pending) { out.append(m) }
            pending.discardReadBytes()
        }
        return out
    }

    @Test func messagesSurviveChunkingWithExtendedTimestamps() throws {
        let big = RTMPMessage(type: 9, streamID: 1, timestamp: 0x0100_0000, payload: ByteBuffer(bytes: (0..<5000).map { UInt8($0 % 251) }))
        let small = RTMPMessage(type: 8, streamID: 1, timestamp: 40, payload: ByteBuffer(bytes: [0xAF, 0x01, 0x21]))
        let empty = RTMPMessage(type: 20, streamID: 0, timestamp: 0, payload: ByteBuffer())
        let got = try roundTrip([(big, 6), (small, 4), (empty, 3), (big, 6)], writerChunk: 4096, readerChunk: 4096)
        #expect(got == [big, small, empty, big])
        #expect(try roundTrip([(big, 6)], writerChunk: 128, readerChunk: 128) == [big])
    }

    @Test func interleavedChunkStreamsAndHeaderTypes() throws {
        // csid 4: a type 0 (ts 1000), then a type 3 that starts a new message: its delta is the type 0's timestamp.
        // csid 6 interleaves a 2-chunk message between them. csid 70 needs the two-byte basic header.
        var b = ByteBuffer()
        b.writeBytes([0x04, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x02, 0x08, 0x01, 0x00, 0x00, 0x00, 0xAA, 0xBB])
        b.writeBytes([0x06, 0x00, 0x00, 0x0A, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00] + [UInt8](repeating: 1, count: 128))
        b.writeBytes([0xC4, 0xCC, 0xDD])
        b.writeBytes([0xC6] + [UInt8](repeating: 2, count: 72))
        b.writeBytes([0x00, 70 - 64, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x12, 0x00, 0x00, 0x00, 0x00, 0x07])
        var reader = RTMPChunkReader()
        var got: [RTMPMessage] = []
        while let m = try reader.next(&b) { got.append(m) }
        #expect(got.map(\.type) == [8, 8, 9, 18])
        #expect(got.map(\.timestamp) == [1000, 2000, 10, 5])
        #expect(got[2].payload.readableBytes == 200 && got[1].payload == ByteBuffer(bytes: [0xCC, 0xDD]))
    }

    @Test func anOlderEncodersContinuationWithoutTheExtendedTimestampIsRead() throws {
        // Type 0 with an extended timestamp, 128 bytes, then a type 3 continuation without the 4 bytes.
        var b = ByteBuffer()
        b.writeBytes([0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x82, 0x09, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
        b.writeBytes([UInt8](repeating: 7, count: 128))
        b.writeBytes([0xC6, 0x09, 0x09])
        b.writeBytes([0x04, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA])  // the next message, already behind it
        var reader = RTMPChunkReader()
        let m = try #require(try reader.next(&b))
        #expect(m.timestamp == 0x0100_0000 && m.payload.readableBytes == 130 && m.payload.getInteger(at: 128, as: UInt16.self) == 0x0909)
    }

    @Test func hostileChunkingIsRefused() throws {
        var reader = RTMPChunkReader()
        #expect(throws: RTMPError.chunkSizeOutOfRange(0)) { try reader.setChunkSize(0) }
        #expect(throws: RTMPError.chunkSizeOutOfRange(65537)) { try reader.setChunkSize(65537) }
        var orphan = ByteBuffer(bytes: [0xC5, 0x00])
        #expect(throws: RTMPError.chunkWithoutHeader(chunkStream: 5)) { try reader.next(&orphan) }
        // 65 chunk streams, each with a 2-byte message half sent (chunk size 1): the 65th is refused.
        var reader2 = RTMPChunkReader()
        try reader2.setChunkSize(1)
        var streams = ByteBuffer()
        for csid in 0..<65 {
            streams.writeBytes([0x01, UInt8(csid & 0xFF), 0x00])
            streams.writeBytes([0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09, 0x01, 0x00, 0x00, 0x00, 0x01])
        }
        #expect(throws: RTMPError.tooManyChunkStreams) { while try reader2.next(&streams) != nil {} }
        // Announcing 16 MiB costs nothing until it is sent; sending more than 32 MiB of unfinished messages is refused.
        var reader3 = RTMPChunkReader()
        try reader3.setChunkSize(65536)
        var huge = ByteBuffer()
        for csid: UInt8 in 3...5 {
            huge.writeBytes([csid, 0, 0, 0, 0xFF, 0xFF, 0xF0, 9, 1, 0, 0, 0])
            for _ in 0..<200 {
                huge.writeBytes([UInt8](repeating: 0, count: 65536))
                huge.writeInteger(UInt8(0xC0 | csid))
            }
            huge.moveWriterIndex(to: huge.writerIndex - 1)
        }
        #expect(throws: RTMPError.self) { while try reader3.next(&huge) != nil {} }
    }
}

@Suite struct AMF0Tests {
    @Test func valuesRoundTrip() throws {
        let values: [AMF0Value] = [
            .string("connect"), .number(1),
            .object([("app", .string("room1")), ("type", .string("nonprivate")), ("fpad", .boolean(false)),
                     ("capabilities", .number(15)), ("nested", .object([("x", .null), ("y", .undefined)]))]),
            .ecmaArray([("width", .number(640)), ("height", .number(360))]),
            .strictArray([.string("avc1"), .string("mp4a")]), .date(1_700_000_000_000), .string(String(repeating: "é", count: 40000)),
        ]
        var b = ByteBuffer()
        for v in values { v.encode(into: &b) }
        #expect(try AMF0Value.decodeAll(b) == values)
        #expect(values[2]["app"]?.string == "room1" && values[3]["height"]?.number == 360)
    }

    @Test func malformedValuesAreErrorsNotCrashes() {
        for bytes: [UInt8] in [[0x00, 0x01], [0x02, 0x00, 0x05, 0x61], [0x03, 0x00, 0x01, 0x61], [0x0D], [0x0A, 0xFF, 0xFF, 0xFF, 0xFF], [0x08, 0x00]] {
            #expect(throws: RTMPError.self) { try AMF0Value.decodeAll(ByteBuffer(bytes: bytes)) }
        }
        var deep = ByteBuffer()
        for _ in 0..<100 { deep.writeBytes([0x03, 0x00, 0x01, 0x61]) }
        #expect(throws: RTMPError.malformedAMF("nested deeper than 16")) { try AMF0Value.decodeAll(deep) }
    }
}

@Suite struct RTMPServerConnectionTests {
    /// The command sequence ffmpeg sends to publish `rtmp://host/room1/alice?token=abc` (research §1.5).
    static func ffmpegPublish() -> ByteBuffer {
        var w = RTMPChunkWriter()
        var b = RTMPHandshakeTests.clientHello()
        b.writeBytes([UInt8](repeating: 0, count: 1536))  // C2
        w.write(.command([.string("connect"), .number(1), .object([
            ("app", .string("room1")), ("type", .string("nonprivate")), ("flashVer", .string("FMLE/3.0 (compatible; Lavf59.27.100)")),
            ("tcUrl", .string("rtmp://127.0.0.1:1935/room1")),
        ])]), chunkStream: 3, into: &b)
        w.write(.setChunkSize(4096), chunkStream: 2, into: &b)
        w.chunkSize = 4096
        w.write(.command([.string("releaseStream"), .number(2), .null, .string("alice?token=abc")]), chunkStream: 3, into: &b)
        w.write(.command([.string("FCPublish"), .number(3), .null, .string("alice?token=abc")]), chunkStream: 3, into: &b)
        w.write(.command([.string("createStream"), .number(4), .null]), chunkStream: 3, into: &b)
        var publish = RTMPMessage.command([.string("publish"), .number(5), .null, .string("alice?token=abc"), .string("live")])
        publish.streamID = 1
        w.write(publish, chunkStream: 8, into: &b)
        return b
    }

    static func replies(_ out: ByteBuffer) throws -> [RTMPMessage] {
        var b = out
        b.moveReaderIndex(forwardBy: 1 + 2 * 1536)
        var reader = RTMPChunkReader()
        var messages: [RTMPMessage] = []
        while let m = try reader.next(&b) {
            if m.type == RTMPMessage.Kind.setChunkSize { try reader.setChunkSize(m.payload.getInteger(at: 0, as: UInt32.self) ?? 128) }
            messages.append(m)
        }
        return messages
    }

    @Test func anFFmpegPublishIsAnsweredAsItExpects() throws {
        var c = RTMPServerConnection()
        var input = Self.ffmpegPublish()
        var out = ByteBuffer()
        let events = try c.receive(&input, output: &out)
        #expect(events == [.connected(app: "room1", tcUrl: "rtmp://127.0.0.1:1935/room1"), .publish(name: "alice?token=abc")])
        c.acceptPublish(output: &out)
        let replies = try Self.replies(out)
        #expect(replies.map(\.type) == [5, 6, 1, 20, 20, 4, 20])
        let connectResult = try AMF0Value.decodeAll(replies[3].payload)
        #expect(connectResult[0].string == "_result" && connectResult[1].number == 1)
        #expect(connectResult[3]["code"]?.string == "NetConnection.Connect.Success")
        #expect(try AMF0Value.decodeAll(replies[4].payload)[3].number == 1, "createStream's stream is 1")
        let status = try AMF0Value.decodeAll(replies[6].payload)
        #expect(status[0].string == "onStatus" && status[3]["code"]?.string == "NetStream.Publish.Start" && replies[6].streamID == 1)

        // Media flows once accepted; an FCUnpublish ends it.
        var w = RTMPChunkWriter()
        w.chunkSize = 4096
        var media = ByteBuffer()
        w.write(RTMPMessage(type: 9, streamID: 1, timestamp: 33, payload: ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0])), chunkStream: 6, into: &media)
        w.write(.command([.string("FCUnpublish"), .number(6), .null, .string("alice")]), chunkStream: 3, into: &media)
        let more = try c.receive(&media, output: &out)
        #expect(more == [.video(timestamp: 33, payload: ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0])), .unpublish])
    }

    @Test func mediaBeforeAnAcceptedPublishIsIgnoredAndARefusalIsAnErrorStatus() throws {
        var c = RTMPServerConnection()
        var input = Self.ffmpegPublish()
        var out = ByteBuffer()
        _ = try c.receive(&input, output: &out)
        var w = RTMPChunkWriter()
        w.chunkSize = 4096
        var media = ByteBuffer()
        w.write(RTMPMessage(type: 9, streamID: 1, timestamp: 0, payload: ByteBuffer(bytes: [0x17])), chunkStream: 6, into: &media)
        #expect(try c.receive(&media, output: &out).isEmpty)
        var refusal = ByteBuffer()
        c.refuse(code: "NetStream.Publish.BadName", description: "taken", output: &refusal)
        var reader = RTMPChunkReader()
        try reader.setChunkSize(4096)
        let status = try AMF0Value.decodeAll(try #require(try reader.next(&refusal)).payload)
        #expect(status[3]["level"]?.string == "error" && status[3]["code"]?.string == "NetStream.Publish.BadName")
    }

    @Test func garbageInsteadOfAHandshakeIsAnError() {
        var c = RTMPServerConnection()
        var input = ByteBuffer(string: "GET / HTTP/1.1\r\n" + String(repeating: "x", count: 1600))
        var out = ByteBuffer()
        #expect(throws: RTMPError.unsupportedVersion(0x47)) { try c.receive(&input, output: &out) }
    }
}

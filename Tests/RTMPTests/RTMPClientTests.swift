import NIOCore
import Testing
import TestSupport
@testable import RTMP

@Suite struct RTMPURLTests {
    @Test func urlsSplitAsFFmpegSplitsThem() throws {
        let youtube = try RTMPURL("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl")
        #expect(youtube.host == "a.rtmp.youtube.com" && youtube.port == 1935 && !youtube.secure)
        #expect(youtube.app == "live2" && youtube.streamName == "abcd-efgh-ijkl")
        #expect(youtube.tcUrl == "rtmp://a.rtmp.youtube.com:1935/live2")
        #expect("\(youtube)" == "rtmp://a.rtmp.youtube.com:1935/live2/****", "the key is masked in logs")

        let nested = try RTMPURL("RTMP://127.0.0.1:19350/app/inst/key")
        #expect(nested.port == 19350 && nested.app == "app/inst" && nested.streamName == "key")
        let query = try RTMPURL("rtmp://[::1]:1936/live/name?secret=1")
        #expect(query.host == "::1" && query.port == 1936 && query.streamName == "name?secret=1")
        #expect(query.tcUrl == "rtmp://[::1]:1936/live")
        #expect(try RTMPURL("rtmps://live-api-s.facebook.com/rtmp/KEY").port == 443)
    }

    @Test func urlsThatCannotBePublishedToAreRefusedWithAReason() {
        for bad in ["http://host/live/key", "rtmp://host/live", "rtmp://host/live/", "rtmp://host//key", "rtmp:///live/key",
                    "rtmp://host:0/live/key", "rtmp://host:99999/live/key", "rtmp://host:x/live/key", "rtmp://user:pw@host/live/key",
                    "rtmp://ho st/live/key", "rtmp://host/live/key\r\nX", "rtmp://[::1/live/key", "rtmp://host/live/?key",
                    "rtmp://host/live/" + String(repeating: "k", count: 1100), "rtmp://hóst/live/key", ""] {
            #expect(throws: RTMPURL.Invalid.self, "\(bad)") { try RTMPURL(bad) }
        }
    }

    @Test func randomURLsNeverTrap() {
        var rng = SeededRandom(seed: 7)
        let seed = Array("rtmp://[::1]:1935/live/key?token=abc".utf8)
        for _ in 0..<20_000 {
            _ = try? RTMPURL(String(decoding: mutate(seed, using: &rng), as: UTF8.self))
        }
    }
}

/// Parley's publishing client against Parley's server side, in memory: the sequence OBS and FFmpeg use.
@Suite struct RTMPClientConnectionTests {
    /// Runs bytes both ways until neither side has anything to say; returns the events of each.
    static func exchange(_ client: inout RTMPClientConnection, _ server: inout RTMPServerConnection,
                         first: ByteBuffer) throws -> (client: [RTMPClientConnection.Event], server: [RTMPServerConnection.Event]) {
        var toServer = first, toClient = ByteBuffer()
        var clientEvents: [RTMPClientConnection.Event] = [], serverEvents: [RTMPServerConnection.Event] = []
        while toServer.readableBytes > 0 || toClient.readableBytes > 0 {
            var out = ByteBuffer()
            let events = try server.receive(&toServer, output: &out)
            serverEvents += events
            if events.contains(where: { if case .publish = $0 { true } else { false } }) { server.acceptPublish(output: &out) }
            toClient.writeImmutableBuffer(out)
            var back = ByteBuffer()
            clientEvents += try client.receive(&toClient, output: &back)
            toServer.writeImmutableBuffer(back)
        }
        return (clientEvents, serverEvents)
    }

    @Test func theClientPublishesAndItsMediaArrives() throws {
        var client = RTMPClientConnection(url: try RTMPURL("rtmp://127.0.0.1:1935/room1/alice?token=abc"))
        var server = RTMPServerConnection()
        var hello = ByteBuffer()
        client.start(output: &hello)
        #expect(hello.readableBytes == 1 + 1536 && hello.getInteger(at: 5, as: UInt32.self) == 0, "C0 + C1 with version zero")
        let (clientEvents, serverEvents) = try Self.exchange(&client, &server, first: hello)
        #expect(serverEvents == [.connected(app: "room1", tcUrl: "rtmp://127.0.0.1:1935/room1"), .publish(name: "alice?token=abc")])
        #expect(clientEvents == [.publishing] && client.phase == .publishing && client.streamID == 1)

        // Metadata as @setDataFrame, media on the stream createStream gave, both chunked at 4096.
        var media = ByteBuffer()
        client.media.metadata([("width", .number(640))], into: &media)
        let frame = ByteBuffer(bytes: [0x17, 0x01, 0, 0, 0] + [UInt8](repeating: 7, count: 10_000))
        client.media.video(timestamp: 0x0100_0000, payload: frame, into: &media)
        var ignored = ByteBuffer()
        let events = try server.receive(&media, output: &ignored)
        #expect(events == [.metadata(.ecmaArray([("width", .number(640))])), .video(timestamp: 0x0100_0000, payload: frame)])

        var bye = ByteBuffer()
        client.unpublish(output: &bye)
        #expect(try server.receive(&bye, output: &ignored) == [.unpublish])
    }

    @Test func aRefusalEndsThePublishWithTheServersWords() throws {
        var client = RTMPClientConnection(url: try RTMPURL("rtmp://h/app/key"))
        var out = ByteBuffer()
        client.start(output: &out)
        // S0 S1 S2, then the server's error status for the publish (as nginx-rtmp's "already publishing").
        var input = ByteBuffer(bytes: [3] + [UInt8](repeating: 1, count: 2 * 1536))
        var c2 = ByteBuffer()
        #expect(try client.receive(&input, output: &c2).isEmpty && client.phase == .connecting)
        #expect(c2.getBytes(at: 0, length: 1536) == [UInt8](repeating: 1, count: 1536), "C2 echoes S1")
        var w = RTMPChunkWriter()
        var status = ByteBuffer()
        w.write(.command([.string("onStatus"), .number(0), .null, .object([
            ("level", .string("error")), ("code", .string("NetStream.Publish.BadName")), ("description", .string("Already publishing")),
        ])], stream: 1), chunkStream: 5, into: &status)
        #expect(try client.receive(&status, output: &out) == [.refused(code: "NetStream.Publish.BadName", description: "Already publishing")])
        #expect(client.phase == .refused)
    }

    @Test func aServerThatIsNotRTMPIsAnError() throws {
        var client = RTMPClientConnection(url: try RTMPURL("rtmp://h/app/key"))
        var out = ByteBuffer()
        client.start(output: &out)
        var input = ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\n" + String(repeating: "x", count: 3100))
        #expect(throws: RTMPError.unsupportedVersion(0x48)) { try client.receive(&input, output: &out) }
    }

    @Test func randomServerBytesNeverTrapTheClient() throws {
        var rng = SeededRandom(seed: 8)
        var client = RTMPClientConnection(url: try RTMPURL("rtmp://h/room1/alice"))
        var server = RTMPServerConnection()
        var hello = ByteBuffer()
        client.start(output: &hello)
        var input = hello, reply = ByteBuffer()
        _ = try server.receive(&input, output: &reply)
        let replies = Array(reply.readableBytesView)
        for _ in 0..<2_000 {
            var c = RTMPClientConnection(url: client.url)
            var o = ByteBuffer()
            c.start(output: &o)
            var bytes = ByteBuffer(bytes: mutate(replies, using: &rng) + mutate(replies, using: &rng))
            _ = try? c.receive(&bytes, output: &o)
        }
    }
}

@Suite struct RTMPAcknowledgementTests {
    /// Bytes that arrive in small pieces are counted once when read, not again while they wait in the buffer.
    @Test func acknowledgementsCountEachByteOnce() throws {
        var bytes = RTMPServerConnectionTests.ffmpegPublish()
        var w = RTMPChunkWriter()
        w.chunkSize = 4096
        w.write(.windowAcknowledgementSize(3000), chunkStream: 2, into: &bytes)
        w.write(RTMPMessage(type: 9, streamID: 1, timestamp: 0, payload: ByteBuffer(bytes: [UInt8](repeating: 1, count: 20_000))),
                chunkStream: 6, into: &bytes)
        let total = bytes.readableBytes
        var c = RTMPServerConnection()
        var pending = ByteBuffer(), out = ByteBuffer()
        while bytes.readableBytes > 0, let slice = bytes.readSlice(length: min(7, bytes.readableBytes)) {
            pending.writeImmutableBuffer(slice)
            _ = try c.receive(&pending, output: &out)
            pending.discardReadBytes()
        }
        out.moveReaderIndex(forwardBy: 1 + 2 * 1536)
        var reader = RTMPChunkReader()
        var acks: [UInt32] = []
        while let m = try reader.next(&out) {
            if m.type == RTMPMessage.Kind.setChunkSize { try reader.setChunkSize(m.payload.getInteger(at: 0, as: UInt32.self) ?? 128) }
            if m.type == RTMPMessage.Kind.acknowledgement, let n = m.payload.getInteger(at: 0, as: UInt32.self) { acks.append(n) }
        }
        #expect(acks.count >= 5)
        #expect(acks.allSatisfy { Int($0) <= total }, "acknowledged \(acks.last ?? 0) of \(total) bytes")
        #expect(Int(acks.last ?? 0) > total - 3000)
    }
}

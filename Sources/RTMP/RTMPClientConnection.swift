import NIOCore

/// The publishing side of an RTMP connection, as a state machine that knows nothing of sockets: what OBS and
/// FFmpeg do to publish to a server (research §1.5). C0+C1 → (S0 S1 S2) → C2, Set Chunk Size, `connect` →
/// `releaseStream`, `FCPublish`, `createStream` → `publish(name, "live")` on the stream it made → onStatus
/// `NetStream.Publish.Start`. Handshakes the simple way, with C1's version zero, which every server accepts.
public struct RTMPClientConnection: Sendable {
    public enum Event: Sendable, Equatable {
        /// The server accepted the publish: media may flow (`media`).
        case publishing
        /// The server refused the connect or the publish, or ended it (`_error`, an onStatus of level error).
        case refused(code: String, description: String)
    }

    public enum Phase: Sendable, Equatable {
        case idle, handshake, connecting, creatingStream, awaitingPublish, publishing, refused
    }

    public static let chunkSize: UInt32 = 4096
    public let url: RTMPURL
    public private(set) var phase: Phase = .idle
    /// The message stream `createStream` gave; media goes on it.
    public private(set) var streamID: UInt32 = 0
    private var messages = RTMPMessageStream()
    private static let connectTransaction = 1.0, createStreamTransaction = 4.0

    public init(url: RTMPURL) { self.url = url }

    /// C0 and C1: the first bytes to send.
    public mutating func start(output out: inout ByteBuffer) {
        phase = .handshake
        out.writeInteger(UInt8(3))
        out.writeInteger(UInt32(0))  // time
        out.writeInteger(UInt32(0))  // version zero: the simple handshake
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<((RTMPHandshake.packetSize - 8) / 8) { out.writeInteger(rng.next() as UInt64) }
    }

    /// Reads the server's bytes; replies go to `out`. A thrown error means the server broke the protocol.
    public mutating func receive(_ input: inout ByteBuffer, output out: inout ByteBuffer) throws(RTMPError) -> [Event] {
        if phase == .handshake {
            guard input.readableBytes >= 1 + 2 * RTMPHandshake.packetSize else { return [] }
            let version = input.readInteger(as: UInt8.self) ?? 0
            guard version == 3 else { throw .unsupportedVersion(version) }
            guard let s1 = input.readSlice(length: RTMPHandshake.packetSize) else { return [] }
            input.moveReaderIndex(forwardBy: RTMPHandshake.packetSize)  // S2: the simple handshake checks nothing
            messages.count(1 + 2 * RTMPHandshake.packetSize)
            out.writeImmutableBuffer(s1)  // C2 = S1
            send(.setChunkSize(Self.chunkSize), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
            messages.writer.chunkSize = Int(Self.chunkSize)
            send(.command([.string("connect"), .number(Self.connectTransaction), .object([
                ("app", .string(url.app)), ("type", .string("nonprivate")),
                ("flashVer", .string("FMLE/3.0 (compatible; Parley)")), ("tcUrl", .string(url.tcUrl)),
            ])]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            phase = .connecting
        }
        var events: [Event] = []
        for message in try messages.receive(&input, output: &out) where message.type == RTMPMessage.Kind.commandAMF0 {
            if let event = try command(AMF0Value.decodeAll(message.payload), out: &out) {
                if case .refused = event { phase = .refused }
                events.append(event)
            }
        }
        return events
    }

    /// How media and metadata are written to the stream once publishing.
    public var media: RTMPMediaWriter {
        RTMPMediaWriter(streamID: streamID, chunkSize: Int(Self.chunkSize), setDataFrame: true)
    }

    /// Ends the publish politely (FFmpeg's order): the server ends the stream for its players at once.
    public mutating func unpublish(output out: inout ByteBuffer) {
        guard phase == .publishing else { return }
        send(.command([.string("FCUnpublish"), .number(6), .null, .string(url.streamName)]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
        send(.command([.string("deleteStream"), .number(7), .null, .number(Double(streamID))]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
        phase = .idle
    }

    private func send(_ message: RTMPMessage, csid: UInt8, out: inout ByteBuffer) {
        messages.send(message, csid: csid, out: &out)
    }

    private mutating func command(_ values: [AMF0Value], out: inout ByteBuffer) throws(RTMPError) -> Event? {
        guard let name = values.first?.string else { throw .malformedAMF("a command without a name") }
        let transaction = values.count > 1 ? values[1].number ?? 0 : 0
        let info = values.count > 3 ? values[3] : .null
        switch name {
        case "_result" where transaction == Self.connectTransaction && phase == .connecting:
            let name = AMF0Value.string(url.streamName)
            send(.command([.string("releaseStream"), .number(2), .null, name]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            send(.command([.string("FCPublish"), .number(3), .null, name]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            send(.command([.string("createStream"), .number(Self.createStreamTransaction), .null]),
                 csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            phase = .creatingStream
        case "_result" where transaction == Self.createStreamTransaction && phase == .creatingStream:
            guard let id = info.number, id >= 0, id < Double(UInt32.max) else {
                return .refused(code: "NetStream.Failed", description: "createStream returned no stream id")
            }
            streamID = UInt32(id)
            send(.command([.string("publish"), .number(5), .null, .string(url.streamName), .string("live")], stream: streamID),
                 csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            phase = .awaitingPublish
        case "_error" where transaction == Self.connectTransaction || transaction == Self.createStreamTransaction:
            // Errors to releaseStream and FCPublish are not fatal (some servers answer them so; FFmpeg goes on).
            return .refused(code: info["code"]?.string ?? "NetConnection.Connect.Rejected",
                            description: info["description"]?.string ?? "The server refused the connection")
        case "onStatus":
            let code = info["code"]?.string ?? ""
            if info["level"]?.string == "error" {
                return .refused(code: code, description: info["description"]?.string ?? code)
            }
            if code == "NetStream.Publish.Start", phase == .awaitingPublish {
                phase = .publishing
                return .publishing
            }
        default:
            break  // onBWDone, onFCPublish, _result of releaseStream: nothing to do
        }
        return nil
    }
}

/// Writes a stream's media and metadata as RTMP messages, from whichever task sends them: a player's stream on
/// Parley's server side, or a publish to another server.
public struct RTMPMediaWriter: Sendable {
    public let streamID: UInt32
    /// Publishers send metadata as `@setDataFrame` for the server to keep; servers send players `onMetaData`.
    public let setDataFrame: Bool
    private var writer = RTMPChunkWriter()

    public init(streamID: UInt32, chunkSize: Int, setDataFrame: Bool) {
        self.streamID = streamID
        self.setDataFrame = setDataFrame
        writer.chunkSize = chunkSize
    }

    /// `onMetaData` (width, height, codec ids).
    public func metadata(_ properties: [(String, AMF0Value)], into out: inout ByteBuffer) {
        let values: [AMF0Value] = (setDataFrame ? [.string("@setDataFrame")] : []) + [.string("onMetaData"), .ecmaArray(properties)]
        var m = RTMPMessage.command(values, stream: streamID)
        m.type = RTMPMessage.Kind.dataAMF0
        writer.write(m, chunkStream: RTMPChunkWriter.ChunkStream.data, into: &out)
    }

    public func video(timestamp: UInt32, payload: ByteBuffer, into out: inout ByteBuffer) {
        writer.write(RTMPMessage(type: RTMPMessage.Kind.video, streamID: streamID, timestamp: timestamp, payload: payload),
                     chunkStream: RTMPChunkWriter.ChunkStream.video, into: &out)
    }

    public func audio(timestamp: UInt32, payload: ByteBuffer, into out: inout ByteBuffer) {
        writer.write(RTMPMessage(type: RTMPMessage.Kind.audio, streamID: streamID, timestamp: timestamp, payload: payload),
                     chunkStream: RTMPChunkWriter.ChunkStream.audio, into: &out)
    }

    /// An `onStatus` of the stream (`NetStream.Play.Stop`, …).
    public func status(_ level: String, _ code: String, _ description: String, into out: inout ByteBuffer) {
        writer.write(.command([.string("onStatus"), .number(0), .null, .object([
            ("level", .string(level)), ("code", .string(code)), ("description", .string(description)),
        ])], stream: streamID), chunkStream: RTMPChunkWriter.ChunkStream.data, into: &out)
    }
}

import NIOCore

/// The server side of one RTMP connection, as a state machine that knows nothing of rooms or sockets: bytes in,
/// bytes to send and `Event`s out. The command sequence is the one every encoder and player uses: connect →
/// (releaseStream, FCPublish) → createStream → publish | play, with the replies they wait for (RTMP 1.0 §7.2;
/// ffmpeg, librtmp and OBS as recorded in docs/RTMP.md). Whoever owns it decides whether a publish or play may
/// go on, and answers with `acceptPublish` or `refuse`.
public struct RTMPServerConnection: Sendable {
    public enum Event: Sendable, Equatable {
        /// `connect`: the application (the first path segment of the URL) and the client's tcUrl.
        case connected(app: String, tcUrl: String?)
        /// `publish` of a stream name (the last path segment, or OBS's stream key, with any `?query`).
        case publish(name: String)
        /// `play` of a stream name.
        case play(name: String)
        /// The publisher stopped (FCUnpublish, deleteStream or closeStream).
        case unpublish
        /// The player stopped (deleteStream or closeStream).
        case stop
        /// `onMetaData` (an ECMA array or object: width, height, codec ids, …).
        case metadata(AMF0Value)
        case audio(timestamp: UInt32, payload: ByteBuffer)
        case video(timestamp: UInt32, payload: ByteBuffer)
    }

    public enum Phase: Sendable, Equatable {
        case handshake, awaitingConnect, connected, publishing, playing
    }

    /// The message stream `createStream` hands out; one per connection is all clients use.
    public static let mediaStream: UInt32 = 1
    /// What Parley announces for acknowledgements and bandwidth, and the chunk size it sends with (as nginx-rtmp).
    static let window: UInt32 = 2_500_000
    /// The chunk size announced at connect: whoever writes to this client chunks with it (`media`).
    public static let outgoingChunkSize: UInt32 = 4096

    public private(set) var phase: Phase = .handshake
    public private(set) var app: String?
    public private(set) var streamName: String?
    /// Whether the handshake was the digest one (the client's C1 carried a valid digest).
    public var usedDigestHandshake: Bool { handshake.usedDigest }
    private var handshake = RTMPHandshake()
    private var messages = RTMPMessageStream()

    public init() {}

    /// Reads what `input` holds: handshake bytes, then chunks. Replies go to `out`; what happened is returned.
    /// A thrown error means the peer broke the protocol: close the connection.
    public mutating func receive(_ input: inout ByteBuffer, output out: inout ByteBuffer) throws(RTMPError) -> [Event] {
        while handshake.state != .done {
            let before = handshake.state, available = input.readableBytes
            if let reply = try handshake.receive(&input) { out.writeImmutableBuffer(reply) }
            messages.count(available - input.readableBytes)
            if handshake.state == before { return [] }  // needs more bytes
            if handshake.state == .done { phase = .awaitingConnect }
        }
        var events: [Event] = []
        for message in try messages.receive(&input, output: &out) {
            try handle(message, events: &events, out: &out)
        }
        return events
    }

    /// Answers the pending `publish`: the client starts sending media.
    public mutating func acceptPublish(output out: inout ByteBuffer) {
        phase = .publishing
        send(.streamBegin(Self.mediaStream), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
        status("status", "NetStream.Publish.Start", "\(streamName ?? "") is now published", out: &out)
    }

    /// Answers the pending `play`: the client waits for these before it reads media (ffmpeg, librtmp).
    public mutating func acceptPlay(output out: inout ByteBuffer) {
        phase = .playing
        send(.streamBegin(Self.mediaStream), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
        status("status", "NetStream.Play.Reset", "Playing and resetting \(streamName ?? "")", out: &out)
        status("status", "NetStream.Play.Start", "Started playing \(streamName ?? "")", out: &out)
        var access = RTMPMessage.command([.string("|RtmpSampleAccess"), .boolean(true), .boolean(true)], stream: Self.mediaStream)
        access.type = RTMPMessage.Kind.dataAMF0
        send(access, csid: RTMPChunkWriter.ChunkStream.data, out: &out)
    }

    /// How a player's media, metadata and statuses are written to this client, from any task: on the media
    /// stream, chunked as announced at connect.
    public static var media: RTMPMediaWriter {
        RTMPMediaWriter(streamID: mediaStream, chunkSize: Int(outgoingChunkSize), setDataFrame: false)
    }

    /// Answers the pending `publish` or `play` with an error status (`NetStream.Publish.BadName`, …), which
    /// encoders show their user; the owner closes the connection after.
    public mutating func refuse(code: String, description: String, output out: inout ByteBuffer) {
        status("error", code, description, out: &out)
        phase = .connected
    }

    /// A status on the media stream (`NetStream.Unpublish.Success`, …).
    public func status(_ level: String, _ code: String, _ description: String, out: inout ByteBuffer) {
        Self.media.status(level, code, description, into: &out)
    }

    private func send(_ message: RTMPMessage, csid: UInt8, out: inout ByteBuffer) {
        messages.send(message, csid: csid, out: &out)
    }

    private mutating func handle(_ message: RTMPMessage, events: inout [Event], out: inout ByteBuffer) throws(RTMPError) {
        switch message.type {
        case RTMPMessage.Kind.commandAMF0:
            try command(AMF0Value.decodeAll(message.payload), events: &events, out: &out)
        case RTMPMessage.Kind.dataAMF0:
            var values = try AMF0Value.decodeAll(message.payload)
            if values.first?.string == "@setDataFrame" { values.removeFirst() }
            if values.first?.string == "onMetaData", values.count > 1 { events.append(.metadata(values[1])) }
        case RTMPMessage.Kind.audio where phase == .publishing && message.streamID == Self.mediaStream:
            events.append(.audio(timestamp: message.timestamp, payload: message.payload))
        case RTMPMessage.Kind.video where phase == .publishing && message.streamID == Self.mediaStream:
            events.append(.video(timestamp: message.timestamp, payload: message.payload))
        default:
            break  // media out of turn, AMF3, aggregates
        }
    }

    private mutating func command(_ values: [AMF0Value], events: inout [Event], out: inout ByteBuffer) throws(RTMPError) {
        guard let name = values.first?.string else { throw .malformedAMF("a command without a name") }
        let transaction = values.count > 1 ? values[1].number ?? 0 : 0
        let argument = values.count > 3 ? values[3].string : nil
        switch (name, phase) {
        case ("connect", .awaitingConnect):
            let object = values.count > 2 ? values[2] : .null
            app = object["app"]?.string ?? ""
            phase = .connected
            send(.windowAcknowledgementSize(Self.window), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
            send(.setPeerBandwidth(Self.window), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
            send(.setChunkSize(Self.outgoingChunkSize), csid: RTMPChunkWriter.ChunkStream.control, out: &out)
            messages.writer.chunkSize = Int(Self.outgoingChunkSize)
            send(.command([
                .string("_result"), .number(transaction),
                .object([("fmsVer", .string("FMS/3,0,1,123")), ("capabilities", .number(31))]),
                .object([("level", .string("status")), ("code", .string("NetConnection.Connect.Success")),
                         ("description", .string("Connection succeeded.")), ("objectEncoding", .number(0))]),
            ]), csid: RTMPChunkWriter.ChunkStream.command, out: &out)
            events.append(.connected(app: app ?? "", tcUrl: object["tcUrl"]?.string))
        case ("createStream", .connected):
            send(.command([.string("_result"), .number(transaction), .null, .number(Double(Self.mediaStream))]),
                 csid: RTMPChunkWriter.ChunkStream.command, out: &out)
        case ("publish", .connected):
            streamName = argument ?? ""
            events.append(.publish(name: streamName ?? ""))
        case ("play", .connected):
            streamName = argument ?? ""
            events.append(.play(name: streamName ?? ""))
        case ("deleteStream", .playing), ("closeStream", .playing):
            phase = .connected
            events.append(.stop)
        case ("FCUnpublish", .publishing), ("deleteStream", .publishing), ("closeStream", .publishing):
            phase = .connected
            status("status", "NetStream.Unpublish.Success", "\(streamName ?? "") is now unpublished", out: &out)
            events.append(.unpublish)
        default:
            // releaseStream, FCPublish, getStreamLength, FCSubscribe need no answer; anything else is ignored.
            break
        }
    }
}

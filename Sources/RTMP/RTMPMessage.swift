import NIOCore

/// One RTMP message, reassembled from its chunks.
public struct RTMPMessage: Sendable, Equatable {
    /// Message type ids (RTMP 1.0 §5.4, §7.1).
    public enum Kind {
        public static let setChunkSize: UInt8 = 1
        public static let abort: UInt8 = 2
        public static let acknowledgement: UInt8 = 3
        public static let userControl: UInt8 = 4
        public static let windowAcknowledgementSize: UInt8 = 5
        public static let setPeerBandwidth: UInt8 = 6
        public static let audio: UInt8 = 8
        public static let video: UInt8 = 9
        public static let dataAMF0: UInt8 = 18
        public static let commandAMF0: UInt8 = 20
    }

    public var type: UInt8
    /// The message stream: 0 for the connection's control and commands, 1 for the stream `createStream` made.
    public var streamID: UInt32
    /// Milliseconds, on the sender's clock.
    public var timestamp: UInt32
    public var payload: ByteBuffer

    public init(type: UInt8, streamID: UInt32, timestamp: UInt32, payload: ByteBuffer) {
        self.type = type
        self.streamID = streamID
        self.timestamp = timestamp
        self.payload = payload
    }

    // MARK: protocol control (§5.4) and user control (§6.2)

    public static func setChunkSize(_ size: UInt32) -> RTMPMessage { control(Kind.setChunkSize) { $0.writeInteger(size & 0x7FFF_FFFF) } }
    public static func acknowledgement(_ bytes: UInt32) -> RTMPMessage { control(Kind.acknowledgement) { $0.writeInteger(bytes) } }
    public static func windowAcknowledgementSize(_ size: UInt32) -> RTMPMessage {
        control(Kind.windowAcknowledgementSize) { $0.writeInteger(size) }
    }
    /// Limit type 2: dynamic.
    public static func setPeerBandwidth(_ size: UInt32) -> RTMPMessage {
        control(Kind.setPeerBandwidth) { $0.writeInteger(size); $0.writeInteger(UInt8(2)) }
    }
    public static func streamBegin(_ stream: UInt32) -> RTMPMessage { userControl(0) { $0.writeInteger(stream) } }
    public static func streamIsRecorded(_ stream: UInt32) -> RTMPMessage { userControl(4) { $0.writeInteger(stream) } }
    public static func pingResponse(_ time: UInt32) -> RTMPMessage { userControl(7) { $0.writeInteger(time) } }

    private static func control(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) -> RTMPMessage {
        var payload = ByteBuffer()
        body(&payload)
        return RTMPMessage(type: type, streamID: 0, timestamp: 0, payload: payload)
    }

    private static func userControl(_ event: UInt16, _ body: (inout ByteBuffer) -> Void) -> RTMPMessage {
        control(Kind.userControl) { $0.writeInteger(event); body(&$0) }
    }

    /// An AMF0 command (`_result`, `onStatus`, …) on `stream`.
    public static func command(_ values: [AMF0Value], stream: UInt32 = 0) -> RTMPMessage {
        var payload = ByteBuffer()
        for v in values { v.encode(into: &payload) }
        return RTMPMessage(type: Kind.commandAMF0, streamID: stream, timestamp: 0, payload: payload)
    }
}

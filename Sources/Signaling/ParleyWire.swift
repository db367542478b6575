import Foundation
import Rooms

/// The `id` a client gave its request: an integer or a short string, echoed in the reply.
public enum RequestID: Sendable, Equatable, Codable {
    case number(Int64)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) {
            self = .number(n)
        } else {
            let s = try c.decode(String.self)
            guard (1...64).contains(s.count) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "id must be 1–64 characters")
            }
            self = .string(s)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        }
    }
}

/// A request of Parley's own protocol (docs/PROTOCOL.md), decoded and type-checked.
public enum ClientRequest: Sendable, Equatable {
    case connect(username: String?, token: String? = nil)
    case join(room: String?, maxParticipants: Int?)
    case leave(room: String)
    case message(room: String, text: String, to: String?)
    case ping
    case echo(sdp: String)
    case stopStream(stream: String)
    case publish(room: String, sdp: String, display: String?, audioMuted: Bool, videoMuted: Bool, record: Bool = false)
    case play(room: String, stream: String, sdp: String)
    case mute(stream: String, audioMuted: Bool?, videoMuted: Bool?)
    case republish(room: String, stream: String, url: String)
    case stopRepublish(republish: String)
}

/// A refusal with a stable wire code.
public struct ProtocolError: Error, Sendable, Equatable {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: RoomError) {
        self.init(code: error.code, message: error.message)
    }

    public static func badJSON(_ detail: String) -> Self { .init(code: "bad_json", message: detail) }
    public static func badRequest(_ detail: String) -> Self { .init(code: "bad_request", message: detail) }
    public static let notConnected = Self(code: "not_connected", message: "Send 'connect' first")
    public static let alreadyConnected = Self(code: "already_connected", message: "This socket is already connected")
    public static let rateLimited = Self(code: "rate_limited", message: "Too many requests: at most 50 per second")
}

/// Decoding of client frames and encoding of server frames for `/ws`.
public enum ParleyWire {
    /// The outcome of reading one text frame: the request, or an error to reply with (and the id, if one was read).
    public enum Decoded: Sendable, Equatable {
        case request(RequestID, ClientRequest)
        case invalid(RequestID?, ProtocolError)
    }

    public static func decode(_ text: String) -> Decoded {
        let data = Data(text.utf8)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            return .invalid(nil, .badJSON("The frame is not valid JSON"))
        }
        guard object is [String: Any] else {
            return .invalid(nil, .badJSON("The frame must be a JSON object"))
        }
        let decoder = JSONDecoder()
        // The id first and on its own, so that a request with a usable id but a bad `type` still gets it back.
        guard let envelope = try? decoder.decode(IDEnvelope.self, from: data) else {
            return .invalid(nil, .badRequest("'id' must be an integer or a string of 1–64 characters"))
        }
        guard let id = envelope.id else { return .invalid(nil, .badRequest("Missing field 'id'")) }
        guard let typed = try? decoder.decode(TypeEnvelope.self, from: data) else {
            return .invalid(id, .badRequest("'type' must be a string"))
        }
        guard let type = typed.type else { return .invalid(id, .badRequest("Missing field 'type'")) }
        do {
            switch type {
            case "connect":
                let b = try decoder.decode(ConnectBody.self, from: data)
                return .request(id, .connect(username: b.username, token: b.token))
            case "join":
                let b = try decoder.decode(JoinBody.self, from: data)
                return .request(id, .join(room: b.room, maxParticipants: b.maxParticipants))
            case "leave":
                let b = try decoder.decode(LeaveBody.self, from: data)
                return .request(id, .leave(room: b.room))
            case "message":
                let b = try decoder.decode(MessageBody.self, from: data)
                return .request(id, .message(room: b.room, text: b.text, to: b.to))
            case "ping":
                return .request(id, .ping)
            case "echo":
                let b = try decoder.decode(EchoBody.self, from: data)
                return .request(id, .echo(sdp: b.sdp))
            case "stopStream", "stop", "unpublish":
                let b = try decoder.decode(StopStreamBody.self, from: data)
                return .request(id, .stopStream(stream: b.stream))
            case "publish":
                let b = try decoder.decode(PublishBody.self, from: data)
                return .request(id, .publish(room: b.room, sdp: b.sdp, display: b.display,
                                             audioMuted: b.audioMuted ?? false, videoMuted: b.videoMuted ?? false,
                                             record: b.record ?? false))
            case "play":
                let b = try decoder.decode(PlayBody.self, from: data)
                return .request(id, .play(room: b.room, stream: b.stream, sdp: b.sdp))
            case "mute":
                let b = try decoder.decode(MuteBody.self, from: data)
                guard b.audioMuted != nil || b.videoMuted != nil else {
                    return .invalid(id, .badRequest("Give 'audioMuted' and/or 'videoMuted'"))
                }
                return .request(id, .mute(stream: b.stream, audioMuted: b.audioMuted, videoMuted: b.videoMuted))
            case "republish":
                let b = try decoder.decode(RepublishBody.self, from: data)
                return .request(id, .republish(room: b.room, stream: b.stream, url: b.url))
            case "stopRepublish":
                let b = try decoder.decode(StopRepublishBody.self, from: data)
                return .request(id, .stopRepublish(republish: b.republish))
            default:
                let shown = type.count > 32 ? String(type.prefix(32)) + "…" : type
                return .invalid(id, ProtocolError(code: "unknown_type", message: "Unknown request type '\(shown)'"))
            }
        } catch let error as DecodingError {
            return .invalid(id, .badRequest(describe(error)))
        } catch {
            return .invalid(id, .badRequest("Malformed request"))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "Missing field '\(key.stringValue)'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return "Field '\(field)' has the wrong type"
        case .dataCorrupted(let ctx):
            let field = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return field.isEmpty ? "Malformed request" : "Field '\(field)' is malformed"
        @unknown default:
            return "Malformed request"
        }
    }

    private struct IDEnvelope: Decodable { let id: RequestID? }
    private struct TypeEnvelope: Decodable { let type: String? }
    private struct ConnectBody: Decodable {
        let username: String?
        let token: String?
    }
    private struct JoinBody: Decodable {
        let room: String?
        let maxParticipants: Int?
    }
    private struct LeaveBody: Decodable { let room: String }
    private struct EchoBody: Decodable { let sdp: String }
    private struct StopStreamBody: Decodable { let stream: String }
    private struct PublishBody: Decodable {
        let room: String
        let sdp: String
        let display: String?
        let audioMuted: Bool?
        let videoMuted: Bool?
        let record: Bool?
    }
    private struct PlayBody: Decodable {
        let room: String
        let stream: String
        let sdp: String
    }
    private struct MuteBody: Decodable {
        let stream: String
        let audioMuted: Bool?
        let videoMuted: Bool?
    }
    private struct RepublishBody: Decodable {
        let room: String
        let stream: String
        let url: String
    }
    private struct StopRepublishBody: Decodable { let republish: String }
    private struct MessageBody: Decodable {
        let room: String
        let text: String
        let to: String?
    }

    // MARK: Server frames

    public static func reply(_ id: RequestID?, result: some Encodable) -> String {
        encode(OkReply(id: id, result: result))
    }

    public static func reply(_ id: RequestID?, error: ProtocolError) -> String {
        encode(ErrorReply(id: id, error: .init(code: error.code, message: error.message)))
    }

    public static func event(_ event: RoomEvent) -> String {
        switch event {
        case .joined(let room, let participant):
            encode(JoinedEvent(room: room, participant: .init(participant)))
        case .left(let room, let participant, let reason):
            encode(LeftEvent(room: room, participant: .init(name: participant.name), reason: reason.rawValue))
        case .message(let message):
            encode(MessageEvent(room: message.room, from: message.from, to: message.to, text: message.text, time: message.time))
        case .published(let room, let participant, let stream):
            encode(StreamChangeEvent(event: "published", room: room, participant: .init(name: participant), stream: stream))
        case .updated(let room, let participant, let stream):
            encode(StreamChangeEvent(event: "updated", room: room, participant: .init(name: participant), stream: stream))
        case .unpublished(let room, let participant, let stream, let reason):
            encode(UnpublishedEvent(room: room, participant: .init(name: participant), stream: .init(id: stream),
                                    reason: reason.rawValue))
        }
    }

    /// A stream's status change: `connected`, `failed` or `closed`, with a stable `reason` code and a `message`
    /// for people for the last two.
    public static func streamEvent(stream: String, _ event: StreamEvent) -> String {
        switch event {
        case .connected:
            encode(StreamStatusEvent(stream: stream, status: "connected", reason: nil, message: nil))
        case .failed(let reason):
            encode(StreamStatusEvent(stream: stream, status: "failed", reason: code(reason), message: message(reason)))
        case .closed(let reason):
            encode(StreamStatusEvent(stream: stream, status: "closed", reason: code(reason), message: message(reason)))
        }
    }

    /// A recording's status (`recording` events): `started`, `finished` (the file is complete and downloadable),
    /// `stopped` (ended before its stream, with `reason`; the file holds what came before) or `failed` (never
    /// started, with the refusal's code and message).
    public static func recordingEvent(stream: String, recordName: String, _ progress: RecordingProgress) -> String {
        let event: RecordingStatusEvent
        switch progress {
        case .started:
            event = RecordingStatusEvent(stream: stream, recordName: recordName, status: "started", reason: nil, message: nil)
        case .ended(.finished):
            event = RecordingStatusEvent(stream: stream, recordName: recordName, status: "finished", reason: nil, message: nil)
        case .ended(.stopped(let why)):
            event = RecordingStatusEvent(stream: stream, recordName: recordName, status: "stopped", reason: why.rawValue,
                                         message: message(why))
        case .refused(let error):
            event = RecordingStatusEvent(stream: stream, recordName: recordName, status: "failed", reason: error.code,
                                         message: error.message)
        }
        return encode(event)
    }

    static func message(_ stop: RecordingStop) -> String {
        switch stop {
        case .maxLength: "The recording reached the server's maximum length"
        case .diskFull: "The server's disk is nearly full"
        case .writeFailed: "The recording's file could not be written"
        case .tooSlow: "The server's disk could not keep up with the stream"
        }
    }

    /// A push's status (`republish` events): `connecting`, `publishing`, `retrying` or `ended`.
    public static func republishEvent(id: String, stream: String, _ event: RepublishEvent) -> String {
        switch event {
        case .connecting(let attempt):
            encode(RepublishStatusEvent(republish: id, stream: stream, status: "connecting", attempt: attempt))
        case .publishing:
            encode(RepublishStatusEvent(republish: id, stream: stream, status: "publishing"))
        case .retrying(let message, let delay):
            encode(RepublishStatusEvent(republish: id, stream: stream, status: "retrying", message: message, retryIn: delay))
        case .ended(let reason):
            encode(RepublishStatusEvent(republish: id, stream: stream, status: "ended", reason: code(reason), message: self.message(reason)))
        }
    }

    /// The `reason` codes of `stream` events (docs/PROTOCOL.md lists them): stable, for programs.
    public static func code(_ reason: StreamEndReason) -> String {
        switch reason {
        case .peerClosed: "peer_closed"
        case .consentExpired: "consent_expired"
        case .dtlsFailed: "dtls_failed"
        case .fingerprintMismatch: "fingerprint_mismatch"
        case .srtpFailed: "srtp_failed"
        case .unpublished: "unpublished"
        case .stopped: "stopped"
        }
    }

    static func message(_ reason: StreamEndReason) -> String {
        switch reason {
        case .peerClosed: "The peer closed the connection"
        case .consentExpired: "No ICE consent check from the peer for 29 s"
        case .dtlsFailed(let detail): "The DTLS handshake failed: \(detail)"
        case .fingerprintMismatch: "The peer's DTLS certificate does not match the fingerprint in its offer"
        case .srtpFailed: "SRTP could not be set up from the DTLS keys"
        case .unpublished: "The stream being played was unpublished"
        case .stopped: "Stopped by the server: a stop or leave request, or the socket closing"
        }
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Our own types always encode; a failure here is a programming error, not bad input.
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            return #"{"event":"error","message":"encoding failed"}"#
        }
        return text
    }

    // Reply payloads.
    public struct ServerInfo: Encodable, Sendable {
        public let name: String
        public let version: String
        public init(name: String = "parley", version: String) {
            self.name = name
            self.version = version
        }
    }
    public struct ConnectResult: Encodable, Sendable {
        public let sessionId: String
        public let username: String
        public let server: ServerInfo
        /// TURN servers with this session's credentials, when the server hands some out.
        public let iceServers: [IceServer]?
        public init(sessionId: String, username: String, server: ServerInfo, iceServers: [IceServer]? = nil) {
            self.sessionId = sessionId
            self.username = username
            self.server = server
            self.iceServers = iceServers
        }
    }
    public struct ParticipantJSON: Encodable, Sendable {
        let name: String
        let streams: [StreamDescription]
        init(_ p: Participant) {
            name = p.name
            streams = p.streams
        }
    }
    public struct RoomJSON: Encodable, Sendable {
        let name: String
        let maxParticipants: Int
        let participants: [ParticipantJSON]
        let history: [ChatMessage]
    }
    public struct JoinResult: Encodable, Sendable {
        let room: RoomJSON
        /// Fresh TURN credentials (a session may outlive the ones `connect` gave).
        let iceServers: [IceServer]?
        public init(_ s: RoomSnapshot, iceServers: [IceServer]? = nil) {
            room = RoomJSON(name: s.name, maxParticipants: s.maxParticipants,
                            participants: s.participants.map(ParticipantJSON.init), history: s.history)
            self.iceServers = iceServers
        }
    }
    public struct MessageResult: Encodable, Sendable {
        let message: ChatMessage
        public init(_ m: ChatMessage) { message = m }
    }
    public struct Empty: Encodable, Sendable { public init() {} }
    public struct StreamResult: Encodable, Sendable {
        let stream: String
        let sdp: String
        public init(stream: String, sdp: String) {
            self.stream = stream
            self.sdp = sdp
        }
    }
    public struct PublishResult: Encodable, Sendable {
        let stream: String
        let sdp: String
        let audio: Bool
        let video: Bool
        /// With `record: true`: the file's name, downloadable at /client/records/NAME once the stream ends.
        let recordName: String?
        public init(stream: String, sdp: String, audio: Bool, video: Bool, recordName: String? = nil) {
            self.stream = stream
            self.sdp = sdp
            self.audio = audio
            self.video = video
            self.recordName = recordName
        }
    }
    public struct RepublishResult: Encodable, Sendable {
        let republish: String
        public init(republish: String) { self.republish = republish }
    }
    public struct PingResult: Encodable, Sendable {
        let time: Int64
        public init(time: Int64) { self.time = time }
    }

    private struct OkReply<R: Encodable>: Encodable {
        let id: RequestID?
        let ok = true
        let result: R
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)  // explicit null when absent
            try c.encode(ok, forKey: .ok)
            try c.encode(result, forKey: .result)
        }
        enum CodingKeys: String, CodingKey { case id, ok, result }
    }
    private struct ErrorBody: Encodable {
        let code: String
        let message: String
    }
    private struct ErrorReply: Encodable {
        let id: RequestID?
        let ok = false
        let error: ErrorBody
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(ok, forKey: .ok)
            try c.encode(error, forKey: .error)
        }
        enum CodingKeys: String, CodingKey { case id, ok, error }
    }
    private struct JoinedEvent: Encodable {
        let event = "joined"
        let room: String
        let participant: ParticipantJSON
    }
    private struct NameOnly: Encodable { let name: String }
    private struct LeftEvent: Encodable {
        let event = "left"
        let room: String
        let participant: NameOnly
        let reason: String
    }
    private struct StreamChangeEvent: Encodable {
        let event: String
        let room: String
        let participant: NameOnly
        let stream: StreamDescription
    }
    private struct IDOnly: Encodable { let id: String }
    private struct UnpublishedEvent: Encodable {
        let event = "unpublished"
        let room: String
        let participant: NameOnly
        let stream: IDOnly
        let reason: String
    }
    private struct StreamStatusEvent: Encodable {
        let event = "stream"
        let stream: String
        let status: String
        let reason: String?
        let message: String?
    }
    private struct RecordingStatusEvent: Encodable {
        let event = "recording"
        let stream: String
        let recordName: String
        let status: String
        let reason: String?
        let message: String?
    }
    private struct RepublishStatusEvent: Encodable {
        let event = "republish"
        let republish: String
        let stream: String
        let status: String
        var attempt: Int? = nil
        var reason: String? = nil
        var message: String? = nil
        var retryIn: Int? = nil
    }
    private struct MessageEvent: Encodable {
        let event = "message"
        let room: String
        let from: String
        let to: String?
        let text: String
        let time: Int64
    }
}

import Foundation

/// A client frame of the Web Call Server protocol (`{"message": name, "data": [obj]}`), decoded and type-checked.
/// See docs/WCS-COMPATIBILITY.md for what each one does on Parley.
public enum WCSRequest: Sendable, Equatable {
    case connection(WCSConnect)
    case ping
    case pong
    /// A REST-app command (`sendData`); the room app's `join`, `leave` and `sendMessage` travel this way.
    case sendData(operationId: String, payload: WCSJSON)
    case publishStream(WCSStreamRequest)
    case playStream(WCSStreamRequest)
    case unPublishStream(mediaSessionId: String, name: String?)
    case stopStream(mediaSessionId: String, name: String?)
    case sendStreamEvent(mediaSessionId: String, type: String, payload: WCSJSON?)
    case availableStream(mediaSessionId: String, name: String)
    /// SIP: `call` and `answer` start a call Parley cannot make; answered with a failed call.
    case sipCall(callId: String?)
    /// SIP requests on a call (`hangup`, `hold`, `sendDtmf`, ...): refused with `fail`.
    case sipRequest(message: String, callId: String?)
    /// Client diagnostics (`pushLogs`, `submitBugReport`, `sessionDebug`): accepted and dropped.
    case diagnostics(message: String)
    /// Anything else: logged and answered with `fail`.
    case unknown(message: String)
}

/// The `connection` frame's fields that matter here.
public struct WCSConnect: Sendable, Equatable {
    /// `roomApp` for the room API; anything else serves plain streaming.
    public var appKey: String
    /// `custom.login`: the participant's name in rooms.
    public var login: String?
    public var clientVersion: String?
    public var mediaProviders: [String]
    public var custom: WCSJSON?

    public init(appKey: String, login: String? = nil, clientVersion: String? = nil, mediaProviders: [String] = [],
                custom: WCSJSON? = nil) {
        self.appKey = appKey
        self.login = login
        self.clientVersion = clientVersion
        self.mediaProviders = mediaProviders
        self.custom = custom
    }
}

/// A `publishStream` or `playStream`.
public struct WCSStreamRequest: Sendable, Equatable {
    public var mediaSessionId: String
    public var name: String
    public var sdp: String?
    /// `WebRTC` unless the SDK picked another provider (Flash, WSPlayer, MSE), which Parley does not serve.
    public var mediaProvider: String?
    /// `custom.name`: the room the stream belongs to (the room API sets it).
    public var room: String?
    /// A publish's `rtmpUrl`: the stream is also pushed to that RTMP server once it publishes.
    public var rtmpUrl: String?
    /// A publish's `record`: the stream is recorded; its status events carry `recordName`.
    public var record: Bool = false

    public init(mediaSessionId: String, name: String, sdp: String?, mediaProvider: String? = "WebRTC", room: String? = nil,
                rtmpUrl: String? = nil) {
        self.mediaSessionId = mediaSessionId
        self.name = name
        self.sdp = sdp
        self.mediaProvider = mediaProvider
        self.room = room
        self.rtmpUrl = rtmpUrl
    }
}

/// A frame that could not be used, with whatever could be read of it, so the answer can reach the right stream,
/// operation or call.
public struct WCSInvalidFrame: Error, Sendable, Equatable {
    public var message: String?
    public var mediaSessionId: String?
    public var operationId: String?
    public var callId: String?
    public var reason: String
}

/// Stream statuses (the SDK's `STREAM_STATUS`) Parley sends.
public enum WCSStreamStatus: String, Sendable {
    case publishing = "PUBLISHING"
    case playing = "PLAYING"
    case unpublished = "UNPUBLISHED"
    case stopped = "STOPPED"
    case failed = "FAILED"

    public var isTerminal: Bool { self == .unpublished || self == .stopped || self == .failed }
}

/// Decoding of client frames and encoding of server frames for the Web Call Server endpoint (`/`).
public enum WCSWire {
    /// Longest stream name accepted (the room API's are `<room>-<login>-<4 hex>[-<name>]`).
    public static let maxNameLength = 256
    /// Longest id (`mediaSessionId`, `operationId`, `callId`; the SDK's are 36-character UUIDs).
    public static let maxIDLength = 128

    public static func decode(_ text: String) -> Result<WCSRequest, WCSInvalidFrame> {
        guard let frame = WCSJSON.parse(text) else {
            return .failure(.init(reason: "The frame is not JSON"))
        }
        guard frame.object != nil else {
            return .failure(.init(reason: "The frame must be a JSON object {\"message\", \"data\"}"))
        }
        guard let message = frame["message"]?.string, !message.isEmpty else {
            return .failure(.init(reason: "The frame has no 'message' name"))
        }
        let shown = message.count > 40 ? String(message.prefix(40)) + "…" : message
        var invalid = WCSInvalidFrame(message: shown, reason: "")
        guard let data = frame["data"]?.array else {
            invalid.reason = "'\(shown)' has no 'data' array"
            return .failure(invalid)
        }
        // `pong` and `ping` carry `[null]`; everything else one object.
        let body = data.first ?? .null
        switch message {
        case "ping": return .success(.ping)
        case "pong": return .success(.pong)
        case "pushLogs", "submitBugReport", "sessionDebug": return .success(.diagnostics(message: message))
        default: break
        }
        guard body.object != nil else {
            invalid.reason = "'\(shown)' needs an object in data[0]"
            return .failure(invalid)
        }
        invalid.mediaSessionId = id(body["mediaSessionId"])
        invalid.operationId = id(body["operationId"])
        invalid.callId = id(body["callId"])

        func field(_ key: String) throws(WCSInvalidFrame) -> String {
            guard let value = body[key], !value.isNull else {
                invalid.reason = "'\(shown)' is missing '\(key)'"
                throw invalid
            }
            guard let s = value.string else {
                invalid.reason = "'\(shown)': '\(key)' must be a string"
                throw invalid
            }
            return s
        }
        func optionalField(_ key: String) throws(WCSInvalidFrame) -> String? {
            guard let value = body[key], !value.isNull else { return nil }
            guard let s = value.string else {
                invalid.reason = "'\(shown)': '\(key)' must be a string"
                throw invalid
            }
            return s
        }
        func identifier(_ key: String) throws(WCSInvalidFrame) -> String {
            let value = try field(key)
            guard (1...maxIDLength).contains(value.utf8.count) else {
                invalid.reason = "'\(shown)': '\(key)' must be 1–\(maxIDLength) characters"
                throw invalid
            }
            return value
        }
        func streamName() throws(WCSInvalidFrame) -> String {
            let name = try field("name")
            guard !name.isEmpty, name.count <= maxNameLength,
                  !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                invalid.reason = "'\(shown)': the stream name must be 1–\(maxNameLength) printable characters"
                throw invalid
            }
            return name
        }

        do throws(WCSInvalidFrame) {
            switch message {
            case "connection":
                let providers = body["mediaProviders"]?.array?.compactMap(\.string) ?? []
                let appKey = try optionalField("appKey") ?? "defaultApp"
                let custom = body["custom"]
                var login: String?
                if let value = custom?["login"], !value.isNull {
                    guard let s = value.string else {
                        invalid.reason = "'connection': 'custom.login' must be a string"
                        throw invalid
                    }
                    login = s
                }
                return .success(.connection(WCSConnect(
                    appKey: appKey.isEmpty ? "defaultApp" : appKey, login: login,
                    clientVersion: body["clientVersion"]?.string, mediaProviders: providers, custom: custom)))
            case "sendData":
                let operationId = try identifier("operationId")
                return .success(.sendData(operationId: operationId, payload: body["payload"] ?? .null))
            case "publishStream", "playStream":
                let mediaSessionId = try identifier("mediaSessionId")
                let name = try streamName()
                let sdp = try optionalField("sdp")
                let provider = try optionalField("mediaProvider")
                let rtmpUrl = try optionalField("rtmpUrl")
                var room: String?
                if let value = body["custom"]?["name"], !value.isNull {
                    guard let s = value.string else {
                        invalid.reason = "'\(shown)': 'custom.name' must be a string"
                        throw invalid
                    }
                    room = s
                }
                var request = WCSStreamRequest(mediaSessionId: mediaSessionId, name: name, sdp: sdp,
                                               mediaProvider: provider, room: room, rtmpUrl: rtmpUrl?.isEmpty == false ? rtmpUrl : nil)
                request.record = message == "publishStream" && body["record"]?.bool == true
                return .success(message == "publishStream" ? .publishStream(request) : .playStream(request))
            case "unPublishStream", "stopStream":
                let mediaSessionId = try identifier("mediaSessionId")
                let name = body["name"]?.string
                return .success(message == "unPublishStream"
                    ? .unPublishStream(mediaSessionId: mediaSessionId, name: name)
                    : .stopStream(mediaSessionId: mediaSessionId, name: name))
            case "sendStreamEvent":
                let mediaSessionId = try identifier("mediaSessionId")
                let type = try field("type")
                return .success(.sendStreamEvent(mediaSessionId: mediaSessionId, type: type, payload: body["payload"]))
            case "availableStream":
                let mediaSessionId = try identifier("mediaSessionId")
                return .success(.availableStream(mediaSessionId: mediaSessionId, name: try field("name")))
            case "call", "answer":
                return .success(.sipCall(callId: invalid.callId))
            case "hangup", "hold", "unhold", "sendDtmf", "transfer", "sendMessage", "sendIMMessage", "updateCallToStream":
                return .success(.sipRequest(message: message, callId: invalid.callId))
            default:
                return .success(.unknown(message: shown))
            }
        } catch {
            return .failure(error)
        }
    }

    /// A string id as sent, if it is one of a sane length.
    private static func id(_ value: WCSJSON?) -> String? {
        guard let s = value?.string, (1...maxIDLength).contains(s.utf8.count) else { return nil }
        return s
    }

    // MARK: Server frames

    /// `{"message": name, "data": data}`: the SDK reads `data[0]` of every frame, so `data` is always an array.
    public static func frame(_ message: String, _ data: [WCSJSON] = []) -> String {
        WCSJSON.object(["message": .string(message), "data": .array(data)]).text
    }

    public static func ping() -> String { frame("ping") }
    public static func pong() -> String { frame("pong") }

    public static func userData(_ fields: [String: WCSJSON]) -> String {
        frame("getUserData", [.object(fields)])
    }

    /// The one answer to a `sendData`: `ACCEPTED`, or `FAILED` with `info` (the SDK throws on any other status).
    public static func dataStatus(operationId: String, failure: String? = nil) -> String {
        var body: [String: WCSJSON] = ["operationId": .string(operationId), "status": failure == nil ? "ACCEPTED" : "FAILED"]
        if let failure { body["info"] = .string(failure) }
        return frame("DataStatusEvent", [.object(body)])
    }

    /// A room event: `OnDataEvent` with `payload {roomName, name, info}`.
    public static func roomEvent(room: String, name: String, info: WCSJSON) -> String {
        frame("OnDataEvent", [["payload": .object(["roomName": .string(room), "name": .string(name), "info": info])]])
    }

    /// The SDP answer, positional: `[mediaSessionId, sdp]`.
    public static func remoteSDP(mediaSessionId: String, sdp: String) -> String {
        frame("setRemoteSDP", [.string(mediaSessionId), .string(sdp)])
    }

    public static func streamStatus(mediaSessionId: String, name: String?, status: WCSStreamStatus, info: String? = nil,
                                    audioMuted: Bool? = nil, videoMuted: Bool? = nil, recordName: String? = nil) -> String {
        var body: [String: WCSJSON] = ["mediaSessionId": .string(mediaSessionId), "status": .string(status.rawValue)]
        if let name { body["name"] = .string(name) }
        if let recordName { body["recordName"] = .string(recordName) }  // the SDK's getRecordInfo()
        if let info { body["info"] = .string(info) }
        if let audioMuted { body["audioState"] = ["muted": .bool(audioMuted)] }
        if let videoMuted { body["videoState"] = ["muted": .bool(videoMuted)] }
        return frame("notifyStreamStatusEvent", [.object(body)])
    }

    /// A stream event to a player: `audioMuted`, `audioUnmuted`, `videoMuted`, `videoUnmuted`.
    public static func streamEvent(mediaSessionId: String, type: String, payload: WCSJSON = [:]) -> String {
        frame("notifyStreamEvent", [["mediaSessionId": .string(mediaSessionId), "type": .string(type), "payload": payload]])
    }

    /// `fail`: reaches the session's WARN callback, and with `apiMethod` `StreamStatusEvent` and an `id`, that
    /// stream too (as FAILED).
    public static func fail(apiMethod: String? = nil, id: String? = nil, info: String) -> String {
        var body: [String: WCSJSON] = ["status": "FAILED", "info": .string(info)]
        if let apiMethod { body["apiMethod"] = .string(apiMethod) }
        if let id { body["id"] = .string(id) }
        return frame("fail", [.object(body)])
    }

    /// The answer to `availableStream`; `status` is the string "true" or "false", as the SDK compares it.
    public static func availableStream(mediaSessionId: String, available: Bool, info: String?) -> String {
        var body: [String: WCSJSON] = ["id": .string(mediaSessionId), "status": .string(available ? "true" : "false")]
        if let info { body["info"] = .string(info) }
        return frame("availableStream", [.object(body)])
    }

    /// Ends a SIP call the SDK started: `finish` with status FAILED releases it and fires its FAILED callback.
    public static func callFailed(callId: String, info: String) -> String {
        frame("finish", [["callId": .string(callId), "status": "FAILED", "info": .string(info)]])
    }
}

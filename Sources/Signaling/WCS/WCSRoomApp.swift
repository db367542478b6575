import Rooms

/// A command of the Web Call Server's room application (`appKey` "roomApp"), carried in `sendData`'s
/// `payload: {"command", "options"}`.
public enum WCSRoomCommand: Sendable, Equatable {
    case join(room: String)
    case leave(room: String)
    /// The SDK sends one per recipient (`to`); without `to` it goes to the whole room.
    case sendMessage(room: String, to: String?, text: String)

    public static let appKey = "roomApp"

    /// Reads a `sendData` payload; the error is the `info` of a FAILED `DataStatusEvent`.
    public static func decode(_ payload: WCSJSON) -> Result<WCSRoomCommand, WCSCommandError> {
        guard payload.object != nil else { return .failure(.init("The payload must be an object {command, options}")) }
        guard let command = payload["command"]?.string else { return .failure(.init("The payload has no 'command'")) }
        guard let options = payload["options"], options.object != nil else {
            return .failure(.init("'\(command)' needs an 'options' object"))
        }
        func string(_ value: WCSJSON?, _ field: String) -> Result<String, WCSCommandError> {
            guard let value, !value.isNull else { return .failure(.init("'\(command)' is missing '\(field)'")) }
            guard let s = value.string else { return .failure(.init("'\(command)': '\(field)' must be a string")) }
            return .success(s)
        }
        switch command {
        case "join":
            return string(options["name"], "options.name").map { .join(room: $0) }
        case "leave":
            return string(options["name"], "options.name").map { .leave(room: $0) }
        case "sendMessage":
            // The room SDK names the room in `roomConfig.name`; accept a plain `name` too.
            let room = options["roomConfig"]?["name"] ?? options["name"]
            return string(room, "options.roomConfig.name").flatMap { room in
                string(options["text"], "options.text").flatMap { text in
                    if let to = options["to"], !to.isNull {
                        return string(to, "options.to").map { .sendMessage(room: room, to: $0, text: text) }
                    }
                    return .success(.sendMessage(room: room, to: nil, text: text))
                }
            }
        default:
            let shown = command.count > 40 ? String(command.prefix(40)) + "…" : command
            return .failure(.init("Unknown room command '\(shown)': Parley's roomApp serves join, leave and sendMessage"))
        }
    }
}

public struct WCSCommandError: Error, Sendable, Equatable {
    public let info: String
    public init(_ info: String) { self.info = info }
}

/// How streams are named on the Web Call Server side.
public enum WCSNames {
    /// Where a publish with `rtmpUrl` is pushed: the Web Call Server's default, `rtmpUrl/rtmp_NAME`.
    public static func republishURL(_ rtmpUrl: String, name: String) -> String {
        var base = Substring(rtmpUrl)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)/rtmp_\(name)"
    }

    /// A stream's WCS name: the publisher's own name for a WCS stream; for one published with Parley's protocol
    /// (which has no names), `<room>-<participant>-<id>`, the shape the room SDK gives its own, so the SDK's
    /// room clean-up on `leave` treats it as a stream of that room. A Parley screen share ends in `-screenShare`,
    /// the mark WCS apps look for to show a stream as the shared screen.
    public static func name(of stream: StreamDescription, participant: String, room: String) -> String {
        if let name = stream.name { return name }
        let base = "\(room)-\(participant)-\(stream.id)"
        return stream.display == screenDisplay ? base + "-" + screenShareMark : base
    }

    /// The label Parley-protocol clients see for a WCS stream (`display`, at most 64 printable characters):
    /// `screen` for a name WCS apps treat as a screen share (they test for `screenShare` in it), else the name.
    public static func display(for name: String) -> String? {
        if name.contains(screenShareMark) { return screenDisplay }
        guard let label = try? Validation.display(String(name.prefix(Validation.maxDisplayLength))) else { return nil }
        return label
    }

    static let screenShareMark = "screenShare"
    /// Parley's own apps and SDK mark a screen share with this `display`.
    static let screenDisplay = "screen"
}

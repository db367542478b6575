/// An SDP session description (RFC 8866) as WebRTC uses it.
///
/// The fixed lines (`v o s i u e p c b t r z k`, `m`) are typed; every `a=` line stays an `Attribute` in its
/// original order, and typed views (`mid`, `payloadFormats`, `fingerprints` …) are read from them. So
/// `parse(text).serialize()` gives back every line of a well-formed `text`, unknown attributes included.
public struct SessionDescription: Sendable, Hashable {
    public var version: Int = 0
    public var origin: Origin
    public var sessionName: String
    public var information: String?
    public var uri: String?
    public var emails: [String] = []
    public var phones: [String] = []
    public var connection: Connection?
    public var bandwidths: [Bandwidth] = []
    public var timing: [Timing]
    public var timeZones: String?
    public var encryptionKey: String?
    public var attributes: [Attribute] = []
    public var media: [MediaDescription] = []

    public init(origin: Origin, sessionName: String = "-", timing: [Timing] = [Timing()],
                attributes: [Attribute] = [], media: [MediaDescription] = []) {
        self.origin = origin
        self.sessionName = sessionName
        self.timing = timing
        self.attributes = attributes
        self.media = media
    }

    /// Serializes with `\r\n` line endings (RFC 8866 §5), fields in the RFC's order.
    public func serialize() -> String {
        var out = ""
        out.reserveCapacity(1024 + media.count * 2048)
        func line(_ text: String) {
            out += text
            out += "\r\n"
        }
        line("v=\(version)")
        line("o=\(origin)")
        line("s=\(sessionName)")
        if let information { line("i=\(information)") }
        if let uri { line("u=\(uri)") }
        for email in emails { line("e=\(email)") }
        for phone in phones { line("p=\(phone)") }
        if let connection { line("c=\(connection)") }
        for bandwidth in bandwidths { line("b=\(bandwidth)") }
        for t in timing {
            line("t=\(t.start) \(t.stop)")
            for repeatLine in t.repeats { line("r=\(repeatLine)") }
        }
        if let timeZones { line("z=\(timeZones)") }
        if let encryptionKey { line("k=\(encryptionKey)") }
        for attribute in attributes { line(attribute.description) }
        for m in media {
            line("m=\(m.mediaLine)")
            if let title = m.title { line("i=\(title)") }
            if let connection = m.connection { line("c=\(connection)") }
            for bandwidth in m.bandwidths { line("b=\(bandwidth)") }
            if let key = m.encryptionKey { line("k=\(key)") }
            for attribute in m.attributes { line(attribute.description) }
        }
        return out
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    /// Kept as text: RFC 8866 only asks for a numeric string, and browsers use up to 20 digits.
    public var sessionID: String
    public var sessionVersion: UInt64
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(username: String = "-", sessionID: String, sessionVersion: UInt64, networkType: String = "IN",
                addressType: String = "IP4", address: String = "127.0.0.1") {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    public var description: String {
        "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)"
    }
}

/// `c=<nettype> <addrtype> <address>`.
public struct Connection: Sendable, Hashable, CustomStringConvertible {
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(networkType: String = "IN", addressType: String = "IP4", address: String) {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// `IN IP4 …` or `IN IP6 …` depending on the address.
    public init(address: String) {
        self.init(addressType: address.contains(":") ? "IP6" : "IP4", address: address)
    }

    public var description: String { "\(networkType) \(addressType) \(address)" }
}

/// `b=<type>:<bandwidth>`.
public struct Bandwidth: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var value: UInt64

    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }

    public var description: String { "\(type):\(value)" }
}

/// `t=<start> <stop>` with its `r=` lines (kept as text).
public struct Timing: Sendable, Hashable {
    public var start: UInt64
    public var stop: UInt64
    public var repeats: [String]

    public init(start: UInt64 = 0, stop: UInt64 = 0, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }
}

/// The `<media>` of an m= line.
public enum MediaKind: Sendable, Hashable, CustomStringConvertible {
    case audio, video, application
    case other(String)

    public init(_ text: String) {
        switch text {
        case "audio": self = .audio
        case "video": self = .video
        case "application": self = .application
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .audio: "audio"
        case .video: "video"
        case .application: "application"
        case .other(let text): text
        }
    }
}

/// One `m=` section and the lines under it.
public struct MediaDescription: Sendable, Hashable {
    public var kind: MediaKind
    /// 0 marks a rejected (or, with `a=bundle-only`, a bundled-only) section.
    public var port: UInt16
    public var portCount: UInt16?
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP` …
    public var proto: String
    /// The `<fmt>` list: payload type numbers for RTP, e.g. `webrtc-datachannel` for SCTP.
    public var formats: [String]
    public var title: String?
    public var connection: Connection?
    public var bandwidths: [Bandwidth] = []
    public var encryptionKey: String?
    public var attributes: [Attribute] = []

    public init(kind: MediaKind, port: UInt16, proto: String, formats: [String], connection: Connection? = nil,
                attributes: [Attribute] = []) {
        self.kind = kind
        self.port = port
        self.proto = proto
        self.formats = formats
        self.connection = connection
        self.attributes = attributes
    }

    var mediaLine: String {
        let port = portCount.map { "\(self.port)/\($0)" } ?? "\(self.port)"
        return (["\(kind)", port, proto] + formats).joined(separator: " ")
    }

    /// Whether the transport carries RTP (so `formats` are payload types).
    public var isRTP: Bool { proto.uppercased().contains("RTP/") }
}

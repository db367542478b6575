/// One `a=` line, kept verbatim: `name` is the text before the first colon, `value` the text after it
/// (nil for flags like `a=rtcp-mux`). Keeping the raw text is what makes parse → serialize lossless, including
/// attributes Parley does not know (`a=simulcast`, `a=rid`, `a=sctp-port` …) and quirks such as
/// `a=msid-semantic: WMS` with its leading space. Typed views are parsed from these on demand.
public struct Attribute: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// An attribute from a typed value, e.g. `Attribute(RTPMap(payloadType: 111, encodingName: "opus", …))`.
    public init<V: AttributeValue>(_ typed: V) {
        self.init(V.attributeName, typed.attributeValue)
    }

    public var description: String { value.map { "a=\(name):\($0)" } ?? "a=\(name)" }

    public static let rtcpMux = Attribute("rtcp-mux")
    public static let rtcpReducedSize = Attribute("rtcp-rsize")
    public static let endOfCandidates = Attribute("end-of-candidates")
    public static let iceLite = Attribute("ice-lite")
    public static let extmapAllowMixed = Attribute("extmap-allow-mixed")
    public static let bundleOnly = Attribute("bundle-only")
    public static func mid(_ mid: String) -> Attribute { Attribute("mid", mid) }
    public static func direction(_ direction: Direction) -> Attribute { Attribute(direction.rawValue) }
    public static func iceUsernameFragment(_ ufrag: String) -> Attribute { Attribute("ice-ufrag", ufrag) }
    public static func icePassword(_ pwd: String) -> Attribute { Attribute("ice-pwd", pwd) }
    public static func setup(_ role: SetupRole) -> Attribute { Attribute(role) }
}

/// A typed attribute value that parses from and prints to the text after `a=name:`.
public protocol AttributeValue: Sendable, Hashable {
    static var attributeName: String { get }
    /// nil when the text does not follow the attribute's grammar.
    init?(sdpValue: Substring)
    var attributeValue: String { get }
}

extension AttributeValue {
    public init?(sdpValue: String) { self.init(sdpValue: Substring(sdpValue)) }
}

// MARK: - Direction

/// RFC 8866 §6.7 media direction, always from the point of view of the description that carries it.
public enum Direction: String, Sendable, Hashable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    public var sends: Bool { self == .sendrecv || self == .sendonly }
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    public init(sends: Bool, receives: Bool) {
        switch (sends, receives) {
        case (true, true): self = .sendrecv
        case (true, false): self = .sendonly
        case (false, true): self = .recvonly
        case (false, false): self = .inactive
        }
    }

    /// The direction seen from the other side: sendonly ↔ recvonly.
    public var reversed: Direction { Direction(sends: receives, receives: sends) }
}

// MARK: - DTLS

/// `a=setup` (RFC 4145, RFC 8842).
public enum SetupRole: String, Sendable, Hashable, CaseIterable, AttributeValue {
    case active, passive, actpass, holdconn

    public static let attributeName = "setup"
    public init?(sdpValue: Substring) {
        guard let role = SetupRole(rawValue: sdpValue.lowercased()) else { return nil }
        self = role
    }
    public var attributeValue: String { rawValue }
}

/// `a=fingerprint:sha-256 AB:CD:…` (RFC 8122). The algorithm is stored lowercase, the digest as bytes.
public struct Fingerprint: Sendable, Hashable, AttributeValue, CustomStringConvertible {
    public var algorithm: String
    public var bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// The digest length each hash function must have; unknown algorithms accept any non-empty digest.
    static func expectedLength(_ algorithm: String) -> Int? {
        switch algorithm {
        case "sha-1": 20
        case "sha-224": 28
        case "sha-256": 32
        case "sha-384": 48
        case "sha-512": 64
        case "md5", "md2": 16
        default: nil
        }
    }

    public static let attributeName = "fingerprint"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count == 2, isToken(parts[0]) else { return nil }
        let algorithm = parts[0].lowercased()
        let hex = Array(parts[1].utf8)
        // "AB:CD:EF": 3 characters per byte but the last.
        guard hex.count >= 2, (hex.count + 1) % 3 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((hex.count + 1) / 3)
        var i = 0
        while i + 1 < hex.count {
            guard let byte = hexByte(hex[i], hex[i + 1]) else { return nil }
            bytes.append(byte)
            if i + 2 < hex.count, hex[i + 2] != UInt8(ascii: ":") { return nil }
            i += 3
        }
        if let expected = Fingerprint.expectedLength(algorithm), expected != bytes.count { return nil }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    public var hexDigest: String { bytes.map { hexDigits($0) }.joined(separator: ":") }
    public var attributeValue: String { "\(algorithm) \(hexDigest)" }
    public var description: String { attributeValue }
}

// MARK: - Codecs

/// `a=rtpmap:<pt> <name>/<clock>[/<channels>]`.
public struct RTPMap: Sendable, Hashable, AttributeValue {
    public var payloadType: UInt8
    public var encodingName: String
    public var clockRate: UInt32
    /// The encoding parameters; for audio, the channel count. nil when absent (meaning 1 for audio).
    public var channels: UInt8?

    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, channels: UInt8? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    public static let attributeName = "rtpmap"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count == 2, let pt = parseDecimal(parts[0], as: UInt8.self), pt <= 127 else { return nil }
        let encoding = parts[1].split(separator: "/", omittingEmptySubsequences: false)
        guard encoding.count == 2 || encoding.count == 3, isToken(encoding[0]),
              let clock = parseDecimal(encoding[1], as: UInt32.self), clock > 0 else { return nil }
        var channels: UInt8?
        if encoding.count == 3 {
            guard let c = parseDecimal(encoding[2], as: UInt8.self), c > 0 else { return nil }
            channels = c
        }
        self.init(payloadType: pt, encodingName: String(encoding[0]), clockRate: clock, channels: channels)
    }

    public var attributeValue: String {
        "\(payloadType) \(encodingName)/\(clockRate)" + (channels.map { "/\($0)" } ?? "")
    }

    /// RFC 3551 static payload types a browser may offer without an rtpmap line.
    public static func staticPayloadType(_ pt: UInt8) -> RTPMap? {
        switch pt {
        case 0: RTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000, channels: 1)
        case 8: RTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000, channels: 1)
        case 9: RTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000, channels: 1)
        default: nil
        }
    }
}

/// One `key=value` (or bare `value`, as in telephone-event's `0-15` or RED's `111/111`) from an fmtp line.
public struct FormatParameter: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    public var description: String { value.map { "\(name)=\($0)" } ?? name }
}

/// `a=fmtp:<pt> k=v;k=v`.
public struct FormatParameters: Sendable, Hashable, AttributeValue {
    public var payloadType: UInt8
    public var parameters: [FormatParameter]

    public init(payloadType: UInt8, parameters: [FormatParameter]) {
        self.payloadType = payloadType
        self.parameters = parameters
    }

    /// Case-insensitive lookup (RFC 6184 parameter names are case-insensitive).
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return parameters.first { $0.name.lowercased() == key }?.value
    }

    public static let attributeName = "fmtp"
    public init?(sdpValue: Substring) {
        let (ptText, rest) = splitOnce(sdpValue, at: " ")
        guard let pt = parseDecimal(ptText, as: UInt8.self), pt <= 127 else { return nil }
        self.init(payloadType: pt, parameters: FormatParameters.parseList(rest ?? ""))
    }

    static func parseList(_ text: Substring) -> [FormatParameter] {
        text.split(separator: ";").compactMap { raw in
            let item = raw.trimmingSpaces
            guard !item.isEmpty else { return nil }
            let (name, value) = splitOnce(item, at: "=")
            return FormatParameter(String(name.trimmingSpaces), value.map { String($0.trimmingSpaces) })
        }
    }

    public var attributeValue: String {
        "\(payloadType) " + parameters.map(\.description).joined(separator: ";")
    }
}

/// The feedback message named by `a=rtcp-fb` (RFC 4585): `nack`, `nack pli`, `ccm fir`, `goog-remb`, `transport-cc` …
public struct RTCPFeedbackType: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var parameter: String?

    public init(_ type: String, _ parameter: String? = nil) {
        self.type = type
        self.parameter = parameter
    }

    public static let nack = RTCPFeedbackType("nack")
    public static let pli = RTCPFeedbackType("nack", "pli")
    public static let fir = RTCPFeedbackType("ccm", "fir")
    public static let remb = RTCPFeedbackType("goog-remb")
    public static let transportCC = RTCPFeedbackType("transport-cc")

    public var description: String { parameter.map { "\(type) \($0)" } ?? type }
}

/// `a=rtcp-fb:<pt|*> <type> [<parameter>]`.
public struct RTCPFeedback: Sendable, Hashable, AttributeValue {
    /// nil means `*`, all payload types of the section.
    public var payloadType: UInt8?
    public var feedback: RTCPFeedbackType

    public init(payloadType: UInt8?, feedback: RTCPFeedbackType) {
        self.payloadType = payloadType
        self.feedback = feedback
    }

    public static let attributeName = "rtcp-fb"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count >= 2, isToken(parts[1]) else { return nil }
        var pt: UInt8?
        if parts[0] != "*" {
            guard let value = parseDecimal(parts[0], as: UInt8.self), value <= 127 else { return nil }
            pt = value
        }
        let parameter = parts.count > 2 ? parts[2...].joined(separator: " ") : nil
        self.init(payloadType: pt, feedback: RTCPFeedbackType(String(parts[1]), parameter))
    }

    public var attributeValue: String { "\(payloadType.map(String.init) ?? "*") \(feedback)" }
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285).
public struct ExtensionMap: Sendable, Hashable, AttributeValue {
    public var id: UInt16
    public var direction: Direction?
    public var uri: String
    public var extensionAttributes: String?

    public init(id: UInt16, uri: String, direction: Direction? = nil, extensionAttributes: String? = nil) {
        self.id = id
        self.uri = uri
        self.direction = direction
        self.extensionAttributes = extensionAttributes
    }

    public static let attributeName = "extmap"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count >= 2, isToken(parts[1]) else { return nil }
        let (idText, dirText) = splitOnce(parts[0], at: "/")
        // 1-14 one-byte, 1-255 two-byte; 4096-4351 are the RFC 8285 "answer may pick" range.
        guard let id = parseDecimal(idText, as: UInt16.self), (1...255).contains(id) || (4096...4351).contains(id)
        else { return nil }
        var direction: Direction?
        if let dirText {
            guard let d = Direction(rawValue: String(dirText)) else { return nil }
            direction = d
        }
        let attrs = parts.count > 2 ? parts[2...].joined(separator: " ") : nil
        self.init(id: id, uri: String(parts[1]), direction: direction, extensionAttributes: attrs)
    }

    public var attributeValue: String {
        "\(id)" + (direction.map { "/\($0.rawValue)" } ?? "") + " \(uri)" + (extensionAttributes.map { " \($0)" } ?? "")
    }
}

/// The header extensions Parley knows by URI.
public enum HeaderExtensionURI {
    public static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    /// CVO (3GPP TS 26.114): a phone's camera rotation, so the receiver turns the picture instead of the sender.
    public static let videoOrientation = "urn:3gpp:video-orientation"
    /// The receiver's jitter buffer bounds, set by the sender (min and max playout delay in 10 ms units).
    public static let playoutDelay = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
    public static let rtpStreamID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    public static let repairedRTPStreamID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
}

// MARK: - Sources and streams

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576), e.g. `cname:…` or `msid:<stream> <track>`.
public struct SSRCAttribute: Sendable, Hashable, AttributeValue {
    public var ssrc: UInt32
    public var name: String
    public var value: String?

    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }

    public static let attributeName = "ssrc"
    public init?(sdpValue: Substring) {
        let (ssrcText, rest) = splitOnce(sdpValue, at: " ")
        guard let ssrc = parseDecimal(ssrcText, as: UInt32.self), let rest, !rest.isEmpty else { return nil }
        let (name, value) = splitOnce(rest, at: ":")
        guard isToken(name) else { return nil }
        self.init(ssrc: ssrc, name: String(name), value: value.map(String.init))
    }

    public var attributeValue: String { "\(ssrc) \(name)" + (value.map { ":\($0)" } ?? "") }
}

/// `a=ssrc-group:<semantics> <ssrc>…`, e.g. `FID <media> <rtx>` (RFC 5576, RFC 4588).
public struct SSRCGroup: Sendable, Hashable, AttributeValue {
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    public static let attributeName = "ssrc-group"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count >= 2, isToken(parts[0]) else { return nil }
        var ssrcs: [UInt32] = []
        for part in parts.dropFirst() {
            guard let ssrc = parseDecimal(part, as: UInt32.self) else { return nil }
            ssrcs.append(ssrc)
        }
        self.init(semantics: String(parts[0]), ssrcs: ssrcs)
    }

    public var attributeValue: String { ([semantics] + ssrcs.map(String.init)).joined(separator: " ") }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830). A stream id of `-` means "no stream".
public struct MediaStreamID: Sendable, Hashable, AttributeValue {
    public var streamID: String
    public var trackID: String?

    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }

    public static let attributeName = "msid"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        self.init(streamID: String(parts[0]), trackID: parts.count == 2 ? String(parts[1]) : nil)
    }

    public var attributeValue: String { streamID + (trackID.map { " \($0)" } ?? "") }
}

/// `a=group:<semantics> <mid>…` (RFC 5888), e.g. `BUNDLE 0 1`.
public struct Group: Sendable, Hashable, AttributeValue {
    public var semantics: String
    public var mids: [String]

    public init(semantics: String, mids: [String]) {
        self.semantics = semantics
        self.mids = mids
    }

    public static let attributeName = "group"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard let first = parts.first, isToken(first) else { return nil }
        self.init(semantics: String(first), mids: parts.dropFirst().map(String.init))
    }

    public var attributeValue: String { ([semantics] + mids).joined(separator: " ") }
}

// MARK: - ICE

/// `a=candidate:` (RFC 8839 §5.1). Extension pairs (`tcptype`, `generation`, `network-id` …) are kept in order.
public struct Candidate: Sendable, Hashable, AttributeValue {
    public var foundation: String
    public var component: UInt16
    /// As written (`udp`, `UDP`, `tcp`).
    public var transport: String
    public var priority: UInt32
    /// An IP address or an mDNS `….local` name.
    public var address: String
    public var port: UInt16
    /// `host`, `srflx`, `prflx`, `relay`.
    public var type: String
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var extensions: [(name: String, value: String)]

    public init(foundation: String, component: UInt16, transport: String, priority: UInt32, address: String,
                port: UInt16, type: String, relatedAddress: String? = nil, relatedPort: UInt16? = nil,
                extensions: [(name: String, value: String)] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    public static let attributeName = "candidate"
    public init?(sdpValue: Substring) {
        let parts = tokens(sdpValue)
        guard parts.count >= 8, parts[6] == "typ", isToken(parts[0]), isToken(parts[2]), isToken(parts[4]),
              isToken(parts[7]),
              let component = parseDecimal(parts[1], as: UInt16.self), component >= 1,
              let priority = parseDecimal(parts[3], as: UInt32.self),
              let port = parseDecimal(parts[5], as: UInt16.self)
        else { return nil }
        var rest = parts.dropFirst(8)
        guard rest.count % 2 == 0 else { return nil }
        var relatedAddress: String?
        var relatedPort: UInt16?
        var extensions: [(name: String, value: String)] = []
        while let name = rest.popFirst(), let value = rest.popFirst() {
            switch name {
            case "raddr": relatedAddress = String(value)
            case "rport":
                guard let p = parseDecimal(value, as: UInt16.self) else { return nil }
                relatedPort = p
            default: extensions.append((String(name), String(value)))
            }
        }
        self.init(foundation: String(parts[0]), component: component, transport: String(parts[2]),
                  priority: priority, address: String(parts[4]), port: port, type: String(parts[7]),
                  relatedAddress: relatedAddress, relatedPort: relatedPort, extensions: extensions)
    }

    public var attributeValue: String {
        var text = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type)"
        if let relatedAddress { text += " raddr \(relatedAddress)" }
        if let relatedPort { text += " rport \(relatedPort)" }
        for (name, value) in extensions { text += " \(name) \(value)" }
        return text
    }

    public static func == (a: Candidate, b: Candidate) -> Bool { a.attributeValue == b.attributeValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(attributeValue) }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}

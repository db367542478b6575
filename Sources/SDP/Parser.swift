extension SessionDescription {
    /// Larger offers are refused before any work: a browser offer with dozens of transceivers stays far below.
    public static let maximumSize = 1 << 20
    public static let maximumMediaSections = 1024

    /// Parses untrusted SDP text. Accepts `\r\n` and `\n` line endings and ignores blank lines; every other
    /// deviation from RFC 8866 (and from the grammars of the attributes Parley relies on) is a typed error.
    public static func parse(_ text: String) throws(SDPError) -> SessionDescription {
        guard text.utf8.count <= maximumSize else {
            throw .tooLarge("\(text.utf8.count) bytes, at most \(maximumSize)")
        }
        var parser = Parser()
        var lineNumber = 0
        // Split on LF bytes: in Swift "\r\n" is one Character, so splitting characters on "\n" would miss it.
        for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = rawLine
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            if bytes.isEmpty { continue }
            try parser.consume(Substring(bytes), line: lineNumber)
        }
        return try parser.finish()
    }
}

private struct Parser {
    var sawVersion = false
    var origin: Origin?
    var sessionName: String?
    var information: String?
    var uri: String?
    var emails: [String] = []
    var phones: [String] = []
    var connection: Connection?
    var bandwidths: [Bandwidth] = []
    var timing: [Timing] = []
    var timeZones: String?
    var encryptionKey: String?
    var attributes: [Attribute] = []
    var media: [MediaDescription] = []

    mutating func consume(_ line: Substring, line number: Int) throws(SDPError) {
        let utf8 = line.utf8
        guard utf8.count >= 2, let type = utf8.first, (0x61...0x7A).contains(type),
              utf8.dropFirst().first == UInt8(ascii: "="),
              utf8.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }) // no CR or other control bytes mid-line
        else { throw .malformedLine(line: number, String(line)) }
        let value = Substring(utf8.dropFirst(2))

        guard sawVersion else {
            guard type == UInt8(ascii: "v") else { throw .missingVersion }
            guard value == "0" else { throw .unsupportedVersion(String(value)) }
            sawVersion = true
            return
        }

        if type == UInt8(ascii: "m") {
            guard media.count < SessionDescription.maximumMediaSections else {
                throw .tooLarge("more than \(SessionDescription.maximumMediaSections) media sections")
            }
            media.append(try parseMediaLine(value, line: number))
            return
        }
        if type == UInt8(ascii: "a") {
            let attribute = try parseAttribute(value, line: number)
            if media.isEmpty { attributes.append(attribute) } else { media[media.count - 1].attributes.append(attribute) }
            return
        }

        if !media.isEmpty {
            // Inside a media section only i=, c=, b=, k= (and a=, m= above) may appear.
            let index = media.count - 1
            switch type {
            case UInt8(ascii: "i") where media[index].title == nil: media[index].title = String(value)
            case UInt8(ascii: "c") where media[index].connection == nil:
                media[index].connection = try parseConnection(value, line: number)
            case UInt8(ascii: "b"): media[index].bandwidths.append(try parseBandwidth(value, line: number))
            case UInt8(ascii: "k") where media[index].encryptionKey == nil: media[index].encryptionKey = String(value)
            default: throw .unexpectedLine(line: number, String(line))
            }
            return
        }

        switch type {
        case UInt8(ascii: "o") where origin == nil: origin = try parseOrigin(value, line: number)
        case UInt8(ascii: "s") where sessionName == nil: sessionName = String(value)
        case UInt8(ascii: "i") where information == nil: information = String(value)
        case UInt8(ascii: "u") where uri == nil: uri = String(value)
        case UInt8(ascii: "e"): emails.append(String(value))
        case UInt8(ascii: "p"): phones.append(String(value))
        case UInt8(ascii: "c") where connection == nil: connection = try parseConnection(value, line: number)
        case UInt8(ascii: "b"): bandwidths.append(try parseBandwidth(value, line: number))
        case UInt8(ascii: "t"): timing.append(try parseTiming(value, line: number))
        case UInt8(ascii: "r") where !timing.isEmpty: timing[timing.count - 1].repeats.append(String(value))
        case UInt8(ascii: "z") where timeZones == nil: timeZones = String(value)
        case UInt8(ascii: "k") where encryptionKey == nil: encryptionKey = String(value)
        default: throw .unexpectedLine(line: number, String(line))
        }
    }

    func finish() throws(SDPError) -> SessionDescription {
        guard sawVersion else { throw .empty }
        guard let origin else { throw .missingField("o") }
        guard let sessionName else { throw .missingField("s") }
        guard !timing.isEmpty else { throw .missingField("t") }
        var mids = Set<String>()
        for m in media {
            if let mid = m.mid, !mids.insert(mid).inserted { throw .duplicateMid(mid) }
        }
        var description = SessionDescription(origin: origin, sessionName: sessionName, timing: timing,
                                             attributes: attributes, media: media)
        description.information = information
        description.uri = uri
        description.emails = emails
        description.phones = phones
        description.connection = connection
        description.bandwidths = bandwidths
        description.timeZones = timeZones
        description.encryptionKey = encryptionKey
        return description
    }

    func parseOrigin(_ value: Substring, line: Int) throws(SDPError) -> Origin {
        let parts = tokens(value)
        guard parts.count == 6, parts.allSatisfy(isToken), let version = parseDecimal(parts[2], as: UInt64.self)
        else { throw .badOrigin(line: line, String(value)) }
        return Origin(username: String(parts[0]), sessionID: String(parts[1]), sessionVersion: version,
                      networkType: String(parts[3]), addressType: String(parts[4]), address: String(parts[5]))
    }

    func parseConnection(_ value: Substring, line: Int) throws(SDPError) -> Connection {
        let parts = tokens(value)
        guard parts.count == 3, parts.allSatisfy(isToken) else { throw .badConnection(line: line, String(value)) }
        return Connection(networkType: String(parts[0]), addressType: String(parts[1]), address: String(parts[2]))
    }

    func parseBandwidth(_ value: Substring, line: Int) throws(SDPError) -> Bandwidth {
        let (type, amount) = splitOnce(value, at: ":")
        guard isToken(type), let amount, let number = parseDecimal(amount, as: UInt64.self)
        else { throw .badBandwidth(line: line, String(value)) }
        return Bandwidth(type: String(type), value: number)
    }

    func parseTiming(_ value: Substring, line: Int) throws(SDPError) -> Timing {
        let parts = tokens(value)
        guard parts.count == 2, let start = parseDecimal(parts[0], as: UInt64.self),
              let stop = parseDecimal(parts[1], as: UInt64.self)
        else { throw .badTiming(line: line, String(value)) }
        return Timing(start: start, stop: stop)
    }

    func parseMediaLine(_ value: Substring, line: Int) throws(SDPError) -> MediaDescription {
        let parts = tokens(value)
        guard parts.count >= 4, parts.allSatisfy(isToken) else { throw .badMediaLine(line: line, String(value)) }
        let (portText, countText) = splitOnce(parts[1], at: "/")
        guard let port = parseDecimal(portText, as: UInt16.self) else { throw .badMediaLine(line: line, String(value)) }
        var media = MediaDescription(kind: MediaKind(String(parts[0])), port: port, proto: String(parts[2]),
                                     formats: parts.dropFirst(3).map(String.init))
        if let countText {
            guard let count = parseDecimal(countText, as: UInt16.self) else { throw .badMediaLine(line: line, String(value)) }
            media.portCount = count
        }
        if media.isRTP {
            // RTP formats are payload types (RFC 8866 §5.14); anything else would make every later lookup guess.
            for format in media.formats {
                guard let pt = parseDecimal(format, as: UInt8.self), pt <= 127 else {
                    throw .badMediaLine(line: line, String(value))
                }
            }
        }
        return media
    }

    /// Splits `name[:value]` and checks the value of every attribute whose grammar negotiation relies on.
    func parseAttribute(_ text: Substring, line: Int) throws(SDPError) -> Attribute {
        let (name, value) = splitOnce(text, at: ":")
        guard isToken(name) else { throw .badAttribute(line: line, name: String(name), value: String(value ?? "")) }
        let attribute = Attribute(String(name), value.map(String.init))
        let valid: Bool
        switch name {
        case RTPMap.attributeName:
            guard let value, RTPMap(sdpValue: value) != nil else { throw .badRTPMap(line: line, String(text)) }
            return attribute
        case FormatParameters.attributeName: valid = value.flatMap(FormatParameters.init(sdpValue:)) != nil
        case RTCPFeedback.attributeName: valid = value.flatMap(RTCPFeedback.init(sdpValue:)) != nil
        case ExtensionMap.attributeName: valid = value.flatMap(ExtensionMap.init(sdpValue:)) != nil
        case SSRCAttribute.attributeName: valid = value.flatMap(SSRCAttribute.init(sdpValue:)) != nil
        case SSRCGroup.attributeName: valid = value.flatMap(SSRCGroup.init(sdpValue:)) != nil
        case MediaStreamID.attributeName: valid = value.flatMap(MediaStreamID.init(sdpValue:)) != nil
        case Group.attributeName: valid = value.flatMap(Group.init(sdpValue:)) != nil
        case Fingerprint.attributeName: valid = value.flatMap(Fingerprint.init(sdpValue:)) != nil
        case SetupRole.attributeName: valid = value.flatMap(SetupRole.init(sdpValue:)) != nil
        case Candidate.attributeName: valid = value.flatMap(Candidate.init(sdpValue:)) != nil
        case "mid", "ice-ufrag", "ice-pwd": valid = value.map { isToken($0) } ?? false
        default: valid = true
        }
        guard valid else { throw .badAttribute(line: line, name: String(name), value: String(value ?? "")) }
        return attribute
    }
}

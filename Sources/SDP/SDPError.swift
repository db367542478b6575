/// Everything that can go wrong when parsing an SDP or negotiating an answer.
///
/// Parsing errors carry the 1-based line number and the offending text, so a rejected offer can be logged and
/// answered with a useful message; negotiation errors carry a sentence meant for people.
public enum SDPError: Error, Sendable, Hashable, CustomStringConvertible {
    // MARK: Parsing
    /// The text is empty or holds only blank lines.
    case empty
    /// The text is larger than `SessionDescription.maximumSize` or has too many media sections.
    case tooLarge(String)
    /// The first line is not `v=`.
    case missingVersion
    /// `v=` is something other than 0.
    case unsupportedVersion(String)
    /// A mandatory session-level line (`o=`, `s=` or `t=`) is missing.
    case missingField(String)
    /// A line that is not `<letter>=<value>`.
    case malformedLine(line: Int, String)
    /// A known line type in the wrong place (a second `o=`, `t=` inside a media section …) or an unknown type.
    case unexpectedLine(line: Int, String)
    case badOrigin(line: Int, String)
    case badTiming(line: Int, String)
    case badConnection(line: Int, String)
    case badBandwidth(line: Int, String)
    case badMediaLine(line: Int, String)
    case badRTPMap(line: Int, String)
    /// An attribute Parley understands (fmtp, rtcp-fb, extmap, ssrc, fingerprint, candidate …) whose value does not
    /// follow its grammar.
    case badAttribute(line: Int, name: String, value: String)
    /// Two media sections with the same `a=mid`.
    case duplicateMid(String)

    // MARK: Negotiation
    /// No media section could be accepted because no offered codec is allowed for this call.
    case noCommonCodec(String)
    /// No media section could be accepted for another reason (only data channels, all rejected …).
    case noUsableMedia(String)
    /// An accepted section has no ICE ufrag/pwd at media or session level.
    case missingICECredentials(mid: String?)
    /// An accepted section has no DTLS fingerprint at media or session level.
    case missingFingerprint(mid: String?)
    /// The offer's `a=setup` does not let Parley be the DTLS server (`passive` or `holdconn`).
    case incompatibleSetupRole(mid: String?, String)
    /// The caller's own answer parameters are invalid (bad ufrag, bad candidate address, newline in a cname …).
    case invalidParameters(String)

    public var description: String {
        switch self {
        case .empty: "SDP is empty"
        case .tooLarge(let why): "SDP is too large: \(why)"
        case .missingVersion: "SDP does not start with a v= line"
        case .unsupportedVersion(let v): "unsupported SDP version v=\(v)"
        case .missingField(let f): "SDP has no \(f)= line"
        case .malformedLine(let n, let t): "line \(n) is not of the form x=value: \(t.debugDescription)"
        case .unexpectedLine(let n, let t): "line \(n) is not allowed here: \(t.debugDescription)"
        case .badOrigin(let n, let t): "line \(n): bad o= line \(t.debugDescription)"
        case .badTiming(let n, let t): "line \(n): bad t= line \(t.debugDescription)"
        case .badConnection(let n, let t): "line \(n): bad c= line \(t.debugDescription)"
        case .badBandwidth(let n, let t): "line \(n): bad b= line \(t.debugDescription)"
        case .badMediaLine(let n, let t): "line \(n): bad m= line \(t.debugDescription)"
        case .badRTPMap(let n, let t): "line \(n): bad a=rtpmap \(t.debugDescription)"
        case .badAttribute(let n, let name, let v): "line \(n): bad a=\(name) value \(v.debugDescription)"
        case .duplicateMid(let mid): "two media sections share a=mid:\(mid)"
        case .noCommonCodec(let why): "no common codec: \(why)"
        case .noUsableMedia(let why): "no usable media section: \(why)"
        case .missingICECredentials(let mid): "media section \(mid ?? "without mid") has no a=ice-ufrag/a=ice-pwd"
        case .missingFingerprint(let mid): "media section \(mid ?? "without mid") has no a=fingerprint"
        case .incompatibleSetupRole(let mid, let role):
            "media section \(mid ?? "without mid") offers a=setup:\(role); Parley is always the DTLS server (passive), so the offer must be actpass or active"
        case .invalidParameters(let why): "invalid answer parameters: \(why)"
        }
    }
}

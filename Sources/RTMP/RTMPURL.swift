/// An `rtmp://` or `rtmps://` URL to publish to, split as FFmpeg and librtmp split it: the last path segment
/// (with any `?query`, which carries keys and tokens) is the stream name, the path before it the application.
/// `rtmp://a.rtmp.youtube.com/live2/KEY` → app `live2`, name `KEY`.
public struct RTMPURL: Sendable, Equatable, CustomStringConvertible {
    public let secure: Bool
    public let host: String
    public let port: Int
    public let app: String
    public let streamName: String

    /// Why a URL cannot be published to, for the person who typed it.
    public struct Invalid: Error, Sendable, Equatable {
        public let message: String
    }

    /// FFmpeg keeps URL parts in 1024-byte buffers; longer ones are cut there, so refuse them here.
    public static let maxLength = 1024

    public init(_ string: String) throws(Invalid) {
        guard string.utf8.count <= Self.maxLength else { throw Invalid(message: "The URL is longer than \(Self.maxLength) bytes") }
        guard !string.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw Invalid(message: "The URL contains spaces or control characters")
        }
        let lower = string.lowercased()
        let rest: Substring
        if lower.hasPrefix("rtmp://") {
            secure = false
            rest = string.dropFirst(7)
        } else if lower.hasPrefix("rtmps://") {
            secure = true
            rest = string.dropFirst(8)
        } else {
            throw Invalid(message: "The URL must start with rtmp:// or rtmps://")
        }
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count + 1)
        guard !authority.contains("@") else {
            throw Invalid(message: "Credentials in the URL are not supported: put them in the stream key's query")
        }
        var host = Substring(authority)
        var port = secure ? 443 : 1935
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Invalid(message: "An IPv6 host must end with ']'") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw Invalid(message: "The port is not a number") }
                port = p
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw Invalid(message: "The IPv6 host is malformed")
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                guard let p = Int(authority[authority.index(after: colon)...]) else { throw Invalid(message: "The port is not a number") }
                port = p
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else {
                throw Invalid(message: "The host name is missing or malformed")
            }
        }
        guard (1...65535).contains(port) else { throw Invalid(message: "The port must be 1–65535") }
        guard let slash = path.lastIndex(of: "/") else {
            throw Invalid(message: "The URL needs an application and a stream name: rtmp://HOST/APP/STREAM")
        }
        let app = path[..<slash], name = path[path.index(after: slash)...]
        guard !app.isEmpty, !name.isEmpty, !name.hasPrefix("?") else {
            throw Invalid(message: "The URL needs an application and a stream name: rtmp://HOST/APP/STREAM")
        }
        self.host = String(host)
        self.port = port
        self.app = String(app)
        self.streamName = String(name)
    }

    /// What `connect` names as tcUrl: the URL without the stream name.
    public var tcUrl: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "rtmps" : "rtmp")://\(h):\(port)/\(app)"
    }

    /// The URL with the stream name, which is the secret key at YouTube or Twitch, masked: for logs and events.
    public var description: String { "\(tcUrl)/\(String(repeating: "*", count: min(streamName.count, 4)))" }
}

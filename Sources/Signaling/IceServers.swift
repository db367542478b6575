import Rooms

/// A STUN/TURN server a client's peer connections may use (the `RTCIceServer` of the W3C API).
public struct IceServer: Encodable, Sendable, Equatable {
    public let urls: [String]
    public let username: String?
    public let credential: String?

    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }
}

/// Hands sessions the TURN servers to give their browsers, with credentials of their own (docs/PROTOCOL.md,
/// `connect`). Parley itself never relays: it is ICE-lite on its own addresses.
public protocol IceServerSource: Sendable {
    func iceServers(for session: SessionID) -> [IceServer]
}

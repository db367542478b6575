/// What a server socket route needs of a protocol adapter: frames in order, then the end of the socket. Both
/// `ParleySession` (`/ws`) and `WCSSession` (`/`) are driven by the same socket pump.
public protocol SocketSession: AnyObject {
    /// Handles one text frame; false when the socket must be closed (a close frame has been queued).
    func receive(text: String) async -> Bool
    /// A binary frame arrived: the adapter queues its close.
    func receiveBinary()
    /// The socket is gone: leave rooms, stop streams, finish the outbox and the relays.
    func socketClosed() async
    /// The stream relays of this socket, which its task runs (`StreamRelays.run`).
    var relays: StreamRelays { get }
}

extension ParleySession: SocketSession {}
extension WCSSession: SocketSession {}

/// What one socket may own, whatever its protocol: the same cap for a Parley and a Web Call Server client.
public enum SessionLimits {
    /// Streams (publishes, plays, echo tests) one socket may have at once.
    public static let maxStreams = 8
}

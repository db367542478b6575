/// What a server socket route needs of a protocol adapter: frames in order, then the end of the socket. Both
/// `ParleySession` (`/ws`) and `WCSSession` (`/`) are driven by the same socket pump.
public protocol SocketSession: AnyObject {
    /// Handles one text frame; false when the socket must be closed (a close frame has been queued).
    func receive(text: String) async -> Bool
    /// A binary frame arrived: the adapter queues its close.
    func receiveBinary()
    /// The socket is gone: leave rooms, stop streams, finish the outbox.
    func socketClosed() async
}

extension ParleySession: SocketSession {}
extension WCSSession: SocketSession {}

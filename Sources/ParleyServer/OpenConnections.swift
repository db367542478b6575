import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Every open HTTP/WebSocket connection, so that shutdown can end them all. Hummingbird's quiesce only reaches a
/// connection once its first request has been read (its HTTP state handler is added then), and a WebSocket's
/// never: a browser's idle pre-connect, or a half-sent request, would keep the server running for ever.
/// Touched from every connection's event loop, hence the lock.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    var count: Int { channels.withLock { $0.count } }

    fileprivate func opened(_ channel: any Channel) { channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
    fileprivate func closed(_ channel: any Channel) { _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    /// Closes what is still open once the grace period is over.
    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    /// `base`'s connections, each watched from the moment it is accepted.
    func watching<Base: ServerChildChannel>(_ base: Base) -> WatchedChildChannel<Base> {
        WatchedChildChannel(base: base, connections: self)
    }
}

/// A server child channel with a `ConnectionWatch` ahead of its HTTP handlers (behind TLS, if any, so that it
/// sees what the client sent, not its handshake).
struct WatchedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let connections: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionWatch(connections), position: .last)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Registers its connection while it is open, and closes it on quiesce if it never sent a byte of a request
/// (nothing to finish). A connection in the middle of a request or a WebSocket is left to finish, to its own handlers, or to
/// `closeAll` at the end of the grace period.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer  // plaintext: behind TLS
    private let connections: OpenConnections
    private var sentBytes = false

    init(_ connections: OpenConnections) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connections.opened(context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connections.opened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sentBytes = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !sentBytes {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

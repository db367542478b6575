import Hummingbird
import HummingbirdWebSocket
import Synchronization

/// The request context of Parley's WebSocket routes: Hummingbird's, with a way out of a retain cycle in
/// hummingbird-websocket 2.8.1. Its router stores the upgrade's handler, with a copy of the request context, in a box
/// that the context itself holds (`WebSocketHandlerReference`), so every upgraded connection left its context (and
/// its logger, ~1.3 KiB of RSS) behind for ever. Here the box is held by a `Slot` that the socket's handler empties
/// once the upgrade is done (`releaseUpgradeHandler`), which breaks the cycle.
struct ParleyWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let slot: Slot
    /// Closes the connection at once, whatever its writer is waiting for (a client that stopped reading).
    let closeConnection: @Sendable () -> Void
    /// The client's IP address, for per-address limits.
    let remoteAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        slot = Slot()
        closeConnection = { [weak channel = source.channel] in channel?.close(promise: nil) }
    }

    /// The same reference every time until it is released (the router sets the handler, then reads it back).
    var webSocket: WebSocketHandlerReference<ParleyWebSocketContext> { slot.reference.withLock { $0 } ?? WebSocketHandlerReference() }

    /// Called by the socket's handler once it runs: the router no longer needs the stored handler.
    func releaseUpgradeHandler() { slot.reference.withLock { $0 = nil } }

    final class Slot: Sendable {
        let reference = Mutex<WebSocketHandlerReference<ParleyWebSocketContext>?>(WebSocketHandlerReference())
        /// Slots alive now: each is one WebSocket request's context (a test reads it to see them go).
        static let live = Atomic<Int>(0)
        init() { Self.live.add(1, ordering: .relaxed) }
        deinit { Self.live.subtract(1, ordering: .relaxed) }
    }
}

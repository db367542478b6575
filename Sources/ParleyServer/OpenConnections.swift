import Dispatch
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Every open HTTP/WebSocket connection, so that shutdown can end them all. Hummingbird's quiesce only reaches a
/// connection once its first request has been read (its HTTP state handler is added then), and a WebSocket's
/// never: a browser's idle pre-connect, or a half-sent request, would keep the server running for ever.
/// Touched from every connection's event loop, hence the lock.
final class OpenConnections: Sendable {
    struct Limits: Sendable {
        /// Connections one address may hold open at once; more are closed as they are accepted.
        var perAddress: Int = 256
        /// A connection must send a whole request head (up to its blank line) this soon after it opens.
        var requestHead: Duration = .seconds(15)
        /// New connections one address may open in one second; more are closed as they are accepted (a reconnect
        /// storm, a scanner). Browsers open a few per page.
        var newPerSecond: Int = 100
    }

    struct Snapshot: Encodable, Sendable {
        let open: Int
        /// Closed at accept: their address already held `perAddress` connections.
        let refusedPerAddress: Int
        /// Closed for not sending a request head in time (idle or slowloris sockets).
        let headTimeouts: Int
        /// Closed at accept: their address had opened `newPerSecond` already in that second.
        let refusedRate: Int
    }

    let limits: Limits
    private let state = Mutex<(channels: [ObjectIdentifier: any Channel], perAddress: [String: Int],
                               opening: [String: (second: Int64, count: Int)])>(([:], [:], [:]))
    private let refused = Atomic<Int>(0)
    private let refusedRate = Atomic<Int>(0)
    /// Whole seconds of the monotonic clock (tests move it).
    private let second: @Sendable () -> Int64
    private let timedOut = Atomic<Int>(0)

    init(limits: Limits = Limits(),
         second: @escaping @Sendable () -> Int64 = { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000_000) }) {
        self.limits = limits
        self.second = second
    }

    var count: Int { state.withLock { $0.channels.count } }

    var snapshot: Snapshot {
        Snapshot(open: count, refusedPerAddress: refused.load(ordering: .relaxed), headTimeouts: timedOut.load(ordering: .relaxed),
                 refusedRate: refusedRate.load(ordering: .relaxed))
    }

    private enum Admission { case admitted, tooMany, tooFast }

    /// Registers `channel`; false (and nothing registered) when its address already holds its share, or opened
    /// its share of new connections this second.
    fileprivate func opened(_ channel: any Channel) -> Bool {
        let address = Self.host(of: channel)
        let now = second()
        let admission = state.withLock { state -> Admission in
            guard state.channels[ObjectIdentifier(channel)] == nil else { return .admitted }
            if let address {
                var opening: (second: Int64, count: Int) = state.opening[address].flatMap { $0.second == now ? $0 : nil } ?? (now, 0)
                guard opening.count < limits.newPerSecond else { return .tooFast }
                opening.count += 1
                if state.opening.count >= 10_000 { state.opening = state.opening.filter { $0.value.second == now } }
                state.opening[address] = opening
                let held = state.perAddress[address, default: 0]
                guard held < limits.perAddress else { return .tooMany }
                state.perAddress[address] = held + 1
            }
            state.channels[ObjectIdentifier(channel)] = channel
            return .admitted
        }
        switch admission {
        case .admitted: return true
        case .tooMany: refused.add(1, ordering: .relaxed)
        case .tooFast: refusedRate.add(1, ordering: .relaxed)
        }
        return false
    }

    fileprivate func closed(_ channel: any Channel) {
        let address = Self.host(of: channel)
        state.withLock { state in
            guard state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil, let address else { return }
            let held = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = held > 0 ? held : nil
        }
    }

    fileprivate func headTimedOut() { timedOut.add(1, ordering: .relaxed) }

    private static func host(of channel: any Channel) -> String? { channel.remoteAddress?.ipAddress }

    /// Closes what is still open once the grace period is over.
    func closeAll() {
        for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
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
        // A client that breaks its connection before a request (plain HTTP to the TLS port, a bad handshake, a
        // reset) makes Hummingbird's upgrade channel log an error; anyone could fill the log with them.
        var quiet = logger
        quiet.handler = ConnectionErrorsAsDebug(base: logger.handler)
        await base.handle(value: value, logger: quiet)
    }
}

/// Registers its connection while it is open (closing it at once when its address holds too many), closes it if
/// its first request head is not complete in time, and closes it on quiesce if it never sent a byte of a request
/// (nothing to finish). A connection in the middle of a request or a WebSocket is left to finish, to its own handlers,
/// or to `closeAll` at the end of the grace period. Confined to its channel's event loop.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer  // plaintext: behind TLS
    private let connections: OpenConnections
    private var sentBytes = false
    private var registered = false
    /// The last bytes read while looking for the head's end (`\r\n\r\n`), which may straddle reads.
    private var headTail: UInt32 = 0
    private var headDone = false
    private var deadline: Scheduled<Void>?

    init(_ connections: OpenConnections) { self.connections = connections }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { register(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        register(context)
        context.fireChannelActive()
    }

    private func register(_ context: ChannelHandlerContext) {
        guard !registered else { return }
        registered = true
        guard connections.opened(context.channel) else {
            registered = false
            Self.end(context)
            return
        }
        let connections = self.connections
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .init(connections.limits.requestHead)) { [weak self, context] in
            guard let self, !self.headDone else { return }
            connections.headTimedOut()
            Self.end(context)
        }
    }

    /// Closes a connection that never sent a whole request: the HTTP handlers are told its input ended first, as
    /// if the client had left, so they end quietly instead of logging a failed upgrade per socket of a flood.
    private static func end(_ context: ChannelHandlerContext) {
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if registered { connections.closed(context.channel) }
        registered = false
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sentBytes = true
        if !headDone {
            let buffer = unwrapInboundIn(data)
            for byte in buffer.readableBytesView {
                headTail = headTail << 8 | UInt32(byte)
                if headTail == 0x0D0A_0D0A {
                    headDone = true
                    deadline?.cancel()
                    deadline = nil
                    break
                }
            }
        }
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

/// Logs a connection's failure before its first request ("Error handling upgrade result", logged by
/// HummingbirdWebSocket at `error` for any client that breaks off) at `debug`; everything else as it is.
struct ConnectionErrorsAsDebug: LogHandler {
    var base: any LogHandler

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level == .error, event.message.description == "Error handling upgrade result" {
            guard base.logLevel <= .debug else { return }
            event.level = .debug
        }
        base.log(event: event)
    }
}

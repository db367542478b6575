import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Rooms
import ServiceLifecycle
import Synchronization

/// The RTMP listener (`--rtmp-port`), a service of the server's group: one task per connection, all children of
/// this service's task. A port it cannot bind is logged and RTMP stays off; the rest of the server runs on.
struct RTMPService: Service {
    let server: ParleyServer
    let host: String
    let port: Int
    /// RTMPS: the same certificate as HTTPS (`--tls-*`), on the same RTMP port.
    let tls: TLSConfiguration?
    let logger: Logger
    /// A connection with no traffic either way for this long (a half-done handshake, a stalled encoder) is closed.
    static let idleTimeout: TimeAmount = .seconds(10)

    func run() async throws {
        let connections = server.rtmpConnections
        let publishers = server.rtmpPublishers
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handlers = channel.pipeline.syncOperations
                        if let sslContext { try handlers.addHandler(NIOSSLServerHandler(context: sslContext)) }
                        try handlers.addHandler(ConnectionWatch(connections))
                        // Neither read nor written for the timeout: a player is written to all the time, a publisher
                        // writes all the time; a handshake that stalls, or an encoder that stalls, ends here.
                        try handlers.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                        try handlers.addHandler(IdleCloser())
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            logger.error("RTMP is off: its port cannot be bound", metadata: ["port": "\(port)", "error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        logger.info(tls == nil ? "RTMP listening" : "RTMPS listening",
                    metadata: ["address": "\(listener.channel.localAddress.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await listener.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await channel in inbound {
                        group.addTask {
                            await RTMPConnection(server: server, publishers: publishers, logger: logger).run(channel)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // No new connections; the ones open end now (an encoder cannot be asked to stop).
            listener.channel.close(promise: nil)
            connections.closeAll()
        }
    }
}

/// The RTMP publishers of the server by room and name, so that a reconnecting encoder takes its name over from
/// its own stale connection (whose TCP may take minutes to time out) instead of being refused. Touched by every
/// connection's task, hence the lock.
final class RTMPPublishers: Sendable {
    struct Entry: Sendable {
        let session: SessionID
        let channel: any Channel
    }

    private let entries = Mutex<[String: Entry]>([:])

    static func key(room: String, name: String) -> String { "\(room)/\(name)" }

    /// Records `entry` as the publisher of `key`; returns the one it replaces.
    func claim(_ key: String, _ entry: Entry) -> Entry? {
        entries.withLock { e in
            defer { e[key] = entry }
            return e[key]
        }
    }

    func current(_ key: String) -> Entry? { entries.withLock { $0[key] } }

    var count: Int { entries.withLock { $0.count } }

    func release(_ key: String, session: SessionID) {
        entries.withLock { e in if e[key]?.session == session { e[key] = nil } }
    }
}

/// Closes a connection when `IdleStateHandler` says it has read nothing for the timeout.
final class IdleCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all || idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

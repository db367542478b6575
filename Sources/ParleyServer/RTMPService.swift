import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The RTMP listener (`--rtmp-port`), a service of the server's group: one task per connection, all children of
/// this service's task. A port it cannot bind is logged and RTMP stays off; the rest of the server runs on.
struct RTMPService: Service {
    let server: ParleyServer
    let host: String
    let port: Int
    let logger: Logger
    /// A connection that sends nothing for this long (a half-done handshake, a stalled encoder) is closed.
    static let readTimeout: TimeAmount = .seconds(10)

    func run() async throws {
        let connections = OpenConnections()
        let listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handlers = channel.pipeline.syncOperations
                        try handlers.addHandler(ConnectionWatch(connections))
                        try handlers.addHandler(IdleStateHandler(readTimeout: Self.readTimeout))
                        try handlers.addHandler(IdleCloser())
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            logger.error("RTMP is off: its port cannot be bound", metadata: ["port": "\(port)", "error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        logger.info("RTMP listening", metadata: ["address": "\(listener.channel.localAddress.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await listener.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await channel in inbound {
                        group.addTask {
                            await RTMPConnection(server: server, logger: logger).run(channel)
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

/// Closes a connection when `IdleStateHandler` says it has read nothing for the timeout.
final class IdleCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

import Foundation
@testable import ParleyServer
import Testing

/// What the server keeps per connection must go with the connection (issue 17 counts a leak per WebSocket).
@Suite struct ConnectionAccountingTests {
    @Test func closedConnectionsLeaveNothingInTheShutdownList() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        for round in 0..<3 {
            var sockets: [RawSocket] = []
            for _ in 0..<20 {
                let socket = try RawSocket(port: server.port)
                try await socket.upgrade()  // a WebSocket that only upgrades
                sockets.append(socket)
            }
            for i in 0..<10 {  // and plain HTTP requests
                #expect(try await RawSocket.get(port: server.port, path: "/health").status == 200, "\(round).\(i)")
            }
            try await waitUntil("the open WebSockets counted") { server.server.connections.count == 20 }
            sockets.removeAll()  // closes them
            try await waitUntil("every closed connection forgotten (\(server.server.connections.count) left)") {
                server.server.connections.count == 0
            }
        }
    }

    /// hummingbird-websocket 2.8.1 keeps every upgraded request's context in a retain cycle (~1.3 KiB each, for
    /// ever: 39.6 → 51.7 MiB over 12,000 sockets, issue 17). Parley's context breaks it once the socket runs.
    @Test func anUpgradedSocketsRequestContextIsFreed() async throws {
        let server = try await RunningServer.start()
        defer { Task { try? await server.stop() } }
        let before = ParleyWebSocketContext.Slot.live.load(ordering: .relaxed)
        for _ in 0..<3 {
            var sockets: [RawSocket] = []
            for path in Array(repeating: "/ws", count: 15) + Array(repeating: "/", count: 5) {
                let socket = try RawSocket(port: server.port)
                try await socket.upgrade(path: path)
                sockets.append(socket)
            }
            sockets.removeAll()
        }
        // 60 contexts made; other tests running beside this one may hold a few of their own.
        try await waitUntil("the sockets' request contexts freed (\(ParleyWebSocketContext.Slot.live.load(ordering: .relaxed) - before) more than before)") {
            ParleyWebSocketContext.Slot.live.load(ordering: .relaxed) < before + 20
        }
    }
}

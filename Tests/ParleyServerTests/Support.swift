import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
@testable import ParleyServer
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real Parley server on a free loopback port, run inside a ServiceGroup the test can shut down.
struct RunningServer {
    let port: Int
    let server: ParleyServer
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(_ configure: (inout ParleyConfiguration) -> Void = { _ in }) async throws -> RunningServer {
        var config = ParleyConfiguration(host: "127.0.0.1", port: 0, webRoot: fixtureWebRoot(), logLevel: .warning,
                                         mediaPort: 0, announcedIPs: ["127.0.0.1"])
        config.newConnectionsPerAddressPerSecond = 100_000  // the tests' many clients all come from 127.0.0.1
        configure(&config)
        let server = try ParleyServer(configuration: config)
        try await server.media.start()
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = try server.makeApplication { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let group = ServiceGroup(services: [app, WHIPService(endpoints: server.whipEndpoints)], logger: logger)
        let task = Task { try await group.run() }
        var it = portStream.makeAsyncIterator()
        guard let port = await it.next(), port > 0 else { throw TestFailure("server did not start") }
        return RunningServer(port: port, server: server, group: group, task: task)
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        await server.media.stop()
    }

    var url: String { "ws://127.0.0.1:\(port)/ws" }

    /// Waits until the hub's counts match, or fails after `timeout`.
    func waitForStats(rooms: Int, participants: Int, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("rooms=\(rooms) participants=\(participants)", timeout: timeout) {
            let s = await server.hub.stats
            // With nobody left, no stream record may be left either.
            return s.rooms == rooms && s.participants == participants && (participants > 0 || s.streams == 0)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out waiting for \(what)")
}

/// A folder with one static file, standing in for Web/.
func fixtureWebRoot() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-web-fixture")
    try? FileManager.default.createDirectory(at: dir.appendingPathComponent("sdk"), withIntermediateDirectories: true)
    try? "export const fixture = 1;\n".write(to: dir.appendingPathComponent("sdk/parley.js"), atomically: true, encoding: .utf8)
    try? "export declare const fixture: number;\n".write(to: dir.appendingPathComponent("sdk/parley.d.ts"), atomically: true, encoding: .utf8)
    try? "<!doctype html><title>Parley</title>\n".write(to: dir.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
    try? FileManager.default.createDirectory(at: dir.appendingPathComponent("apps/room"), withIntermediateDirectories: true)
    try? "<!doctype html><title>Room</title>\n".write(to: dir.appendingPathComponent("apps/room/index.html"), atomically: true, encoding: .utf8)
    return dir.path
}

/// What a test client has received, in order; read with a time limit.
actor Inbox {
    private var frames: [TestClient.Incoming] = []

    func push(_ frame: TestClient.Incoming) { frames.append(frame) }

    func pop(timeout: Duration) async throws -> TestClient.Incoming {
        let deadline = ContinuousClock.now + timeout
        while frames.isEmpty {
            guard ContinuousClock.now < deadline else { throw TestFailure("no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        return frames.removeFirst()
    }

    /// The reply to request `id`; frames before it (events) stay queued for `pop`.
    func popReply(id: Int, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            for (index, frame) in frames.enumerated() {
                if case .text(let text) = frame, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                   object["id"] as? Int == id {
                    frames.remove(at: index)
                    return text
                }
                if case .closed = frame { throw TestFailure("socket closed before reply \(id)") }
            }
            guard ContinuousClock.now < deadline else { throw TestFailure("no reply \(id) within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// A WebSocket client of Parley's protocol, built on Hummingbird's client.
final class TestClient: Sendable {
    enum Incoming: Sendable {
        case text(String)
        case closed(code: Int?)
    }
    enum Command: Sendable {
        case text(String)
        case close
    }

    private let inbox = Inbox()
    private let commands: AsyncStream<Command>.Continuation
    private let ids = Counter()
    let task: Task<Void, Never>

    /// `autoReply` sees each text frame as it arrives, whether or not the test is reading: the frames it answers
    /// (with the text it returns) are sent back at once and never reach the inbox.
    init(url: String, autoReply: (@Sendable (String) -> String?)? = nil) {
        let (commandStream, commands) = AsyncStream.makeStream(of: Command.self)
        self.commands = commands
        let inbox = self.inbox
        var logger = Logger(label: "client")
        logger.logLevel = .critical
        task = Task {
            let close = try? await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await command in commandStream {
                            switch command {
                            case .text(let text): try await outbound.write(.text(text))
                            case .close:
                                try await outbound.close(.normalClosure, reason: nil)
                                return
                            }
                        }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if let reply = autoReply?(text) {
                            commands.yield(.text(reply))
                        } else {
                            await inbox.push(.text(text))
                        }
                    }
                    group.cancelAll()
                }
            }
            await inbox.push(.closed(code: close.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) } ?? nil))
        }
    }

    static func connected(_ server: RunningServer, as username: String) async throws -> TestClient {
        let client = TestClient(url: server.url)
        let reply = try await client.request("connect", ["username": username])
        guard reply["ok"] as? Bool == true else { throw TestFailure("connect refused: \(reply)") }
        return client
    }

    func sendRaw(_ text: String) { commands.yield(.text(text)) }
    func close() { commands.yield(.close) }

    func next(timeout: Duration = .seconds(10)) async throws -> Incoming {
        try await inbox.pop(timeout: timeout)
    }

    func nextJSON(timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        switch try await next(timeout: timeout) {
        case .text(let text):
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            return try #require(object as? [String: Any])
        case .closed(let code):
            throw TestFailure("socket closed (\(code.map(String.init) ?? "no code")) while waiting for a frame")
        }
    }

    /// The next frame must be this event: tests state the order they expect.
    func nextEvent(_ name: String, timeout: Duration = .seconds(10)) async throws -> [String: Any] {
        let frame = try await nextJSON(timeout: timeout)
        guard frame["event"] as? String == name else { throw TestFailure("expected event \(name), got \(frame)") }
        return frame
    }

    func request(_ type: String, _ fields: [String: Any] = [:]) async throws -> [String: Any] {
        let id = ids.next()
        var object = fields
        object["id"] = id
        object["type"] = type
        sendRaw(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        let text = try await inbox.popReply(id: id, timeout: .seconds(10))
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func closeCode(timeout: Duration = .seconds(10)) async throws -> Int? {
        while true {
            if case .closed(let code) = try await next(timeout: timeout) { return code }
        }
    }
}

final class Counter: @unchecked Sendable {
    private var count = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

func errorCode(_ reply: [String: Any]) -> String? {
    (reply["error"] as? [String: Any])?["code"] as? String
}

func result(_ reply: [String: Any]) -> [String: Any] {
    reply["result"] as? [String: Any] ?? [:]
}

/// How late the cooperative pool runs a task that sleeps 50 ms at a time: the worst, while `body` ran. It tells a
/// server that failed from a process that could not run at all. Under a sanitizer the suite's CPU-bound synchronous
/// tests fill the pool (one thread per core, two here) at the start of a run: a 100 ms sleep there resumed 21 to
/// 104 s late, and nothing that keeps time (a ping period, a test's deadline) can be judged across that.
func watchingThePool<T: Sendable>(_ body: () async throws -> T) async -> (result: Result<T, any Error>, worstDelay: Duration) {
    let worst = WorstDelay()
    return await withTaskGroup(of: Void.self) { group in
        group.addTask {
            while !Task.isCancelled {
                let asked = ContinuousClock.now
                try? await Task.sleep(for: .milliseconds(50))
                let late = ContinuousClock.now - asked - .milliseconds(50)
                worst.delay.withLock { $0 = max($0, late) }
            }
        }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        group.cancelAll()
        await group.waitForAll()
        return (result, worst.delay.withLock { $0 })
    }
}

final class WorstDelay: Sendable { let delay = Mutex<Duration>(.zero) }

/// Waits (up to about two minutes) until the pool runs a 50 ms sleep on time, ten times in a row.
func waitForAResponsivePool() async {
    var onTime = 0
    for _ in 0..<2400 where onTime < 10 {
        let asked = ContinuousClock.now
        try? await Task.sleep(for: .milliseconds(50))
        onTime = ContinuousClock.now - asked < .milliseconds(150) ? onTime + 1 : 0
    }
}

/// Runs blocking socket calls on their own thread: the cooperative pool has one thread per core (two here),
/// and a test blocking it would stall the server under test.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A bare TCP client for what a WebSocket library will not do: ignore pings, or vanish without a close frame.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw TestFailure("connect failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func read() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }

    /// Upgrades to WebSocket at `path` and returns once the server has said 101.
    func upgrade(path: String = "/ws") async throws {
        try await offPool { try self.upgradeBlocking(path: path) }
    }

    private func upgradeBlocking(path: String) throws {
        write(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        let head = String(decoding: read(), as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 101") else { throw TestFailure("no upgrade: \(head)") }
    }

    /// Sends one masked text frame (clients must mask).
    func sendText(_ text: String) {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        write(frame)
    }

    /// A plain HTTP GET; returns status line and body.
    static func get(port: Int, path: String, headers: [String] = []) async throws -> (status: Int, body: String, head: String) {
        try await request(port: port, "GET", path, headers: headers)
    }

    /// One HTTP/1.1 request on its own connection; `body` with its Content-Length.
    static func request(port: Int, _ method: String, _ path: String, headers: [String] = [], body: String? = nil) async throws
        -> (status: Int, body: String, head: String)
    {
        try await offPool { try requestBlocking(port: port, method, path, headers: headers, body: body) }
    }

    private static func requestBlocking(port: Int, _ method: String, _ path: String, headers: [String], body: String?) throws
        -> (status: Int, body: String, head: String)
    {
        let socket = try RawSocket(port: port)
        var extra = headers.map { $0 + "\r\n" }.joined()
        if let body { extra += "Content-Length: \(body.utf8.count)\r\n" }
        socket.write(Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n\(body ?? "")".utf8))
        var bytes: [UInt8] = []
        while true {
            let chunk = socket.read()
            if chunk.isEmpty { break }
            bytes += chunk
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let parts = text.components(separatedBy: "\r\n\r\n")
        return (status, parts.dropFirst().joined(separator: "\r\n\r\n"), parts.first ?? "")
    }
}

// JSON over WebSocket for both servers' signaling: Parley's `/ws` protocol and Janus's WebSocket API.
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging

/// JSON objects cross task boundaries as text and are parsed where they are read.
typealias JSON = [String: Any]

func jsonText(_ object: JSON) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8), as: UTF8.self)
}

func parseJSON(_ text: String) -> JSON? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? JSON
}

/// Frames received and not yet taken, with waiters woken on every new frame.
actor FrameInbox {
    private var frames: [String] = []
    private var closed = false
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]

    func push(_ text: String) {
        frames.append(text)
        wakeAll()
    }

    func close() {
        closed = true
        wakeAll()
    }

    private func wakeAll() {
        let all = waiters
        waiters.removeAll()
        for w in all.values { w.resume() }
    }

    /// Removes and returns the first frame that `match` accepts, waiting up to `timeout`.
    func take(timeout: Duration, _ match: @Sendable (JSON) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            for (i, text) in frames.enumerated() {
                if let object = parseJSON(text), match(object) {
                    frames.remove(at: i)
                    return text
                }
            }
            if closed { throw BenchError("signaling socket closed") }
            guard ContinuousClock.now < deadline else { throw BenchError("no signaling answer within \(timeout)") }
            let id = UUID()
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.wake(id)
            }
            await withCheckedContinuation { waiters[id] = $0 }
            timer.cancel()
        }
    }

    private func wake(_ id: UUID) {
        waiters.removeValue(forKey: id)?.resume()
    }

    /// Drops frames nobody will ask for (events of other handles), so the inbox does not grow.
    func discard(where match: @Sendable (JSON) -> Bool) {
        frames.removeAll { parseJSON($0).map(match) ?? false }
    }
}

/// One WebSocket carrying JSON text frames.
final class JSONSocket: Sendable {
    private enum Command: Sendable {
        case text(String)
        case close
    }

    let inbox = FrameInbox()
    private let commands: AsyncStream<Command>.Continuation
    private let task: Task<Void, Never>
    private let opened: AsyncStream<Bool>

    init(url: String, protocolHeader: String? = nil) {
        let (commandStream, commands) = AsyncStream.makeStream(of: Command.self)
        let (opened, openedContinuation) = AsyncStream.makeStream(of: Bool.self)
        self.commands = commands
        self.opened = opened
        let inbox = self.inbox
        var logger = Logger(label: "bench-ws")
        logger.logLevel = .critical
        var headers = HTTPFields()
        if let protocolHeader, let name = HTTPField.Name("Sec-WebSocket-Protocol") { headers[name] = protocolHeader }
        task = Task {
            do {
                _ = try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 22, additionalHeaders: headers), logger: logger
                ) { inbound, outbound, _ in
                    openedContinuation.yield(true)
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
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            if case .text(let text) = message { await inbox.push(text) }
                        }
                        group.cancelAll()
                    }
                }
            } catch {}
            openedContinuation.yield(false)
            openedContinuation.finish()
            await inbox.close()
        }
    }

    /// Waits until the socket is open; false when it could not connect.
    func waitOpen() async -> Bool {
        for await ok in opened { return ok }
        return false
    }

    func send(_ object: JSON) { commands.yield(.text(jsonText(object))) }

    /// The first received object that `match` accepts (waiting up to `timeout`).
    func take(timeout: Duration, _ match: @escaping @Sendable (JSON) -> Bool) async throws -> JSON {
        parseJSON(try await inbox.take(timeout: timeout, match)) ?? [:]
    }
    func close() { commands.yield(.close) }
}

/// Parley's protocol: requests with ids, replies, events.
final class ParleyClient: Sendable {
    let socket: JSONSocket
    private let ids = Mutex(0)

    private init(socket: JSONSocket) {
        self.socket = socket
    }

    static func connect(url: String, username: String) async throws -> ParleyClient {
        let client = ParleyClient(socket: JSONSocket(url: url))
        guard await client.socket.waitOpen() else { throw BenchError("cannot open \(url)") }
        _ = try await client.request("connect", ["username": username])
        return client
    }

    /// Sends a request and returns its `result`; an error reply throws.
    @discardableResult
    func request(_ type: String, _ fields: JSON = [:], timeout: Duration = .seconds(20)) async throws -> JSON {
        let id = ids.withLock { v -> Int in
            v += 1
            return v
        }
        var object = fields
        object["id"] = id
        object["type"] = type
        socket.send(object)
        let reply = try await socket.take(timeout: timeout) { $0["id"] as? Int == id }
        guard reply["ok"] as? Bool == true else {
            let error = reply["error"] as? JSON
            throw BenchError("\(type): \(error?["code"] as? String ?? "?") \(error?["message"] as? String ?? "")")
        }
        return reply["result"] as? JSON ?? [:]
    }

    /// Waits for an event frame matching `match`.
    func event(timeout: Duration = .seconds(20), _ match: @escaping @Sendable (JSON) -> Bool) async throws -> JSON {
        try await socket.take(timeout: timeout) { $0["event"] != nil && match($0) }
    }

    /// Forgets the events nobody waits for (joined/left/published of others), so long runs stay flat.
    func dropEvents() async {
        await socket.inbox.discard { $0["event"] != nil }
    }

    func close() { socket.close() }
}

import Synchronization

import Foundation
import Logging
import Rooms

/// One WebSocket speaking Parley's protocol: reads its frames in order, keeps its state, and talks to the hub.
/// Owned by the task that reads the socket, so it needs no lock of its own.
public final class ParleySession {
    public static let closeUnsupportedData: UInt16 = 1003
    public static let closePolicyViolation: UInt16 = 1008

    private let hub: SignalingHub
    private let media: (any MediaService)?
    /// Media streams this socket started; stopped when it closes.
    private var streams: Set<String> = []
    public static let maxStreamsPerSession = 8
    private let outbox: Outbox
    private let version: String
    private let monotonicNow: @Sendable () -> Double
    private let wallNow: @Sendable () -> Int64
    private var limiter: RateLimiter
    private var logger: Logger
    private var state: State = .awaitingConnect

    private enum State {
        case awaitingConnect
        case connected(id: SessionID, username: String)
        case closed
    }

    public init(
        hub: SignalingHub,
        media: (any MediaService)? = nil,
        outbox: Outbox,
        version: String,
        limiter: RateLimiter = RateLimiter(),
        logger: Logger,
        monotonicNow: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
        wallNow: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    ) {
        self.hub = hub
        self.media = media
        self.outbox = outbox
        self.version = version
        self.limiter = limiter
        self.logger = logger
        self.monotonicNow = monotonicNow
        self.wallNow = wallNow
    }

    public var sessionID: SessionID? {
        if case .connected(let id, _) = state { return id }
        return nil
    }

    /// Handles one text frame. Returns false when the socket must be closed (a close frame has been queued).
    @discardableResult
    public func receive(text: String) async -> Bool {
        if case .closed = state { return false }
        return await handleFrame(text)
    }

    /// Binary frames are not part of the protocol: close with 1003.
    public func receiveBinary() {
        outbox.close(code: Self.closeUnsupportedData, reason: "Binary frames are not supported")
    }

    /// The socket is gone (closed by the peer, a ping timeout, or the server): leave every room.
    public func socketClosed() async {
        if case .connected(let id, _) = state {
            await hub.closeSession(id, reason: .disconnected)
        }
        for stream in streams { await media?.stop(stream: stream) }
        streams.removeAll()
        state = .closed
        outbox.finish()
    }

    private func handleFrame(_ text: String) async -> Bool {
        switch limiter.check(now: monotonicNow()) {
        case .allow:
            break
        case .refuse:
            outbox.send(ParleyWire.reply(Self.peekID(text), error: .rateLimited))
            return true
        case .disconnect:
            logger.notice("closing a socket that floods requests")
            outbox.close(code: Self.closePolicyViolation, reason: "rate limit")
            return false
        }
        switch ParleyWire.decode(text) {
        case .invalid(let id, let error):
            logger.debug("refused a frame", metadata: ["code": "\(error.code)"])
            outbox.send(ParleyWire.reply(id, error: error))
        case .request(let id, let request):
            await handle(request, id: id)
        }
        return true
    }

    private func handle(_ request: ClientRequest, id: RequestID) async {
        let outbox = self.outbox
        switch (request, state) {
        case (.ping, _):
            outbox.send(ParleyWire.reply(id, result: ParleyWire.PingResult(time: wallNow())))

        case (.connect(let raw), .awaitingConnect):
            do throws(RoomError) {
                let username = try Validation.username(raw)
                let sessionID = await hub.openSession(sink: ParleySink(outbox: outbox))
                state = .connected(id: sessionID, username: username)
                logger[metadataKey: "session"] = "\(sessionID)"
                logger.info("session connected", metadata: ["username": "\(username)"])
                outbox.send(ParleyWire.reply(id, result: ParleyWire.ConnectResult(
                    sessionId: sessionID, username: username, server: .init(version: version))))
            } catch {
                outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            }

        case (.connect, .connected):
            outbox.send(ParleyWire.reply(id, error: .alreadyConnected))

        case (.join(let room, let cap), .connected(let session, let username)):
            await hub.join(session, name: username, room: room, maxParticipants: cap,
                           respond: replier(id, ParleyWire.JoinResult.init))

        case (.leave(let room), .connected(let session, _)):
            await hub.leave(session, room: room, respond: replier(id) { _ in ParleyWire.Empty() })

        case (.message(let room, let text, let to), .connected(let session, _)):
            await hub.post(session, room: room, text: text, to: to, respond: replier(id, ParleyWire.MessageResult.init))

        case (.echo(let sdp), .connected):
            guard let media else {
                outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "media_unavailable", message: "This server has no media plane")))
                return
            }
            guard streams.count < Self.maxStreamsPerSession else {
                outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "too_many_streams", message: "At most \(Self.maxStreamsPerSession) streams per session")))
                return
            }
            // Events may race the reply: they carry the stream id, which the client learns from the reply, so
            // the SDK matches them once it has it (see docs/PROTOCOL.md).
            let streamID = Box<String?>(nil)
            do {
                let (stream, answer) = try await media.startEcho(offer: sdp) { event in
                    outbox.send(ParleyWire.streamEvent(stream: streamID.value ?? "", event))
                }
                streamID.value = stream
                streams.insert(stream)
                outbox.send(ParleyWire.reply(id, result: ParleyWire.StreamResult(stream: stream, sdp: answer)))
            } catch {
                outbox.send(ParleyWire.reply(id, error: ProtocolError(code: error.code, message: error.message)))
            }

        case (.stopStream(let stream), .connected):
            guard streams.remove(stream) != nil else {
                outbox.send(ParleyWire.reply(id, error: ProtocolError(code: "unknown_stream", message: "No stream '\(stream)' on this session")))
                return
            }
            await media?.stop(stream: stream)
            outbox.send(ParleyWire.reply(id, result: ParleyWire.Empty()))

        case (_, .awaitingConnect):
            outbox.send(ParleyWire.reply(id, error: .notConnected))

        case (_, .closed):
            break
        }
    }

    /// Turns a hub result into this socket's reply: the encoded success payload, or the error.
    private func replier<T, R: Encodable>(_ id: RequestID, _ payload: @escaping @Sendable (T) -> R)
        -> @Sendable (Result<T, RoomError>) -> Void
    {
        let outbox = self.outbox
        return { result in
            switch result {
            case .success(let value): outbox.send(ParleyWire.reply(id, result: payload(value)))
            case .failure(let error): outbox.send(ParleyWire.reply(id, error: ProtocolError(error)))
            }
        }
    }

    /// The id of a frame refused before decoding (rate limit), so the client can still match the reply.
    private static func peekID(_ text: String) -> RequestID? {
        switch ParleyWire.decode(text) {
        case .request(let id, _): id
        case .invalid(let id, _): id
        }
    }
}

/// A value set once after a closure that reads it was created.
final class Box<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    init(_ value: T) { _value = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
}

/// Delivers hub events to a Parley-protocol socket.
struct ParleySink: SessionSink {
    let outbox: Outbox

    func deliver(_ event: RoomEvent) {
        outbox.send(ParleyWire.event(event))
    }
}

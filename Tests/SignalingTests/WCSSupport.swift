import Foundation
import Logging
import Testing
@testable import Signaling

struct WCSTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What one fake WCS socket was sent, collected in order by a task; read with a time limit.
actor WCSFrames {
    private var frames: [OutboundFrame] = []
    private var finished = false

    func push(_ frame: OutboundFrame) { frames.append(frame) }
    func finish() { finished = true }

    func pop(timeout: Duration) async throws -> OutboundFrame? {
        let deadline = ContinuousClock.now + timeout
        while frames.isEmpty {
            if finished { return nil }
            guard ContinuousClock.now < deadline else { throw WCSTestFailure("no frame within \(timeout)") }
            try await Task.sleep(for: .milliseconds(2))
        }
        return frames.removeFirst()
    }

    var pending: [OutboundFrame] { frames }
}

/// Drives a `WCSSession` against a real hub, speaking the wire format as the WebSDK does: every client frame is
/// `{"message", "data": [obj]}`, and every server frame must carry a `data` array.
final class FakeWCSSocket: @unchecked Sendable {
    let outbox = Outbox()
    let session: WCSSession
    private let frames = WCSFrames()
    private var operations = 0
    private var streams = 0
    let label: String

    init(hub: SignalingHub, media: (any MediaService)? = nil, access: (any AccessControl)? = nil, hook: (any AccessHook)? = nil,
         limiter: RateLimiter = RateLimiter(), clock: @escaping @Sendable () -> Double = { 0 }, label: String = "wcs") {
        self.label = label
        var logger = Logger(label: "wcs-test")
        logger.logLevel = .warning
        session = WCSSession(hub: hub, media: media, access: access, hook: hook, outbox: outbox, version: "test", limiter: limiter,
                             logger: logger, monotonicNow: clock)
        let relays = session.relays
        Task { await relays.run() }  // as the socket's task runs them
        let outbox = self.outbox, frames = self.frames
        Task {
            for await frame in outbox.frames { await frames.push(frame) }
            await frames.finish()
        }
    }

    func send(_ message: String, _ body: WCSJSON) async {
        await session.receive(text: WCSJSON.object(["message": .string(message), "data": [body]]).text)
    }

    func sendRaw(_ text: String) async {
        await session.receive(text: text)
    }

    /// The next frame, checked for the shape the SDK needs: `message` a string, `data` an array.
    func next(timeout: Duration = .seconds(5)) async throws -> (message: String, data: [WCSJSON]) {
        guard let frame = try await frames.pop(timeout: timeout) else { throw WCSTestFailure("\(label): outbox finished") }
        guard case .text(let text) = frame else { throw WCSTestFailure("\(label): got \(frame)") }
        let json = try #require(WCSJSON.parse(text), "\(label): not JSON: \(text)")
        let message = try #require(json["message"]?.string, "\(label): no message in \(text)")
        let data = try #require(json["data"]?.array, "\(label): no data array in \(text)")
        return (message, data)
    }

    /// The next frame must be `message`; returns its `data[0]`.
    @discardableResult
    func expect(_ message: String, timeout: Duration = .seconds(5)) async throws -> WCSJSON {
        let frame = try await next(timeout: timeout)
        guard frame.message == message else { throw WCSTestFailure("\(label): expected \(message), got \(frame)") }
        return frame.data.first ?? .null
    }

    /// The next frame must be this room event; returns its `info`.
    @discardableResult
    func expectRoomEvent(_ name: String, room: String? = nil) async throws -> WCSJSON {
        let data = try await expect("OnDataEvent")
        let payload = try #require(data["payload"], "\(label): OnDataEvent without payload: \(data)")
        guard payload["name"]?.string == name else { throw WCSTestFailure("\(label): expected \(name), got \(payload)") }
        if let room { #expect(payload["roomName"]?.string == room) }
        return payload["info"] ?? .null
    }

    /// The next frame must be a stream status; returns its body.
    @discardableResult
    func expectStatus(_ status: String, id: String? = nil) async throws -> WCSJSON {
        let data = try await expect("notifyStreamStatusEvent")
        guard data["status"]?.string == status else { throw WCSTestFailure("\(label): expected \(status), got \(data)") }
        if let id { #expect(data["mediaSessionId"]?.string == id) }
        return data
    }

    func nothingPending() async -> Bool {
        try? await Task.sleep(for: .milliseconds(30))
        return await frames.pending.isEmpty
    }

    func closeFrame(timeout: Duration = .seconds(5)) async throws -> (UInt16, String)? {
        while let frame = try await frames.pop(timeout: timeout) {
            if case .close(let code, let reason) = frame { return (code, reason) }
        }
        return nil
    }

    @discardableResult
    func connect(login: String? = nil, appKey: String = "roomApp", token: String? = nil) async throws -> WCSJSON {
        var custom: [String: WCSJSON] = [:]
        if let login { custom["login"] = .string(login) }
        if let token { custom["token"] = .string(token) }
        await send("connection", ["appKey": .string(appKey), "mediaProviders": ["WebRTC", "WSPlayer"],
                                  "clientVersion": "2.0", "custom": .object(custom)])
        let data = try await expect("getUserData")
        #expect(data["status"]?.string == "ESTABLISHED")
        return data
    }

    /// Sends a room command; returns its DataStatusEvent (the next frame).
    @discardableResult
    func command(_ command: String, _ options: WCSJSON) async throws -> WCSJSON {
        operations += 1
        let operationId = "op-\(label)-\(operations)"
        await send("sendData", ["operationId": .string(operationId), "payload": ["command": .string(command), "options": options]])
        let status = try await expect("DataStatusEvent")
        #expect(status["operationId"]?.string == operationId)
        return status
    }

    func join(_ room: String) async throws -> [WCSJSON] {
        let status = try await command("join", ["name": .string(room), "record": false])
        guard status["status"]?.string == "ACCEPTED" else { throw WCSTestFailure("\(label): join refused: \(status)") }
        return try await expectRoomEvent("STATE", room: room).array ?? []
    }

    func newMediaSessionId() -> String {
        streams += 1
        return "\(label)-ms-\(streams)"
    }

    /// Sends publishStream and expects the positional answer; returns the mediaSessionId.
    func publish(_ name: String, room: String?, sdp: String = "offer") async throws -> String {
        let id = newMediaSessionId()
        var body: [String: WCSJSON] = ["mediaSessionId": .string(id), "name": .string(name), "published": true,
                                       "hasVideo": true, "hasAudio": true, "status": "PENDING", "record": false,
                                       "mediaProvider": "WebRTC", "sdp": .string(sdp)]
        if let room { body["custom"] = ["name": .string(room)] }
        await send("publishStream", .object(body))
        let frame = try await next()
        guard frame.message == "setRemoteSDP", frame.data.count == 2, frame.data[0].string == id, frame.data[1].string != nil else {
            throw WCSTestFailure("\(label): expected setRemoteSDP [\(id), sdp], got \(frame)")
        }
        return id
    }

    func play(_ name: String, room: String?, sdp: String = "offer") async throws -> String {
        let id = newMediaSessionId()
        var body: [String: WCSJSON] = ["mediaSessionId": .string(id), "name": .string(name), "published": false,
                                       "hasVideo": true, "hasAudio": true, "status": "PENDING", "record": false,
                                       "mediaProvider": "WebRTC", "sdp": .string(sdp)]
        if let room { body["custom"] = ["name": .string(room)] }
        await send("playStream", .object(body))
        let frame = try await next()
        guard frame.message == "setRemoteSDP", frame.data.count == 2, frame.data[0].string == id else {
            throw WCSTestFailure("\(label): expected setRemoteSDP for \(id), got \(frame)")
        }
        return id
    }
}

extension FakeMedia {
    /// The id the fake media plane gave its n-th stream.
    static func id(_ n: Int) -> String { "s\(n)" }
}

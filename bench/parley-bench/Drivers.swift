// How the bench drives each server: Parley through its own `/ws` protocol, Janus's VideoRoom through Janus's
// WebSocket API. Both give the same synthetic peers the same traffic.
import Foundation

/// A participant's signaling session in a room.
protocol BenchParticipant: Sendable {
    /// Publishes the peer's audio and video (recorded by the server with `record`); returns the stream id others play.
    func publish(_ peer: Peer, profile: TrafficProfile, record: Bool) async throws -> String
    /// Plays `stream` on the peer.
    func play(_ stream: String, on peer: Peer) async throws
    /// Leaves: the server ends every stream of this participant.
    func leave() async
}

protocol BenchServer: Sendable {
    var name: String { get }
    /// The loopback address the synthetic peers bind.
    var peerAddress: String { get }
    func join(room: String, as name: String) async throws -> any BenchParticipant
}

/// Starts a peer's transport on its worker and waits until DTLS is done; returns the connect time (ns).
func connectPeer(_ peer: Peer, remote: RemoteDescription, controlling: Bool,
                 configure: @escaping @Sendable (Peer) -> Void = { _ in }) async throws -> UInt64 {
    let result: Result<UInt64, BenchError> = await withCheckedContinuation { continuation in
        peer.worker.submit {
            configure(peer)
            peer.worker.add(peer)
            peer.onConnected = { continuation.resume(returning: $0) }
            peer.start(remote: remote, controlling: controlling, now: clockNanos())
        }
    }
    return try result.get()
}

/// The publisher's traffic in the payload types, ids and mids the server's answer chose.
func negotiated(_ profile: TrafficProfile, answer: ParsedSDP) -> TrafficProfile {
    var p = profile
    if let audio = answer.media.first(where: { $0.kind == "audio" && $0.port != 0 }) {
        p.audioMid = audio.mid
        p.audioPT = audio.payloadType(codec: "opus") ?? p.audioPT
        p.audioLevelExtension = audio.extensionID(ExtensionURI.audioLevel)
    } else {
        p.audio = false
    }
    if let video = answer.media.first(where: { $0.kind == "video" && $0.port != 0 }) {
        p.videoMid = video.mid
        p.videoPT = video.payloadType(codec: "vp8") ?? p.videoPT
        p.midExtension = video.extensionID(ExtensionURI.mid)
        p.transportCCExtension = video.extensionID(ExtensionURI.transportCC)
    } else {
        p.video = false
    }
    return p
}

// MARK: Parley

struct ParleyServerDriver: BenchServer {
    let url: String
    var name: String { "parley" }
    var peerAddress: String { "127.0.0.1" }

    func join(room: String, as name: String) async throws -> any BenchParticipant {
        let client = try await ParleyClient.connect(url: url, username: name)
        try await client.request("join", ["room": room])
        return ParleyParticipant(client: client, room: room)
    }
}

struct ParleyParticipant: BenchParticipant {
    let client: ParleyClient
    let room: String

    func publish(_ peer: Peer, profile: TrafficProfile, record: Bool) async throws -> String {
        let offer = OfferWriter.publish(peer, profile: profile)
        let result = try await client.request("publish", ["room": room, "sdp": offer, "display": "camera", "record": record])
        guard let stream = result["stream"] as? String, let sdp = result["sdp"] as? String else {
            throw BenchError("publish: no stream or sdp in \(result)")
        }
        let answer = ParsedSDP(sdp)
        let traffic = negotiated(profile, answer: answer)
        _ = try await connectPeer(peer, remote: try answer.remote(), controlling: true) { peer in
            peer.publisher?.profile = traffic
        }
        await client.dropEvents()
        return stream
    }

    func play(_ stream: String, on peer: Peer) async throws {
        let offer = OfferWriter.play(peer, audio: true, video: true)
        let result = try await client.request("play", ["room": room, "stream": stream, "sdp": offer])
        guard let sdp = result["sdp"] as? String else { throw BenchError("play: no sdp in \(result)") }
        _ = try await connectPeer(peer, remote: try ParsedSDP(sdp).remote(), controlling: true)
        await client.dropEvents()
    }

    func leave() async {
        client.close()
    }
}

// MARK: Janus

/// Janus's VideoRoom over its WebSocket API (subprotocol `janus-protocol`). Each participant has its own Janus
/// session (as each browser would), one handle to publish and one per subscription.
final class JanusServerDriver: BenchServer {
    let url: String
    let peerAddress: String
    /// `janus`, or `janus@N` when it runs with `event_loops = N`.
    let name: String
    /// Each room is created once, by its first participant; the others wait for that.
    private let rooms = Mutex<[String: (number: Int, created: Task<Void, any Error>?)]>([:])

    init(url: String, peerAddress: String, name: String = "janus") {
        self.url = url
        self.peerAddress = peerAddress
        self.name = name
    }

    func join(room: String, as name: String) async throws -> any BenchParticipant {
        let session = try await JanusSession.open(url: url)
        let (number, creation) = rooms.withLock { table -> (Int, Task<Void, any Error>) in
            if let entry = table[room], let task = entry.created { return (entry.number, task) }
            let number = 1000 + table.count
            let task = Task {
                let handle = try await session.attach()
                _ = try await session.message(handle: handle, body: [
                    "request": "create", "room": number, "publishers": 100, "bitrate": 0, "fir_freq": 0,
                    "audiocodec": "opus", "videocodec": "vp8", "notify_joining": false, "permanent": false,
                ])
                session.detach(handle: handle)
            }
            table[room] = (number, task)
            return (number, task)
        }
        try await creation.value
        return JanusParticipant(session: session, room: number, name: name)
    }
}

final class JanusSession: Sendable {
    let socket: JSONSocket
    let id: Int
    private let transactions = Mutex(0)
    private let keepalive: Task<Void, Never>

    private init(socket: JSONSocket, id: Int) {
        self.socket = socket
        self.id = id
        keepalive = Task { [socket] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(20))
                socket.send(["janus": "keepalive", "session_id": id, "transaction": "ka"])
                await socket.inbox.discard { $0["janus"] as? String == "ack" || $0["janus"] as? String == "webrtcup"
                    || $0["janus"] as? String == "media" || $0["janus"] as? String == "slowlink" }
            }
        }
    }

    deinit { keepalive.cancel() }

    static func open(url: String) async throws -> JanusSession {
        let socket = JSONSocket(url: url, protocolHeader: "janus-protocol")
        guard await socket.waitOpen() else { throw BenchError("cannot open \(url)") }
        let reply = try await call(socket, ["janus": "create"], transaction: "create")
        guard let id = (reply["data"] as? JSON)?["id"] as? Int else { throw BenchError("janus create: \(reply)") }
        return JanusSession(socket: socket, id: id)
    }

    private static func call(_ socket: JSONSocket, _ request: JSON, transaction: String) async throws -> JSON {
        var r = request
        r["transaction"] = transaction
        socket.send(r)
        let reply = try await socket.take(timeout: .seconds(20)) {
            $0["transaction"] as? String == transaction && $0["janus"] as? String != "ack"
        }
        if reply["janus"] as? String == "error" { throw BenchError("janus: \(reply["error"] ?? reply)") }
        return reply
    }

    func nextTransaction() -> String {
        transactions.withLock { v in
            v += 1
            return "t\(v)"
        }
    }

    func attach() async throws -> Int {
        let reply = try await Self.call(socket, ["janus": "attach", "session_id": id, "plugin": "janus.plugin.videoroom"],
                                        transaction: nextTransaction())
        guard let handle = (reply["data"] as? JSON)?["id"] as? Int else { throw BenchError("janus attach: \(reply)") }
        return handle
    }

    /// A plugin message; returns the plugin's data and the JSEP (for asynchronous requests, from the event).
    func message(handle: Int, body: JSON, jsep: JSON? = nil) async throws -> (data: JSON, jsep: JSON?) {
        var request: JSON = ["janus": "message", "session_id": id, "handle_id": handle, "body": body]
        if let jsep { request["jsep"] = jsep }
        let reply = try await Self.call(socket, request, transaction: nextTransaction())
        let data = ((reply["plugindata"] as? JSON)?["data"] as? JSON) ?? [:]
        if let error = data["error"] as? String { throw BenchError("janus videoroom: \(error) (\(data["error_code"] ?? ""))") }
        return (data, reply["jsep"] as? JSON)
    }

    func detach(handle: Int) {
        socket.send(["janus": "detach", "session_id": id, "handle_id": handle, "transaction": nextTransaction()])
    }

    func destroy() {
        keepalive.cancel()
        socket.send(["janus": "destroy", "session_id": id, "transaction": nextTransaction()])
        socket.close()
    }
}

struct JanusParticipant: BenchParticipant {
    let session: JanusSession
    let room: Int
    let name: String

    func publish(_ peer: Peer, profile: TrafficProfile, record: Bool) async throws -> String {
        guard !record else { throw BenchError("recorded publishers are measured on Parley only") }
        let handle = try await session.attach()
        let joined = try await session.message(handle: handle, body: [
            "request": "join", "ptype": "publisher", "room": room, "display": name,
        ])
        guard let feed = joined.data["id"] as? Int else { throw BenchError("janus join: \(joined.data)") }
        let offer = OfferWriter.publish(peer, profile: profile)
        let configured = try await session.message(handle: handle, body: ["request": "publish", "audio": true, "video": true],
                                                   jsep: ["type": "offer", "sdp": offer, "trickle": false])
        guard let sdp = configured.jsep?["sdp"] as? String else { throw BenchError("janus publish: no answer \(configured.data)") }
        let answer = ParsedSDP(sdp)
        let traffic = negotiated(profile, answer: answer)
        _ = try await connectPeer(peer, remote: try answer.remote(), controlling: true) { peer in
            peer.publisher?.profile = traffic
        }
        return "\(feed)"
    }

    func play(_ stream: String, on peer: Peer) async throws {
        guard let feed = Int(stream) else { throw BenchError("bad Janus feed \(stream)") }
        let handle = try await session.attach()
        let attached = try await session.message(handle: handle, body: [
            "request": "join", "ptype": "subscriber", "room": room, "streams": [["feed": feed]],
        ])
        guard let sdp = attached.jsep?["sdp"] as? String else { throw BenchError("janus subscribe: no offer \(attached.data)") }
        let offer = ParsedSDP(sdp)
        let answer = OfferWriter.answer(peer, to: offer)
        _ = try await session.message(handle: handle, body: ["request": "start"], jsep: ["type": "answer", "sdp": answer, "trickle": false])
        _ = try await connectPeer(peer, remote: try offer.remote(), controlling: false)
    }

    func leave() async {
        session.destroy()
    }
}

import Synchronization

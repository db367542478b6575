import Foundation
import Hummingbird
import NIOCore
import Rooms
import SFU
import Signaling

/// The operator's API (docs/admin-api.yaml), on its own listener (127.0.0.1 by default): rooms, their members and
/// streams, kick, close, system messages, recordings, drain, and `GET /metrics` for Prometheus. A request shows
/// `Authorization: Bearer` with the admin key (compared in constant time), or, with token checks on, an access
/// token whose `video.roomList` lists rooms and whose `video.roomAdmin` acts on rooms (only `video.room`'s, if set).
/// With neither a key nor token checks it is open to whatever can reach its address.
struct AdminAPI: Sendable {
    let server: ParleyServer
    let key: [UInt8]?

    /// What a request may do.
    enum Permission {
        case everything
        case token(AccessGrant)
        case nothing(String)

        func mayList() -> Bool {
            switch self {
            case .everything: true
            case .token(let grant): grant.canListRooms || (grant.isRoomAdmin && grant.room == nil)
            case .nothing: false
            }
        }

        func mayAdminister(_ room: String) -> Bool {
            switch self {
            case .everything: true
            case .token(let grant): grant.isRoomAdmin && (grant.room == nil || grant.room == room)
            case .nothing: false
            }
        }
    }

    func permission(_ request: Request) async -> Permission {
        if key == nil && server.access == nil { return .everything }
        guard let bearer = request.bearerToken, !bearer.isEmpty else { return .nothing("Send Authorization: Bearer with the admin key or an access token") }
        if let key, Self.constantTimeEqual(Array(bearer.utf8), key) { return .everything }
        guard let access = server.access else { return .nothing("Wrong admin key") }
        switch await access.grant(token: bearer) {
        case .success(let grant): return .token(grant)
        case .failure(let refusal): return .nothing(refusal.message)
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    func routes() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let hub = server.hub
        router.get("/metrics") { request, _ in
            guard case .everything = await permission(request) else { return Self.problem(.unauthorized, "The metrics need the admin key") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: await server.metrics())))
        }
        let v1 = router.group("/admin/v1")
        v1.get("rooms") { request, _ in
            let permission = await permission(request)
            if case .nothing(let why) = permission { return Self.problem(.unauthorized, why) }
            guard permission.mayList() else { return Self.problem(.forbidden, "Listing rooms needs video.roomList") }
            return Self.json(["rooms": await hub.roomSummaries()])
        }
        v1.get("rooms/:room") { request, context in
            let room = context.parameters.get("room") ?? ""
            if let refused = await refusal(request, room: room) { return refused }
            guard let snapshot = await hub.room(named: room) else { return Self.problem(.notFound, "No room '\(room)'") }
            var tracks: [String: [TrackJSON]] = [:]
            for stream in snapshot.participants.flatMap(\.streams) {
                let codecs = await hub.stream(stream.id)?.tracks.map(\.codec) ?? []
                let stats = await server.media.statistics(stream: stream.id) ?? []
                tracks[stream.id] = stats.enumerated().map {
                    TrackJSON(base: $0.element, extra: .init(codec: codecs.indices.contains($0.offset) ? codecs[$0.offset] : nil))
                }
            }
            return Self.json(RoomJSON(snapshot, tracks: tracks))
        }
        v1.delete("rooms/:room") { request, context in
            let room = context.parameters.get("room") ?? ""
            if let refused = await refusal(request, room: room) { return refused }
            let removed = await hub.closeRoom(room)
            guard removed > 0 else { return Self.problem(.notFound, "No room '\(room)'") }
            server.logger.notice("room closed by the operator", metadata: ["room": "\(room)", "participants": "\(removed)"])
            return Self.json(["removed": removed])
        }
        v1.delete("rooms/:room/participants/:name") { request, context in
            let room = context.parameters.get("room") ?? "", name = context.parameters.get("name") ?? ""
            if let refused = await refusal(request, room: room) { return refused }
            guard await hub.kick(room: room, participant: name) else {
                return Self.problem(.notFound, "No participant '\(name)' in room '\(room)'")
            }
            server.logger.notice("participant removed by the operator", metadata: ["room": "\(room)", "name": "\(name)"])
            return Response(status: .noContent)
        }
        v1.post("rooms/:room/participants/:name/mute") { request, context in
            let room = context.parameters.get("room") ?? "", name = context.parameters.get("name") ?? ""
            if let refused = await refusal(request, room: room) { return refused }
            struct Body: Decodable { let audio: Bool?; let video: Bool? }
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 16 * 1024),
                  let body = try? JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)),
                  body.audio != nil || body.video != nil else {
                return Self.problem(.badRequest, "The body must be JSON {\"audio\": true|false, \"video\": true|false} (either or both)")
            }
            guard let (mute, streams) = await hub.serverMute(room: room, participant: name, audio: body.audio, video: body.video) else {
                return Self.problem(.notFound, "No participant '\(name)' in room '\(room)'")
            }
            for stream in streams {
                await server.mediaSessions.setMuted(stream: stream.id, audio: body.audio, video: body.video)
            }
            server.logger.notice("participant muted by the operator", metadata: [
                "room": "\(room)", "name": "\(name)", "audio": "\(mute.audio)", "video": "\(mute.video)"])
            struct Muted: Encodable { let muted: MuteState; let streams: [String] }
            return Self.json(Muted(muted: mute, streams: streams.map(\.id)))
        }
        v1.post("rooms/:room/messages") { request, context in
            let room = context.parameters.get("room") ?? ""
            if let refused = await refusal(request, room: room) { return refused }
            struct Body: Decodable { let text: String }
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 16 * 1024),
                  let body = try? JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)) else {
                return Self.problem(.badRequest, "The body must be JSON {\"text\": \"…\"}")
            }
            guard await hub.room(named: room) != nil else { return Self.problem(.notFound, "No room '\(room)'") }
            do {
                return Self.json(["message": try await hub.postSystem(room: room, text: body.text)], status: .created)
            } catch let error as RoomError {
                return Self.problem(.badRequest, error.message)
            } catch {
                return Self.problem(.badRequest, "\(error)")
            }
        }
        v1.get("recordings") { request, _ in
            let permission = await permission(request)
            if case .nothing(let why) = permission { return Self.problem(.unauthorized, why) }
            guard permission.mayList() else { return Self.problem(.forbidden, "Listing recordings needs video.roomList") }
            return Self.json(["recordings": Self.recordings(in: server.configuration.recordDir)])
        }
        v1.post("drain") { request, _ in
            guard case .everything = await permission(request) else { return Self.problem(.unauthorized, "Draining needs the admin key") }
            server.logger.notice("drain asked through the admin API")
            kill(getpid(), SIGTERM)  // the same path as a SIGTERM: a drain with --drain-timeout, then the stop
            struct Draining: Encodable { let draining = true; let timeoutSeconds: Int64 }
            return Self.json(Draining(timeoutSeconds: server.configuration.drainTimeout.components.seconds), status: .accepted)
        }
        return router
    }

    /// 401/403 for a request that may not act on `room`; nil to go on.
    private func refusal(_ request: Request, room: String) async -> Response? {
        let permission = await permission(request)
        if case .nothing(let why) = permission { return Self.problem(.unauthorized, why) }
        return permission.mayAdminister(room) ? nil : Self.problem(.forbidden, "Acting on room '\(room)' needs video.roomAdmin for it")
    }

    struct RoomJSON: Encodable {
        struct Member: Encodable {
            let name: String
            let streams: [StreamJSON]
        }
        let name: String
        let maxParticipants: Int
        let participants: [Member]
        let messages: Int

        init(_ snapshot: RoomSnapshot, tracks: [String: [TrackJSON]]) {
            name = snapshot.name
            maxParticipants = snapshot.maxParticipants
            participants = snapshot.participants.map { member in
                Member(name: member.name, streams: member.streams.map { StreamJSON(base: $0, extra: .init(tracks: tracks[$0.id] ?? [])) })
            }
            messages = snapshot.history.count
        }
    }

    /// A stream as the room sees it, with each track's statistics.
    typealias StreamJSON = Merged<StreamDescription, StreamTracks>
    struct StreamTracks: Encodable { let tracks: [TrackJSON] }
    typealias TrackJSON = Merged<TrackStatistics, TrackCodec>
    struct TrackCodec: Encodable { let codec: String? }

    /// One JSON object with the fields of both.
    struct Merged<Base: Encodable, Extra: Encodable>: Encodable {
        let base: Base
        let extra: Extra

        func encode(to encoder: any Encoder) throws {
            try base.encode(to: encoder)
            try extra.encode(to: encoder)
        }
    }

    struct Recording: Encodable {
        let name: String
        let bytes: Int
        let modified: String
    }

    /// Finished recordings (not the `.part` files being written), newest first.
    static func recordings(in directory: String) -> [Recording] {
        let formatter = ISO8601DateFormatter()
        return RecordNames.finished(in: directory).sorted { $0.modified > $1.modified }
            .map { Recording(name: $0.name, bytes: $0.bytes, modified: formatter.string(from: $0.modified)) }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// No CORS fields: the admin API is for the operator's tools, not for pages.
    static func problem(_ status: HTTPResponse.Status, _ detail: String) -> Response {
        Problem.response(status, detail, headers: status == .unauthorized ? [.wwwAuthenticate: "Bearer"] : [:])
    }
}

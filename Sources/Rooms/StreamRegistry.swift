/// Every published stream of a server, by id, with its client-given name unique among them: the one table of
/// streams in the control plane. Pure logic with no I/O, serialised by its owner (the signaling hub), as the
/// room registry is; room membership is the room registry's to check.
public struct StreamRegistry: Sendable {
    private var records: [String: StreamRecord] = [:]
    private var idsByName: [String: String] = [:]
    /// Announce order, so a room's streams are listed as they were published.
    private var liveSince: [String: Int] = [:]
    private var announcements = 0

    public init() {}

    public var count: Int { records.count }
    public subscript(id: String) -> StreamRecord? { records[id] }
    public func record(named name: String) -> StreamRecord? { idsByName[name].flatMap { records[$0] } }

    /// Opens a record for a publish that is starting. False if its id, or its name, is already in use.
    public mutating func open(_ record: StreamRecord) -> Bool {
        guard records[record.id] == nil else { return false }
        if let name = record.name {
            guard idsByName[name] == nil else { return false }
            idsByName[name] = record.id
        }
        var record = record
        record.state = .starting
        records[record.id] = record
        return true
    }

    /// Records what the media plane set up for a starting or live stream of `owner`.
    public mutating func setMedia(_ id: String, owner: SessionID, audio: Bool, video: Bool, tracks: [StreamRecord.Track],
                                  mediaLoop: Int?) {
        guard records[id]?.owner == owner else { return }
        records[id]?.description.audio = audio
        records[id]?.description.video = video
        records[id]?.tracks = tracks
        records[id]?.mediaLoop = mediaLoop
    }

    /// A starting stream's media is up: it goes live. In a room, at most `limit` live streams per owner.
    public mutating func goLive(_ id: String, owner: SessionID, limit: Int) throws(RoomError) -> StreamRecord {
        guard var record = records[id], record.owner == owner else { throw .unknownStream(id) }
        if record.state == .live { return record }
        if let room = record.room {
            let live = records.values.count { $0.owner == owner && $0.room == room && $0.state == .live }
            guard live < limit else { throw .tooManyStreams(limit: limit) }
        }
        record.state = .live
        records[id] = record
        announcements += 1
        liveSince[id] = announcements
        return record
    }

    /// Ends a stream of `owner`: its record goes and its name is free again.
    public mutating func remove(_ id: String, owner: SessionID) -> StreamRecord? {
        guard records[id]?.owner == owner, let record = records.removeValue(forKey: id) else { return nil }
        if let name = record.name, idsByName[name] == id { idsByName[name] = nil }
        liveSince[id] = nil
        return record
    }

    /// Ends every stream `owner` has in `room` (every stream it has when nil), in announce order.
    public mutating func removeAll(of owner: SessionID, inRoom room: String?) -> [StreamRecord] {
        let ids = ordered(records.values.filter { $0.owner == owner && (room == nil || $0.room == room) }).map(\.id)
        return ids.compactMap { remove($0, owner: owner) }
    }

    /// Changes the mute state of a stream of `owner`, starting or live.
    public mutating func updateMute(_ id: String, owner: SessionID, audio: Bool?, video: Bool?) -> StreamRecord? {
        guard var record = records[id], record.owner == owner else { return nil }
        record.setClientMute(audio: audio, video: video)
        records[id] = record
        return record
    }

    /// The operator's mute of a stream, starting or live.
    public mutating func updateServerMute(_ id: String, audio: Bool?, video: Bool?) -> StreamRecord? {
        guard var record = records[id] else { return nil }
        record.setServerMute(audio: audio, video: video)
        records[id] = record
        return record
    }

    /// The streams, starting or live, `owner` has in `room`.
    public func all(of owner: SessionID, inRoom room: String) -> [StreamRecord] {
        ordered(records.values.filter { $0.owner == owner && $0.room == room })
    }

    /// The live streams of `room`, in announce order.
    public func live(inRoom room: String) -> [StreamRecord] {
        ordered(records.values.filter { $0.room == room && $0.state == .live })
    }

    /// `participants` with the streams each has live in `room`, as snapshots and events show them.
    public func withStreams(_ participants: [Participant], inRoom room: String) -> [Participant] {
        let live = live(inRoom: room)
        return participants.map { p in
            var p = p
            p.streams = live.filter { $0.owner == p.session }.map(\.description)
            return p
        }
    }

    private func ordered(_ records: [StreamRecord]) -> [StreamRecord] {
        records.sorted { (liveSince[$0.id] ?? .max, $0.id) < (liveSince[$1.id] ?? .max, $1.id) }
    }
}

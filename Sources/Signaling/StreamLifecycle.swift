import Rooms

/// The rules of a stream's life that hold whatever protocol its owner speaks. Both adapters call these at the
/// same moments and only translate the outcome into their wire words; the stream's record, in the hub, is the
/// one place its state lives:
/// - a publish's record is opened before its media starts (`open`: a room stream needs its owner in the room, a
///   named one a free name), and told what its media set up (`mediaReady`);
/// - it goes live, announced in its room, once its media is up (`announce`), not before, and ends at once if
///   that is refused (`refuse`);
/// - it ends, withdrawn from its room and its name released, when its media ends by itself or its owner stops
///   it (`withdraw`), with the reason the room is told;
/// - a stream whose owner stops it, leaves its room or closes the socket has its media stopped (`stopMedia`); a
///   leave or a close has already ended its record in the hub, and told the room.
public struct StreamLifecycle: Sendable {
    let hub: SignalingHub
    let media: (any MediaService)?
    let session: SessionID

    public init(hub: SignalingHub, media: (any MediaService)?, session: SessionID) {
        self.hub = hub
        self.media = media
        self.session = session
    }

    /// A publish is starting: its record, with a fresh id, before any media is set up.
    public func open(room: String?, origin: StreamRecord.Origin = .webRTC, _ description: (String) -> StreamDescription) async throws(RoomError) -> String {
        let id = StreamID.mint()
        try await hub.openStream(StreamRecord(id: id, owner: session, room: room, origin: origin, description: description(id)))
        return id
    }

    /// Its media plane could not take it: the record goes (it was never announced).
    public func abandon(_ stream: String) async {
        await hub.unpublish(session, stream: stream, reason: .failed)
    }

    public func mediaReady(_ stream: String, _ published: PublishedMedia) async {
        await hub.setStreamMedia(session, stream: stream, published)
    }

    /// A publish's media is up: it goes live and its room is told. A refusal (it ended meanwhile, its owner
    /// left the room, or it is over the room's stream cap) is returned: the stream cannot go on, and the owner,
    /// if it still has it, `refuse`s it.
    public func announce(_ stream: String) async -> Result<StreamRecord, RoomError> {
        do {
            let record = try await hub.publish(session, stream: stream)
            // The operator muted its owner in the room before this stream: it starts muted. No viewer has it yet
            // (it was not live until now).
            if !record.serverMute.isEmpty {
                await media?.setMuted(stream: stream, audio: record.serverMute.audio, video: record.serverMute.video)
            }
            return .success(record)
        } catch {
            return .failure(error)
        }
    }

    /// A publish that could not go live: its record goes and its media stops.
    public func refuse(_ stream: String) async {
        await abandon(stream)
        await media?.stop(stream: stream)
    }

    /// A publish ended (its media ended by itself, or its owner stopped it): its room is told why, and its
    /// name, if it held one, is free again.
    public func withdraw(_ stream: String, reason: UnpublishReason) async {
        await hub.unpublish(session, stream: stream, reason: reason)
    }

    /// The media of streams the owner no longer has: stopped, left or closed.
    public func stopMedia(_ streams: [String]) async {
        for stream in streams { await media?.stop(stream: stream) }
    }
}

import Rooms

/// The rules of a stream's life that hold whatever protocol its owner speaks. Both adapters call these at the
/// same moments and only translate the outcome into their wire words:
/// - a publish is announced in its room once its media is up (`announce`), not before, and ends at once if the
///   room refuses it (`refuse`);
/// - it is withdrawn from the room, and its stream name released, when its media ends by itself or its owner
///   stops it (`withdraw`), with the reason the room is told;
/// - a stream whose owner stops it, leaves its room or closes the socket has its media stopped (`stopMedia`); a
///   leave or a close has already been told to the room by the hub.
struct StreamLifecycle: Sendable {
    let hub: SignalingHub
    let media: (any MediaService)?
    let session: SessionID

    /// A publish's media is up: the room is told. A refusal (its owner left the room meanwhile, or hit the
    /// room's stream cap) is returned: the stream cannot go on, and the owner, if it still has it, `refuse`s it.
    func announce(_ stream: StreamDescription, in room: String) async -> RoomError? {
        do {
            try await hub.publish(session, room: room, stream: stream)
            return nil
        } catch {
            return error
        }
    }

    /// A publish its room refused: its stream name is free again and its media stops.
    func refuse(_ stream: String, name: String? = nil) async {
        if let name { await hub.releaseStreamName(name, session: session) }
        await media?.stop(stream: stream)
    }

    /// A publish ended (its media ended by itself, or its owner stopped it): its room is told why, and its
    /// stream name, if it held one, is free again.
    func withdraw(_ stream: String, name: String? = nil, reason: UnpublishReason) async {
        await hub.unpublish(session, stream: stream, reason: reason)
        if let name { await hub.releaseStreamName(name, session: session) }
    }

    /// The media of streams the owner no longer has: stopped, left or closed.
    func stopMedia(_ streams: [String]) async {
        for stream in streams { await media?.stop(stream: stream) }
    }
}

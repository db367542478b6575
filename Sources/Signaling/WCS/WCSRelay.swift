import Rooms

/// Turns one stream's media events into statuses for its socket and keeps the room in step.
struct WCSRelay: Sendable {
    let id: String
    let session: SessionID
    let outbox: Outbox
    let hub: SignalingHub
    let media: (any MediaService)?
    let streams: WCSSessionState
    var lifecycle: StreamLifecycle { StreamLifecycle(hub: hub, media: media, session: session) }

    func connected() async {
        guard let stream = streams.stream(id) else { return }
        if stream.kind == .play {
            outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: .playing,
                                             audioMuted: stream.description.audioMuted,
                                             videoMuted: stream.description.videoMuted))
            return
        }
        if let room = stream.room {
            if let error = await lifecycle.announce(streams.stream(id)?.description ?? stream.description, in: room) {
                // Left the room, or over the room's stream cap, while connecting.
                if streams.end(id, status: { _ in .failed }) != nil {
                    outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: .failed,
                                                     info: error.message))
                    await lifecycle.refuse(stream.mediaID, name: stream.name)
                }
                return
            }
            // Stopped while being announced: take the announcement back.
            if streams.stream(id) == nil {
                await lifecycle.withdraw(stream.mediaID, reason: .unpublished)
                return
            }
        }
        await hub.updateStreamName(stream.name, session: session, id: stream.mediaID, live: true)
        let current = streams.stream(id)?.description ?? stream.description
        outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: .publishing,
                                         audioMuted: current.audioMuted, videoMuted: current.videoMuted))
    }

    func ended(reason: StreamEndReason, failed: Bool) async {
        guard let ended = streams.end(id, status: { failed ? .failed : $0.stoppedStatus }) else { return }
        let stream = ended.0, status = ended.1
        if stream.kind == .publish {
            await lifecycle.withdraw(stream.mediaID, name: stream.name, reason: UnpublishReason(mediaEnd: reason))
        }
        outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: status,
                                         info: WCSStatusInfo.describe(reason: reason)))
    }
}

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
                                             audioMuted: stream.source?.audioMuted ?? false,
                                             videoMuted: stream.source?.videoMuted ?? false))
            return
        }
        let record: StreamRecord
        switch await lifecycle.announce(stream.mediaID) {
        case .success(let live):
            record = live
        case .failure(let error):
            // Left the room, or over the room's stream cap, while connecting.
            if streams.end(id, status: { _ in .failed }) != nil {
                outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: .failed, info: error.message))
                await lifecycle.refuse(stream.mediaID)
            }
            return
        }
        // Stopped while being announced: take the announcement back.
        if streams.stream(id) == nil {
            await lifecycle.withdraw(stream.mediaID, reason: .unpublished)
            return
        }
        outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: .publishing,
                                         audioMuted: record.description.audioMuted, videoMuted: record.description.videoMuted,
                                         recordName: stream.recordName))
    }

    func ended(reason: StreamEndReason, failed: Bool) async {
        guard let ended = streams.end(id, status: { failed ? .failed : $0.stoppedStatus }) else { return }
        let stream = ended.0, status = ended.1
        if stream.kind == .publish {
            await lifecycle.withdraw(stream.mediaID, reason: UnpublishReason(mediaEnd: reason))
        }
        outbox.send(WCSWire.streamStatus(mediaSessionId: id, name: stream.name, status: status,
                                         info: WCSStatusInfo.describe(reason: reason), recordName: stream.recordName))
    }
}

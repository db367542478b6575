import Rooms

/// Delivers hub events to a Web Call Server socket as the room app's `OnDataEvent`s (and, for mute changes,
/// as stream events to the socket's plays of that stream).
struct WCSSink: SessionSink {
    let outbox: Outbox
    let state: WCSSessionState

    func deliver(_ event: RoomEvent) {
        switch event {
        case .joined(let room, let participant):
            outbox.send(WCSWire.roomEvent(room: room, name: "JOINED", info: .string(participant.name)))
        case .left(let room, let participant, _):
            outbox.send(WCSWire.roomEvent(room: room, name: "LEFT", info: .string(participant.name)))
        case .message(let message):
            outbox.send(WCSWire.roomEvent(room: message.room, name: "MESSAGE",
                                          info: ["from": .string(message.from), "text": .string(message.text)]))
        case .published(let room, let participant, let stream):
            let name = WCSNames.name(of: stream, participant: participant, room: room)
            state.remember(room: room, stream: stream.id, name: name)
            outbox.send(WCSWire.roomEvent(room: room, name: "PUBLISHED",
                                          info: ["login": .string(participant), "name": .string(name)]))
        case .unpublished(let room, let participant, let stream, _):
            let name = state.forget(room: room, stream: stream) ?? "\(room)-\(participant)-\(stream)"
            outbox.send(WCSWire.roomEvent(room: room, name: "UNPUBLISHED",
                                          info: ["login": .string(participant), "name": .string(name)]))
        case .updated(_, _, let stream):
            for change in state.sourceUpdated(stream) {
                for type in change.types {
                    outbox.send(WCSWire.streamEvent(mediaSessionId: change.mediaSessionId, type: type))
                }
            }
        }
    }

    /// Removed by the operator: the socket closes (the WebSDK's session ends; it does not reconnect by itself).
    func evict() {
        outbox.close(code: ParleySession.closeKicked, reason: "Removed from the room by the server's operator")
    }
}

import Foundation
import Rooms
import Synchronization

/// One stream of a Web Call Server socket: a publish or a play, keyed by the client's `mediaSessionId`.
struct WCSStream: Sendable, Equatable {
    enum Kind: Sendable { case publish, play }

    let kind: Kind
    let mediaSessionId: String
    /// The WCS stream name (for a play: the name it asked for).
    let name: String
    /// The media plane's id of this publish or play.
    let mediaID: String
    /// The room it belongs to; nil for plain streaming outside rooms.
    let room: String?
    /// A play: its source, as last heard (for mute changes). Nil for a publish, whose state is its record's
    /// in the hub.
    var source: StreamDescription?
    /// A recorded publish's file (`record: true`), in its status events.
    var recordName: String? = nil

    /// The terminal status this stream gets when it is stopped, by the client or by its room.
    var stoppedStatus: WCSStreamStatus { kind == .publish ? .unpublished : .stopped }
}

/// What a Web Call Server socket shares between its reading task, its stream relays and its hub sink: its
/// streams, the rooms it is in and the names of the streams it was told of. Short critical sections only.
final class WCSSessionState: Sendable {
    private struct State {
        var streams: [String: WCSStream] = [:]
        /// Recently ended streams and the terminal status they got, so a late stop gets that answer again.
        var ended: [String: WCSStreamStatus] = [:]
        var endedOrder: [String] = []
        var rooms: Set<String> = []
        /// room → stream id → WCS name, for the streams announced to this socket (STATE, PUBLISHED).
        var names: [String: [String: String]] = [:]
    }

    static let endedMemory = 64
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.streams.count } }
    func stream(_ mediaSessionId: String) -> WCSStream? { state.withLock { $0.streams[mediaSessionId] } }
    func insert(_ stream: WCSStream) { state.withLock { $0.streams[stream.mediaSessionId] = stream } }

    /// Removes a stream and records the terminal status its remover sends. Whoever removes a stream sends its
    /// terminal status: the client's stop, a leave, or the media plane's end, whichever comes first.
    func end(_ mediaSessionId: String, status: (WCSStream) -> WCSStreamStatus) -> (WCSStream, WCSStreamStatus)? {
        state.withLock { s in
            guard let stream = s.streams.removeValue(forKey: mediaSessionId) else { return nil }
            let terminal = status(stream)
            s.ended[mediaSessionId] = terminal
            s.endedOrder.append(mediaSessionId)
            if s.endedOrder.count > Self.endedMemory { s.ended[s.endedOrder.removeFirst()] = nil }
            return (stream, terminal)
        }
    }

    func endedStatus(_ mediaSessionId: String) -> WCSStreamStatus? { state.withLock { $0.ended[mediaSessionId] } }

    /// Removes the streams of `room` (every stream when nil), for a leave or a closed socket.
    func endAll(inRoom room: String?) -> [WCSStream] {
        let ids = state.withLock { s in s.streams.values.filter { room == nil || $0.room == room }.map(\.mediaSessionId) }
        return ids.compactMap { end($0, status: \.stoppedStatus)?.0 }
    }

    /// A source's new state, applied to every play of it; returns each play's changes as WCS stream event types.
    func sourceUpdated(_ source: StreamDescription) -> [(mediaSessionId: String, types: [String])] {
        state.withLock { s in
            var changes: [(String, [String])] = []
            for (id, var play) in s.streams where play.kind == .play {
                guard let heard = play.source, heard.id == source.id else { continue }
                var types: [String] = []
                if heard.audioMuted != source.audioMuted { types.append(source.audioMuted ? "audioMuted" : "audioUnmuted") }
                if heard.videoMuted != source.videoMuted { types.append(source.videoMuted ? "videoMuted" : "videoUnmuted") }
                play.source = source
                s.streams[id] = play
                if !types.isEmpty { changes.append((id, types)) }
            }
            return changes.sorted { $0.0 < $1.0 }
        }
    }

    // MARK: rooms and names

    var rooms: Set<String> { state.withLock { $0.rooms } }

    func entered(_ room: String, streams: [(id: String, name: String)]) {
        state.withLock { s in
            s.rooms.insert(room)
            s.names[room] = Dictionary(streams.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        }
    }

    func left(_ room: String) {
        state.withLock { s in
            s.rooms.remove(room)
            s.names[room] = nil
        }
    }

    func remember(room: String, stream: String, name: String) {
        state.withLock { $0.names[room, default: [:]][stream] = name }
    }

    func forget(room: String, stream: String) -> String? {
        state.withLock { $0.names[room]?.removeValue(forKey: stream) }
    }
}

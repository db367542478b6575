import Synchronization

/// Which rooms RTMP watches now (players and pushes of their streams), so that new publishes there prefer H.264,
/// which RTMP carries as it is (VP8 costs a transcode). Touched by RTMP connections, pushes and sockets' tasks.
final class RTMPAudience: Sendable {
    private let rooms = Mutex<[String: Int]>([:])

    /// One watcher of a stream of `room`, until `release` (once, however often it is called).
    final class Ticket: Sendable {
        private let audience: RTMPAudience
        private let room: String
        private let released = Atomic<Bool>(false)

        fileprivate init(_ audience: RTMPAudience, room: String) {
            self.audience = audience
            self.room = room
        }

        func release() {
            guard !released.exchange(true, ordering: .relaxed) else { return }
            audience.rooms.withLock { rooms in
                rooms[room, default: 1] -= 1
                if rooms[room] ?? 0 <= 0 { rooms[room] = nil }
            }
        }

        deinit { release() }
    }

    func watch(_ room: String) -> Ticket {
        rooms.withLock { $0[room, default: 0] += 1 }
        return Ticket(self, room: room)
    }

    func isWatched(_ room: String) -> Bool { rooms.withLock { $0[room] != nil } }
}

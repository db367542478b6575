import Foundation
import Rooms

/// The streams one socket started, by id, and what each is to it: the socket's index into the hub's stream
/// records (which hold a publish's state), plus its echoes and plays. Touched by the socket's task and by its
/// stream relays, hence the lock.
final class StreamTable: @unchecked Sendable {
    enum Role {
        case echo
        case publish(room: String)
        case play(room: String)

        var room: String? {
            switch self {
            case .echo: nil
            case .publish(let room), .play(let room): room
            }
        }
    }

    private let lock = NSLock()
    private var roles: [String: Role] = [:]

    var count: Int { lock.withLock { roles.count } }
    func insert(_ id: String, _ role: Role) { lock.withLock { roles[id] = role } }
    func role(of id: String) -> Role? { lock.withLock { roles[id] } }
    @discardableResult func remove(_ id: String) -> Role? { lock.withLock { roles.removeValue(forKey: id) } }

    /// Removes and returns the streams of `room` (every stream when nil).
    func removeAll(inRoom room: String?) -> [String] {
        lock.withLock {
            let ids = roles.filter { room == nil || $0.value.room == room }.map(\.key)
            for id in ids { roles[id] = nil }
            return ids
        }
    }
}

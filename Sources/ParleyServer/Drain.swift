import Logging
import Signaling
import Synchronization

/// The sockets of Parley's and the WCS protocol that are open now, so a drain can tell each to reconnect; and
/// whether a drain has begun.
final class LiveSockets: Sendable {
    private let outboxes = Mutex<[ObjectIdentifier: Outbox]>([:])
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }
    /// True for the first caller only.
    func startDraining() -> Bool { !draining.exchange(true, ordering: .relaxed) }

    func add(_ outbox: Outbox) { outboxes.withLock { $0[ObjectIdentifier(outbox)] = outbox } }
    func remove(_ outbox: Outbox) { outboxes.withLock { $0[ObjectIdentifier(outbox)] = nil } }

    /// Closes every socket with 1012 (Service Restart): the SDK reconnects on its own.
    func closeAllForRestart() -> Int {
        let all = outboxes.withLock { Array($0.values) }
        for outbox in all { outbox.close(code: ParleyServer.closeServiceRestart, reason: "Server restarting: reconnect") }
        return all.count
    }
}

extension ParleyServer {
    /// WebSocket close code 1012, Service Restart.
    static let closeServiceRestart: UInt16 = 1012

    /// Drains for a shutdown: no new room opens (joins of existing rooms go on), `/health` says `draining` with 503
    /// so load balancers send new users elsewhere; returns when every room is empty or `timeout` has passed (or the
    /// task is cancelled: a second signal), after telling the sockets still open to reconnect.
    func drain(for timeout: Duration) async {
        guard liveSockets.startDraining() else { return }
        await hub.startDraining()
        let started = ContinuousClock.now
        let open = await hub.stats.rooms
        logger.notice("draining: no new rooms; waiting for the rooms to empty", metadata: [
            "rooms": "\(open)", "timeout": "\(timeout)"])
        while ContinuousClock.now - started < timeout, await hub.stats.rooms > 0 {
            do { try await Task.sleep(for: .milliseconds(200)) } catch { break }
        }
        let rooms = await hub.stats.rooms
        let told = liveSockets.closeAllForRestart()
        logger.notice("drained", metadata: ["rooms": "\(rooms)", "socketsToldToReconnect": "\(told)",
                                            "seconds": "\((ContinuousClock.now - started).components.seconds)"])
    }
}

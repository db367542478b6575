import Dispatch
import ServiceLifecycle
import Synchronization

/// When a socket's current write began (ns of the monotonic clock), 0 while none is waiting; set by its writer.
final class WriteClock: Sendable {
    let value = Atomic<UInt64>(0)
}

/// Every open socket's current write, checked by one sweep a second. A client that stops reading leaves its writer
/// waiting on a full socket, where even the pings queue up, so the ping timeout never fires and the queue may never
/// overflow (the kernel buffers megabytes): a write waiting longer than its limit cuts the connection. One sweep
/// for the server instead of a watchdog task per socket: each task kept its own stack memory for the socket's life.
final class WriteStalls: Sendable {
    private struct Watched: Sendable {
        let clock: WriteClock
        let limit: UInt64
        let onStall: @Sendable () -> Void
    }

    private let watched = Mutex<[ObjectIdentifier: Watched]>([:])

    var count: Int { watched.withLock { $0.count } }

    /// Watches `clock` until `forget`; `onStall` runs once (outside any lock) if a write waits over `limit`.
    func watch(_ clock: WriteClock, limit: Duration, onStall: @escaping @Sendable () -> Void) {
        let nanoseconds = UInt64(max(0, limit / .nanoseconds(1)))
        watched.withLock { $0[ObjectIdentifier(clock)] = Watched(clock: clock, limit: nanoseconds, onStall: onStall) }
    }

    func forget(_ clock: WriteClock) {
        _ = watched.withLock { $0.removeValue(forKey: ObjectIdentifier(clock)) }
    }

    /// Cuts the sockets whose current write began more than their limit before `now`; returns how many.
    @discardableResult
    func sweep(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Int {
        let stalled = watched.withLock { table -> [@Sendable () -> Void] in
            var stalled: [@Sendable () -> Void] = []
            for (key, socket) in table {
                // A write that began after `now` was read is not late.
                let since = socket.clock.value.load(ordering: .relaxed)
                guard since != 0, now > since, now - since > socket.limit else { continue }
                stalled.append(socket.onStall)
                table.removeValue(forKey: key)
            }
            return stalled
        }
        for onStall in stalled { onStall() }
        return stalled.count
    }
}

/// Runs the sweep once a second until the server shuts down (after the application, which its sockets belong to).
struct WriteStallSweep: Service {
    let stalls: WriteStalls

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                stalls.sweep()
            }
        }
    }
}

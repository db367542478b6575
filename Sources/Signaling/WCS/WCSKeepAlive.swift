import Synchronization

/// The server's application-level keep-alive: a `ping` every period, and a socket that has sent nothing since
/// the previous ping is dropped. The SDK answers each ping with `pong`.
public final class WCSKeepAlive: Sendable {
    public enum Verdict: Sendable, Equatable {
        case ping
        case timeout
    }

    private let state = Mutex<(lastHeard: Double, pingSentAt: Double?, timedOut: Bool)>((-.infinity, nil, false))

    public init() {}

    /// Any frame from the client counts as an answer. `now` in seconds on a monotonic clock.
    public func heard(at now: Double) {
        state.withLock { $0.lastHeard = now }
    }

    /// Called once per period: ping again, or give up on a client that did not answer the last ping.
    public func tick(at now: Double) -> Verdict {
        state.withLock { s in
            if let sent = s.pingSentAt, s.lastHeard < sent {
                s.timedOut = true
                return .timeout
            }
            s.pingSentAt = now
            return .ping
        }
    }

    public var hasTimedOut: Bool { state.withLock { $0.timedOut } }
}

import Synchronization

/// What the limiters of every socket refused, for /metrics: shared by reference, touched only on a refusal.
public final class RateLimitCounts: Sendable {
    private let refusedCount = Atomic<Int>(0)
    private let disconnectedCount = Atomic<Int>(0)

    public init() {}

    public var refused: Int { refusedCount.load(ordering: .relaxed) }
    /// Sockets closed for flooding.
    public var disconnected: Int { disconnectedCount.load(ordering: .relaxed) }

    func count(_ verdict: RateLimiter.Verdict) {
        switch verdict {
        case .allow: break
        case .refuse: refusedCount.add(1, ordering: .relaxed)
        case .disconnect: disconnectedCount.add(1, ordering: .relaxed)
        }
    }
}

/// Counts requests per one-second window for one socket.
public struct RateLimiter: Sendable {
    public enum Verdict: Sendable, Equatable {
        case allow
        /// Over the limit: refuse this request.
        case refuse
        /// Far over the limit: the client is flooding; close the socket.
        case disconnect
    }

    public let perSecond: Int
    public let closeAfterRefused: Int
    private let counts: RateLimitCounts?
    private var windowStart: Double = -.infinity
    private var count = 0

    public init(perSecond: Int = 50, closeAfterRefused: Int = 100, counts: RateLimitCounts? = nil) {
        self.perSecond = perSecond
        self.closeAfterRefused = closeAfterRefused
        self.counts = counts
    }

    /// `now` in seconds on a monotonic clock.
    public mutating func check(now: Double) -> Verdict {
        if now - windowStart >= 1 {
            windowStart = now
            count = 0
        }
        count += 1
        if count <= perSecond { return .allow }
        let verdict: Verdict = count - perSecond > closeAfterRefused ? .disconnect : .refuse
        counts?.count(verdict)
        return verdict
    }
}

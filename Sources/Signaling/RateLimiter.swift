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
    private var windowStart: Double = -.infinity
    private var count = 0

    public init(perSecond: Int = 50, closeAfterRefused: Int = 100) {
        self.perSecond = perSecond
        self.closeAfterRefused = closeAfterRefused
    }

    /// `now` in seconds on a monotonic clock.
    public mutating func check(now: Double) -> Verdict {
        if now - windowStart >= 1 {
            windowStart = now
            count = 0
        }
        count += 1
        if count <= perSecond { return .allow }
        return count - perSecond > closeAfterRefused ? .disconnect : .refuse
    }
}

import Synchronization

/// One track of a published stream as the operator sees it (the admin API): the publisher's leg as Parley
/// receives it, and its viewers' legs summed (round-trip time and loss: the worst viewer's). Read on the media
/// loops when asked, never kept per packet anywhere else.
public struct TrackStatistics: Sendable, Equatable, Encodable {
    public var kind: String
    /// Muted by the operator: received, not forwarded.
    public var muted: Bool
    public var packetsReceived: Int
    public var bytesReceived: Int
    /// Bits per second received, over about the last second.
    public var bitrate: Int
    /// Lost on the publisher's leg since the track began (RFC 3550's cumulative count), and as a share of the
    /// packets expected.
    public var packetsLost: Int
    public var lossRate: Double
    /// Interarrival jitter of the publisher's packets, in milliseconds.
    public var jitterMs: Double
    /// Sequence numbers Parley asked the publisher to send again, and what came back.
    public var nacksSent: Int
    public var retransmissionsReceived: Int
    /// PLI/FIR sent to the publisher (viewers' requests, paced, and Parley's own).
    public var keyframeRequestsSent: Int
    /// Viewers: WebRTC players, recorders, RTMP players and relays.
    public var viewers = 0
    public var packetsSent = 0
    public var nacksReceived = 0
    public var retransmissionsSent = 0
    public var keyframeRequestsReceived = 0
    /// From the viewers' receiver reports: the highest round-trip time (ms) and fraction lost; nil before any.
    public var viewerRTTMsMax: Double?
    public var viewerLossMax: Double?

    /// Adds a viewer's consumer of this track.
    mutating func add(_ consumer: Consumer) {
        viewers += 1
        packetsSent += Int(consumer.packetsSent)
        nacksReceived += consumer.nacksReceived
        retransmissionsSent += consumer.retransmissionsSent
        keyframeRequestsReceived += consumer.keyframeRequestsReceived
        if let report = consumer.lastReport {
            if let rtt = report.rtt { viewerRTTMsMax = max(viewerRTTMsMax ?? 0, rtt * 1000) }
            viewerLossMax = max(viewerLossMax ?? 0, report.fractionLost)
        }
    }

    /// Adds the viewers' part counted on another loop.
    mutating func addViewers(of other: TrackStatistics) {
        viewers += other.viewers
        packetsSent += other.packetsSent
        nacksReceived += other.nacksReceived
        retransmissionsSent += other.retransmissionsSent
        keyframeRequestsReceived += other.keyframeRequestsReceived
        if let rtt = other.viewerRTTMsMax { viewerRTTMsMax = max(viewerRTTMsMax ?? 0, rtt) }
        if let loss = other.viewerLossMax { viewerLossMax = max(viewerLossMax ?? 0, loss) }
    }
}

/// A Prometheus-style histogram: counts per upper bound, their sum and count. Observed once per receiver report
/// (about once a second per viewer), never per packet, so a lock is cheap enough.
public final class MediaHistogram: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Upper bounds with the count of observations at or under each (cumulative), then +Inf's.
        public let buckets: [(bound: Double, count: Int)]
        public let sum: Double
        public let count: Int

        public static func == (a: Self, b: Self) -> Bool {
            a.sum == b.sum && a.count == b.count && a.buckets.map(\.bound) == b.buckets.map(\.bound)
                && a.buckets.map(\.count) == b.buckets.map(\.count)
        }
    }

    public let bounds: [Double]
    private let state: Mutex<(counts: [Int], sum: Double, count: Int)>

    public init(bounds: [Double]) {
        self.bounds = bounds
        state = Mutex((Array(repeating: 0, count: bounds.count), 0, 0))
    }

    public func observe(_ value: Double) {
        guard value.isFinite else { return }
        state.withLock { s in
            if let index = bounds.firstIndex(where: { value <= $0 }) { s.counts[index] += 1 }
            s.sum += value
            s.count += 1
        }
    }

    public var snapshot: Snapshot {
        state.withLock { s in
            var running = 0
            let buckets = zip(bounds, s.counts).map { bound, count in
                running += count
                return (bound, running)
            }
            return Snapshot(buckets: buckets, sum: s.sum, count: s.count)
        }
    }
}

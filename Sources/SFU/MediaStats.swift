import Synchronization

/// Counters of the media plane, read by `/health`. Relaxed atomics: they are statistics, not synchronisation.
public final class MediaStats: Sendable {
    public enum Drop: String, CaseIterable, Sendable {
        case badSTUNIntegrity = "bad_stun_integrity"
        case badSRTPAuth = "bad_srtp_auth"
        case unknownAddress = "unknown_address"
        case malformed
    }

    let packetsIn = Atomic<Int>(0)
    let bytesIn = Atomic<Int>(0)
    /// Sent datagrams in three classes, counted once each: forwarded audio and video RTP, and everything else
    /// (RTCP, STUN, DTLS, an echo test's RTP). The totals are their sums.
    private let audioOut = TrafficCounter()
    private let videoOut = TrafficCounter()
    private let otherOut = TrafficCounter()
    /// Received RTP of publishers' tracks by kind (retransmissions included).
    private let audioIn = TrafficCounter()
    private let videoIn = TrafficCounter()
    /// From a read burst's first datagram to the flush that hands what it made to the socket, per flush.
    public let forwardingDelay = MediaHistogram(bounds: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1])
    let transports = Atomic<Int>(0)
    private let badSTUNIntegrity = Atomic<Int>(0)
    private let badSRTPAuth = Atomic<Int>(0)
    private let unknownAddress = Atomic<Int>(0)
    private let malformed = Atomic<Int>(0)
    /// Transports whose DTLS and SRTP are up.
    let connected = Atomic<Int>(0)
    // Feedback, counted as it is sent or answered (a NACK, a keyframe request), not per media packet.
    let nacksSent = Atomic<Int>(0)
    let nacksReceived = Atomic<Int>(0)
    let retransmissionsSent = Atomic<Int>(0)
    let keyframeRequestsSent = Atomic<Int>(0)
    let keyframeRequestsReceived = Atomic<Int>(0)
    /// Transports ended, by `TransportEndReason.metricName`.
    private let endings = Mutex<[String: Int]>([:])
    /// From the viewers' receiver reports: round-trip time and interarrival jitter (seconds), fraction lost.
    public let viewerRTT = MediaHistogram(bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
    public let viewerJitter = MediaHistogram(bounds: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5])
    public let viewerLoss = MediaHistogram(bounds: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])

    public init() {}

    func ended(_ reason: TransportEndReason) {
        endings.withLock { $0[reason.metricName, default: 0] += 1 }
    }

    /// What the viewers' receiver reports said, for the histograms.
    func viewerReport(rtt: Double?, jitterSeconds: Double, fractionLost: Double) {
        if let rtt { viewerRTT.observe(rtt) }
        viewerJitter.observe(jitterSeconds)
        viewerLoss.observe(fractionLost)
    }

    /// Feedback counts: NACKed sequence numbers sent and received, retransmissions sent, keyframe requests
    /// sent to publishers and received from viewers.
    public struct Feedback: Sendable, Codable, Equatable {
        public let nacksSent: Int
        public let nacksReceived: Int
        public let retransmissionsSent: Int
        public let keyframeRequestsSent: Int
        public let keyframeRequestsReceived: Int
    }

    public var feedback: Feedback {
        Feedback(nacksSent: nacksSent.load(ordering: .relaxed), nacksReceived: nacksReceived.load(ordering: .relaxed),
                 retransmissionsSent: retransmissionsSent.load(ordering: .relaxed),
                 keyframeRequestsSent: keyframeRequestsSent.load(ordering: .relaxed),
                 keyframeRequestsReceived: keyframeRequestsReceived.load(ordering: .relaxed))
    }

    /// Transports connected now, and those ended by reason since the start.
    public var transportStates: (connected: Int, ended: [String: Int]) {
        (connected.load(ordering: .relaxed), endings.withLock { $0 })
    }

    func received(_ bytes: Int) {
        packetsIn.add(1, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
    }

    /// Datagrams one media loop sent since it last reported, by class: each loop adds them up itself and reports at
    /// its flushes, so the shared counters take a few atomic adds per flush, not two per datagram from every loop.
    struct SentTally {
        var audio = (packets: 0, bytes: 0)
        var video = (packets: 0, bytes: 0)
        var other = (packets: 0, bytes: 0)

        @inline(__always)
        mutating func count(_ bytes: Int, kind: TrackKind?) {
            switch kind {
            case .audio: audio.packets += 1; audio.bytes += bytes
            case .video: video.packets += 1; video.bytes += bytes
            case nil: other.packets += 1; other.bytes += bytes
            }
        }
    }

    func sent(_ tally: SentTally) {
        audioOut.add(packets: tally.audio.packets, bytes: tally.audio.bytes)
        videoOut.add(packets: tally.video.packets, bytes: tally.video.bytes)
        otherOut.add(packets: tally.other.packets, bytes: tally.other.bytes)
    }

    func receivedRTP(_ bytes: Int, kind: TrackKind) {
        switch kind {
        case .audio: audioIn.add(bytes)
        case .video: videoIn.add(bytes)
        }
    }

    /// RTP of publishers' tracks received, and forwarded to players, by kind.
    public struct RTPCounts: Sendable, Equatable {
        public var packets: Int
        public var bytes: Int
    }

    public var rtp: (in: [TrackKind: RTPCounts], out: [TrackKind: RTPCounts]) {
        ([.audio: audioIn.counts, .video: videoIn.counts], [.audio: audioOut.counts, .video: videoOut.counts])
    }

    func dropped(_ reason: Drop) {
        switch reason {
        case .badSTUNIntegrity: badSTUNIntegrity.add(1, ordering: .relaxed)
        case .badSRTPAuth: badSRTPAuth.add(1, ordering: .relaxed)
        case .unknownAddress: unknownAddress.add(1, ordering: .relaxed)
        case .malformed: malformed.add(1, ordering: .relaxed)
        }
    }

    public struct Snapshot: Sendable, Codable, Equatable {
        public let peerConnections: Int
        public let packetsIn: Int
        public let packetsOut: Int
        public let bytesIn: Int
        public let bytesOut: Int
        public let drops: [String: Int]
    }

    public var snapshot: Snapshot {
        Snapshot(
            peerConnections: transports.load(ordering: .relaxed),
            packetsIn: packetsIn.load(ordering: .relaxed),
            packetsOut: [audioOut, videoOut, otherOut].reduce(0) { $0 + $1.counts.packets },
            bytesIn: bytesIn.load(ordering: .relaxed),
            bytesOut: [audioOut, videoOut, otherOut].reduce(0) { $0 + $1.counts.bytes },
            drops: [
                Drop.badSTUNIntegrity.rawValue: badSTUNIntegrity.load(ordering: .relaxed),
                Drop.badSRTPAuth.rawValue: badSRTPAuth.load(ordering: .relaxed),
                Drop.unknownAddress.rawValue: unknownAddress.load(ordering: .relaxed),
                Drop.malformed.rawValue: malformed.load(ordering: .relaxed),
            ]
        )
    }
}

/// Packets and bytes of one class of traffic.
final class TrafficCounter: Sendable {
    private let packets = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)

    @inline(__always)
    func add(_ count: Int) {
        add(packets: 1, bytes: count)
    }

    @inline(__always)
    func add(packets count: Int, bytes size: Int) {
        guard count > 0 else { return }
        packets.add(count, ordering: .relaxed)
        bytes.add(size, ordering: .relaxed)
    }

    var counts: MediaStats.RTPCounts {
        .init(packets: packets.load(ordering: .relaxed), bytes: bytes.load(ordering: .relaxed))
    }
}

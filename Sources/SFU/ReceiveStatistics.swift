import RTP

/// What a receiver reports about one incoming stream (RFC 3550 §6.4.1 and appendix A.3/A.8): loss since the
/// last report and in total, the highest sequence number, interarrival jitter, and the last SR's timing.
struct ReceiveStatistics {
    let clockRate: UInt32
    private(set) var baseSequence: Int64?
    private(set) var highestSequence: Int64 = 0
    private(set) var received: Int64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    private var jitter: Double = 0
    private var lastTransit: Double?
    private var lastSR: (compact: UInt32, arrival: Double)?

    init(clockRate: UInt32) {
        self.clockRate = clockRate
    }

    /// A media packet (not a retransmission) arrived at `now` seconds.
    mutating func record(extendedSequence seq: Int64, timestamp: UInt32, now: Double) {
        if baseSequence == nil {
            baseSequence = seq
            highestSequence = seq
        }
        highestSequence = max(highestSequence, seq)
        received += 1
        // Jitter in timestamp units; the transit's constant part cancels out.
        let arrival = now * Double(clockRate)
        let transit = arrival - Double(timestamp)
        if let lastTransit {
            var d = transit - lastTransit
            // Timestamps wrap at 2^32: fold the difference back to the nearest value.
            if d > 2_147_483_648 { d -= 4_294_967_296 } else if d < -2_147_483_648 { d += 4_294_967_296 }
            jitter += (abs(d) - jitter) / 16
        }
        lastTransit = transit
    }

    /// Packets expected and lost since the first one (RFC 3550's cumulative counts), and the jitter in seconds.
    var totals: (expected: Int64, lost: Int64, jitter: Double) {
        guard let baseSequence else { return (0, 0, 0) }
        let expected = highestSequence - baseSequence + 1
        return (expected, max(0, expected - received), jitter / Double(clockRate))
    }

    mutating func recordSenderReport(_ report: RTCPSenderReport, now: Double) {
        lastSR = (report.compactNTP, now)
    }

    /// The report block for the next RR; resets the "since last report" counters.
    mutating func reportBlock(ssrc: UInt32, now: Double) -> RTCPReportBlock? {
        guard let baseSequence else { return nil }
        let expected = highestSequence - baseSequence + 1
        let lost = expected - received
        let expectedInterval = expected - expectedPrior
        let receivedInterval = received - receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 = expectedInterval <= 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        var lsr: UInt32 = 0, dlsr: UInt32 = 0
        if let lastSR {
            lsr = lastSR.compact
            dlsr = UInt32(clamping: Int64(((now - lastSR.arrival) * 65536).rounded()))
        }
        return RTCPReportBlock(ssrc: ssrc, fractionLost: fraction,
                               cumulativeLost: Int32(clamping: max(-8_388_608, min(8_388_607, lost))),
                               highestSequence: UInt32(truncatingIfNeeded: highestSequence),
                               jitter: UInt32(clamping: Int64(jitter)), lastSR: lsr, delaySinceLastSR: dlsr)
    }
}

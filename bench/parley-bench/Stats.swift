// What subscribers measure: a latency histogram, and per-track loss, duplicates and order.

/// A log-linear histogram of microseconds: exact below 2,048 µs, then 32 buckets per power of two (~3 %).
struct LatencyHistogram: Sendable {
    private static let linear = 2048
    private static let subBuckets = 32
    private(set) var counts: [UInt64]
    private(set) var total: UInt64 = 0
    private(set) var maxValue: UInt64 = 0

    init() {
        counts = [UInt64](repeating: 0, count: Self.linear + 40 * Self.subBuckets)
    }

    @inline(__always) static func index(_ v: UInt64) -> Int {
        if v < UInt64(linear) { return Int(v) }
        let power = 63 - v.leadingZeroBitCount  // ≥ 11
        let shift = power - 5
        let sub = Int((v >> UInt64(shift)) & UInt64(subBuckets - 1))
        return linear + (power - 11) * subBuckets + sub
    }

    static func lowerBound(_ index: Int) -> UInt64 {
        if index < linear { return UInt64(index) }
        let power = (index - linear) / subBuckets + 11
        let sub = UInt64((index - linear) % subBuckets)
        return (UInt64(1) << UInt64(power)) + (sub << UInt64(power - 5))
    }

    @inline(__always) mutating func record(_ micros: UInt64) {
        let i = Self.index(micros)
        if i < counts.count { counts[i] &+= 1 } else { counts[counts.count - 1] &+= 1 }
        total &+= 1
        if micros > maxValue { maxValue = micros }
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
        total &+= other.total
        maxValue = max(maxValue, other.maxValue)
    }

    /// The value at quantile q (0…1), in microseconds.
    func quantile(_ q: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = UInt64((Double(total) * q).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= max(rank, 1) { return min(Self.lowerBound(i), maxValue) }
        }
        return maxValue
    }
}

/// One received track as a subscriber sees it, by the publisher's own sequence counter in the payload
/// (servers rewrite RTP sequence numbers, never the payload).
struct TrackReceiveStats {
    /// The first counter value received inside the measurement window: expected packets are counted from it.
    var first: UInt64?
    var highest: UInt64 = 0
    var unique = 0
    var duplicates = 0
    var outOfOrder = 0
    /// Duplicate detection over the last 1,024 counter values: slot (counter mod 1024) holds counter + 1.
    private var slots = [UInt32](repeating: 0, count: 1024)

    /// Records a counter value; returns false for a duplicate.
    @inline(__always) mutating func record(_ counter: UInt64) -> Bool {
        guard let first else {
            self.first = counter
            highest = counter
            unique = 1
            slots[Int(counter & 1023)] = UInt32(truncatingIfNeeded: counter) &+ 1
            return true
        }
        if counter < first { return true }  // sent before this track's window began: neither loss nor order
        if counter &+ 1024 <= highest {  // too old to check for a duplicate
            outOfOrder += 1
            unique += 1
            return true
        }
        let i = Int(counter & 1023)
        let tag = UInt32(truncatingIfNeeded: counter) &+ 1
        if slots[i] == tag {
            duplicates += 1
            return false
        }
        if counter < highest { outOfOrder += 1 } else { highest = counter }
        slots[i] = tag
        unique += 1
        return true
    }
}

/// Percentiles of a small sample (per-subscriber times), in the sample's unit.
func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((Double(sorted.count) * q).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

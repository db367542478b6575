import Foundation

/// Finds holes in an incoming stream and decides when to ask for them again (RFC 4585 generic NACK), the way
/// browsers do: at once, then every `retryInterval`, a few times, and never for packets too old to matter.
struct NackGenerator {
    private var highest: Int64?
    private var missing: [Int64: (firstSeen: Double, lastSent: Double?, tries: Int)] = [:]
    let maxTries: Int
    let retryInterval: Double
    let maxAge: Double
    /// A gap wider than this is not worth filling: ask for a keyframe instead.
    let maxGap: Int64

    /// Each retry waits this much longer than the one before: the first NACKs go out before any answer could be
    /// back (the round trip is not known), the later ones are spread over the `maxAge` window, so a packet whose
    /// NACK or retransmission was lost on a 100-200 ms path still has tries left (50, 75, 113, 169, 253 ms apart).
    let backoff = 1.5

    init(maxTries: Int = 6, retryInterval: Double = 0.05, maxAge: Double = 1.0, maxGap: Int64 = 500) {
        self.maxTries = maxTries
        self.retryInterval = retryInterval
        self.maxAge = maxAge
        self.maxGap = maxGap
    }

    var missingCount: Int { missing.count }

    /// Records a received sequence number. Returns false when the gap was too wide (the caller asks for a keyframe).
    mutating func received(_ seq: Int64, now: Double) -> Bool {
        guard let highest else {
            self.highest = seq
            return true
        }
        if seq <= highest {
            missing[seq] = nil
            return true
        }
        self.highest = seq
        let gap = seq - highest - 1
        if gap > maxGap {
            missing.removeAll()
            return false
        }
        if gap > 0 {
            for s in (highest + 1)..<seq { missing[s] = (now, nil, 0) }
        }
        return true
    }

    /// The sequence numbers to NACK now, oldest first; forgets those too old or asked too often.
    mutating func due(now: Double) -> [Int64] {
        var result: [Int64] = []
        for (seq, entry) in missing {
            if now - entry.firstSeen > maxAge || entry.tries >= maxTries {
                missing[seq] = nil
                continue
            }
            if let last = entry.lastSent, now - last < retryInterval * pow(backoff, Double(entry.tries - 1)) { continue }
            missing[seq] = (entry.firstSeen, now, entry.tries + 1)
            result.append(seq)
        }
        return result.sorted()
    }
}

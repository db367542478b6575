import RTP

/// Puts one track's packets back in sequence order before depacketizing, waiting up to `maxHold` for a missing
/// one (a retransmission that the SFU's NACK brings late), then giving it up as lost: the packets after the hole
/// go on, and the depacketizer sees the gap. Bounded: at most `maxPackets` are held.
struct PacketReorder<Packet> {
    let maxHold: Double
    let maxPackets: Int
    private var unwrapper = SequenceUnwrapper()
    private var next: Int64?
    private var held: [Int64: (packet: Packet, arrival: Double)] = [:]

    init(maxHold: Double = 0.2, maxPackets: Int = 512) {
        self.maxHold = maxHold
        self.maxPackets = maxPackets
    }

    /// The packets `packet` releases, in order (itself, what was waiting for it, or what a give-up lets through).
    mutating func push(sequence: UInt16, arrival: Double, _ packet: Packet) -> [(sequence: UInt16, packet: Packet)] {
        let s = unwrapper.unwrap(sequence)
        let expected = next ?? s
        next = expected
        guard s >= expected, held[s] == nil else { return [] }  // too late (given up on), or a duplicate
        held[s] = (packet, arrival)
        var out = releaseInOrder()
        // The oldest waiting packet has waited long enough (or too many wait): the hole before it is a loss.
        while let first = held.keys.min(), let oldest = held[first],
              arrival - oldest.arrival > maxHold || held.count > maxPackets {
            next = first
            out += releaseInOrder()
        }
        return out
    }

    /// Everything held, in order, gaps and all (the recording's end).
    mutating func drain() -> [(sequence: UInt16, packet: Packet)] {
        var out: [(sequence: UInt16, packet: Packet)] = []
        while let first = held.keys.min() {
            next = first
            out += releaseInOrder()
        }
        return out
    }

    private mutating func releaseInOrder() -> [(sequence: UInt16, packet: Packet)] {
        var out: [(sequence: UInt16, packet: Packet)] = []
        while let n = next, let entry = held.removeValue(forKey: n) {
            out.append((UInt16(truncatingIfNeeded: n), entry.packet))
            next = n + 1
        }
        return out
    }
}

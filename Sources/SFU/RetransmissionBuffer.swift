import NIOCore

/// The last packets of a track, by extended sequence number, to answer NACKs and to start new subscribers on the
/// latest keyframe. Sized by time, not by a fixed count: it starts small and doubles (up to `maxCapacity`)
/// whenever a packet would overwrite one younger than `maxAge`, so a 1 Mbit/s camera keeps ~2 s in a few
/// hundred slots instead of a megabyte and a half of empty ones. Slots are reused: once warm, a stored packet is
/// copied into the slot's own storage without allocating.
struct RetransmissionBuffer {
    private var slots: [(sequence: Int64, time: Double, packet: ByteBuffer)?]
    private let maxCapacity: Int
    private let maxAge: Double
    /// Each slot's first allocation: enough for a full video packet, or a small audio one.
    private let slotCapacity: Int

    init(initialCapacity: Int = 64, maxCapacity: Int = 1024, maxAge: Double = 2.0, slotCapacity: Int = 1500) {
        self.maxCapacity = max(1, maxCapacity)
        slots = Array(repeating: nil, count: min(max(1, initialCapacity), self.maxCapacity))
        self.maxAge = maxAge
        self.slotCapacity = slotCapacity
    }

    var capacity: Int { slots.count }

    mutating func store(_ packet: ByteBuffer, sequence: Int64, now: Double) {
        guard sequence >= 0 else { return }
        var index = Int(sequence % Int64(slots.count))
        if let old = slots[index], old.sequence != sequence, now - old.time < maxAge, slots.count < maxCapacity {
            grow()
            index = Int(sequence % Int64(slots.count))
        }
        if var old = slots[index]?.packet {
            slots[index] = nil  // so `old` is the only reference and its storage is reused
            old.clear()
            old.writeImmutableBuffer(packet)
            slots[index] = (sequence, now, old)
        } else {
            var copy = ByteBufferAllocator().buffer(capacity: max(packet.readableBytes, slotCapacity))
            copy.writeImmutableBuffer(packet)
            slots[index] = (sequence, now, copy)
        }
    }

    func packet(sequence: Int64, now: Double) -> ByteBuffer? {
        guard sequence >= 0, let slot = slots[Int(sequence % Int64(slots.count))],
              slot.sequence == sequence, now - slot.time <= maxAge else { return nil }
        return slot.packet
    }

    /// Twice the slots; every stored packet moves to its index in the larger ring (distinct sequences modulo n
    /// stay distinct modulo 2n, so none is lost).
    private mutating func grow() {
        var larger = [(sequence: Int64, time: Double, packet: ByteBuffer)?](repeating: nil, count: min(slots.count * 2, maxCapacity))
        for case let slot? in slots { larger[Int(slot.sequence % Int64(larger.count))] = slot }
        slots = larger
    }
}

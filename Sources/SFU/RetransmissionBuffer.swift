import NIOCore

/// The last packets of a track, by extended sequence number, to answer NACKs. Slots are reused: once warm, a
/// stored packet is copied into the slot's own storage without allocating.
struct RetransmissionBuffer {
    private var slots: [(sequence: Int64, time: Double, packet: ByteBuffer)?]
    private let maxAge: Double

    init(capacity: Int = 1024, maxAge: Double = 2.0) {
        slots = Array(repeating: nil, count: max(1, capacity))
        self.maxAge = maxAge
    }

    mutating func store(_ packet: ByteBuffer, sequence: Int64, now: Double) {
        let index = Int(sequence % Int64(slots.count))
        if var old = slots[index]?.packet {
            slots[index] = nil  // so `old` is the only reference and its storage is reused
            old.clear()
            old.writeImmutableBuffer(packet)
            slots[index] = (sequence, now, old)
        } else {
            var copy = ByteBufferAllocator().buffer(capacity: max(packet.readableBytes, 1500))
            copy.writeImmutableBuffer(packet)
            slots[index] = (sequence, now, copy)
        }
    }

    func packet(sequence: Int64, now: Double) -> ByteBuffer? {
        guard sequence >= 0, let slot = slots[Int(sequence % Int64(slots.count))],
              slot.sequence == sequence, now - slot.time <= maxAge else { return nil }
        return slot.packet
    }
}

import NIOCore

/// The last packets of a track, by extended sequence number, to answer NACKs and to start new subscribers on the
/// latest keyframe. Holds exactly the packets of the last `maxAge` seconds (at most `maxCapacity`): a window of
/// consecutive sequence numbers, the oldest evicted as each new one arrives. A ring sized by powers of two held up
/// to twice that (a 2.4 Mbit/s camera's 2 s filled 1,024 slots of 1.5 KB); this holds ~500 packets. An evicted
/// packet's storage is kept for the next one, so a warm buffer stores without allocating.
struct RetransmissionBuffer {
    private struct Entry {
        var time: Double
        var packet: ByteBuffer?
    }

    /// Sequence `first + i` is at `ring[(head + i) % ring.count]` for i < `count`.
    private var ring: [Entry]
    private var head = 0
    private var count = 0
    private var first: Int64 = 0
    /// Storage of evicted packets, reused for new ones.
    private var spares: [ByteBuffer] = []
    private let maxCapacity: Int
    private let maxAge: Double
    /// Each packet's first allocation: enough for a full video packet, or a small audio one.
    private let slotCapacity: Int

    init(initialCapacity: Int = 64, maxCapacity: Int = 1024, maxAge: Double = 2.0, slotCapacity: Int = 1500) {
        self.maxCapacity = max(1, maxCapacity)
        ring = Array(repeating: Entry(time: 0, packet: nil), count: min(max(1, initialCapacity), self.maxCapacity))
        self.maxAge = maxAge
        self.slotCapacity = slotCapacity
    }

    /// Packets (and gaps between them) held.
    var storedCount: Int { count }

    mutating func store(_ packet: ByteBuffer, sequence: Int64, now: Double) {
        guard sequence >= 0 else { return }
        if count > 0, sequence < first {
            return  // older than the window: no one can still want it
        }
        if count == 0 || sequence - (first + Int64(count)) >= Int64(maxCapacity) {
            // The first packet, or a jump past anything the window could hold: start again from here.
            removeAll()
            first = sequence
        }
        while Int64(count) <= sequence - first {
            if count == maxCapacity { dropOldest() }
            append(now: now)  // the slot for `sequence`, and gaps before it for packets still to come
        }
        let index = slot(sequence - first)
        var storage = ring[index].packet ?? spares.popLast() ?? ByteBufferAllocator().buffer(capacity: max(packet.readableBytes, slotCapacity))
        ring[index].packet = nil  // so `storage` is the only reference and is written in place
        storage.clear()
        storage.writeImmutableBuffer(packet)
        ring[index] = Entry(time: now, packet: storage)
        evict(now: now)
    }

    func packet(sequence: Int64, now: Double) -> ByteBuffer? {
        guard sequence >= first, sequence - first < Int64(count) else { return nil }
        let entry = ring[slot(sequence - first)]
        guard now - entry.time <= maxAge else { return nil }
        return entry.packet
    }

    private func slot(_ offset: Int64) -> Int { (head + Int(offset)) % ring.count }

    private mutating func append(now: Double) {
        if count == ring.count { grow() }
        ring[slot(Int64(count))] = Entry(time: now, packet: nil)
        count += 1
    }

    /// Drops the oldest while it is older than `maxAge`; the newest stays.
    private mutating func evict(now: Double) {
        while count > 1, now - ring[head].time > maxAge { dropOldest() }
    }

    private mutating func dropOldest() {
        if let packet = ring[head].packet, spares.count < 4 { spares.append(packet) }
        ring[head] = Entry(time: 0, packet: nil)
        head = (head + 1) % ring.count
        first += 1
        count -= 1
    }

    private mutating func removeAll() {
        for i in 0..<count { ring[slot(Int64(i))] = Entry(time: 0, packet: nil) }
        head = 0
        count = 0
    }

    /// The ring holds its entries in order from `head`; a larger one (by half again, up to `maxCapacity`) starts
    /// them at 0.
    private mutating func grow() {
        let size = min(max(ring.count + ring.count / 2, ring.count + 1), maxCapacity)
        var larger = [Entry](repeating: Entry(time: 0, packet: nil), count: size)
        for i in 0..<count { larger[i] = ring[slot(Int64(i))] }
        ring = larger
        head = 0
    }
}

import NIOCore

/// The last packets of a track, by extended sequence number, to answer NACKs and to start new subscribers on the
/// latest keyframe. Holds exactly the packets of the last `maxAge` seconds (at most `maxCapacity`): a window of
/// consecutive sequence numbers, the oldest evicted as each new one arrives. A ring sized by powers of two held up
/// to twice that (a 2.4 Mbit/s camera's 2 s filled 1,024 slots of 1.5 KB); this holds ~500 packets.
///
/// Each packet is kept in an array of its own size: a `ByteBuffer` rounds its storage up to a power of two, so a
/// 1,240-byte video packet took 2,048 bytes, a third of a publisher's store wasted. An evicted packet's array is
/// kept for the next one of about its size, so a warm buffer mostly stores without allocating; reads (NACK
/// answers, a new viewer's keyframe) copy the packet out.
struct RetransmissionBuffer {
    private struct Entry {
        var time: Double
        var bytes: [UInt8]?
    }

    /// Sequence `first + i` is at `ring[(head + i) % ring.count]` for i < `count`.
    private var ring: [Entry]
    private var head = 0
    private var count = 0
    private var first: Int64 = 0
    /// Storage of evicted packets, reused for new ones of about their size.
    private var spares: [[UInt8]] = []
    private let maxCapacity: Int
    private let maxAge: Double

    init(initialCapacity: Int = 64, maxCapacity: Int = 1024, maxAge: Double = 2.0) {
        self.maxCapacity = max(1, maxCapacity)
        ring = Array(repeating: Entry(time: 0, bytes: nil), count: min(max(1, initialCapacity), self.maxCapacity))
        self.maxAge = maxAge
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
        let size = packet.readableBytes
        var storage = ring[index].bytes ?? spares.popLast() ?? []
        ring[index].bytes = nil  // so `storage` is the only reference and is written in place
        if storage.capacity < size || storage.capacity > size + size / 4 + 64 {
            storage = []
            storage.reserveCapacity(size)  // no more than the packet (and the allocator's rounding)
        }
        storage.removeAll(keepingCapacity: true)
        storage.append(contentsOf: packet.readableBytesView)
        ring[index] = Entry(time: now, bytes: storage)
        evict(now: now)
    }

    /// A copy of the stored packet, or nil.
    func packet(sequence: Int64, now: Double) -> ByteBuffer? {
        entry(sequence, now: now).map { ByteBuffer(bytes: $0) }
    }

    /// Whether the packet is stored (no copy).
    func contains(sequence: Int64, now: Double) -> Bool { entry(sequence, now: now) != nil }

    /// The stored packet's RTP timestamp (no copy).
    func timestamp(sequence: Int64, now: Double) -> UInt32? {
        guard let bytes = entry(sequence, now: now), bytes.count >= 8 else { return nil }
        return bytes[4...7].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Bytes the stored packets' arrays hold (their capacity), for tests.
    var storedBytes: Int { ring.reduce(0) { $0 + ($1.bytes?.capacity ?? 0) } }

    private func entry(_ sequence: Int64, now: Double) -> [UInt8]? {
        guard sequence >= first, sequence - first < Int64(count) else { return nil }
        let entry = ring[slot(sequence - first)]
        guard now - entry.time <= maxAge else { return nil }
        return entry.bytes
    }

    private func slot(_ offset: Int64) -> Int { (head + Int(offset)) % ring.count }

    private mutating func append(now: Double) {
        if count == ring.count { grow() }
        ring[slot(Int64(count))] = Entry(time: now, bytes: nil)
        count += 1
    }

    /// Drops the oldest while it is older than `maxAge`; the newest stays.
    private mutating func evict(now: Double) {
        while count > 1, now - ring[head].time > maxAge { dropOldest() }
    }

    private mutating func dropOldest() {
        if let bytes = ring[head].bytes, spares.count < 4 { spares.append(bytes) }
        ring[head] = Entry(time: 0, bytes: nil)
        head = (head + 1) % ring.count
        first += 1
        count -= 1
    }

    private mutating func removeAll() {
        for i in 0..<count { ring[slot(Int64(i))] = Entry(time: 0, bytes: nil) }
        head = 0
        count = 0
    }

    /// The ring holds its entries in order from `head`; a larger one (by half again, up to `maxCapacity`) starts
    /// them at 0.
    private mutating func grow() {
        let size = min(max(ring.count + ring.count / 2, ring.count + 1), maxCapacity)
        var larger = [Entry](repeating: Entry(time: 0, bytes: nil), count: size)
        for i in 0..<count { larger[i] = ring[slot(Int64(i))] }
        ring = larger
        head = 0
    }
}

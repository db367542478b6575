import NIOCore

/// When a player's video should be buffered longer: while its link (or the publisher's) loses packets, NACK
/// recovers them a round trip or two late, and a player that plays frames as soon as they are whole shows each such
/// frame as a freeze. Parley then asks the player's jitter buffer to hold at least about three of its round trips
/// (150–500 ms) through the playout-delay header extension, and gives the bound back ten seconds after the loss
/// stops. A player that did not negotiate the extension is not affected.
struct PlayoutDelayPolicy {
    /// Loss (reported, or asked for again by NACK) at or above this share of the packets raises the buffer.
    static let lossThreshold = 0.01
    /// How long the raised buffer stays after the last lossy report.
    static let hold = 10.0
    static let minimumRange = 0.15...0.5
    /// The bounds Parley sends when the loss has passed: no minimum, and the receiver's usual 10 s ceiling.
    static let relaxed = (min: 0, max: 1000)

    /// The last bounds sent (in 10 ms units); nil before any loss was seen.
    private(set) var limits: (min: Int, max: Int)?
    private var lossyUntil: Double?

    /// One report's worth: the share of packets lost or NACKed since the last, and the round trip if known.
    /// Returns the new bounds when they change.
    mutating func update(now: Double, lossRate: Double, rtt: Double?) -> (min: Int, max: Int)? {
        var wanted = limits
        if lossRate >= Self.lossThreshold {
            lossyUntil = now + Self.hold
            let seconds = min(Self.minimumRange.upperBound, max(Self.minimumRange.lowerBound, 3 * (rtt ?? 0.1)))
            let minimum = Int((seconds * 100).rounded())
            // Never lowered while the loss lasts: a round trip measured between bursts is not the one to plan for.
            wanted = (max(minimum, limits.map { $0.min } ?? 0), Self.relaxed.max)
        } else if let until = lossyUntil, now >= until {
            lossyUntil = nil
            wanted = Self.relaxed
        }
        guard let wanted, limits.map({ $0 != wanted }) ?? true else { return nil }
        limits = wanted
        return wanted
    }

    /// The extension's three bytes: 12 bits of minimum, 12 of maximum, in 10 ms units.
    static func element(_ limits: (min: Int, max: Int)) -> ByteBuffer {
        let value = UInt32(min(limits.min, 0xFFF)) << 12 | UInt32(min(limits.max, 0xFFF))
        return ByteBuffer(bytes: [UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)])
    }
}

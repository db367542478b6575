/// A sliding window over packet indexes (RFC 3711 §3.3.2): refuses repeats and packets older than the window.
public struct ReplayWindow: Sendable {
    public static let size: UInt64 = 64
    private(set) var highest: UInt64 = 0
    private var bitmap: UInt64 = 0
    private var started = false

    public init() {}

    public func check(_ index: UInt64) -> SRTPError? {
        guard started, index <= highest else { return nil }
        let delta = highest - index
        if delta >= Self.size { return .tooOld }
        return bitmap & (1 << delta) != 0 ? .replayed : nil
    }

    /// Records `index` as received; call only after the packet authenticated.
    public mutating func accept(_ index: UInt64) {
        if !started {
            started = true
            highest = index
            bitmap = 1
        } else if index > highest {
            let shift = index - highest
            bitmap = shift >= Self.size ? 1 : (bitmap << shift) | 1
            highest = index
        } else {
            bitmap |= 1 << (highest - index)
        }
    }
}

/// Per-SSRC rollover counter and replay state of an SRTP stream (RFC 3711 Appendix A index estimation).
struct RTPStreamState {
    var roc: UInt32 = 0
    var highestSeq: UInt16 = 0
    var started = false
    var replay = ReplayWindow()

    /// The 48-bit packet index a sequence number most likely belongs to, or nil when it would precede ROC 0.
    func estimateIndex(seq: UInt16) -> UInt64? {
        guard started else { return UInt64(seq) }
        var v = Int64(roc)
        if highestSeq < 0x8000 {
            if Int(seq) - Int(highestSeq) > 0x8000 { v -= 1 }
        } else if Int(highestSeq) - 0x8000 > Int(seq) {
            v += 1
        }
        guard v >= 0, v <= Int64(UInt32.max) else { return nil }
        return UInt64(v) << 16 | UInt64(seq)
    }

    mutating func advance(to index: UInt64) {
        let current = UInt64(roc) << 16 | UInt64(highestSeq)
        if !started || index > current {
            roc = UInt32(truncatingIfNeeded: index >> 16)
            highestSeq = UInt16(truncatingIfNeeded: index)
            started = true
        }
    }
}

/// Per-SSRC SRTCP state: the sender's index counter and the receiver's replay window.
struct RTCPStreamState {
    var nextIndex: UInt32 = 0
    var replay = ReplayWindow()
}

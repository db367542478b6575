/// Extends 16-bit sequence numbers (or 32-bit timestamps) to 64 bits across wraps, tolerating reordering.
public struct SequenceUnwrapper: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ seq: UInt16) -> Int64 {
        guard let last else {
            self.last = Int64(seq)
            return Int64(seq)
        }
        let delta = Int64(Int16(bitPattern: seq &- UInt16(truncatingIfNeeded: last)))
        let value = last + delta
        if value > last { self.last = value }
        return value
    }
}

public struct TimestampUnwrapper: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ ts: UInt32) -> Int64 {
        guard let last else {
            self.last = Int64(ts)
            return Int64(ts)
        }
        let delta = Int64(Int32(bitPattern: ts &- UInt32(truncatingIfNeeded: last)))
        let value = last + delta
        if value > last { self.last = value }
        return value
    }
}

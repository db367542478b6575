/// Extends wrapping counters to 64 bits across wraps, tolerating reordering: 16-bit RTP sequence numbers
/// (`SequenceUnwrapper`) and 32-bit RTP timestamps (`TimestampUnwrapper`).
public struct Unwrapper<Value: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ value: Value) -> Int64 {
        guard let last else {
            self.last = Int64(value)
            return Int64(value)
        }
        // The shortest signed distance from the last value: a jump of more than half the range is a wrap.
        let diff = value &- Value(truncatingIfNeeded: last)
        let half = Value(1) << (Value.bitWidth - 1)
        let delta = diff < half ? Int64(diff) : Int64(diff) - (Int64(1) << Value.bitWidth)
        let unwrapped = last + delta
        if unwrapped > last { self.last = unwrapped }
        return unwrapped
    }
}

public typealias SequenceUnwrapper = Unwrapper<UInt16>
public typealias TimestampUnwrapper = Unwrapper<UInt32>

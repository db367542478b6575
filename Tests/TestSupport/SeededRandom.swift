/// A deterministic generator (splitmix64), so that a failing random or fuzz test reproduces.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `bytes` with one to eight random edits (a byte changed, the tail cut, a byte inserted, a byte removed): the
/// mutations a fuzz test makes of valid input.
public func mutate(_ bytes: [UInt8], using rng: inout SeededRandom) -> [UInt8] {
    var b = bytes
    guard !b.isEmpty else { return b }
    for _ in 0..<Int.random(in: 1...8, using: &rng) {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        case 1: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
        case 2: b.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
        default: if b.count > 1 { b.remove(at: Int.random(in: 0..<b.count, using: &rng)) }
        }
        if b.isEmpty { break }
    }
    return b
}

import NIOCore
@testable import RTP

/// Bytes from hex digits; whitespace is ignored.
func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
}

/// A deterministic generator so failures reproduce (splitmix64).
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// The only packet of `buffer`, for parsers that take a header.
func onlyHeader(_ buffer: ByteBuffer) throws -> RTCPHeader {
    let packets = try RTCPCompound.packets(buffer)
    guard packets.count == 1 else { throw RTPError.badLength }
    return packets[0]
}

import NIOCore
import TestSupport
@testable import RTP

/// Bytes from hex digits; whitespace is ignored.
func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
}

typealias TestRandom = SeededRandom

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// The only packet of `buffer`, for parsers that take a header.
func onlyHeader(_ buffer: ByteBuffer) throws -> RTCPHeader {
    let packets = try RTCPCompound.packets(buffer)
    guard packets.count == 1 else { throw RTPError.badLength }
    return packets[0]
}

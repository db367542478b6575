import NIOCore
import Testing
@testable import RTMP

/// Random and mutated bytes for every RTMP parser: they may refuse them, but never crash, trap or hold more than
/// their bounds. Seeded, so a failure reproduces.
@Suite struct RTMPFuzzTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ bytes: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
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

    @Test func amf0NeverTraps() {
        var rng = SplitMix(state: 1)
        var seed = ByteBuffer()
        for v: AMF0Value in [.string("connect"), .number(1), .object([("app", .string("r")), ("n", .ecmaArray([("x", .null)]))]),
                             .strictArray([.boolean(true), .date(0)])] { v.encode(into: &seed) }
        let bytes = Array(seed.readableBytesView)
        for i in 0..<20_000 {
            let input = i % 4 == 0 ? (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                                   : Self.mutate(bytes, &rng)
            _ = try? AMF0Value.decodeAll(ByteBuffer(bytes: input))
        }
    }

    @Test func theChunkReaderAndTheServerConnectionNeverTrap() throws {
        var rng = SplitMix(state: 2)
        let publish = Array(RTMPServerConnectionTests.ffmpegPublish().readableBytesView)
        let chunks = Array(publish.dropFirst(1 + 2 * 1536))
        for i in 0..<3_000 {
            // The chunk layer alone, on mutated chunks of ffmpeg's publish.
            var reader = RTMPChunkReader()
            var input = ByteBuffer(bytes: Self.mutate(chunks, &rng))
            while let m = try? reader.next(&input) {
                if m.type == RTMPMessage.Kind.setChunkSize, let n = m.payload.getInteger(at: 0, as: UInt32.self) {
                    try? reader.setChunkSize(n)
                }
            }
            // The whole connection, handshake included, fed in random slices.
            var connection = RTMPServerConnection()
            var whole = ByteBuffer(bytes: i % 2 == 0 ? publish : Array(publish.prefix(1 + 2 * 1536)) + Self.mutate(chunks, &rng))
            var pending = ByteBuffer()
            var out = ByteBuffer()
            while whole.readableBytes > 0 {
                guard let slice = whole.readSlice(length: min(whole.readableBytes, Int.random(in: 1...2000, using: &rng))) else { break }
                pending.writeImmutableBuffer(slice)
                do { _ = try connection.receive(&pending, output: &out) } catch { break }
            }
        }
    }
}

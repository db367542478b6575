import NIOCore
import Testing
import TestSupport
@testable import RTMP

/// Random and mutated bytes for every RTMP parser: they may refuse them, but never crash, trap or hold more than
/// their bounds. Seeded, so a failure reproduces.
@Suite struct RTMPFuzzTests {
    @Test func amf0NeverTraps() {
        var rng = SeededRandom(seed: 1)
        var seed = ByteBuffer()
        for v: AMF0Value in [.string("connect"), .number(1), .object([("app", .string("r")), ("n", .ecmaArray([("x", .null)]))]),
                             .strictArray([.boolean(true), .date(0)])] { v.encode(into: &seed) }
        let bytes = Array(seed.readableBytesView)
        for i in 0..<20_000 {
            let input = i % 4 == 0 ? (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                                   : mutate(bytes, using: &rng)
            _ = try? AMF0Value.decodeAll(ByteBuffer(bytes: input))
        }
    }

    @Test func theChunkReaderAndTheServerConnectionNeverTrap() throws {
        var rng = SeededRandom(seed: 2)
        let publish = Array(RTMPServerConnectionTests.ffmpegPublish().readableBytesView)
        let chunks = Array(publish.dropFirst(1 + 2 * 1536))
        for i in 0..<3_000 {
            // The chunk layer alone, on mutated chunks of ffmpeg's publish.
            var reader = RTMPChunkReader()
            var input = ByteBuffer(bytes: mutate(chunks, using: &rng))
            while let m = try? reader.next(&input) {
                if m.type == RTMPMessage.Kind.setChunkSize, let n = m.payload.getInteger(at: 0, as: UInt32.self) {
                    try? reader.setChunkSize(n)
                }
            }
            // The whole connection, handshake included, fed in random slices.
            var connection = RTMPServerConnection()
            var whole = ByteBuffer(bytes: i % 2 == 0 ? publish : Array(publish.prefix(1 + 2 * 1536)) + mutate(chunks, using: &rng))
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

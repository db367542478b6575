import NIOCore
import Testing
@testable import FLV

/// Random and mutated payloads for every FLV and H.264 parser: refused or read, never a trap.
@Suite struct FLVFuzzTests {
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
        for _ in 0..<Int.random(in: 1...6, using: &rng) where !b.isEmpty {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1: b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            default: b.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
            }
        }
        return b
    }

    @Test func tagsConfigurationsAndSPSsNeverTrap() {
        var rng = SplitMix(state: 3)
        let header = Array(FLVTests.sequenceHeader.readableBytesView)
        let sps = H264SPSTests.hex("67640028acd940780227e5c044000003000400000300f03c60c658")
        for _ in 0..<20_000 {
            let tag = Self.mutate(header, &rng)
            if let parsed = try? FLVVideoTag(ByteBuffer(bytes: tag)), let config = try? AVCDecoderConfiguration(parsed.data) {
                _ = config.profileLevelID
                _ = config.nalUnits(ByteBuffer(bytes: Self.mutate(tag, &rng)))
            }
            _ = try? FLVAudioTag(ByteBuffer(bytes: tag))
            _ = H264SPS(Self.mutate(sps, &rng))
        }
    }

    @Test func theDepacketizerNeverTrapsOrGrowsWithoutBound() {
        var rng = SplitMix(state: 4)
        var d = H264Depacketizer()
        let idr = ByteBuffer(bytes: [0x65] + [UInt8](repeating: 7, count: 3000))
        var packets: [[UInt8]] = []
        H264Packetizer().payloads([idr], parameterSets: [[0x67, 0x42, 0xC0, 0x1E], [0x68, 0xCE]]) { p, _ in
            packets.append(Array(p.readableBytesView))
        }
        for i in 0..<20_000 {
            let payload = Self.mutate(packets[i % packets.count], &rng)
            _ = d.push(ByteBuffer(bytes: payload), sequence: UInt16(truncatingIfNeeded: i + Int.random(in: 0...1, using: &rng)),
                       timestamp: UInt32(i / 4), marker: Bool.random(using: &rng))
        }
    }
}

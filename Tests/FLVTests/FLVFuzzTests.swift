import NIOCore
import Testing
import TestSupport
@testable import FLV

/// Random and mutated payloads for every FLV and H.264 parser: refused or read, never a trap.
@Suite struct FLVFuzzTests {
    @Test func tagsConfigurationsAndSPSsNeverTrap() {
        var rng = SeededRandom(seed: 3)
        let header = Array(FLVTests.sequenceHeader.readableBytesView)
        let sps = H264SPSTests.hex("67640028acd940780227e5c044000003000400000300f03c60c658")
        for _ in 0..<20_000 {
            let tag = mutate(header, using: &rng)
            if let parsed = try? FLVVideoTag(ByteBuffer(bytes: tag)), let config = try? AVCDecoderConfiguration(parsed.data) {
                _ = config.profileLevelID
                _ = config.nalUnits(ByteBuffer(bytes: mutate(tag, using: &rng)))
            }
            _ = try? FLVAudioTag(ByteBuffer(bytes: tag))
            _ = H264SPS(mutate(sps, using: &rng))
        }
    }

    @Test func theDepacketizerNeverTrapsOrGrowsWithoutBound() {
        var rng = SeededRandom(seed: 4)
        var d = H264Depacketizer()
        let idr = ByteBuffer(bytes: [0x65] + [UInt8](repeating: 7, count: 3000))
        var packets: [[UInt8]] = []
        H264Packetizer().payloads([idr], parameterSets: [[0x67, 0x42, 0xC0, 0x1E], [0x68, 0xCE]]) { p, _ in
            packets.append(Array(p.readableBytesView))
        }
        for i in 0..<20_000 {
            let payload = mutate(packets[i % packets.count], using: &rng)
            _ = d.push(ByteBuffer(bytes: payload), sequence: UInt16(truncatingIfNeeded: i + Int.random(in: 0...1, using: &rng)),
                       timestamp: UInt32(i / 4), marker: Bool.random(using: &rng))
        }
    }
}

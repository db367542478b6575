import Foundation
import NIOCore
import Testing
import TestSupport
@testable import VideoTranscode

/// VP8 frames made by Debian's ffmpeg (libvpx), read from IVF.
enum VP8Fixture {
    static func frames(seconds: Int = 2, size: String = "320x240") throws -> [[UInt8]] {
        try VP8Frames.make(seconds: seconds, size: size)
    }

    /// RFC 7741 packets of one frame: a descriptor with a 15-bit picture id, S on the first, 1000-byte pieces.
    static func packets(_ frame: [UInt8], pictureID: UInt16) -> [ByteBuffer] {
        stride(from: 0, to: frame.count, by: 1000).map { offset in
            var b = ByteBuffer()
            b.writeInteger(UInt8(0x80 | (offset == 0 ? 0x10 : 0)))  // X, S
            b.writeInteger(UInt8(0x80))  // I
            b.writeInteger(UInt16(0x8000 | (pictureID & 0x7FFF)))
            b.writeBytes(frame[offset..<min(offset + 1000, frame.count)])
            return b
        }
    }
}

@Suite struct VP8DepacketizerTests {
    @Test func framesComeBackWholeAndALossWaitsForTheNextKeyframe() throws {
        let frames = try VP8Fixture.frames()
        #expect(frames.count == 60)
        var d = VP8Depacketizer()
        var sequence: UInt16 = 65_530
        var out: [VP8Depacketizer.Frame] = []
        for (n, frame) in frames.enumerated() {
            let packets = VP8Fixture.packets(frame, pictureID: UInt16(n))
            for (i, p) in packets.enumerated() {
                defer { sequence &+= 1 }
                if n == 10 && i == 0 { continue }  // lost: frames 10 … 29 cannot be decoded
                if let f = d.push(p, sequence: sequence, timestamp: UInt32(n * 3000), marker: i == packets.count - 1) { out.append(f) }
            }
        }
        #expect(out.map(\.bytes) == Array(frames[0..<10]) + Array(frames[30...]))
        #expect(out.filter(\.isKeyframe).map(\.rtpTimestamp) == [0, 90_000])
        #expect(!d.needsKeyframe)
    }

    @Test func aFrameWhoseEndWasLostIsNotGivenOut() throws {
        let frames = try VP8Fixture.frames()
        var d = VP8Depacketizer()
        var sequence: UInt16 = 0
        var out: [VP8Depacketizer.Frame] = []
        for (n, frame) in frames.enumerated() {
            let packets = VP8Fixture.packets(frame, pictureID: UInt16(n))
            for (i, p) in packets.enumerated() {
                defer { sequence &+= 1 }
                if n == 0 && i == packets.count - 1 { continue }  // the keyframe's last packet (and its marker) lost
                if let f = d.push(p, sequence: sequence, timestamp: UInt32(n * 3000), marker: i == packets.count - 1) { out.append(f) }
            }
        }
        #expect(VP8Fixture.packets(frames[0], pictureID: 0).count > 1)
        #expect(out.map(\.bytes) == Array(frames[30...]), "nothing before the next keyframe, the cut one least of all")
    }

    @Test func randomPacketsNeverTrap() {
        var rng = SeededRandom(seed: 11)
        var d = VP8Depacketizer()
        let seed: [UInt8] = [0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x10, 0x02, 0x9D, 0x01, 0x2A]
        for i in 0..<20_000 {
            _ = d.push(ByteBuffer(bytes: mutate(seed, using: &rng)), sequence: UInt16(truncatingIfNeeded: i),
                       timestamp: UInt32(i / 3), marker: i % 3 == 2)
        }
    }
}

@Suite struct H264TranscoderTests {
    @Test func vp8BecomesBaselineH264WithoutBFramesThatDecodes() throws {
        let frames = try VP8Fixture.frames(seconds: 2, size: "640x360")
        let transcoder = try H264Transcoder(source: .vp8, bitrate: 800_000, keyframeInterval: 30)
        var outputs: [H264Transcoder.Output] = []
        for (n, frame) in frames.enumerated() {
            outputs += transcoder.transcode(frame, pts: Int64(n * 33), forceKeyframe: n == 45)
        }
        // zerolatency: one access unit out per frame in, in order (no B-frames, no reordering).
        #expect(outputs.count == frames.count)
        #expect(outputs.map(\.pts) == (0..<frames.count).map { Int64($0 * 33) })
        #expect(outputs.first?.isKeyframe == true)
        #expect(outputs[45].isKeyframe, "a forced keyframe comes at once")
        let sps = try #require(outputs.first?.sps)
        #expect(sps[1] == 66 && sps[2] & 0x40 != 0, "constrained baseline (profile_idc 66, constraint_set1)")
        #expect(outputs.first?.pps != nil)

        // The H.264 decodes: back through the transcoder with an H.264 source, every frame comes out.
        let back = try H264Transcoder(source: .h264, bitrate: 800_000)
        var decoded = 0
        for (n, o) in outputs.enumerated() { decoded += back.transcode(AnnexB.join(o.nalUnits), pts: Int64(n * 33)).count }
        #expect(decoded == outputs.count)
    }

    @Test func anOddSizeIsCroppedToAnEvenOneThatX264Takes() throws {
        let frames = try VP8Fixture.frames(seconds: 1, size: "321x241")
        let transcoder = try H264Transcoder(source: .vp8, bitrate: 300_000)
        let outputs = frames.enumerated().flatMap { transcoder.transcode($1, pts: Int64($0 * 33)) }
        #expect(outputs.count == frames.count)
        let sps = try #require(outputs.first?.sps)
        #expect(sps.count > 4)
    }

    @Test func garbageIsSkippedNotFatal() throws {
        let transcoder = try H264Transcoder(source: .vp8)
        #expect(transcoder.transcode([1, 2, 3, 4, 5], pts: 0).isEmpty)
        #expect(transcoder.transcode([], pts: 1).isEmpty)
        let frames = try VP8Fixture.frames(seconds: 1)
        #expect(transcoder.transcode(frames[0], pts: 2).count == 1, "a keyframe after garbage decodes")
    }

    @Test func annexBSplitsOnBothStartCodes() {
        let units = AnnexB.split([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5][...])
        #expect(units.map { Array($0.readableBytesView) } == [[0x67, 1, 2], [0x68, 3], [0x65, 4, 5]])
        #expect(AnnexB.split([0, 0, 1][...]).isEmpty && AnnexB.split([][...]).isEmpty)
    }
}

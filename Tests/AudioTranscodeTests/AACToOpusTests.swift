import Foundation
import Testing
@testable import AudioTranscode

@Suite struct AACToOpusTests {
    /// Two seconds of a 440 Hz tone, AAC-LC by Debian's ffmpeg, as ADTS: each frame with a 7-byte header.
    static func adts(rate: Int, channels: Int) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parley-aac-\(rate)-\(channels).aac").path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=\(rate)", "-t", "2",
                            "-ac", "\(channels)", "-c:a", "aac", "-b:a", "96k", "-f", "adts", path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The raw frames of an ADTS stream and the AudioSpecificConfig its headers describe (as FLV carries it).
    static func frames(_ adts: [UInt8]) -> (config: [UInt8], frames: [[UInt8]]) {
        var frames: [[UInt8]] = []
        var config: [UInt8] = []
        var i = 0
        while i + 7 <= adts.count, adts[i] == 0xFF, adts[i + 1] & 0xF0 == 0xF0 {
            let object = (adts[i + 2] >> 6) + 1, rateIndex = (adts[i + 2] >> 2) & 0x0F
            let channels = (adts[i + 2] & 0x01) << 2 | adts[i + 3] >> 6
            let length = Int(adts[i + 3] & 0x03) << 11 | Int(adts[i + 4]) << 3 | Int(adts[i + 5]) >> 5
            config = [object << 3 | rateIndex >> 1, (rateIndex & 1) << 7 | channels << 3]
            guard length > 7, i + length <= adts.count else { break }
            frames.append(Array(adts[i + 7 ..< i + length]))
            i += length
        }
        return (config, frames)
    }

    @Test(arguments: [(48000, 2), (44100, 1)])
    func aacBecomesTwentyMillisecondOpusPackets(rate: Int, channels: Int) throws {
        let (config, frames) = Self.frames(try Self.adts(rate: rate, channels: channels))
        #expect(frames.count > 80)
        let transcoder = try AACToOpus(config: config)
        var packets: [[UInt8]] = []
        for frame in frames { packets += try transcoder.transcode(frame) }
        // 2 s of audio: 100 packets of 20 ms, give or take the encoder's priming and padding and what the queue holds.
        #expect((95...105).contains(packets.count), "\(packets.count) packets")
        #expect(transcoder.delay < 2 * AACToOpus.samplesPerPacket)
        for packet in packets {
            // TOC (RFC 6716 §3.1): stereo, one frame, a 20 ms configuration; 64 kb/s is ~160 bytes per packet.
            let toc = packet[0], config = toc >> 3
            #expect(toc & 0x04 != 0 && toc & 0x03 == 0)
            #expect([3, 7, 11, 13, 15, 19, 23, 27, 31].contains(config), "config \(config)")
            #expect((20...400).contains(packet.count))
        }
    }

    @Test func opusBecomesAACForRTMPPlayersAndBackAgain() throws {
        let (config, frames) = Self.frames(try Self.adts(rate: 48000, channels: 2))
        let toOpus = try AACToOpus(config: config)
        let toAAC = try OpusToAAC()
        #expect(toAAC.config.prefix(2) == [0x11, 0x90], "AAC-LC, 48 kHz, stereo (then an SBR sync extension)")
        var aac: [[UInt8]] = []
        for frame in frames {
            for packet in try toOpus.transcode(frame) { aac += try toAAC.transcode(packet) }
        }
        // A lost packet is concealed: 20 ms more audio, not a gap.
        aac += try toAAC.transcode(nil)
        // ~2 s at 1024 samples a frame, less the encoder's look-ahead.
        #expect((88...96).contains(aac.count), "\(aac.count) AAC frames")
        // What an RTMP player gets decodes again.
        let back = try AACToOpus(config: toAAC.config)
        var opus = 0
        for frame in aac { opus += try back.transcode(frame).count }
        #expect((85...100).contains(opus), "\(opus) Opus packets")
    }

    @Test func badInputIsAnErrorNotACrash() throws {
        #expect(throws: AACToOpus.Failure.self) { try AACToOpus(config: [0xFF, 0xFF, 0xFF]) }
        let transcoder = try AACToOpus(config: [0x11, 0x90])  // AAC-LC, 48 kHz, stereo
        #expect(throws: AACToOpus.Failure.self) { try transcoder.transcode([UInt8](repeating: 0xA5, count: 300)) }
        #expect(throws: AACToOpus.Failure.self) { try transcoder.transcode([]) }
        let toAAC = try OpusToAAC()
        #expect(throws: AACToOpus.Failure.self) { try toAAC.transcode([0xFF, 0xFF, 0xFF, 0xFF]) }
    }
}

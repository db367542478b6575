import Foundation
import Testing
import TestSupport
@testable import AudioTranscode

@Suite struct AACToOpusTests {
    @Test(arguments: [(48000, 2), (44100, 1)])
    func aacBecomesTwentyMillisecondOpusPackets(rate: Int, channels: Int) throws {
        let (config, frames) = AACFixture.frames(try AACFixture.adts(rate: rate, channels: channels))
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
        let (config, frames) = AACFixture.frames(try AACFixture.adts(rate: 48000, channels: 2))
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

import AudioTranscode
import Foundation
import Matroska
import Testing
import TestSupport
import VideoTranscode

/// ffprobe and ffmpeg (Debian's) as the readers of what the writer makes.
enum Reader {
    static func run(_ tool: String, _ arguments: [String]) throws -> (out: String, err: String, code: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), process.terminationStatus)
    }

    /// Per stream: codec, size or rate, and the frames ffprobe counts by decoding; the container's duration.
    static func probe(_ path: String) throws -> (streams: [[String: Any]], duration: Double?) {
        let r = try run("ffprobe", ["-v", "error", "-count_frames", "-show_entries",
                                    "format=duration,format_name:stream=codec_name,width,height,sample_rate,channels,nb_read_frames",
                                    "-of", "json", path])
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
        let format = json["format"] as? [String: Any]
        return (json["streams"] as? [[String: Any]] ?? [], (format?["duration"] as? String).flatMap(Double.init))
    }

    /// What ffmpeg says while decoding the whole file (empty: no error).
    static func decodeErrors(_ path: String) throws -> String {
        try run("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"]).err
    }
}

/// A temporary file path, removed at the end.
func temporary(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("parley-mkv-\(UUID().uuidString)-\(name)").path
}

/// OpusHead (RFC 7845 §5.1): what WebRTC never sends and a file needs.
let opusHead: [UInt8] = Array("OpusHead".utf8) + [1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]

/// Two seconds of 20 ms stereo Opus packets (from the AAC fixture, through Parley's own transcoder).
func opusPackets() throws -> [[UInt8]] {
    let (config, frames) = AACFixture.frames(try AACFixture.adts(rate: 48000, channels: 2))
    let transcoder = try AACToOpus(config: config)
    return try frames.flatMap { try transcoder.transcode($0) }
}

@Suite struct EBMLTests {
    @Test func sizesUseTheFewestBytesAndSkipTheReservedAllOnes() {
        #expect(EBML.size(0) == [0x80])
        #expect(EBML.size(126) == [0xFE])
        #expect(EBML.size(127) == [0x40, 0x7F], "0x7F alone would mean unknown")
        #expect(EBML.size(300) == [0x41, 0x2C])
        #expect(EBML.size(5, minimumWidth: 8) == [0x01, 0, 0, 0, 0, 0, 0, 5])
        #expect(EBML.id(0x1A45_DFA3) == [0x1A, 0x45, 0xDF, 0xA3] && EBML.id(0xA3) == [0xA3])
        #expect(EBML.uint(0xD7, 1) == [0xD7, 0x81, 0x01])
        #expect(EBML.void(total: 11).count == 11)
    }
}

@Suite struct MatroskaWriterTests {
    /// VP8 at 30 fps and Opus every 20 ms, interleaved by time, as a recorder writes them.
    static func writeVP8AndOpus(to writer: MatroskaWriter, frames: [[UInt8]], opus: [[UInt8]], stopAfterMs: Int64? = nil) throws {
        var v = 0, a = 0
        while v < frames.count || a < opus.count {
            let videoMs = Int64(v) * 1000 / 30, audioMs = Int64(a) * 20
            if let stop = stopAfterMs, min(v < frames.count ? videoMs : .max, a < opus.count ? audioMs : .max) > stop { return }
            if v < frames.count, a >= opus.count || videoMs <= audioMs {
                try writer.write(track: 1, milliseconds: videoMs, keyframe: frames[v].first.map { $0 & 1 == 0 } ?? false, frames[v])
                v += 1
            } else {
                try writer.write(track: 2, milliseconds: audioMs, keyframe: true, opus[a])
                a += 1
            }
        }
    }

    static let webmTracks = [
        MatroskaTrack(number: 1, kind: .video(width: 640, height: 360), codecID: "V_VP8"),
        MatroskaTrack(number: 2, kind: .audio(sampleRate: 48000, channels: 2), codecID: "A_OPUS", codecPrivate: opusHead),
    ]

    @Test func aFinishedWebMHasBothTracksEveryFrameADurationAndCues() throws {
        let frames = try VP8Frames.make(seconds: 2, size: "640x360"), opus = try opusPackets()
        let path = temporary("done.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MatroskaFile(path: path)
        let writer = try MatroskaWriter(output: file, docType: "webm", tracks: Self.webmTracks)
        try Self.writeVP8AndOpus(to: writer, frames: frames, opus: opus)
        try writer.finish()
        file.sync()

        let (streams, duration) = try Reader.probe(path)
        #expect(streams.map { $0["codec_name"] as? String } == ["vp8", "opus"])
        #expect(streams[0]["width"] as? Int == 640 && streams[0]["height"] as? Int == 360)
        #expect(streams[0]["nb_read_frames"] as? String == "\(frames.count)")
        #expect(streams[1]["nb_read_frames"] as? String == "\(opus.count)")
        #expect(abs((duration ?? 0) - 2.0) < 0.1, "Duration \(String(describing: duration))")
        #expect(try Reader.decodeErrors(path) == "")
        // Seekable: ffmpeg jumps to 1.5 s through the Cues and decodes from the keyframe before it.
        let seek = try Reader.run("ffmpeg", ["-v", "error", "-ss", "1.5", "-i", path, "-f", "null", "-"])
        #expect(seek.code == 0 && seek.err == "")
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.range(of: Data([0x1C, 0x53, 0xBB, 0x6B])) != nil, "Cues")
    }

    @Test func aWriterKilledMidRecordingLeavesAFileReadableToItsLastCluster() throws {
        let frames = try VP8Frames.make(seconds: 3, size: "640x360"), opus = try opusPackets()
        let path = temporary("killed.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            // No finish, as after a kill -9: what is on disk is the header and the closed Clusters.
            let writer = try MatroskaWriter(output: try MatroskaFile(path: path), docType: "webm", tracks: Self.webmTracks)
            try Self.writeVP8AndOpus(to: writer, frames: frames, opus: opus, stopAfterMs: 1_700)
        }
        let (streams, _) = try Reader.probe(path)
        #expect(streams.map { $0["codec_name"] as? String } == ["vp8", "opus"])
        let videoFrames = Int(streams.first?["nb_read_frames"] as? String ?? "") ?? 0
        #expect(videoFrames >= 30 && videoFrames <= 52, "the closed Clusters' frames, \(videoFrames)")
        #expect(try Reader.decodeErrors(path) == "")
    }

    @Test func aKilledWritersFileIsCompletedSeekableByRecovery() throws {
        let frames = try VP8Frames.make(seconds: 3, size: "640x360"), opus = try opusPackets()
        let path = temporary("recovered.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let writer = try MatroskaWriter(output: try MatroskaFile(path: path), docType: "webm", tracks: Self.webmTracks)
            try Self.writeVP8AndOpus(to: writer, frames: frames, opus: opus, stopAfterMs: 2_500)
        }
        // A crash in the middle of a Cluster's write: its first half is on disk.
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try (whole + Data([0x1F, 0x43, 0xB6, 0x75, 0x01, 0, 0, 0, 0, 0, 0x40, 0, 0xE7, 0x81, 0x05, 0xA3])).write(to: URL(fileURLWithPath: path))
        let before = try Reader.probe(path)
        #expect(before.duration == nil || before.duration == 0 || (before.duration ?? 0) > 100, "no Duration yet")

        guard case .completed(let ms, let clusters, let dropped) = try MatroskaRecovery.complete(path: path) else {
            Issue.record("not completed")
            return
        }
        #expect(dropped == 16 && clusters >= 2 && ms >= 1_000 && ms <= 2_500, "\(ms) ms, \(clusters) clusters, \(dropped) dropped")
        let (streams, duration) = try Reader.probe(path)
        #expect(streams.map { $0["codec_name"] as? String } == ["vp8", "opus"])
        #expect(abs((duration ?? 0) - Double(ms) / 1000) < 0.1, "Duration \(String(describing: duration)) for \(ms) ms")
        #expect(try Reader.decodeErrors(path) == "")
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.range(of: Data([0x1C, 0x53, 0xBB, 0x6B])) != nil, "Cues")
        let seek = try Reader.run("ffmpeg", ["-v", "error", "-ss", "1.2", "-i", path, "-f", "null", "-"])
        #expect(seek.code == 0 && seek.err == "")
        // Once complete, it stays as it is.
        #expect(try MatroskaRecovery.complete(path: path) == .alreadyComplete)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == raw)
    }

    @Test func recoveryLeavesFinishedAndForeignFilesAlone() throws {
        let finished = temporary("finished.webm"), foreign = temporary("foreign.webm")
        defer { for p in [finished, foreign] { try? FileManager.default.removeItem(atPath: p) } }
        let file = try MatroskaFile(path: finished)
        let writer = try MatroskaWriter(output: file, docType: "webm", tracks: Self.webmTracks)
        try Self.writeVP8AndOpus(to: writer, frames: try VP8Frames.make(seconds: 1, size: "320x240"), opus: [])
        try writer.finish()
        let done = try Data(contentsOf: URL(fileURLWithPath: finished))
        #expect(try MatroskaRecovery.complete(path: finished) == .alreadyComplete)
        #expect(try Data(contentsOf: URL(fileURLWithPath: finished)) == done)
        // Not a recording, truncated headers, an unknown-size id: refused, never changed, never a crash.
        var rng = SystemRandomNumberGenerator()
        for bytes in [Array("not a recording".utf8), [0x1A, 0x45, 0xDF], [0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0x01],
                      Array(done.prefix(40)), (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }] {
            try Data(bytes).write(to: URL(fileURLWithPath: foreign))
            #expect(throws: MatroskaRecovery.Failure.self) { try MatroskaRecovery.complete(path: foreign) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == Data(bytes))
        }
        // Every prefix of a killed file is completed or refused, never a crash.
        let killed = try MatroskaWriter(output: try MatroskaFile(path: foreign), docType: "webm", tracks: Self.webmTracks)
        try Self.writeVP8AndOpus(to: killed, frames: try VP8Frames.make(seconds: 2, size: "320x240"), opus: try opusPackets(), stopAfterMs: 1_500)
        let partial = try Data(contentsOf: URL(fileURLWithPath: foreign))
        for cut in stride(from: 0, to: partial.count, by: max(1, partial.count / 97)) {
            try partial.prefix(cut).write(to: URL(fileURLWithPath: foreign))
            _ = try? MatroskaRecovery.complete(path: foreign)
        }
    }

    @Test func h264InMatroskaDecodesFrameForFrame() throws {
        let vp8 = try VP8Frames.make(seconds: 2, size: "320x240")
        let transcoder = try H264Transcoder(source: .vp8, bitrate: 500_000, keyframeInterval: 30)
        let units = vp8.enumerated().flatMap { transcoder.transcode($1, pts: Int64($0 * 33)) }
        let sps = try #require(units.first?.sps), pps = try #require(units.first?.pps)
        let avcC: [UInt8] = [1, sps[1], sps[2], sps[3], 0xFF, 0xE1, UInt8(sps.count >> 8), UInt8(sps.count & 0xFF)] + sps
            + [1, UInt8(pps.count >> 8), UInt8(pps.count & 0xFF)] + pps
        let path = temporary("h264.mkv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MatroskaFile(path: path)
        let writer = try MatroskaWriter(output: file, docType: "matroska", tracks: [
            MatroskaTrack(number: 1, kind: .video(width: 320, height: 240), codecID: "V_MPEG4/ISO/AVC", codecPrivate: avcC),
        ])
        for unit in units {
            let frame = unit.nalUnits.flatMap { nal -> [UInt8] in
                let n = nal.readableBytes
                return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + Array(nal.readableBytesView)
            }
            try writer.write(track: 1, milliseconds: unit.pts, keyframe: unit.isKeyframe, frame)
        }
        try writer.finish()
        let (streams, duration) = try Reader.probe(path)
        #expect(streams.first?["codec_name"] as? String == "h264")
        #expect(streams.first?["nb_read_frames"] as? String == "\(units.count)")
        #expect(abs((duration ?? 0) - 2.0) < 0.15)
        #expect(try Reader.decodeErrors(path) == "")
    }
}

/// Recordings a fuzzer could make recovery trap on (issue 17, `make fuzz`, target matroska-recovery; the same inputs
/// are in Fuzz/corpus/matroska-recovery/regression-*): completed or refused now, never a crash.
@Suite struct MatroskaRecoveryRegressionTests {
    /// As MatroskaWriter lays out a killed recording: the EBML header, a Segment of unknown size, a SeekHead's room,
    /// Info with the Void the Duration replaces, then `tracks` and `clusters`.
    static func killedRecording(tracks: [UInt8], clusters: [UInt8]) -> [UInt8] {
        let header = EBML.element(0x1A45_DFA3, EBML.uint(0x4286, 1) + EBML.uint(0x42F7, 1) + EBML.uint(0x42F2, 4)
            + EBML.uint(0x42F3, 8) + EBML.string(0x4282, "webm") + EBML.uint(0x4287, 4) + EBML.uint(0x4285, 2))
        let info = EBML.element(0x1549_A966, EBML.uint(0x2A_D7B1, 1_000_000) + EBML.string(0x4D80, "Parley") + EBML.void(total: 11))
        return header + EBML.id(0x1853_8067) + EBML.unknownSize + EBML.void(total: 80) + info + tracks + clusters
    }

    static func trackEntry(number: [UInt8], type: UInt64) -> [UInt8] {
        EBML.element(0x1654_AE6B, EBML.element(0xAE, EBML.element(0xD7, number) + EBML.uint(0x83, type)))
    }

    /// A Cluster with one SimpleBlock of track 1, a keyframe at `relative` ms from the Cluster's `time`.
    static func cluster(time: UInt64, relative: Int16) -> [UInt8] {
        let offset = UInt16(bitPattern: relative)
        return EBML.element(0x1F43_B675, EBML.uint(0xE7, time)
            + EBML.element(0xA3, [0x81, UInt8(offset >> 8), UInt8(offset & 0xFF), 0x80] + [UInt8](repeating: 0, count: 8)))
    }

    static func complete(_ bytes: [UInt8]) throws -> (MatroskaRecovery.Outcome, MatroskaRecovery.Outcome) {
        let path = temporary("regression.webm.part")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (try MatroskaRecovery.complete(path: path), try MatroskaRecovery.complete(path: path))
    }

    @Test func aBlockTimeBeyondInt64EndsTheFileInsteadOfTrapping() throws {
        // Timestamp Int64.max and a block 1 ms after it: time + relative overflowed.
        let bad = Self.cluster(time: UInt64(Int64.max), relative: 1)
        let good = Self.cluster(time: 0, relative: 40)
        let (first, second) = try Self.complete(Self.killedRecording(tracks: Self.trackEntry(number: [1], type: 1), clusters: good + bad))
        #expect(first == .completed(milliseconds: 40, clusters: 1, droppedBytes: Int64(bad.count)))
        #expect(second == .alreadyComplete)
    }

    @Test func aTrackNumberBeyondIntIsNoNumber() throws {
        // An audio-only file whose one TrackNumber is 2^64 - 1: read as -1, the Cue's track trapped in UInt64(_:).
        let tracks = Self.trackEntry(number: [UInt8](repeating: 0xFF, count: 8), type: 2)
        let (first, second) = try Self.complete(Self.killedRecording(tracks: tracks, clusters: Self.cluster(time: 1_000, relative: 0)))
        #expect(first == .completed(milliseconds: 1_000, clusters: 1, droppedBytes: 0))
        #expect(second == .alreadyComplete)
    }
}

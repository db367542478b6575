import FLV
import Foundation
import Matroska
import NIOCore
import Recording
import Testing
import TestSupport
import VideoTranscode

/// RTP packets of one VP8 frame (RFC 7741: a descriptor with S on the first, 1000-byte pieces).
func vp8Packets(_ frame: [UInt8]) -> [ByteBuffer] {
    stride(from: 0, to: frame.count, by: 1000).map { offset in
        var b = ByteBuffer()
        b.writeInteger(UInt8(offset == 0 ? 0x10 : 0))
        b.writeBytes(frame[offset..<min(offset + 1000, frame.count)])
        return b
    }
}

/// A packet to feed: track, sequence, RTP time, marker, payload, arrival (s).
typealias Fed = (track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer, arrival: Double)

func ntp(_ seconds: Double) -> UInt64 { UInt64(seconds) << 32 | UInt64((seconds - seconds.rounded(.down)) * 4_294_967_296) }

@Suite struct StreamRecorderTests {
    static func probeStreams(_ path: String) throws -> [[String: Any]] {
        let r = try Reader.run("ffprobe", ["-v", "error", "-count_packets", "-show_entries",
                                           "stream=codec_name,width,height,start_time,nb_read_packets", "-of", "json", path])
        return (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["streams"] as? [[String: Any]] ?? []
    }

    /// VP8 and Opus whose audio arrives 150 ms after the video of the same instant: the publisher's Sender Reports
    /// say they are simultaneous, and the file keeps them so.
    @Test func vp8AndOpusAreAlignedByTheSenderReportsNotByArrival() throws {
        let frames = try VP8Frames.make(seconds: 2, size: "640x360"), opus = try opusPackets()
        let v0: UInt32 = 4_294_900_000, a0: UInt32 = 123_456, n0 = 3_900_000_000.0  // video RTP time wraps
        var fed: [Fed] = []
        var vseq: UInt16 = 65_500
        for (n, frame) in frames.enumerated() {
            let packets = vp8Packets(frame)
            for (i, p) in packets.enumerated() {
                fed.append((0, vseq, v0 &+ UInt32(n * 3000), i == packets.count - 1, p, Double(n) / 30 + 0.010))
                vseq &+= 1
            }
        }
        for (m, packet) in opus.enumerated() {
            fed.append((1, UInt16(truncatingIfNeeded: m), a0 &+ UInt32(m * 960), false, ByteBuffer(bytes: packet), Double(m) * 0.02 + 0.150))
        }
        fed.sort { $0.arrival < $1.arrival }
        let path = temporary("aligned.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MatroskaFile(path: path)
        let recorder = StreamRecorder(tracks: [RecordedTrack(codec: .vp8, clockRate: 90000), RecordedTrack(codec: .opus, clockRate: 48000)],
                                      output: file)
        #expect(recorder.docType == "webm" && recorder.needsKeyframe)
        recorder.receiveSenderReport(track: 0, ntp: ntp(n0), rtp: v0)
        recorder.receiveSenderReport(track: 1, ntp: ntp(n0), rtp: a0)
        for p in fed {
            try recorder.receive(track: p.track, sequence: p.sequence, timestamp: p.timestamp, marker: p.marker, payload: p.payload, arrival: p.arrival)
        }
        try recorder.finish()
        #expect(!recorder.needsKeyframe)

        let streams = try Self.probeStreams(path)
        #expect(streams.map { $0["codec_name"] as? String } == ["vp8", "opus"])
        #expect(streams[0]["width"] as? Int == 640 && streams[0]["nb_read_packets"] as? String == "\(frames.count)")
        #expect(Int(streams[1]["nb_read_packets"] as? String ?? "") ?? 0 >= opus.count - 1)
        let starts = streams.compactMap { ($0["start_time"] as? String).flatMap(Double.init) }
        #expect(starts.count == 2 && abs(starts[0] - starts[1]) < 0.040, "start times \(starts)")
        #expect(abs(Double(recorder.duration) - 1967) < 40, "\(recorder.duration) ms")
        #expect(try Reader.decodeErrors(path) == "")
    }

    /// H.264 (RFC 6184 packets, SPS/PPS in a STAP-A) and G.711 µ-law, without reports: Matroska, decodable.
    @Test func h264AndPCMUMakeAMatroskaFile() throws {
        let vp8 = try VP8Frames.make(seconds: 2, size: "320x240")
        let transcoder = try H264Transcoder(source: .vp8, bitrate: 400_000, keyframeInterval: 30)
        let units = vp8.enumerated().flatMap { transcoder.transcode($1, pts: Int64($0 * 33)) }
        var fed: [Fed] = []
        var seq: UInt16 = 1
        for (n, unit) in units.enumerated() {
            let nal = unit.nalUnits.filter { ($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) & 0x1F != 7 && ($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) & 0x1F != 8 }
            var payloads: [(ByteBuffer, Bool)] = []
            H264Packetizer().payloads(nal, parameterSets: unit.isKeyframe ? [unit.sps, unit.pps].compactMap { $0 } : nil) { payloads.append(($0, $1)) }
            for (body, last) in payloads {
                fed.append((0, seq, UInt32(n * 3000), last, body, Double(n) / 30))
                seq &+= 1
            }
        }
        for m in 0..<100 {
            fed.append((1, UInt16(m), UInt32(m * 160), false, ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 160)), Double(m) * 0.02 + 0.005))
        }
        fed.sort { $0.arrival < $1.arrival }
        let path = temporary("h264-pcmu.mkv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = StreamRecorder(tracks: [RecordedTrack(codec: .h264, clockRate: 90000), RecordedTrack(codec: .pcmu, clockRate: 8000)],
                                      output: try MatroskaFile(path: path))
        #expect(recorder.docType == "matroska" && recorder.fileExtension == "mkv")
        for p in fed {
            try recorder.receive(track: p.track, sequence: p.sequence, timestamp: p.timestamp, marker: p.marker, payload: p.payload, arrival: p.arrival)
        }
        try recorder.finish()
        let streams = try Self.probeStreams(path)
        #expect(streams.map { $0["codec_name"] as? String } == ["h264", "pcm_mulaw"])
        #expect(streams[0]["width"] as? Int == 320 && streams[0]["nb_read_packets"] as? String == "\(units.count)")
        #expect(try Reader.decodeErrors(path) == "")
    }

    /// Packets out of order (as retransmissions come): put back in order, every frame is recorded.
    @Test func reorderedPacketsAreRecordedInOrder() throws {
        let frames = try VP8Frames.make(seconds: 2, size: "640x360")
        var fed: [Fed] = []
        var seq: UInt16 = 65_000
        for (n, frame) in frames.enumerated() {
            let packets = vp8Packets(frame)
            for (i, p) in packets.enumerated() {
                fed.append((0, seq, UInt32(n * 3000), i == packets.count - 1, p, Double(n) / 30))
                seq &+= 1
            }
        }
        // Every 7th packet comes 80 ms late (a retransmission), sequence numbers wrapping on the way.
        let late = stride(from: 3, to: fed.count, by: 7).map { fed[$0] }
        fed = fed.enumerated().filter { $0.offset % 7 != 3 || $0.offset < 3 }.map(\.element)
            + late.map { ($0.track, $0.sequence, $0.timestamp, $0.marker, $0.payload, $0.arrival + 0.080) }
        fed.sort { $0.arrival < $1.arrival }
        let path = temporary("reordered.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = StreamRecorder(tracks: [RecordedTrack(codec: .vp8, clockRate: 90000)], output: try MatroskaFile(path: path))
        for p in fed {
            try recorder.receive(track: p.track, sequence: p.sequence, timestamp: p.timestamp, marker: p.marker, payload: p.payload, arrival: p.arrival)
        }
        try recorder.finish()
        #expect(try Self.probeStreams(path).first?["nb_read_packets"] as? String == "\(frames.count)")
        #expect(try Reader.decodeErrors(path) == "")
    }

    /// A lost packet: the broken frame and what follows are left out until the next keyframe (asked for); the file
    /// decodes to its end without an error.
    /// The publisher's camera changes resolution (a new keyframe at the new size): one continuous file, every
    /// frame in it, decodable across the change. (A new SSRC reaches the recorder re-based by its consumer, as
    /// every viewer's packets are: ForwardingTests.)
    @Test func aResolutionChangeKeepsOneContinuousFile() throws {
        let small = try VP8Frames.make(seconds: 1, size: "320x240"), large = try VP8Frames.make(seconds: 1, size: "640x360")
        let path = temporary("resized.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = StreamRecorder(tracks: [RecordedTrack(codec: .vp8, clockRate: 90000)], output: try MatroskaFile(path: path))
        var seq: UInt16 = 40_000
        for (n, frame) in (small + large).enumerated() {
            let packets = vp8Packets(frame)
            for (i, p) in packets.enumerated() {
                try recorder.receive(track: 0, sequence: seq, timestamp: UInt32(n * 3000), marker: i == packets.count - 1, payload: p,
                                     arrival: Double(n) / 30)
                seq &+= 1
            }
        }
        try recorder.finish()
        let streams = try Self.probeStreams(path)
        #expect(streams.count == 1 && streams.first?["nb_read_packets"] as? String == "\(small.count + large.count)", "\(streams)")
        let expected: Double = Double(small.count + large.count - 1) * 1000 / 30
        let duration: Double = Double(recorder.duration)
        #expect(abs(duration - expected) < 40, "\(duration) ms")
        #expect(try Reader.decodeErrors(path) == "")
        // Both sizes decode from the one file.
        let sizes = try Reader.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=width,height",
                                               "-of", "csv=p=0", path]).out
        #expect(Set(sizes.split(whereSeparator: \.isNewline).map(String.init)) == ["320,240", "640,360"], "\(sizes.prefix(200))")
    }

    @Test func aLossSkipsToTheNextKeyframe() throws {
        let frames = try VP8Frames.make(seconds: 2, size: "320x240")
        let path = temporary("loss.webm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = StreamRecorder(tracks: [RecordedTrack(codec: .vp8, clockRate: 90000)], output: try MatroskaFile(path: path))
        var seq: UInt16 = 0
        var askedAfterLoss = false
        for (n, frame) in frames.enumerated() {
            let packets = vp8Packets(frame)
            for (i, p) in packets.enumerated() {
                defer { seq &+= 1 }
                if n == 10 { continue }  // frame 10 lost whole
                try recorder.receive(track: 0, sequence: seq, timestamp: UInt32(n * 3000), marker: i == packets.count - 1, payload: p, arrival: Double(n) / 30)
                if (11..<30).contains(n) { askedAfterLoss = askedAfterLoss || recorder.needsKeyframe }
            }
        }
        try recorder.finish()
        #expect(askedAfterLoss)
        let streams = try Self.probeStreams(path)
        #expect(streams.first?["nb_read_packets"] as? String == "\(10 + (frames.count - 30))")
        #expect(try Reader.decodeErrors(path) == "")
    }
}

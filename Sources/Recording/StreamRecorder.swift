import FLV
import Matroska
import NIOCore
import RTP
import VideoTranscode

/// One track of a stream being recorded, as the stream's record names it.
public struct RecordedTrack: Sendable, Equatable {
    public enum Codec: Sendable, Equatable {
        case vp8, h264, opus, pcmu, pcma

        /// From a stream record's codec name (`VP8`, `H264`, `opus`, `PCMU`, `PCMA`); nil for what is not recorded.
        public init?(name: String) {
            switch name.uppercased() {
            case "VP8": self = .vp8
            case "H264": self = .h264
            case "OPUS": self = .opus
            case "PCMU": self = .pcmu
            case "PCMA": self = .pcma
            default: return nil
            }
        }
    }
    public let codec: Codec
    /// RTP ticks per second (90000 for video, 48000 for Opus, 8000 for G.711).
    public let clockRate: Int

    public init(codec: Codec, clockRate: Int) {
        self.codec = codec
        self.clockRate = clockRate
    }

    var isVideo: Bool { codec == .vp8 || codec == .h264 }
}

/// A published stream's packets, each track's in order (as a `MediaSink` gets them), made into one Matroska file
/// (WebM for VP8 and Opus): video depacketized from a keyframe on (after a hole, to the next keyframe:
/// `needsKeyframe` says to ask for one), audio packet by packet, every frame placed by its RTP timestamp on the
/// publisher's wall clock (its Sender Reports; before a track's first report, its first packet's arrival), so
/// audio and video stay aligned as the browser aligns them. The file starts at the first video keyframe. Knows no
/// rooms or sockets; not for a media loop (it writes to a disk).
public final class StreamRecorder {
    public let tracks: [RecordedTrack]
    private let output: any MatroskaOutput
    private var writer: MatroskaWriter?
    private var clocks: [TrackClock]
    private var reorder: [PacketReorder<(UInt32, Bool, ByteBuffer, Double)>]
    private var vp8: [Int: VP8Depacketizer] = [:]
    private var h264: [Int: H264Depacketizer] = [:]
    /// The arrival-clock time (seconds) of the file's zero: its first frame.
    private var zero: Double?
    /// Publisher (NTP) time to arrival time, from the first packet placed by a report.
    private var publisherToArrival: Double?
    private let videoTrack: Int?

    /// WebM when every track fits it (VP8, Opus), Matroska otherwise.
    public var docType: String { Self.isWebM(tracks.map(\.codec)) ? "webm" : "matroska" }
    public var fileExtension: String { Self.fileExtension(tracks.map(\.codec)) }

    /// The file's extension for these codecs, known before any packet (the name is given out at the publish).
    public static func fileExtension(_ codecs: [RecordedTrack.Codec]) -> String { isWebM(codecs) ? "webm" : "mkv" }

    private static func isWebM(_ codecs: [RecordedTrack.Codec]) -> Bool { codecs.allSatisfy { $0 == .vp8 || $0 == .opus } }
    /// The video waits for a keyframe: at the start, or after a hole.
    public var needsKeyframe: Bool {
        guard let v = videoTrack else { return false }
        return writer == nil || (vp8[v]?.needsKeyframe ?? h264[v]?.needsKeyframe ?? false)
    }
    /// Milliseconds written so far (the file's length).
    public private(set) var duration: Int64 = 0

    public init(tracks: [RecordedTrack], output: any MatroskaOutput) {
        self.tracks = tracks
        self.output = output
        clocks = tracks.map { TrackClock(rate: Double(max($0.clockRate, 1))) }
        reorder = tracks.map { _ in PacketReorder() }
        videoTrack = tracks.firstIndex(where: \.isVideo)
        for (i, t) in tracks.enumerated() {
            if t.codec == .vp8 { vp8[i] = VP8Depacketizer() }
            if t.codec == .h264 { h264[i] = H264Depacketizer() }
        }
    }

    /// A Sender Report of `track`: its NTP time for RTP time `rtp`.
    public func receiveSenderReport(track: Int, ntp: UInt64, rtp: UInt32) {
        guard clocks.indices.contains(track) else { return }
        clocks[track].report(ntp: Double(ntp >> 32) + Double(ntp & 0xFFFF_FFFF) / 4_294_967_296, rtp: rtp)
    }

    /// One RTP packet of `track`, arrived at `arrival` (seconds, any clock the reports' NTP does not need to match:
    /// it only places a track before its first report).
    public func receive(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer, arrival: Double) throws {
        guard tracks.indices.contains(track) else { return }
        // In sequence order first: a retransmitted packet comes late, and is waited for up to 200 ms.
        for (seq, packet) in reorder[track].push(sequence: sequence, arrival: arrival, (timestamp, marker, payload, arrival)) {
            try process(track: track, sequence: seq, timestamp: packet.0, marker: packet.1, payload: packet.2, arrival: packet.3)
        }
    }

    private func process(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer, arrival: Double) throws {
        switch tracks[track].codec {
        case .vp8:
            guard let frame = vp8[track]?.push(payload, sequence: sequence, timestamp: timestamp, marker: marker) else { return }
            if writer == nil {
                guard frame.isKeyframe, let size = Self.vp8Size(frame.bytes) else { return }
                try start(video: size, codecPrivate: nil)
            }
            try write(track: track, rtp: frame.rtpTimestamp, arrival: arrival, keyframe: frame.isKeyframe, frame.bytes)
        case .h264:
            // Mutated in place in the table: a copy would share its half-built FU-A fragment, and every append
            // would then copy it.
            guard let unit = h264[track]?.push(payload, sequence: sequence, timestamp: timestamp, marker: marker) else { return }
            if writer == nil {
                guard unit.isKeyframe, let sps = h264[track]?.sps, let pps = h264[track]?.pps, let size = H264SPS(sps) else { return }
                try start(video: (size.width, size.height), codecPrivate: FLVWriter.avcDecoderConfigurationRecord(sps: sps, pps: pps))
            }
            var frame: [UInt8] = []
            for nal in unit.nalUnits {
                let n = nal.readableBytes
                frame += [UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
                          UInt8(truncatingIfNeeded: n)]
                frame += nal.readableBytesView
            }
            try write(track: track, rtp: unit.rtpTimestamp, arrival: arrival, keyframe: unit.isKeyframe, frame)
        case .opus, .pcmu, .pcma:
            guard payload.readableBytes > 0 else { return }
            if writer == nil {
                guard videoTrack == nil else { return }  // the file starts with the picture
                try start(video: nil, codecPrivate: nil)
            }
            try write(track: track, rtp: timestamp, arrival: arrival, keyframe: true, Array(payload.readableBytesView))
        }
    }

    /// Ends the file: Cues, Duration, the Segment's size. A recorder that never started writes nothing.
    public func finish() throws {
        for track in tracks.indices {
            for (seq, p) in reorder[track].drain() {
                try process(track: track, sequence: seq, timestamp: p.0, marker: p.1, payload: p.2, arrival: p.3)
            }
        }
        try writer?.finish()
    }

    private func start(video size: (Int, Int)?, codecPrivate: [UInt8]?) throws {
        let entries = tracks.enumerated().map { i, t -> MatroskaTrack in
            switch t.codec {
            case .vp8: MatroskaTrack(number: i + 1, kind: .video(width: size?.0 ?? 0, height: size?.1 ?? 0), codecID: "V_VP8")
            case .h264: MatroskaTrack(number: i + 1, kind: .video(width: size?.0 ?? 0, height: size?.1 ?? 0),
                                      codecID: "V_MPEG4/ISO/AVC", codecPrivate: codecPrivate)
            case .opus: MatroskaTrack(number: i + 1, kind: .audio(sampleRate: 48000, channels: 2), codecID: "A_OPUS",
                                      codecPrivate: Self.opusHead)
            case .pcmu, .pcma: MatroskaTrack(number: i + 1, kind: .audio(sampleRate: Double(t.clockRate), channels: 1),
                                             codecID: "A_MS/ACM", codecPrivate: Self.waveFormat(t))
            }
        }
        writer = try MatroskaWriter(output: output, docType: docType, tracks: entries)
    }

    private func write(track: Int, rtp: UInt32, arrival: Double, keyframe: Bool, _ frame: [UInt8]) throws {
        guard let writer else { return }
        // Everything on the arrival clock; publisher times through one offset for the whole stream (its tracks share
        // the publisher's clock), so the reports' alignment of audio and video is kept exactly.
        let wall: Double
        switch clocks[track].time(rtp: rtp, arrival: arrival) {
        case .arrival(let time):
            wall = time
        case .publisher(let time):
            let offset = publisherToArrival ?? (arrival - time)
            publisherToArrival = offset
            wall = time + offset
        }
        let origin = zero ?? wall
        zero = origin
        let ms = Int64(((wall - origin) * 1000).rounded())
        guard ms >= 0 else { return }  // from before the file's first picture
        try writer.write(track: track + 1, milliseconds: ms, keyframe: keyframe, frame)
        duration = max(duration, ms)
    }

    // MARK: codec data

    /// OpusHead (RFC 7845 §5.1) for WebRTC's stereo 48 kHz Opus, which carries none: 312 samples of pre-skip.
    static let opusHead: [UInt8] = Array("OpusHead".utf8) + [1, 2, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]

    /// WAVEFORMATEX for G.711 (tag 7 µ-law, 6 A-law), mono, 8 bits a sample.
    static func waveFormat(_ track: RecordedTrack) -> [UInt8] {
        let rate = UInt32(track.clockRate)
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return le16(track.codec == .pcmu ? 7 : 6) + le16(1) + le32(rate) + le32(rate) + le16(1) + le16(8) + le16(0)
    }

    /// A VP8 keyframe's size (RFC 6386 §9.1: the frame tag, start code 9d 01 2a, then 14-bit width and height).
    static func vp8Size(_ frame: [UInt8]) -> (Int, Int)? {
        guard frame.count >= 10, frame[0] & 1 == 0, frame[3] == 0x9D, frame[4] == 0x01, frame[5] == 0x2A else { return nil }
        let width = (Int(frame[6]) | Int(frame[7]) << 8) & 0x3FFF, height = (Int(frame[8]) | Int(frame[9]) << 8) & 0x3FFF
        return width > 0 && height > 0 ? (width, height) : nil
    }
}

/// A track's RTP time as a time on one of two clocks: the publisher's (NTP, through its latest Sender Report) or,
/// before the track's first report, the arrival clock from its first packet. RTP time is unwrapped to 64 bits (a
/// 32-bit clock wraps in 13 h at 90 kHz).
struct TrackClock {
    enum Time { case publisher(Double), arrival(Double) }

    let rate: Double
    private var unwrapper = TimestampUnwrapper()
    private var reportPoint: (ntp: Double, rtp: Int64)?
    private var arrivalPoint: (arrival: Double, rtp: Int64)?

    init(rate: Double) { self.rate = rate }

    mutating func report(ntp: Double, rtp: UInt32) {
        reportPoint = (ntp, unwrapper.unwrap(rtp))
    }

    mutating func time(rtp: UInt32, arrival: Double) -> Time {
        let t = unwrapper.unwrap(rtp)
        if let r = reportPoint { return .publisher(r.ntp + Double(t - r.rtp) / rate) }
        let a = arrivalPoint ?? (arrival, t)
        arrivalPoint = a
        return .arrival(a.arrival + Double(t - a.rtp) / rate)
    }
}

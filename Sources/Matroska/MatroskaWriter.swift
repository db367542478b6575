/// Where a Matroska file goes: appended to, and a few bytes overwritten at the end (sizes, duration, index).
public protocol MatroskaOutput {
    /// Bytes written so far.
    var position: Int64 { get }
    func append(_ bytes: [UInt8]) throws
    func overwrite(at offset: Int64, _ bytes: [UInt8]) throws
}

/// One track of a recording.
public struct MatroskaTrack: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case video(width: Int, height: Int)
        case audio(sampleRate: Double, channels: Int)
    }

    /// From 1, as blocks name it.
    public let number: Int
    public let kind: Kind
    /// `V_VP8`, `V_MPEG4/ISO/AVC`, `A_OPUS`, `A_MS/ACM` …
    public let codecID: String
    /// OpusHead for Opus, avcC for H.264, WAVEFORMATEX for A_MS/ACM.
    public let codecPrivate: [UInt8]?

    public init(number: Int, kind: Kind, codecID: String, codecPrivate: [UInt8]? = nil) {
        self.number = number
        self.kind = kind
        self.codecID = codecID
        self.codecPrivate = codecPrivate
    }
}

/// An append-only Matroska/WebM writer (RFC 9559) that a crash cannot spoil: the Segment starts with an unknown
/// size and each Cluster (at most `clusterDuration` long, and a new one at each video keyframe) is written whole
/// when it closes, so a killed writer leaves a file every player reads up to its last closed Cluster. `finish`
/// appends the Cues and patches the Segment's size, the Duration and the SeekHead, so players can seek.
/// Timestamps are milliseconds from the recording's start, increasing per track (a track's frame not later than
/// its last is placed a millisecond after it); tracks may interleave a little out of order. Not for a media loop: it writes
/// to a disk.
public final class MatroskaWriter {
    public static let clusterDuration: Int64 = 1000

    private let output: any MatroskaOutput
    private let videoTrack: Int?
    private var layout: MatroskaLayout
    private var cluster: [UInt8] = []
    private var clusterStart: Int64?
    private var clusterHasKeyframe = false
    private var cues: [(time: Int64, position: Int64)] = []
    private var lastTimestamp: [Int: Int64] = [:]
    private var latest: Int64 = 0
    private(set) public var finished = false

    /// The SeekHead's room: 3 entries of 21 bytes in a 4 + 1 byte header, and a Void after it.
    private static let seekHeadRoom = 80

    public init(output: any MatroskaOutput, docType: String, tracks: [MatroskaTrack]) throws {
        self.output = output
        videoTrack = tracks.first { if case .video = $0.kind { true } else { false } }?.number
        layout = MatroskaLayout(cueTrack: videoTrack ?? tracks.first?.number ?? 1)
        var header = EBML.element(MatroskaID.ebml, EBML.uint(0x4286, 1) + EBML.uint(0x42F7, 1) + EBML.uint(0x42F2, 4)
            + EBML.uint(0x42F3, 8) + EBML.string(0x4282, docType) + EBML.uint(0x4287, 4) + EBML.uint(0x4285, 2))
        layout.segmentSizeAt = output.position + Int64(header.count) + 4
        header += EBML.id(MatroskaID.segment) + EBML.unknownSize
        layout.segmentData = output.position + Int64(header.count)
        layout.seekHeadAt = layout.segmentData
        var body: [UInt8] = []
        // SeekHead (Info and Tracks now, Cues at the end) in a fixed room.
        layout.infoPosition = Int64(Self.seekHeadRoom)
        let info = EBML.uint(0x2A_D7B1, 1_000_000) + EBML.string(0x4D80, "Parley") + EBML.string(0x5741, "Parley")
        // Room for the Duration (11 bytes), written at the end: a killed file has none, rather than a wrong one.
        let infoElement = EBML.element(MatroskaID.info, info + EBML.void(total: 11))
        layout.durationAt = layout.segmentData + layout.infoPosition + Int64(infoElement.count) - 11
        layout.tracksPosition = layout.infoPosition + Int64(infoElement.count)
        body += Self.seekHead([(MatroskaID.info, layout.infoPosition), (MatroskaID.tracks, layout.tracksPosition)])
        body += infoElement
        body += EBML.element(MatroskaID.tracks, tracks.flatMap(Self.trackEntry))
        try output.append(header + body)
    }

    private static func seekHead(_ entries: [(id: UInt32, position: Int64)]) -> [UInt8] {
        let seeks = entries.flatMap { entry in
            EBML.element(0x4DBB, EBML.element(0x53AB, EBML.id(entry.id)) + EBML.uint64(0x53AC, UInt64(entry.position)))
        }
        let head = EBML.element(MatroskaID.seekHead, seeks)
        return head + EBML.void(total: seekHeadRoom - head.count)
    }

    private static func trackEntry(_ track: MatroskaTrack) -> [UInt8] {
        var body = EBML.uint(MatroskaID.trackNumber, UInt64(track.number)) + EBML.uint(0x73C5, UInt64(track.number)) + EBML.uint(0x9C, 0)
        switch track.kind {
        case .video(let width, let height):
            body += EBML.uint(MatroskaID.trackType, 1) + EBML.string(0x86, track.codecID)
            body += EBML.element(0xE0, EBML.uint(0xB0, UInt64(max(width, 0))) + EBML.uint(0xBA, UInt64(max(height, 0))))
        case .audio(let rate, let channels):
            body += EBML.uint(MatroskaID.trackType, 2) + EBML.string(0x86, track.codecID)
            if track.codecID == "A_OPUS" {
                body += EBML.uint(0x56AA, 6_500_000) + EBML.uint(0x56BB, 80_000_000)  // CodecDelay, SeekPreRoll (ns)
            }
            body += EBML.element(0xE1, EBML.float(0xB5, rate) + EBML.uint(0x9F, UInt64(max(channels, 1))))
        }
        if let codecPrivate = track.codecPrivate { body += EBML.element(0x63A2, codecPrivate) }
        return EBML.element(MatroskaID.trackEntry, body)
    }

    /// One frame of `track` at `milliseconds`. A video keyframe, or a Cluster a second long, closes the Cluster
    /// before it (so seeking lands on keyframes and a crash loses at most a second).
    public func write(track: Int, milliseconds: Int64, keyframe: Bool, _ frame: [UInt8]) throws {
        guard !finished else { return }
        // Strictly increasing per track: a player drops (or complains of) two frames of one track at one time.
        let time = max(milliseconds, lastTimestamp[track].map { $0 + 1 } ?? 0)
        lastTimestamp[track] = time
        latest = max(latest, time)
        let isVideoKeyframe = keyframe && track == videoTrack
        if let start = clusterStart, time - start >= Self.clusterDuration || (isVideoKeyframe && !cluster.isEmpty) || time - start > 30_000 {
            try closeCluster()
        }
        if clusterStart == nil {
            clusterStart = time
            clusterHasKeyframe = Self.startsCuePoint(track: track, keyframe: keyframe, videoTrack: videoTrack)
        }
        let relative = Int16(clamping: time - (clusterStart ?? time))
        var block = EBML.size(UInt64(track)) + [UInt8(truncatingIfNeeded: UInt16(bitPattern: relative) >> 8),
                                                UInt8(truncatingIfNeeded: UInt16(bitPattern: relative))]
        block.append(keyframe ? 0x80 : 0x00)
        block += frame
        cluster += EBML.element(MatroskaID.simpleBlock, block)
    }

    private func closeCluster() throws {
        guard let start = clusterStart, !cluster.isEmpty else { return }
        let position = output.position - layout.segmentData
        try output.append(EBML.element(MatroskaID.cluster, EBML.uint(MatroskaID.timestamp, UInt64(max(start, 0))) + cluster))
        if clusterHasKeyframe { cues.append((start, position)) }
        cluster = []
        clusterStart = nil
    }

    /// Writes what is left, the Cues, the Duration and the Segment's size: the file is complete and seekable.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try closeCluster()
        try Self.complete(output, layout: layout, cues: cues, latest: latest)
    }

    /// Appends the Cues and patches the Duration, the SeekHead and the Segment's size: what makes a file whose
    /// Clusters are all written complete and seekable (at the end of a recording, or of a recovery).
    static func complete(_ output: any MatroskaOutput, layout: MatroskaLayout, cues: [(time: Int64, position: Int64)],
                         latest: Int64) throws {
        let cuesPosition = output.position - layout.segmentData
        let points = cues.flatMap { cue in
            EBML.element(0xBB, EBML.uint(0xB3, UInt64(max(cue.time, 0)))
                + EBML.element(0xB7, EBML.uint(0xF7, UInt64(layout.cueTrack)) + EBML.uint(0xF1, UInt64(cue.position))))
        }
        if !points.isEmpty { try output.append(EBML.element(MatroskaID.cues, points)) }
        let end = output.position
        try output.overwrite(at: layout.durationAt, EBML.float(MatroskaID.duration, Double(latest)))
        var entries: [(UInt32, Int64)] = [(MatroskaID.info, layout.infoPosition), (MatroskaID.tracks, layout.tracksPosition)]
        if !points.isEmpty { entries.append((MatroskaID.cues, cuesPosition)) }
        try output.overwrite(at: layout.seekHeadAt, Self.seekHead(entries))
        try output.overwrite(at: layout.segmentSizeAt, EBML.size(UInt64(end - layout.segmentData), minimumWidth: 8))
    }
}

extension MatroskaWriter {
    /// Whether a Cluster whose first block is this one gets a Cue: one opening on a video keyframe, or any Cluster
    /// of a file without video (the writer decides so, and recovery finds the same Cues again).
    static func startsCuePoint(track: Int, keyframe: Bool, videoTrack: Int?) -> Bool {
        guard let videoTrack else { return true }
        return keyframe && track == videoTrack
    }
}

/// The Matroska element ids (RFC 9559) that the writer writes and recovery reads back, as written (marker bits kept).
enum MatroskaID {
    static let ebml: UInt32 = 0x1A45_DFA3
    static let segment: UInt32 = 0x1853_8067
    static let seekHead: UInt32 = 0x114D_9B74
    static let void: UInt32 = 0xEC
    static let info: UInt32 = 0x1549_A966
    static let duration: UInt32 = 0x4489
    static let tracks: UInt32 = 0x1654_AE6B
    static let trackEntry: UInt32 = 0xAE
    static let trackNumber: UInt32 = 0xD7
    static let trackType: UInt32 = 0x83
    static let cluster: UInt32 = 0x1F43_B675
    static let timestamp: UInt32 = 0xE7
    static let simpleBlock: UInt32 = 0xA3
    static let cues: UInt32 = 0x1C53_BB6B
}

/// Where the writer put the parts of a Segment that are patched at the end (file offsets, and positions from the
/// Segment's data as SeekHead and Cues count them).
struct MatroskaLayout {
    /// The track Cues name: the video, else the first.
    var cueTrack: Int
    /// Where the Segment's data starts.
    var segmentData: Int64 = 0
    var segmentSizeAt: Int64 = 0
    var seekHeadAt: Int64 = 0
    /// The 11-byte Void in Info that becomes the Duration.
    var durationAt: Int64 = 0
    var infoPosition: Int64 = 0
    var tracksPosition: Int64 = 0
}

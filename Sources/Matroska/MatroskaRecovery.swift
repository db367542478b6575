/// Completes a recording its writer never finished (the server was killed): the Clusters on disk are read back for
/// their times and keyframes, a Cluster cut short is dropped, and the Cues, Duration, SeekHead and Segment size are
/// written as `MatroskaWriter.finish` would have, so the file can be seeked. Only files laid out by
/// `MatroskaWriter` are completed; anything else is refused and left as it is.
public enum MatroskaRecovery {
    public enum Outcome: Sendable, Equatable {
        /// Completed: its length (ms), the Clusters kept, and the bytes of a cut-short Cluster dropped.
        case completed(milliseconds: Int64, clusters: Int, droppedBytes: Int64)
        /// Already finished (its Segment has a size); nothing written.
        case alreadyComplete
    }

    public enum Failure: Error, Sendable, Equatable {
        /// Not a Matroska file as `MatroskaWriter` writes them: the reason.
        case unrecognized(String)
        case io(MatroskaFile.Failure)
    }

    /// A Cluster larger than this is taken as damage, not data (the writer's are a second long).
    static let largestCluster = 64 << 20

    public static func complete(path: String) throws(Failure) -> Outcome {
        let file: MatroskaFile
        do { file = try MatroskaFile(resuming: path) } catch { throw .io(error) }
        do {
            let scan = try scan(file)
            guard let scan else { return .alreadyComplete }
            try file.truncate(to: scan.end)
            try MatroskaWriter.complete(file, layout: scan.layout, cues: scan.cues, latest: scan.latest)
            file.sync()
            return .completed(milliseconds: scan.latest, clusters: scan.clusters, droppedBytes: scan.dropped)
        } catch let failure as Failure {
            throw failure
        } catch let failure as MatroskaFile.Failure {
            throw .io(failure)
        } catch {
            throw .unrecognized("\(error)")
        }
    }

    struct Scan {
        var layout: MatroskaLayout
        var cues: [(time: Int64, position: Int64)] = []
        var latest: Int64 = 0
        var clusters = 0
        /// Where the last whole Cluster ends.
        var end: Int64
        var dropped: Int64 = 0
    }

    /// The layout and Clusters of an unfinished file, or nil for a finished one.
    static func scan(_ file: MatroskaFile) throws -> Scan? {
        let size = file.position
        var offset: Int64 = 0
        let ebml = try header(file, at: offset)
        guard ebml.id == MatroskaID.ebml, let ebmlSize = ebml.size else { throw Failure.unrecognized("no EBML header") }
        offset = ebml.dataAt + Int64(ebmlSize)
        let segment = try header(file, at: offset)
        guard segment.id == MatroskaID.segment else { throw Failure.unrecognized("no Segment") }
        guard segment.size == nil else { return nil }
        guard segment.dataAt - offset == 12 else { throw Failure.unrecognized("the Segment's size is not 8 bytes wide") }
        var layout = MatroskaLayout(cueTrack: 1)
        layout.segmentSizeAt = offset + 4
        layout.segmentData = segment.dataAt
        layout.seekHeadAt = segment.dataAt
        var scan = Scan(layout: layout, end: segment.dataAt)
        var videoTrack: Int?
        var sawInfo = false, sawTracks = false
        offset = segment.dataAt
        walk: while offset < size {
            guard let element = try? header(file, at: offset), let length = element.size,
                  element.dataAt + Int64(length) <= size else { break walk }  // a cut-short element: the end
            let end = element.dataAt + Int64(length)
            switch element.id {
            case MatroskaID.seekHead, MatroskaID.void:
                break
            case MatroskaID.info:  // the 11-byte Void that becomes the Duration
                guard length <= 4096 else { throw Failure.unrecognized("an oversized Info") }
                var info = Cursor(try file.read(at: element.dataAt, count: Int(length)))
                while let child = try info.element() {
                    if child.id == MatroskaID.duration { return nil }  // finished
                    if child.id == MatroskaID.void, child.body.count == 9 { scan.layout.durationAt = element.dataAt + Int64(child.start) }
                }
                scan.layout.infoPosition = offset - segment.dataAt
                sawInfo = true
            case MatroskaID.tracks:  // which is the video
                guard length <= 1 << 20 else { throw Failure.unrecognized("oversized Tracks") }
                var tracks = Cursor(try file.read(at: element.dataAt, count: Int(length)))
                var first: Int?
                while let entry = try tracks.element() {
                    guard entry.id == MatroskaID.trackEntry else { continue }
                    var fields = Cursor(entry.body)
                    var number: Int?, type: UInt64?
                    while let field = try fields.element() {
                        // One beyond Int (the writer's are small) is no number: read as negative, it trapped in
                        // MatroskaWriter.complete's UInt64(cueTrack) (found while fuzzing recovery, issue 17).
                        if field.id == MatroskaID.trackNumber { number = Int(exactly: Cursor.uint(field.body)) }
                        if field.id == MatroskaID.trackType { type = Cursor.uint(field.body) }
                    }
                    if first == nil { first = number }
                    if type == 1, videoTrack == nil { videoTrack = number }
                }
                scan.layout.cueTrack = videoTrack ?? first ?? 1
                scan.layout.tracksPosition = offset - segment.dataAt
                sawTracks = true
            case MatroskaID.cluster:
                guard sawInfo, sawTracks, scan.layout.durationAt > 0 else { throw Failure.unrecognized("a Cluster before Info and Tracks") }
                guard length <= largestCluster else { break walk }
                // One the writer did not write whole (its contents do not parse) ends the file before it.
                guard let blocks = try? Self.blocks(file.read(at: element.dataAt, count: Int(length))),
                      let time = blocks.time, let latest = blocks.latest else { break walk }
                let first = blocks.first
                if let first, MatroskaWriter.startsCuePoint(track: first.track, keyframe: first.keyframe, videoTrack: videoTrack) {
                    scan.cues.append((time, offset - segment.dataAt))
                }
                scan.latest = max(scan.latest, latest)
                scan.clusters += 1
            case MatroskaID.cues:  // the writer finished, only the Segment's size is missing
                throw Failure.unrecognized("Cues but no Segment size")
            default:
                break walk
            }
            offset = end
            scan.end = end
        }
        guard sawInfo, sawTracks, scan.layout.durationAt > 0 else { throw Failure.unrecognized("no Info or Tracks") }
        scan.dropped = size - scan.end
        return scan
    }

    /// A Cluster's Timecode, its first block's track and keyframe flag, and its latest block's time.
    private static func blocks(_ body: [UInt8]) throws -> (time: Int64?, first: (track: Int, keyframe: Bool)?, latest: Int64?) {
        var cluster = Cursor(body)
        var time: Int64?, first: (track: Int, keyframe: Bool)?, latest: Int64?
        while let child = try cluster.element() {
            if child.id == MatroskaID.timestamp { time = Int64(truncatingIfNeeded: Cursor.uint(child.body)) }
            guard child.id == MatroskaID.simpleBlock, let time else { continue }
            var block = Cursor(child.body)
            let track = Int(truncatingIfNeeded: try block.vint(keepMarker: false))
            let relative = Int16(bitPattern: UInt16(try block.byte()) << 8 | UInt16(try block.byte()))
            let keyframe = try block.byte() & 0x80 != 0
            if first == nil { first = (track, keyframe) }
            // A Timestamp near Int64.max plus the block's offset overflowed (found while fuzzing recovery, issue 17):
            // no writer wrote that Cluster, so it ends the file like a cut-short one.
            let (at, overflow) = time.addingReportingOverflow(Int64(relative))
            guard !overflow else { throw MatroskaRecovery.Failure.unrecognized("a block time out of range") }
            latest = max(latest ?? .min, at)
        }
        return (time, first, latest)
    }

    /// An element's id (marker bits kept), its size (nil: unknown) and where its data starts.
    private static func header(_ file: MatroskaFile, at offset: Int64) throws -> (id: UInt32, size: UInt64?, dataAt: Int64) {
        var cursor = Cursor(try file.read(at: offset, count: 12))
        let id = try cursor.id()
        let size = try cursor.size()
        return (id, size, offset + Int64(cursor.index))
    }
}

/// Reads EBML from bytes in memory, every index checked.
struct Cursor {
    struct Truncated: Error {}
    let bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() throws -> UInt8 {
        guard index < bytes.count else { throw Truncated() }
        defer { index += 1 }
        return bytes[index]
    }

    /// A variable-length integer: an id (with its marker) or a value (without).
    mutating func vint(keepMarker: Bool) throws -> UInt64 {
        let first = try byte()
        guard first != 0 else { throw MatroskaRecovery.Failure.unrecognized("a variable integer over 8 bytes") }
        let width = first.leadingZeroBitCount + 1
        var value = UInt64(keepMarker ? first : first & (0xFF >> width))
        for _ in 1..<width { value = value << 8 | UInt64(try byte()) }
        return value
    }

    /// An element's size; nil for the reserved "unknown" (all value bits set).
    mutating func size() throws -> UInt64? {
        let start = index
        let value = try vint(keepMarker: false)
        let width = index - start
        return value == (UInt64(1) << (7 * width)) - 1 ? nil : value
    }

    /// The next child element (nil at the end), its body and where it starts.
    mutating func element() throws -> (id: UInt32, body: ArraySlice<UInt8>, start: Int)? {
        guard index < bytes.count else { return nil }
        let start = index
        let id = try self.id()
        guard let size = try size(), size <= UInt64(bytes.count - index) else { throw Truncated() }
        let body = bytes[index..<index + Int(size)]
        index += Int(size)
        return (id, body, start)
    }

    /// An element id, marker bits kept (at most 4 bytes in Matroska).
    mutating func id() throws -> UInt32 {
        let id = try vint(keepMarker: true)
        guard id <= UInt64(UInt32.max) else { throw MatroskaRecovery.Failure.unrecognized("an id wider than 4 bytes") }
        return UInt32(id)
    }

    static func uint(_ body: ArraySlice<UInt8>) -> UInt64 {
        body.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Cursor {
    init(_ slice: ArraySlice<UInt8>) { self.init(Array(slice)) }
}

import Foundation
import Logging
import Matroska
import NIOCore
import NIOPosix
import Recording
import RTP
import Rooms
import SFU
import Signaling
import Synchronization

/// `record: true`: a published stream written to `--record-dir` as one Matroska/WebM file (`StreamRecorder`), as
/// `NAME.part` until the stream ends, then renamed to NAME, which `/client/records/NAME` serves.
///
/// It keeps the parts of the server it needs, not the server: `WHIPEndpoints` holds one for good (`attach`), and a
/// copy of the server would hold the endpoints in turn, a cycle that kept every server's hub, media plane and
/// sessions alive after it stopped.
struct StreamRecordings: RecordingService {
    let configuration: ParleyConfiguration
    let hub: SignalingHub
    let media: MediaEngine
    let stats: RecordingStats
    let webhooks: Webhooks?
    let logger: Logger

    init(server: ParleyServer, logger: Logger) {
        configuration = server.configuration
        hub = server.hub
        media = server.media
        stats = server.recordingStats
        webhooks = server.webhooks
        self.logger = logger
    }

    var recordsEverything: Bool { configuration.recordAll }

    /// Free space in `directory` (MiB), or nil if it cannot be read.
    static func freeMB(_ directory: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory),
              let free = attributes[.systemFreeSize] as? NSNumber else { return nil }
        return Int(free.int64Value / (1 << 20))
    }

    func recordName(stream: String, tracks: [StreamRecord.Track]) -> String {
        "stream-\(stream).\(StreamRecorder.fileExtension(tracks.compactMap { RecordedTrack.Codec(name: $0.codec) }))"
    }

    func record(stream: String, name: String) async throws(MediaServiceError) -> any RecordingJob {
        do {
            return try await prepare(stream: stream, name: name)
        } catch {
            stats.count(.refused)
            throw error
        }
    }

    private func prepare(stream: String, name: String) async throws(MediaServiceError) -> StreamRecording {
        guard RecordNames.isServable(name) else {
            throw MediaServiceError(code: "bad_request", message: "Not a recording name")
        }
        let directory = configuration.recordDir
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MediaServiceError(code: "media_unavailable", message: "The recordings folder cannot be made")
        }
        let floor = configuration.recordMinFreeMB
        if let free = Self.freeMB(directory), free < floor {
            throw MediaServiceError(code: "record_unavailable", message: "Less than \(floor) MB free for recordings (\(free) MB)")
        }
        guard let record = await hub.stream(stream) else {
            throw MediaServiceError(code: "unknown_stream", message: "No stream '\(stream)'")
        }
        var kept: [(index: Int, track: RecordedTrack)] = []
        for (i, t) in record.tracks.enumerated() {
            if let codec = RecordedTrack.Codec(name: t.codec) { kept.append((i, RecordedTrack(codec: codec, clockRate: t.clockRate))) }
        }
        guard !kept.isEmpty else { throw MediaServiceError(code: "unsupported_codec", message: "Nothing in '\(stream)' can be recorded") }
        let (items, continuation) = AsyncStream.makeStream(of: RecordingItem.self, bufferingPolicy: .bufferingNewest(8192))
        var rng = SystemRandomNumberGenerator()
        let consumers = kept.map { ConsumerParameters(producerIndex: $0.index, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng),
                                                      payloadType: 96) }
        let sink: MediaSinkHandle
        do {
            sink = try await media.attach(to: stream, tracks: consumers) { _ in RecordingSink(continuation) }
        } catch {
            throw MediaServiceError(code: "unknown_stream", message: "'\(stream)' is no longer published")
        }
        var logger = self.logger
        logger[metadataKey: "recording"] = "\(name)"
        let webhooks = self.webhooks, room = record.room
        return StreamRecording(path: directory + "/" + name, tracks: kept.map(\.track), sink: sink, items: items, logger: logger,
                               limits: .init(minFreeMB: floor, maxMilliseconds: Int64(configuration.recordMaxSeconds) * 1000),
                               stats: stats) { end in
            let outcome = switch end { case .finished: "finished"; case .stopped: "stopped" }
            webhooks?.recordingEnded(room: room, name: name, outcome: outcome)
        }
    }
}

/// What a recording's sink copies off the media loop.
enum RecordingItem: Sendable {
    case packet(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer, arrival: Double)
    case report(track: Int, ntp: UInt64, rtp: UInt32)
    case ended
    /// The recording fell behind by a whole buffer (a slow disk): it ends here rather than record a gap.
    case overflowed
}

/// On the stream's media loop it only copies: packets with their arrival time, and Sender Reports. When the
/// recording's buffer is full (its disk is too slow), the next item would push out an older one: the sink says so
/// once and stops, so the file ends cleanly instead of missing packets.
final class RecordingSink: MediaSink {
    let continuation: AsyncStream<RecordingItem>.Continuation
    private let overflowed = Atomic<Bool>(false)
    init(_ continuation: AsyncStream<RecordingItem>.Continuation) { self.continuation = continuation }

    func receive(_ packet: RTPPacket, track: Int) {
        guard !overflowed.load(ordering: .relaxed) else { return }
        var payload = ByteBuffer()
        payload.writeImmutableBuffer(packet.payload)
        offer(.packet(track: track, sequence: packet.sequenceNumber, timestamp: packet.timestamp, marker: packet.marker,
                      payload: payload, arrival: Date().timeIntervalSince1970))
    }

    func receiveSenderReport(_ report: RTCPSenderReport, track: Int) {
        guard !overflowed.load(ordering: .relaxed) else { return }
        offer(.report(track: track, ntp: report.ntpTimestamp, rtp: report.rtpTimestamp))
    }

    private func offer(_ item: RecordingItem) {
        if case .dropped = continuation.yield(item) {
            overflowed.store(true, ordering: .relaxed)
            continuation.yield(.overflowed)
            continuation.finish()
        }
    }

    func streamEnded() {
        continuation.yield(.ended)
        continuation.finish()
    }
}

/// One recording, run in its caller's task: the file is written as packets come (a Cluster a second) and
/// completed and renamed when the stream ends or `stop` detaches the sink.
final class StreamRecording: RecordingJob {
    let path: String
    let tracks: [RecordedTrack]
    let sink: MediaSinkHandle
    let items: AsyncStream<RecordingItem>
    let logger: Logger
    let limits: Limits
    let stats: RecordingStats?
    /// Told once the file is complete (webhooks).
    let ended: (@Sendable (RecordingEnd) -> Void)?

    /// When a recording ends before its stream: the disk's free space, and its length.
    struct Limits: Sendable {
        var minFreeMB: Int
        var maxMilliseconds: Int64
    }

    init(path: String, tracks: [RecordedTrack], sink: MediaSinkHandle, items: AsyncStream<RecordingItem>, logger: Logger,
         limits: Limits = .init(minFreeMB: 0, maxMilliseconds: .max), stats: RecordingStats? = nil,
         ended: (@Sendable (RecordingEnd) -> Void)? = nil) {
        self.limits = limits
        self.stats = stats
        self.ended = ended
        self.path = path
        self.tracks = tracks
        self.sink = sink
        self.items = items
        self.logger = logger
    }

    func stop() async { await sink.detach() }

    func record() async -> RecordingEnd {
        stats?.count(.started)
        let end = await write()
        switch end {
        case .finished: stats?.count(.finished)
        case .stopped: stats?.count(.stopped)
        }
        ended?(end)
        return end
    }

    private func write() async -> RecordingEnd {
        let partial = path + ".part"
        let recorder: StreamRecorder
        let file: MatroskaFile
        do {
            file = try MatroskaFile(path: partial)
            recorder = StreamRecorder(tracks: tracks, output: file)
        } catch {
            logger.error("recording cannot open its file", metadata: ["error": "\(error)"])
            await sink.detach()
            return .stopped(.writeFailed)
        }
        logger.info("recording started")
        let box = RecorderBox(recorder)
        let video = tracks.firstIndex { $0.codec == .vp8 || $0.codec == .h264 }
        var lastRequest = ContinuousClock.now - .seconds(10)
        var lastSpaceCheck = ContinuousClock.now
        var stop: RecordingStop?
        recording: for await item in items {
            do {
                switch item {
                case .packet(let track, let sequence, let timestamp, let marker, let payload, let arrival):
                    // Writes (a Cluster a second) go to the blocking pool: a slow disk must not hold a thread of the
                    // tasks' pool, which signaling shares. The task awaits each, so the recorder has one user at a time.
                    try await NIOThreadPool.singleton.runIfActive { [box] in
                        try box.recorder.receive(track: track, sequence: sequence, timestamp: timestamp, marker: marker,
                                                 payload: payload, arrival: arrival)
                    }
                    if let video, recorder.needsKeyframe, ContinuousClock.now - lastRequest > .seconds(1) {
                        lastRequest = .now
                        sink.execute { $0.requestKeyframe(track: video) }
                    }
                case .report(let track, let ntp, let rtp):
                    recorder.receiveSenderReport(track: track, ntp: ntp, rtp: rtp)
                case .ended:
                    break
                case .overflowed:
                    logger.error("recording stopped: the disk fell behind the stream")
                    stop = .tooSlow
                    break recording
                }
                if recorder.duration >= limits.maxMilliseconds {
                    logger.notice("recording reached its maximum length", metadata: ["seconds": "\(limits.maxMilliseconds / 1000)"])
                    stop = .maxLength
                    break recording
                }
                if ContinuousClock.now - lastSpaceCheck > .seconds(5) {
                    lastSpaceCheck = .now
                    let directory = (path as NSString).deletingLastPathComponent
                    if let free = StreamRecordings.freeMB(directory), free < limits.minFreeMB {
                        logger.error("recording stopped: the disk is nearly full", metadata: ["freeMB": "\(free)"])
                        stop = .diskFull
                        break recording
                    }
                }
            } catch is CancellationError {
                break recording  // the task that runs it is ending: finish the file below
            } catch {
                // A full or failing disk ends this recording, never the stream.
                logger.error("recording stopped: the file cannot be written", metadata: ["error": "\(error)"])
                stop = .writeFailed
                break recording
            }
        }
        await sink.detach()
        do {
            // In this task even when it is being cancelled (its connection's task ending): the file is finished.
            try box.recorder.finish()
            file.sync()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
            logger.info("recording finished", metadata: ["ms": "\(recorder.duration)", "complete": "\(stop == nil)"])
        } catch {
            logger.error("recording cannot be finished", metadata: ["error": "\(error)"])
            return .stopped(stop ?? .writeFailed)
        }
        return stop.map { .stopped($0) } ?? .finished
    }
}

/// How recordings went since the start, for `/health`.
final class RecordingStats: Sendable {
    enum Event { case started, finished, stopped, refused }
    struct Snapshot: Codable, Sendable, Equatable {
        /// Being written now.
        var active = 0
        /// Complete with their streams.
        var finished = 0
        /// Ended before their streams (length, disk space, a failed or slow disk).
        var stopped = 0
        /// Asked for but never started (no space, nothing recordable, the stream gone).
        var refused = 0
    }
    private let counts = Mutex(Snapshot())

    func count(_ event: Event) {
        counts.withLock {
            switch event {
            case .started: $0.active += 1
            case .finished: $0.active -= 1; $0.finished += 1
            case .stopped: $0.active -= 1; $0.stopped += 1
            case .refused: $0.refused += 1
            }
        }
    }

    var snapshot: Snapshot { counts.withLock { $0 } }
}

/// A recording's recorder, handed to the blocking pool for one awaited call at a time.
private final class RecorderBox: @unchecked Sendable {
    let recorder: StreamRecorder
    init(_ recorder: StreamRecorder) { self.recorder = recorder }
}

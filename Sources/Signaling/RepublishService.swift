import Foundation
import Logging
import Rooms

/// Pushes of published streams to other RTMP servers (`republish`: YouTube, Twitch, an nginx-rtmp), made by
/// whoever speaks RTMP. The signaling layer only checks who may push what and relays the push's events.
public protocol RepublishService: Sendable {
    /// Prepares push `id` of published stream `stream` to `url`, or refuses it (`bad_url`, `unknown_stream`,
    /// `unsupported_codec`). The caller runs the job in its own task.
    func republish(id: String, stream: String, url: String,
                   onEvent: @escaping @Sendable (RepublishEvent) -> Void) async throws(MediaServiceError) -> any RepublishJob

    /// Whether RTMP players or pushes watch a stream of `room` now: new publishes there should send H.264 if they
    /// can, which RTMP carries as it is.
    func prefersH264(inRoom room: String) -> Bool
}

/// One push: `run` pushes, reconnecting with backoff when the far end drops, until the source stream ends or
/// `stop` is called; it returns after its `ended` event.
public protocol RepublishJob: Sendable {
    func run() async
    func stop() async
}

public enum RepublishEvent: Sendable, Equatable {
    /// Connecting to the far server; `attempt` counts from 1.
    case connecting(attempt: Int)
    /// The far server accepted the publish and media flows.
    case publishing
    /// The connection failed or dropped (`message` says how, with the far server's own words when it refused);
    /// the next attempt comes after `delay` seconds.
    case retrying(message: String, delay: Int)
    /// The push is over: its source was unpublished, or it was stopped (a stop or leave request, the socket closing).
    case ended(StreamEndReason)
}

/// The pushes one socket started, by id, with their room; touched by the socket's task and the pushes' own.
final class RepublishTable: @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: (room: String, job: any RepublishJob)] = [:]

    var count: Int { lock.withLock { jobs.count } }
    func insert(_ id: String, room: String, _ job: any RepublishJob) { lock.withLock { jobs[id] = (room, job) } }
    @discardableResult func remove(_ id: String) -> (any RepublishJob)? { lock.withLock { jobs.removeValue(forKey: id)?.job } }

    /// Removes and returns the pushes of `room` (every push when nil).
    func removeAll(inRoom room: String?) -> [any RepublishJob] {
        lock.withLock {
            let ids = jobs.filter { room == nil || $0.value.room == room }.map(\.key)
            return ids.compactMap { jobs.removeValue(forKey: $0)?.job }
        }
    }
}

/// Recordings of published streams (`record: true`), made by the server, which writes files.
public protocol RecordingService: Sendable {
    /// `--record-all`: every publish is recorded, asked or not.
    var recordsEverything: Bool { get }
    /// The file name a recording of `stream` with these tracks gets (the server's, never the client's).
    func recordName(stream: String, tracks: [StreamRecord.Track]) -> String
    /// Prepares the recording of live stream `stream` into `name`; the caller runs the job in its own task. It
    /// ends with the stream (or `stop`), and the file is complete then.
    func record(stream: String, name: String) async throws(MediaServiceError) -> any RecordingJob
}

/// One recording: `record` writes until the stream ends, `stop` is called or a limit is reached, and returns how
/// it ended; the file is complete (renamed, downloadable) when it returns.
public protocol RecordingJob: Sendable {
    func record() async -> RecordingEnd
    func stop() async
}

public enum RecordingEnd: Sendable, Equatable {
    /// With its stream, or stopped by the server (the publisher left, the server shut down).
    case finished
    /// Before its stream ended: the file holds what came before.
    case stopped(RecordingStop)
}

/// How a recording goes, for its publisher's adapter to tell in its own words.
public enum RecordingProgress: Sendable, Equatable {
    /// Writing, from the stream's going live.
    case started
    case ended(RecordingEnd)
    /// It never started (no space, nothing recordable, the stream gone).
    case refused(MediaServiceError)
}

extension RecordingService {
    /// Records live `stream` into `name`, the job a child of `relays` (so it ends with the stream or the socket);
    /// `tell` hears `started` then `ended`, or `refused` (which is logged too).
    func start(stream: String, name: String, relays: StreamRelays, logger: Logger,
               tell: @escaping @Sendable (RecordingProgress) -> Void) async {
        do throws(MediaServiceError) {
            let job = try await record(stream: stream, name: name)
            tell(.started)
            relays.start { tell(.ended(await job.record())) }
        } catch {
            logger.warning("recording refused", metadata: ["stream": "\(stream)", "reason": "\(error)"])
            tell(.refused(error))
        }
    }
}

/// Why a recording ended before its stream; the raw values are the wire's `reason` codes.
public enum RecordingStop: String, Sendable, Equatable {
    /// `--record-max-seconds` reached.
    case maxLength = "max_length"
    /// The disk's free space fell under `--record-min-free-mb`.
    case diskFull = "disk_full"
    /// The file could not be written (the disk failed or filled up at once).
    case writeFailed = "write_failed"
    /// The disk fell behind the stream: packets would have been lost, so the recording ends rather than gap.
    case tooSlow = "too_slow"
}

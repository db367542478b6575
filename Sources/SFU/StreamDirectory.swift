import NIOCore
import Synchronization

/// The published streams of every media loop, by id: the one table the engine finds a stream in, shared by the
/// loops under a lock (it is touched when a stream starts or ends and when a viewer arrives, never per packet).
final class StreamDirectory: Sendable {
    private let streams = Mutex<[String: PublishedStream]>([:])

    func stream(_ id: String) -> PublishedStream? { streams.withLock { $0[id] } }

    /// False when `id` is taken.
    func add(_ stream: PublishedStream, id: String) -> Bool {
        streams.withLock { table in
            guard table[id] == nil else { return false }
            table[id] = stream
            return true
        }
    }

    /// Publishes `id` on `loop`: one producer per track, on that loop. Throws when `id` is taken.
    func publish(_ id: String, tracks: [ProducerParameters], extensions: HeaderExtensionIDs, loop: any EventLoop,
                 loopIndex: Int, keyframeCache: Bool) throws -> [Producer] {
        let producers = tracks.map { Producer(parameters: $0, loop: loop) }
        for producer in producers { producer.keyframeCache = keyframeCache }
        let stream = PublishedStream(producers: producers, extensions: extensions, loop: loop, loopIndex: loopIndex,
                                     keyframeCache: keyframeCache)
        guard add(stream, id: id) else { throw MediaEngineError.streamIDInUse }
        return producers
    }

    func remove(_ id: String) { _ = streams.withLock { $0.removeValue(forKey: id) } }
}

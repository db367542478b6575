import NIOCore
import Synchronization

/// A published stream: its producers on the publisher's loop, and their mirrors on the other loops that have
/// viewers of it (made by the first such viewer).
final class PublishedStream: @unchecked Sendable {  // producers are confined to their loops; the table is locked
    let extensions: HeaderExtensionIDs
    private let producers: [Producer]
    let loop: any EventLoop
    let loopIndex: Int
    private let keyframeCache: Bool
    private let mirrors = Mutex<[ObjectIdentifier: [Producer]]>([:])
    /// Viewers (play transports) by media loop index.
    private let viewers = Mutex<[Int: Int]>([:])

    /// Each track's parameters, copied out of the producers so that any thread may read them.
    let tracks: [ProducerParameters]

    init(producers: [Producer], extensions: HeaderExtensionIDs, loop: any EventLoop, loopIndex: Int, keyframeCache: Bool) {
        self.producers = producers
        self.tracks = producers.map(\.parameters)
        self.extensions = extensions
        self.loop = loop
        self.loopIndex = loopIndex
        self.keyframeCache = keyframeCache
    }

    func viewerAdded(loop index: Int) { viewers.withLock { $0[index, default: 0] += 1 } }
    func viewerRemoved(loop index: Int) { viewers.withLock { $0[index, default: 0] -= 1 } }

    /// On `viewerLoop`: when its mirrors have no consumers left, they are dropped and the originals stop handing
    /// packets to that loop. A later viewer there makes new ones (its request reaches the originals after this
    /// removal: tasks from one loop to another run in order).
    func releaseMirrorsIfUnused(on viewerLoop: any EventLoop) {
        guard viewerLoop !== loop else { return }
        mirrors.withLock { table in
            let key = ObjectIdentifier(viewerLoop)
            guard let current = table[key], current.allSatisfy({ $0.consumers.isEmpty }) else { return }
            table[key] = nil
            let pairs = zip(producers, current).map { (LoopConfined($0, on: loop), LoopConfined($1, on: viewerLoop)) }
            loop.execute { for (original, mirror) in pairs { original.value.removeMirror(mirror) } }
        }
    }

    /// The operator's mute of the tracks of one kind (audio when `video` is false), on the publisher's loop.
    func setMuted(_ muted: Bool, video: Bool, now: @escaping @Sendable () -> Double) async {
        let originals = producers.filter { $0.isVideo == video }.map { LoopConfined($0, on: loop) }
        guard !originals.isEmpty else { return }
        try? await loop.submit { for p in originals { p.value.setMuted(muted, now: now()) } }.get()
    }

    /// Each track's statistics: the publisher's leg read on its loop, the viewers' summed over every loop.
    func statistics() async -> [TrackStatistics] {
        guard var tracks = try? await Self.statistics(of: producers, on: loop) else { return [] }
        for mirrorSet in mirrors.withLock({ Array($0.values) }) {
            guard let mirrorLoop = mirrorSet.first?.loop,
                  let viewers = try? await Self.statistics(of: mirrorSet, on: mirrorLoop) else { continue }
            for (index, part) in viewers.enumerated() where tracks.indices.contains(index) {
                tracks[index].addViewers(of: part)
            }
        }
        return tracks
    }

    /// `producers`' statistics with their consumers', read on `loop`, where they live.
    private static func statistics(of producers: [Producer], on loop: any EventLoop) async throws -> [TrackStatistics] {
        let confined = producers.map { LoopConfined($0, on: loop) }
        return try await loop.submit {
            confined.map { producer in
                var track = producer.value.trackStatistics()
                for consumer in producer.value.consumers { track.add(consumer) }
                return track
            }
        }.get()
    }

    /// Mirrors handed packets by the originals (for tests).
    func mirrorCount() async throws -> Int {
        let originals = producers.map { LoopConfined($0, on: loop) }
        return try await loop.submit { originals.reduce(0) { $0 + $1.value.mirrorCount } }.get()
    }

    /// The loop for a new viewer: the publisher's while the audience is small, then the least loaded (the
    /// publisher's loop counts the publisher as one more).
    func placeViewer(loops: Int, spreadFrom threshold: Int) -> Int {
        viewers.withLock { counts in
            guard counts.values.reduce(0, +) >= threshold else { return loopIndex }
            func load(_ index: Int) -> Int { counts[index, default: 0] + (index == loopIndex ? 1 : 0) }
            var best = loopIndex
            for index in 0..<loops where load(index) < load(best) { best = index }
            return best
        }
    }

    /// The producers a viewer on `viewerLoop` attaches to: the originals on the publisher's loop, else that loop's
    /// mirrors. Called on `viewerLoop`.
    func producers(on viewerLoop: any EventLoop, now: Double) -> [Producer] {
        if viewerLoop === loop { return producers }
        return mirrors.withLock { table in
            let key = ObjectIdentifier(viewerLoop)
            if let existing = table[key] { return existing }
            let created = producers.map { Producer(mirroring: $0, on: loop, viewerLoop: viewerLoop, keyframeCache: keyframeCache) }
            table[key] = created
            let pairs = zip(producers, created).map { (LoopConfined($0, on: loop), LoopConfined($1, on: viewerLoop)) }
            loop.execute {
                for (original, mirror) in pairs { original.value.addMirror(mirror, now: now) }
            }
            return created
        }
    }
}

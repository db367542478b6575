// A generator thread: an epoll loop over its peers' sockets, their timers and the publishers' schedules.
// Peers never move between workers; the control plane talks to them only through `submit`/`run`.
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

final class Worker: @unchecked Sendable {  // its state is touched only on its own thread, or under `lock`
    let index: Int
    private let epfd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let lock = NSLock()
    private var inbox: [@Sendable () -> Void] = []
    private var stopped = false
    private var thread: Thread?
    private var peers: [Int32: Peer] = [:]
    private var publishers: [Peer] = []
    private let batch = ReceiveBatch()
    private var scratch = ByteBufferAllocator().buffer(capacity: 4096)
    /// Latency of every measured packet received by this worker's subscribers (µs): send → the kernel queued it on
    /// the subscriber's socket (the server's share), and send → the generator read it (end to end).
    var latency = LatencyHistogram()
    var latencyEndToEnd = LatencyHistogram()

    init(index: Int) {
        self.index = index
        epfd = Sys.epollCreate1(0x80000)  // EPOLL_CLOEXEC
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, O_NONBLOCK)
        _ = fcntl(wakeWrite, F_SETFL, O_NONBLOCK)
        Sys.epollAdd(epfd, fd: wakeRead, token: UInt64(UInt32.max))
    }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "bench-worker-\(index)"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    func stop() {
        submit { [self] in self.stopped = true }
    }

    /// Runs `body` on the worker's thread.
    func submit(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        inbox.append(body)
        lock.unlock()
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Runs `body` on the worker's thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    // MARK: on the worker thread

    func add(_ peer: Peer) {
        peers[peer.socket.fd] = peer
        Sys.epollAdd(epfd, fd: peer.socket.fd, token: UInt64(UInt32(bitPattern: peer.socket.fd)))
        if peer.role == .publisher { publishers.append(peer) }
    }

    func remove(_ peer: Peer) {
        guard peers.removeValue(forKey: peer.socket.fd) != nil else { return }
        Sys.epollDelete(epfd, fd: peer.socket.fd)
        publishers.removeAll { $0 === peer }
    }

    var allPeers: [Peer] { Array(peers.values) }

    private func loop() {
        let maxEvents = 256
        let events = UnsafeMutableRawPointer.allocate(byteCount: maxEvents * Sys.epollEventSize, alignment: 8)
        defer { events.deallocate() }
        var nextHousekeeping: UInt64 = 0
        while !stopped {
            var now = clockNanos()
            var due = now + 5_000_000
            for publisher in publishers {
                due = min(due, publisher.pump(now: now))
            }
            if now >= nextHousekeeping {
                for peer in peers.values { peer.housekeeping(now: now) }
                nextHousekeeping = now + 10_000_000
            }
            due = min(due, nextHousekeeping)
            now = clockNanos()
            let timeout = due > now ? Int32((due - now + 999_999) / 1_000_000) : 0
            let n = Sys.epollWait(epfd, events, Int32(maxEvents), timeout)
            guard n > 0 else { continue }
            for i in 0..<Int(n) {
                let token = events.loadUnaligned(fromByteOffset: i * Sys.epollEventSize + 4, as: UInt64.self)
                if token == UInt64(UInt32.max) {
                    drainInbox()
                    continue
                }
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
                guard let peer = peers[fd] else { continue }
                // Level-triggered: a busy socket is read again on the next round, so no socket starves the others.
                for _ in 0..<4 {
                    let count = batch.receive(fd: fd)
                    guard count > 0 else { break }
                    let received = clockNanos()
                    for j in 0..<count {
                        peer.receive(batch.datagram(j), now: received, kernelTime: batch.kernelTime(j) ?? received,
                                     scratch: &scratch)
                    }
                    if count < ReceiveBatch.slots { break }
                }
            }
        }
        for peer in peers.values { peer.close(now: clockNanos()) }
    }

    private func drainInbox() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
        lock.lock()
        let work = inbox
        inbox.removeAll()
        lock.unlock()
        for body in work { body() }
    }
}

/// The generator's threads; peers are spread over them round-robin.
final class WorkerPool: Sendable {
    let workers: [Worker]
    /// Publishers' own thread, if asked for: a browser's pacer is not held up by receiving, so the publishers
    /// must not wait behind a receive batch of a hundred subscribers and then send their packets in a burst.
    private let publisherWorker: Worker?
    private let counter = Mutex(0)

    init(threads: Int, publisherThread: Bool = false) {
        var all = (0..<max(1, threads)).map { Worker(index: $0) }
        publisherWorker = publisherThread ? Worker(index: all.count) : nil
        if let publisherWorker { all.append(publisherWorker) }
        workers = all
        for w in workers { w.start() }
    }

    func next(publisher: Bool = false) -> Worker {
        if publisher, let publisherWorker { return publisherWorker }
        let shared = publisherWorker == nil ? workers.count : workers.count - 1
        let i = counter.withLock { value -> Int in
            defer { value += 1 }
            return value
        }
        return workers[i % shared]
    }

    func stop() { for w in workers { w.stop() } }

    /// Runs `body` on every worker and collects the results.
    func each<T: Sendable>(_ body: @escaping @Sendable (Worker) -> T) async -> [T] {
        var results: [T] = []
        for w in workers { results.append(await w.run { body(w) }) }
        return results
    }
}

import Synchronization

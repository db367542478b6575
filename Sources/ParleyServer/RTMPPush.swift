import Logging
import NIOCore
import NIOPosix
import RTMP
import SFU
import Signaling
import Synchronization

/// `republish`: pushes of published streams to other RTMP servers, with the remuxing an RTMP player of Parley's
/// gets (H.264 repackaged, Opus to AAC).
struct RTMPRepublisher: RepublishService {
    let server: ParleyServer
    let logger: Logger

    func republish(id: String, stream: String, url: String,
                   onEvent: @escaping @Sendable (RepublishEvent) -> Void) async throws(MediaServiceError) -> any RepublishJob {
        let target: RTMPURL
        do throws(RTMPURL.Invalid) {
            target = try RTMPURL(url)
        } catch {
            throw MediaServiceError(code: "bad_url", message: error.message)
        }
        guard !target.secure else {
            throw MediaServiceError(code: "bad_url", message: "rtmps:// pushes are not supported yet: use rtmp://")
        }
        let allowLocal = server.configuration.republishToLocal
        do throws(PushTarget.Refusal) {
            _ = try await PushTarget.resolve(host: target.host, port: target.port, allowLocal: allowLocal)
        } catch {
            throw MediaServiceError(code: "bad_url", message: error.message)
        }
        let played: RTMPPlayedStream
        do throws(RTMPPlayedStream.Refusal) {
            played = try await RTMPPlayedStream.attach(stream, label: stream, server: server)
        } catch {
            switch error {
            case .notFound: throw MediaServiceError(code: "unknown_stream", message: "No live stream '\(stream)'")
            case .unplayable(let why): throw MediaServiceError(code: "unsupported_codec", message: why)
            }
        }
        var logger = self.logger
        logger[metadataKey: "republish"] = "\(id)"
        logger[metadataKey: "url"] = "\(target)"
        return RTMPPush(url: target, allowLocal: allowLocal, played: played, onEvent: onEvent, logger: logger)
    }

    func prefersH264(inRoom room: String) -> Bool { server.rtmpAudience.isWatched(room) }
}

/// One push to another RTMP server: connect, publish, then the stream from a keyframe; when the far end drops or
/// refuses, again after a backoff of 1, 2, 4 … 30 s (reset once a publish has lasted a minute), until the source
/// ends or `stop`. The attempts run in the caller's task; the sink keeps the source's packets coming meanwhile.
final class RTMPPush: RepublishJob {
    let url: RTMPURL
    let allowLocal: Bool
    let played: RTMPPlayedStream
    let onEvent: @Sendable (RepublishEvent) -> Void
    let logger: Logger
    static let connectTimeout: TimeAmount = .seconds(10)
    /// From connected to `NetStream.Publish.Start`.
    static let publishDeadline: TimeAmount = .seconds(15)
    static let maxBackoff = 30
    /// Stopped by its owner; the channel of the attempt under way, closed by `stop` unless it is publishing (then
    /// the push ends it politely).
    private let state = Mutex<(stopped: Bool, channel: (any Channel)?, publishing: Bool)>((false, nil, false))

    init(url: RTMPURL, allowLocal: Bool, played: RTMPPlayedStream, onEvent: @escaping @Sendable (RepublishEvent) -> Void, logger: Logger) {
        self.url = url
        self.allowLocal = allowLocal
        self.played = played
        self.onEvent = onEvent
        self.logger = logger
    }

    private enum Outcome {
        case sourceEnded
        case stopped
        case failed(String, published: Duration)
    }

    func stop() async {
        let channel = state.withLock { s -> (any Channel)? in
            s.stopped = true
            return s.publishing ? nil : s.channel
        }
        channel?.close(promise: nil)
        await played.detach()  // the items end: a push waiting for media or a backoff sees the stop
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    func run() async {
        var items = played.items.makeAsyncIterator()
        var attempt = 0
        var delay = 1
        var outcome = Outcome.stopped
        while !stopped {
            attempt += 1
            onEvent(.connecting(attempt: attempt))
            outcome = await attemptPush(&items, attempt: attempt)
            guard case .failed(let why, let published) = outcome else { break }
            if published > .seconds(60) { delay = 1 }
            logger.notice("RTMP push failed", metadata: ["error": "\(why)", "retryIn": "\(delay)"])
            onEvent(.retrying(message: why, delay: delay))
            // The backoff: the source's packets are read and dropped meanwhile (so its end or a stop is seen at
            // once), until a timer's marker says it is over, even if the source sends nothing.
            let continuation = played.continuation, seconds = delay, round = attempt
            outcome = await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await Task.sleep(for: .seconds(seconds))
                    continuation.yield(.marker(.backoffOver(attempt: round)))
                }
                defer { group.cancelAll() }
                while let item = await items.next() {
                    switch item {
                    case .ended: return self.stopped ? .stopped : .sourceEnded
                    case .marker(.backoffOver(let a)) where a == round: return outcome
                    default: continue
                    }
                }
                return self.stopped ? .stopped : .sourceEnded
            }
            if case .failed = outcome {} else { break }
            delay = min(delay * 2, Self.maxBackoff)
        }
        if case .failed = outcome { outcome = .stopped }
        await played.detach()
        logger.info("RTMP push ended", metadata: ["attempts": "\(attempt)"])
        if case .sourceEnded = outcome { onEvent(.ended(.unpublished)) } else { onEvent(.ended(.stopped)) }
    }

    /// One connection: the handshake and publish (within `publishDeadline`), then media until the connection
    /// ends, the source ends or the push stops.
    private func attemptPush(_ items: inout AsyncStream<PlayItem>.Iterator, attempt: Int) async -> Outcome {
        let address: SocketAddress
        do throws(PushTarget.Refusal) {
            address = try await PushTarget.resolve(host: url.host, port: url.port, allowLocal: allowLocal)
        } catch {
            return .failed(error.message, published: .zero)
        }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(Self.connectTimeout)
                .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Nothing read or written for the timeout: a server that never answers, or a stalled link.
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: RTMPService.idleTimeout))
                        try channel.pipeline.syncOperations.addHandler(IdleCloser())
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .failed("Cannot connect to \(url.host):\(url.port): \(error)", published: .zero)
        }
        let stoppedMeanwhile = state.withLock { s -> Bool in
            s.channel = channel.channel
            s.publishing = false
            return s.stopped
        }
        defer { state.withLock { $0.channel = nil; $0.publishing = false } }
        if stoppedMeanwhile {
            try? await channel.channel.close()
            return .stopped
        }
        // A server that answers (pings keep the idle timer quiet) but never lets the publish start is left.
        let connection = channel.channel
        channel.channel.eventLoop.scheduleTask(in: Self.publishDeadline) { [self] in
            if !state.withLock({ $0.publishing }) { connection.close(promise: nil) }
        }
        var outcome = Outcome.failed("The server closed the connection", published: .zero)
        let markers = played.continuation
        do {
            try await channel.executeThenClose { inbound, outbound in
                let (signals, signal) = AsyncStream.makeStream(of: RTMPClientConnection.self)
                outcome = await withTaskGroup(of: String.self) { group in
                    // The server's side, all along: the handshake and publish, then acknowledgements and pings
                    // answered; a refusal or a close ends the attempt (returned as the reason), and the pump hears
                    // of it through its items even while no media comes.
                    group.addTask {
                        defer {
                            signal.finish()
                            connection.close(promise: nil)
                            markers.yield(.marker(.connectionEnded(attempt: attempt)))
                        }
                        var rtmp = RTMPClientConnection(url: self.url)
                        do {
                            var out = ByteBuffer()
                            rtmp.start(output: &out)
                            try await outbound.write(out)
                            var pending = ByteBuffer()
                            for try await bytes in inbound {
                                pending.writeImmutableBuffer(bytes)
                                var out = ByteBuffer()
                                let events = try rtmp.receive(&pending, output: &out)
                                if out.readableBytes > 0 { try await outbound.write(out) }
                                pending.discardReadBytes()
                                for event in events {
                                    switch event {
                                    case .publishing: signal.yield(rtmp)
                                    case .refused(let code, let description): return "The server refused: \(code): \(description)"
                                    }
                                }
                            }
                        } catch {
                            return "The connection broke: \(error)"
                        }
                        return rtmp.phase == .publishing ? "The server closed the connection"
                            : "The server closed the connection before the publish started"
                    }
                    var publishing = signals.makeAsyncIterator()
                    guard var client = await publishing.next() else {
                        return self.stopped ? .stopped : .failed(await group.next() ?? "The connection broke", published: .zero)
                    }
                    self.state.withLock { $0.publishing = true }
                    let started = ContinuousClock.now
                    self.onEvent(.publishing)
                    self.logger.info("RTMP push publishing")
                    // What queued while connecting is old: the publish starts from what comes after this.
                    markers.yield(.marker(.fresh(attempt: attempt)))
                    let result = await self.pump(&items, attempt: attempt, outbound: outbound, client: &client)
                    guard case .failed = result else {
                        group.cancelAll()
                        return result
                    }
                    return .failed(await group.next() ?? "The connection broke", published: .now - started)
                }
            }
        } catch {
            logger.debug("RTMP push connection ended", metadata: ["error": "\(error)"])
        }
        return outcome
    }

    /// The stream from a keyframe until a write fails, the source ends or the push stops (then the far server is
    /// told, so its players end at once).
    private func pump(_ items: inout AsyncStream<PlayItem>.Iterator, attempt: Int, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                      client: inout RTMPClientConnection) async -> Outcome {
        var remux = RTMPRemux(played, writer: client.media)
        var fresh = false
        while let item = await items.next(), !item.isEnd {
            switch item {
            case .marker(.fresh(let a)) where a == attempt:
                fresh = true
                continue
            case .marker(.connectionEnded(let a)) where a == attempt:
                return .failed("", published: .zero)
            case .marker:
                continue  // another attempt's
            default:
                guard fresh else { continue }
            }
            do {
                try await remux.forward(item, to: outbound)
            } catch {
                return .failed("", published: .zero)
            }
        }
        var out = ByteBuffer()
        client.unpublish(output: &out)
        try? await outbound.write(out)
        outbound.finish()
        return stopped ? .stopped : .sourceEnded
    }
}

import Foundation
import Logging
import MediaNegotiation
import NIOCore
import NIOPosix
import RTMP
import RTP
import Rooms
import SFU
import Signaling

/// One RTMP connection: a publisher (`rtmp://HOST/ROOM/NAME` joins ROOM as NAME and publishes its camera into
/// the room, where every WebRTC client plays it) or a player (of NAME's stream in ROOM, as FLV). The RTMP protocol
/// is `RTMPServerConnection`'s, the media conversion `RTMPIngest`'s and `RTMPPlayPump`'s; this adapter only
/// translates events to the hub, the stream lifecycle, the media feed and the sink. Owned by its connection's task.
final class RTMPConnection {
    private let server: ParleyServer
    private let publishers: RTMPPublishers
    private var channel: (any Channel)?
    private var logger: Logger
    private var rtmp = RTMPServerConnection()
    private var closing = false
    /// When the publish or play was refused: the connection stays open a moment so the client reads why
    /// (ffmpeg and OBS read statuses between writes), its media ignored.
    private var refusedAt: ContinuousClock.Instant?
    static let refusalLinger: Duration = .seconds(2)

    /// A publisher, from its accepted `publish` on.
    private struct Publisher {
        let session: SessionID
        let room: String
        let name: String
        let ingest: RTMPIngest
        /// `?record=true` on the stream key or the application.
        var record = false
        var stream: String?
        var feed: MediaFeedHandle?
        var live = false
        var reencodingLogged = false
        var anchorLogged = false
    }
    private var publisher: Publisher?
    /// A player, from its accepted `play` on: its sink on the stream, and its pump once started.
    private var playing: RTMPPlayedStream?
    private var startingPump: RTMPPlayPump?
    /// A publisher's recording (`?record=true`), started as a child of the connection's task once live.
    private var startingRecording: (any RecordingJob)?
    private var recording: (any RecordingJob)?
    private var outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>?

    init(server: ParleyServer, publishers: RTMPPublishers, logger: Logger) {
        self.server = server
        self.publishers = publishers
        self.logger = logger
    }

    func run(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        self.channel = channel.channel
        do {
            try await channel.executeThenClose { inbound, outbound in
                self.outbound = outbound
                // A player's media is written by its pump, a child of this task; the reading goes on here.
                try await withThrowingDiscardingTaskGroup { group in
                    var pending = ByteBuffer()
                    for try await bytes in inbound {
                        pending.writeImmutableBuffer(bytes)
                        var out = ByteBuffer()
                        do {
                            for event in try rtmp.receive(&pending, output: &out) where refusedAt == nil {
                                await handle(event, out: &out)
                                if closing { break }
                            }
                        } catch {
                            logger.notice("RTMP connection broke the protocol", metadata: ["error": "\(error)"])
                            closing = true
                        }
                        if out.readableBytes > 0 { try await outbound.write(out) }
                        if let pump = startingPump {
                            startingPump = nil
                            group.addTask { await pump.run() }
                        }
                        if let job = startingRecording {
                            startingRecording = nil
                            recording = job
                            group.addTask { _ = await job.record() }  // an RTMP publisher has no one to tell: logged
                        }
                        if closing { break }
                        if let refusedAt, ContinuousClock.now - refusedAt > Self.refusalLinger { break }
                        pending.discardReadBytes()
                    }
                    await stopPlaying()
                    await recording?.stop()  // the file is finished before the connection's children are awaited
                }
            }
        } catch {
            logger.debug("RTMP connection ended", metadata: ["error": "\(error)"])
        }
        await stopPlaying()
        await end(reason: .disconnected)
    }

    private func handle(_ event: RTMPServerConnection.Event, out: inout ByteBuffer) async {
        switch event {
        case .connected(let app, _):
            logger[metadataKey: "rtmp.app"] = "\(app)"
            logger[metadataKey: "rtmp.handshake"] = "\(rtmp.usedDigestHandshake ? "digest" : "simple")"
        case .publish(let rawName):
            await publish(rawName, out: &out)
        case .play(let rawName):
            await play(rawName, out: &out)
        case .stop:
            await stopPlaying()
            closing = true
        case .unpublish:
            await end(reason: .left)
            closing = true
        case .metadata(let value):
            publisher?.ingest.metadata(value)
        case .video(let timestamp, let payload):
            await media(out: &out) { (ingest) async throws(RTMPIngest.Refusal) in
                guard server.configuration.rtmpTranscode else { return try ingest.video(timestamp: timestamp, payload: payload) }
                // --rtmp-transcode may decode and encode this frame (milliseconds): on the blocking pool, not on a
                // thread of the tasks' pool; the connection awaits it, so the ingest has one user at a time.
                let box = IngestBox(ingest)
                let result: Result<[RTMPIngest.Output], RTMPIngest.Refusal>
                do {
                    result = try await NIOThreadPool.singleton.runIfActive {
                        do throws(RTMPIngest.Refusal) {
                            return .success(try box.ingest.video(timestamp: timestamp, payload: payload))
                        } catch {
                            return .failure(error)
                        }
                    }
                } catch {
                    return []  // the pool is shutting down
                }
                return try result.get()
            }
        case .audio(let timestamp, let payload):
            await media(out: &out) { (ingest) async throws(RTMPIngest.Refusal) in try ingest.audio(timestamp: timestamp, payload: payload) }
        }
    }

    // MARK: play

    /// `rtmp://HOST/ROOM/NAME` played: participant NAME's camera stream (or the stream whose id is NAME), as FLV.
    private func play(_ rawName: String, out: inout ByteBuffer) async {
        guard publisher == nil, playing == nil, let outbound else {
            refuse("NetStream.Play.Failed", "This connection already publishes or plays", out: &out)
            return
        }
        let room: String
        do throws(RoomError) {
            room = try Validation.roomName(RTMPNames.strippingQuery(rtmp.app ?? ""))
        } catch {
            refuse("NetStream.Play.StreamNotFound", "rtmp://HOST/ROOM/NAME: \(error.message)", out: &out)
            return
        }
        let target = RTMPNames.strippingQuery(rawName)
        if let refusal = await authorize(rawName, room: room, publishing: nil) {
            refuse("NetStream.Play.Failed", refusal, out: &out)
            return
        }
        let hub = server.hub
        var found: String?
        for participant in await hub.participants(in: room) {
            if participant.name == target { found = (participant.streams.first { $0.video } ?? participant.streams.first)?.id }
            if participant.streams.contains(where: { $0.id == target }) { found = target }
        }
        guard let id = found else {
            refuse("NetStream.Play.StreamNotFound", "Nobody in room '\(room)' publishes '\(target)'", out: &out)
            return
        }
        let played: RTMPPlayedStream
        do throws(RTMPPlayedStream.Refusal) {
            played = try await RTMPPlayedStream.attach(id, label: target, server: server)
        } catch {
            switch error {
            case .notFound: refuse("NetStream.Play.StreamNotFound", "Nobody in room '\(room)' publishes '\(target)'", out: &out)
            case .unplayable(let why): refuse("NetStream.Play.Failed", why, out: &out)
            }
            return
        }
        logger.info("RTMP player started", metadata: ["room": "\(room)", "stream": "\(id)"])
        playing = played
        rtmp.acceptPlay(output: &out)
        startingPump = RTMPPlayPump(played: played, outbound: outbound)
    }

    private func stopPlaying() async {
        guard let played = playing else { return }
        playing = nil
        await played.detach()
    }

    // MARK: publish

    private func publish(_ rawName: String, out: inout ByteBuffer) async {
        guard publisher == nil, playing == nil else {
            refuse("NetStream.Publish.BadName", "This connection already publishes or plays", out: &out)
            return
        }
        let room: String, name: String
        do throws(RoomError) {
            room = try Validation.roomName(RTMPNames.strippingQuery(rtmp.app ?? ""))
            name = try Validation.username(RTMPNames.strippingQuery(rawName))
        } catch {
            refuse("NetStream.Publish.BadName", "rtmp://HOST/ROOM/NAME: \(error.message)", out: &out)
            return
        }
        let asksToRecord = RTMPNames.asksToRecord(rawName) || RTMPNames.asksToRecord(rtmp.app ?? "")
        let record = server.configuration.recordAll || asksToRecord
        // Before a takeover: only a holder of a token for this name may take it from a running encoder.
        if let refusal = await authorize(rawName, room: room, publishing: (name, record && !server.configuration.recordAll)) {
            refuse("NetStream.Publish.Denied", refusal, out: &out)
            return
        }
        if let hook = server.authHook, let refusal = await hook.authorize(.init(
            .publish, name: name, room: room, record: asksToRecord, door: .rtmp, address: channel?.remoteAddress?.ipAddress,
            token: RTMPNames.token(rawName) ?? RTMPNames.token(rtmp.app ?? ""))) {
            refuse("NetStream.Publish.Denied", refusal.message, out: &out)
            return
        }
        let hub = server.hub
        let key = RTMPPublishers.key(room: room, name: name)
        if let stale = publishers.current(key) {
            // The same encoder reconnecting (or another one with its key): the newest takes the name over.
            logger.info("RTMP publisher takes over its name", metadata: ["room": "\(room)", "name": "\(name)"])
            stale.channel.close(promise: nil)
            await hub.closeSession(stale.session, reason: .disconnected)
        }
        let session = await hub.openSession(sink: RTMPSink(channel: channel))
        var refusal: RoomError?
        await hub.join(session, name: name, room: room, maxParticipants: nil) { result in
            if case .failure(let error) = result { refusal = error }
        }
        if let refusal {
            await hub.closeSession(session)
            refuse("NetStream.Publish.BadName", refusal.message, out: &out)
            return
        }
        logger[metadataKey: "session"] = "\(session)"
        logger.info("RTMP publisher joined", metadata: ["room": "\(room)", "name": "\(name)"])
        publisher = Publisher(session: session, room: room, name: name,
                              ingest: RTMPIngest(transcodeBFrames: server.configuration.rtmpTranscode),
                              record: record)
        if let channel { _ = publishers.claim(key, .init(session: session, channel: channel)) }
        rtmp.acceptPublish(output: &out)
    }

    /// One media message: repackaged (and, for audio, transcoded) into RTP for the stream's tracks. The stream is
    /// published once its tracks are known, and announced in the room once its first keyframe is in.
    private func media(out: inout ByteBuffer, _ body: (RTMPIngest) async throws(RTMPIngest.Refusal) -> [RTMPIngest.Output]) async {
        guard let p = publisher else { return }
        var outputs: [RTMPIngest.Output]
        do {
            outputs = try await body(p.ingest)
        } catch {
            refuse(error.code, error.description, out: &out)
            return
        }
        if !p.anchorLogged, let anchor = p.ingest.clockAnchor {
            // For measurements: the publisher's timestamps map to the wall clock from here (Sender Reports).
            publisher?.anchorLogged = true
            logger.info("RTMP clock anchored", metadata: ["rtmpMs": "\(anchor.milliseconds)",
                                                          "unixTime": "\(String(format: "%.6f", anchor.unixTime))"])
        }
        if p.ingest.isReencoding, !p.reencodingLogged {
            publisher?.reencodingLogged = true
            logger.notice("RTMP publisher sends B-frames: re-encoding without them (--rtmp-transcode)")
        }
        if p.feed == nil {
            guard let tracks = p.ingest.readyTracks else { return }
            guard await startStream(tracks, out: &out) else { return }
            outputs = p.ingest.started(tracks) + outputs
        }
        guard let feed = publisher?.feed, !outputs.isEmpty else { return }
        feed.execute { [outputs] feed in
            for output in outputs {
                switch output {
                case .packet(let packet, let track): feed.receive(packet, track: track)
                case .senderReport(let report, let track): feed.receiveSenderReport(report, track: track)
                }
            }
        }
        if publisher?.live == false {
            publisher?.live = true
            await announce()
        }
    }

    /// The stream's record and its media, with the tracks the encoder sends (H.264 with its own SPS's profile).
    private func startStream(_ tracks: [SourceTrack], out: inout ByteBuffer) async -> Bool {
        guard let p = publisher else { return false }
        let id = StreamID.mint()
        let record = StreamRecord(id: id, owner: p.session, room: p.room, origin: .source("rtmp"), description: StreamDescription(
            id: id, display: "rtmp", audio: tracks.contains { $0.kind == .audio }, video: tracks.contains { $0.kind == .video }))
        do {
            let feed = try await server.publish(record, tracks: tracks) { _ in EncoderSource() }
            publisher?.stream = id
            publisher?.feed = feed
            return true
        } catch {
            logger.warning("RTMP stream refused", metadata: ["error": "\(error)"])
            refuse("NetStream.Publish.Rejected", (error as? RoomError)?.message ?? "The media plane cannot take the stream", out: &out)
            return false
        }
    }

    private func announce() async {
        guard let p = publisher, let stream = p.stream else { return }
        let lifecycle = StreamLifecycle(hub: server.hub, media: server.mediaSessions, session: p.session)  // for an operator's mute
        switch await lifecycle.announce(stream) {
        case .failure(let error):
            logger.notice("RTMP stream not announced", metadata: ["error": "\(error.message)"])
            closing = true
        case .success(let live) where p.record:
            let recordings = StreamRecordings(server: server, logger: logger)
            let name = RTMPNames.recordName(room: p.room, name: p.name, extension: recordings.recordName(stream: stream, tracks: live.tracks))
            do {
                startingRecording = try await recordings.record(stream: stream, name: name)
                logger.info("RTMP publisher recorded", metadata: ["recordName": "\(name)"])
            } catch {
                logger.warning("RTMP recording refused", metadata: ["reason": "\(error.message)"])
            }
        case .success:
            break
        }
    }

    /// The publisher's end, however it ends: its stream is withdrawn, its media ends, it leaves the room.
    private func end(reason: LeaveReason) async {
        guard let p = publisher else { return }
        publisher = nil
        publishers.release(RTMPPublishers.key(room: p.room, name: p.name), session: p.session)
        let hub = server.hub
        if let stream = p.stream {
            await StreamLifecycle(hub: hub, media: nil, session: p.session)
                .withdraw(stream, reason: reason == .left ? .unpublished : .disconnected)
        }
        await p.feed?.end()
        await hub.closeSession(p.session, reason: reason)
        logger.info("RTMP publisher left", metadata: ["room": "\(p.room)", "name": "\(p.name)"])
    }

    /// With token checks: why the URL's `?token=` (on the stream name or the app) does not allow this play, or
    /// this publish as `name` (which must be the token's subject) and its recording; nil to go on.
    private func authorize(_ rawName: String, room: String, publishing: (name: String, record: Bool)?) async -> String? {
        guard let access = server.authFailures.guarding(server.access, address: channel?.remoteAddress?.ipAddress) else { return nil }
        let token = RTMPNames.token(rawName) ?? RTMPNames.token(rtmp.app ?? "")
        let grant: AccessGrant
        switch await access.grant(token: token, missing: "This server needs an access token: add ?token=TOKEN to the stream name") {
        case .success(let granted): grant = granted
        case .failure(let refusal): return refusal.message
        }
        let refusal = grant.refusesJoin(room)
            ?? publishing.map { grant.refusesPublish(as: $0.name, record: $0.record) } ?? grant.refusesPlay()
        return refusal?.message
    }

    private func refuse(_ code: String, _ description: String, out: inout ByteBuffer) {
        logger.notice("RTMP publish refused", metadata: ["code": "\(code)", "reason": "\(description)"])
        rtmp.refuse(code: code, description: description, output: &out)
        refusedAt = .now
    }
}

/// The URL parts an RTMP client sends, as Parley reads them.
enum RTMPNames {
    /// `alice?token=…` → `alice`: a query rides on the app or the stream name.
    static func strippingQuery(_ part: String) -> String {
        String(part.prefix { $0 != "?" })
    }

    /// `alice?token=T` → `T` (percent-decoded), if the part has one.
    static func token(_ part: String) -> String? {
        guard let query = part.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.first == "token", let value = kv.dropFirst().first { return String(value).removingPercentEncoding ?? String(value) }
        }
        return nil
    }

    /// `?record=true` (or 1, yes) in a part of the URL.
    static func asksToRecord(_ part: String) -> Bool {
        guard let query = part.split(separator: "?", maxSplits: 1).dropFirst().first else { return false }
        return query.split(separator: "&").contains { pair in
            let kv = pair.split(separator: "=", maxSplits: 1)
            return kv.first == "record" && ["true", "1", "yes"].contains(kv.dropFirst().first.map { $0.lowercased() } ?? "true")
        }
    }

    /// `ROOM-NAME-YYYYMMDD-HHMMSS.mkv`: an encoder cannot be told a name, so its file is found by room, name and
    /// start time (UTC); characters outside letters, digits, `-` and `_` become `_`.
    static func recordName(room: String, name: String, extension recordName: String, at date: Date = Date()) -> String {
        let clean = { (s: String) in String(s.unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") ? Character($0) : "_" }) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let stamp = String(format: "%04d%02d%02d-%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        let ext = recordName.split(separator: ".").last.map(String.init) ?? "mkv"
        return "\(clean(room))-\(clean(name))-\(stamp).\(ext)"
    }

    static let bFramesAdvice = "This stream has B-frames, which browsers cannot play in order. Set your encoder to "
        + "send none: x264 bframes=0 (OBS: Output > Advanced, x264 options \"bframes=0\", or profile baseline), "
        + "ffmpeg -bf 0 or -tune zerolatency"
}

/// An RTMP publisher reads no room events; removed by the operator, its connection is closed.
struct RTMPSink: SessionSink {
    let channel: (any Channel)?
    func deliver(_ event: RoomEvent) {}
    func evict() { channel?.close(promise: nil) }
}

/// An RTMP encoder cannot make a keyframe on request: new viewers start from the keyframe cache.
final class EncoderSource: MediaSource, Sendable {
    func keyframeRequested(track: Int) -> Bool { false }
    func retransmissionRequested(track: Int, sequenceNumbers: [UInt16]) {}
    func feedDidEnd(_ feed: MediaFeed) {}
}

/// An ingest handed to the blocking pool for one awaited call (its connection's task waits for it).
private final class IngestBox: @unchecked Sendable {
    let ingest: RTMPIngest
    init(_ ingest: RTMPIngest) { self.ingest = ingest }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import RTP
import Synchronization
import Testing
@testable import SFU

/// The source/sink seam: a stream fed by something that is not a WebRTC publisher reaches a WebRTC player, and
/// a sink that is not a WebRTC player gets a WebRTC publisher's packets, both through the same producers and
/// consumers as browsers, on a real loopback port.
@Suite(.serialized) struct MediaSeamTests {
    static let key: [UInt8] = [0x10, 0x00] + [UInt8](repeating: 7, count: 200)
    static let delta: [UInt8] = [0x10, 0x01] + [UInt8](repeating: 8, count: 200)

    /// A source that cannot make keyframes on request, as an RTMP encoder; it counts what it is asked.
    final class EncoderLikeSource: MediaSource, @unchecked Sendable {  // touched on its loop, read after
        let requests = Mutex<(keyframes: Int, ended: Bool)>((0, false))
        func keyframeRequested(track: Int) -> Bool {
            requests.withLock { $0.keyframes += 1 }
            return false
        }
        func retransmissionRequested(track: Int, sequenceNumbers: [UInt16]) {}
        func feedDidEnd(_ feed: MediaFeed) { requests.withLock { $0.ended = true } }
    }

    /// A sink that keeps copies of what it gets.
    final class RecordingSink: MediaSink, @unchecked Sendable {  // touched on its loop, read after under the lock
        let got = Mutex<(packets: [(track: Int, sequence: UInt16, payload: [UInt8])], reports: [RTCPSenderReport], ended: Bool)>(([], [], false))
        func receive(_ packet: RTPPacket, track: Int) {
            let copy = (track, packet.sequenceNumber, Array(packet.payload.readableBytesView))
            got.withLock { $0.packets.append(copy) }
        }
        func receiveSenderReport(_ report: RTCPSenderReport, track: Int) { got.withLock { $0.reports.append(report) } }
        func streamEnded() { got.withLock { $0.ended = true } }
        var packets: [(track: Int, sequence: UInt16, payload: [UInt8])] { got.withLock { $0.packets } }
    }

    static func rtp(seq: UInt16, ts: UInt32, ssrc: UInt32 = 0x5151, payload: [UInt8]) -> RTPPacket {
        var b = ByteBuffer()
        RTPPacketWriter.write(into: &b, marker: true, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc: ssrc,
                              extensions: [], payload: ByteBuffer(bytes: payload))
        return try! RTPPacket(b)
    }

    @Test func aStreamFedByASourceIsPlayedByAWebRTCPlayerFromItsKeyframe() async throws {
        let (engine, group) = try await EngineForwardingTests().startEngine(mediaLoops: 1)
        let source = EncoderLikeSource()
        let feed = try await engine.publish(stream: "synthetic-1", tracks: [
            ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96)]) { _ in source }
        #expect(await engine.isPublished("synthetic-1"))
        #expect(engine.tracks(of: "synthetic-1")?.map(\.kind) == [.video] && engine.tracks(of: "nope") == nil)
        // A delta frame, then a keyframe and the frame after it: a player joining later starts on the keyframe.
        feed.execute { feed in
            feed.receive(Self.rtp(seq: 100, ts: 1000, payload: Self.delta), track: 0)
            feed.receive(Self.rtp(seq: 101, ts: 4000, payload: Self.key), track: 0)
            feed.receive(Self.rtp(seq: 102, ts: 7000, payload: Self.delta).buffer, track: 0)  // as bytes
            feed.receive(Self.rtp(seq: 0, ts: 0, payload: Self.key), track: 5)  // no such track: dropped
            _ = feed.receive(ByteBuffer(bytes: [1, 2, 3]), track: 0)  // not RTP: dropped
        }
        let player = try TestPeer()
        let events = MediaEngineTests.Events()
        let local = engine.makeLocalParameters()
        player.local = local
        try await engine.play(source: "synthetic-1", local: local, remote: player.remoteParameters,
                              tracks: [ConsumerParameters(producerIndex: 0, ssrc: 0xBBBB, payloadType: 100)],
                              extensions: HeaderExtensionIDs(), onEvent: { events.add($0) })
        try await EngineForwardingTests().connect(player, engine: engine)
        // The cached keyframe at once; then live packets, numbered on past the frame between (NACKed if needed).
        try await offPool { player.collect(until: { player.receivedRTP.count >= 1 }, timeout: 3) }
        var next: (UInt16, UInt32) = (103, 10000)
        if player.receivedRTP.isEmpty {
            // The cache serves a keyframe under 2 s old: on a machine so loaded that connecting took longer, the
            // next keyframe comes live, as from a publisher, and the frame after it is lost on the way.
            feed.execute { $0.receive(Self.rtp(seq: 201, ts: 20000, payload: Self.key), track: 0) }
            next = (203, 26000)
            try await offPool { player.collect { player.receivedRTP.count >= 1 } }
        }
        let live = next
        feed.execute { $0.receive(Self.rtp(seq: live.0, ts: live.1, payload: Self.delta), track: 0) }
        try await offPool { player.collect { player.receivedRTP.count >= 2 } }
        let got = try player.receivedRTP.map { try RTPPacket(ByteBuffer(bytes: $0)) }
        #expect(got.map { Array($0.payload.readableBytesView) } == [Self.key, Self.delta])
        #expect(got.allSatisfy { $0.ssrc == 0xBBBB && $0.payloadType == 100 })
        #expect(got.map(\.sequenceNumber) == [got[0].sequenceNumber, got[0].sequenceNumber &+ 2])
        #expect(got.map(\.timestamp) == [got[0].timestamp, got[0].timestamp &+ 6000])
        // The player's arrival asked the source for a keyframe; it said it cannot make one.
        try await waitFor("a keyframe request") { source.requests.withLock { $0.keyframes } >= 1 }

        // The source ends: the stream is gone and the player closes as for an unpublished browser stream.
        await feed.end()
        try await waitFor("the player to close") { events.all.contains(.closed(.sourceUnpublished)) }
        #expect(source.requests.withLock { $0.ended })
        #expect(await !engine.isPublished("synthetic-1"))
        await engine.stop()
        try await group.shutdownGracefully()
    }

    @Test func aSinkGetsAWebRTCPublishersPacketsInOrderFromAKeyframe() async throws {
        let (engine, group) = try await EngineForwardingTests().startEngine(mediaLoops: 1)
        let publisher = try TestPeer()
        let local = engine.makeLocalParameters()
        publisher.local = local
        try await engine.publish(local: local, remote: publisher.remoteParameters,
                                 tracks: [ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96,
                                                             nack: true, pli: true)],
                                 extensions: HeaderExtensionIDs(), rembBitrate: nil, onEvent: { _ in })
        try await EngineForwardingTests().connect(publisher, engine: engine)
        // A delta frame, a keyframe, a delta frame: one RTP timestamp per frame, 30 fps.
        try await offPool {
            try publisher.sendRTP(seq: 1, ssrc: 0xAAAA, timestamp: 3000, payload: Self.delta)
            try publisher.sendRTP(seq: 2, ssrc: 0xAAAA, timestamp: 6000, payload: Self.key)
            try publisher.sendRTP(seq: 3, ssrc: 0xAAAA, timestamp: 9000, payload: Self.delta)
        }
        try await Task.sleep(for: .milliseconds(200))  // the producer has them

        let sink = RecordingSink()
        let handle = try await engine.attach(to: local.iceUfrag, tracks: [
            ConsumerParameters(producerIndex: 0, ssrc: 0xCCCC, payloadType: 111)]) { _ in sink }
        // At once: the cached keyframe, never the delta frame before it.
        try await waitFor("the cached keyframe") { sink.packets.count >= 1 }
        #expect(sink.packets.map(\.payload) == [Self.key])
        let first = sink.packets[0].sequence
        // Live packets follow in order, in the sink's numbering (past the frame in between), and a Sender Report
        // is rewritten for it.
        try await offPool {
            for seq in 4...6 { try publisher.sendRTP(seq: UInt16(seq), ssrc: 0xAAAA, timestamp: UInt32(seq) * 3000, payload: Self.delta) }
            try publisher.sendRTCP(RTCPCompound.senderReport(RTCPSenderReport(
                ssrc: 0xAAAA, ntpTimestamp: 0x1234_5678_0000_0000, rtpTimestamp: 18000, packetCount: 6, octetCount: 1200, reports: [])))
        }
        try await waitFor("live packets") { sink.packets.count >= 4 }
        #expect(sink.packets.map(\.sequence) == [first, first &+ 2, first &+ 3, first &+ 4])
        #expect(sink.packets.allSatisfy { $0.track == 0 })
        try await waitFor("a sender report") { !sink.got.withLock { $0.reports.isEmpty } }
        let report = try #require(sink.got.withLock { $0.reports.first })
        #expect(report.ssrc == 0xCCCC && report.ntpTimestamp == 0x1234_5678_0000_0000)

        // The hole (the frame between the keyframe and the live packets) is filled from the server's buffer.
        handle.execute { $0.requestRetransmission(track: 0, sequenceNumbers: [first &+ 1]) }
        try await waitFor("the retransmission") { sink.packets.count >= 5 }
        #expect(sink.packets.last?.sequence == first &+ 1 && sink.packets.last?.payload == Self.delta)

        // The publisher goes: the sink is told, once.
        await engine.closeTransport(id: local.iceUfrag)
        try await waitFor("the sink to end") { sink.got.withLock { $0.ended } }
        await engine.stop()
        try await group.shutdownGracefully()
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import RTP
import Testing
@testable import SFU

/// Publish and play through the engine on a real loopback port, with in-process WebRTC peers on both sides.
@Suite(.serialized) struct EngineForwardingTests {
    func connect(_ peer: TestPeer, engine: MediaEngine) async throws {
        // The port of the loop the transport was placed on.
        peer.serverPort = peer.local?.candidates.first?.port ?? engine.port
        #expect(try await offPool { try peer.checkConnectivity() })
        let state = try await offPool { try peer.handshake() }
        #expect(state == .connected(.aeadAes128Gcm))
    }

    /// With two media loops the player lands on the other loop: it is served by a mirror of the publisher's track.
    /// An engine on loopback with its own two-thread group, so that two media loops are two threads.
    func startEngine(mediaLoops: Int) async throws -> (MediaEngine, MultiThreadedEventLoopGroup) {
        var logger = Logger(label: "media")
        logger.logLevel = .warning
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let engine = try MediaEngine(configuration: .init(host: "127.0.0.1", port: 0, announcedIPs: ["127.0.0.1"],
                                                          mediaLoops: mediaLoops),
                                     group: group, logger: logger)
        try await engine.start()
        return (engine, group)
    }

    @Test(arguments: [1, 2])
    func forwardsAPublishedTrackToAPlayerAndEndsItWithThePublisher(mediaLoops: Int) async throws {
        let (engine, group) = try await startEngine(mediaLoops: mediaLoops)
        #expect(engine.ports.count == mediaLoops)

        let publisher = try TestPeer(), player = try TestPeer()
        let publisherEvents = MediaEngineTests.Events(), playerEvents = MediaEngineTests.Events()
        let publishLocal = engine.makeLocalParameters()
        publisher.local = publishLocal
        try await engine.publish(local: publishLocal, remote: publisher.remoteParameters,
                                 tracks: [ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96)],
                                 extensions: HeaderExtensionIDs(), rembBitrate: 1_000_000, onEvent: { publisherEvents.add($0) })
        try await connect(publisher, engine: engine)
        #expect(await engine.isPublished(publishLocal.iceUfrag))

        let playLocal = engine.makeLocalParameters()
        #expect(playLocal.mediaLoop == (mediaLoops == 2 ? 1 : 0))
        player.local = playLocal
        try await engine.play(source: publishLocal.iceUfrag, local: playLocal, remote: player.remoteParameters,
                              tracks: [ConsumerParameters(producerIndex: 0, ssrc: 0xBBBB, payloadType: 100)],
                              extensions: HeaderExtensionIDs(), onEvent: { playerEvents.add($0) })
        try await connect(player, engine: engine)
        player.dropRTPIndex = 3
        try await waitFor("the player to connect") { playerEvents.all.contains(.connected) }

        // Delta frames first (not forwarded: the player waits for a keyframe), then a keyframe and more.
        let key: [UInt8] = [0x10, 0x00] + [UInt8](repeating: 7, count: 200)
        let delta: [UInt8] = [0x10, 0x01] + [UInt8](repeating: 8, count: 200)
        @Sendable func plis() -> [RTCPHeader] {
            publisher.receivedRTCP.flatMap { bytes -> [RTCPHeader] in
                (try? RTCPCompound.packets(ByteBuffer(bytes: bytes))) ?? []
            }.filter(\.isPLI)
        }
        try await offPool {
            try publisher.sendRTP(seq: 10, ssrc: 0xAAAA, payload: delta)
            // The server's PLI (asked for when the player connected) comes back; on a loaded machine, later.
            let deadline = Date().addingTimeInterval(10)
            while plis().isEmpty && Date() < deadline { publisher.collect(for: 0.1) }
            try publisher.sendRTP(seq: 11, ssrc: 0xAAAA, payload: key)
            for i in 12..<20 { try publisher.sendRTP(seq: UInt16(i), ssrc: 0xAAAA, payload: delta) }
        }
        #expect(!plis().isEmpty)
        try await offPool {
            let deadline = Date().addingTimeInterval(10)
            while player.receivedRTP.count < 8 && Date() < deadline { player.collect(for: 0.1) }
            player.collect(for: 0.1)  // nothing more should come
        }
        let received = try player.receivedRTP.map { try RTPPacket(ByteBuffer(bytes: $0)) }
        #expect(received.count == 8)  // one lost on the way
        #expect(received.allSatisfy { $0.ssrc == 0xBBBB && $0.payloadType == 100 })
        #expect(received.first.map { Array($0.payload.readableBytesView) } == key)

        // The player NACKs the lost packet: it comes again, from the server's buffer.
        let lost = try #require(player.droppedSequence)
        #expect(!received.map(\.sequenceNumber).contains(lost))
        player.receivedRTP = []
        try await offPool {
            var rr = RTCPCompound.emptyReceiverReport(senderSSRC: 5)
            var nack = RTCPCompound.nack(senderSSRC: 5, mediaSSRC: 0xBBBB, lost: [lost])
            rr.writeBuffer(&nack)
            try player.sendRTCP(rr)
            let deadline = Date().addingTimeInterval(10)
            while player.receivedRTP.isEmpty && Date() < deadline { player.collect(for: 0.1) }
        }
        #expect(try player.receivedRTP.map { try RTPPacket(ByteBuffer(bytes: $0)).sequenceNumber } == [lost])

        // The publisher goes: the player's transport closes with the reason, and nothing is left.
        await engine.closeTransport(id: publishLocal.iceUfrag)
        try await waitFor("the player to close") { playerEvents.all.contains(.closed(.sourceUnpublished)) }
        #expect(await !engine.isPublished(publishLocal.iceUfrag))
        try await waitFor("no transports") { engine.stats.snapshot.peerConnections == 0 }
        await engine.stop()
        try await group.shutdownGracefully()
    }

    /// A viewer on another loop than the publisher starts at once on the latest keyframe, which the new mirror
    /// was given from the original's buffer, and gets the live packets after it.
    @Test func aViewerOnAnotherLoopStartsOnTheCachedKeyframe() async throws {
        let (engine, group) = try await startEngine(mediaLoops: 2)
        let publisher = try TestPeer(), player = try TestPeer()
        let playerEvents = MediaEngineTests.Events()
        let publishLocal = engine.makeLocalParameters()
        publisher.local = publishLocal
        try await engine.publish(local: publishLocal, remote: publisher.remoteParameters,
                                 tracks: [ProducerParameters(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96)],
                                 extensions: HeaderExtensionIDs(), rembBitrate: nil, onEvent: { _ in })
        try await connect(publisher, engine: engine)
        let key: [UInt8] = [0x10, 0x00] + [UInt8](repeating: 7, count: 200)
        let delta: [UInt8] = [0x10, 0x01] + [UInt8](repeating: 8, count: 200)
        try await offPool {
            try publisher.sendRTP(seq: 1, ssrc: 0xAAAA, payload: key)
            for i in 2...5 { try publisher.sendRTP(seq: UInt16(i), ssrc: 0xAAAA, payload: delta) }
        }
        try await Task.sleep(for: .milliseconds(200))  // the original has them

        let playLocal = engine.makeLocalParameters()
        #expect(playLocal.mediaLoop == 1 && playLocal.candidates.first?.port != publishLocal.candidates.first?.port)
        player.local = playLocal
        try await engine.play(source: publishLocal.iceUfrag, local: playLocal, remote: player.remoteParameters,
                              tracks: [ConsumerParameters(producerIndex: 0, ssrc: 0xBBBB, payloadType: 100)],
                              extensions: HeaderExtensionIDs(), onEvent: { playerEvents.add($0) })
        try await connect(player, engine: engine)
        try await offPool { player.collect { player.receivedRTP.count >= 5 } }
        let cached = try player.receivedRTP.map { try RTPPacket(ByteBuffer(bytes: $0)) }
        #expect(cached.count == 5)
        #expect(cached.first.map { Array($0.payload.readableBytesView) } == key)

        // Live packets follow, numbered on from the cached ones.
        player.receivedRTP = []
        try await offPool {
            for i in 6...8 { try publisher.sendRTP(seq: UInt16(i), ssrc: 0xAAAA, payload: delta) }
            player.collect { player.receivedRTP.count >= 3 }
        }
        let live = try player.receivedRTP.map { try RTPPacket(ByteBuffer(bytes: $0)) }
        #expect(live.map(\.sequenceNumber) == (1...3).map { cached[4].sequenceNumber &+ UInt16($0) })
        #expect(await engine.mirrorCount(stream: publishLocal.iceUfrag) == 1)

        // The only viewer on that loop leaves: the packets stop going there. A new viewer there gets a new mirror.
        await engine.closeTransport(id: playLocal.iceUfrag)
        try await waitFor("the mirror to be dropped") { await engine.mirrorCount(stream: publishLocal.iceUfrag) == 0 }
        _ = engine.makeLocalParameters()  // loop 0 in turn: the next one is loop 1 again
        let again = try TestPeer()
        let againLocal = engine.makeLocalParameters()
        #expect(againLocal.mediaLoop == 1)
        again.local = againLocal
        try await engine.play(source: publishLocal.iceUfrag, local: againLocal, remote: again.remoteParameters,
                              tracks: [ConsumerParameters(producerIndex: 0, ssrc: 0xCCCC, payloadType: 100)],
                              extensions: HeaderExtensionIDs(), onEvent: { playerEvents.add($0) })
        try await connect(again, engine: engine)
        try await offPool {
            again.collect { again.receivedRTP.count >= 1 }  // the cached keyframe, from the new mirror's seed
            for i in 9...10 { try publisher.sendRTP(seq: UInt16(i), ssrc: 0xAAAA, payload: delta) }
            again.collect { again.receivedRTP.count >= 3 }
        }
        #expect(again.receivedRTP.count >= 3)
        #expect(await engine.mirrorCount(stream: publishLocal.iceUfrag) == 1)

        // The publisher goes: the viewer on the other loop ends too.
        await engine.closeTransport(id: publishLocal.iceUfrag)
        try await waitFor("the player to close") { playerEvents.all.contains(.closed(.sourceUnpublished)) }
        try await waitFor("no transports") { engine.stats.snapshot.peerConnections == 0 }
        await engine.stop()
        try await group.shutdownGracefully()
    }

    @Test func playingAnUnknownStreamIsRefused() async throws {
        let engine = try MediaEngine(configuration: .init(host: "127.0.0.1", port: 0, announcedIPs: ["127.0.0.1"]),
                                     logger: Logger(label: "media"))
        try await engine.start()
        let player = try TestPeer()
        await #expect(throws: MediaEngineError.self) {
            try await engine.play(source: "nope", local: engine.makeLocalParameters(), remote: player.remoteParameters,
                                  tracks: [], extensions: HeaderExtensionIDs(), onEvent: { _ in })
        }
        #expect(engine.stats.snapshot.peerConnections == 0)
        await engine.stop()
    }
}

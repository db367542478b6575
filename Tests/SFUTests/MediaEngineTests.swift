import DTLS
import Foundation
import Logging
import NIOCore
import RTP
import STUN
import Synchronization
import Testing
@testable import SFU

/// The media engine on a real loopback UDP port, driven by an in-process WebRTC peer.
@Suite(.serialized) struct MediaEngineTests {
    func engine() async throws -> MediaEngine {
        var logger = Logger(label: "media")
        logger.logLevel = .warning
        let engine = try MediaEngine(configuration: .init(host: "127.0.0.1", port: 0, announcedIPs: ["127.0.0.1"]), logger: logger)
        try await engine.start()
        return engine
    }

    final class Events: Sendable {
        let list = Mutex<[TransportEvent]>([])
        var all: [TransportEvent] { list.withLock { $0 } }
        func add(_ e: TransportEvent) { list.withLock { $0.append(e) } }
    }

    @Test func echoesMediaBackUnderNewSSRCsAndAsksForAKeyframe() async throws {
        let engine = try await engine()
        let peer = try TestPeer()
        let events = Events()
        peer.serverPort = engine.port
        peer.local = try await engine.createTransport(remote: peer.remoteParameters, onEvent: { events.add($0) }) { _ in EchoHandler() }
        #expect(peer.local?.candidates.first?.port == engine.port)

        let ice = try await offPool { try peer.checkConnectivity() }
        #expect(ice)
        let state = try await offPool { try peer.handshake() }
        #expect(state == .connected(.aeadAes128Gcm))
        try await waitFor { events.all.contains(.connected) }

        try await offPool {
            for i in 0..<20 { try peer.sendRTP(seq: UInt16(100 + i), ssrc: 0xAAAA, payload: [UInt8](repeating: UInt8(i), count: 300)) }
            peer.collect { peer.receivedRTP.count >= 20 && !peer.receivedRTCP.isEmpty }
        }
        #expect(peer.receivedRTP.count == 20)
        let echoed = try #require(peer.receivedRTP.first.map { try RTPPacket(ByteBuffer(bytes: $0)) })
        #expect(echoed.ssrc != 0xAAAA)
        #expect(echoed.sequenceNumber == 100)
        #expect(Array(echoed.payload.readableBytesView) == [UInt8](repeating: 0, count: 300))
        // The server asked for a keyframe of the new stream.
        let pli = try #require(peer.receivedRTCP.first.map { ByteBuffer(bytes: $0) })
        let packets = try RTCPCompound.packets(pli)
        #expect(packets.first?.packetType == RTCPType.payloadFeedback)
        #expect(RTCPCompound.mediaSSRC(of: packets[0], in: pli) == 0xAAAA)

        // The peer's PLI for the echoed stream is turned into a PLI for its own stream.
        peer.receivedRTCP = []
        let echoedSSRC = echoed.ssrc
        try await offPool {
            try peer.sendRTCP(RTCPCompound.pli(senderSSRC: 1, mediaSSRC: echoedSSRC))
            peer.collect { !peer.receivedRTCP.isEmpty }
        }
        let translated = try #require(peer.receivedRTCP.first.map { ByteBuffer(bytes: $0) })
        #expect(RTCPCompound.mediaSSRC(of: try RTCPCompound.packets(translated)[0], in: translated) == 0xAAAA)

        let stats = engine.stats.snapshot
        #expect(stats.peerConnections == 1)
        #expect(stats.packetsIn > 20)
        #expect(stats.packetsOut > 20)
        await engine.stop()
    }

    /// A test peer whose transport on `engine` (echoing its media) has passed ICE and the DTLS handshake.
    /// `keeping` gets its transport.
    func connectedPeer(_ engine: MediaEngine, loseFinalFlight: Bool = false,
                       keeping box: TransportBox? = nil) async throws -> (TestPeer, Events, LocalTransportParameters) {
        let peer = try TestPeer()
        let events = Events()
        peer.serverPort = engine.port
        let local = try await engine.createTransport(remote: peer.remoteParameters, onEvent: { events.add($0) }) { transport in
            box?.transport = transport
            return EchoHandler()
        }
        peer.local = local
        #expect(try await offPool { try peer.checkConnectivity() })
        #expect(try await offPool { try peer.handshake(loseFinalFlight: loseFinalFlight) } == .connected(.aeadAes128Gcm))
        try await waitFor { events.all.contains(.connected) }
        return (peer, events, local)
    }

    /// The association is freed as the handshake completes; a peer that lost Parley's final flight repeats its own
    /// and gets the kept copy.
    @Test func aPeerThatLostTheFinalFlightGetsItAgain() async throws {
        let engine = try await engine()
        let (peer, _, local) = try await connectedPeer(engine, loseFinalFlight: true)
        #expect(peer.droppedFinalFlight)
        #expect(await engine.holdsDTLSAssociation(id: local.iceUfrag) == false)
        try await offPool { try peer.sendRTCP(RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2)) }
        try await waitFor("the final flight to be dropped") { await engine.holdsFinalFlight(id: local.iceUfrag) == false }
        await engine.stop()
    }

    @Test func freesTheDTLSAssociationAtTheEndOfTheHandshakeAndStillEndsCleanly() async throws {
        let engine = try await engine()
        for peerCloses in [false, true] {
            let (peer, events, local) = try await connectedPeer(engine)
            // Connected: the association is freed at once; only the final flight is kept, for a peer that lost it.
            #expect(await engine.holdsDTLSAssociation(id: local.iceUfrag) == false)
            #expect(await engine.holdsFinalFlight(id: local.iceUfrag) == true)
            try await offPool { try peer.sendRTCP(RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2)) }
            try await waitFor("the final flight to be dropped") { await engine.holdsFinalFlight(id: local.iceUfrag) == false }
            if peerCloses {
                // The peer's close_notify, arriving after the association was freed, still ends the transport.
                try await offPool { for d in peer.dtls?.close() ?? [] { peer.socket.send(d, port: peer.serverPort) } }
                try await waitFor("the transport to close") { events.all.contains(.closed(.peerClosed)) }
            } else {
                // The close_notify made when the association was freed is one the peer's DTLS accepts.
                await engine.closeTransport(id: local.iceUfrag)
                let state = try await offPool { () -> DTLSTransport.State? in
                    let deadline = Date().addingTimeInterval(5)
                    while peer.dtls?.state != .closed && Date() < deadline {
                        if let d = peer.socket.receive(), (20...63).contains(d.first ?? 0) { _ = peer.dtls?.receive(d) }
                    }
                    return peer.dtls?.state
                }
                #expect(state == .closed)
            }
            #expect(await engine.holdsDTLSAssociation(id: local.iceUfrag) == nil)
        }
        await engine.stop()
    }

    /// A peer that never sends an ICE check (its client gave up after the answer, or UDP to the media port is
    /// blocked) must not keep its transport for good: it gets as long as a peer whose checks stop.
    @Test func aTransportThatNeverHearsAnICECheckExpires() async throws {
        let engine = try await engine()
        let silent = try TestPeer(), silentEvents = Events(), made = TransportBox()
        silent.serverPort = engine.port
        _ = try await engine.createTransport(remote: silent.remoteParameters, onEvent: { silentEvents.add($0) }) { transport in
            made.transport = transport
            made.createdAt = UDPMux.now
            return EchoHandler()
        }
        let transport = try #require(made.transport), kept = TransportBox()
        let (_, liveEvents, _) = try await connectedPeer(engine, keeping: kept)
        let live = try #require(kept.transport)
        let closed: @Sendable (Events) -> Bool = { $0.all.contains { if case .closed = $0 { true } else { false } } }

        // The clock is read on the transport's loop, where the mux's own checks run too: any check before this one
        // started the wait no later than `now`.
        let now = try await transport.eventLoop.submit {
            let now = UDPMux.now
            transport.checkConsent(now: now)
            return now
        }.get()
        // Not at once. (Unless the test itself was held back for most of the 29 s, which a sanitizer's load can do:
        // then the mux's own checks may rightly have ended it.)
        if now - made.createdAt < ICELiteAgent.consentTimeout - 2 { #expect(!closed(silentEvents)) }
        try await transport.eventLoop.submit { transport.checkConsent(now: now + ICELiteAgent.consentTimeout + 0.5) }.get()  // + 0.5: (now + 29) - now may round below 29
        #expect(silentEvents.all.contains(.closed(.consentExpired)))
        // A transport that has heard checks is judged by its last one, as before.
        try await live.eventLoop.submit { live.checkConsent(now: UDPMux.now) }.get()
        #expect(!closed(liveEvents))
        await engine.stop()
    }

    /// The transport `createTransport` made, kept by a test; touched on its loop only.
    final class TransportBox: @unchecked Sendable {
        var transport: WebRTCTransport?
        var createdAt = 0.0
    }

    /// After the association is freed an alert cannot be authenticated: one forged from the peer's address must
    /// not end a transport whose peer goes on sending authenticated packets.
    @Test func aForgedAlertDoesNotEndATransportWhosePeerGoesOn() async throws {
        let engine = try await engine()
        let (peer, events, local) = try await connectedPeer(engine)
        try await offPool { try peer.sendRTCP(RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2)) }
        try await waitFor("the association to be freed") { await engine.holdsDTLSAssociation(id: local.iceUfrag) == false }
        // A close_notify-shaped record (content type 21, DTLS 1.2, epoch 1) from the peer's own address.
        let forged: [UInt8] = [21, 0xFE, 0xFD, 0, 1] + [UInt8](repeating: 0, count: 6) + [0, 26] + [UInt8](repeating: 0xAB, count: 26)
        try await offPool {
            peer.socket.send(forged, port: peer.serverPort)
            for _ in 0..<8 {  // the peer lives on: RTCP every 0.4 s for longer than the alert's grace
                Thread.sleep(forTimeInterval: 0.4)
                try peer.sendRTCP(RTCPCompound.pli(senderSSRC: 1, mediaSSRC: 2))
            }
        }
        #expect(!events.all.contains { if case .closed = $0 { true } else { false } })
        #expect(await engine.holdsDTLSAssociation(id: local.iceUfrag) == false)  // still there, association freed
        await engine.stop()
    }

    @Test func wrongFingerprintFailsWithAClearEvent() async throws {
        let engine = try await engine()
        let peer = try TestPeer()
        let events = Events()
        peer.serverPort = engine.port
        let wrong = RemoteTransportParameters(iceUfrag: peer.ufrag, icePassword: peer.password, fingerprint: [UInt8](repeating: 1, count: 32))
        peer.local = try await engine.createTransport(remote: wrong, onEvent: { events.add($0) }) { _ in EchoHandler() }
        #expect(try await offPool { try peer.checkConnectivity() })
        _ = try await offPool { try peer.handshake() }
        try await waitFor { events.all.contains { $0 == .failed(.fingerprintMismatch) } }
        try await waitFor { engine.stats.snapshot.peerConnections == 0 }
        await engine.stop()
    }

    @Test func badInputIsDroppedAndCountedWhileOthersAreServed() async throws {
        let engine = try await engine()
        let peer = try TestPeer()
        peer.serverPort = engine.port
        peer.local = try await engine.createTransport(remote: peer.remoteParameters, onEvent: { _ in }) { _ in EchoHandler() }
        // Wrong ICE password: refused with 401, counted.
        #expect(try await offPool { try peer.checkConnectivity(password: "not-the-password-at-all") } == false)
        #expect(engine.stats.snapshot.drops["bad_stun_integrity"] ?? 0 >= 1)
        #expect(try await offPool { try peer.checkConnectivity() })
        _ = try await offPool { try peer.handshake() }

        // Garbage from a stranger, truncated and random datagrams of every kind, SRTP with bad tags.
        let stranger = try UDPSocket()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<2_000 {
            var junk = (0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            junk[0] = [0x00, 0x01, 22, 0x80, 0x90, 0xFF][i % 6]
            stranger.send(junk, port: engine.port)
            if i % 4 == 0 { peer.socket.send(junk, port: engine.port) }  // from the peer's own address: bad SRTP
        }
        try await waitFor { (engine.stats.snapshot.drops["unknown_address"] ?? 0) > 0 && (engine.stats.snapshot.drops["bad_srtp_auth"] ?? 0) > 0 }

        // The real peer is still served.
        try await offPool {
            peer.receivedRTP = []
            for i in 0..<5 { try peer.sendRTP(seq: UInt16(i), ssrc: 5, payload: [1, 2, 3]) }
            peer.collect { peer.receivedRTP.count >= 5 }
        }
        #expect(peer.receivedRTP.count == 5)
        await engine.stop()
    }
}

func waitFor(_ what: String = "condition", timeout: Double = 10, _ condition: () async -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw PeerError("timed out waiting for \(what)")
}

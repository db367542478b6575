import Foundation
import Testing
@testable import DTLS
@testable import SRTP

/// Two transports joined by an in-memory "network" that can drop datagrams.
struct Pair {
    let server: DTLSTransport
    let client: DTLSTransport
    let serverCert: DTLSCertificate
    let clientCert: DTLSCertificate

    init(clientAnnounces: [UInt8]? = nil, serverProfiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80],
         clientProfiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80]) throws {
        serverCert = try DTLSCertificate.generate()
        clientCert = try DTLSCertificate.generate(commonName: "client")
        let serverContext = try DTLSContext(role: .server, certificate: serverCert, profiles: serverProfiles)
        let clientContext = try DTLSContext(role: .client, certificate: clientCert, profiles: clientProfiles)
        server = try DTLSTransport(context: serverContext, expectedRemoteFingerprint: clientAnnounces ?? clientCert.fingerprintBytes)
        client = try DTLSTransport(context: clientContext, expectedRemoteFingerprint: serverCert.fingerprintBytes)
    }

    /// Delivers datagrams back and forth until neither side has anything to say; `drop` decides per datagram.
    func run(first: [[UInt8]], drop: (Int) -> Bool = { _ in false }) {
        var toServer = first
        var toClient: [[UInt8]] = []
        var counter = 0
        for _ in 0..<50 where !(toServer.isEmpty && toClient.isEmpty) {
            var nextToClient: [[UInt8]] = []
            for d in toServer {
                counter += 1
                if !drop(counter) { nextToClient += server.receive(d) }
            }
            toServer = []
            for d in toClient + nextToClient {
                counter += 1
                if !drop(counter) { toServer += client.receive(d) }
            }
            toClient = []
        }
    }
}

@Suite struct DTLSTests {
    @Test func certificateFingerprintIsSHA256() throws {
        let cert = try DTLSCertificate.generate()
        #expect(cert.fingerprintBytes.count == 32)
        #expect(cert.fingerprint.count == 32 * 3 - 1)
        #expect(DTLSCertificate.parseFingerprint(cert.fingerprint) == cert.fingerprintBytes)
        #expect(DTLSCertificate.parseFingerprint(cert.fingerprint.lowercased()) == cert.fingerprintBytes)
        #expect(DTLSCertificate.parseFingerprint("ZZ:01") == nil)
        #expect(DTLSCertificate.parseFingerprint("") == nil)
        #expect(try DTLSCertificate.generate().fingerprint != cert.fingerprint)
    }

    @Test func handshakeAgreesOnGCMAndMatchingKeys() throws {
        let pair = try Pair()
        pair.run(first: pair.client.start())
        #expect(pair.server.state == .connected(.aeadAes128Gcm))
        #expect(pair.client.state == .connected(.aeadAes128Gcm))
        let s = try #require(pair.server.keys)
        let c = try #require(pair.client.keys)
        #expect(s.local == c.remote)
        #expect(s.remote == c.local)
        #expect(s.local != s.remote)

        // The exported keys really work for SRTP between the two sides.
        let sender = try SRTPSession(profile: c.profile, keys: c.local)
        let receiver = try SRTPSession(profile: s.profile, keys: s.remote)
        var packet = ByteBufferStub.rtp(seq: 1)
        try sender.protectRTP(&packet)
        try receiver.unprotectRTP(&packet)
        #expect(Array(packet.readableBytesView) == Array(ByteBufferStub.rtp(seq: 1).readableBytesView))
    }

    @Test func fallsBackToAESCMWhenThePeerOffersOnlyIt() throws {
        let pair = try Pair(clientProfiles: [.aes128CmHmacSha1_80])
        pair.run(first: pair.client.start())
        #expect(pair.server.state == .connected(.aes128CmHmacSha1_80))
    }

    @Test func wrongFingerprintFailsTheConnection() throws {
        let pair = try Pair(clientAnnounces: [UInt8](repeating: 0xAA, count: 32))
        pair.run(first: pair.client.start())
        #expect(pair.server.state == .failed(.fingerprintMismatch))
        #expect(pair.server.keys == nil)
    }

    @Test func lostFlightsAreRetransmitted() throws {
        let pair = try Pair()
        // Lose the server's first flight entirely.
        var toServer = pair.client.start()
        let firstFlight = toServer.flatMap { pair.server.receive($0) }
        #expect(!firstFlight.isEmpty)
        toServer = []
        let timeout = try #require(pair.server.nextTimeout)
        #expect(timeout > 0 && timeout <= 1.5)
        // Waiting for OpenSSL's own timer is the only way to exercise its retransmission.
        Thread.sleep(forTimeInterval: timeout + 0.05)
        let again = pair.server.handleTimeout()
        #expect(!again.isEmpty)  // the same handshake messages, possibly split differently
        pair.run(first: again.flatMap { pair.client.receive($0) })
        #expect(pair.server.state == .connected(.aeadAes128Gcm))
    }

    /// The load generator's client retransmits an unanswered ClientHello after 100 ms, as browsers do; without
    /// `useFastRetransmission` OpenSSL waits a second.
    @Test func aFastClientRetransmitsItsHelloAfter100ms() throws {
        let slow = try Pair(), fast = try Pair()
        fast.client.useFastRetransmission()
        _ = slow.client.start()
        let hello = fast.client.start()
        let slowTimeout = try #require(slow.client.nextTimeout), fastTimeout = try #require(fast.client.nextTimeout)
        #expect(slowTimeout > 0.5 && slowTimeout <= 1.0, "\(slowTimeout)")
        #expect(fastTimeout > 0 && fastTimeout <= 0.1, "\(fastTimeout)")
        Thread.sleep(forTimeInterval: fastTimeout + 0.02)
        let again = fast.client.handleTimeout()  // the ClientHello went nowhere: it goes again
        #expect(again.count == hello.count && !again.isEmpty)
        let next = try #require(fast.client.nextTimeout)
        #expect(next > 0.1 && next <= 0.2, "doubled: \(next)")
        fast.run(first: again)
        #expect(fast.client.state == .connected(.aeadAes128Gcm))
    }

    @Test func garbageNeverCrashesAndFailsCleanly() throws {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<300 {
            let server = try Pair().server
            let junk = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var datagram = junk
            if i % 2 == 0 { datagram[0] = 22 }  // looks like a handshake record
            _ = server.receive(datagram)
            _ = server.receive([])
            switch server.state {
            case .handshaking, .failed: break
            default: Issue.record("garbage changed state to \(server.state)")
            }
        }
    }

    @Test func closeSendsCloseNotify() throws {
        let pair = try Pair()
        pair.run(first: pair.client.start())
        let alert = pair.server.close()
        #expect(!alert.isEmpty)
        for d in alert { _ = pair.client.receive(d) }
        #expect(pair.client.state == .closed)
    }
}

import NIOCore
enum ByteBufferStub {
    static func rtp(seq: UInt16) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes([0x80, 111, UInt8(seq >> 8), UInt8(seq & 0xFF), 0, 0, 0, 1, 0, 0, 0, 42])
        b.writeBytes([UInt8](repeating: 7, count: 100))
        return b
    }
}

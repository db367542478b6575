import NIOCore
import Testing
import TestSupport
@testable import SRTP

func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

typealias SeededGenerator = SeededRandom

func rtpPacket(seq: UInt16, ssrc: UInt32, payloadSize: Int, csrcs: Int = 0, extensionWords: Int = 0, using rng: inout SeededGenerator) -> [UInt8] {
    var p: [UInt8] = [0x80 | UInt8(csrcs) | (extensionWords > 0 ? 0x10 : 0), 96, UInt8(seq >> 8), UInt8(seq & 0xFF)]
    p += [0x00, 0x01, 0x02, 0x03]  // timestamp
    p += withUnsafeBytes(of: ssrc.bigEndian, Array.init)
    for i in 0..<csrcs { p += [0, 0, 0, UInt8(i)] }
    if extensionWords > 0 {
        p += [0xBE, 0xDE, 0, UInt8(extensionWords)]
        p += (0..<extensionWords * 4).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }
    p += (0..<payloadSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
    return p
}

func rtcpPacket(ssrc: UInt32, using rng: inout SeededGenerator) -> [UInt8] {
    // A receiver report with one block, then an SDES chunk: a compound packet.
    var p: [UInt8] = [0x81, 201, 0, 7]
    p += withUnsafeBytes(of: ssrc.bigEndian, Array.init)
    p += (0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) }
    p += [0x81, 202, 0, 2] + withUnsafeBytes(of: ssrc.bigEndian, Array.init) + [1, 2, 0x41, 0x42]
    return p
}

extension SRTPSession {
    func protect(_ bytes: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        if rtcp { try protectRTCP(&buffer) } else { try protectRTP(&buffer) }
        return Array(buffer.readableBytesView)
    }

    func unprotect(_ bytes: [UInt8], rtcp: Bool = false) throws(SRTPError) -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        if rtcp { try unprotectRTCP(&buffer) } else { try unprotectRTP(&buffer) }
        return Array(buffer.readableBytesView)
    }
}

@Suite struct RFC3711Vectors {
    /// RFC 3711 Appendix B.2: AES-CM key stream.
    @Test func counterModeKeystream() throws {
        let aes = try AESCounterMode(key: hex("2B7E151628AED2A6ABF7158809CF4F3C"))
        let stream = try #require(aes.keystream(iv: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), count: 48))
        #expect(stream == hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0"))
    }

    /// RFC 3711 Appendix B.3: key derivation.
    @Test func keyDerivation() throws {
        let kdf = try AESCounterMode(key: hex("E1F97A0D3E018BE0D64FA32C06DE4139"))
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6")
        #expect(try DirectionKeys.deriveSessionKey(kdf: kdf, masterSalt: salt, label: 0, count: 16) == hex("C61E7A93744F39EE10734AFE3FF7A087"))
        #expect(try DirectionKeys.deriveSessionKey(kdf: kdf, masterSalt: salt, label: 2, count: 14) == hex("30CBBC08863D8C85D49DB34A9AE1"))
        #expect(try DirectionKeys.deriveSessionKey(kdf: kdf, masterSalt: salt, label: 1, count: 20) == hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
    }

    @Test func dtlsExportSplitsKeysByRole() throws {
        let material = Array(0..<UInt8(SRTPKeyingMaterial.exportLength(for: .aes128CmHmacSha1_80)))
        let server = try #require(SRTPKeyingMaterial.fromDTLSExport(material, profile: .aes128CmHmacSha1_80, isServer: true))
        #expect(server.local.masterKey == Array(16..<32))
        #expect(server.local.masterSalt == Array(46..<60))
        #expect(server.remote.masterKey == Array(0..<16))
        #expect(server.remote.masterSalt == Array(32..<46))
        #expect(SRTPKeyingMaterial.fromDTLSExport(Array(material.prefix(10)), profile: .aes128CmHmacSha1_80, isServer: true) == nil)
    }
}

@Suite struct LibSRTPInterop {
    static let profiles: [SRTPProfile] = [.aes128CmHmacSha1_80, .aeadAes128Gcm]

    func keys(_ profile: SRTPProfile, seed: UInt64) -> SRTPKeyingMaterial {
        var rng = SeededGenerator(seed: seed)
        return SRTPKeyingMaterial(masterKey: (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) },
                                  masterSalt: (0..<profile.saltLength).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// Parley protects, libsrtp unprotects, across a sequence-number wrap (so the rollover counter matters).
    @Test(arguments: profiles)
    func parleyToLibSRTP(profile: SRTPProfile) throws {
        let k = keys(profile, seed: 1)
        let parley = try SRTPSession(profile: profile, keys: k)
        let oracle = LibSRTP(gcm: profile == .aeadAes128Gcm, masterKey: k.masterKey, masterSalt: k.masterSalt, outbound: false)
        var rng = SeededGenerator(seed: 2)
        var seq: UInt16 = 65_000
        for i in 0..<1_200 {
            let plain = rtpPacket(seq: seq, ssrc: i % 3 == 0 ? 0xCAFE_BABE : 0x1234_5678, payloadSize: Int.random(in: 0...1_200, using: &rng),
                                  csrcs: i % 7 == 0 ? 2 : 0, extensionWords: i % 5 == 0 ? 2 : 0, using: &rng)
            let protected = try parley.protect(plain)
            #expect(protected.count == plain.count + profile.tagLength)
            #expect(oracle.unprotect(protected) == plain, "packet \(i) seq \(seq)")
            seq &+= 1
        }
        for i in 0..<200 {
            let plain = rtcpPacket(ssrc: UInt32(i % 2), using: &rng)
            #expect(oracle.unprotect(try parley.protect(plain, rtcp: true), rtcp: true) == plain, "rtcp \(i)")
        }
    }

    /// libsrtp protects, Parley unprotects; replays are refused.
    @Test(arguments: profiles)
    func libSRTPToParley(profile: SRTPProfile) throws {
        let k = keys(profile, seed: 3)
        let parley = try SRTPSession(profile: profile, keys: k)
        let oracle = LibSRTP(gcm: profile == .aeadAes128Gcm, masterKey: k.masterKey, masterSalt: k.masterSalt, outbound: true)
        var rng = SeededGenerator(seed: 4)
        var seq: UInt16 = 64_000
        var previous: [UInt8] = []
        for i in 0..<2_000 {
            let plain = rtpPacket(seq: seq, ssrc: 0xABCD_0001, payloadSize: Int.random(in: 1...1_200, using: &rng),
                                  extensionWords: i % 3 == 0 ? 1 : 0, using: &rng)
            let protected = try #require(oracle.protect(plain))
            #expect(try parley.unprotect(protected) == plain, "packet \(i) seq \(seq)")
            #expect(throws: SRTPError.replayed) { try parley.unprotect(protected) }
            if !previous.isEmpty, i % 100 == 0 {
                #expect(throws: SRTPError.replayed) { try parley.unprotect(previous) }
            }
            previous = protected
            seq &+= 1
        }
        var rtcpPrevious: [UInt8] = []
        for i in 0..<100 {
            let plain = rtcpPacket(ssrc: 0xABCD_0001, using: &rng)
            let protected = try #require(oracle.protect(plain, rtcp: true))
            #expect(try parley.unprotect(protected, rtcp: true) == plain, "rtcp \(i)")
            #expect(throws: SRTPError.replayed) { try parley.unprotect(protected, rtcp: true) }
            rtcpPrevious = protected
        }
        _ = rtcpPrevious
    }

    /// Packets that arrive out of order inside the window are accepted once; older ones are refused.
    @Test(arguments: profiles)
    func reorderingAndWindow(profile: SRTPProfile) throws {
        let k = keys(profile, seed: 5)
        let sender = try SRTPSession(profile: profile, keys: k)
        let receiver = try SRTPSession(profile: profile, keys: k)
        var rng = SeededGenerator(seed: 6)
        let packets = try (0..<200).map { try sender.protect(rtpPacket(seq: UInt16(truncatingIfNeeded: 65_500 + $0), ssrc: 7, payloadSize: 100, using: &rng)) }
        var order = Array(0..<200)
        for i in stride(from: 0, to: 196, by: 4) { order.swapAt(i, i + 3) }  // local reordering across the wrap
        for i in order { _ = try receiver.unprotect(packets[i]) }
        #expect(throws: SRTPError.replayed) { try receiver.unprotect(packets[150]) }
        #expect(throws: SRTPError.tooOld) { try receiver.unprotect(packets[10]) }
    }

    @Test(arguments: profiles)
    func tamperedPacketsFailAuthentication(profile: SRTPProfile) throws {
        let k = keys(profile, seed: 7)
        let sender = try SRTPSession(profile: profile, keys: k)
        let receiver = try SRTPSession(profile: profile, keys: k)
        var rng = SeededGenerator(seed: 8)
        let good = try sender.protect(rtpPacket(seq: 1, ssrc: 9, payloadSize: 200, using: &rng))
        for position in [2, 12, 100, good.count - 1] {
            var bad = good
            bad[position] ^= 0x01
            #expect(throws: SRTPError.authenticationFailed) { try receiver.unprotect(bad) }
        }
        let goodRTCP = try sender.protect(rtcpPacket(ssrc: 9, using: &rng), rtcp: true)
        var badRTCP = goodRTCP
        badRTCP[10] ^= 0x80
        #expect(throws: SRTPError.authenticationFailed) { try receiver.unprotect(badRTCP, rtcp: true) }
        // The untouched packets still pass after the failures: failures change no state.
        _ = try receiver.unprotect(good)
        _ = try receiver.unprotect(goodRTCP, rtcp: true)
    }

    @Test(arguments: profiles)
    func malformedInputIsRefusedNotCrashed(profile: SRTPProfile) throws {
        let session = try SRTPSession(profile: profile, keys: keys(profile, seed: 9))
        var rng = SeededGenerator(seed: 10)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...80, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            #expect(throws: SRTPError.self) { try session.unprotect(bytes) }
            #expect(throws: SRTPError.self) { try session.unprotect(bytes, rtcp: true) }
        }
        // A header whose CSRC count or extension length points past the end.
        #expect(throws: SRTPError.malformedHeader) { try session.protect([0x8F] + [UInt8](repeating: 0, count: 20)) }
        #expect(throws: SRTPError.malformedHeader) { try session.protect([0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0xFF, 0xFF]) }
        #expect(throws: SRTPError.tooShort) { try session.protect([0x80, 0, 0]) }
    }

    @Test func protectsInPlaceWithAReaderOffset() throws {
        let k = keys(.aeadAes128Gcm, seed: 11)
        let sender = try SRTPSession(profile: .aeadAes128Gcm, keys: k)
        let receiver = try SRTPSession(profile: .aeadAes128Gcm, keys: k)
        var rng = SeededGenerator(seed: 12)
        let plain = rtpPacket(seq: 5, ssrc: 1, payloadSize: 50, using: &rng)
        var buffer = ByteBuffer(bytes: [9, 9, 9] + plain)
        buffer.moveReaderIndex(forwardBy: 3)
        try sender.protectRTP(&buffer)
        try receiver.unprotectRTP(&buffer)
        #expect(Array(buffer.readableBytesView) == plain)
    }

    @Test func wrongKeyLengthsAreRefused() {
        #expect(throws: SRTPError.invalidKeyLength) {
            try SRTPSession(profile: .aeadAes128Gcm, keys: .init(masterKey: [UInt8](repeating: 0, count: 16), masterSalt: [UInt8](repeating: 0, count: 14)))
        }
    }
}

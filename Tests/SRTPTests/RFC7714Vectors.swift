import NIOCore
import Testing
@testable import SRTP

/// RFC 7714 §16.1 / §17 AEAD_AES_128_GCM vectors. They start from the session key and salt (no KDF), so the
/// session is built from `DirectionKeys` directly, the same keys for RTP and RTCP as in the RFC.
@Suite struct RFC7714Vectors {
    static let key = hex("000102030405060708090a0b0c0d0e0f")
    static let salt = hex("517569642070726f2071756f")  // "Quid pro quo"

    /// SSRC 0x5501a0b2, sequence 0xf17b, ROC 0; the payload is "Gallia est omnis divisa in partes tres".
    static let rtpPlain = hex("""
        8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
        69736120 696e2070 61727465 73207472 6573
        """)
    /// §16.1.1: header, ciphertext, 16-byte tag.
    static let rtpProtected = hex("""
        8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
        0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439
        0cce
        """)

    /// SSRC "Mars", SRTCP index 0x5d4.
    static let rtcpPlain = hex("""
        81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef deadbeef
        """)
    /// §17.1: encrypted (E flag set): header, ciphertext, tag, E || index.
    static let rtcpProtected = hex("""
        81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
        c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
        45d9eade 800005d4
        """)
    /// §17.3: authenticated only (E flag clear): the packet, tag, E || index.
    static let rtcpAuthenticatedOnly = hex("""
        81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790
        125f62b3 000005d4
        """)

    func keys() throws -> DirectionKeys {
        try DirectionKeys(profile: .aeadAes128Gcm, sessionKey: Self.key, sessionSalt: Self.salt, authKey: [])
    }

    func session() throws -> SRTPSession {
        SRTPSession(profile: .aeadAes128Gcm, rtp: try keys(), rtcp: try keys())
    }

    /// The IVs the RFC prints (§16.1, §17.1): the salt XOR SSRC/ROC/SEQ, and XOR SSRC/index.
    @Test func initializationVectors() throws {
        let k = try keys()
        let rtpIV = withUnsafeBytes(of: k.gcmRTPIV(ssrc: 0x5501_A0B2, roc: 0, seq: 0xF17B)) { Array($0.prefix(12)) }
        #expect(rtpIV == hex("51753c6580c2726f20718414"))
        let rtcpIV = withUnsafeBytes(of: k.gcmRTCPIV(ssrc: 0x4D61_7273, index: 0x5D4)) { Array($0.prefix(12)) }
        #expect(rtcpIV == hex("517524055203726f207170bb"))
    }

    @Test func rtpEncryption() throws {
        #expect(try session().protect(Self.rtpPlain) == Self.rtpProtected)
    }

    @Test func aSessionMakesOnlyTheContextsItUses() throws {
        let sender = try session()
        #expect(sender.gcmContexts == 0)
        #expect(try sender.protect(Self.rtpPlain) == Self.rtpProtected)
        #expect(sender.gcmContexts == 1, "RTP's encryption alone: no decryption, no RTCP")
        let receiver = try session()
        _ = try receiver.unprotect(Self.rtpProtected)
        #expect(throws: SRTPError.replayed) { try receiver.unprotect(Self.rtpProtected) }  // no second context either
        #expect(receiver.gcmContexts == 1)
    }

    @Test func rtpDecryption() throws {
        let receiver = try session()
        #expect(try receiver.unprotect(Self.rtpProtected) == Self.rtpPlain)
        var tampered = Self.rtpProtected
        tampered[20] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) { try session().unprotect(tampered) }
    }

    @Test func rtcpEncryption() throws {
        let sender = try session()
        sender.rtcpStreams[0x4D61_7273] = RTCPStreamState(nextIndex: 0x5D4)
        #expect(try sender.protect(Self.rtcpPlain, rtcp: true) == Self.rtcpProtected)
    }

    @Test func rtcpDecryption() throws {
        #expect(try session().unprotect(Self.rtcpProtected, rtcp: true) == Self.rtcpPlain)
        var tampered = Self.rtcpProtected
        tampered[12] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) { try session().unprotect(tampered, rtcp: true) }
    }

    @Test func rtcpAuthenticatedOnlyDecryption() throws {
        #expect(try session().unprotect(Self.rtcpAuthenticatedOnly, rtcp: true) == Self.rtcpPlain)
        var tampered = Self.rtcpAuthenticatedOnly
        tampered[30] ^= 0x01
        #expect(throws: SRTPError.authenticationFailed) { try session().unprotect(tampered, rtcp: true) }
    }

    @Test func sessionKeysOfTheWrongLengthAreRefused() {
        #expect(throws: SRTPError.invalidKeyLength) {
            try DirectionKeys(profile: .aeadAes128Gcm, sessionKey: Self.key, sessionSalt: hex("00112233445566778899aabbccdd"), authKey: [])
        }
    }
}

/// The DTLS-SRTP protection profiles Parley speaks (RFC 5764 §4.1.2, RFC 7714 §14.2).
public enum SRTPProfile: UInt16, Sendable, Hashable, CaseIterable {
    case aes128CmHmacSha1_80 = 0x0001
    case aeadAes128Gcm = 0x0007

    public var keyLength: Int { 16 }
    public var saltLength: Int { self == .aeadAes128Gcm ? 12 : 14 }
    /// Bytes appended to each SRTP packet (and before the SRTCP index for GCM / after it for AES-CM).
    public var tagLength: Int { self == .aeadAes128Gcm ? 16 : 10 }
    /// The name OpenSSL's `SSL_CTX_set_tlsext_use_srtp` takes.
    public var openSSLName: String { self == .aeadAes128Gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80" }
}

/// Keys for one direction of an SRTP session.
public struct SRTPKeyingMaterial: Sendable, Equatable {
    public let masterKey: [UInt8]
    public let masterSalt: [UInt8]

    public init(masterKey: [UInt8], masterSalt: [UInt8]) {
        self.masterKey = masterKey
        self.masterSalt = masterSalt
    }

    /// Splits the DTLS exporter output (RFC 5764 §4.2: client key | server key | client salt | server salt)
    /// into (what this side sends with, what it receives with).
    public static func fromDTLSExport(_ material: [UInt8], profile: SRTPProfile, isServer: Bool)
        -> (local: SRTPKeyingMaterial, remote: SRTPKeyingMaterial)?
    {
        let k = profile.keyLength, s = profile.saltLength
        guard material.count >= 2 * (k + s) else { return nil }
        let client = SRTPKeyingMaterial(masterKey: Array(material[0..<k]), masterSalt: Array(material[2 * k..<2 * k + s]))
        let server = SRTPKeyingMaterial(masterKey: Array(material[k..<2 * k]), masterSalt: Array(material[2 * k + s..<2 * k + 2 * s]))
        return isServer ? (server, client) : (client, server)
    }

    public static func exportLength(for profile: SRTPProfile) -> Int { 2 * (profile.keyLength + profile.saltLength) }
}

public enum SRTPError: Error, Sendable, Equatable {
    case invalidKeyLength
    case cryptoFailure
    case tooShort
    case malformedHeader
    case authenticationFailed
    case replayed
    case tooOld
}

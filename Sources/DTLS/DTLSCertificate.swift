import COpenSSL

public enum DTLSError: Error, Sendable, Equatable {
    case certificateGeneration
    case contextSetup(String)
    case handshakeFailed(String)
    case fingerprintMismatch
    case noSRTPProfile
    case keyExport
}

/// A self-signed ECDSA P-256 certificate made at start, and its SHA-256 fingerprint for SDP (`a=fingerprint`).
public final class DTLSCertificate: @unchecked Sendable {
    let key: OpaquePointer
    let x509: OpaquePointer
    /// Upper-case hex pairs joined by ':', as SDP writes it.
    public let fingerprint: String
    public let fingerprintBytes: [UInt8]

    public static func generate(commonName: String = "parley", validDays: Int = 30) throws(DTLSError) -> DTLSCertificate {
        guard let key = parley_EVP_EC_gen_p256() else { throw .certificateGeneration }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw .certificateGeneration
        }
        var serial: UInt64 = 0
        withUnsafeMutableBytes(of: &serial) { _ = RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), 8) }
        let ok = X509_set_version(x509, 2) == 1
            && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial >> 1) == 1
            && X509_gmtime_adj(X509_getm_notBefore(x509), -86_400) != nil
            && X509_gmtime_adj(X509_getm_notAfter(x509), validDays * 86_400) != nil
            && X509_set_pubkey(x509, key) == 1
            && X509_NAME_add_entry_by_txt(X509_get_subject_name(x509), "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1
            && X509_set_issuer_name(x509, X509_get_subject_name(x509)) == 1
            && X509_sign(x509, key, EVP_sha256()) > 0
        guard ok, let digest = Self.sha256(of: x509) else {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw .certificateGeneration
        }
        return DTLSCertificate(key: key, x509: x509, digest: digest)
    }

    private init(key: OpaquePointer, x509: OpaquePointer, digest: [UInt8]) {
        self.key = key
        self.x509 = x509
        self.fingerprintBytes = digest
        self.fingerprint = Self.format(digest)
    }

    deinit {
        X509_free(x509)
        EVP_PKEY_free(key)
    }

    static func sha256(of x509: OpaquePointer) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, EVP_sha256(), &out, &length) == 1 else { return nil }
        return Array(out.prefix(Int(length)))
    }

    public static func format(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        return digest.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: ":")
    }

    /// Parses "AB:CD:…" (either case) into bytes; nil when malformed.
    public static func parseFingerprint(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":")
        guard !parts.isEmpty else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let b = UInt8(part, radix: 16) else { return nil }
            bytes.append(b)
        }
        return bytes
    }
}

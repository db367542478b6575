import COpenSSL
import SRTP

/// An OpenSSL DTLS 1.2 context shared by every transport of one role: certificate, ciphers, SRTP profiles.
public final class DTLSContext: @unchecked Sendable {
    public enum Role: Sendable { case server, client }

    let ctx: OpaquePointer
    public let role: Role
    public let certificate: DTLSCertificate

    public init(role: Role, certificate: DTLSCertificate, profiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80]) throws(DTLSError) {
        guard let ctx = SSL_CTX_new(role == .server ? DTLS_server_method() : DTLS_client_method()) else {
            throw .contextSetup("SSL_CTX_new")
        }
        self.ctx = ctx
        self.role = role
        self.certificate = certificate
        guard parley_SSL_CTX_set_min_proto_version(ctx, parley_DTLS1_2_VERSION()) == 1,
              parley_SSL_CTX_set_max_proto_version(ctx, parley_DTLS1_2_VERSION()) == 1 else {
            throw .contextSetup("DTLS 1.2 only")
        }
        guard SSL_CTX_use_certificate(ctx, certificate.x509) == 1,
              SSL_CTX_use_PrivateKey(ctx, certificate.key) == 1,
              SSL_CTX_check_private_key(ctx) == 1 else { throw .contextSetup("certificate") }
        guard SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA") == 1 else {
            throw .contextSetup("ciphers")
        }
        guard parley_SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1 else { throw .contextSetup("groups") }
        // Returns 0 on success (unlike most of OpenSSL).
        guard SSL_CTX_set_tlsext_use_srtp(ctx, profiles.map(\.openSSLName).joined(separator: ":")) == 0 else {
            throw .contextSetup("use_srtp")
        }
        // Every peer presents a self-signed certificate: accept it here, then check its fingerprint against
        // the one the peer's SDP announced once the handshake is done.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        _ = parley_SSL_CTX_set_options(ctx, parley_SSL_OP_NO_QUERY_MTU())
        _ = parley_SSL_CTX_set_mode(ctx, parley_SSL_MODE_AUTO_RETRY())
    }

    deinit { SSL_CTX_free(ctx) }
}

import COpenSSL
import SRTP

/// One DTLS association (one peer connection), driven by datagrams and a retransmission timer; no sockets.
///
/// Records OpenSSL writes are collected one datagram per `BIO_write` through a small custom BIO (a memory BIO
/// would merge them); incoming datagrams are fed one at a time through a memory BIO.
/// Not thread-safe: each transport lives on one event loop.
public final class DTLSTransport {
    public enum State: Sendable, Equatable {
        case handshaking
        case connected(SRTPProfile)
        case failed(DTLSError)
        case closed
    }

    /// The SRTP keys of a connected association: what this side protects with, and what it unprotects with.
    public struct SRTPKeys: Sendable, Equatable {
        public let profile: SRTPProfile
        public let local: SRTPKeyingMaterial
        public let remote: SRTPKeyingMaterial
    }

    public let context: DTLSContext
    public private(set) var state: State = .handshaking
    public private(set) var keys: SRTPKeys?
    /// SHA-256 fingerprint the peer announced in SDP; the handshake fails if its certificate does not match.
    public let expectedRemoteFingerprint: [UInt8]?

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    fileprivate var outgoing: [[UInt8]] = []
    private var handshakeStarted = false

    public init(context: DTLSContext, expectedRemoteFingerprint: [UInt8]?, mtu: Int = 1200) throws(DTLSError) {
        guard let ssl = SSL_new(context.ctx) else { throw .contextSetup("SSL_new") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(DatagramSink.method) else {
            SSL_free(ssl)
            throw .contextSetup("BIO_new")
        }
        self.ssl = ssl
        self.readBIO = rbio
        self.context = context
        self.expectedRemoteFingerprint = expectedRemoteFingerprint
        // An empty memory BIO means "no data yet", not end of file.
        _ = parley_BIO_set_mem_eof_return(rbio, -1)
        BIO_set_data(wbio, Unmanaged.passUnretained(self).toOpaque())
        BIO_set_init(wbio, 1)
        SSL_set_bio(ssl, rbio, wbio)
        _ = parley_SSL_set_options(ssl, parley_SSL_OP_NO_QUERY_MTU())
        _ = parley_DTLS_set_link_mtu(ssl, mtu)
        if context.role == .server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit {
        SSL_free(ssl)  // frees both BIOs
    }

    /// For a client: the first flight (ClientHello).
    public func start() -> [[UInt8]] {
        guard !handshakeStarted else { return [] }
        handshakeStarted = true
        advanceHandshake()
        return takeOutgoing()
    }

    /// Feeds one datagram from the peer; returns datagrams to send back. Check `state` afterwards.
    public func receive(_ datagram: [UInt8]) -> [[UInt8]] {
        guard datagram.count > 0, datagram.count <= 65_536 else { return [] }
        switch state {
        case .failed, .closed: return []
        case .handshaking, .connected: break
        }
        handshakeStarted = true
        _ = datagram.withUnsafeBytes { BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
        if case .handshaking = state {
            advanceHandshake()
        } else {
            // After the handshake DTLS only carries alerts (close_notify) or retransmitted final flights.
            var scratch = [UInt8](repeating: 0, count: 2048)
            let n = SSL_read(ssl, &scratch, Int32(scratch.count))
            if n <= 0, SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN { state = .closed }
        }
        _ = parley_BIO_reset(readBIO)
        return takeOutgoing()
    }

    /// Seconds until the retransmission timer fires, or nil when none is running.
    public var nextTimeout: Double? {
        guard case .handshaking = state else { return nil }
        var tv = timeval()
        guard parley_DTLSv1_get_timeout(ssl, &tv) == 1 else { return nil }
        return Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6
    }

    /// Retransmits an unanswered flight after 100 ms (doubling to 1.6 s), as browsers do, instead of OpenSSL's 1 s.
    /// Call before `start`.
    public func useFastRetransmission() { parley_DTLS_use_fast_timer(ssl) }

    /// Call when `nextTimeout` elapses: OpenSSL retransmits the last flight (with backoff) if it is due.
    public func handleTimeout() -> [[UInt8]] {
        guard case .handshaking = state else { return [] }
        if parley_DTLSv1_handle_timeout(ssl) < 0 {
            fail(.handshakeFailed("retransmission limit reached"))
        }
        return takeOutgoing()
    }

    /// A close_notify alert to send when the peer connection ends.
    public func close() -> [[UInt8]] {
        guard case .connected = state else { return [] }
        SSL_shutdown(ssl)
        state = .closed
        return takeOutgoing()
    }

    private func advanceHandshake() {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            finishHandshake()
            return
        }
        let error = SSL_get_error(ssl, rc)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
        fail(.handshakeFailed(Self.lastErrorDescription()))
    }

    private func finishHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            fail(.handshakeFailed("the peer sent no certificate"))
            return
        }
        defer { X509_free(peer) }
        if let expected = expectedRemoteFingerprint {
            guard let actual = DTLSCertificate.sha256(of: peer), actual == expected else {
                fail(.fingerprintMismatch)
                return
            }
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = SRTPProfile(rawValue: UInt16(truncatingIfNeeded: selected.pointee.id)) else {
            fail(.noSRTPProfile)
            return
        }
        var material = [UInt8](repeating: 0, count: SRTPKeyingMaterial.exportLength(for: profile))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1,
              let split = SRTPKeyingMaterial.fromDTLSExport(material, profile: profile, isServer: context.role == .server) else {
            fail(.keyExport)
            return
        }
        keys = SRTPKeys(profile: profile, local: split.local, remote: split.remote)
        state = .connected(profile)
    }

    private func fail(_ error: DTLSError) {
        state = .failed(error)
    }

    private func takeOutgoing() -> [[UInt8]] {
        defer { outgoing.removeAll(keepingCapacity: true) }
        return outgoing
    }

    static func lastErrorDescription() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "handshake error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The custom BIO that turns each record write into one outgoing datagram of its transport.
enum DatagramSink {
    nonisolated(unsafe) static let method: OpaquePointer = {
        let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley datagram sink")!
        BIO_meth_set_write(method) { bio, data, length in
            guard let bio, let data, length > 0, let owner = BIO_get_data(bio) else { return 0 }
            let transport = Unmanaged<DTLSTransport>.fromOpaque(owner).takeUnretainedValue()
            transport.outgoing.append(Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
            return length
        }
        BIO_meth_set_ctrl(method) { _, command, _, _ in
            // Flush succeeds (nothing is buffered); nothing is pending; MTU comes from DTLS_set_link_mtu.
            switch command {
            case BIO_CTRL_FLUSH: return 1
            case BIO_CTRL_WPENDING, BIO_CTRL_PENDING: return 0
            default: return 0
            }
        }
        BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        return method
    }()
}

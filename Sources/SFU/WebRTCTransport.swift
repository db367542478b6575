import DTLS
import NIOCore
import RTP
import SRTP
import STUN

/// What a transport learned from the peer's SDP.
public struct RemoteTransportParameters: Sendable {
    public let iceUfrag: String
    public let icePassword: String
    /// SHA-256 of the peer's DTLS certificate, from its `a=fingerprint`.
    public let fingerprint: [UInt8]

    public init(iceUfrag: String, icePassword: String, fingerprint: [UInt8]) {
        self.iceUfrag = iceUfrag
        self.icePassword = icePassword
        self.fingerprint = fingerprint
    }
}

/// What the answer SDP tells the peer about this side.
public struct LocalTransportParameters: Sendable {
    public let iceUfrag: String
    public let icePassword: String
    /// SHA-256 fingerprint, "AB:CD:…".
    public let fingerprint: String
    public let candidates: [(ip: String, port: Int)]
    /// The media loop (and so the port in `candidates`) the transport will live on.
    public let mediaLoop: Int

    public init(iceUfrag: String, icePassword: String, fingerprint: String, candidates: [(ip: String, port: Int)],
                mediaLoop: Int = 0) {
        self.iceUfrag = iceUfrag
        self.icePassword = icePassword
        self.fingerprint = fingerprint
        self.candidates = candidates
        self.mediaLoop = mediaLoop
    }
}

public enum TransportEvent: Sendable, Equatable {
    case connected
    /// The transport never came up (a DTLS or SRTP failure).
    case failed(TransportEndReason)
    /// The transport was up and is gone.
    case closed(TransportEndReason)
}

/// Why a transport ended. Adapters map it by `switch` to their own wire words; `description` is for logs only.
public enum TransportEndReason: Sendable, Equatable, CustomStringConvertible {
    /// The peer sent DTLS close_notify (or another alert): it ended the connection itself.
    case peerClosed
    /// No ICE consent check (STUN binding request) came for 29 s (RFC 7675); media alone does not count.
    case consentExpired
    /// The DTLS handshake failed; `detail` says how, for people.
    case dtlsHandshakeFailed(detail: String)
    /// The peer's DTLS certificate does not match the fingerprint in its offer.
    case fingerprintMismatch
    /// The handshake completed but no SRTP session could be made from its keys.
    case srtpSetupFailed
    /// A player's source: the stream it plays was unpublished.
    case sourceUnpublished
    /// The server closed it (stop, leave, the owner's socket closing).
    case closedByServer

    public var description: String {
        switch self {
        case .peerClosed: "peer closed DTLS"
        case .consentExpired: "consent expired"
        case .dtlsHandshakeFailed(let detail): "DTLS handshake failed: \(detail)"
        case .fingerprintMismatch: "DTLS certificate does not match the fingerprint in the offer"
        case .srtpSetupFailed: "SRTP setup failed"
        case .sourceUnpublished: "unpublished"
        case .closedByServer: "closed by the server"
        }
    }

    /// A label for metrics: no detail, a fixed set.
    public var metricName: String {
        switch self {
        case .peerClosed: "peer_closed"
        case .consentExpired: "consent_expired"
        case .dtlsHandshakeFailed: "dtls_failed"
        case .fingerprintMismatch: "fingerprint_mismatch"
        case .srtpSetupFailed: "srtp_failed"
        case .sourceUnpublished: "source_unpublished"
        case .closedByServer: "closed_by_server"
        }
    }
}

/// Receives a transport's decrypted media, on the transport's event loop.
public protocol TransportMediaHandler: AnyObject {
    func transport(_ transport: WebRTCTransport, didReceiveRTP packet: RTPPacket)
    func transport(_ transport: WebRTCTransport, didReceiveRTCP packet: ByteBuffer)
    func transportDidConnect(_ transport: WebRTCTransport)
    /// The transport closed or failed; called once, before it is forgotten.
    func transportDidClose(_ transport: WebRTCTransport)
}

/// One peer connection on the shared UDP port: ICE-lite, DTLS, SRTP. Lives on its mux's event loop: its entry
/// points assert so in debug builds.
public final class WebRTCTransport {
    public let id: String
    public let local: LocalTransportParameters
    public weak var mediaHandler: (any TransportMediaHandler)?
    let eventLoop: any EventLoop
    private(set) var agent: ICELiteAgent
    /// The DTLS association, until the handshake completes: then it is freed, since an OpenSSL DTLS server
    /// connection holds ~76 KB that a media transport never needs again (a hundred viewers joining at once held
    /// them all for the half second until each peer's first SRTCP). What the peer may still need is kept apart.
    private var dtls: DTLSTransport?
    /// Parley's final handshake flight, sent again if the peer repeats its own (it lost ours), until its first
    /// authenticated SRTP or SRTCP shows it has it; at most `finalFlightResends` times.
    private var finalFlight: [[UInt8]] = []
    private var finalFlightResent = 0
    static let finalFlightResends = 8
    /// The close_notify for the end of the transport, made when the association was freed. Parley sends no DTLS
    /// record after the handshake, so the alert's record sequence number is still the next one when it is sent.
    private var closeNotify: [[UInt8]] = []
    /// When the peer sent a DTLS alert after the association was freed; cleared by its next authenticated packet.
    private var peerAlertAt: Double?
    private var srtpIn: SRTPSession?
    private var srtpOut: SRTPSession?
    private(set) var selectedAddress: SocketAddress?
    private weak var mux: UDPMux?
    private var dtlsTimer: Scheduled<Void>?
    private let onEvent: @Sendable (TransportEvent) -> Void
    private(set) var isClosed = false

    init(id: String, local: LocalTransportParameters, remote: RemoteTransportParameters, dtls: DTLSTransport,
         mux: UDPMux, onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        self.id = id
        self.local = local
        self.agent = ICELiteAgent(localUfrag: local.iceUfrag, localPassword: local.icePassword, remoteUfrag: remote.iceUfrag)
        self.dtls = dtls
        self.mux = mux
        self.eventLoop = mux.eventLoop
        self.onEvent = onEvent
    }

    public var isConnected: Bool { srtpOut != nil && !isClosed }
    var holdsDTLSAssociation: Bool { dtls != nil }
    /// Whether Parley's final flight is still kept for a peer that may have lost it (for tests).
    var holdsFinalFlight: Bool { !finalFlight.isEmpty }

    /// Seconds on the media plane's monotonic clock.
    var now: Double { mux?.now ?? 0 }
    var stats: MediaStats? { mux?.stats }

    // MARK: inbound, called by the mux

    func handleSTUN(_ buffer: ByteBuffer, from address: SocketAddress, now: Double) {
        assertOnLoop(eventLoop)
        guard let value = address.stunValue else { return }
        switch agent.handle(Array(buffer.readableBytesView), from: value, now: now) {
        case .respond(let response, let nominated):
            if nominated || selectedAddress == nil {
                // ICE-lite: the controlling peer's nomination picks the path; until then the first valid check does.
                if selectedAddress != address { mux?.bind(self, to: address, replacing: selectedAddress) }
                selectedAddress = address
            }
            mux?.send(ByteBuffer(bytes: response), to: address)
        case .reject(let reason, let response):
            mux?.stats.dropped(reason == .badIntegrity || reason == .unknownUsername ? .badSTUNIntegrity : .malformed)
            if let response { mux?.send(ByteBuffer(bytes: response), to: address) }
        case .ignore:
            break
        }
    }

    func handleDTLS(_ buffer: ByteBuffer) {
        assertOnLoop(eventLoop)
        guard let dtls else {
            let contentType = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)
            // Freed association. A handshake record: the peer repeats its last flight because ours was lost.
            if contentType == 22, !finalFlight.isEmpty, finalFlightResent < Self.finalFlightResends {
                finalFlightResent += 1
                for datagram in finalFlight { sendRaw(ByteBuffer(bytes: datagram)) }
                return
            }
            // Otherwise the only DTLS it still sends is an alert (content type 21), in practice close_notify: the
            // peer connection ended. Without the association it cannot be authenticated, and anyone who can forge
            // the peer's address could send it; so it only closes the transport if no authenticated SRTP/SRTCP
            // follows (a live browser sends RTCP every second).
            if contentType == 21, peerAlertAt == nil { peerAlertAt = now }
            return
        }
        let wasConnected = srtpOut != nil
        let sent = dtls.receive(Array(buffer.readableBytesView))
        for datagram in sent { sendRaw(ByteBuffer(bytes: datagram)) }
        afterDTLS(wasConnected: wasConnected)
        if !wasConnected, srtpOut != nil, !sent.isEmpty {
            // The handshake completed with this flight of ours: keep it, free the rest.
            finalFlight = sent
            retireDTLS()
        }
    }

    /// The handshake is complete (Parley is always the DTLS server, so its last flight ends it) or the peer sent
    /// authenticated SRTP or SRTCP: keep only the close_notify and free the association.
    private func retireDTLS() {
        guard let dtls, case .connected = dtls.state else { return }
        closeNotify = dtls.close()
        self.dtls = nil
    }

    func handleSRTP(_ buffer: inout ByteBuffer, kind: PacketKind) {
        assertOnLoop(eventLoop)
        guard let srtpIn else { return }
        do {
            if kind == .rtcp {
                try srtpIn.unprotectRTCP(&buffer)
                if dtls != nil { retireDTLS() }
                finalFlight = []
                peerAlertAt = nil
                mediaHandler?.transport(self, didReceiveRTCP: buffer)
            } else {
                try srtpIn.unprotectRTP(&buffer)
                if dtls != nil { retireDTLS() }
                finalFlight = []
                peerAlertAt = nil
                guard let packet = try? RTPPacket(buffer) else {
                    mux?.stats.dropped(.malformed)
                    return
                }
                mediaHandler?.transport(self, didReceiveRTP: packet)
            }
        } catch SRTPError.authenticationFailed {
            mux?.stats.dropped(.badSRTPAuth)
        } catch {
            mux?.stats.dropped(.malformed)
        }
    }

    /// Periodic check (RFC 7675): a peer silent for 30 s is gone, and so is one that never sent a check (the
    /// agent counts that from the first call); one that sent an alert and then no authenticated packet for
    /// `alertGrace` closed its end.
    func checkConsent(now: Double) {
        assertOnLoop(eventLoop)
        if agent.consentExpired(now: now) { return close(reason: .consentExpired) }
        if let peerAlertAt, now - peerAlertAt >= Self.alertGrace { close(reason: .peerClosed) }
    }

    /// How long an unauthenticated alert waits for the peer's next SRTP/SRTCP before it is believed.
    static let alertGrace = 2.0

    // MARK: outbound

    /// Protects and sends an RTP packet to the peer; the buffer is consumed. `kind`: a forwarded track's, for
    /// the metrics.
    public func sendRTP(_ buffer: inout ByteBuffer, kind: TrackKind? = nil) {
        assertOnLoop(eventLoop)
        guard let srtpOut, let selectedAddress else { return }
        do {
            try srtpOut.protectRTP(&buffer)
            mux?.send(buffer, to: selectedAddress, kind: kind)
        } catch {
            mux?.stats.dropped(.malformed)
        }
    }

    public func sendRTCP(_ buffer: inout ByteBuffer) {
        assertOnLoop(eventLoop)
        guard let srtpOut, let selectedAddress else { return }
        do {
            try srtpOut.protectRTCP(&buffer)
            mux?.send(buffer, to: selectedAddress)
        } catch {
            mux?.stats.dropped(.malformed)
        }
    }

    /// Ends the transport: a DTLS close_notify to the peer, then it is forgotten.
    public func close(reason: TransportEndReason) {
        assertOnLoop(eventLoop)
        guard !isClosed else { return }
        countEnd(reason)
        for datagram in dtls?.close() ?? closeNotify { sendRaw(ByteBuffer(bytes: datagram)) }
        dtls = nil
        closeNotify = []
        isClosed = true
        dtlsTimer?.cancel()
        mediaHandler?.transportDidClose(self)
        mux?.remove(self)
        onEvent(.closed(reason))
    }

    private func sendRaw(_ buffer: ByteBuffer) {
        guard let selectedAddress else { return }
        mux?.send(buffer, to: selectedAddress)
    }

    private func afterDTLS(wasConnected: Bool) {
        guard let dtls else { return }
        switch dtls.state {
        case .connected where !wasConnected:
            dtlsTimer?.cancel()
            guard let keys = dtls.keys,
                  let inbound = try? SRTPSession(profile: keys.profile, keys: keys.remote),
                  let outbound = try? SRTPSession(profile: keys.profile, keys: keys.local) else {
                fail(.srtpSetupFailed)
                return
            }
            srtpIn = inbound
            srtpOut = outbound
            mux?.stats.connected.add(1, ordering: .relaxed)
            onEvent(.connected)
            mediaHandler?.transportDidConnect(self)
        case .failed(let error):
            fail(error == .fingerprintMismatch ? .fingerprintMismatch : .dtlsHandshakeFailed(detail: "\(error)"))
        case .closed:
            close(reason: .peerClosed)
        case .handshaking:
            scheduleDTLSTimer()
        default:
            break
        }
    }

    private func countEnd(_ reason: TransportEndReason) {
        if srtpOut != nil { mux?.stats.connected.subtract(1, ordering: .relaxed) }
        mux?.stats.ended(reason)
    }

    private func fail(_ reason: TransportEndReason) {
        guard !isClosed else { return }
        countEnd(reason)
        isClosed = true
        dtlsTimer?.cancel()
        mediaHandler?.transportDidClose(self)
        mux?.remove(self)
        onEvent(.failed(reason))
    }

    private func scheduleDTLSTimer() {
        dtlsTimer?.cancel()
        guard let timeout = dtls?.nextTimeout else { return }
        dtlsTimer = eventLoop.scheduleTask(in: .microseconds(Int64(timeout * 1e6) + 1_000)) { [weak self] in
            guard let self, !self.isClosed else { return }
            for datagram in self.dtls?.handleTimeout() ?? [] { self.sendRaw(ByteBuffer(bytes: datagram)) }
            self.afterDTLS(wasConnected: false)
        }
    }
}

extension SocketAddress {
    /// The address as STUN's XOR-MAPPED-ADDRESS carries it.
    var stunValue: SocketAddressValue? {
        guard let port else { return nil }
        switch self {
        case .v4(let a):
            return SocketAddressValue(ip: withUnsafeBytes(of: a.address.sin_addr) { Array($0) }, port: UInt16(port))
        case .v6(let a):
            return SocketAddressValue(ip: withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }, port: UInt16(port))
        default:
            return nil
        }
    }
}

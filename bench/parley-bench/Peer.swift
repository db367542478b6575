// A synthetic WebRTC peer without a browser: ICE (controlling or controlled, answering the server's checks when it
// is a full ICE agent), DTLS client or server, SRTP, and RTP/RTCP as a publisher or a subscriber. Every peer lives
// on one worker thread; the control plane reaches it only through `Worker.submit`.
import DTLS
import NIOCore
import RTP
import SRTP
import STUN

/// What the peer learned from the server's SDP.
struct RemoteDescription: Sendable {
    var ufrag: String
    var password: String
    var fingerprint: [UInt8]
    /// A loopback address (127.0.0.0/8): Janus runs with 127.0.0.2 in the bench's network namespace.
    var ip: String
    var port: UInt16
    /// a=setup of the server: "active" makes this peer the DTLS server.
    var setup: String
    var iceLite: Bool
}

/// The shared DTLS identity of every synthetic peer (one certificate, as one browser profile would have).
final class PeerIdentity: Sendable {
    let certificate: DTLSCertificate
    let client: DTLSContext
    let server: DTLSContext

    init(profiles: [SRTPProfile]) throws {
        certificate = try DTLSCertificate.generate(commonName: "parley-bench")
        client = try DTLSContext(role: .client, certificate: certificate, profiles: profiles)
        server = try DTLSContext(role: .server, certificate: certificate, profiles: profiles)
    }
}

enum PeerState: Sendable, Equatable {
    case idle, checking, handshaking, connected, closed
    case failed(String)
}

/// The bench header inside every payload: who sent it, when, and its place in the publisher's sequence.
enum BenchPayload {
    static let magic: UInt16 = 0x5042  // "PB"
    static let size = 20
    static let flagKeyframe: UInt8 = 1
    // Layout: magic(2) kind(1: 0 audio, 1 video) flags(1: bit 0 keyframe, bits 1–7 the measurement window open
    // when it was sent, 0 for none) counter(8) sendTime(8, CLOCK_REALTIME ns)
    @inline(__always) static func flags(keyframe: Bool, window: UInt8) -> UInt8 { (keyframe ? 1 : 0) | window << 1 }
}

final class Peer: @unchecked Sendable {  // confined to its worker's thread once started
    enum Role: Sendable { case publisher, subscriber }

    let id: Int
    let role: Role
    let socket: UDPPort
    let identity: PeerIdentity
    unowned let worker: Worker
    let localUfrag: String
    let localPassword: String
    private(set) var state: PeerState = .idle
    private var remote: RemoteDescription?
    private var controlling = true
    private var dtls: DTLSTransport?
    private var srtpIn: SRTPSession?
    private var srtpOut: SRTPSession?
    private var iceSucceeded = false
    private var checkSucceededAt: UInt64?
    private var nextCheck: UInt64 = 0
    private var checkDeadline: UInt64 = 0
    private var nextRTCP: UInt64 = 0
    private var nextDTLSTimeout: UInt64?
    private let tieBreaker = UInt64.random(in: 1...UInt64.max)
    private let rtcpSSRC = UInt32.random(in: 1...UInt32.max)
    private var sendBuffer = ByteBuffer()

    // Times (monotonic ns) for the report.
    private(set) var startedAt: UInt64 = 0
    private(set) var iceAt: UInt64 = 0
    private(set) var connectedAt: UInt64 = 0
    private(set) var closedAt: UInt64 = 0
    private(set) var srtpProfile: SRTPProfile?
    /// Called once on the worker thread when the transport is up (or has failed).
    var onConnected: (@Sendable (Result<UInt64, BenchError>) -> Void)?

    let publisher: PublisherTraffic?
    let subscriber: SubscriberReceiver?

    /// `address`: the loopback address to bind (the server's own, for Janus: libnice pins its sockets to the
    /// candidate's interface, so a 127.0.0.2 server only reaches 127.0.0.2 peers).
    init(id: Int, role: Role, worker: Worker, identity: PeerIdentity, traffic: TrafficProfile, address: String = "127.0.0.1") throws {
        self.id = id
        self.role = role
        self.worker = worker
        self.identity = identity
        socket = try UDPPort(address: address)
        localUfrag = Self.token(8)
        localPassword = Self.token(24)
        publisher = role == .publisher ? PublisherTraffic(profile: traffic) : nil
        subscriber = role == .subscriber ? SubscriberReceiver() : nil
    }

    static func token(_ n: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<n).map { _ in alphabet.randomElement()! })
    }

    var fingerprint: String { identity.certificate.fingerprint }
    var isConnected: Bool { state == .connected }

    // MARK: control (on the worker thread)

    /// Starts ICE towards the server; DTLS follows. `controlling`: this side offered.
    func start(remote: RemoteDescription, controlling: Bool, now: UInt64) {
        self.remote = remote
        self.controlling = controlling
        socket.connect(to: remote.ip, port: remote.port)
        state = .checking
        startedAt = now
        nextCheck = now
        checkDeadline = now + 15_000_000_000
        let dtlsServer = remote.setup == "active"
        do {
            dtls = try DTLSTransport(context: dtlsServer ? identity.server : identity.client,
                                     expectedRemoteFingerprint: remote.fingerprint)
            // A ClientHello the server drops (a full ICE agent that has not nominated yet) goes again after 100 ms,
            // as a browser's does, so set-up times measure the server rather than OpenSSL's 1 s timer.
            dtls?.useFastRetransmission()
        } catch {
            fail("DTLS setup: \(error)", now: now)
        }
        housekeeping(now: now)
    }

    func close(now: UInt64) {
        guard state != .closed else { return }
        if let dtls { for d in dtls.close() { socket.send(d) } }
        publisher?.sending = false
        state = .closed
        closedAt = now
    }

    private func fail(_ reason: String, now: UInt64) {
        if case .failed = state { return }
        state = .failed(reason)
        closedAt = now
        onConnected?(.failure(BenchError(reason)))
        onConnected = nil
    }

    // MARK: timers

    /// Periodic work: ICE checks (and consent), DTLS retransmissions, RTCP reports.
    func housekeeping(now: UInt64) {
        switch state {
        case .checking, .handshaking:
            if now >= checkDeadline {
                fail(state == .checking ? "ICE: no answer to connectivity checks" : "DTLS handshake timed out", now: now)
                return
            }
            // Controlled and never nominated: go on after 300 ms anyway (a server using regular nomination).
            if let at = checkSucceededAt, !iceSucceeded, now - at > 300_000_000 { iceCompleted(now: now) }
            if now >= nextCheck && (!iceSucceeded || !(remote?.iceLite ?? true)) {
                sendCheck()
                nextCheck = now + (iceSucceeded ? 500_000_000 : 50_000_000)
            }
            if state == .handshaking, let due = nextDTLSTimeout, now >= due, let dtls {
                for d in dtls.handleTimeout() { socket.send(d) }
                afterDTLS(now: now)
            }
        case .connected:
            if now >= nextCheck {  // consent freshness (RFC 7675), as browsers do
                sendCheck()
                nextCheck = now + 2_000_000_000
            }
            if now >= nextRTCP {
                sendReports(now: now)
                nextRTCP = now + 1_000_000_000
            }
        default:
            break
        }
    }

    // MARK: ICE

    private func sendCheck() {
        guard let remote else { return }
        let request: [UInt8]
        if controlling {
            request = ICELiteAgent.bindingRequest(localUfrag: localUfrag, remoteUfrag: remote.ufrag, remotePassword: remote.password,
                                                  priority: 0x6E00_1EFF, tieBreaker: tieBreaker, useCandidate: true)
        } else {
            var builder = STUNBuilder(class: .request, transactionID: STUNBuilder.newTransactionID())
            builder.addUsername("\(remote.ufrag):\(localUfrag)")
            builder.addPriority(0x6E00_1EFF)
            builder.addIceControlled(tieBreaker: tieBreaker)
            builder.addMessageIntegrity(key: Array(remote.password.utf8))
            builder.addFingerprint()
            request = builder.build()
        }
        socket.send(request)
    }

    private func handleSTUN(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        guard let remote, let message = try? STUNMessage.parse(bytes) else { return }
        switch message.messageClass {
        case .request:
            // A full ICE server (Janus) checks this side too: answer with our password.
            guard let username = message.username, username.hasPrefix(localUfrag + ":"),
                  message.verifyIntegrity(key: Array(localPassword.utf8)) else { return }
            var builder = STUNBuilder(class: .successResponse, transactionID: message.transactionID)
            if let address = SocketAddressValue(ip: remote.ip.split(separator: ".").compactMap { UInt8($0) }, port: remote.port) {
                builder.addXorMappedAddress(address)
            }
            builder.addMessageIntegrity(key: Array(localPassword.utf8))
            builder.addFingerprint()
            socket.send(builder.build())
            if !controlling && message.has(STUNMessage.AttributeType.useCandidate) { iceCompleted(now: now) }
        case .successResponse:
            guard message.verifyIntegrity(key: Array(remote.password.utf8)) else { return }
            // Controlling, or facing an ICE-lite server: our own check decides. Controlled (Janus offered), the
            // server's nomination does, as in a browser: a DTLS ClientHello sent before the full ICE agent has
            // nominated the pair is dropped there and retransmitted after 100 ms (the fast timer, as browsers).
            if controlling || remote.iceLite { iceCompleted(now: now) } else { checkSucceededAt = checkSucceededAt ?? now }
        default:
            break
        }
    }

    private func iceCompleted(now: UInt64) {
        guard !iceSucceeded else { return }
        iceSucceeded = true
        iceAt = now
        guard state == .checking, let dtls else { return }
        state = .handshaking
        if dtls.context.role == .client {
            for d in dtls.start() { socket.send(d) }
        }
        afterDTLS(now: now)
    }

    // MARK: DTLS

    private func handleDTLS(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        guard let dtls else { return }
        if state == .checking { iceCompleted(now: now) }  // the server's DTLS can overtake our ICE answer
        for d in dtls.receive(Array(bytes)) { socket.send(d) }
        afterDTLS(now: now)
    }

    private func afterDTLS(now: UInt64) {
        guard let dtls else { return }
        switch dtls.state {
        case .connected(let profile) where state == .handshaking:
            guard let keys = dtls.keys, let inbound = try? SRTPSession(profile: keys.profile, keys: keys.remote),
                  let outbound = try? SRTPSession(profile: keys.profile, keys: keys.local) else {
                fail("SRTP setup failed", now: now)
                return
            }
            srtpIn = inbound
            srtpOut = outbound
            srtpProfile = profile
            state = .connected
            connectedAt = now
            nextDTLSTimeout = nil
            nextCheck = now + 2_000_000_000
            nextRTCP = now + 500_000_000
            subscriber?.connectedAt = now
            if let publisher {
                publisher.tagLength = profile.tagLength
                publisher.begin(now: now)
            }
            onConnected?(.success(now))
            onConnected = nil
        case .failed(let error):
            fail("DTLS: \(error)", now: now)
        case .closed:
            if state == .connected {
                state = .closed
                closedAt = now
            }
        case .handshaking:
            nextDTLSTimeout = dtls.nextTimeout.map { now + UInt64($0 * 1e9) + 1_000_000 }
        default:
            break
        }
    }

    // MARK: datagrams in

    /// One datagram from the server; `scratch` is the worker's reusable buffer.
    /// `kernelTime`: when the kernel queued it on the socket (SO_TIMESTAMPNS).
    @inline(__always) func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64, kernelTime: UInt64, scratch: inout ByteBuffer) {
        guard let first = bytes.first else { return }
        switch first {
        case 0...3: handleSTUN(bytes, now: now)
        case 20...63: handleDTLS(bytes, now: now)
        case 128...191:
            guard let srtpIn, bytes.count >= 12 else {
                subscriber?.early += 1
                return
            }
            scratch.clear()
            scratch.writeBytes(bytes)
            let isRTCP = (192...223).contains(bytes[1])
            if isRTCP {
                guard (try? srtpIn.unprotectRTCP(&scratch)) != nil else { return }
                handleRTCP(scratch, now: now)
            } else {
                guard (try? srtpIn.unprotectRTP(&scratch)) != nil else {
                    subscriber?.undecryptable += 1
                    return
                }
                subscriber?.receiveRTP(scratch, wireBytes: bytes.count, now: now, kernelTime: kernelTime, worker: worker)
            }
        default:
            break
        }
    }

    private func handleRTCP(_ buffer: ByteBuffer, now: UInt64) {
        guard let headers = try? RTCPCompound.packets(buffer) else { return }
        for header in headers {
            if let publisher {
                if header.isPLI || header.isFIR {
                    publisher.keyframeRequested = true
                    if header.isPLI { publisher.plis += 1 } else { publisher.firs += 1 }
                } else if header.isNACK {
                    publisher.nacks += 1
                } else if header.isREMB, let remb = try? RTCPRemb(buffer, header: header) {
                    publisher.lastREMB = remb.bitrate
                } else if header.isTransportFeedback {
                    publisher.transportFeedback += 1
                }
            } else if let subscriber {
                if header.isSenderReport { subscriber.senderReports += 1 }
            }
        }
    }

    // MARK: datagrams out

    /// Sends what the publisher's schedule says is due; returns when it next has something to send.
    @inline(__always) func pump(now: UInt64) -> UInt64 {
        guard state == .connected, let publisher, publisher.sending, let srtpOut else { return now + 5_000_000 }
        return publisher.pump(now: now, buffer: &sendBuffer) { buffer in
            do {
                try srtpOut.protectRTP(&buffer)
                buffer.withUnsafeReadableBytes { socket.send($0) }
            } catch {}
        }
    }

    private func sendReports(now: UInt64) {
        guard let srtpOut else { return }
        var compound: ByteBuffer
        if let publisher {
            compound = publisher.senderReports(now: now)
            var sdes = RTCPCompound.sdes(ssrc: publisher.profile.videoSSRC, cname: "parley-bench")
            compound.writeBuffer(&sdes)
        } else {
            compound = RTCPCompound.receiverReport(senderSSRC: rtcpSSRC, reports: [])
        }
        guard (try? srtpOut.protectRTCP(&compound)) != nil else { return }
        compound.withUnsafeReadableBytes { socket.send($0) }
    }

    /// Sends an RTCP packet (PLI from a subscriber, for instance).
    func sendRTCP(_ packet: ByteBuffer) {
        guard let srtpOut else { return }
        var b = packet
        guard (try? srtpOut.protectRTCP(&b)) != nil else { return }
        b.withUnsafeReadableBytes { socket.send($0) }
    }
}

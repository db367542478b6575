import DTLS
import Foundation
import NIOCore
import RTP
import SFU
import SRTP
import STUN
#if canImport(Glibc)
import Glibc
#endif

/// A blocking UDP socket on 127.0.0.1 for a test peer; calls run on their own thread (see `offPool`).
final class UDPSocket: @unchecked Sendable {
    let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw PeerError("bind failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], port: Int) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = bytes.withUnsafeBytes { b in
            withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            } }
        }
    }

    /// One datagram, or nil after the receive timeout.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }
}

struct PeerError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in Thread { c.resume(with: Result { try body() }) }.start() }
}

/// A minimal WebRTC peer (ICE controlling, DTLS client, SRTP), as a browser would be, without a browser.
final class TestPeer: @unchecked Sendable {
    let socket: UDPSocket
    let certificate: DTLSCertificate
    let ufrag = "peer"
    let password = "peerpasswordpeerpassword"
    var serverPort = 0
    var local: LocalTransportParameters?
    var dtls: DTLSTransport?
    var srtpOut: SRTPSession?
    var srtpIn: SRTPSession?
    /// Everything received after the handshake, classified.
    var receivedRTP: [[UInt8]] = []
    var receivedRTCP: [[UInt8]] = []
    /// Drops the RTP datagram with this index (counted from 0 over the peer's life), as a lossy path would.
    var dropRTPIndex: Int?
    /// Set when `handshake(loseFinalFlight:)` dropped the server's final flight.
    private(set) var droppedFinalFlight = false
    private(set) var droppedSequence: UInt16?
    private var rtpIndex = 0

    init() throws {
        socket = try UDPSocket()
        certificate = try DTLSCertificate.generate(commonName: "peer")
    }

    var remoteParameters: RemoteTransportParameters {
        RemoteTransportParameters(iceUfrag: ufrag, icePassword: password, fingerprint: certificate.fingerprintBytes)
    }

    /// ICE check with USE-CANDIDATE; true when the server answered with a valid response.
    func checkConnectivity(password override: String? = nil) throws -> Bool {
        guard let local else { throw PeerError("no local parameters") }
        let request = ICELiteAgent.bindingRequest(localUfrag: ufrag, remoteUfrag: local.iceUfrag,
                                                  remotePassword: override ?? local.icePassword,
                                                  priority: 0x6E00_01FF, tieBreaker: 7, useCandidate: true)
        for _ in 0..<25 {
            // Resent every 200 ms, as ICE retransmits its checks: a loaded machine may be slow to answer one.
            socket.send(request, port: serverPort)
            guard let reply = socket.receive(), let message = try? STUNMessage.parse(reply) else { continue }
            return message.messageClass == .successResponse && message.verifyIntegrity(key: Array((override ?? local.icePassword).utf8))
        }
        return false
    }

    /// Whether a datagram holds a ChangeCipherSpec record (13-byte DTLS record headers, lengths at bytes 11–12).
    static func hasChangeCipherSpec(_ datagram: [UInt8]) -> Bool {
        var offset = 0
        while offset + 13 <= datagram.count {
            if datagram[offset] == 20 { return true }
            offset += 13 + (Int(datagram[offset + 11]) << 8 | Int(datagram[offset + 12]))
        }
        return false
    }

    /// Runs the DTLS handshake as client; returns the final state. `loseFinalFlight`: the server's first datagram
    /// with a ChangeCipherSpec record (its final flight) is dropped, as a lossy link would.
    func handshake(loseFinalFlight: Bool = false) throws -> DTLSTransport.State {
        var dropping = loseFinalFlight
        let context = try DTLSContext(role: .client, certificate: certificate)
        guard let local, let expected = DTLSCertificate.parseFingerprint(local.fingerprint) else { throw PeerError("no fingerprint") }
        let dtls = try DTLSTransport(context: context, expectedRemoteFingerprint: expected)
        self.dtls = dtls
        for d in dtls.start() { socket.send(d, port: serverPort) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if case .connected = dtls.state { break }
            if case .failed = dtls.state { break }
            if let datagram = socket.receive() {
                guard (20...63).contains(datagram.first ?? 0) else { continue }
                if dropping, Self.hasChangeCipherSpec(datagram) {
                    dropping = false
                    droppedFinalFlight = true
                    continue
                }
                for d in dtls.receive(datagram) { socket.send(d, port: serverPort) }
            } else {
                for d in dtls.handleTimeout() { socket.send(d, port: serverPort) }
            }
        }
        if case .connected = dtls.state, let keys = dtls.keys {
            srtpOut = try SRTPSession(profile: keys.profile, keys: keys.local)
            srtpIn = try SRTPSession(profile: keys.profile, keys: keys.remote)
        }
        return dtls.state
    }

    func sendRTP(seq: UInt16, ssrc: UInt32, payloadType: UInt8 = 96, timestamp: UInt32 = 9, payload: [UInt8]) throws {
        guard let srtpOut else { throw PeerError("not connected") }
        var b = ByteBuffer(bytes: [0x80, payloadType, UInt8(seq >> 8), UInt8(seq & 0xFF)] + withUnsafeBytes(of: timestamp.bigEndian, Array.init)
                           + withUnsafeBytes(of: ssrc.bigEndian, Array.init) + payload)
        try srtpOut.protectRTP(&b)
        socket.send(Array(b.readableBytesView), port: serverPort)
    }

    func sendRTCP(_ packet: ByteBuffer) throws {
        guard let srtpOut else { throw PeerError("not connected") }
        var b = packet
        try srtpOut.protectRTCP(&b)
        socket.send(Array(b.readableBytesView), port: serverPort)
    }

    /// Reads until `done` holds (checked every 0.1 s) or `timeout` passes: no timing luck on a loaded machine.
    func collect(until done: () -> Bool, timeout: Double = 10) {
        let deadline = Date().addingTimeInterval(timeout)
        while !done() && Date() < deadline { collect(for: 0.1) }
    }

    /// Reads and decrypts what arrives for `duration` seconds.
    func collect(for duration: Double) {
        guard let srtpIn else { return }
        let deadline = Date().addingTimeInterval(duration)
        while Date() < deadline {
            guard let datagram = socket.receive() else { continue }
            var b = ByteBuffer(bytes: datagram)
            switch PacketKind.classify(b) {
            case .rtp:
                defer { rtpIndex += 1 }
                if rtpIndex == dropRTPIndex {
                    droppedSequence = b.getInteger(at: b.readerIndex + 2, as: UInt16.self)  // the header is in clear
                    continue
                }
                if (try? srtpIn.unprotectRTP(&b)) != nil { receivedRTP.append(Array(b.readableBytesView)) }
            case .rtcp: if (try? srtpIn.unprotectRTCP(&b)) != nil { receivedRTCP.append(Array(b.readableBytesView)) }
            default: break
            }
        }
    }
}

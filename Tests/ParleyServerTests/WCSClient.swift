import DTLS
import Foundation
import STUN
import Testing
@testable import ParleyServer
@testable import Signaling

#if canImport(Glibc)
import Glibc
#endif

/// A Web Call Server client written from the protocol facts (WCS-PROTOCOL.md): JSON text frames
/// `{"message", "data": [obj]}` at the server's bare URL, answering the server's `ping` with `pong` like the SDK:
/// as each ping arrives, whether or not the test is reading the socket.
final class WCSClient: Sendable {
    let socket: TestClient
    let label: String
    private let counter = Counter()
    private let answered: Counter

    init(_ server: RunningServer, label: String, answerPings: Bool = true) {
        let answered = Counter()
        var autoReply: (@Sendable (String) -> String?)?
        if answerPings { autoReply = { text in WCSClient.pong(text, counting: answered) } }
        socket = TestClient(url: "ws://127.0.0.1:\(server.port)", autoReply: autoReply)
        self.label = label
        self.answered = answered
    }

    /// The answer to a frame if it is the server's `ping`.
    private static func pong(_ text: String, counting answered: Counter) -> String? {
        guard let json = WCSJSON.parse(text), json["message"]?.string == "ping" else { return nil }
        _ = answered.next()
        return #"{"message":"pong","data":[null]}"#
    }

    /// How many of the server's pings this client has answered.
    var pongs: Int { answered.value }

    func send(_ message: String, _ body: WCSJSON) {
        socket.sendRaw(WCSJSON.object(["message": .string(message), "data": [body]]).text)
    }

    /// The next frame other than the server's pings (which only reach here when this client does not answer them);
    /// every frame must have a `data` array, which the SDK reads without checking.
    func next(timeout: Duration = .seconds(10)) async throws -> (message: String, data: [WCSJSON]) {
        while true {
            switch try await socket.next(timeout: timeout) {
            case .closed(let code):
                throw TestFailure("\(label): socket closed (\(code.map(String.init) ?? "no code"))")
            case .text(let text):
                let json = try #require(WCSJSON.parse(text), "\(label): not JSON: \(text)")
                let message = try #require(json["message"]?.string, "\(label): no message: \(text)")
                let data = try #require(json["data"]?.array, "\(label): no data array: \(text)")
                if message == "ping" { continue }
                return (message, data)
            }
        }
    }

    @discardableResult
    func expect(_ message: String, timeout: Duration = .seconds(10)) async throws -> WCSJSON {
        let frame = try await next(timeout: timeout)
        guard frame.message == message else { throw TestFailure("\(label): expected \(message), got \(frame)") }
        return frame.data.first ?? .null
    }

    @discardableResult
    func expectRoomEvent(_ name: String) async throws -> WCSJSON {
        let payload = try await expect("OnDataEvent")["payload"] ?? .null
        guard payload["name"]?.string == name else { throw TestFailure("\(label): expected \(name), got \(payload)") }
        return payload["info"] ?? .null
    }

    @discardableResult
    func expectStatus(_ status: String, id: String? = nil, timeout: Duration = .seconds(10)) async throws -> WCSJSON {
        let body = try await expect("notifyStreamStatusEvent", timeout: timeout)
        guard body["status"]?.string == status, id == nil || body["mediaSessionId"]?.string == id else {
            throw TestFailure("\(label): expected \(status) for \(id ?? "?"), got \(body)")
        }
        return body
    }

    @discardableResult
    func connect(login: String? = nil, appKey: String = "roomApp") async throws -> WCSJSON {
        var custom: [String: WCSJSON] = [:]
        if let login { custom["login"] = .string(login) }
        send("connection", ["appKey": .string(appKey), "mediaProviders": ["WebRTC", "WSPlayer"], "clientVersion": "2.0",
                            "msePacketizationVersion": 2, "custom": .object(custom)])
        let data = try await expect("getUserData")
        #expect(data["status"] == "ESTABLISHED")
        return data
    }

    @discardableResult
    func command(_ command: String, _ options: WCSJSON) async throws -> WCSJSON {
        let operationId = "\(label)-op-\(counter.next())"
        send("sendData", ["operationId": .string(operationId), "payload": ["command": .string(command), "options": options]])
        let status = try await expect("DataStatusEvent")
        #expect(status["operationId"]?.string == operationId)
        return status
    }

    func join(_ room: String) async throws -> [WCSJSON] {
        let status = try await command("join", ["name": .string(room), "record": false])
        guard status["status"] == "ACCEPTED" else { throw TestFailure("\(label): join refused: \(status)") }
        return try await expectRoomEvent("STATE").array ?? []
    }

    func newID() -> String { "\(label)-\(counter.next())-e8b1-11f1-95d7-5f2148fc6a3e" }

    /// publishStream or playStream with `sdp`; returns the mediaSessionId and the answer.
    func stream(_ message: String, name: String, room: String?, sdp: String) async throws -> (id: String, answer: String) {
        let id = newID()
        var body: [String: WCSJSON] = ["mediaSessionId": .string(id), "name": .string(name),
                                       "published": .bool(message == "publishStream"), "hasVideo": true, "hasAudio": true,
                                       "status": "PENDING", "record": false, "mediaProvider": "WebRTC", "sdp": .string(sdp),
                                       "bitrate": 0, "minBitrate": 0, "maxBitrate": 0]
        if let room { body["custom"] = ["name": .string(room)] }
        send(message, .object(body))
        let frame = try await next()
        guard frame.message == "setRemoteSDP", frame.data.count == 2, frame.data[0].string == id,
              let answer = frame.data[1].string else {
            throw TestFailure("\(label): expected setRemoteSDP [\(id), sdp], got \(frame)")
        }
        return (id, answer)
    }

    func close() { socket.close() }
}

/// A WebRTC peer without a browser, as the SDK's peer connection would be: a non-trickled offer, then ICE
/// (controlling, USE-CANDIDATE) and DTLS as client against the candidate and credentials of Parley's answer.
final class WCSMediaPeer: @unchecked Sendable {
    let certificate: DTLSCertificate
    let ufrag: String
    let password = "wcspeerpasswordwcspeerpwd"
    let fd: Int32
    private(set) var dtls: DTLSTransport?

    init() throws {
        certificate = try DTLSCertificate.generate(commonName: "wcs-peer")
        ufrag = "wp\(UInt32.random(in: 1000...9999))"
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Chrome's shape of offer: BUNDLE, audio (opus) and video (VP8), `sendonly` to publish, `recvonly` to play.
    func offer(publish: Bool) -> String {
        let direction = publish ? "sendonly" : "recvonly"
        func section(_ kind: String, _ mid: Int, _ pt: Int, _ rtpmap: String, ssrc: UInt32) -> String {
            var s = """
                m=\(kind) 9 UDP/TLS/RTP/SAVPF \(pt)\r
                c=IN IP4 0.0.0.0\r
                a=rtcp:9 IN IP4 0.0.0.0\r
                a=ice-ufrag:\(ufrag)\r
                a=ice-pwd:\(password)\r
                a=ice-options:trickle\r
                a=fingerprint:sha-256 \(certificate.fingerprint)\r
                a=setup:actpass\r
                a=mid:\(mid)\r
                a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
                a=\(direction)\r
                a=rtcp-mux\r
                a=rtpmap:\(pt) \(rtpmap)\r

                """
            if kind == "video" { s += "a=rtcp-fb:\(pt) nack\r\na=rtcp-fb:\(pt) nack pli\r\n" }
            if publish { s += "a=msid:wcs \(kind)0\r\na=ssrc:\(ssrc) cname:wcs\r\na=ssrc:\(ssrc) msid:wcs \(kind)0\r\n" }
            return s
        }
        return "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
            + "a=extmap-allow-mixed\r\na=msid-semantic: WMS wcs\r\n"
            + section("audio", 0, 111, "opus/48000/2", ssrc: 1111) + section("video", 1, 96, "VP8/90000", ssrc: 2222)
    }

    /// ICE and DTLS against the answer; true once DTLS is connected.
    func connect(answer: String) async throws -> Bool {
        try await offPool { try self.connectBlocking(answer: answer) }
    }

    private func connectBlocking(answer: String) throws -> Bool {
        func value(_ prefix: String) -> String? {
            answer.components(separatedBy: "\r\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        guard let remoteUfrag = value("a=ice-ufrag:"), let remotePassword = value("a=ice-pwd:"),
              let fingerprint = value("a=fingerprint:sha-256 ").flatMap(DTLSCertificate.parseFingerprint),
              let candidate = value("a=candidate:") else { throw TestFailure("answer lacks ICE/DTLS parameters:\n\(answer)") }
        // "foundation component udp priority 127.0.0.1 PORT typ host"
        let fields = candidate.split(separator: " ")
        guard fields.count > 5, fields[4] == "127.0.0.1", let port = Int(fields[5]) else {
            throw TestFailure("no 127.0.0.1 candidate: \(candidate)")
        }
        let request = ICELiteAgent.bindingRequest(localUfrag: ufrag, remoteUfrag: remoteUfrag, remotePassword: remotePassword,
                                                  priority: 0x6E00_01FF, tieBreaker: 7, useCandidate: true)
        var answered = false
        for _ in 0..<10 where !answered {
            send(request, port: port)
            if let reply = receive(), let message = try? STUNMessage.parse(reply), message.messageClass == .successResponse {
                answered = true
            }
        }
        guard answered else { return false }
        let dtls = try DTLSTransport(context: try DTLSContext(role: .client, certificate: certificate),
                                     expectedRemoteFingerprint: fingerprint)
        self.dtls = dtls
        for d in dtls.start() { send(d, port: port) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if case .connected = dtls.state { return true }
            if case .failed = dtls.state { return false }
            if let datagram = receive() {
                guard (20...63).contains(datagram.first ?? 0) else { continue }
                for d in dtls.receive(datagram) { send(d, port: port) }
            } else {
                for d in dtls.handleTimeout() { send(d, port: port) }
            }
        }
        return false
    }

    private func send(_ bytes: [UInt8], port: Int) {
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

    private func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }
}

// SDP as the synthetic peers write and read it: offers modelled on Chrome's (Tests/SDPTests/Fixtures), a
// recvonly answer to a server's offer (Janus offers to subscribers), and the few fields read from the other side.
import DTLS

struct MediaSection {
    var kind = ""
    var port: UInt16 = 0
    var mid = ""
    var direction = "sendrecv"
    /// payload type → "codec/clock[/channels]"
    var rtpmap: [(pt: UInt8, encoding: String)] = []
    var fmtp: [UInt8: String] = [:]
    var ssrcs: [UInt32] = []
    var extmap: [(id: UInt8, uri: String)] = []

    func payloadType(codec: String) -> UInt8? {
        rtpmap.first { $0.encoding.lowercased().hasPrefix(codec.lowercased() + "/") }?.pt
    }

    func extensionID(_ uri: String) -> UInt8 { extmap.first { $0.uri == uri }?.id ?? 0 }
}

struct ParsedSDP {
    var ufrag = ""
    var password = ""
    var fingerprint: [UInt8] = []
    var setup = "actpass"
    var iceLite = false
    var candidates: [(ip: String, port: UInt16, transport: String)] = []
    var media: [MediaSection] = []

    init(_ text: String) {
        var current: MediaSection?
        func take(_ line: Substring, _ prefix: String) -> String? {
            line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : nil
        }
        for raw in text.split(whereSeparator: { $0.isNewline }) {
            let line = raw
            if let m = take(line, "m=") {
                if let current { media.append(current) }
                let parts = m.split(separator: " ")
                current = MediaSection(kind: String(parts.first ?? ""), port: UInt16(parts.dropFirst().first ?? "") ?? 0)
                continue
            }
            if line == "a=ice-lite" { iceLite = true }
            if let v = take(line, "a=ice-ufrag:") { ufrag = v }
            if let v = take(line, "a=ice-pwd:") { password = v }
            if let v = take(line, "a=fingerprint:sha-256 "), let bytes = DTLSCertificate.parseFingerprint(v) { fingerprint = bytes }
            if let v = take(line, "a=setup:") { setup = v }
            if let v = take(line, "a=candidate:") {
                // foundation component transport priority ip port typ host …
                let f = v.split(separator: " ")
                if f.count >= 8, f[6] == "typ", let port = UInt16(f[5]) {
                    candidates.append((String(f[4]), port, f[2].lowercased()))
                }
            }
            guard current != nil else { continue }
            if let v = take(line, "a=mid:") { current!.mid = v }
            if ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(String(line)) {
                current!.direction = String(line.dropFirst(2))
            }
            if let v = take(line, "a=rtpmap:") {
                let f = v.split(separator: " ", maxSplits: 1)
                if f.count == 2, let pt = UInt8(f[0]) { current!.rtpmap.append((pt, String(f[1]))) }
            }
            if let v = take(line, "a=fmtp:") {
                let f = v.split(separator: " ", maxSplits: 1)
                if f.count == 2, let pt = UInt8(f[0]) { current!.fmtp[pt] = String(f[1]) }
            }
            if let v = take(line, "a=ssrc:") {
                if let ssrc = UInt32(v.split(separator: " ").first ?? ""), !current!.ssrcs.contains(ssrc) {
                    current!.ssrcs.append(ssrc)
                }
            }
            if let v = take(line, "a=extmap:") {
                let f = v.split(separator: " ")
                if f.count >= 2, let id = UInt8(f[0].split(separator: "/").first ?? "") {
                    current!.extmap.append((id, String(f[1])))
                }
            }
        }
        if let current { media.append(current) }
    }

    /// The remote end as a peer needs it: its first UDP candidate on a loopback address (127.0.0.0/8).
    func remote() throws -> RemoteDescription {
        let udp = candidates.filter { $0.transport == "udp" }
        guard let candidate = udp.first(where: { $0.ip == "127.0.0.1" }) ?? udp.first(where: { $0.ip.hasPrefix("127.") }) else {
            throw BenchError("the server offers \(candidates.map { "\($0.ip):\($0.port)" }), no 127.0.0.0/8 address: "
                             + "refusing to send media anywhere but loopback")
        }
        guard !ufrag.isEmpty, !password.isEmpty, fingerprint.count == 32 else {
            throw BenchError("the server's SDP has no ICE credentials or no sha-256 fingerprint")
        }
        return RemoteDescription(ufrag: ufrag, password: password, fingerprint: fingerprint, ip: candidate.ip,
                                 port: candidate.port, setup: setup, iceLite: iceLite)
    }
}

enum ExtensionURI {
    static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    static let transportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
}

enum OfferWriter {
    private static func session(_ mids: [String]) -> String {
        "v=0\r\no=- \(UInt64.random(in: 1...UInt64(Int64.max))) 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            + "a=group:BUNDLE \(mids.joined(separator: " "))\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS bench\r\n"
    }

    private static func transport(_ peer: Peer, setup: String) -> String {
        "c=IN IP4 \(peer.socket.address)\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
            + "a=candidate:1 1 udp 2122260223 \(peer.socket.address) \(peer.socket.port) typ host generation 0\r\n"
            + "a=end-of-candidates\r\n"
            + "a=ice-ufrag:\(peer.localUfrag)\r\na=ice-pwd:\(peer.localPassword)\r\n"
            + "a=fingerprint:sha-256 \(peer.fingerprint)\r\na=setup:\(setup)\r\n"
    }

    private static func audio(_ peer: Peer, mid: String, direction: String, ssrc: UInt32?, pt: UInt8 = 111) -> String {
        var s = "m=audio \(peer.socket.port) UDP/TLS/RTP/SAVPF \(pt)\r\n" + transport(peer, setup: "actpass")
        s += "a=mid:\(mid)\r\na=extmap:1 \(ExtensionURI.audioLevel)\r\na=extmap:3 \(ExtensionURI.transportCC)\r\n"
        s += "a=extmap:4 \(ExtensionURI.mid)\r\na=\(direction)\r\n"
        if let ssrc { s += "a=msid:bench a\(ssrc)\r\n" }
        s += "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:\(pt) opus/48000/2\r\na=rtcp-fb:\(pt) transport-cc\r\n"
        s += "a=fmtp:\(pt) minptime=10;useinbandfec=1\r\n"
        if let ssrc { s += "a=ssrc:\(ssrc) cname:parley-bench\r\na=ssrc:\(ssrc) msid:bench a\(ssrc)\r\n" }
        return s
    }

    private static func video(_ peer: Peer, mid: String, direction: String, ssrc: UInt32?, pt: UInt8 = 96) -> String {
        var s = "m=video \(peer.socket.port) UDP/TLS/RTP/SAVPF \(pt)\r\n" + transport(peer, setup: "actpass")
        s += "a=mid:\(mid)\r\na=extmap:3 \(ExtensionURI.transportCC)\r\na=extmap:4 \(ExtensionURI.mid)\r\na=\(direction)\r\n"
        if let ssrc { s += "a=msid:bench v\(ssrc)\r\n" }
        s += "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:\(pt) VP8/90000\r\n"
        for fb in ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"] { s += "a=rtcp-fb:\(pt) \(fb)\r\n" }
        if let ssrc { s += "a=ssrc:\(ssrc) cname:parley-bench\r\na=ssrc:\(ssrc) msid:bench v\(ssrc)\r\n" }
        return s
    }

    /// A publisher's offer: Opus and VP8, sendonly, one candidate on 127.0.0.1.
    static func publish(_ peer: Peer, profile: TrafficProfile) -> String {
        var mids: [String] = []
        var body = ""
        if profile.audio {
            mids.append("0")
            body += audio(peer, mid: "0", direction: "sendonly", ssrc: profile.audioSSRC)
        }
        if profile.video {
            mids.append("1")
            body += video(peer, mid: "1", direction: "sendonly", ssrc: profile.videoSSRC)
        }
        return session(mids) + body
    }

    /// A player's offer (Parley's `play`): recvonly sections for the kinds the stream has.
    static func play(_ peer: Peer, audio hasAudio: Bool, video hasVideo: Bool) -> String {
        var mids: [String] = []
        var body = ""
        if hasAudio {
            mids.append("0")
            body += audio(peer, mid: "0", direction: "recvonly", ssrc: nil)
        }
        if hasVideo {
            mids.append("1")
            body += video(peer, mid: "1", direction: "recvonly", ssrc: nil)
        }
        return session(mids) + body
    }

    /// A recvonly answer to a server's offer (Janus's subscriber offer): the same sections, Opus and VP8 in the
    /// server's payload types, this peer as DTLS client.
    static func answer(_ peer: Peer, to offer: ParsedSDP) -> String {
        let mids = offer.media.map(\.mid)
        var s = session(mids)
        for m in offer.media {
            let codec = m.kind == "audio" ? "opus" : "vp8"
            guard m.kind == "audio" || m.kind == "video", let pt = m.payloadType(codec: codec) else {
                s += "m=\(m.kind) 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:\(m.mid)\r\na=inactive\r\n"
                continue
            }
            s += "m=\(m.kind) \(peer.socket.port) UDP/TLS/RTP/SAVPF \(pt)\r\n" + transport(peer, setup: "active")
            s += "a=mid:\(m.mid)\r\n"
            for e in m.extmap where [ExtensionURI.mid, ExtensionURI.audioLevel].contains(e.uri) { s += "a=extmap:\(e.id) \(e.uri)\r\n" }
            s += "a=\(m.direction == "sendonly" || m.direction == "sendrecv" ? "recvonly" : "inactive")\r\n"
            s += "a=rtcp-mux\r\na=rtpmap:\(pt) \(m.rtpmap.first { $0.pt == pt }!.encoding)\r\n"
            if let f = m.fmtp[pt] { s += "a=fmtp:\(pt) \(f)\r\n" }
            if m.kind == "video" { for fb in ["ccm fir", "nack", "nack pli"] { s += "a=rtcp-fb:\(pt) \(fb)\r\n" } }
        }
        return s
    }
}

import Foundation
import DTLS
import SFU

/// Reads what an echo test needs from a browser's offer and writes the answer.
///
/// Deliberately narrow: the general SDP model and negotiation (every codec rule, publish and play) belong to
/// the SDP module, which replaces this once it lands. Untrusted input: every lookup is checked.
struct EchoNegotiation {
    struct Section {
        var kind: String
        var proto: String
        var formats: [String]
        var attributes: [(String, String)] = []

        func values(_ name: String) -> [String] { attributes.filter { $0.0 == name }.map(\.1) }
        func value(_ name: String) -> String? { values(name).first }
    }

    struct Offer {
        var session: [(String, String)] = []
        var sections: [Section] = []
        var remote: RemoteTransportParameters
    }

    struct Choice {
        let mid: String
        let payloadType: UInt8
        let rtpmap: String
        let fmtp: String?
        let feedback: [String]
        let midExtension: String?
        let ssrc: UInt32
    }

    enum Failure: Error, Equatable {
        case malformed(String)
        case noCommonCodec
    }

    static func parse(_ sdp: String) throws(Failure) -> Offer {
        var session: [(String, String)] = []
        var sections: [Section] = []
        let lines = sdp.split(whereSeparator: \.isNewline)  // "\r\n" is one Character in Swift
        guard lines.first?.hasPrefix("v=0") == true else { throw .malformed("an SDP offer starts with v=0") }
        guard lines.count < 2_000 else { throw .malformed("too many lines") }
        for line in lines {
            guard line.count >= 2, line.dropFirst().first == "=" else { throw .malformed("bad line '\(line.prefix(40))'") }
            let type = line.first
            let rest = String(line.dropFirst(2))
            if type == "m" {
                let parts = rest.split(separator: " ").map(String.init)
                guard parts.count >= 4 else { throw .malformed("bad m= line") }
                sections.append(Section(kind: parts[0], proto: parts[2], formats: Array(parts[3...])))
            } else if type == "a" {
                let pair: (String, String)
                if let colon = rest.firstIndex(of: ":") {
                    pair = (String(rest[..<colon]), String(rest[rest.index(after: colon)...]))
                } else {
                    pair = (rest, "")
                }
                if sections.isEmpty { session.append(pair) } else { sections[sections.count - 1].attributes.append(pair) }
            }
        }
        guard !sections.isEmpty else { throw .malformed("the offer has no media section") }
        // ICE and DTLS parameters may sit in the first media section or at session level.
        func find(_ name: String) -> String? {
            sections.first?.value(name) ?? session.first { $0.0 == name }?.1
        }
        guard let ufrag = find("ice-ufrag"), let pwd = find("ice-pwd") else { throw .malformed("missing ice-ufrag or ice-pwd") }
        guard let fp = find("fingerprint") else { throw .malformed("missing a=fingerprint") }
        let fpParts = fp.split(separator: " ")
        guard fpParts.count == 2, fpParts[0].lowercased() == "sha-256",
              let bytes = DTLSCertificate.parseFingerprint(String(fpParts[1])), bytes.count == 32 else { throw .malformed("Parley needs a sha-256 fingerprint") }
        if let setup = find("setup"), setup == "passive" { throw .malformed("a=setup:passive: Parley is always the DTLS server") }
        return Offer(session: session, sections: sections,
                     remote: RemoteTransportParameters(iceUfrag: ufrag, icePassword: pwd, fingerprint: bytes))
    }

    /// Picks a codec per audio/video section: Opus, then PCMU, PCMA; VP8, then H.264 packetization-mode 1.
    static func choose(_ section: Section, ssrc: UInt32) -> Choice? {
        guard let mid = section.value("mid"), section.proto.contains("RTP") else { return nil }
        let rtpmaps = section.values("rtpmap").compactMap { v -> (UInt8, String)? in
            let parts = v.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let pt = UInt8(parts[0]), pt < 128 else { return nil }
            return (pt, String(parts[1]))
        }
        func fmtp(_ pt: UInt8) -> String? {
            section.values("fmtp").first { $0.hasPrefix("\(pt) ") }.map { String($0.dropFirst("\(pt) ".count)) }
        }
        let preferences: [(String) -> Bool]
        switch section.kind {
        case "audio": preferences = [{ $0.lowercased() == "opus/48000/2" }, { $0.uppercased() == "PCMU/8000" }, { $0.uppercased() == "PCMA/8000" }]
        case "video": preferences = [{ $0.uppercased() == "VP8/90000" }, { $0.uppercased() == "H264/90000" }]
        default: return nil
        }
        for wanted in preferences {
            for (pt, name) in rtpmaps where wanted(name) {
                let parameters = fmtp(pt)
                if name.uppercased().hasPrefix("H264"), parameters?.contains("packetization-mode=1") != true { continue }
                let feedback = section.values("rtcp-fb").compactMap { v -> String? in
                    let parts = v.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, parts[0] == "\(pt)" else { return nil }
                    let kind = String(parts[1])
                    return ["nack", "nack pli", "ccm fir"].contains(kind) ? kind : nil
                }
                let midExtension = section.values("extmap").first { $0.hasSuffix(" urn:ietf:params:rtp-hdrext:sdes:mid") }
                return Choice(mid: mid, payloadType: pt, rtpmap: name, fmtp: parameters, feedback: feedback,
                              midExtension: midExtension, ssrc: ssrc)
            }
        }
        return nil
    }

    /// The answer: ICE-lite, our candidates, setup:passive, one codec per accepted section, sendrecv for echo.
    static func answer(offer: Offer, local: LocalTransportParameters, choices: [Int: Choice]) -> String {
        var sdp = ["v=0", "o=- \(UInt64.random(in: 1...UInt64(Int64.max))) 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=ice-lite"]
        let accepted = offer.sections.indices.compactMap { choices[$0]?.mid }
        sdp.append("a=group:BUNDLE " + accepted.joined(separator: " "))
        sdp.append("a=msid-semantic: WMS parley-echo")
        for (index, section) in offer.sections.enumerated() {
            guard let c = choices[index] else {
                sdp.append("m=\(section.kind) 0 \(section.proto) \(section.formats.first ?? "0")")
                sdp.append("c=IN IP4 0.0.0.0")
                if let mid = section.value("mid") { sdp.append("a=mid:\(mid)") }
                sdp.append("a=inactive")
                continue
            }
            sdp.append("m=\(section.kind) 9 UDP/TLS/RTP/SAVPF \(c.payloadType)")
            sdp.append("c=IN IP4 0.0.0.0")
            sdp.append("a=mid:\(c.mid)")
            sdp.append("a=ice-ufrag:\(local.iceUfrag)")
            sdp.append("a=ice-pwd:\(local.icePassword)")
            sdp.append("a=fingerprint:sha-256 \(local.fingerprint)")
            sdp.append("a=setup:passive")
            if let ext = c.midExtension { sdp.append("a=extmap:\(ext)") }
            let direction = section.attributes.contains { $0.0 == "sendonly" } ? "recvonly"
                : section.attributes.contains { $0.0 == "recvonly" } ? "inactive" : "sendrecv"
            sdp.append("a=\(direction)")
            sdp.append("a=msid:parley-echo \(section.kind)-echo")
            sdp.append("a=rtcp-mux")
            if section.attributes.contains(where: { $0.0 == "rtcp-rsize" }) { sdp.append("a=rtcp-rsize") }
            sdp.append("a=rtpmap:\(c.payloadType) \(c.rtpmap)")
            if let fmtp = c.fmtp { sdp.append("a=fmtp:\(c.payloadType) \(fmtp)") }
            for fb in c.feedback { sdp.append("a=rtcp-fb:\(c.payloadType) \(fb)") }
            sdp.append("a=ssrc:\(c.ssrc) cname:parley")
            sdp.append("a=ssrc:\(c.ssrc) msid:parley-echo \(section.kind)-echo")
            for (i, candidate) in local.candidates.enumerated() {
                sdp.append("a=candidate:\(i + 1) 1 udp \(2_130_706_431 - i) \(candidate.ip) \(candidate.port) typ host")
            }
            sdp.append("a=end-of-candidates")
        }
        return sdp.joined(separator: "\r\n") + "\r\n"
    }
}

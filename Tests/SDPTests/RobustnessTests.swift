import Foundation
import Testing
@testable import SDP

/// Untrusted input must give a typed error or a result, never a crash. Whenever something parses, two invariants
/// must hold: it re-parses to the same model after serializing, and a successful negotiation yields an answer that
/// itself parses.
@Suite("Robustness")
struct RobustnessTests {
    /// Parses and, when that works, negotiates (sending, so SSRC lines are exercised too). Returns whether it parsed.
    @discardableResult
    static func exercise(_ text: String) -> Bool {
        let parsed: SessionDescription
        do {
            parsed = try SessionDescription.parse(text)
        } catch {
            #expect(!error.description.isEmpty)
            return false
        }
        let written = parsed.serialize()
        #expect((try? SessionDescription.parse(written)) == parsed, "round trip changed \(text.debugDescription)")
        for codecs in [nil, [CodecPreference.h264, .pcmu]] {
            var parameters = Parley.parameters
            parameters.codecs = codecs
            if let n = try? SDPNegotiator().answer(parsed, parameters: parameters, plan: Parley.sending()) {
                #expect((try? SessionDescription.parse(n.answerSDP)) == n.answer, "answer does not re-parse")
                #expect(!n.media.isEmpty)
            }
        }
        return true
    }

    @Test("every fixture truncated at every line", arguments: Fixture.all)
    func truncatedAtLines(name: String) throws {
        let lines = Fixture.lines(try Fixture.text(name))
        var parsedCount = 0
        for count in 0...lines.count {
            let text = lines.prefix(count).joined(separator: "\r\n")
            if RobustnessTests.exercise(text) { parsedCount += 1 }
        }
        // v, o, s, t are needed: the first three prefixes fail, the whole text parses.
        #expect(parsedCount <= lines.count - 3)
        #expect(RobustnessTests.exercise(lines.joined(separator: "\r\n")))
    }

    @Test("small fixtures truncated at every byte", arguments: ["chrome-audioonly.sdp", "firefox60-recvonly-h264.sdp"])
    func truncatedAtBytes(name: String) throws {
        let bytes = Array(try Fixture.text(name).utf8)
        for count in 0...bytes.count {
            RobustnessTests.exercise(String(decoding: bytes.prefix(count), as: UTF8.self))
        }
    }

    @Test("random bytes")
    func randomBytes() {
        var rng = SeededGenerator(seed: 0x5D9_2024)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...300, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            RobustnessTests.exercise(String(decoding: bytes, as: UTF8.self))
            // Same bytes behind a valid header, so the parser gets past v=.
            RobustnessTests.exercise("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + String(decoding: bytes, as: UTF8.self))
        }
    }

    static let pieces = [
        "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "c=IN IP4 1.2.3.4", "b=AS:1", "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102", "m=video 0 UDP/TLS/RTP/SAVPF 96",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0", "a=mid:1", "a=bundle-only", "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2", "a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
        "a=fmtp:97 apt=97", "a=rtpmap:102 H264/90000", "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f",
        "a=fmtp:102 packetization-mode=1;profile-level-id=ffffff", "a=rtcp-fb:* nack", "a=rtcp-fb:96 nack pli",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=setup:actpass", "a=setup:passive",
        "a=fingerprint:sha-256 " + Array(repeating: "AB", count: 32).joined(separator: ":"), "a=sendonly", "a=recvonly",
        "a=inactive", "a=ssrc-group:FID 1 2", "a=ssrc-group:FID 1", "a=ssrc:1 cname:x", "a=ssrc:2 msid:a b",
        "a=msid:a b", "a=candidate:1 1 udp 1 1.2.3.4 5 typ host", "a=end-of-candidates", "a=rid:q send",
        "a=simulcast:send q", "a=", "a=:", "m=", "x=1", "a=rtpmap:0 PCMU/8000/0", "a=extmap:4096 urn:x",
    ]

    @Test("random line soup from SDP pieces")
    func lineSoup() {
        var rng = SeededGenerator(seed: 77)
        var parsed = 0
        for _ in 0..<3000 {
            var lines = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                lines.append(RobustnessTests.pieces.randomElement(using: &rng) ?? "")
            }
            if RobustnessTests.exercise(lines.joined(separator: Bool.random(using: &rng) ? "\r\n" : "\n")) { parsed += 1 }
        }
        #expect(parsed > 0)
    }

    @Test("mutated fixtures", arguments: Fixture.all)
    func mutations(name: String) throws {
        let original = Fixture.lines(try Fixture.text(name))
        var rng = SeededGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        let specials: [String] = [" ", ":", "/", "=", ";", "*", "0", "-1", "99999999999999999999", "\u{0}", "é", "\r",
                                  "\t", "🎥", "\u{301}", "\u{FEFF}"]
        for _ in 0..<200 {
            var lines = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !lines.isEmpty else { break }
                let i = Int.random(in: 0..<lines.count, using: &rng)
                switch Int.random(in: 0..<7, using: &rng) {
                case 0: lines.remove(at: i)
                case 1: lines.insert(lines[i], at: i)
                case 2: lines.swapAt(i, Int.random(in: 0..<lines.count, using: &rng))
                case 3:  // cut a line short
                    let line = lines[i]
                    lines[i] = String(line.prefix(Int.random(in: 0...line.count, using: &rng)))
                case 4:  // replace a character
                    var chars = Array(lines[i])
                    if !chars.isEmpty {
                        let special = specials.randomElement(using: &rng) ?? " "
                        let a = Int.random(in: 0..<chars.count, using: &rng)
                        let b = Swift.min(chars.count - 1, a + Int.random(in: 0...3, using: &rng))
                        chars.replaceSubrange(a...b, with: Array(special))
                        lines[i] = String(chars)
                    }
                case 5: lines.insert(RobustnessTests.pieces.randomElement(using: &rng) ?? "", at: i)
                default:  // replace a number by another
                    lines[i] = lines[i].replacingOccurrences(of: "1", with: ["0", "128", "65536", "4294967296", ""].randomElement(using: &rng) ?? "")
                }
            }
            RobustnessTests.exercise(lines.joined(separator: "\r\n"))
        }
    }
}

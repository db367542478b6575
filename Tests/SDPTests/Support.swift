import Foundation
@testable import SDP

/// Real browser offers in Fixtures/ (see Fixtures/README.md), read next to this file rather than as SwiftPM resources.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static let all = [
        "chrome-sendrecv.sdp", "chrome-sendonly.sdp", "chrome-recvonly.sdp", "chrome-audioonly.sdp",
        "chrome-datachannel.sdp", "chrome-simulcast.sdp", "firefox-sendrecv.sdp", "firefox-sendonly.sdp",
        "firefox-recvonly.sdp", "firefox60-recvonly-h264.sdp", "safari-sendrecv.sdp", "obs30-whip-offer.sdp",
        "gstreamer-whip-offer.sdp",
    ]

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func parsed(_ name: String) throws -> SessionDescription {
        try SessionDescription.parse(text(name))
    }

    /// The non-empty lines of a text, without line endings.
    static func lines(_ text: String) -> [String] {
        // Split bytes, not Characters: "\r\n" is a single Character in Swift.
        text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0, as: UTF8.self) }
            .filter { !$0.isEmpty }
    }
}

/// Parley's side of a call, fixed so answers are deterministic.
enum Parley {
    static let fingerprint = Fingerprint(algorithm: "sha-256", bytes: Array(0..<32))
    static let parameters = AnswerParameters(
        iceUsernameFragment: "pLyU", icePassword: "parleyPasswordPassword+/", fingerprint: fingerprint,
        candidates: [HostCandidate(ip: "10.77.0.1", port: 40000), HostCandidate(ip: "127.0.0.1", port: 40000)],
        sessionID: 4242)

    static func parameters(codecs: [CodecPreference]) -> AnswerParameters {
        var p = parameters
        p.codecs = codecs
        return p
    }

    static let audioTrack = OutgoingTrack(ssrc: 1111, cname: "parley", streamID: "stream-a", trackID: "audio-1")
    static let videoTrack = OutgoingTrack(ssrc: 2222, rtxSSRC: 3333, cname: "parley", streamID: "stream-a",
                                          trackID: "video-1")

    /// A plan that sends `audioTrack`/`videoTrack` wherever Parley may send.
    static func sending(_ direction: Direction? = nil) -> (OfferedMedia) -> MediaPlan {
        { offered in .accept(direction: direction, outgoing: offered.kind == .audio ? audioTrack : videoTrack) }
    }
}

/// A deterministic generator for the fuzz-style tests (xorshift64*).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

/// Builds small synthetic offers for cases no browser fixture covers.
func syntheticOffer(sessionAttributes: [String] = [], sections: [String]) -> String {
    (["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0"] + sessionAttributes + sections).joined(separator: "\r\n") + "\r\n"
}

/// One offered section with DTLS/ICE attributes already in it.
func syntheticSection(_ mline: String, mid: String?, direction: String = "sendrecv", lines: [String]) -> String {
    var all = [mline, "c=IN IP4 0.0.0.0"]
    if let mid { all.append("a=mid:\(mid)") }
    all += ["a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 " + (0..<32).map { String(format: "%02X", $0 * 7 % 256) }.joined(separator: ":"),
            "a=setup:actpass", "a=\(direction)", "a=rtcp-mux"]
    return (all + lines).joined(separator: "\r\n")
}

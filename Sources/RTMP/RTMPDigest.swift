import Crypto

/// The "complex" handshake of Flash Player 9+ (no Adobe spec; as FFmpeg's `rtmp_handshake`, librtmp and
/// nginx-rtmp do it): C1 and S1 embed an HMAC-SHA256 digest at a position their own bytes give, and S2 ends with a
/// signature keyed by the client's digest. A player that sees a server version in S1 checks both (ffmpeg does).
enum RTMPDigest {
    private static let common: [UInt8] = [
        0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
        0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
    ]
    /// "Genuine Adobe Flash Player 001": what C1's digest is keyed with.
    static let playerKey = Array("Genuine Adobe Flash Player 001".utf8)
    /// "Genuine Adobe Flash Media Server 001" and 32 more bytes: its first 36 key S1's digest, all 68 S2's.
    static let serverKey = Array("Genuine Adobe Flash Media Server 001".utf8) + common
    /// What Parley's S1 claims to be (FMS 4.5.0.1, as nginx-rtmp does).
    static let serverVersion: [UInt8] = [4, 5, 0, 1]

    /// Where a 1536-byte packet's digest is, for the scheme whose offset bytes start at `base` (8 or 772).
    static func position(_ packet: [UInt8], base: Int) -> Int {
        (Int(packet[base]) + Int(packet[base + 1]) + Int(packet[base + 2]) + Int(packet[base + 3])) % 728 + base + 4
    }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// The digest of `packet` without the 32 bytes at `position`.
    static func digest(_ packet: [UInt8], at position: Int, key: [UInt8]) -> [UInt8] {
        hmac(key, Array(packet[..<position]) + Array(packet[(position + 32)...]))
    }

    /// The position of C1's digest, if it carries a valid one (scheme 1, then scheme 0, as FFmpeg looks).
    static func clientDigest(_ c1: [UInt8]) -> Int? {
        guard c1.count == RTMPHandshake.packetSize else { return nil }
        for base in [772, 8] {
            let p = position(c1, base: base)
            if digest(c1, at: p, key: playerKey) == Array(c1[p..<p + 32]) { return p }
        }
        return nil
    }

    /// S1 with the server version and its digest (scheme 0), and S2 signed for the client's digest.
    static func answer(c1: [UInt8], clientDigestAt: Int, random: () -> UInt8) -> (s1: [UInt8], s2: [UInt8]) {
        var s1: [UInt8] = [0, 0, 0, 0] + serverVersion + (0..<(RTMPHandshake.packetSize - 8)).map { _ in random() }
        let p = position(s1, base: 8)
        s1.replaceSubrange(p..<p + 32, with: digest(s1, at: p, key: Array(serverKey.prefix(36))))
        var s2 = (0..<RTMPHandshake.packetSize).map { _ in random() }
        let key = hmac(serverKey, Array(c1[clientDigestAt..<clientDigestAt + 32]))
        s2.replaceSubrange(1504..<1536, with: hmac(key, Array(s2[..<1504])))
        return (s1, s2)
    }
}

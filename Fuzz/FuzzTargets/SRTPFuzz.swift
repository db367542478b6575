import NIOCore
import RTP
import SRTP

enum SRTPFuzz {
    static let masterKey: [UInt8] = Array(0x00..<0x10)

    static func session(_ profile: SRTPProfile) -> SRTPSession {
        let keys = SRTPKeyingMaterial(masterKey: masterKey, masterSalt: Array(0x40..<0x40 + UInt8(profile.saltLength)))
        do { return try SRTPSession(profile: profile, keys: keys) } catch { FuzzCheck.fail("fixed SRTP keys refused: \(error)") }
    }

    static func run(_ data: UnsafeRawBufferPointer) {
        let input = ByteBuffer(bytes: data)
        for profile in SRTPProfile.allCases {
            // Received as they are: nearly always refused (authentication), but the header walk runs on them.
            let receiver = session(profile)
            var rtp = input
            _ = try? receiver.unprotectRTP(&rtp)
            var rtcp = input
            _ = try? receiver.unprotectRTCP(&rtcp)

            // The input as a plain packet, protected then unprotected by a session with the same keys: it comes
            // back byte for byte, and a flipped bit is refused. (Three sessions per profile and input: key
            // derivation is most of the time spent here.)
            let sender = session(profile), peer = session(profile)
            if (try? RTPPacket(input)) != nil {
                var packet = input
                if (try? sender.protectRTP(&packet)) != nil {
                    FuzzCheck.expect(packet.readableBytes == input.readableBytes + profile.tagLength, "SRTP tag length")
                    var tampered = packet
                    var copy = packet
                    do { try peer.unprotectRTP(&copy) } catch { FuzzCheck.fail("\(profile) unprotectRTP refused its own packet: \(error)") }
                    FuzzCheck.expect(copy == input, "\(profile) SRTP round trip changed the packet")
                    // Replayed: refused.
                    var replay = packet
                    FuzzCheck.expect((try? peer.unprotectRTP(&replay)) == nil, "\(profile) accepted a replayed packet")
                    let at = tampered.readerIndex + tampered.readableBytes - 1
                    tampered.setInteger((tampered.getInteger(at: at, as: UInt8.self) ?? 0) ^ 1, at: at)
                    FuzzCheck.expect((try? receiver.unprotectRTP(&tampered)) == nil, "\(profile) accepted a tampered packet")
                }
            }
            if input.readableBytes >= 8 {
                var packet = input
                if (try? sender.protectRTCP(&packet)) != nil {
                    var copy = packet
                    do { try peer.unprotectRTCP(&copy) } catch { FuzzCheck.fail("\(profile) unprotectRTCP refused its own packet: \(error)") }
                    FuzzCheck.expect(copy == input, "\(profile) SRTCP round trip changed the packet")
                }
            }
        }
    }
}

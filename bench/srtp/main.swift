// SRTP micro-benchmark: protect/unprotect of 1,200-byte RTP packets per second on one core, Parley's SRTP
// beside Debian's libsrtp2 on the same machine. Run by `make bench`; never part of `make test`.
import CSRTP
import Foundation
import NIOCore
import SRTP

let packetSize = 1_200
let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 2.0

func rtp(seq: UInt16) -> [UInt8] {
    var p: [UInt8] = [0x80, 96, UInt8(seq >> 8), UInt8(seq & 0xFF), 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78]
    p += [UInt8](repeating: 0xAB, count: packetSize - p.count)
    return p
}

/// Runs `body` in batches until `seconds` pass; returns operations per second.
func measure(_ body: (Int) -> Void) -> Double {
    let batch = 10_000
    var count = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        body(batch)
        count += batch
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    return Double(count) / elapsed
}

struct Row: Encodable {
    let implementation: String
    let profile: String
    let operation: String
    let perSecond: Double
}
var rows: [Row] = []
let template = rtp(seq: 0)

for profile in SRTPProfile.allCases {
    let keys = SRTPKeyingMaterial(masterKey: [UInt8](repeating: 7, count: 16), masterSalt: [UInt8](repeating: 9, count: profile.saltLength))
    let name = profile == .aeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80"

    // Parley protect: the buffer is rewritten in place; reset the writer index each time (as the SFU reuses buffers).
    let sender = try SRTPSession(profile: profile, keys: keys)
    var buffer = ByteBufferAllocator().buffer(capacity: packetSize + 64)
    var seq: UInt16 = 0
    let protectRate = measure { n in
        for _ in 0..<n {
            buffer.clear()
            buffer.writeBytes(template)
            buffer.setInteger(seq, at: 2)
            try? sender.protectRTP(&buffer)
            seq &+= 1
        }
    }
    rows.append(Row(implementation: "parley", profile: name, operation: "protect", perSecond: protectRate))

    // Parley unprotect of distinct packets (the replay window refuses repeats), prepared up front.
    var receiver = try SRTPSession(profile: profile, keys: keys)
    let prepSender = try SRTPSession(profile: profile, keys: keys)
    let prepared: [[UInt8]] = (0..<50_000).map { i in
        var b = ByteBuffer(bytes: rtp(seq: UInt16(truncatingIfNeeded: i)))
        try? prepSender.protectRTP(&b)
        return Array(b.readableBytesView)
    }
    var index = 0
    var work = ByteBufferAllocator().buffer(capacity: packetSize + 64)
    let unprotectRate = measure { n in
        for _ in 0..<n {
            if index == prepared.count {
                // A new receiver per pass over the prepared packets, so none of them counts as a replay.
                receiver = (try? SRTPSession(profile: profile, keys: keys)) ?? receiver
                index = 0
            }
            work.clear()
            work.writeBytes(prepared[index])
            try? receiver.unprotectRTP(&work)
            index += 1
        }
    }
    rows.append(Row(implementation: "parley", profile: name, operation: "unprotect", perSecond: unprotectRate))

    // libsrtp2 protect with the same packets.
    _ = srtp_init()
    var policy = srtp_policy_t()
    if profile == .aeadAes128Gcm {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
    } else {
        srtp_crypto_policy_set_rtp_default(&policy.rtp)
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
    }
    policy.ssrc.type = ssrc_any_outbound
    policy.allow_repeat_tx = 1
    var key = keys.masterKey + keys.masterSalt
    var session: srtp_t?
    key.withUnsafeMutableBufferPointer { policy.key = $0.baseAddress; _ = srtp_create(&session, &policy) }
    var raw = [UInt8](repeating: 0, count: packetSize + 64)
    seq = 0
    let libRate = measure { n in
        raw.withUnsafeMutableBytes { p in
            for _ in 0..<n {
                template.withUnsafeBytes { p.copyMemory(from: $0) }
                p.storeBytes(of: seq.bigEndian, toByteOffset: 2, as: UInt16.self)
                var length = Int32(packetSize)
                _ = srtp_protect(session, p.baseAddress, &length)
                seq &+= 1
            }
        }
    }
    srtp_dealloc(session)
    rows.append(Row(implementation: "libsrtp2 (Debian)", profile: name, operation: "protect", perSecond: libRate))
}

if CommandLine.arguments.contains("--json") {
    let data = try JSONEncoder().encode(rows)
    print(String(decoding: data, as: UTF8.self))
} else {
    print("| implementation | profile | operation | packets/s (1,200 B, one core) |")
    print("|---|---|---|---|")
    for r in rows {
        print("| \(r.implementation) | \(r.profile) | \(r.operation) | \(Int(r.perSecond).formatted()) |")
    }
}

import COpenSSL
import NIOCore

/// One direction of SRTP/SRTCP for one peer connection: every SSRC sent (or received) with the same keys.
/// Packets are protected and unprotected in place in their `ByteBuffer`; the tag is appended or trimmed.
///
/// Not thread-safe: each transport uses its sessions on its own event loop.
public final class SRTPSession {
    public let profile: SRTPProfile
    private let rtp: DirectionKeys
    private let rtcp: DirectionKeys
    private var rtpStreams: [UInt32: RTPStreamState] = [:]
    /// Internal so tests can start SRTCP at a published vector's index.
    var rtcpStreams: [UInt32: RTCPStreamState] = [:]

    public init(profile: SRTPProfile, keys: SRTPKeyingMaterial) throws(SRTPError) {
        guard keys.masterKey.count == profile.keyLength, keys.masterSalt.count == profile.saltLength else {
            throw .invalidKeyLength
        }
        self.profile = profile
        let kdf = try AESCounterMode(key: keys.masterKey)
        rtp = try DirectionKeys(profile: profile, kdf: kdf, masterSalt: keys.masterSalt, labels: (0, 1, 2))
        rtcp = try DirectionKeys(profile: profile, kdf: kdf, masterSalt: keys.masterSalt, labels: (3, 4, 5))
    }

    /// AES-GCM contexts made so far, each on first use (for tests).
    var gcmContexts: Int {
        [rtp, rtcp].reduce(0) { sum, keys in
            if case .gcm(let gcm) = keys.cipher { return sum + gcm.contexts }
            return sum
        }
    }

    /// A session from already derived session keys (RFC 7714 §16 vectors start there).
    init(profile: SRTPProfile, rtp: DirectionKeys, rtcp: DirectionKeys) {
        self.profile = profile
        self.rtp = rtp
        self.rtcp = rtcp
    }

    // MARK: RTP

    public func protectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        let tagLength = profile.tagLength
        var tag = TagBytes()
        let (headerLength, ssrc, seq) = try RTPHeaderInfo.parse(packet, trailing: 0)
        var state = rtpStreams[ssrc] ?? RTPStreamState()
        guard let index = state.estimateIndex(seq: seq) else { throw .tooOld }
        let roc = UInt32(truncatingIfNeeded: index >> 16)
        let ok: Bool = packet.withUnsafeMutableReadableBytes { bytes in
            tag.withBytes { tagBytes in
                let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[headerLength...])
                switch rtp.cipher {
                case .counterMode(let aes, let hmac):
                    var iv = rtp.counterIV(ssrc: ssrc, index: index)
                    guard withUnsafeBytes(of: &iv, { aes.apply(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), to: payload) }) else { return false }
                    var rocBE = roc.bigEndian
                    withUnsafeBytes(of: &rocBE) { hmac.authenticate(UnsafeRawBufferPointer(bytes), trailer: $0, into: tagBytes) }
                    return true
                case .gcm(let gcm):
                    var iv = rtp.gcmRTPIV(ssrc: ssrc, roc: roc, seq: seq)
                    return withUnsafeBytes(of: &iv) {
                        gcm.seal(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                 aad: UnsafeRawBufferPointer(rebasing: bytes[..<headerLength]), data: payload, tag: tagBytes)
                    }
                }
            }
        }
        guard ok else { throw .cryptoFailure }
        tag.withBytes { packet.writeBytes(UnsafeRawBufferPointer(start: $0, count: tagLength)) }
        state.advance(to: index)
        rtpStreams[ssrc] = state
    }

    public func unprotectRTP(_ packet: inout ByteBuffer) throws(SRTPError) {
        let tagLength = profile.tagLength
        let (headerLength, ssrc, seq) = try RTPHeaderInfo.parse(packet, trailing: tagLength)
        var state = rtpStreams[ssrc] ?? RTPStreamState()
        guard let index = state.estimateIndex(seq: seq) else { throw .tooOld }
        if let error = state.replay.check(index) { throw error }
        let roc = UInt32(truncatingIfNeeded: index >> 16)
        let verdict: SRTPError? = packet.withUnsafeMutableReadableBytes { bytes in
            let end = bytes.count - tagLength
            let received = UnsafeRawBufferPointer(rebasing: bytes[end...])
            let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[headerLength..<end])
            switch rtp.cipher {
            case .counterMode(let aes, let hmac):
                var computed = TagBytes()
                var rocBE = roc.bigEndian
                computed.withBytes { mac in
                    withUnsafeBytes(of: &rocBE) { hmac.authenticate(UnsafeRawBufferPointer(rebasing: bytes[..<end]), trailer: $0, into: mac) }
                }
                guard computed.equals(received, count: tagLength) else { return .authenticationFailed }
                var iv = rtp.counterIV(ssrc: ssrc, index: index)
                let ok = withUnsafeBytes(of: &iv) { aes.apply(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), to: payload) }
                return ok ? nil : .cryptoFailure
            case .gcm(let gcm):
                var iv = rtp.gcmRTPIV(ssrc: ssrc, roc: roc, seq: seq)
                let ok = withUnsafeBytes(of: &iv) {
                    gcm.open(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self),
                             aad: UnsafeRawBufferPointer(rebasing: bytes[..<headerLength]), data: payload, tag: received.baseAddress!)
                }
                return ok ? nil : .authenticationFailed
            }
        }
        if let verdict { throw verdict }
        packet.moveWriterIndex(to: packet.writerIndex - tagLength)
        state.advance(to: index)
        state.replay.accept(index)
        rtpStreams[ssrc] = state
    }

    // MARK: RTCP

    public func protectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        guard packet.readableBytes >= 8, let ssrc = packet.getInteger(at: packet.readerIndex + 4, as: UInt32.self) else {
            throw .tooShort
        }
        var state = rtcpStreams[ssrc] ?? RTCPStreamState()
        let index = state.nextIndex
        state.nextIndex = (index &+ 1) & 0x7FFF_FFFF
        let trailer = 0x8000_0000 | index  // E flag set: Parley always encrypts
        var tag = TagBytes()
        let ok: Bool = packet.withUnsafeMutableReadableBytes { bytes in
            tag.withBytes { tagBytes in
                let body = UnsafeMutableRawBufferPointer(rebasing: bytes[8...])
                switch rtcp.cipher {
                case .counterMode(let aes, _):
                    var iv = rtcp.counterIV(ssrc: ssrc, index: UInt64(index))
                    return withUnsafeBytes(of: &iv) { aes.apply(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), to: body) }
                case .gcm(let gcm):
                    var iv = rtcp.gcmRTCPIV(ssrc: ssrc, index: index)
                    var aad = RTCPAAD(header: bytes, trailer: trailer.bigEndian)
                    return withUnsafeBytes(of: &iv) { ivp in
                        withUnsafeBytes(of: &aad) {
                            gcm.seal(iv: ivp.baseAddress!.assumingMemoryBound(to: UInt8.self), aad: $0, data: body, tag: tagBytes)
                        }
                    }
                }
            }
        }
        guard ok else { throw .cryptoFailure }
        switch rtcp.cipher {
        case .counterMode(_, let hmac):
            packet.writeInteger(trailer)
            packet.withUnsafeReadableBytes { bytes in
                tag.withBytes { hmac.authenticate(bytes, trailer: nil, into: $0) }
            }
            tag.withBytes { packet.writeBytes(UnsafeRawBufferPointer(start: $0, count: 10)) }
        case .gcm:
            tag.withBytes { packet.writeBytes(UnsafeRawBufferPointer(start: $0, count: 16)) }
            packet.writeInteger(trailer)
        }
        rtcpStreams[ssrc] = state
    }

    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(SRTPError) {
        let tagLength = profile.tagLength
        let total = packet.readableBytes
        guard total >= 8 + 4 + tagLength, let ssrc = packet.getInteger(at: packet.readerIndex + 4, as: UInt32.self) else {
            throw .tooShort
        }
        let trailerOffset = profile == .aeadAes128Gcm ? total - 4 : total - tagLength - 4
        guard let trailer = packet.getInteger(at: packet.readerIndex + trailerOffset, as: UInt32.self) else { throw .tooShort }
        let encrypted = trailer & 0x8000_0000 != 0
        let index = trailer & 0x7FFF_FFFF
        var state = rtcpStreams[ssrc] ?? RTCPStreamState()
        if let error = state.replay.check(UInt64(index)) { throw error }

        let verdict: SRTPError? = packet.withUnsafeMutableReadableBytes { bytes in
            switch rtcp.cipher {
            case .counterMode(let aes, let hmac):
                let authenticated = UnsafeRawBufferPointer(rebasing: bytes[..<(total - tagLength)])
                var computed = TagBytes()
                computed.withBytes { hmac.authenticate(authenticated, trailer: nil, into: $0) }
                guard computed.equals(UnsafeRawBufferPointer(rebasing: bytes[(total - tagLength)...]), count: tagLength) else {
                    return .authenticationFailed
                }
                guard encrypted else { return nil }
                var iv = rtcp.counterIV(ssrc: ssrc, index: UInt64(index))
                let body = UnsafeMutableRawBufferPointer(rebasing: bytes[8..<trailerOffset])
                let ok = withUnsafeBytes(of: &iv) { aes.apply(iv: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), to: body) }
                return ok ? nil : .cryptoFailure
            case .gcm(let gcm):
                let tagStart = trailerOffset - 16
                var iv = rtcp.gcmRTCPIV(ssrc: ssrc, index: index)
                let tag = UnsafeRawBufferPointer(rebasing: bytes[tagStart..<trailerOffset])
                let ok: Bool
                if encrypted {
                    var aad = RTCPAAD(header: UnsafeMutableRawBufferPointer(bytes), trailer: trailer.bigEndian)
                    let body = UnsafeMutableRawBufferPointer(rebasing: bytes[8..<tagStart])
                    ok = withUnsafeBytes(of: &iv) { ivp in
                        withUnsafeBytes(of: &aad) {
                            gcm.open(iv: ivp.baseAddress!.assumingMemoryBound(to: UInt8.self), aad: $0, data: body, tag: tag.baseAddress!)
                        }
                    }
                } else {
                    // Unencrypted SRTCP: the whole packet and the trailer are associated data.
                    var aad = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[..<tagStart]))
                    withUnsafeBytes(of: trailer.bigEndian) { aad.append(contentsOf: $0) }
                    ok = withUnsafeBytes(of: &iv) { ivp in
                        aad.withUnsafeBytes {
                            gcm.open(iv: ivp.baseAddress!.assumingMemoryBound(to: UInt8.self), aad: $0,
                                     data: UnsafeMutableRawBufferPointer(start: nil, count: 0), tag: tag.baseAddress!)
                        }
                    }
                }
                return ok ? nil : .authenticationFailed
            }
        }
        if let verdict { throw verdict }
        packet.moveWriterIndex(to: packet.writerIndex - tagLength - 4)
        state.replay.accept(UInt64(index))
        rtcpStreams[ssrc] = state
    }
}

/// Session keys of one kind (RTP or RTCP) derived from the master key (RFC 3711 §4.3, RFC 7714 §11).
struct DirectionKeys {
    enum Cipher {
        case counterMode(AESCounterMode, HMACSHA1)
        case gcm(AESGCM)
    }

    let cipher: Cipher
    /// The session salt, left-aligned in 16 bytes (14 used by AES-CM, 12 by GCM).
    let salt: (UInt64, UInt64)

    init(profile: SRTPProfile, kdf: AESCounterMode, masterSalt: [UInt8], labels: (UInt8, UInt8, UInt8)) throws(SRTPError) {
        func derive(_ label: UInt8, _ count: Int) throws(SRTPError) -> [UInt8] {
            try Self.deriveSessionKey(kdf: kdf, masterSalt: masterSalt, label: label, count: count)
        }
        try self.init(profile: profile, sessionKey: try derive(labels.0, profile.keyLength),
                      sessionSalt: try derive(labels.2, profile.saltLength),
                      authKey: profile == .aes128CmHmacSha1_80 ? try derive(labels.1, 20) : [])
    }

    /// Keys as the KDF would derive them; `authKey` is used by AES-CM only.
    init(profile: SRTPProfile, sessionKey key: [UInt8], sessionSalt: [UInt8], authKey: [UInt8]) throws(SRTPError) {
        guard key.count == profile.keyLength, sessionSalt.count == profile.saltLength else { throw .invalidKeyLength }
        let saltBytes = sessionSalt + [UInt8](repeating: 0, count: 16 - profile.saltLength)
        salt = saltBytes.withUnsafeBytes { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        switch profile {
        case .aes128CmHmacSha1_80:
            cipher = .counterMode(try AESCounterMode(key: key), HMACSHA1(key: authKey))
        case .aeadAes128Gcm:
            cipher = .gcm(try AESGCM(key: key))
        }
    }

    /// The AES-CM PRF with key derivation rate 0: x = (label || r=0) XOR master salt (a 12-byte GCM salt is
    /// zero-padded to 14), IV = x * 2^16, output = the first `count` key-stream bytes.
    static func deriveSessionKey(kdf: AESCounterMode, masterSalt: [UInt8], label: UInt8, count: Int) throws(SRTPError) -> [UInt8] {
        var iv = [UInt8](repeating: 0, count: 16)
        for (i, b) in masterSalt.enumerated() where i < 14 { iv[i] = b }
        iv[7] ^= label
        guard let out = kdf.keystream(iv: iv, count: count) else { throw .cryptoFailure }
        return out
    }

    /// AES-CM IV: salt XOR (SSRC << 64) XOR (index << 16), as 16 bytes in memory order.
    func counterIV(ssrc: UInt32, index: UInt64) -> (UInt64, UInt64) {
        // Bytes 4..7 carry the SSRC, bytes 8..13 the index: build the big-endian words and XOR in the salt.
        let w0 = UInt64(ssrc)                       // bytes 0..7 as a big-endian number: SSRC in bytes 4..7
        let w1 = (index & 0xFFFF_FFFF_FFFF) << 16   // bytes 8..15: index in bytes 8..13
        return (salt.0 ^ w0.bigEndian, salt.1 ^ w1.bigEndian)
    }

    /// GCM RTP IV (RFC 7714 §8.1): (00 00 || SSRC || ROC || SEQ) XOR salt.
    func gcmRTPIV(ssrc: UInt32, roc: UInt32, seq: UInt16) -> (UInt64, UInt64) {
        let w0 = UInt64(ssrc) << 16 | UInt64(roc >> 16)
        let w1 = (UInt64(roc & 0xFFFF) << 16 | UInt64(seq)) << 32
        return (salt.0 ^ w0.bigEndian, salt.1 ^ w1.bigEndian)
    }

    /// GCM RTCP IV (RFC 7714 §9.1): (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt.
    func gcmRTCPIV(ssrc: UInt32, index: UInt32) -> (UInt64, UInt64) {
        let w0 = UInt64(ssrc) << 16
        let w1 = UInt64(index & 0x7FFF_FFFF) << 32
        return (salt.0 ^ w0.bigEndian, salt.1 ^ w1.bigEndian)
    }
}

/// The GCM SRTCP associated data: the first 8 header bytes and the E||index word.
struct RTCPAAD {
    var header: UInt64
    var trailer: UInt32

    init(header bytes: UnsafeMutableRawBufferPointer, trailer: UInt32) {
        header = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        self.trailer = trailer
    }
}

/// Where the payload starts, and the SSRC and sequence number, of an RTP packet (RFC 3550 §5.1).
enum RTPHeaderInfo {
    static func parse(_ packet: ByteBuffer, trailing: Int) throws(SRTPError) -> (headerLength: Int, ssrc: UInt32, seq: UInt16) {
        let base = packet.readerIndex
        let length = packet.readableBytes - trailing
        guard length >= 12, let first = packet.getInteger(at: base, as: UInt8.self),
              let seq = packet.getInteger(at: base + 2, as: UInt16.self),
              let ssrc = packet.getInteger(at: base + 8, as: UInt32.self) else { throw .tooShort }
        guard first >> 6 == 2 else { throw .malformedHeader }
        var headerLength = 12 + 4 * Int(first & 0x0F)
        if first & 0x10 != 0 {
            guard headerLength + 4 <= length,
                  let words = packet.getInteger(at: base + headerLength + 2, as: UInt16.self) else { throw .malformedHeader }
            headerLength += 4 + 4 * Int(words)
        }
        guard headerLength <= length else { throw .malformedHeader }
        return (headerLength, ssrc, seq)
    }
}

/// 16 bytes on the stack for a tag or MAC (SHA-1 writes 20, so 24 are kept).
struct TagBytes {
    private var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)

    mutating func withBytes<R>(_ body: (UnsafeMutablePointer<UInt8>) -> R) -> R {
        withUnsafeMutableBytes(of: &storage) { body($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    /// Constant-time comparison of the first `count` bytes.
    mutating func equals(_ other: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard other.count >= count else { return false }
        return withBytes { mine in
            var diff: UInt8 = 0
            for i in 0..<count { diff |= mine[i] ^ other[i] }
            return diff == 0
        }
    }
}

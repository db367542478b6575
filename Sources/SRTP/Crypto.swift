import COpenSSL

/// AES-128 with a reusable OpenSSL context. Each call only sets a new IV: no allocation per packet.
final class AESCounterMode {
    private let ctx: OpaquePointer

    init(key: [UInt8]) throws(SRTPError) {
        guard key.count == 16, let ctx = EVP_CIPHER_CTX_new() else { throw .invalidKeyLength }
        self.ctx = ctx
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nil, key, nil) == 1 else { throw .cryptoFailure }
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    /// XORs the key stream for `iv` into `data` (CTR mode is its own inverse).
    func apply(iv: UnsafePointer<UInt8>, to data: UnsafeMutableRawBufferPointer) -> Bool {
        guard EVP_EncryptInit_ex(ctx, nil, nil, nil, iv) == 1 else { return false }
        guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count > 0 else { return true }
        var outLength: Int32 = 0
        return EVP_EncryptUpdate(ctx, base, &outLength, base, Int32(data.count)) == 1
    }

    /// The first `count` key-stream bytes for `iv`: the AES-CM PRF of the SRTP key derivation.
    func keystream(iv: [UInt8], count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = iv.withUnsafeBufferPointer { ivp in
            out.withUnsafeMutableBytes { apply(iv: ivp.baseAddress!, to: $0) }
        }
        return ok ? out : nil
    }
}

/// HMAC-SHA1 with the key's inner and outer SHA-1 states computed once; per packet it copies two
/// 96-byte structs on the stack instead of re-keying or allocating.
struct HMACSHA1 {
    private var inner = SHA_CTX()
    private var outer = SHA_CTX()

    init(key: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 64)
        // SRTP auth keys are 20 bytes, shorter than the block, so no pre-hash is needed.
        for (i, b) in key.prefix(64).enumerated() { block[i] = b }
        SHA1_Init(&inner)
        SHA1_Init(&outer)
        let ipad = block.map { $0 ^ 0x36 }
        let opad = block.map { $0 ^ 0x5c }
        SHA1_Update(&inner, ipad, 64)
        SHA1_Update(&outer, opad, 64)
    }

    /// HMAC over `data` followed by `trailer` (SRTP appends the rollover counter), into `mac` (20 bytes).
    func authenticate(_ data: UnsafeRawBufferPointer, trailer: UnsafeRawBufferPointer?, into mac: UnsafeMutablePointer<UInt8>) {
        var ctx = inner
        SHA1_Update(&ctx, data.baseAddress, data.count)
        if let trailer { SHA1_Update(&ctx, trailer.baseAddress, trailer.count) }
        var digest = (UInt64(0), UInt64(0), UInt32(0))  // 20 bytes on the stack
        withUnsafeMutableBytes(of: &digest) { d in
            let dp = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            SHA1_Final(dp, &ctx)
            var octx = outer
            SHA1_Update(&octx, dp, 20)
            SHA1_Final(mac, &octx)
        }
    }
}

/// AES-128-GCM with a reusable context per direction (RFC 7714), each made on first use: a session protects or
/// unprotects, rarely both, and a player's transport never unprotects RTP. An unused OpenSSL context is ~1.1 KB,
/// five of them per transport.
final class AESGCM {
    private let key: [UInt8]
    private var encryptCtx: OpaquePointer?
    private var decryptCtx: OpaquePointer?

    init(key: [UInt8]) throws(SRTPError) {
        guard key.count == 16 else { throw .invalidKeyLength }
        self.key = key
    }

    deinit {
        if let encryptCtx { EVP_CIPHER_CTX_free(encryptCtx) }
        if let decryptCtx { EVP_CIPHER_CTX_free(decryptCtx) }
    }

    /// OpenSSL contexts made so far (for tests).
    var contexts: Int { (encryptCtx == nil ? 0 : 1) + (decryptCtx == nil ? 0 : 1) }

    private func context(encrypt: Bool) -> OpaquePointer? {
        if let ctx = encrypt ? encryptCtx : decryptCtx { return ctx }
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        let ready = encrypt ? EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nil, key, nil) : EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), nil, key, nil)
        guard ready == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            return nil
        }
        if encrypt { encryptCtx = ctx } else { decryptCtx = ctx }
        return ctx
    }

    /// Encrypts `data` in place and writes the 16-byte tag to `tag`.
    func seal(iv: UnsafePointer<UInt8>, aad: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer) -> Bool {
        guard let ctx = context(encrypt: true) else { return false }
        var n: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, nil, nil, nil, iv) == 1 else { return false }
        if aad.count > 0 {
            guard EVP_EncryptUpdate(ctx, nil, &n, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1 else { return false }
        }
        if let p = data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count > 0 {
            guard EVP_EncryptUpdate(ctx, p, &n, p, Int32(data.count)) == 1 else { return false }
        }
        var scratch: UInt8 = 0
        guard EVP_EncryptFinal_ex(ctx, &scratch, &n) == 1 else { return false }
        return EVP_CIPHER_CTX_ctrl(ctx, parley_EVP_CTRL_GCM_GET_TAG(), 16, tag) == 1
    }

    /// Verifies `tag` and decrypts `data` in place; false when the tag does not match.
    func open(iv: UnsafePointer<UInt8>, aad: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer, tag: UnsafeRawPointer) -> Bool {
        guard let ctx = context(encrypt: false) else { return false }
        var n: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, nil, nil, nil, iv) == 1 else { return false }
        if aad.count > 0 {
            guard EVP_DecryptUpdate(ctx, nil, &n, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1 else { return false }
        }
        if let p = data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count > 0 {
            guard EVP_DecryptUpdate(ctx, p, &n, p, Int32(data.count)) == 1 else { return false }
        }
        guard EVP_CIPHER_CTX_ctrl(ctx, parley_EVP_CTRL_GCM_SET_TAG(), 16, UnsafeMutableRawPointer(mutating: tag)) == 1 else { return false }
        var scratch: UInt8 = 0
        return EVP_DecryptFinal_ex(ctx, &scratch, &n) == 1
    }
}

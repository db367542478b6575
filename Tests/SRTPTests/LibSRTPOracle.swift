import CSRTP

/// Debian's libsrtp2 wrapped for tests: an independent implementation to check Parley's SRTP against.
final class LibSRTP {
    private var session: srtp_t?
    private var key: [UInt8]

    static let initialized: Bool = srtp_init() == srtp_err_status_ok

    init(gcm: Bool, masterKey: [UInt8], masterSalt: [UInt8], outbound: Bool) {
        precondition(Self.initialized)
        key = masterKey + masterSalt
        var policy = srtp_policy_t()
        if gcm {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        } else {
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
        policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 128
        policy.allow_repeat_tx = 1
        let status = key.withUnsafeMutableBufferPointer { k -> srtp_err_status_t in
            policy.key = k.baseAddress
            return srtp_create(&session, &policy)
        }
        precondition(status == srtp_err_status_ok, "srtp_create failed: \(status)")
    }

    deinit { srtp_dealloc(session) }

    func protect(_ packet: [UInt8], rtcp: Bool = false) -> [UInt8]? {
        var buffer = packet + [UInt8](repeating: 0, count: 64)
        var length = Int32(packet.count)
        let status = buffer.withUnsafeMutableBytes {
            rtcp ? srtp_protect_rtcp(session, $0.baseAddress, &length) : srtp_protect(session, $0.baseAddress, &length)
        }
        return status == srtp_err_status_ok ? Array(buffer[0..<Int(length)]) : nil
    }

    func unprotect(_ packet: [UInt8], rtcp: Bool = false) -> [UInt8]? {
        var buffer = packet
        var length = Int32(packet.count)
        let status = buffer.withUnsafeMutableBytes {
            rtcp ? srtp_unprotect_rtcp(session, $0.baseAddress, &length) : srtp_unprotect(session, $0.baseAddress, &length)
        }
        return status == srtp_err_status_ok ? Array(buffer[0..<Int(length)]) : nil
    }
}

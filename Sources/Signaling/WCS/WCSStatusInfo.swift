/// The `info` texts of WCS stream statuses that the WebSDK names in `Flashphoner.constants.STREAM_STATUS_INFO`:
/// apps compare `stream.getInfo()` with those constants, so these must be the same words exactly.
enum WCSStatusInfo {
    static let streamNotFound = "Stream not found"
    static let streamNameInUse = "Stream name is already in use"
    static let stoppedByPublisherStop = "Stopped by publisher stop"
    static let noCommonCodecs = "No common codecs"
    static let failedByKeepAlive = "Failed by ICE keep alive"
    static let failedByDTLSFingerprint = "Failed by DTLS fingerprint error"
    static let failedByDTLSError = "Failed by DTLS error"

    /// The media plane's reason a stream ended, as `stream.getInfo()` gives it: the SDK's constant where one
    /// fits, else Parley's words.
    static func describe(reason: StreamEndReason) -> String {
        switch reason {
        case .unpublished: stoppedByPublisherStop
        case .consentExpired: failedByKeepAlive
        case .peerClosed: "Closed by the peer"
        case .fingerprintMismatch: failedByDTLSFingerprint
        case .dtlsFailed: failedByDTLSError
        case .srtpFailed: "SRTP setup failed"
        case .stopped: "closed by the server"
        }
    }

    /// A refused publish or play: the SDK's constant for the codes it has one for, Parley's reason otherwise.
    static func describe(_ error: MediaServiceError) -> String {
        switch error.code {
        case "no_common_codec": noCommonCodecs
        case "unknown_stream": streamNotFound
        default: error.message
        }
    }
}

/// Why an FLV payload cannot be used.
public enum FLVError: Error, Equatable, Sendable {
    case truncated
    /// A codec Parley does not take over RTMP (HEVC, AV1 and VP9 as enhanced RTMP, Sorenson, VP6, MP3, …).
    case unsupportedCodec(String)
    /// An AVCDecoderConfigurationRecord that cannot be read.
    case badDecoderConfiguration
}

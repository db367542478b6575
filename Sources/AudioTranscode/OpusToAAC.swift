import CAudioCodec

/// Opus (a browser's audio) to AAC-LC 48 kHz stereo (what RTMP players decode): libopus decodes, libavcodec's
/// AAC encoder encodes raw frames of 1024 samples. A lost packet is concealed by libopus. Owned by one task, never
/// on a media loop.
public final class OpusToAAC {
    public static let samplesPerFrame = 1024
    private let transcoder: OpaquePointer
    private var out = [UInt8](repeating: 0, count: 8 * 2048)
    private var sizes = [Int32](repeating: 0, count: 8)
    /// The AudioSpecificConfig for the FLV AAC sequence header.
    public let config: [UInt8]

    public init(bitrate: Int = 128_000) throws(AACToOpus.Failure) {
        var error = [CChar](repeating: 0, count: 160)
        guard let made = parley_opus_to_aac_new(Int32(bitrate), &error, Int32(error.count)) else {
            throw AACToOpus.Failure(cString: error)
        }
        transcoder = made
        var asc = [UInt8](repeating: 0, count: 64)
        let size = parley_opus_to_aac_config(made, &asc, Int32(asc.count))
        config = size > 0 ? Array(asc.prefix(Int(size))) : []
    }

    deinit { parley_opus_to_aac_free(transcoder) }

    /// The AAC frames one Opus packet completes (nil for a lost packet, which is concealed).
    public func transcode(_ packet: [UInt8]?) throws(AACToOpus.Failure) -> [[UInt8]] {
        let bytes = packet ?? []
        let count = bytes.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                sizes.withUnsafeMutableBufferPointer { s in
                    parley_opus_to_aac_feed(transcoder, p.baseAddress, Int32(p.count), o.baseAddress, Int32(o.count),
                                            s.baseAddress, Int32(s.count))
                }
            }
        }
        guard count >= 0 else { throw AACToOpus.Failure(description: "an Opus packet could not be decoded") }
        return split(out, sizes: sizes, count: count)
    }
}

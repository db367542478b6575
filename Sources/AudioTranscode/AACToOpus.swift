import CAudioCodec

/// AAC (an RTMP encoder's audio) to Opus (what browsers play): decoded by libavcodec, resampled to 48 kHz stereo,
/// encoded by libopus in 20 ms packets. Not for a media loop: one frame costs ~0.2 ms of CPU. Owned by one task.
public final class AACToOpus {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String

        init(description: String) { self.description = description }

        /// The reason a shim wrote into its error buffer.
        init(cString error: [CChar]) {
            description = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Opus samples per packet: 20 ms at 48 kHz.
    public static let samplesPerPacket = 960
    private let transcoder: OpaquePointer
    private var out = [UInt8](repeating: 0, count: 8 * 1275)
    private var sizes = [Int32](repeating: 0, count: 8)

    /// - Parameter config: the AudioSpecificConfig of the AAC sequence header.
    public init(config: [UInt8], bitrate: Int = 64000) throws(Failure) {
        var error = [CChar](repeating: 0, count: 160)
        let made = config.withUnsafeBufferPointer { c in
            parley_aac_to_opus_new(c.baseAddress, Int32(c.count), Int32(bitrate), &error, Int32(error.count))
        }
        guard let made else { throw Failure(cString: error) }
        transcoder = made
    }

    deinit { parley_aac_to_opus_free(transcoder) }

    /// The Opus packets one raw AAC frame completes (none, one or two: 1024 samples in, 960 per packet out).
    /// Throws when the frame cannot be decoded; the stream can go on with the next one.
    public func transcode(_ frame: [UInt8]) throws(Failure) -> [[UInt8]] {
        let count = frame.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                sizes.withUnsafeMutableBufferPointer { s in
                    parley_aac_to_opus_feed(transcoder, f.baseAddress, Int32(f.count), o.baseAddress, Int32(o.count),
                                            s.baseAddress, Int32(s.count))
                }
            }
        }
        guard count >= 0 else { throw Failure(description: "an AAC frame could not be decoded") }
        return split(out, sizes: sizes, count: count)
    }

    /// Samples (48 kHz) held in the resampler and the packet queue: the Opus timestamps run this far behind AAC's.
    public var delay: Int { Int(parley_aac_to_opus_delay(transcoder)) }
}

/// What a shim wrote: `count` packets one after another in `out`, their sizes in `sizes`.
func split(_ out: [UInt8], sizes: [Int32], count: Int32) -> [[UInt8]] {
    var packets: [[UInt8]] = []
    var offset = 0
    for size in sizes.prefix(Int(count)).map(Int.init) {
        packets.append(Array(out[offset..<offset + size]))
        offset += size
    }
    return packets
}

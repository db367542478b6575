import CVideoCodec
import NIOCore

/// Video re-encoded as H.264 for RTMP (libavcodec decodes, libx264 encodes: constrained baseline, zerolatency, no
/// B-frames): VP8 from browsers for RTMP players and pushes, H.264 with B-frames from encoders for browsers. Heavy
/// (a 640×480 frame takes milliseconds): never call it on a media loop. One owner at a time.
public final class H264Transcoder {
    public enum Source: Sendable { case vp8, h264 }

    /// One encoded access unit: its NAL units (SPS and PPS lead each keyframe's), and the pts it was fed with.
    public struct Output: Sendable, Equatable {
        public let nalUnits: [ByteBuffer]
        public let isKeyframe: Bool
        public let pts: Int64
        public var sps: [UInt8]? { unit(ofType: 7) }
        public var pps: [UInt8]? { unit(ofType: 8) }

        private func unit(ofType type: UInt8) -> [UInt8]? {
            nalUnits.first { $0.getInteger(at: $0.readerIndex, as: UInt8.self).map { $0 & 0x1F } == type }.map { Array($0.readableBytesView) }
        }
    }

    public struct Failure: Error, Sendable, Equatable {
        public let reason: String
    }

    private let transcoder: OpaquePointer
    private var out = [UInt8](repeating: 0, count: 4 << 20)
    private static let maxFrames = 8

    /// The output is constrained baseline (profile-level-id `42e0LL`), which every player decodes.
    public init(source: Source, bitrate: Int = 2_000_000, keyframeInterval: Int = 60) throws(Failure) {
        var error = [CChar](repeating: 0, count: 256)
        guard let t = parley_video_transcoder_new(source == .vp8 ? Int32(PARLEY_VIDEO_VP8) : Int32(PARLEY_VIDEO_H264),
                                                  Int32(bitrate), Int32(keyframeInterval), &error, Int32(error.count)) else {
            throw Failure(reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        transcoder = t
    }

    deinit { parley_video_transcoder_free(transcoder) }

    /// Decodes one frame (VP8, or an H.264 access unit in Annex B) and returns the access units it completes.
    /// A frame that cannot be decoded returns nothing: feed the next keyframe.
    public func transcode(_ frame: [UInt8], pts: Int64, forceKeyframe: Bool = false) -> [Output] {
        var sizes = [Int32](repeating: 0, count: Self.maxFrames)
        var keys = [Int32](repeating: 0, count: Self.maxFrames)
        var stamps = [Int64](repeating: 0, count: Self.maxFrames)
        let outSize = out.count
        let count = frame.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                parley_video_transcoder_feed(transcoder, f.baseAddress, Int32(f.count), pts, forceKeyframe ? 1 : 0,
                                             o.baseAddress, Int32(outSize), &sizes, &keys, &stamps, Int32(Self.maxFrames))
            }
        }
        guard count > 0 else { return [] }
        var outputs: [Output] = []
        var offset = 0
        for i in 0..<Int(count) {
            let size = Int(sizes[i])
            outputs.append(Output(nalUnits: AnnexB.split(out[offset..<(offset + size)]), isKeyframe: keys[i] != 0, pts: stamps[i]))
            offset += size
        }
        return outputs
    }
}

/// H.264 byte streams (ITU-T H.264 Annex B): NAL units behind 00 00 01 or 00 00 00 01 start codes.
public enum AnnexB {
    /// The NAL units of `bytes`, without start codes (empty ones dropped).
    public static func split(_ bytes: ArraySlice<UInt8>) -> [ByteBuffer] {
        var units: [ByteBuffer] = []
        var start: Int?
        var i = bytes.startIndex
        func close(at end: Int) {
            guard let s = start else { return }
            var e = end
            while e > s, bytes[e - 1] == 0 { e -= 1 }  // trailing zeros belong to the next start code
            if e > s { units.append(ByteBuffer(bytes: bytes[s..<e])) }
        }
        while i + 2 < bytes.endIndex {
            if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                close(at: i)
                start = i + 3
                i += 3
            } else {
                i += 1
            }
        }
        close(at: bytes.endIndex)
        return units
    }

    /// NAL units behind 4-byte start codes: what the decoder reads.
    public static func join(_ units: [ByteBuffer]) -> [UInt8] {
        var out: [UInt8] = []
        for unit in units {
            out += [0, 0, 0, 1]
            out += unit.readableBytesView
        }
        return out
    }
}

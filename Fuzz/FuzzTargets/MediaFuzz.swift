import NIOCore
import RTP
import SFU
import VideoTranscode

enum MediaFuzz {
    /// Keyframe detection (what a new subscriber starts at) on the input as an RTP payload of each codec, the
    /// demultiplexer's first-byte classification, and the sequence/timestamp unwrappers and frame boundary fed
    /// numbers from the input.
    static func keyframe(_ data: UnsafeRawBufferPointer) {
        let payload = ByteBuffer(bytes: data)
        _ = PacketKind.classify(payload)
        let vp8 = KeyframeDetector.isKeyframe(payload, codec: .vp8)
        _ = KeyframeDetector.isKeyframe(payload, codec: .h264)
        FuzzCheck.expect(!KeyframeDetector.isKeyframe(payload, codec: .other), "a keyframe of an unknown codec")

        // A single-packet VP8 frame: the depacketizer gives it out (a fresh one waits for a keyframe) exactly when
        // the detector calls it a keyframe. (The detector also wants the reserved bit after S clear.)
        if let first = data.first, first & 0x08 == 0 {
            var depacketizer = VP8Depacketizer()
            let frame = depacketizer.push(payload, sequence: 1, timestamp: 1, marker: true)
            FuzzCheck.expect((frame != nil) == vp8, "VP8 keyframe detector says \(vp8), depacketizer \(String(describing: frame))")
        }

        var r = FuzzReader(data)
        var sequences = SequenceUnwrapper(), timestamps = TimestampUnwrapper()
        var boundary = RTPFrameBoundary()
        var highest: Int64?
        while r.remaining >= 6 {
            let sequence = r.uint16(), timestamp = r.uint32()
            let s = sequences.unwrap(sequence), t = timestamps.unwrap(timestamp)
            FuzzCheck.expect(UInt16(truncatingIfNeeded: s) == sequence && UInt32(truncatingIfNeeded: t) == timestamp,
                             "unwrapping changed the low bits")
            if let h = highest { FuzzCheck.expect(abs(s - h) <= 32768, "unwrapped \(sequence) to \(s), \(s - h) from \(h)") }
            highest = max(highest ?? s, s)
            _ = boundary.next(sequence: sequence, timestamp: timestamp)
            FuzzCheck.expect(boundary.timestamp == timestamp, "frame boundary lost the timestamp")
        }
    }

    /// VP8 payloads cut from the input as the H.264 depacketizer target cuts them: frames come out whole or not
    /// at all, each with a frame tag whose key flag matches.
    static func vp8Depacketizer(_ data: UnsafeRawBufferPointer) {
        var r = FuzzReader(data)
        var depacketizer = VP8Depacketizer()
        var sequence = r.uint16()
        var timestamp = r.uint32()
        while !r.isAtEnd {
            let (payload, flags) = r.packet(sequence: &sequence, timestamp: &timestamp)
            if let frame = depacketizer.push(payload, sequence: sequence, timestamp: timestamp, marker: flags & 0x01 != 0) {
                FuzzCheck.expect(!frame.bytes.isEmpty && frame.bytes.count <= VP8Depacketizer.maxFrame, "VP8 frame of \(frame.bytes.count) bytes")
                FuzzCheck.expect(frame.isKeyframe == (frame.bytes[0] & 0x01 == 0), "VP8 frame's key flag misread")
            }
            sequence &+= 1
            _ = depacketizer.needsKeyframe
        }
    }
}

// What publishers send and what subscribers check.
import Foundation
import NIOCore
import RTP

/// The shape of a publisher's media: VP8-like video in 30 frames/s of fixed-size packets with a marker per
/// frame and periodic (and requested) keyframes, and Opus-sized audio at 50 packets/s.
struct TrafficProfile: Sendable {
    var videoKbps: Double = 1200
    var video = true
    var audio = true
    /// Bytes on the wire per video packet (RTP header, extensions, payload and SRTP tag).
    var packetSize = 1200
    var framesPerSecond = 30.0
    var keyframeInterval = 3.0
    /// A keyframe is this many times a delta frame's size.
    var keyframeScale = 4
    var audioPayload = 100
    /// Video leaves the publisher at this multiple of its target rate (WebRTC's pacer: 2.5), not in frame bursts.
    var pacingFactor = 2.5

    // Negotiated per publisher (from the server's answer).
    var videoPT: UInt8 = 96
    var audioPT: UInt8 = 111
    var videoSSRC: UInt32 = .random(in: 1...UInt32.max)
    var audioSSRC: UInt32 = .random(in: 1...UInt32.max)
    var videoMid = "1"
    var audioMid = "0"
    var midExtension: UInt8 = 4
    var transportCCExtension: UInt8 = 3
    var audioLevelExtension: UInt8 = 1
}

/// The publisher's send schedule and counters. On its peer's worker thread.
final class PublisherTraffic {
    var profile: TrafficProfile
    var sending = false
    /// The measurement window open now (1…127), or 0: stamped into every payload.
    private(set) var window: UInt8 = 0
    var keyframeRequested = false
    private var videoSeq = UInt16.random(in: 0...UInt16.max)
    private var audioSeq = UInt16.random(in: 0...UInt16.max)
    private var videoTimestamp = UInt32.random(in: 0...UInt32.max)
    private var audioTimestamp = UInt32.random(in: 0...UInt32.max)
    private var transportSeq: UInt16 = 0
    private(set) var videoCounter: UInt64 = 0
    private(set) var audioCounter: UInt64 = 0
    private var nextFrame: UInt64 = 0
    private var nextAudio: UInt64 = 0
    private var nextPacket: UInt64 = 0
    /// Frames waiting for the pacer: packets in all, packets sent, keyframe, RTP timestamp.
    private var frames: [(count: Int, sent: Int, keyframe: Bool, timestamp: UInt32)] = []
    private var lastKeyframe: UInt64 = 0
    private var budget = 0.0
    var tagLength = 16

    // Counters for the report.
    private(set) var packetsSent = 0
    private(set) var bytesSent = 0
    private(set) var keyframes = 0
    private(set) var videoPacketsSent = 0
    private(set) var audioPacketsSent = 0
    var plis = 0
    var firs = 0
    var nacks = 0
    var transportFeedback = 0
    var lastREMB: UInt64 = 0
    /// The counters of the first and last packets sent with the window open, per track.
    private(set) var videoWindow: (first: UInt64, last: UInt64)?
    private(set) var audioWindow: (first: UInt64, last: UInt64)?

    init(profile: TrafficProfile) {
        self.profile = profile
    }

    /// Opens window `id` (or closes with 0); the per-window counters start afresh.
    func setWindow(_ id: UInt8) {
        if id != 0 {
            videoWindow = nil
            audioWindow = nil
        }
        window = id
    }

    var measuring: Bool { window != 0 }

    func begin(now: UInt64) {
        sending = true
        nextFrame = now
        nextAudio = now + 5_000_000
        nextPacket = now
        lastKeyframe = 0
    }

    var frameInterval: UInt64 { UInt64(1e9 / profile.framesPerSecond) }

    /// Sends whatever is due; returns when the next packet is due.
    @inline(__always) func pump(now: UInt64, buffer: inout ByteBuffer, send: (inout ByteBuffer) -> Void) -> UInt64 {
        if profile.audio {
            if now > nextAudio + 200_000_000 { nextAudio = now }  // a stalled thread does not burst afterwards
            while now >= nextAudio {
                sendAudio(now: now, buffer: &buffer, send: send)
                nextAudio += 20_000_000
            }
        } else {
            nextAudio = .max
        }
        if profile.video {
            if now > nextFrame + 200_000_000 { nextFrame = now }
            while now >= nextFrame {
                queueFrame(now: now)
                nextFrame += frameInterval
            }
            // The pacer: a frame's packets go out spread at pacingFactor × the target rate, as a browser's do.
            if now > nextPacket + 200_000_000 { nextPacket = now }
            while !frames.isEmpty && now >= nextPacket {
                sendNextPacket(now: now, buffer: &buffer, send: send)
                nextPacket += packetInterval
            }
            if frames.isEmpty && nextPacket < now { nextPacket = now }
        } else {
            nextFrame = .max
        }
        return min(nextFrame, nextAudio, frames.isEmpty ? .max : nextPacket)
    }

    /// Nanoseconds between two video packets at the pacing rate.
    private var packetInterval: UInt64 {
        UInt64(Double(profile.packetSize * 8) / (profile.pacingFactor * profile.videoKbps * 1000) * 1e9)
    }

    private func queueFrame(now: UInt64) {
        let keyframe = keyframeRequested || lastKeyframe == 0
            || Double(now &- lastKeyframe) >= profile.keyframeInterval * 1e9
        budget += profile.videoKbps * 1000 / 8 / profile.framesPerSecond
        var count = max(1, Int(budget / Double(profile.packetSize)))
        budget -= Double(count * profile.packetSize)
        if budget < -Double(profile.packetSize) { budget = 0 }
        if keyframe {
            count *= profile.keyframeScale
            lastKeyframe = now
            keyframeRequested = false
            keyframes += 1
        }
        videoTimestamp &+= UInt32(90_000 / profile.framesPerSecond)
        frames.append((count: count, sent: 0, keyframe: keyframe, timestamp: videoTimestamp))
    }

    private func sendNextPacket(now: UInt64, buffer: inout ByteBuffer, send: (inout ByteBuffer) -> Void) {
        let frame = frames[0]
        let i = frame.sent
        let count = frame.count
        let keyframe = frame.keyframe
        if i + 1 == count { frames.removeFirst() } else { frames[0].sent += 1 }
        do {
            buffer.clear()
            let headerStart = buffer.writerIndex
            writeHeader(&buffer, marker: i == count - 1, pt: profile.videoPT, seq: videoSeq, ts: frame.timestamp,
                        ssrc: profile.videoSSRC, audioLevel: nil, mid: profile.videoMid)
            videoSeq &+= 1
            // VP8 payload descriptor (RFC 7741): S=1 on a frame's first packet; then the VP8 frame tag, whose
            // bit 0 is 0 for a keyframe (with the keyframe start code and size), 1 for a delta frame.
            if i == 0 {
                buffer.writeInteger(UInt8(0x10))
                if keyframe {
                    buffer.writeBytes([0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01])  // 640×480
                } else {
                    buffer.writeBytes([0x31, 0x42, 0x00])
                }
            } else {
                buffer.writeInteger(UInt8(0x00))
            }
            let flags = BenchPayload.flags(keyframe: keyframe && i == 0, window: window)
            writeBench(&buffer, kind: 1, flags: flags, counter: videoCounter, now: now)
            if measuring {
                videoWindow = (videoWindow?.first ?? videoCounter, videoCounter)
            }
            videoCounter += 1
            let fill = profile.packetSize - tagLength - (buffer.writerIndex - headerStart)
            if fill > 0 { buffer.writeRepeatingByte(0xA5, count: fill) }
            packetsSent += 1
            videoPacketsSent += 1
            bytesSent += buffer.readableBytes + tagLength
            send(&buffer)
        }
    }

    private func sendAudio(now: UInt64, buffer: inout ByteBuffer, send: (inout ByteBuffer) -> Void) {
        audioTimestamp &+= 960
        buffer.clear()
        writeHeader(&buffer, marker: false, pt: profile.audioPT, seq: audioSeq, ts: audioTimestamp, ssrc: profile.audioSSRC,
                    audioLevel: 0x80 | 30, mid: profile.audioMid)
        audioSeq &+= 1
        writeBench(&buffer, kind: 0, flags: BenchPayload.flags(keyframe: false, window: window), counter: audioCounter, now: now)
        if measuring {
            audioWindow = (audioWindow?.first ?? audioCounter, audioCounter)
        }
        audioCounter += 1
        buffer.writeRepeatingByte(0x5A, count: max(0, profile.audioPayload - BenchPayload.size))
        packetsSent += 1
        audioPacketsSent += 1
        bytesSent += buffer.readableBytes + tagLength
        send(&buffer)
    }

    @inline(__always) private func writeHeader(_ b: inout ByteBuffer, marker: Bool, pt: UInt8, seq: UInt16, ts: UInt32,
                                               ssrc: UInt32, audioLevel: UInt8?, mid: String) {
        // One-byte header extensions (RFC 8285): audio level, mid, transport-wide sequence number.
        var elements = 0
        if let _ = audioLevel, profile.audioLevelExtension != 0 { elements += 2 }
        if profile.midExtension != 0 { elements += 1 + mid.utf8.count }
        if profile.transportCCExtension != 0 { elements += 3 }
        let padded = (elements + 3) & ~3
        b.writeInteger(UInt8(elements > 0 ? 0x90 : 0x80))
        b.writeInteger((marker ? 0x80 : 0) | (pt & 0x7F))
        b.writeInteger(seq)
        b.writeInteger(ts)
        b.writeInteger(ssrc)
        guard elements > 0 else { return }
        b.writeInteger(UInt16(0xBEDE))
        b.writeInteger(UInt16(padded / 4))
        if let level = audioLevel, profile.audioLevelExtension != 0 {
            b.writeInteger(profile.audioLevelExtension << 4)
            b.writeInteger(level)
        }
        if profile.midExtension != 0 {
            b.writeInteger(profile.midExtension << 4 | UInt8(mid.utf8.count - 1))
            b.writeString(mid)
        }
        if profile.transportCCExtension != 0 {
            b.writeInteger(profile.transportCCExtension << 4 | 1)
            b.writeInteger(transportSeq)
            transportSeq &+= 1
        }
        if padded > elements { b.writeRepeatingByte(0, count: padded - elements) }
    }

    @inline(__always) private func writeBench(_ b: inout ByteBuffer, kind: UInt8, flags: UInt8, counter: UInt64, now: UInt64) {
        b.writeInteger(BenchPayload.magic)
        b.writeInteger(kind)
        b.writeInteger(flags)
        b.writeInteger(counter)
        b.writeInteger(clockNanos())  // as late as possible before the send
    }

    /// Sender reports for both tracks, so servers that forward them (and lip sync) see the usual traffic.
    func senderReports(now: UInt64) -> ByteBuffer {
        let wall = Date().timeIntervalSince1970 + 2_208_988_800
        let ntp = UInt64(wall) << 32 | UInt64((wall - wall.rounded(.down)) * 4_294_967_296)
        var compound = RTCPCompound.senderReport(RTCPSenderReport(
            ssrc: profile.videoSSRC, ntpTimestamp: ntp, rtpTimestamp: videoTimestamp,
            packetCount: UInt32(truncatingIfNeeded: videoPacketsSent), octetCount: UInt32(truncatingIfNeeded: videoPacketsSent * 1100), reports: []))
        if profile.audio {
            var audio = RTCPCompound.senderReport(RTCPSenderReport(
                ssrc: profile.audioSSRC, ntpTimestamp: ntp, rtpTimestamp: audioTimestamp,
                packetCount: UInt32(truncatingIfNeeded: audioPacketsSent), octetCount: UInt32(truncatingIfNeeded: audioPacketsSent * 100), reports: []))
            compound.writeBuffer(&audio)
        }
        return compound
    }
}

/// A subscriber's checks on every packet: loss, duplicates, order, latency, first packet and first keyframe.
final class SubscriberReceiver {
    var connectedAt: UInt64 = 0
    /// When the control plane sent the subscribe (play) request.
    var subscribedAt: UInt64 = 0
    var publisherID = -1
    private(set) var audio = TrackReceiveStats()
    private(set) var video = TrackReceiveStats()
    private(set) var firstPacketAt: UInt64?
    private(set) var firstKeyframeAt: UInt64?
    /// The first keyframe was sent before this subscriber connected: it came from the server's cache.
    private(set) var firstKeyframeCached = false
    private(set) var packets = 0
    /// Packets sent with the measurement window open (what egress is counted from), and their wire bytes.
    private(set) var measuredPackets = 0
    private(set) var measuredBytes = 0
    private(set) var catchUpPackets = 0
    private(set) var foreign = 0
    var early = 0
    var undecryptable = 0
    var senderReports = 0
    /// The measurement window this subscriber counts (0: none).
    private(set) var window: UInt8 = 0

    /// Counts only packets sent in window `id` from now on; loss, order and egress counters start afresh.
    func setWindow(_ id: UInt8) {
        window = id
        audio = TrackReceiveStats()
        video = TrackReceiveStats()
        measuredPackets = 0
        measuredBytes = 0
        catchUpPackets = 0
    }

    /// A decrypted RTP packet.
    @inline(__always) func receiveRTP(_ packet: ByteBuffer, wireBytes: Int, now: UInt64, kernelTime: UInt64, worker: Worker) {
        packets += 1
        let parsed: (kind: UInt8, flags: UInt8, counter: UInt64, sent: UInt64)? = packet.withUnsafeReadableBytes { p in
            let n = p.count
            guard n >= 12 else { return nil }
            let b0 = p[0]
            var offset = 12 + 4 * Int(b0 & 0x0F)
            if b0 & 0x10 != 0 {
                guard n >= offset + 4 else { return nil }
                let words = Int(p[offset + 2]) << 8 | Int(p[offset + 3])
                offset += 4 + 4 * words
            }
            guard n >= offset + BenchPayload.size else { return nil }
            if !(p[offset] == 0x50 && p[offset + 1] == 0x42) {
                // Video: the VP8 payload descriptor, then the frame tag on a frame's first packet.
                let descriptor = p[offset]
                offset += 1
                if descriptor & 0x80 != 0 {  // X: I L T K
                    guard n > offset else { return nil }
                    let x = p[offset]
                    offset += 1
                    if x & 0x80 != 0 { offset += (n > offset && p[offset] & 0x80 != 0) ? 2 : 1 }
                    if x & 0x40 != 0 { offset += 1 }
                    if x & 0x30 != 0 { offset += 1 }
                }
                if descriptor & 0x10 != 0 {
                    guard n > offset else { return nil }
                    offset += p[offset] & 0x01 == 0 ? 10 : 3
                }
            }
            guard n >= offset + BenchPayload.size, p[offset] == 0x50, p[offset + 1] == 0x42 else { return nil }
            let kind = p[offset + 2]
            let flags = p[offset + 3]
            var counter: UInt64 = 0
            var sent: UInt64 = 0
            for i in 0..<8 {
                counter = counter << 8 | UInt64(p[offset + 4 + i])
                sent = sent << 8 | UInt64(p[offset + 12 + i])
            }
            return (kind, flags, counter, sent)
        }
        guard let parsed else {
            foreign += 1
            return
        }
        // Arrival as the kernel saw it (not before this side connected: a packet can wait in the socket while the
        // generator finishes the handshake that the server finished first).
        let arrived = max(kernelTime, connectedAt)
        if firstPacketAt == nil { firstPacketAt = arrived }
        if parsed.kind == 1, parsed.flags & BenchPayload.flagKeyframe != 0, firstKeyframeAt == nil {
            firstKeyframeAt = arrived
            firstKeyframeCached = parsed.sent < connectedAt
        }
        guard window != 0, parsed.flags >> 1 == window else { return }
        measuredPackets += 1
        measuredBytes += wireBytes
        // Packets sent before this subscriber connected (a cached keyframe) measure the cache, not forwarding.
        guard parsed.sent >= connectedAt else {
            catchUpPackets += 1
            return
        }
        let fresh = parsed.kind == 1 ? video.record(parsed.counter) : audio.record(parsed.counter)
        if fresh {
            worker.latency.record(kernelTime > parsed.sent ? (kernelTime - parsed.sent) / 1000 : 0)
            worker.latencyEndToEnd.record(now > parsed.sent ? (now - parsed.sent) / 1000 : 0)
        }
    }
}

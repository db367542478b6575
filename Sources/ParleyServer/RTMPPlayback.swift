import AudioTranscode
import FLV
import NIOCore
import RTMP
import RTP
import SFU

/// A packet of a played stream, copied off its media loop for the player's task.
enum PlayItem: Sendable {
    case packet(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer)
    /// The stream's VP8 video, already re-encoded as H.264 (shared by its RTMP players and pushes).
    case transcoded(TranscodedVideo)
    /// A push's own signal, in order with the media (`RTMPPush`).
    case marker(PushMarker)
    case ended

    var isEnd: Bool { if case .ended = self { true } else { false } }
}

/// What a push puts in its own item stream, each for one connection attempt: media from here on is fresh (the
/// publish started), the connection ended, the backoff is over.
enum PushMarker: Sendable, Equatable {
    case fresh(attempt: Int)
    case connectionEnded(attempt: Int)
    case backoffOver(attempt: Int)
}

/// The `MediaSink` of an RTMP player: on the stream's media loop it only copies each packet out (the bytes are
/// reused after the call) into the player's queue; a full queue drops, and the player waits for a keyframe.
final class RTMPPlaySink: MediaSink {
    let continuation: AsyncStream<PlayItem>.Continuation

    init(_ continuation: AsyncStream<PlayItem>.Continuation) { self.continuation = continuation }

    func receive(_ packet: RTPPacket, track: Int) {
        var payload = ByteBuffer()
        payload.writeImmutableBuffer(packet.payload)
        continuation.yield(.packet(track: track, sequence: packet.sequenceNumber, timestamp: packet.timestamp,
                                   marker: packet.marker, payload: payload))
    }

    func receiveSenderReport(_ report: RTCPSenderReport, track: Int) {}

    func streamEnded() {
        continuation.yield(.ended)
        continuation.finish()
    }
}

/// A played stream as RTMP media, made in the task of the connection that carries it (a player of Parley's, or
/// a push to another server) from the sink's packets: onMetaData with the real size, the AVC and AAC sequence
/// headers, then H.264 access units (reassembled from RTP, or transcoded from VP8) and the Opus audio transcoded
/// to AAC, from a keyframe. One per RTMP connection: a push that reconnects starts a new one, with its headers.
struct RTMPRemux {
    /// The sink's track numbers of the stream's H.264 video and Opus audio, if carried.
    let videoTrack: Int?
    let audioTrack: Int?
    /// The video comes transcoded (`PlayItem.transcoded`), not as the sink's packets.
    let transcodedVideo: Bool
    let writer: RTMPMediaWriter
    private var keyframes: KeyframeRequests
    private var video = H264Depacketizer()
    private let aac: OpusToAAC?
    private var clock = PlayClock()
    private var sent: (sps: [UInt8], pps: [UInt8])?
    private var transcodedParameters: (sps: [UInt8], pps: [UInt8])?
    private var audioFrames: UInt64 = 0
    private var audioStartMs: UInt32?

    /// Starts from a keyframe, asked of the publisher now.
    init(_ played: RTMPPlayedStream, writer: RTMPMediaWriter) {
        videoTrack = played.videoTrack
        audioTrack = played.audioTrack
        transcodedVideo = played.transcode != nil
        self.writer = writer
        keyframes = KeyframeRequests(played.requestKeyframe)
        aac = audioTrack == nil ? nil : try? OpusToAAC()
        keyframes.request()
    }

    /// Writes what one item completes to `outbound`; while the video waits for a keyframe (at the start, after
    /// a loss), one is asked for. Throws when the write fails.
    mutating func forward(_ item: PlayItem, to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        var out = ByteBuffer()
        switch item {
        case .packet(let track, let sequence, let timestamp, let marker, let payload):
            convert(track: track, sequence: sequence, timestamp: timestamp, marker: marker, payload: payload, into: &out)
            if videoTrack != nil && video.needsKeyframe { keyframes.request() }
        case .transcoded(let unit):
            if let sps = unit.sps, let pps = unit.pps { transcodedParameters = (sps, pps) }
            let frame = H264Depacketizer.AccessUnit(nalUnits: unit.nalUnits, isKeyframe: unit.isKeyframe, rtpTimestamp: unit.rtpTimestamp)
            write(frame, sps: transcodedParameters?.sps, pps: transcodedParameters?.pps, track: -1, into: &out)
            if sent == nil { keyframes.request() }
        case .marker, .ended:
            break
        }
        if out.readableBytes > 0 { try await outbound.write(out) }
    }

    /// The RTMP messages one packet completes, appended to `out`.
    private mutating func convert(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer, into out: inout ByteBuffer) {
        if track == videoTrack {
            guard let unit = video.push(payload, sequence: sequence, timestamp: timestamp, marker: marker) else { return }
            write(unit, sps: video.sps, pps: video.pps, track: track, into: &out)
        } else if track == audioTrack, let aac {
            let ms = clock.milliseconds(track: track, rtp: timestamp, ticksPerMs: 48)
            guard sent != nil || (videoTrack == nil && !transcodedVideo) else { return }  // audio starts with the picture
            if sent == nil {
                writer.metadata([("audiocodecid", .number(10)), ("audiosamplerate", .number(48000)), ("stereo", .boolean(true))], into: &out)
                writer.audio(timestamp: ms, payload: FLVWriter.aacSequenceHeader(aac.config), into: &out)
                sent = ([], [])
            }
            let frames = (try? aac.transcode(Array(payload.readableBytesView))) ?? []
            let start = audioStartMs ?? ms
            audioStartMs = start
            for frame in frames {
                let at = start &+ UInt32(truncatingIfNeeded: audioFrames * UInt64(OpusToAAC.samplesPerFrame) / 48)
                audioFrames += 1
                writer.audio(timestamp: at, payload: FLVWriter.aacFrame(frame), into: &out)
            }
        }
    }

    /// One H.264 access unit (`track`: the video's clock), with the stream's headers first at the first keyframe
    /// and whenever the parameter sets change.
    private mutating func write(_ unit: H264Depacketizer.AccessUnit, sps: [UInt8]?, pps: [UInt8]?, track: Int, into out: inout ByteBuffer) {
        let ms = clock.milliseconds(track: track, rtp: unit.rtpTimestamp, ticksPerMs: 90)
        if unit.isKeyframe, let sps, let pps, sent.map({ $0.sps != sps || $0.pps != pps }) ?? true {
            if sent == nil {
                // The first picture: what the player needs to start at once.
                var properties: [(String, AMF0Value)] = [("videocodecid", .number(7))]
                if let size = H264SPS(sps) {
                    properties += [("width", .number(Double(size.width))), ("height", .number(Double(size.height)))]
                }
                if aac != nil { properties += [("audiocodecid", .number(10)), ("audiosamplerate", .number(48000)), ("stereo", .boolean(true))] }
                writer.metadata(properties, into: &out)
                if let aac { writer.audio(timestamp: ms, payload: FLVWriter.aacSequenceHeader(aac.config), into: &out) }
            }
            writer.video(timestamp: ms, payload: FLVWriter.avcSequenceHeader(sps: sps, pps: pps), into: &out)
            sent = (sps, pps)
        }
        guard sent != nil else { return }
        writer.video(timestamp: ms, payload: FLVWriter.avcFrame(unit.nalUnits, keyframe: unit.isKeyframe), into: &out)
    }
}

/// Asks for a keyframe (of the publisher, or of the shared transcoder), at most once a second.
struct KeyframeRequests {
    let ask: @Sendable () -> Void
    private var last = ContinuousClock.now - .seconds(10)

    init(_ ask: @escaping @Sendable () -> Void) { self.ask = ask }

    mutating func request() {
        guard ContinuousClock.now - last > .seconds(1) else { return }
        last = .now
        ask()
    }
}

/// What an RTMP player is sent: the remuxed stream from a keyframe, then `Play.Stop` when the stream ends.
struct RTMPPlayPump: Sendable {
    let played: RTMPPlayedStream
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    func run() async {
        let writer = RTMPServerConnection.media
        var remux = RTMPRemux(played, writer: writer)
        for await item in played.items {
            if case .ended = item {
                // The stream ended: the player is told, and its connection ends (its reader sees the close).
                var out = ByteBuffer()
                writer.status("status", "NetStream.Play.UnpublishNotify", "The stream was unpublished", into: &out)
                writer.status("status", "NetStream.Play.Stop", "Stopped playing", into: &out)
                try? await outbound.write(out)
                outbound.finish()
                break
            }
            do {
                try await remux.forward(item, to: outbound)
            } catch {
                break
            }
        }
    }
}

/// Each track's RTP time as milliseconds of one player clock: a track's first packet is placed at its arrival
/// time since the first packet of any track, later ones by their RTP timestamps. A packet that would land more than
/// `maxLead` ahead of its arrival re-anchors its track (the first video frame a player gets is the keyframe cache's,
/// up to a GOP old: anchored on it, the live frames would run ahead of the audio). Never goes backwards per track.
/// Aligning by the publisher's Sender Reports instead is the better clock, left for later.
struct PlayClock {
    static let maxLead: UInt32 = 250
    private let start = ContinuousClock.now
    private var bases: [Int: (rtp: UInt32, ms: UInt32)] = [:]
    private var last: [Int: UInt32] = [:]

    private var elapsed: UInt32 {
        let e = ContinuousClock.now - start
        return UInt32(clamping: e.components.seconds * 1000 + e.components.attoseconds / 1_000_000_000_000_000)
    }

    mutating func milliseconds(track: Int, rtp: UInt32, ticksPerMs: UInt32) -> UInt32 {
        let now = elapsed
        let base = bases[track] ?? (rtp, now)
        let delta = Int64(Int32(bitPattern: rtp &- base.rtp)) / Int64(ticksPerMs)
        var ms = UInt32(clamping: max(0, Int64(base.ms) + delta))
        if ms > now &+ Self.maxLead {
            bases[track] = (rtp, now)
            ms = now
        } else if bases[track] == nil {
            bases[track] = base
        }
        ms = max(ms, last[track] ?? 0)
        last[track] = ms
        return ms
    }
}

import AudioTranscode
import FLV
import NIOCore
import RTMP
import RTP
import SFU

/// A packet of a played stream, copied off its media loop for the player's task.
enum PlayItem: Sendable {
    case packet(track: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: ByteBuffer)
    case ended
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

/// What an RTMP player is sent, made in its connection's task from the sink's packets: onMetaData with the real
/// size, the AVC and AAC sequence headers, then H.264 access units reassembled from RTP and the Opus audio
/// transcoded to AAC, from a keyframe. After a loss it waits for the next keyframe, asking the publisher for one.
struct RTMPPlayPump: Sendable {
    let items: AsyncStream<PlayItem>
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let sink: MediaSinkHandle
    /// The sink's track numbers of the stream's video (H.264) and audio (Opus), if played.
    let videoTrack: Int?
    let audioTrack: Int?

    func run() async {
        var video = H264Depacketizer()
        let aac = audioTrack == nil ? nil : try? OpusToAAC()
        let writer = RTMPServerConnection.mediaWriter
        var clock = PlayClock()
        var sent: (sps: [UInt8], pps: [UInt8])?
        var audioFrames: UInt64 = 0
        var audioStartMs: UInt32?
        var lastKeyframeRequest = ContinuousClock.now - .seconds(10)
        func requestKeyframe() {
            guard let videoTrack, ContinuousClock.now - lastKeyframeRequest > .seconds(1) else { return }
            lastKeyframeRequest = .now
            sink.execute { $0.requestKeyframe(track: videoTrack) }
        }
        requestKeyframe()
        for await item in items {
            guard case .packet(let track, let sequence, let timestamp, let marker, let payload) = item else {
                // The stream ended: the player is told, and its connection ends (its reader sees the close).
                var out = ByteBuffer()
                writer.write(RTMPServerConnection.statusMessage("status", "NetStream.Play.UnpublishNotify", "The stream was unpublished"),
                             chunkStream: RTMPChunkWriter.ChunkStream.data, into: &out)
                writer.write(RTMPServerConnection.statusMessage("status", "NetStream.Play.Stop", "Stopped playing"),
                             chunkStream: RTMPChunkWriter.ChunkStream.data, into: &out)
                try? await outbound.write(out)
                outbound.finish()
                break
            }
            var out = ByteBuffer()
            if track == videoTrack {
                guard let unit = video.push(payload, sequence: sequence, timestamp: timestamp, marker: marker) else {
                    if video.needsKeyframe { requestKeyframe() }
                    continue
                }
                let ms = clock.milliseconds(track: track, rtp: unit.rtpTimestamp, ticksPerMs: 90)
                if unit.isKeyframe, let sps = video.sps, let pps = video.pps, sent.map({ $0.sps != sps || $0.pps != pps }) ?? true {
                    if sent == nil {
                        // The first picture: what the player needs to start at once.
                        var properties: [(String, AMF0Value)] = [("videocodecid", .number(7))]
                        if let size = H264SPS(sps) {
                            properties += [("width", .number(Double(size.width))), ("height", .number(Double(size.height)))]
                        }
                        if aac != nil { properties += [("audiocodecid", .number(10)), ("audiosamplerate", .number(48000)), ("stereo", .boolean(true))] }
                        writer.write(RTMPServerConnection.metadata(properties), chunkStream: RTMPChunkWriter.ChunkStream.data, into: &out)
                        if let aac {
                            writer.write(RTMPServerConnection.media(type: RTMPMessage.Kind.audio, timestamp: ms,
                                                                   payload: FLVWriter.aacSequenceHeader(aac.config)),
                                         chunkStream: RTMPChunkWriter.ChunkStream.audio, into: &out)
                        }
                    }
                    writer.write(RTMPServerConnection.media(type: RTMPMessage.Kind.video, timestamp: ms,
                                                           payload: FLVWriter.avcSequenceHeader(sps: sps, pps: pps)),
                                 chunkStream: RTMPChunkWriter.ChunkStream.video, into: &out)
                    sent = (sps, pps)
                }
                guard sent != nil else { continue }
                writer.write(RTMPServerConnection.media(type: RTMPMessage.Kind.video, timestamp: ms,
                                                       payload: FLVWriter.avcFrame(unit.nalUnits, keyframe: unit.isKeyframe)),
                             chunkStream: RTMPChunkWriter.ChunkStream.video, into: &out)
            } else if track == audioTrack, let aac {
                let ms = clock.milliseconds(track: track, rtp: timestamp, ticksPerMs: 48)
                guard sent != nil || videoTrack == nil else { continue }  // audio starts with the picture
                let frames = (try? aac.transcode(Array(payload.readableBytesView))) ?? []
                let start = audioStartMs ?? ms
                audioStartMs = start
                for frame in frames {
                    let at = start &+ UInt32(truncatingIfNeeded: audioFrames * UInt64(OpusToAAC.samplesPerFrame) / 48)
                    audioFrames += 1
                    writer.write(RTMPServerConnection.media(type: RTMPMessage.Kind.audio, timestamp: at, payload: FLVWriter.aacFrame(frame)),
                                 chunkStream: RTMPChunkWriter.ChunkStream.audio, into: &out)
                }
            }
            guard out.readableBytes > 0 else { continue }
            do {
                try await outbound.write(out)
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

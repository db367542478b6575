import AudioTranscode
import Foundation
import FLV
import MediaNegotiation
import NIOCore
import RTMP
import RTP
import VideoTranscode

/// An RTMP publisher's media as RTP for its stream's tracks: H.264 repackaged (RFC 6184), AAC transcoded to Opus,
/// and Sender Reports for both tracks from the one RTMP clock, so that players keep lip sync. Knows no rooms or
/// sockets; owned by its connection's task (the transcoder is not for a media loop).
final class RTMPIngest {
    enum Output {
        case packet(ByteBuffer, track: Int)
        case senderReport(RTCPSenderReport, track: Int)
    }

    /// Why the publish cannot go on, as the encoder is told.
    struct Refusal: Error {
        let code: String
        let description: String
    }

    static let videoPayloadType: UInt8 = 96
    static let audioPayloadType: UInt8 = 111
    static let opusBitrate = 64000
    /// Held before the stream starts: the latest keyframe and what follows it, at most this many packets.
    static let maxPending = 2000

    private(set) var video: AVCDecoderConfiguration?
    private var audioConfig: [UInt8]?
    private var transcoder: AACToOpus?
    /// What onMetaData announced; nil when it said nothing.
    private var announcesAudio: Bool?
    private var announcesVideo: Bool?
    private var keyframeSeen = false
    private(set) var tracks: [SourceTrack]?
    private var videoTrack: Int?
    private var audioTrack: Int?
    private var pending: [Output] = []
    private var videoClock = RTPClock(payloadType: RTMPIngest.videoPayloadType, rate: 90)
    private var audioClock = RTPClock(payloadType: RTMPIngest.audioPayloadType, rate: 48)
    /// The next Opus packet's RTP time.
    private var nextAudioTime: UInt32?
    /// RTMP time 0 on the wall clock (NTP), set by the first media message.
    private var ntpOrigin: Double?
    /// The first media message's RTMP time and when it came (Unix time): what the Sender Reports are anchored on.
    private(set) var clockAnchor: (milliseconds: UInt32, unixTime: Double)?
    /// Samples (48 kHz) the AAC → Opus transcoder delays the audio by.
    var audioDelay: Int? { transcoder?.delay }
    private var lastReport: [Int: UInt32] = [:]
    /// `--rtmp-transcode`: B-frames are re-encoded away instead of refused.
    let transcodeBFrames: Bool
    /// The re-encoder, from the first B-frame on (it starts at the next keyframe).
    private var reencoder: H264Transcoder?
    private var reencoding = false
    private var videoFrameSeen = false
    /// onMetaData's video bit rate, for the re-encoder.
    private var announcedBitrate: Int?
    static let defaultReencodeBitrate = 2_500_000

    init(transcodeBFrames: Bool = false) { self.transcodeBFrames = transcodeBFrames }

    var isStarted: Bool { tracks != nil }
    /// B-frames were seen and are being re-encoded away.
    var isReencoding: Bool { reencoder != nil }

    func metadata(_ value: AMF0Value) {
        announcesAudio = value["audiocodecid"] != nil
        announcesVideo = value["videocodecid"] != nil
        if let kbps = value["videodatarate"]?.number, kbps >= 100, kbps <= 50_000 { announcedBitrate = Int(kbps * 1000) }
    }

    /// The tracks to publish, once they are known: every kind onMetaData announced has its configuration, or a
    /// video keyframe has come (a stream does not wait for audio that does not come).
    var readyTracks: [SourceTrack]? {
        guard !isStarted else { return nil }
        // With --rtmp-transcode, a stream that may have B-frames (any profile above baseline) waits for its first
        // picture: the track is labelled with what goes out, re-encoded or not.
        if transcodeBFrames, let video, video.sps.first?.dropFirst().first != 66, !videoFrameSeen { return nil }
        let videoReady = video != nil || announcesVideo == false
        let audioReady = transcoder != nil || announcesAudio == false || (keyframeSeen && video != nil)
        guard (videoReady && audioReady) || (keyframeSeen && video != nil), video != nil || transcoder != nil else { return nil }
        var tracks: [SourceTrack] = []
        if let video {
            // Re-encoded: constrained baseline at the encoder's level.
            let profile = reencoder == nil ? video.profileLevelID : "42e0" + (video.profileLevelID?.suffix(2) ?? "1f")
            tracks.append(SourceTrack(kind: .video, codec: .h264(profileLevelID: profile), payloadType: Self.videoPayloadType))
        }
        if transcoder != nil {
            tracks.append(SourceTrack(kind: .audio, codec: .opus, payloadType: Self.audioPayloadType))
        }
        return tracks
    }

    /// The stream is published with `readyTracks`: what was held for it (a keyframe onwards) goes out first.
    func started(_ tracks: [SourceTrack]) -> [Output] {
        self.tracks = tracks
        videoTrack = tracks.firstIndex { $0.kind == .video }
        audioTrack = tracks.firstIndex { $0.kind == .audio }
        defer { pending = [] }
        return pending
    }

    func video(timestamp: UInt32, payload: ByteBuffer) throws(Refusal) -> [Output] {
        let tag: FLVVideoTag
        do {
            tag = try FLVVideoTag(payload)
        } catch {
            throw Refusal(code: "NetStream.Publish.Rejected", description: "Parley takes H.264 video over RTMP, not \(error)")
        }
        switch tag.packetType {
        case .sequenceHeader:
            do {
                video = try AVCDecoderConfiguration(tag.data)
            } catch {
                throw Refusal(code: "NetStream.Publish.Rejected", description: "The AVC sequence header cannot be read")
            }
            return []
        case .endOfSequence:
            return []
        case .nalUnits:
            guard let video, let units = video.nalUnits(tag.data) else { return [] }
            videoFrameSeen = true
            // B-frames arrive out of presentation order; browsers would show them as stutter.
            if tag.compositionTime != 0, reencoder == nil {
                guard transcodeBFrames else { throw Refusal(code: "NetStream.Publish.Rejected", description: RTMPNames.bFramesAdvice) }
                do {
                    reencoder = try H264Transcoder(source: .h264, bitrate: announcedBitrate ?? Self.defaultReencodeBitrate,
                                                   keyframeInterval: 60)
                } catch {
                    throw Refusal(code: "NetStream.Publish.Rejected", description: "\(RTMPNames.bFramesAdvice) (re-encoding is unavailable: \(error.reason))")
                }
            }
            guard let reencoder else {
                return send(units, keyframe: tag.isKeyframe, parameterSets: video.sps + video.pps, milliseconds: timestamp)
            }
            // The decoder starts at a keyframe, with the parameter sets in band; it gives pictures in presentation
            // order, which the encoder makes into a stream without B-frames.
            if !reencoding {
                guard tag.isKeyframe else { return [] }
                reencoding = true
            }
            let parameterSets = tag.isKeyframe ? (video.sps + video.pps).map { ByteBuffer(bytes: $0) } : []
            let pts = Int64(timestamp) + Int64(tag.compositionTime)
            var out: [Output] = []
            for picture in reencoder.transcode(AnnexB.join(parameterSets + units), pts: pts) {
                let nal = picture.nalUnits.filter { $0.getInteger(at: $0.readerIndex, as: UInt8.self).map { $0 & 0x1F != 7 && $0 & 0x1F != 8 } ?? false }
                let sets = [picture.sps, picture.pps].compactMap { $0 }
                out += send(nal, keyframe: picture.isKeyframe, parameterSets: sets, milliseconds: UInt32(truncatingIfNeeded: picture.pts))
            }
            return out
        }
    }

    /// One access unit as RTP (SPS and PPS in a STAP-A before a keyframe), with a Sender Report when one is due.
    private func send(_ units: [ByteBuffer], keyframe: Bool, parameterSets: [[UInt8]], milliseconds: UInt32) -> [Output] {
        if keyframe {
            keyframeSeen = true
            if !isStarted { pending = [] }  // hold only the latest keyframe onwards
        }
        guard keyframeSeen else { return [] }
        let track = videoTrack ?? 0
        var out: [Output] = []
        let time = videoClock.rtpTime(milliseconds: milliseconds)
        H264Packetizer().payloads(units, parameterSets: keyframe ? parameterSets : nil) { body, last in
            out.append(.packet(videoClock.packet(body, timestamp: time, marker: last), track: track))
        }
        if let report = report(track: track, clock: videoClock, milliseconds: milliseconds, rtpTime: time) { out.append(report) }
        return deliver(out)
    }

    func audio(timestamp: UInt32, payload: ByteBuffer) throws(Refusal) -> [Output] {
        let tag: FLVAudioTag
        do {
            tag = try FLVAudioTag(payload)
        } catch {
            throw Refusal(code: "NetStream.Publish.Rejected", description: "Parley takes AAC audio over RTMP, not \(error)")
        }
        switch tag.packetType {
        case .sequenceHeader:
            let config = Array(tag.data.readableBytesView)
            guard config != audioConfig else { return [] }
            do {
                transcoder = try AACToOpus(config: config, bitrate: Self.opusBitrate)
                audioConfig = config
                nextAudioTime = nil
            } catch {
                throw Refusal(code: "NetStream.Publish.Rejected", description: "The AAC configuration cannot be used: \(error)")
            }
            return []
        case .raw:
            guard let transcoder, let track = audioTrack ?? (isStarted ? nil : 1) else { return [] }
            let packets: [[UInt8]]
            do {
                packets = try transcoder.transcode(Array(tag.data.readableBytesView))
            } catch {
                return []  // one bad frame: a 21 ms gap, not the end of the stream
            }
            // Opus time follows the AAC clock; a jump of more than 100 ms (a gap in the encoder) resynchronises it.
            let expected = audioClock.rtpTime(milliseconds: timestamp) &- UInt32(transcoder.delay)
            // (A range check, not abs(): abs(Int32.min) traps, and a publisher chooses the timestamps.)
            if let next = nextAudioTime, (-4800...4800).contains(Int32(bitPattern: expected &- next)) {} else { nextAudioTime = expected }
            var out: [Output] = []
            for packet in packets {
                let time = nextAudioTime ?? expected
                out.append(.packet(audioClock.packet(ByteBuffer(bytes: packet), timestamp: time, marker: false), track: track))
                nextAudioTime = time &+ UInt32(AACToOpus.samplesPerPacket)
            }
            // The report pairs RTMP time `timestamp` with its own RTP time: the packets above are `delay` earlier,
            // as their audio is.
            if let report = report(track: track, clock: audioClock, milliseconds: timestamp,
                                   rtpTime: audioClock.rtpTime(milliseconds: timestamp)) { out.append(report) }
            return deliver(out)
        }
    }

    private func deliver(_ out: [Output]) -> [Output] {
        if isStarted { return out }
        if keyframeSeen, pending.count + out.count <= Self.maxPending { pending += out }
        return []
    }

    /// A Sender Report for `track` at most once a second: RTMP time `milliseconds` on the wall clock, and the
    /// track's RTP time for that instant.
    private func report(track: Int, clock: RTPClock, milliseconds: UInt32, rtpTime: UInt32) -> Output? {
        let origin: Double
        if let ntpOrigin {
            origin = ntpOrigin
        } else {
            let now = Date().timeIntervalSince1970
            origin = now + 2_208_988_800 - Double(milliseconds) / 1000
            ntpOrigin = origin
            clockAnchor = (milliseconds, now)
        }
        if let last = lastReport[track], milliseconds &- last < 1000 { return nil }
        lastReport[track] = milliseconds
        let seconds = origin + Double(milliseconds) / 1000
        let ntp = UInt64(seconds) << 32 | UInt64((seconds - seconds.rounded(.down)) * 4_294_967_296)
        return .senderReport(RTCPSenderReport(ssrc: clock.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtpTime,
                                              packetCount: clock.packets, octetCount: clock.octets), track: track)
    }
}

/// One synthesized RTP track: its SSRC, sequence numbers, a random timestamp origin, and counts for its reports.
struct RTPClock {
    let payloadType: UInt8
    /// RTP ticks per millisecond (90 for video, 48 for Opus).
    let rate: UInt32
    let ssrc = UInt32.random(in: 1...UInt32.max)
    private let origin = UInt32.random(in: 0...UInt32.max)
    private var sequence = UInt16.random(in: 0...UInt16.max)
    private(set) var packets: UInt32 = 0
    private(set) var octets: UInt32 = 0

    init(payloadType: UInt8, rate: UInt32) {
        self.payloadType = payloadType
        self.rate = rate
    }

    func rtpTime(milliseconds: UInt32) -> UInt32 { origin &+ milliseconds &* rate }

    mutating func packet(_ payload: ByteBuffer, timestamp: UInt32, marker: Bool) -> ByteBuffer {
        var packet = ByteBuffer()
        RTPPacketWriter.write(into: &packet, marker: marker, payloadType: payloadType, sequenceNumber: sequence,
                              timestamp: timestamp, ssrc: ssrc, payload: payload)
        sequence &+= 1
        packets &+= 1
        octets &+= UInt32(payload.readableBytes)
        return packet
    }
}

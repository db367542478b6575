import NIOCore
import Rooms
import SFU

/// A published stream attached for RTMP (a player of Parley's, or a push to another server): the items its
/// RTMP remuxer reads. H.264 video and Opus audio come from a sink on the stream, as packets; VP8 video comes
/// re-encoded as H.264 from the stream's shared transcode (`VideoTranscodes`).
struct RTMPPlayedStream: Sendable {
    /// The stream's H.264 video and/or Opus audio; nil when only VP8 video is played (transcoded).
    let sink: MediaSinkHandle?
    /// The VP8 video's transcode, when the stream sends VP8.
    let transcode: TranscodeSubscription?
    let items: AsyncStream<PlayItem>
    /// Where the sink puts the items; a push adds its markers here too.
    let continuation: AsyncStream<PlayItem>.Continuation
    /// The sink's track numbers of the H.264 video and the Opus audio.
    let videoTrack: Int?
    let audioTrack: Int?
    /// Counts this player or push as watching the stream's room (new publishes there prefer H.264).
    let watching: RTMPAudience.Ticket?

    /// Why a stream cannot go out over RTMP, for the RTMP client or the `republish` caller.
    enum Refusal: Error {
        case notFound
        case unplayable(String)
    }

    /// A keyframe for this player: of the transcoder (cheap) for VP8, else of the publisher.
    var requestKeyframe: @Sendable () -> Void {
        if let transcode { return { transcode.requestKeyframe() } }
        guard let sink, let videoTrack else { return {} }
        return { sink.execute { $0.requestKeyframe(track: videoTrack) } }
    }

    /// Stops the packets; the items end.
    func detach() async {
        watching?.release()
        await sink?.detach()
        await transcode?.cancel()
    }

    /// Attaches to live stream `id` (`label` names it in messages). H.264 is repackaged, VP8 transcoded to H.264
    /// (once per stream), Opus transcoded to AAC; other codecs are left out, and a stream with nothing left is
    /// refused.
    static func attach(_ id: String, label: String, server: ParleyServer) async throws(Refusal) -> RTMPPlayedStream {
        guard let record = await server.hub.stream(id), record.state == .live else { throw .notFound }
        let video = record.tracks.firstIndex { $0.kind == .video }
        let codec = video.map { record.tracks[$0].codec.uppercased() }
        let h264 = codec == "H264" ? video : nil, vp8 = codec == "VP8" ? video : nil
        // Opus is transcoded to AAC; G.711 is not (video only then).
        let audio = record.tracks.firstIndex { $0.kind == .audio && $0.codec.lowercased() == "opus" }
        let indices = [h264, audio].compactMap { $0 }
        guard !indices.isEmpty || vp8 != nil else {
            throw .unplayable("'\(label)' sends \(codec.map { "\($0) video" } ?? "audio") that RTMP cannot carry")
        }
        // A player that falls behind loses the oldest packets, not the newest: it resumes live, at a keyframe.
        let (items, continuation) = AsyncStream.makeStream(of: PlayItem.self, bufferingPolicy: .bufferingNewest(4096))
        var sink: MediaSinkHandle?
        if !indices.isEmpty {
            var rng = SystemRandomNumberGenerator()
            let tracks = indices.map { ConsumerParameters(producerIndex: $0, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng),
                                                          payloadType: $0 == h264 ? 96 : 111) }
            do {
                sink = try await server.media.attach(to: id, tracks: tracks) { _ in RTMPPlaySink(continuation) }
            } catch {
                throw .notFound
            }
        }
        var transcode: TranscodeSubscription?
        if let vp8 {
            do {
                transcode = try await server.videoTranscodes.subscribe(id, track: vp8, engine: server.media, into: continuation)
            } catch {
                await sink?.detach()
                throw .notFound
            }
        }
        return RTMPPlayedStream(sink: sink, transcode: transcode, items: items, continuation: continuation,
                                videoTrack: h264 == nil ? nil : 0,
                                audioTrack: audio == nil ? nil : indices.count - 1,
                                watching: record.room.map { server.rtmpAudience.watch($0) })
    }
}

import NIOCore
import Rooms
import SFU

/// A published stream attached for RTMP (a player of Parley's, or a push to another server): its sink, the
/// packets the sink copies out, and which of the sink's tracks carry H.264 video and Opus audio.
struct RTMPPlayedStream: Sendable {
    let sink: MediaSinkHandle
    let items: AsyncStream<PlayItem>
    let videoTrack: Int?
    let audioTrack: Int?

    /// Why a stream cannot go out over RTMP, for the RTMP client or the `republish` caller.
    enum Refusal: Error {
        case notFound
        case unplayable(String)
    }

    /// Attaches to live stream `id` (`label` names it in messages). H.264 is repackaged and Opus transcoded to
    /// AAC; other video is refused, other audio left out.
    static func attach(_ id: String, label: String, server: ParleyServer) async throws(Refusal) -> RTMPPlayedStream {
        guard let record = await server.hub.stream(id), record.state == .live else { throw .notFound }
        let videoIndex = record.tracks.firstIndex { $0.kind == .video }
        if let v = videoIndex, record.tracks[v].codec.uppercased() != "H264" {
            throw .unplayable("'\(label)' sends \(record.tracks[v].codec) video, which RTMP cannot carry: it plays over RTMP "
                              + "when its publisher sends H.264")
        }
        // Opus is transcoded to AAC; G.711 is not (video only then).
        let audioIndex = record.tracks.firstIndex { $0.kind == .audio && $0.codec.lowercased() == "opus" }
        let indices = [videoIndex, audioIndex].compactMap { $0 }
        guard !indices.isEmpty else { throw .unplayable("'\(label)' sends nothing RTMP can carry") }
        var rng = SystemRandomNumberGenerator()
        let tracks = indices.map { ConsumerParameters(producerIndex: $0, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng),
                                                      payloadType: $0 == videoIndex ? 96 : 111) }
        let (items, continuation) = AsyncStream.makeStream(of: PlayItem.self, bufferingPolicy: .bufferingOldest(4096))
        do {
            let sink = try await server.media.attach(to: id, tracks: tracks) { _ in RTMPPlaySink(continuation) }
            return RTMPPlayedStream(sink: sink, items: items, videoTrack: videoIndex == nil ? nil : 0,
                                    audioTrack: audioIndex == nil ? nil : indices.count - 1)
        } catch {
            throw .notFound
        }
    }
}

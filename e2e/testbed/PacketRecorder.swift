import Foundation
import ParleyServer
import RTP
import SFU
import Synchronization

/// What a sink noted of one packet.
struct PacketRecord: Sendable {
    let time: Double  // seconds since the attach
    let track: Int
    let kind: TrackKind
    let sequence: UInt16
    let timestamp: UInt32
    let marker: Bool
    let payloadType: UInt8
    let keyframe: Bool
    let size: Int

    var json: String {
        "{\"t\":\(String(format: "%.4f", time)),\"track\":\(track),\"kind\":\"\(kind.rawValue)\",\"seq\":\(sequence),"
            + "\"ts\":\(timestamp),\"marker\":\(marker),\"pt\":\(payloadType),\"keyframe\":\(keyframe),\"size\":\(size)}"
    }
}

/// Runs on the stream's media loop, so it only notes packets under a lock; the recorder writes them out.
final class RecordingSink: MediaSink, Sendable {
    let kinds: [TrackKind]
    let records = Mutex<[PacketRecord]>([])
    let senderReports = Atomic<Int>(0)
    let ended = Atomic<Bool>(false)
    private let start = ContinuousClock.now

    init(kinds: [TrackKind]) { self.kinds = kinds }

    func receive(_ packet: RTPPacket, track: Int) {
        let kind = kinds.indices.contains(track) ? kinds[track] : .audio
        let payload = packet.payload
        let record = PacketRecord(
            time: (ContinuousClock.now - start) / .seconds(1), track: track, kind: kind,
            sequence: packet.sequenceNumber, timestamp: packet.timestamp, marker: packet.marker,
            payloadType: packet.payloadType,
            keyframe: kind == .video && KeyframeDetector.isKeyframe(payload, codec: .vp8), size: payload.readableBytes)
        records.withLock { $0.append(record) }
    }

    func receiveSenderReport(_ report: RTCPSenderReport, track: Int) { senderReports.add(1, ordering: .relaxed) }

    func streamEnded() { ended.store(true, ordering: .relaxed) }
}

/// `--sink ROOM/NAME=PATH.jsonl`: waits until NAME has a stream in ROOM, attaches a `RecordingSink` to all its
/// tracks (`delay` after the stream appeared) and appends a JSON line per packet to PATH every 200 ms.
final class PacketRecorder: Sendable {
    let spec: Spec
    let server: ParleyServer
    let delay: Duration
    private let sink = Mutex<RecordingSink?>(nil)
    private let output: Mutex<FileHandle?>
    private let written = Atomic<Int>(0)
    private let lastTold = Mutex<String?>(nil)

    init(spec: Spec, server: ParleyServer, delay: Duration = .zero) {
        self.spec = spec
        self.server = server
        self.delay = delay
        _ = FileManager.default.createFile(atPath: spec.path, contents: nil)  // empty until packets come
        output = Mutex(FileHandle(forWritingAtPath: spec.path))
    }

    func run() async throws {
        while true {
            for _ in 0..<2 {
                if sink.withLock({ $0 == nil }) { try await attachIfPublished() }
                try await Task.sleep(for: .milliseconds(100))
            }
            flush(final: false)
        }
    }

    private func attachIfPublished() async throws {
        let participant = await server.hub.participants(in: spec.room).first { $0.name == spec.name }
        guard let stream = participant?.streams.first else { return }
        if delay > .zero {
            say("SINK \(spec.label) sees stream=\(stream.id), attaching in \(delay)")
            try await Task.sleep(for: delay)
        }
        // The engine says each track's kind (they are in the order of the publisher's SDP sections).
        guard let kinds = server.media.tracks(of: stream.id)?.map(\.kind) else { return }
        var rng = SystemRandomNumberGenerator()
        let tracks = kinds.enumerated().map { index, kind in
            ConsumerParameters(producerIndex: index, ssrc: UInt32.random(in: 1...UInt32.max, using: &rng),
                               payloadType: kind == .video ? 96 : 111)
        }
        let recording = RecordingSink(kinds: kinds)
        do {
            _ = try await server.media.attach(to: stream.id, tracks: tracks) { _ in recording }
        } catch MediaEngineError.unknownStream {
            return  // announced but already gone, or not yet on the media plane: try again
        }
        sink.withLock { $0 = recording }
        say("SINK \(spec.label) attached stream=\(stream.id) tracks=\(kinds.map(\.rawValue).joined(separator: ",")) file=\(spec.path)")
    }

    /// Appends what the sink noted since the last call; `final` also prints the totals.
    func flush(final: Bool) {
        guard let recording = sink.withLock({ $0 }) else {
            if final { say("SINK \(spec.label) never attached file=\(spec.path)") }
            return
        }
        // Taken and written under one lock, so a flush on SIGTERM cannot overtake the periodic one.
        let total = output.withLock { file in
            let records = recording.records.withLock { records in
                defer { records.removeAll(keepingCapacity: true) }
                return records
            }
            if !records.isEmpty { file?.write(Data(records.map { $0.json + "\n" }.joined().utf8)) }
            return written.add(records.count, ordering: .relaxed).newValue
        }
        let ended = recording.ended.load(ordering: .relaxed)
        guard final || ended else { return }
        let line = "SINK \(spec.label) packets=\(total) sender-reports=\(recording.senderReports.load(ordering: .relaxed)) "
            + "ended=\(ended) file=\(spec.path)"
        if lastTold.withLock({ told in defer { told = line }; return told != line }) { say(line) }
    }
}

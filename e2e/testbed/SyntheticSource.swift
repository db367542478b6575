import Foundation
import MediaNegotiation
import NIOCore
import ParleyServer
import Rooms
import RTP
import SFU
import Signaling
import Synchronization

/// A VP8 file in IVF: a 32-byte header ("DKIF", size, fourcc, width, height, time base), then per frame a 12-byte
/// header (4-byte little-endian size, 8-byte pts) and the frame.
struct IVFFile: Sendable {
    let width: Int
    let height: Int
    let frames: [[UInt8]]
    let frameDuration: Double  // seconds

    init(path: String) throws {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func le(_ at: Int, _ count: Int) -> UInt64 {
            (0..<count).reduce(0) { $0 | UInt64(data[at + $1]) << (8 * $1) }
        }
        guard data.count >= 32, data[0..<4] == [0x44, 0x4B, 0x49, 0x46], data[8..<12] == [0x56, 0x50, 0x38, 0x30] else {
            throw TestbedError("\(path) is not a VP8 IVF file")
        }
        width = Int(le(12, 2))
        height = Int(le(14, 2))
        let (rate, scale) = (Double(le(16, 4)), Double(le(20, 4)))  // time base = scale / rate
        var frames: [[UInt8]] = []
        var pts: [UInt64] = []
        var offset = Int(le(6, 2))
        while offset + 12 <= data.count {
            let size = Int(le(offset, 4))
            guard offset + 12 + size <= data.count else { break }
            pts.append(le(offset + 4, 8))
            frames.append(Array(data[offset + 12 ..< offset + 12 + size]))
            offset += 12 + size
        }
        guard !frames.isEmpty, rate > 0, scale > 0 else { throw TestbedError("\(path) has no frames") }
        // The mean pts step, so a file written in any time base plays at its own rate.
        let step = frames.count > 1 ? Double(pts[pts.count - 1] - pts[0]) / Double(frames.count - 1) : 1
        self.frames = frames
        frameDuration = step * scale / rate
    }

    var keyframes: Int { frames.filter { ($0.first ?? 1) & 0x01 == 0 }.count }
}

/// RFC 7741 packetization: a 1-byte payload descriptor (S set on the frame's first packet, partition id 0, no
/// extensions), at most `maxPayload` bytes of payload per packet, the marker on the frame's last packet.
enum VP8Packetizer {
    static let maxPayload = 1100
    static let payloadType: UInt8 = 96

    static func packets(_ frame: [UInt8], sequence: inout UInt16, timestamp: UInt32, ssrc: UInt32) -> [ByteBuffer] {
        var packets: [ByteBuffer] = []
        var offset = 0
        repeat {
            let end = min(offset + maxPayload - 1, frame.count)
            var payload = ByteBuffer()
            payload.writeInteger(UInt8(offset == 0 ? 0x10 : 0x00))
            payload.writeBytes(frame[offset..<end])
            var packet = ByteBuffer()
            RTPPacketWriter.write(into: &packet, marker: end == frame.count, payloadType: payloadType,
                                  sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc, payload: payload)
            packets.append(packet)
            sequence &+= 1
            offset = end
        } while offset < frame.count
        return packets
    }
}

/// Like an RTMP encoder, this source cannot make a keyframe on request: viewers start from the server's keyframe
/// cache or at the file's next keyframe. It counts what it is asked.
final class EncoderLikeSource: MediaSource, Sendable {
    let keyframeRequests = Atomic<Int>(0)
    let retransmissionRequests = Atomic<Int>(0)

    func keyframeRequested(track: Int) -> Bool {
        keyframeRequests.add(1, ordering: .relaxed)
        return false
    }

    func retransmissionRequested(track: Int, sequenceNumbers: [UInt16]) {
        retransmissionRequests.add(1, ordering: .relaxed)
    }

    func feedDidEnd(_ feed: MediaFeed) {}
}

/// `--synthetic ROOM/NAME=PATH.ivf`: NAME joins ROOM through the hub, as a socket's session would, and publishes a
/// video-only VP8 stream fed from the file, looped at its frame rate with ever-increasing sequence numbers and
/// timestamps.
final class SyntheticPublisher: Sendable {
    let spec: Spec
    let file: IVFFile
    let server: ParleyServer
    let streamID = StreamID.mint()
    let source = EncoderLikeSource()
    let framesSent = Atomic<Int>(0)

    init(spec: Spec, server: ParleyServer) throws {
        self.spec = spec
        self.server = server
        file = try IVFFile(path: spec.path)
    }

    func run() async throws {
        let hub = server.hub
        let session = await hub.openSession(sink: DroppingSink())
        let joined = Mutex<RoomError?>(nil)
        await hub.join(session, name: spec.name, room: spec.room, maxParticipants: nil) { result in
            if case .failure(let error) = result { joined.withLock { $0 = error } }
        }
        if let error = joined.withLock({ $0 }) { throw TestbedError("\(spec.label) cannot join: \(error)") }

        let source = self.source
        // Through the server, not the engine alone, so that Parley's `play` answers its players like a browser's.
        let record = StreamRecord(id: streamID, owner: session, room: spec.room, origin: .source("synthetic"),
                                  description: StreamDescription(id: streamID, display: "synthetic", audio: false, video: true))
        let feed = try await server.publish(record, tracks: [
            SourceTrack(kind: .video, codec: .vp8, payloadType: VP8Packetizer.payloadType),
        ]) { _ in source }
        say("SYNTHETIC \(spec.label) stream=\(streamID) frames=\(file.frames.count) keyframes=\(file.keyframes) "
            + "size=\(file.width)x\(file.height) fps=\(String(format: "%.2f", 1 / file.frameDuration))")

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.send(feed) }
            // Announced only once someone else is in the room, so that they get `published` (the feed runs from
            // the start, so its keyframe cache is warm by then).
            while await hub.participants(in: spec.room).count < 2 { try await Task.sleep(for: .milliseconds(100)) }
            _ = try await hub.publish(session, stream: streamID)
            say("SYNTHETIC \(spec.label) announced stream=\(streamID)")
            var reported = 0
            while true {
                try await Task.sleep(for: .milliseconds(500))
                let requests = source.keyframeRequests.load(ordering: .relaxed)
                if requests != reported { report() }
                reported = requests
            }
        }
    }

    func report() {
        say("SYNTHETIC \(spec.label) stream=\(streamID) frames-sent=\(framesSent.load(ordering: .relaxed)) "
            + "keyframe-requests=\(source.keyframeRequests.load(ordering: .relaxed)) (refused) "
            + "nacks=\(source.retransmissionRequests.load(ordering: .relaxed))")
    }

    /// One frame per frame duration, from this task: the media loop only gets the finished packets.
    private func send(_ feed: MediaFeedHandle) async throws {
        var rng = SystemRandomNumberGenerator()
        let ssrc = UInt32.random(in: 1...UInt32.max, using: &rng)
        let firstTimestamp = UInt32.random(in: 0...UInt32.max, using: &rng)
        var sequence = UInt16.random(in: 0...UInt16.max, using: &rng)
        let ticksPerFrame = Int((file.frameDuration * 90000).rounded())
        let framesPerSecond = max(1, Int((1 / file.frameDuration).rounded()))
        let clock = ContinuousClock()
        let start = clock.now
        var (packetCount, octetCount): (UInt32, UInt32) = (0, 0)
        for n in 0... {
            // Deadlines from the start, not from the last frame, so the rate does not drift.
            try await clock.sleep(until: start + .seconds(file.frameDuration) * n)
            let frame = file.frames[n % file.frames.count]
            let timestamp = firstTimestamp &+ UInt32(truncatingIfNeeded: n * ticksPerFrame)
            let packets = VP8Packetizer.packets(frame, sequence: &sequence, timestamp: timestamp, ssrc: ssrc)
            packetCount &+= UInt32(packets.count)
            octetCount &+= UInt32(truncatingIfNeeded: packets.reduce(0) { $0 + $1.readableBytes - 12 })
            // A Sender Report every second, so players could align this track with others.
            let report: RTCPSenderReport? = n % framesPerSecond == 0 ? RTCPSenderReport(
                ssrc: ssrc, ntpTimestamp: Self.ntpNow(), rtpTimestamp: timestamp,
                packetCount: packetCount, octetCount: octetCount, reports: []) : nil
            feed.execute { feed in
                for buffer in packets {
                    if let packet = try? RTPPacket(buffer) { feed.receive(packet, track: 0) }
                }
                if let report { feed.receiveSenderReport(report, track: 0) }
            }
            framesSent.store(n + 1, ordering: .relaxed)
        }
    }

    static func ntpNow() -> UInt64 {
        let seconds = Date().timeIntervalSince1970 + 2_208_988_800  // NTP counts from 1900
        let whole = seconds.rounded(.down)
        return UInt64(whole) << 32 | UInt64((seconds - whole) * 4_294_967_296)
    }
}

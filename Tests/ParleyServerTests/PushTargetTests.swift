import Foundation
import Logging
import NIOCore
import RTP
import Signaling
import Testing
@testable import ParleyServer

@Suite struct PushTargetTests {
    @Test func localAddressesAreTold() {
        for local in [[127, 0, 0, 1], [10, 1, 2, 3], [172, 16, 0, 1], [172, 31, 255, 255], [192, 168, 1, 1], [169, 254, 169, 254],
                      [100, 64, 0, 1], [0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255]] as [[UInt8]] {
            #expect(PushTarget.isLocal(v4: local), "\(local)")
        }
        for public_ in [[8, 8, 8, 8], [172, 32, 0, 1], [192, 169, 0, 1], [100, 128, 0, 1], [1, 1, 1, 1]] as [[UInt8]] {
            #expect(!PushTarget.isLocal(v4: public_), "\(public_)")
        }
        let v6 = { (s: String) in (try? SocketAddress(ipAddress: s, port: 1935)).map(PushTarget.isLocal) }
        #expect(v6("::1") == true && v6("::") == true && v6("fd00::1") == true && v6("fe80::1") == true)
        #expect(v6("ff02::1") == true && v6("::ffff:127.0.0.1") == true && v6("::ffff:10.0.0.1") == true)
        #expect(v6("2001:4860:4860::8888") == false && v6("::ffff:8.8.8.8") == false)
    }

    @Test func aPushToTheServersOwnHostIsRefusedUnlessAllowed() async throws {
        await #expect(throws: PushTarget.Refusal.self) { try await PushTarget.resolve(host: "127.0.0.1", port: 1935, allowLocal: false) }
        await #expect(throws: PushTarget.Refusal.self) { try await PushTarget.resolve(host: "localhost", port: 1935, allowLocal: false) }
        await #expect(throws: PushTarget.Refusal.self) { try await PushTarget.resolve(host: "10.0.0.1", port: 1935, allowLocal: false) }
        let allowed = try await PushTarget.resolve(host: "127.0.0.1", port: 1935, allowLocal: true)
        #expect(allowed.port == 1935)

        // Through the republish service, before any stream is looked up: bad_url, saying how to allow it.
        let server = try ParleyServer(configuration: ParleyConfiguration(host: "127.0.0.1", port: 0, mediaPort: 0,
                                                                         announcedIPs: ["127.0.0.1"]))
        let republisher = RTMPRepublisher(server: server, logger: Logger(label: "test"))
        do {
            _ = try await republisher.republish(id: "r", stream: "s", url: "rtmp://127.0.0.1:1935/live/key") { _ in }
            Issue.record("a push to 127.0.0.1 was accepted")
        } catch {
            #expect(error.code == "bad_url" && error.message.contains("--republish-local"))
        }
    }
}

@Suite struct RecordingLimitsTests {
    @Test func noRecordingStartsBelowTheFreeSpaceFloor() async throws {
        var configuration = ParleyConfiguration(host: "127.0.0.1", port: 0, mediaPort: 0, announcedIPs: ["127.0.0.1"])
        configuration.recordDir = FileManager.default.temporaryDirectory.path
        configuration.recordMinFreeMB = Int(Int32.max)  // more than any disk here has
        let server = try ParleyServer(configuration: configuration)
        do {
            _ = try await StreamRecordings(server: server, logger: Logger(label: "test")).record(stream: "s", name: "stream-s.webm")
            Issue.record("a recording started below the floor")
        } catch {
            #expect(error.code == "record_unavailable" && error.message.contains("MB free"))
        }
        #expect(server.recordingStats.snapshot == .init(active: 0, finished: 0, stopped: 0, refused: 1))
    }

    /// A disk slower than the stream: once the recording's buffer is full, the sink says so and stops, rather than
    /// let the buffer drop packets from the middle of the file.
    @Test func aRecordingThatFallsBehindEndsRatherThanGaps() async throws {
        let (items, continuation) = AsyncStream.makeStream(of: RecordingItem.self, bufferingPolicy: .bufferingNewest(4))
        let sink = RecordingSink(continuation)
        for sequence in 0..<10 {
            let bytes = ByteBuffer(bytes: [0x80, 96, 0, UInt8(sequence), 0, 0, 0, 0, 0, 0, 0, 1, 0xAB])
            sink.receive(try RTPPacket(bytes), track: 0)
        }
        var received: [String] = []
        for await item in items {
            switch item {
            case .packet(_, let sequence, _, _, _, _): received.append("\(sequence)")
            case .overflowed: received.append("overflowed")
            case .report, .ended: received.append("other")
            }
        }
        // The first four filled the buffer; the fifth pushed one out: the sink stopped there.
        #expect(received.last == "overflowed" && received.count == 4, "\(received)")
    }
}

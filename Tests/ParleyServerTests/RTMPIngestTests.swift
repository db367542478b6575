import Foundation
import NIOCore
import RTMP
import RTP
import Testing
import TestSupport
@testable import ParleyServer

@Suite struct RTMPIngestTests {
    static func aacTag(_ type: UInt8, _ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: [0xAF, type] + bytes) }

    /// The audio's Sender Reports pair an RTMP time with that time's RTP time, so a browser places the Opus packets
    /// (which the transcoder delays) where their audio belongs, beside the video: lip sync.
    @Test func audioSenderReportsMapRTMPTimeToItsOwnRTPTime() throws {
        let (config, frames) = AACFixture.frames(try AACFixture.adts(rate: 48000, channels: 2))
        let ingest = RTMPIngest()
        ingest.metadata(.ecmaArray([("audiocodecid", .number(10))]))
        _ = try ingest.audio(timestamp: 0, payload: Self.aacTag(0, config))
        let tracks = try #require(ingest.readyTracks)
        _ = ingest.started(tracks)
        var packets: [UInt32] = [], reports: [(ms: UInt32, report: RTCPSenderReport)] = []
        // The frame whose decoding gave the first Opus packet, and the transcoder's delay then.
        var firstOut: (ms: UInt32, delay: Int)?
        for (i, frame) in frames.enumerated() {
            let ms = UInt32(i * 1024 * 1000 / 48000) + 5000
            for output in try ingest.audio(timestamp: ms, payload: Self.aacTag(1, frame)) {
                switch output {
                case .packet(let packet, _): packets.append(packet.getInteger(at: packet.readerIndex + 4, as: UInt32.self) ?? 0)
                case .senderReport(let report, _): reports.append((ms, report))
                }
            }
            if firstOut == nil, !packets.isEmpty { firstOut = (ms, try #require(ingest.audioDelay)) }
        }
        #expect(packets.count > 80 && reports.count >= 2)
        // The first frame (RTMP 5000 ms) has the first report; the first Opus packet carries audio from `delay`
        // samples before the frame that gave it, and is stamped so on the report's clock.
        let first = try #require(reports.first), out = try #require(firstOut)
        #expect(first.ms == 5000 && out.delay > 0)
        let expected = Int32((out.ms - first.ms) * 48) - Int32(out.delay)
        #expect(Int32(bitPattern: packets[0] &- first.report.rtpTimestamp) == expected)
        // Later reports keep to the one clock: RTP and NTP advance as the RTMP time does.
        let last = try #require(reports.last)
        let elapsed = Double(last.ms - first.ms) / 1000
        #expect(last.report.rtpTimestamp &- first.report.rtpTimestamp == (last.ms - first.ms) * 48)
        let ntp = Double(last.report.ntpTimestamp - first.report.ntpTimestamp) / 4_294_967_296
        #expect(abs(ntp - elapsed) < 0.001)
        #expect(ingest.clockAnchor?.milliseconds == 5000)
    }
}

@Suite struct RTMPNamesTests {
    @Test func recordIsAskedInEitherPartsQuery() {
        #expect(RTMPNames.asksToRecord("encoder?record=true") && RTMPNames.asksToRecord("room?token=x&record=1"))
        #expect(RTMPNames.asksToRecord("encoder?record"))
        #expect(!RTMPNames.asksToRecord("encoder") && !RTMPNames.asksToRecord("encoder?record=false")
                && !RTMPNames.asksToRecord("encoder?recordx=true"))
    }

    @Test func anEncodersRecordingIsNamedByRoomNameAndStartTime() {
        let date = Date(timeIntervalSince1970: 1_796_544_943)  // 2026-12-06 08:15:43 UTC
        #expect(RTMPNames.recordName(room: "my.room", name: "cam 1", extension: "stream-x.mkv", at: date)
                == "my_room-cam_1-20261206-081543.mkv")
        #expect(RecordNames.isServable(RTMPNames.recordName(room: "r", name: "n", extension: "s.webm", at: date)))
    }
}

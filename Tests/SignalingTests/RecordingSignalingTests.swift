import Foundation
import Testing
import Rooms
@testable import Signaling

/// Recordings without files: each job ends as it is told, or is refused at start.
final class FakeRecorder: RecordingService {
    final class Job: RecordingJob {
        let end: RecordingEnd
        init(_ end: RecordingEnd) { self.end = end }
        func record() async -> RecordingEnd { end }
        func stop() async {}
    }

    /// nil: refused with `record_unavailable`.
    let outcome: RecordingEnd?
    init(_ outcome: RecordingEnd?) { self.outcome = outcome }
    var recordsEverything: Bool { false }
    func recordName(stream: String, tracks: [StreamRecord.Track]) -> String { "stream-\(stream).webm" }
    func record(stream: String, name: String) async throws(MediaServiceError) -> any RecordingJob {
        guard let outcome else { throw MediaServiceError(code: "record_unavailable", message: "Less than 500 MB free") }
        return Job(outcome)
    }
}

@Suite struct RecordingSignalingTests {
    /// alice publishes with `record: true`; the recording's events once the stream is live.
    func recordingEvents(_ outcome: RecordingEnd?) async throws -> [[String: Any]] {
        let hub = SignalingHub(), media = FakeMedia()
        let alice = FakeSocket(hub: hub, media: media, recorder: FakeRecorder(outcome))
        _ = try await alice.request("connect", ["username": "alice"])
        _ = try await alice.request("join", ["room": "r"])
        let reply = try await alice.request("publish", ["room": "r", "sdp": "offer", "record": true])
        let result = reply["result"] as? [String: Any] ?? [:]
        let stream = try #require(result["stream"] as? String)
        #expect(result["recordName"] as? String == "stream-\(stream).webm")
        media.fire(stream, .connected)
        var events: [[String: Any]] = []
        while events.count < (outcome == nil ? 1 : 2) {
            let event = try await alice.next()
            if event["event"] as? String == "recording" {
                #expect(event["stream"] as? String == stream && event["recordName"] as? String == "stream-\(stream).webm")
                events.append(event)
            }
        }
        return events
    }

    @Test func aRecordingSaysItStartedAndFinished() async throws {
        let events = try await recordingEvents(.finished)
        #expect(events.map { $0["status"] as? String } == ["started", "finished"])
        #expect(events[1]["reason"] == nil)
    }

    @Test func aRecordingEndedEarlyTellsThePublisherWhy() async throws {
        for stop in [RecordingStop.diskFull, .maxLength, .tooSlow, .writeFailed] {
            let events = try await recordingEvents(.stopped(stop))
            #expect(events.map { $0["status"] as? String } == ["started", "stopped"])
            #expect(events[1]["reason"] as? String == stop.rawValue && (events[1]["message"] as? String ?? "").count > 10)
        }
    }

    @Test func aRefusedRecordingTellsThePublisherWhy() async throws {
        let events = try await recordingEvents(nil)
        #expect(events[0]["status"] as? String == "failed" && events[0]["reason"] as? String == "record_unavailable")
        #expect(events[0]["message"] as? String == "Less than 500 MB free")
    }
}

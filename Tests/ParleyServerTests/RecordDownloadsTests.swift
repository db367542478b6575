import Foundation
import Logging
@testable import ParleyServer
import Testing

@Suite struct RecordDownloadsTests {
    @Test func aRecordingDownloadsWithRangesAndNothingElseIsReachable() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-records-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let body = String(repeating: "0123456789", count: 100)
        try body.write(toFile: dir + "/stream-abc-alice.webm", atomically: true, encoding: .utf8)
        try "half".write(toFile: dir + "/stream-def-bob.webm.part", atomically: true, encoding: .utf8)
        try "secret".write(toFile: dir + "/.hidden", atomically: true, encoding: .utf8)
        let server = try await RunningServer.start { $0.recordDir = dir }
        defer { Task { try? await server.stop() } }

        let whole = try await RawSocket.get(port: server.port, path: "/client/records/stream-abc-alice.webm")
        #expect(whole.status == 200 && whole.body == body)
        #expect(whole.head.lowercased().contains("content-type: video/webm") && whole.head.lowercased().contains("accept-ranges: bytes"))
        // A <video> seeks with ranges.
        let part = try await RawSocket.get(port: server.port, path: "/client/records/stream-abc-alice.webm", headers: ["Range: bytes=10-19"])
        #expect(part.status == 206 && part.body == "0123456789")
        #expect(part.head.lowercased().contains("content-range: bytes 10-19/1000"))
        // Unknown names, a recording still being written, hidden files, escapes: 404, never the file.
        for path in ["/client/records/nope.webm", "/client/records/stream-def-bob.webm.part", "/client/records/.hidden",
                     "/client/records/../Package.swift", "/client/records/%2e%2e%2fPackage.swift", "/client/records/a/b.webm",
                     "/client/records/"] {
            let r = try await RawSocket.get(port: server.port, path: path)
            #expect(r.status == 404, "\(path): \(r.status)")
            #expect(!r.body.contains("secret") && !r.body.contains("half"))
        }
    }
}

@Suite struct RecordingRecoveryTests {
    @Test func partFilesLeftByACrashBecomeDownloadableAndNothingElseIsTouched() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-recover-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["stream-a.webm.part", "stream-b.mkv", "stream-c.mkv.part", "stream-c.mkv", "..part", "notes.txt"] {
            try file.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        }
        let recovered = RecordingRecovery.recover(dir, logger: Logger(label: "test"))
        #expect(recovered == ["stream-a.webm"])
        let now = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        #expect(now == ["stream-a.webm", "stream-b.mkv", "stream-c.mkv.part", "stream-c.mkv", "..part", "notes.txt"])
        #expect(RecordingRecovery.recover(dir + "/missing", logger: Logger(label: "test")).isEmpty)
    }
}

@Suite struct RecordingRetentionTests {
    @Test func onlyRecordingsOlderThanTheRetentionAreDeleted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-retention-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = Date().addingTimeInterval(-3 * 3600)
        for file in ["stream-old.webm", "stream-old.mkv", "stream-new.webm", "stream-writing.webm.part", "notes.txt", ".hidden.webm"] {
            try file.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
            if file != "stream-new.webm" {
                try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir + "/" + file)
            }
        }
        try FileManager.default.createDirectory(atPath: dir + "/old.webm", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir + "/old.webm")

        let deleted = RecordingRetention.sweep(dir, olderThan: .seconds(2 * 3600), logger: Logger(label: "test"))
        #expect(Set(deleted) == ["stream-old.webm", "stream-old.mkv"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        #expect(left == ["stream-new.webm", "stream-writing.webm.part", "notes.txt", ".hidden.webm", "old.webm"])
        #expect(RecordingRetention.sweep(dir, olderThan: .seconds(4 * 3600), logger: Logger(label: "test")).isEmpty)
    }
}

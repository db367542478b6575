import Foundation
import Logging
import ServiceLifecycle

/// `--record-retention-hours`: finished recordings older than the retention (by their last write, the end of the
/// recording) are deleted, at start and every few minutes. Files being written (`.part`) and anything that is not a
/// recording (a `.webm` or `.mkv` of a servable name) are left alone.
struct RecordingRetention: Service {
    let directory: String
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                Self.sweep(directory, olderThan: retention, logger: logger)
                try await Task.sleep(for: interval)
            }
        }
    }

    /// Deletes the recordings of `directory` last written more than `age` before `now`; returns their names.
    @discardableResult
    static func sweep(_ directory: String, olderThan age: Duration, now: Date = Date(), logger: Logger) -> [String] {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = now.addingTimeInterval(-seconds)
        var deleted: [String] = []
        for file in RecordNames.finished(in: directory) where file.modified < cutoff {
            do {
                try FileManager.default.removeItem(atPath: file.path)
                deleted.append(file.name)
            } catch {
                logger.warning("an expired recording cannot be deleted", metadata: ["recording": "\(file.name)", "error": "\(error)"])
            }
        }
        if !deleted.isEmpty { logger.info("expired recordings deleted", metadata: ["count": "\(deleted.count)"]) }
        return deleted
    }
}

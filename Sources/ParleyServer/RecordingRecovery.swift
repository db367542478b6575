import Foundation
import Logging

/// Recordings a crash left as `NAME.part`: the header and every closed Cluster are on disk, so the file plays up
/// to its last second; at start it is renamed to NAME, so it downloads like a finished one (without Cues, it
/// cannot be seeked: `ffmpeg -i NAME -c copy` makes it seekable).
enum RecordingRecovery {
    /// Renames the `.part` files of `directory`; returns the names recovered.
    @discardableResult
    static func recover(_ directory: String, logger: Logger) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var recovered: [String] = []
        for part in files where part.hasSuffix(".part") {
            let name = String(part.dropLast(".part".count))
            guard RecordNames.isServable(name) else { continue }
            let target = directory + "/" + name
            guard !FileManager.default.fileExists(atPath: target) else { continue }
            do {
                try FileManager.default.moveItem(atPath: directory + "/" + part, toPath: target)
                recovered.append(name)
                logger.notice("recording left by a crash kept", metadata: ["recording": "\(name)"])
            } catch {
                logger.warning("recording left by a crash cannot be renamed", metadata: ["recording": "\(part)", "error": "\(error)"])
            }
        }
        return recovered
    }
}

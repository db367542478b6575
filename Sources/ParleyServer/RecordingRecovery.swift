import Foundation
import Logging
import Matroska

/// Recordings a crash left as `NAME.part`: the header and every closed Cluster are on disk, so the file plays up
/// to its last second. At start each is completed (Cues and Duration from its Clusters, so it can be seeked) and
/// renamed to NAME, so it downloads like a finished one. One that cannot be completed is still renamed: it plays.
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
            switch Result(catching: { () throws(MatroskaRecovery.Failure) in try MatroskaRecovery.complete(path: directory + "/" + part) }) {
            case .success(.completed(let ms, let clusters, let dropped)):
                logger.notice("recording left by a crash completed", metadata: [
                    "recording": "\(name)", "ms": "\(ms)", "clusters": "\(clusters)", "droppedBytes": "\(dropped)"])
            case .success(.alreadyComplete):
                break
            case .failure(let error):
                logger.warning("recording left by a crash cannot be completed (kept as it is)",
                               metadata: ["recording": "\(name)", "error": "\(error)"])
            }
            do {
                try FileManager.default.moveItem(atPath: directory + "/" + part, toPath: target)
                recovered.append(name)
                logger.info("recording left by a crash kept", metadata: ["recording": "\(name)"])
            } catch {
                logger.warning("recording left by a crash cannot be renamed", metadata: ["recording": "\(part)", "error": "\(error)"])
            }
        }
        return recovered
    }
}

import Foundation
import Matroska

enum MatroskaFuzz {
    /// One file per process (libFuzzer's -jobs/-fork workers are processes): in /dev/shm where there is one, since
    /// recovery fsyncs what it completes and a disk makes that most of the time spent; else in the temporary directory.
    static let path: String = {
        var isDirectory: ObjCBool = false
        let directory = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
            ? "/dev/shm" : ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return "\(directory)/parley-fuzz-\(getpid()).webm.part"
    }()

    /// The input as a recording the server was killed while writing (`<name>.webm.part`), completed as the
    /// server does at start-up: refused, or completed into a file that a second pass finds complete.
    static func run(_ data: UnsafeRawBufferPointer) {
        guard FileManager.default.createFile(atPath: path, contents: Data(data)) else {
            FuzzCheck.fail("cannot write \(path)")
        }
        defer { unlink(path) }
        guard let outcome = try? MatroskaRecovery.complete(path: path) else { return }
        guard case .completed(let milliseconds, let clusters, let dropped) = outcome else { return }
        FuzzCheck.expect(clusters >= 0 && dropped >= 0 && dropped <= Int64(data.count), "recovery outcome \(outcome)")
        _ = milliseconds
        do {
            let second = try MatroskaRecovery.complete(path: path)
            FuzzCheck.expect(second == .alreadyComplete, "a completed recording completed again: \(second)")
        } catch {
            FuzzCheck.fail("a completed recording is refused on a second pass: \(error)")
        }
    }
}

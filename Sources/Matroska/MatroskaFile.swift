#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Matroska file on disk, written with plain POSIX calls: each `append` is one `write` (a whole Cluster), so
/// what a crash leaves is whole Clusters.
public final class MatroskaFile: MatroskaOutput {
    public struct Failure: Error, Sendable, Equatable {
        public let operation: String
        public let errno: Int32
    }

    private let fd: Int32
    public private(set) var position: Int64 = 0

    /// Creates (or truncates) `path`, readable by its owner and group.
    public init(path: String) throws(Failure) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure(operation: "open", errno: errno) }
    }

    deinit { close(fd) }

    public func append(_ bytes: [UInt8]) throws {
        try write(bytes, at: position)
        position += Int64(bytes.count)
    }

    public func overwrite(at offset: Int64, _ bytes: [UInt8]) throws {
        try write(bytes, at: offset)
    }

    private func write(_ bytes: [UInt8], at offset: Int64) throws(Failure) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", errno: errno)
            }
            done += n
        }
    }

    /// Flushes to the disk (at the end of a recording).
    public func sync() { _ = fsync(fd) }
}

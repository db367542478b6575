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

    /// Opens `path` to be completed (a recovery): read and written, its bytes kept, appended to at its end.
    public init(resuming path: String) throws(Failure) {
        fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", errno: errno) }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            close(fd)
            throw Failure(operation: "seek", errno: errno)
        }
        position = Int64(end)
    }

    deinit { close(fd) }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    public func read(at offset: Int64, count: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        let done = try Self.transfer(bytes.count, at: offset, "read") { done, at in
            bytes.withUnsafeMutableBytes { raw in raw.baseAddress.map { pread(fd, $0 + done, raw.count - done, at) } ?? 0 }
        }
        return Array(bytes.prefix(done))
    }

    /// Cuts the file at `length`: what follows (a Cluster a crash left half-written) is gone.
    public func truncate(to length: Int64) throws(Failure) {
        guard ftruncate(fd, off_t(length)) == 0 else { throw Failure(operation: "truncate", errno: errno) }
        position = min(position, length)
    }

    public func append(_ bytes: [UInt8]) throws {
        try write(bytes, at: position)
        position += Int64(bytes.count)
    }

    public func overwrite(at offset: Int64, _ bytes: [UInt8]) throws {
        try write(bytes, at: offset)
    }

    private func write(_ bytes: [UInt8], at offset: Int64) throws(Failure) {
        let written = try Self.transfer(bytes.count, at: offset, "write") { done, at in
            bytes.withUnsafeBytes { raw in raw.baseAddress.map { pwrite(fd, $0 + done, raw.count - done, at) } ?? 0 }
        }
        guard written == bytes.count else { throw Failure(operation: "write", errno: EIO) }
    }

    /// Repeats `call(done, offset + done)` (a pread or pwrite) until `count` bytes are moved or it returns 0 (the
    /// end of the file), through EINTR; returns the bytes moved.
    private static func transfer(_ count: Int, at offset: Int64, _ operation: String,
                                 _ call: (_ done: Int, _ at: off_t) -> Int) throws(Failure) -> Int {
        var done = 0
        while done < count {
            let n = call(done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: operation, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Flushes to the disk (at the end of a recording).
    public func sync() { _ = fsync(fd) }
}

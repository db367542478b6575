// Low-level pieces of the load generator: a monotonic clock, epoll and recvmmsg (looked up at run time, since
// Swift's Glibc module does not export them), non-blocking UDP sockets on 127.0.0.1, /proc readings.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on CLOCK_REALTIME: the clock of the kernel's receive timestamps (SO_TIMESTAMPNS), shared by every
/// process on the machine, so a payload's send time compares with the time the server's datagram reached the
/// subscriber's socket, whichever server forwarded it. (Runs are minutes long; a clock step during one would show.)
@inline(__always) func clockNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// epoll and recvmmsg through dlsym. `struct epoll_event` is packed on x86_64 (12 bytes: events, then data),
/// so events are read from raw memory.
enum Sys {
    nonisolated(unsafe) private static let handle = dlopen(nil, RTLD_NOW)
    private static func symbol<T>(_ name: String, as: T.Type) -> T {
        guard let p = dlsym(handle, name) else { fatalError("\(name) not found") }
        return unsafeBitCast(p, to: T.self)
    }

    typealias EpollCreate = @convention(c) (Int32) -> Int32
    typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias RecvMMsg = @convention(c) (Int32, UnsafeMutableRawPointer?, UInt32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias SendMMsg = @convention(c) (Int32, UnsafeMutableRawPointer?, UInt32, Int32) -> Int32

    nonisolated(unsafe) static let epollCreate1 = symbol("epoll_create1", as: EpollCreate.self)
    nonisolated(unsafe) static let epollCtl = symbol("epoll_ctl", as: EpollCtl.self)
    nonisolated(unsafe) static let epollWait = symbol("epoll_wait", as: EpollWait.self)
    nonisolated(unsafe) static let recvmmsg = symbol("recvmmsg", as: RecvMMsg.self)
    nonisolated(unsafe) static let sendmmsg = symbol("sendmmsg", as: SendMMsg.self)

    static let epollIn: UInt32 = 0x001
    static let epollCtlAdd: Int32 = 1
    static let epollCtlDel: Int32 = 2
    static let epollEventSize = 12
    /// SO_TIMESTAMPNS and its control message type on Linux.
    static let soTimestampNS: Int32 = 35
    static let scmTimestampNS: Int32 = 35

    static func epollAdd(_ epfd: Int32, fd: Int32, token: UInt64) {
        var raw = [UInt8](repeating: 0, count: epollEventSize)
        raw.withUnsafeMutableBytes { p in
            p.storeBytes(of: epollIn, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: token, toByteOffset: 4, as: UInt64.self)
            _ = epollCtl(epfd, epollCtlAdd, fd, p.baseAddress)
        }
    }

    static func epollDelete(_ epfd: Int32, fd: Int32) {
        var raw = [UInt8](repeating: 0, count: epollEventSize)
        raw.withUnsafeMutableBytes { p in _ = epollCtl(epfd, epollCtlDel, fd, p.baseAddress) }
    }
}

/// `struct mmsghdr`: a msghdr and the received length (64 bytes on x86_64, as in C).
struct MMsgHdr {
    var hdr = msghdr()
    var len: UInt32 = 0
}

/// A batch of receive slots for recvmmsg, reused for every read of a worker, with each datagram's kernel
/// receive timestamp (SCM_TIMESTAMPNS).
final class ReceiveBatch {
    static let slots = 32
    static let slotSize = 2048
    static let controlSize = 64
    let storage: UnsafeMutableRawPointer
    let control: UnsafeMutableRawPointer
    let iovecs: UnsafeMutablePointer<iovec>
    let headers: UnsafeMutablePointer<MMsgHdr>

    init() {
        storage = UnsafeMutableRawPointer.allocate(byteCount: Self.slots * Self.slotSize, alignment: 16)
        control = UnsafeMutableRawPointer.allocate(byteCount: Self.slots * Self.controlSize, alignment: 16)
        iovecs = .allocate(capacity: Self.slots)
        headers = .allocate(capacity: Self.slots)
        for i in 0..<Self.slots {
            iovecs[i] = iovec(iov_base: storage + i * Self.slotSize, iov_len: Self.slotSize)
            headers[i] = MMsgHdr()
            headers[i].hdr.msg_iov = iovecs + i
            headers[i].hdr.msg_iovlen = 1
        }
    }

    /// Reads up to `slots` datagrams; returns how many (0 when none is waiting).
    func receive(fd: Int32) -> Int {
        for i in 0..<Self.slots {
            headers[i].len = 0
            headers[i].hdr.msg_control = control + i * Self.controlSize
            headers[i].hdr.msg_controllen = Self.controlSize
        }
        let n = Sys.recvmmsg(fd, UnsafeMutableRawPointer(headers), UInt32(Self.slots), Int32(MSG_DONTWAIT), nil)
        return n > 0 ? Int(n) : 0
    }

    func datagram(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + i * Self.slotSize, count: Int(headers[i].len))
    }

    /// When the kernel queued datagram `i` on the socket (CLOCK_REALTIME ns), or nil without a timestamp.
    func kernelTime(_ i: Int) -> UInt64? {
        let length = Int(headers[i].hdr.msg_controllen)
        let base = control + i * Self.controlSize
        var offset = 0
        // struct cmsghdr { size_t len; int level; int type; } then the data, 8-byte aligned.
        while offset + 16 <= length {
            let cmsgLength = base.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = base.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = base.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard cmsgLength >= 16 else { return nil }
            if level == SOL_SOCKET && type == Sys.scmTimestampNS && cmsgLength >= 32 {
                let seconds = base.loadUnaligned(fromByteOffset: offset + 16, as: Int.self)
                let nanos = base.loadUnaligned(fromByteOffset: offset + 24, as: Int.self)
                return UInt64(seconds) &* 1_000_000_000 &+ UInt64(nanos)
            }
            offset += (cmsgLength + 7) & ~7
        }
        return nil
    }
}

/// A non-blocking UDP socket bound to 127.0.0.1 on a free port, connected to the server once its candidate is known.
final class UDPPort {
    let fd: Int32
    let port: UInt16
    let address: String
    private(set) var remotePort: UInt16 = 0
    private(set) var sendErrors = 0

    init(address: String = "127.0.0.1", receiveBuffer: Int = 4 << 20) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var addr = loopback(port: 0)
        addr.sin_addr.s_addr = inet_addr(address)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            throw BenchError("bind \(address): \(String(cString: strerror(errno)))")
        }
        var size = Int32(receiveBuffer)
        // As root the buffer may exceed net.core.rmem_max (SO_RCVBUFFORCE = 33); otherwise the capped size.
        if setsockopt(fd, SOL_SOCKET, 33, &size, 4) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4)
        }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, Sys.soTimestampNS, &on, 4)  // receive timestamps: the server's latency alone
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: bound.sin_port)
        self.address = address
    }

    deinit { close(fd) }

    func connect(to ip: String, port: UInt16) {
        remotePort = port
        var addr = loopback(port: port)
        addr.sin_addr.s_addr = inet_addr(ip)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    @inline(__always) func send(_ bytes: UnsafeRawBufferPointer) {
        if Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) < 0 { sendErrors += 1 }
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { send($0) }
    }
}

func loopback(port: UInt16) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(port.bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return addr
}

/// A TCP or UDP port nobody listens on now (bound to port 0 and released).
func freePort(udp: Bool = false) -> Int {
    let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = loopback(port: 0)
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var bound = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: bound.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func tcpPortOpen(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = loopback(port: UInt16(port))
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

// MARK: /proc

/// CPU time (user + system) and resident memory of a process, from /proc.
struct ProcessSample {
    let time: UInt64         // monotonic ns when read
    let cpuSeconds: Double   // utime + stime of all threads
    let rssBytes: Int
    /// The same time from another counter: the sum of every live thread's time on a CPU (schedstat, ns
    /// precision). A cross-check of `cpuSeconds` (a thread that exits takes its share with it).
    var schedSeconds: Double? = nil

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func read(pid: Int32) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                rss = (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
            }
        }
        return ProcessSample(time: clockNanos(), cpuSeconds: (utime + stime) / ticksPerSecond, rssBytes: rss,
                             schedSeconds: schedstatSeconds(pid: pid))
    }

    /// The first field of each /proc/PID/task/TID/schedstat (ns on a CPU), summed.
    static func schedstatSeconds(pid: Int32) -> Double? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total: UInt64 = 0
        for tid in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let ns = UInt64(first) else { continue }
            total += ns
        }
        return Double(total) / 1e9
    }

    /// Cores used between two samples, by schedstat.
    static func schedCores(_ a: ProcessSample, _ b: ProcessSample) -> Double? {
        let wall = Double(b.time &- a.time) / 1e9
        guard wall > 0, let x = a.schedSeconds, let y = b.schedSeconds else { return nil }
        return (y - x) / wall
    }

    /// Cores used between two samples.
    static func cores(_ a: ProcessSample, _ b: ProcessSample) -> Double {
        let wall = Double(b.time &- a.time) / 1e9
        return wall > 0 ? (b.cpuSeconds - a.cpuSeconds) / wall : 0
    }
}

/// This process's own CPU time (user + system), for the generator's share of the machine.
func selfCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// The kernel's UDP counters (/proc/net/snmp): datagrams dropped because a receive buffer was full tell
/// whether the generator kept up.
struct UDPCounters {
    var inDatagrams = 0
    var receiveBufferErrors = 0
    var sendBufferErrors = 0

    static func read() -> UDPCounters {
        guard let text = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) else { return UDPCounters() }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count >= 2 else { return UDPCounters() }
        let names = lines[0].split(separator: " ").dropFirst().map(String.init)
        let values = lines[1].split(separator: " ").dropFirst().map { Int($0) ?? 0 }
        var table: [String: Int] = [:]
        for (n, v) in zip(names, values) { table[n] = v }
        return UDPCounters(inDatagrams: table["InDatagrams"] ?? 0, receiveBufferErrors: table["RcvbufErrors"] ?? 0,
                           sendBufferErrors: table["SndbufErrors"] ?? 0)
    }
}

/// CPU model and core count, for the report.
func machineDescription() -> (cpu: String, cores: Int) {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
    return (model, ProcessInfo.processInfo.activeProcessorCount)
}

import NIOCore

/// libFuzzer targets for every parser of untrusted bytes (docs/ROBUSTNESS.md, "Fuzzing"). Each takes the raw input,
/// runs it through a parser and whatever reads the parsed value, and checks round trips where a writer exists:
/// a parser may refuse any input with its typed error, but it must never trap, and parse → write → parse must
/// give back what the first parse gave (`FuzzCheck.fail` traps, so libFuzzer reports the input).
public enum FuzzTargets {
    public typealias Target = @Sendable (UnsafeRawBufferPointer) -> Void

    public static let all: [String: Target] = [
        "stun": STUNFuzz.run,
        "sdp": SDPFuzz.run,
        "rtp": RTPFuzz.run,
        "rtcp": RTCPFuzz.run,
        "srtp": SRTPFuzz.run,
        "amf0": RTMPFuzz.amf0,
        "rtmp-chunks": RTMPFuzz.chunks,
        "rtmp-server": RTMPFuzz.server,
        "flv": FLVFuzz.run,
        "h264-depacketizer": FLVFuzz.depacketizer,
        "vp8-depacketizer": MediaFuzz.vp8Depacketizer,
        "keyframe": MediaFuzz.keyframe,
        "matroska-recovery": MatroskaFuzz.run,
        "wcs-json": SignalingFuzz.wcs,
        "parley-wire": SignalingFuzz.parleyWire,
        "access-token": AccessTokenFuzz.run,
    ]

    /// The names, sorted.
    public static var names: [String] { all.keys.sorted() }
}

/// What the targets share: failing loudly, and reading fuzzer-chosen numbers out of the input.
enum FuzzCheck {
    static func fail(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        fatalError("fuzz property violated: \(message())", file: file, line: line)
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
                       line: UInt = #line) {
        if !condition { fail(message(), file: file, line: line) }
    }
}

/// Reads the input front to back: numbers that steer a target (split sizes, flags) and the rest as data.
struct FuzzReader {
    let bytes: [UInt8]
    var index = 0

    /// The next RTP-like payload of a packet sequence: a length byte (255: a 16-bit length follows), a flags byte
    /// (1: marker, 2: skip a sequence number, 4: a new timestamp), then the payload. Moves `sequence` and
    /// `timestamp` on as the flags say; the caller adds one to `sequence` per packet.
    mutating func packet(sequence: inout UInt16, timestamp: inout UInt32) -> (payload: ByteBuffer, flags: UInt8) {
        let length = Int(byte())
        let flags = byte()
        let payload = ByteBuffer(bytes: take(length == 255 ? Int(uint16()) : length))
        if flags & 0x02 != 0 { sequence &+= 1 }
        if flags & 0x04 != 0 { timestamp &+= 3000 }
        return (payload, flags)
    }

    init(_ data: UnsafeRawBufferPointer) { bytes = Array(data) }
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }
    var remaining: Int { bytes.count - index }

    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }
    mutating func uint32() -> UInt32 { UInt32(uint16()) << 16 | UInt32(uint16()) }

    mutating func take(_ count: Int) -> [UInt8] {
        let n = max(0, min(count, remaining))
        defer { index += n }
        return Array(bytes[index..<index + n])
    }

    mutating func rest() -> [UInt8] { take(remaining) }
}

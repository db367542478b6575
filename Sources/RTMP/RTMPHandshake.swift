import NIOCore

/// The server side of the RTMP handshake (Adobe RTMP 1.0 §5.2): C0+C1 in, S0+S1+S2 out, then C2.
///
/// When C1 carries a valid digest (ffmpeg and Flash-era clients), the digest handshake (`RTMPDigest`): S1 with a
/// server version and its digest, S2 signed for the client's digest, which players check. Otherwise the simple
/// one, with S1's version field zero (so no client looks for a digest) and S2 echoing C1: rtmpdump and OBS's
/// librtmp send no digest.
public struct RTMPHandshake: Sendable {
    public enum State: Sendable, Equatable { case awaitingC0C1, awaitingC2, done }

    public static let packetSize = 1536
    public private(set) var state: State = .awaitingC0C1
    /// C1's version field, as the client sent it (0 for rtmpdump and OBS, 9.0.124.2 for ffmpeg): for logs.
    public private(set) var clientVersion: UInt32 = 0
    /// True when C1 carried a valid digest and the answer was the digest handshake.
    public private(set) var usedDigest = false

    public init() {}

    /// Reads what it needs from `input` and returns what to send back, if anything. Leaves bytes after C2 (the
    /// first chunks) in `input`.
    public mutating func receive(_ input: inout ByteBuffer) throws(RTMPError) -> ByteBuffer? {
        switch state {
        case .awaitingC0C1:
            guard input.readableBytes >= 1 + Self.packetSize else { return nil }
            let version = input.getInteger(at: input.readerIndex, as: UInt8.self) ?? 0
            guard version == 3 else { throw .unsupportedVersion(version) }
            input.moveReaderIndex(forwardBy: 1)
            guard let c1 = input.readSlice(length: Self.packetSize) else { return nil }
            clientVersion = c1.getInteger(at: c1.readerIndex + 4, as: UInt32.self) ?? 0
            var out = ByteBuffer()
            out.reserveCapacity(1 + 2 * Self.packetSize)
            out.writeInteger(UInt8(3))
            var rng = SystemRandomNumberGenerator()
            let c1Bytes = Array(c1.readableBytesView)
            if clientVersion != 0, let at = RTMPDigest.clientDigest(c1Bytes) {
                let (s1, s2) = RTMPDigest.answer(c1: c1Bytes, clientDigestAt: at) { UInt8.random(in: 0...255, using: &rng) }
                out.writeBytes(s1)
                out.writeBytes(s2)
                usedDigest = true
            } else {
                out.writeInteger(UInt32(0))  // time
                out.writeInteger(UInt32(0))  // version: zero, so no client validates a digest
                for _ in 0..<((Self.packetSize - 8) / 8) { out.writeInteger(rng.next() as UInt64) }
                out.writeImmutableBuffer(c1)  // S2 = C1
            }
            state = .awaitingC2
            return out
        case .awaitingC2:
            guard input.readableBytes >= Self.packetSize else { return nil }
            input.moveReaderIndex(forwardBy: Self.packetSize)
            state = .done
            return nil
        case .done:
            return nil
        }
    }
}

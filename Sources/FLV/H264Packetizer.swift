import NIOCore

/// RFC 6184 packetization (packetization-mode 1) of one access unit: a keyframe is preceded by SPS and PPS in
/// one STAP-A; a NAL unit that fits is sent alone, a larger one in FU-A fragments; the marker bit is set on the
/// access unit's last packet. Access unit delimiters and filler data are dropped. Yields RTP payloads.
public struct H264Packetizer: Sendable {
    /// Payload bytes per RTP packet: with the RTP header, SRTP's tag and the header extensions Parley adds, a
    /// packet stays under common path MTUs.
    public var maxPayload = 1160

    public init() {}

    public func payloads(_ units: [ByteBuffer], parameterSets: [[UInt8]]?, emit: (ByteBuffer, _ last: Bool) -> Void) {
        var queue: [ByteBuffer] = []
        if let parameterSets, !parameterSets.isEmpty {
            let size = parameterSets.reduce(1) { $0 + 2 + $1.count }
            if size <= maxPayload {
                var stap = ByteBuffer()
                let nri = parameterSets.map { $0.first ?? 0 }.reduce(UInt8(0)) { max($0, $1 & 0x60) }
                stap.writeInteger(UInt8(nri | 24))
                for set in parameterSets {
                    stap.writeInteger(UInt16(set.count))
                    stap.writeBytes(set)
                }
                emit(stap, units.isEmpty)
            } else {
                for set in parameterSets { queue.append(ByteBuffer(bytes: set)) }
            }
        }
        for unit in units {
            if unit.nalUnitType == 9 || unit.nalUnitType == 12 { continue }  // access unit delimiter, filler
            queue.append(unit)
        }
        for (i, unit) in queue.enumerated() {
            let last = i == queue.count - 1
            if unit.readableBytes <= maxPayload {
                emit(unit, last)
                continue
            }
            var rest = unit
            guard let header = rest.readInteger(as: UInt8.self) else { continue }
            var start = true
            while rest.readableBytes > 0 {
                let take = min(maxPayload - 2, rest.readableBytes)
                guard let piece = rest.readSlice(length: take) else { break }
                let end = rest.readableBytes == 0
                var fu = ByteBuffer()
                fu.writeInteger(UInt8((header & 0xE0) | 28))
                fu.writeInteger(UInt8((start ? 0x80 : 0) | (end ? 0x40 : 0) | (header & 0x1F)))
                fu.writeImmutableBuffer(piece)
                emit(fu, last && end)
                start = false
            }
        }
    }
}

extension ByteBuffer {
    /// The H.264 NAL unit type of the NAL unit these bytes are (its header's low 5 bits); 0 when empty.
    var nalUnitType: UInt8 { (getInteger(at: readerIndex, as: UInt8.self) ?? 0) & 0x1F }
}

import NIOCore

/// One packet of a compound RTCP datagram, for the parsers: every read is bounds-checked against the packet
/// itself (padding excluded), so a lying count or length can never reach the next packet or past the buffer.
struct RTCPPacketReader {
    let buffer: ByteBuffer
    /// Index of the packet's first byte in `buffer`.
    let start: Int
    /// Bytes of the packet, header included, padding excluded.
    let length: Int
    /// The count / FMT field.
    let count: UInt8

    init(_ buffer: ByteBuffer, header: RTCPHeader, type: UInt8, format: UInt8? = nil, minimumLength: Int) throws(RTPError) {
        // The header is the caller's: check it against the bytes rather than trust it.
        guard header.offset >= 0, header.length >= 4, header.offset <= buffer.readableBytes - header.length else {
            throw .badLength
        }
        let start = buffer.readerIndex + header.offset
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
              let packetType = buffer.getInteger(at: start + 1, as: UInt8.self),
              let words = buffer.getInteger(at: start + 2, as: UInt16.self) else { throw .tooShort }
        guard first >> 6 == 2 else { throw .badVersion }
        guard 4 * (Int(words) + 1) == header.length else { throw .badLength }
        guard packetType == type, format.map({ first & 0x1F == $0 }) ?? true else { throw .unexpectedType }
        var length = header.length
        if first & 0x20 != 0 {
            // RFC 3550 §6.4.1: the last octet counts the padding, itself included.
            guard let padding = buffer.getInteger(at: start + length - 1, as: UInt8.self), padding > 0,
                  Int(padding) <= length - 4 else { throw .badLength }
            length -= Int(padding)
        }
        guard length >= minimumLength else { throw .tooShort }
        self.buffer = buffer
        self.start = start
        self.length = length
        self.count = first & 0x1F
    }

    func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type = T.self) throws(RTPError) -> T {
        guard offset >= 0, offset <= length - MemoryLayout<T>.size,
              let value = buffer.getInteger(at: start + offset, as: T.self) else { throw .badLength }
        return value
    }

    func uint24(_ offset: Int) throws(RTPError) -> UInt32 {
        UInt32(try read(offset, as: UInt8.self)) << 16 | UInt32(try read(offset + 1, as: UInt16.self))
    }

    /// A 24-bit two's complement field, sign-extended.
    func int24(_ offset: Int) throws(RTPError) -> Int32 {
        Int32(bitPattern: try uint24(offset) << 8) >> 8
    }

    func bytes(_ offset: Int, count: Int) throws(RTPError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= length - count,
              let bytes = buffer.getBytes(at: start + offset, length: count) else { throw .badLength }
        return bytes
    }
}

/// Writing RTCP packets whose length is only known at the end.
enum RTCPWriter {
    /// Writes a common header with a placeholder length; returns where the packet starts.
    static func begin(_ buffer: inout ByteBuffer, count: UInt8, type: UInt8) -> Int {
        let start = buffer.writerIndex
        buffer.writeInteger(0x80 | (count & 0x1F))
        buffer.writeInteger(type)
        buffer.writeInteger(UInt16(0))
        return start
    }

    /// Pads the packet to 32 bits and fills in its length. Zero octets suit formats that delimit their own
    /// content (SDES, BYE); `paddingBit` uses RFC 3550 padding (P bit, count in the last octet) instead.
    static func finish(_ buffer: inout ByteBuffer, start: Int, paddingBit: Bool = false) {
        let padding = (4 - (buffer.writerIndex - start) % 4) % 4
        if padding > 0 {
            if paddingBit {
                buffer.writeRepeatingByte(0, count: padding - 1)
                buffer.writeInteger(UInt8(padding))
                let first = buffer.getInteger(at: start, as: UInt8.self) ?? 0x80
                buffer.setInteger(first | 0x20, at: start)
            } else {
                buffer.writeRepeatingByte(0, count: padding)
            }
        }
        buffer.setInteger(UInt16(truncatingIfNeeded: (buffer.writerIndex - start) / 4 - 1), at: start + 2)
    }

    /// The longest prefix of `text` that fits `limit` UTF-8 bytes without splitting a character.
    static func utf8Prefix(_ text: String, limit: Int) -> Substring.UTF8View {
        var end = text.startIndex
        var used = 0
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            guard used + size <= limit else { break }
            used += size
            end = text.unicodeScalars.index(after: end)
        }
        return text.utf8[..<end]
    }
}

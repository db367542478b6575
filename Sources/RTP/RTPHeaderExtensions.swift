import NIOCore

/// One RFC 8285 header extension element of an RTP packet, located in the packet's buffer.
public struct RTPHeaderExtensionElement: Sendable, Equatable {
    public var id: UInt8
    /// Offset of the value from the buffer's reader index.
    public var offset: Int
    /// Length of the value in bytes (0 is possible in the two-byte form).
    public var length: Int

    public init(id: UInt8, offset: Int, length: Int) {
        self.id = id
        self.offset = offset
        self.length = length
    }
}

extension RTPPacket {
    /// The one-byte form's "defined by profile" value (RFC 8285 §4.2).
    static let oneByteProfile: UInt16 = 0xBEDE
    /// The two-byte form's value, the low 4 bits being application bits (RFC 8285 §4.3).
    static let twoByteProfile: UInt16 = 0x1000

    /// The X bit: the packet carries a header extension block (RFC 8285 elements or another profile's).
    public var hasExtension: Bool {
        (buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0) & 0x10 != 0
    }

    /// The elements of a one-byte (0xBEDE) or two-byte (0x100X) header extension, in order; [] when there
    /// are none, the block uses another profile, or an element runs past the block.
    public func extensionElements() -> [RTPHeaderExtensionElement] {
        var elements: [RTPHeaderExtensionElement] = []
        let wellFormed = forEachExtensionElement {
            elements.append($0)
            return true
        }
        return wellFormed ? elements : []
    }

    /// The value of the first header extension element with `id`, in either form, as a slice of the packet.
    public func extensionElement(id: UInt8) -> ByteBuffer? {
        var found: RTPHeaderExtensionElement?
        _ = forEachExtensionElement {
            guard $0.id == id else { return true }
            found = $0
            return false
        }
        return found.map { extensionValue($0) }
    }

    /// The value of `element` (from `extensionElements()`) as a slice of the packet: no bytes are copied.
    public func extensionValue(_ element: RTPHeaderExtensionElement) -> ByteBuffer {
        buffer.getSlice(at: buffer.readerIndex + element.offset, length: element.length) ?? ByteBuffer()
    }

    /// Walks the elements, calling `visit` until it returns false. Returns false when an element runs past
    /// the block (what came before it has been visited).
    func forEachExtensionElement(_ visit: (RTPHeaderExtensionElement) -> Bool) -> Bool {
        let base = buffer.readerIndex
        guard let first = buffer.getInteger(at: base, as: UInt8.self), first & 0x10 != 0 else { return true }
        let start = 12 + 4 * Int(first & 0x0F)
        guard let profile = buffer.getInteger(at: base + start, as: UInt16.self),
              let words = buffer.getInteger(at: base + start + 2, as: UInt16.self) else { return false }
        var p = start + 4
        let end = p + 4 * Int(words)
        // The buffer is public and mutable: re-check what the initializer checked.
        guard end <= buffer.readableBytes else { return false }
        func byte(_ offset: Int) -> UInt8 { buffer.getInteger(at: base + offset, as: UInt8.self) ?? 0 }

        if profile == Self.oneByteProfile {
            while p < end {
                let header = byte(p)
                let id = header >> 4
                if header == 0 { p += 1; continue }  // padding
                // 15 is reserved and stops the walk (RFC 8285 §4.2); so does ID 0 with a length, as in libwebrtc.
                if id == 15 || id == 0 { return true }
                let length = Int(header & 0x0F) + 1
                guard p + 1 + length <= end else { return false }
                if !visit(RTPHeaderExtensionElement(id: id, offset: p + 1, length: length)) { return true }
                p += 1 + length
            }
        } else if profile & 0xFFF0 == Self.twoByteProfile {
            while p < end {
                let id = byte(p)
                if id == 0 { p += 1; continue }  // padding
                guard p + 2 <= end else { return false }
                let length = Int(byte(p + 1))
                guard p + 2 + length <= end else { return false }
                if !visit(RTPHeaderExtensionElement(id: id, offset: p + 2, length: length)) { return true }
                p += 2 + length
            }
        }
        return true
    }
}

/// Writes fresh RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions.
public struct RTPPacketWriter {
    /// Writes an RTP packet at the writer index of `buffer`: the header with the given fields, a header
    /// extension block, then `payload`. The block uses the one-byte form when every id is 1...14 and every
    /// value 1...16 bytes, else the two-byte form, and is zero-padded to 32 bits. Elements no form can carry
    /// (id 0, or a value over 255 bytes) are left out, as are elements past 255 and CSRCs past 15, so the
    /// lengths always fit their fields. No padding (P bit) is written.
    ///
    /// Extension values and the payload are `ByteBuffer`s so they can be slices of the received packet
    /// (`RTPPacket.extensionValue`, `RTPPacket.payload`): they are copied once, into `buffer`.
    ///
    /// Returns the number of bytes written.
    @discardableResult
    public static func write(
        into buffer: inout ByteBuffer, marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32,
        ssrc: UInt32, csrcs: [UInt32] = [], extensions: [(id: UInt8, value: ByteBuffer)] = [], payload: ByteBuffer
    ) -> Int {
        writePacket(into: &buffer, marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber,
                    timestamp: timestamp, ssrc: ssrc, csrcs: csrcs, extensions: extensions, payload: payload)
    }

    /// The same, for any collection of elements: a lazy map over `RTPPacket.extensionElements()` renumbers
    /// them per subscriber without building an array.
    @discardableResult
    public static func write<Extensions: Collection<(id: UInt8, value: ByteBuffer)>>(
        into buffer: inout ByteBuffer, marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32,
        ssrc: UInt32, csrcs: [UInt32] = [], extensions: Extensions, payload: ByteBuffer
    ) -> Int {
        writePacket(into: &buffer, marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber,
                    timestamp: timestamp, ssrc: ssrc, csrcs: csrcs, extensions: extensions, payload: payload)
    }

    private static func writePacket<Extensions: Collection<(id: UInt8, value: ByteBuffer)>>(
        into buffer: inout ByteBuffer, marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32,
        ssrc: UInt32, csrcs: [UInt32], extensions: Extensions, payload: ByteBuffer
    ) -> Int {
        // First pass: the form and the block's size, before anything is written.
        var oneByte = true
        var valueBytes = 0
        var count = 0
        let writable = extensions.lazy.filter(isWritable).prefix(255)
        for element in writable {
            let length = element.value.readableBytes
            if element.id > 14 || length == 0 || length > 16 { oneByte = false }
            valueBytes += length
            count += 1
        }
        let elementsBytes = valueBytes + count * (oneByte ? 1 : 2)
        let blockBytes = count == 0 ? 0 : 4 + (elementsBytes + 3) & ~3
        let csrcCount = min(csrcs.count, 15)

        let startIndex = buffer.writerIndex
        buffer.reserveCapacity(minimumWritableBytes: 12 + 4 * csrcCount + blockBytes + payload.readableBytes)
        buffer.writeInteger(0x80 | (count > 0 ? 0x10 : 0) | UInt8(csrcCount))
        buffer.writeInteger((marker ? 0x80 : 0) | (payloadType & 0x7F))
        buffer.writeInteger(sequenceNumber)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        for csrc in csrcs.prefix(csrcCount) { buffer.writeInteger(csrc) }

        if count > 0 {
            buffer.writeInteger(oneByte ? RTPPacket.oneByteProfile : RTPPacket.twoByteProfile)
            buffer.writeInteger(UInt16(truncatingIfNeeded: (blockBytes - 4) / 4))
            for element in writable {
                let length = element.value.readableBytes
                if oneByte {
                    buffer.writeInteger(element.id << 4 | UInt8(length - 1))
                } else {
                    buffer.writeInteger(element.id)
                    buffer.writeInteger(UInt8(length))
                }
                buffer.writeImmutableBuffer(element.value)
            }
            buffer.writeRepeatingByte(0, count: blockBytes - 4 - elementsBytes)
        }
        buffer.writeImmutableBuffer(payload)
        return buffer.writerIndex - startIndex
    }

    /// What the two-byte form can carry.
    private static func isWritable(_ element: (id: UInt8, value: ByteBuffer)) -> Bool {
        element.id != 0 && element.value.readableBytes <= 255
    }
}

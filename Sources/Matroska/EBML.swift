/// EBML (RFC 8794) element encoding, as much as a Matroska writer needs: element ids as written, sizes as
/// variable-length integers (the unknown size for a Segment still being written), and the value types.
public enum EBML {
    /// The 8-byte "unknown size" (all value bits set, RFC 8794 §6.2): a Segment whose end is not known yet.
    public static let unknownSize: [UInt8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]

    /// `value` as a variable-length size in the fewest bytes (`minimumWidth` to force a wider one, for a value to
    /// be patched later). All-ones values are reserved for "unknown", so the width grows past them.
    public static func size(_ value: UInt64, minimumWidth: Int = 1) -> [UInt8] {
        var width = max(1, min(minimumWidth, 8))
        while width < 8, value >= (UInt64(1) << (7 * width)) - 1 { width += 1 }
        var bytes = [UInt8](repeating: 0, count: width)
        var v = value
        for i in stride(from: width - 1, through: 0, by: -1) {
            bytes[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
        bytes[0] |= UInt8(0x80 >> (width - 1))
        return bytes
    }

    /// An element id's bytes as written (ids keep their marker bits: 0x1A45DFA3 → 1A 45 DF A3).
    public static func id(_ id: UInt32) -> [UInt8] {
        let width = id > 0xFF_FFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1
        return (0..<width).map { UInt8(truncatingIfNeeded: id >> (8 * (width - 1 - $0))) }
    }

    public static func element(_ id: UInt32, _ body: [UInt8]) -> [UInt8] {
        Self.id(id) + size(UInt64(body.count)) + body
    }

    public static func uint(_ id: UInt32, _ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var v = value
        repeat {
            bytes.insert(UInt8(truncatingIfNeeded: v), at: 0)
            v >>= 8
        } while v > 0
        return element(id, bytes)
    }

    /// An unsigned integer always 8 bytes wide, so that it can be overwritten in place.
    public static func uint64(_ id: UInt32, _ value: UInt64) -> [UInt8] {
        element(id, (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - $0))) })
    }

    public static func float(_ id: UInt32, _ value: Double) -> [UInt8] {
        let bits = value.bitPattern
        return element(id, (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * (7 - $0))) })
    }

    public static func string(_ id: UInt32, _ value: String) -> [UInt8] { element(id, Array(value.utf8)) }

    /// A Void element of exactly `total` bytes (at least 2): room kept for something written at the end.
    public static func void(total: Int) -> [UInt8] {
        precondition(total >= 2 && total <= 127, "a Void of 2-127 bytes")
        return id(MatroskaID.void) + size(UInt64(total - 2)) + [UInt8](repeating: 0, count: total - 2)
    }
}

import Foundation
import NIOCore

/// An AMF0 value (Adobe AMF0 spec): what RTMP commands and metadata are made of. Objects and ECMA arrays keep
/// their keys in order, as they were sent.
public enum AMF0Value: Sendable, Equatable {
    case number(Double)
    case boolean(Bool)
    case string(String)
    case object([(String, AMF0Value)])
    case null
    case undefined
    case ecmaArray([(String, AMF0Value)])
    case strictArray([AMF0Value])
    case date(Double)

    public static func == (a: AMF0Value, b: AMF0Value) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)), (.date(let x), .date(let y)): x == y || (x.isNaN && y.isNaN)
        case (.boolean(let x), .boolean(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.object(let x), .object(let y)), (.ecmaArray(let x), .ecmaArray(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.null, .null), (.undefined, .undefined): true
        case (.strictArray(let x), .strictArray(let y)): x == y
        default: false
        }
    }

    /// A property of an object or ECMA array.
    public subscript(key: String) -> AMF0Value? {
        switch self {
        case .object(let p), .ecmaArray(let p): p.first { $0.0 == key }?.1
        default: nil
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var number: Double? { if case .number(let n) = self { n } else { nil } }

    // MARK: decoding

    /// Nesting deeper than this is refused (a hostile peer could nest 10,000 objects).
    public static let maxDepth = 16
    /// Properties or elements in one object or array.
    public static let maxCount = 1024

    /// Every value in `buffer`, in order (a command: name, transaction id, command object, arguments).
    public static func decodeAll(_ buffer: ByteBuffer) throws(RTMPError) -> [AMF0Value] {
        var b = buffer
        var values: [AMF0Value] = []
        while b.readableBytes > 0 {
            guard values.count < maxCount else { throw .malformedAMF("too many values") }
            values.append(try decode(&b, depth: 0))
        }
        return values
    }

    static func decode(_ b: inout ByteBuffer, depth: Int) throws(RTMPError) -> AMF0Value {
        guard depth < maxDepth else { throw .malformedAMF("nested deeper than \(maxDepth)") }
        guard let marker = b.readInteger(as: UInt8.self) else { throw .malformedAMF("truncated") }
        switch marker {
        case 0x00:
            guard let bits = b.readInteger(as: UInt64.self) else { throw .malformedAMF("truncated number") }
            return .number(Double(bitPattern: bits))
        case 0x01:
            guard let v = b.readInteger(as: UInt8.self) else { throw .malformedAMF("truncated boolean") }
            return .boolean(v != 0)
        case 0x02:
            return .string(try readString(&b, longLength: false))
        case 0x0C:
            return .string(try readString(&b, longLength: true))
        case 0x03:
            return .object(try readProperties(&b, depth: depth))
        case 0x05:
            return .null
        case 0x06:
            return .undefined
        case 0x08:
            guard b.readInteger(as: UInt32.self) != nil else { throw .malformedAMF("truncated ECMA array") }
            // The count is advisory (FFmpeg writes it, others write 0): the end marker is what counts.
            return .ecmaArray(try readProperties(&b, depth: depth))
        case 0x0A:
            guard let count = b.readInteger(as: UInt32.self), count <= maxCount else { throw .malformedAMF("bad strict array") }
            var items: [AMF0Value] = []
            for _ in 0..<count { items.append(try decode(&b, depth: depth + 1)) }
            return .strictArray(items)
        case 0x0B:
            guard let bits = b.readInteger(as: UInt64.self), b.readInteger(as: Int16.self) != nil else {
                throw .malformedAMF("truncated date")
            }
            return .date(Double(bitPattern: bits))
        default:
            throw .malformedAMF("unsupported marker \(marker)")
        }
    }

    private static func readString(_ b: inout ByteBuffer, longLength: Bool) throws(RTMPError) -> String {
        let length: Int? = longLength ? b.readInteger(as: UInt32.self).map(Int.init) : b.readInteger(as: UInt16.self).map(Int.init)
        guard let length, let s = b.readString(length: length) else { throw .malformedAMF("truncated string") }
        return s
    }

    private static func readProperties(_ b: inout ByteBuffer, depth: Int) throws(RTMPError) -> [(String, AMF0Value)] {
        var properties: [(String, AMF0Value)] = []
        while true {
            let key = try readString(&b, longLength: false)
            if key.isEmpty, b.getInteger(at: b.readerIndex, as: UInt8.self) == 0x09 {
                b.moveReaderIndex(forwardBy: 1)
                return properties
            }
            guard properties.count < maxCount else { throw .malformedAMF("too many properties") }
            properties.append((key, try decode(&b, depth: depth + 1)))
        }
    }

    // MARK: encoding

    public func encode(into b: inout ByteBuffer) {
        switch self {
        case .number(let n):
            b.writeInteger(UInt8(0x00))
            b.writeInteger(n.bitPattern)
        case .boolean(let v):
            b.writeInteger(UInt8(0x01))
            b.writeInteger(UInt8(v ? 1 : 0))
        case .string(let s):
            let utf8 = s.utf8.count
            if utf8 > Int(UInt16.max) {
                b.writeInteger(UInt8(0x0C))
                b.writeInteger(UInt32(utf8))
            } else {
                b.writeInteger(UInt8(0x02))
                b.writeInteger(UInt16(utf8))
            }
            b.writeString(s)
        case .object(let p):
            b.writeInteger(UInt8(0x03))
            Self.writeProperties(p, into: &b)
        case .null:
            b.writeInteger(UInt8(0x05))
        case .undefined:
            b.writeInteger(UInt8(0x06))
        case .ecmaArray(let p):
            b.writeInteger(UInt8(0x08))
            b.writeInteger(UInt32(p.count))
            Self.writeProperties(p, into: &b)
        case .strictArray(let items):
            b.writeInteger(UInt8(0x0A))
            b.writeInteger(UInt32(items.count))
            for item in items { item.encode(into: &b) }
        case .date(let d):
            b.writeInteger(UInt8(0x0B))
            b.writeInteger(d.bitPattern)
            b.writeInteger(Int16(0))
        }
    }

    private static func writeProperties(_ p: [(String, AMF0Value)], into b: inout ByteBuffer) {
        for (key, value) in p {
            let k = String(key.utf8.prefix(Int(UInt16.max))) ?? ""
            b.writeInteger(UInt16(k.utf8.count))
            b.writeString(k)
            value.encode(into: &b)
        }
        b.writeInteger(UInt16(0))
        b.writeInteger(UInt8(0x09))
    }
}

import COpenSSL

/// An IPv4 or IPv6 address and port, as STUN carries it (kept free of any socket library).
public struct SocketAddressValue: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    public let ip: [UInt8]
    public let port: UInt16

    public init?(ip: [UInt8], port: UInt16) {
        guard ip.count == 4 || ip.count == 16 else { return nil }
        self.ip = ip
        self.port = port
    }

    public var isIPv4: Bool { ip.count == 4 }

    public var description: String {
        if isIPv4 { return ip.map(String.init).joined(separator: ".") + ":\(port)" }
        let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(ip[$0]) << 8 | UInt16(ip[$0 + 1]), radix: 16) }
        return "[" + groups.joined(separator: ":") + "]:\(port)"
    }
}

public enum STUNError: Error, Sendable, Equatable {
    case tooShort
    case notSTUN
    case badMagicCookie
    case badLength
    case truncatedAttribute
    case malformedAttribute(UInt16)
}

/// A STUN message (RFC 5389/8489): header and attributes in order, with the raw bytes kept so that
/// MESSAGE-INTEGRITY and FINGERPRINT are checked over exactly what was received.
public struct STUNMessage: Sendable, Equatable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20

    public enum Class: UInt16, Sendable {
        case request = 0x0000
        case indication = 0x0010
        case successResponse = 0x0100
        case errorResponse = 0x0110
    }

    public struct Attribute: Sendable, Equatable {
        public let type: UInt16
        public let value: [UInt8]
        /// Offset of the attribute's header within the message, for integrity checks.
        public let offset: Int
    }

    public enum AttributeType {
        public static let mappedAddress: UInt16 = 0x0001
        public static let username: UInt16 = 0x0006
        public static let messageIntegrity: UInt16 = 0x0008
        public static let errorCode: UInt16 = 0x0009
        public static let xorMappedAddress: UInt16 = 0x0020
        public static let priority: UInt16 = 0x0024
        public static let useCandidate: UInt16 = 0x0025
        public static let software: UInt16 = 0x8022
        public static let fingerprint: UInt16 = 0x8028
        public static let iceControlled: UInt16 = 0x8029
        public static let iceControlling: UInt16 = 0x802A
    }

    public static let bindingMethod: UInt16 = 0x0001

    public let messageClass: Class
    public let method: UInt16
    public let transactionID: [UInt8]
    public let attributes: [Attribute]
    public let bytes: [UInt8]

    /// RFC 7983: a first byte of 0–3 is STUN (20–63 DTLS, 128–191 RTP/RTCP).
    public static func looksLikeSTUN(_ firstByte: UInt8) -> Bool { firstByte < 4 }

    public static func parse(_ input: some Collection<UInt8>) throws(STUNError) -> STUNMessage {
        let bytes = Array(input)
        guard bytes.count >= headerLength else { throw .tooShort }
        guard looksLikeSTUN(bytes[0]) else { throw .notSTUN }
        let type = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        guard be32(bytes, 4) == magicCookie else { throw .badMagicCookie }
        guard length % 4 == 0, headerLength + length == bytes.count else { throw .badLength }
        let classBits = type & 0x0110
        let method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)
        guard let messageClass = Class(rawValue: classBits) else { throw .notSTUN }

        var attributes: [Attribute] = []
        var offset = headerLength
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw .truncatedAttribute }
            let attrType = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let attrLength = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            let start = offset + 4
            guard start + attrLength <= bytes.count else { throw .truncatedAttribute }
            attributes.append(Attribute(type: attrType, value: Array(bytes[start..<start + attrLength]), offset: offset))
            offset = start + (attrLength + 3) & ~3
        }
        return STUNMessage(messageClass: messageClass, method: method, transactionID: Array(bytes[8..<20]),
                           attributes: attributes, bytes: bytes)
    }

    public func attribute(_ type: UInt16) -> Attribute? { attributes.first { $0.type == type } }
    public func has(_ type: UInt16) -> Bool { attribute(type) != nil }

    public var username: String? {
        attribute(AttributeType.username).map { String(decoding: $0.value, as: UTF8.self) }
    }

    public var priority: UInt32? {
        guard let v = attribute(AttributeType.priority)?.value, v.count == 4 else { return nil }
        return Self.be32(v, 0)
    }

    public var software: String? {
        attribute(AttributeType.software).map { String(decoding: $0.value, as: UTF8.self) }
    }

    public var errorCode: Int? {
        guard let v = attribute(AttributeType.errorCode)?.value, v.count >= 4 else { return nil }
        return Int(v[2] & 0x07) * 100 + Int(v[3])
    }

    public var xorMappedAddress: SocketAddressValue? {
        guard let v = attribute(AttributeType.xorMappedAddress)?.value, v.count >= 8 else { return nil }
        let port = (UInt16(v[2]) << 8 | UInt16(v[3])) ^ 0x2112
        let mask = Self.cookieBytes + transactionID
        switch v[1] {
        case 0x01:
            return SocketAddressValue(ip: (0..<4).map { v[4 + $0] ^ mask[$0] }, port: port)
        case 0x02 where v.count >= 20:
            return SocketAddressValue(ip: (0..<16).map { v[4 + $0] ^ mask[$0] }, port: port)
        default:
            return nil
        }
    }

    /// MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term password) over the message up to that attribute,
    /// with the header length covering the attribute itself (RFC 5389 §15.4).
    public func verifyIntegrity(key: [UInt8]) -> Bool {
        guard let mi = attribute(AttributeType.messageIntegrity), mi.value.count == 20 else { return false }
        var prefix = Array(bytes[0..<mi.offset])
        Self.setLength(&prefix, mi.offset + 24 - Self.headerLength)
        return Self.constantTimeEqual(Self.hmacSHA1(key: key, data: prefix), mi.value)
    }

    /// FINGERPRINT: CRC-32 of the message before it, XOR 0x5354554E; it must be the last attribute.
    public func verifyFingerprint() -> Bool {
        guard let fp = attributes.last, fp.type == AttributeType.fingerprint, fp.value.count == 4 else { return false }
        return Self.be32(fp.value, 0) == CRC32.checksum(bytes[0..<fp.offset]) ^ 0x5354_554E
    }

    // MARK: helpers

    static let cookieBytes: [UInt8] = [0x21, 0x12, 0xA4, 0x42]

    static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    static func setLength(_ message: inout [UInt8], _ length: Int) {
        message[2] = UInt8(truncatingIfNeeded: length >> 8)
        message[3] = UInt8(truncatingIfNeeded: length)
    }

    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 20
        _ = HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &out, &length)
        return out
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// CRC-32 (ISO-HDLC, as in zlib), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

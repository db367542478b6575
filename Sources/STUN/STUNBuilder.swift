/// Builds STUN messages: attributes in order, then MESSAGE-INTEGRITY and FINGERPRINT computed last.
public struct STUNBuilder {
    private var bytes: [UInt8]
    /// What fills attributes to 4-byte boundaries; its content is arbitrary (RFC 5769's vectors use spaces).
    public var paddingByte: UInt8 = 0

    public init(class messageClass: STUNMessage.Class, method: UInt16 = STUNMessage.bindingMethod, transactionID: [UInt8]) {
        let m = method
        let type = (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | messageClass.rawValue
        bytes = [UInt8(type >> 8), UInt8(type & 0xFF), 0, 0] + STUNMessage.cookieBytes + transactionID.prefix(12)
        bytes += [UInt8](repeating: 0, count: max(0, 12 - transactionID.count))
    }

    /// A random 96-bit transaction id.
    public static func newTransactionID() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<12).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    public mutating func add(_ type: UInt16, _ value: [UInt8]) {
        bytes += [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(value.count >> 8), UInt8(value.count & 0xFF)]
        bytes += value
        bytes += [UInt8](repeating: paddingByte, count: (4 - value.count % 4) % 4)
        STUNMessage.setLength(&bytes, bytes.count - STUNMessage.headerLength)
    }

    public mutating func addUsername(_ username: String) { add(STUNMessage.AttributeType.username, Array(username.utf8)) }
    public mutating func addSoftware(_ software: String) { add(STUNMessage.AttributeType.software, Array(software.utf8)) }
    public mutating func addPriority(_ priority: UInt32) { add(STUNMessage.AttributeType.priority, be(priority)) }
    public mutating func addUseCandidate() { add(STUNMessage.AttributeType.useCandidate, []) }
    public mutating func addIceControlling(tieBreaker: UInt64) { add(STUNMessage.AttributeType.iceControlling, be64(tieBreaker)) }
    public mutating func addIceControlled(tieBreaker: UInt64) { add(STUNMessage.AttributeType.iceControlled, be64(tieBreaker)) }

    public mutating func addErrorCode(_ code: Int, reason: String) {
        add(STUNMessage.AttributeType.errorCode, [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8))
    }

    public mutating func addXorMappedAddress(_ address: SocketAddressValue) {
        let transactionID = Array(bytes[8..<20])
        let mask = STUNMessage.cookieBytes + transactionID
        let port = address.port ^ 0x2112
        var value: [UInt8] = [0, address.isIPv4 ? 1 : 2, UInt8(port >> 8), UInt8(port & 0xFF)]
        value += address.ip.enumerated().map { $0.element ^ mask[$0.offset] }
        add(STUNMessage.AttributeType.xorMappedAddress, value)
    }

    public mutating func addMessageIntegrity(key: [UInt8]) {
        // The length must already count the 24 bytes of MESSAGE-INTEGRITY when the HMAC is computed.
        var prefix = bytes
        STUNMessage.setLength(&prefix, prefix.count + 24 - STUNMessage.headerLength)
        add(STUNMessage.AttributeType.messageIntegrity, STUNMessage.hmacSHA1(key: key, data: prefix))
    }

    public mutating func addFingerprint() {
        var prefix = bytes
        STUNMessage.setLength(&prefix, prefix.count + 8 - STUNMessage.headerLength)
        let crc = CRC32.checksum(prefix) ^ 0x5354_554E
        add(STUNMessage.AttributeType.fingerprint, be(crc))
    }

    public func build() -> [UInt8] { bytes }

    private func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    private func be64(_ v: UInt64) -> [UInt8] { be(UInt32(v >> 32)) + be(UInt32(v & 0xFFFF_FFFF)) }
}

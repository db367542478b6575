import STUN

enum STUNFuzz {
    /// RFC 5769's short-term password, so its vectors (the seeds) pass the integrity check.
    static let key = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)

    static func run(_ data: UnsafeRawBufferPointer) {
        guard let message = try? STUNMessage.parse(data) else { return }
        _ = (message.username, message.priority, message.software, message.errorCode, message.xorMappedAddress)
        _ = message.has(STUNMessage.AttributeType.useCandidate)
        let integrity = message.verifyIntegrity(key: key)
        let fingerprint = message.verifyFingerprint()

        // Rebuilt attribute by attribute (padding with what the first attribute's padding held, else 0):
        // the same message.
        var builder = STUNBuilder(class: message.messageClass, method: message.method, transactionID: message.transactionID)
        if let padded = message.attributes.first(where: { $0.value.count % 4 != 0 }) {
            builder.paddingByte = message.bytes[padded.offset + 4 + padded.value.count]
        }
        for attribute in message.attributes { builder.add(attribute.type, attribute.value) }
        let rebuilt = builder.build()
        guard let again = try? STUNMessage.parse(rebuilt) else { FuzzCheck.fail("rebuilt STUN message does not parse") }
        FuzzCheck.expect(again.messageClass == message.messageClass && again.method == message.method
                         && again.transactionID == message.transactionID && again.attributes == message.attributes,
                         "STUN round trip changed the message")
        // The padding bytes are the only freedom: with them copied, the bytes are the same, and so are the verdicts.
        if rebuilt.count == message.bytes.count, zip(rebuilt, message.bytes).allSatisfy({ $0 == $1 }) {
            FuzzCheck.expect(again.verifyIntegrity(key: key) == integrity && again.verifyFingerprint() == fingerprint,
                             "same bytes, different verdicts")
        }

        // Signed afresh (what came before MESSAGE-INTEGRITY and FINGERPRINT kept): both checks pass.
        guard message.bytes.count + 32 <= STUNMessage.headerLength + 0xFFFF else { return }
        var signed = STUNBuilder(class: message.messageClass, method: message.method, transactionID: message.transactionID)
        for attribute in message.attributes {
            if attribute.type == STUNMessage.AttributeType.messageIntegrity || attribute.type == STUNMessage.AttributeType.fingerprint {
                break
            }
            signed.add(attribute.type, attribute.value)
        }
        signed.addMessageIntegrity(key: key)
        signed.addFingerprint()
        guard let verified = try? STUNMessage.parse(signed.build()) else { FuzzCheck.fail("signed STUN message does not parse") }
        FuzzCheck.expect(verified.verifyIntegrity(key: key), "MESSAGE-INTEGRITY of a freshly signed message fails")
        FuzzCheck.expect(verified.verifyFingerprint(), "FINGERPRINT of a freshly signed message fails")
        FuzzCheck.expect(!verified.verifyIntegrity(key: key + [1]), "MESSAGE-INTEGRITY passes with another key")
    }
}

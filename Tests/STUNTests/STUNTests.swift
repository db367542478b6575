import Testing
@testable import STUN

func hex(_ s: String) -> [UInt8] {
    let d = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: d.count, by: 2).map { UInt8(String(d[$0...$0 + 1]), radix: 16)! }
}

/// RFC 5769 test vectors.
enum RFC5769 {
    static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
    static let transactionID = hex("b7e7a701bc34d686fa87dfae")
    static let request = hex("""
        000100582112a442b7e7a701bc34d686fa87dfae
        802200105354554e20746573742063 6c69656e74
        002400046e0001ff
        80290008932ff9b151263b36
        000600096576746a3a68367659202020
        000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2
        80280004e57a3bcf
        """)
    static let responseV4 = hex("""
        0101003c2112a442b7e7a701bc34d686fa87dfae
        8022000b7465737420766563746f7220
        002000080001a147e112a643
        000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7
        80280004c07d4c96
        """)
    static let responseV6 = hex("""
        010100482112a442b7e7a701bc34d686fa87dfae
        8022000b7465737420766563746f7220
        0020001400 02a1470113a9faa5d3f179bc25f4b5bed2b9d9
        00080014a382954e4be67bf11784c97c8292c275bfe3ed41
        80280004c8fb0b4c
        """)
}

@Suite struct RFC5769Vectors {
    @Test func sampleRequest() throws {
        let m = try STUNMessage.parse(RFC5769.request)
        #expect(m.messageClass == .request)
        #expect(m.method == STUNMessage.bindingMethod)
        #expect(m.transactionID == RFC5769.transactionID)
        #expect(m.software == "STUN test client")
        #expect(m.priority == 0x6E00_01FF)
        #expect(m.attribute(STUNMessage.AttributeType.iceControlled)?.value == hex("932ff9b151263b36"))
        #expect(m.username == "evtj:h6vY")
        #expect(m.verifyIntegrity(key: RFC5769.password))
        #expect(!m.verifyIntegrity(key: Array("wrong".utf8)))
        #expect(m.verifyFingerprint())
    }

    @Test func sampleIPv4Response() throws {
        let m = try STUNMessage.parse(RFC5769.responseV4)
        #expect(m.messageClass == .successResponse)
        #expect(m.xorMappedAddress == SocketAddressValue(ip: [192, 0, 2, 1], port: 32853))
        #expect(m.verifyIntegrity(key: RFC5769.password))
        #expect(m.verifyFingerprint())
    }

    @Test func sampleIPv6Response() throws {
        let m = try STUNMessage.parse(RFC5769.responseV6)
        #expect(m.xorMappedAddress == SocketAddressValue(ip: hex("20010db8123456780011223344556677"), port: 32853))
        #expect(m.verifyIntegrity(key: RFC5769.password))
        #expect(m.verifyFingerprint())
    }

    /// Our builder writes the RFC's response byte for byte (with the RFC's space padding).
    @Test func builderReproducesTheIPv4Response() throws {
        var b = STUNBuilder(class: .successResponse, transactionID: RFC5769.transactionID)
        b.paddingByte = 0x20
        b.addSoftware("test vector")
        b.addXorMappedAddress(try #require(SocketAddressValue(ip: [192, 0, 2, 1], port: 32853)))
        b.addMessageIntegrity(key: RFC5769.password)
        b.addFingerprint()
        #expect(b.build() == RFC5769.responseV4)
    }

    @Test func everyTruncationIsATypedError() {
        for vector in [RFC5769.request, RFC5769.responseV4, RFC5769.responseV6] {
            for n in 0..<vector.count {
                #expect(throws: STUNError.self) { try STUNMessage.parse(vector.prefix(n)) }
            }
        }
    }
}

@Suite struct ICELiteAgentTests {
    let client = SocketAddressValue(ip: [10, 0, 0, 7], port: 50_000)!

    func request(password: String = "serverpass0123456789ab", username: (String, String) = ("srv1", "cli1"),
                 useCandidate: Bool = false) -> [UInt8] {
        ICELiteAgent.bindingRequest(localUfrag: username.1, remoteUfrag: username.0, remotePassword: password,
                                    priority: 0x7E00_00FF, tieBreaker: 42, useCandidate: useCandidate)
    }

    func agent() -> ICELiteAgent {
        ICELiteAgent(localUfrag: "srv1", localPassword: "serverpass0123456789ab", remoteUfrag: "cli1")
    }

    @Test func validCheckGetsAnAuthenticatedResponseWithTheSourceAddress() throws {
        var a = agent()
        guard case .respond(let bytes, let nominated) = a.handle(request(), from: client, now: 1) else {
            Issue.record("no response")
            return
        }
        #expect(!nominated)
        let response = try STUNMessage.parse(bytes)
        #expect(response.messageClass == .successResponse)
        #expect(response.xorMappedAddress == client)
        #expect(response.verifyIntegrity(key: Array("serverpass0123456789ab".utf8)))
        #expect(response.verifyFingerprint())
        #expect(a.selectedAddress == nil)
    }

    @Test func useCandidateNominatesAndANewAddressTakesOver() {
        var a = agent()
        _ = a.handle(request(useCandidate: true), from: client, now: 1)
        #expect(a.selectedAddress == client)
        let moved = SocketAddressValue(ip: hex("fe800000000000000000000000000001"), port: 6000)!
        _ = a.handle(request(), from: moved, now: 2)
        #expect(a.selectedAddress == client, "a check without USE-CANDIDATE does not move the path")
        _ = a.handle(request(useCandidate: true), from: moved, now: 3)
        #expect(a.selectedAddress == moved)
    }

    @Test func wrongCredentialsAreRefusedWith401() throws {
        var a = agent()
        for bad in [request(password: "wrong-password-xxxxxx"), request(username: ("other", "cli1")), request(username: ("srv1", "intruder"))] {
            guard case .reject(_, let response?) = a.handle(bad, from: client, now: 1) else {
                Issue.record("accepted bad credentials")
                continue
            }
            #expect(try STUNMessage.parse(response).errorCode == 401)
        }
        #expect(a.selectedAddress == nil)
        #expect(a.lastConsent == nil)
    }

    @Test func badFingerprintAndGarbageAreDropped() {
        var a = agent()
        var bytes = request(useCandidate: true)
        bytes[bytes.count - 1] ^= 0xFF
        #expect(a.handle(bytes, from: client, now: 1) == .reject(reason: .badFingerprint, errorResponse: nil))
        #expect(a.handle([0, 1, 0], from: client, now: 1) == .reject(reason: .malformed, errorResponse: nil))
        #expect(a.selectedAddress == nil)
    }

    @Test func consentExpires29SecondsAfterTheLastValidCheck() {
        var a = agent()
        _ = a.handle(request(useCandidate: true), from: client, now: 10)
        #expect(!expired(&a, at: 38.9))
        _ = a.handle(request(), from: client, now: 35)
        #expect(!expired(&a, at: 63.9))
        #expect(expired(&a, at: 64))
    }

    @Test func aPeerThatNeverSendsACheckExpires29SecondsAfterTheFirstAsk() {
        var a = agent()
        #expect(!expired(&a, at: 1_000))  // the clock starts here
        #expect(!expired(&a, at: 1_028.9))
        #expect(expired(&a, at: 1_029))
    }

    @Test func aFirstCheckAfterTheAskCountsFromTheCheck() {
        var a = agent()
        #expect(!expired(&a, at: 100))
        _ = a.handle(request(useCandidate: true), from: client, now: 120)
        #expect(!expired(&a, at: 148.9))  // 48.9 s after the first ask, 28.9 after the check
        #expect(expired(&a, at: 149))
    }

    private func expired(_ a: inout ICELiteAgent, at now: Double) -> Bool {
        a.consentExpired(now: now)
    }

    @Test func restartTakesNewCredentials() {
        var a = agent()
        a.restart(localUfrag: "srv2", localPassword: "newserverpassword12345", remoteUfrag: "cli2")
        if case .respond = a.handle(request(), from: client, now: 1) { Issue.record("old credentials still accepted") }
        let fresh = ICELiteAgent.bindingRequest(localUfrag: "cli2", remoteUfrag: "srv2", remotePassword: "newserverpassword12345",
                                                priority: 1, tieBreaker: 1, useCandidate: true)
        #expect(a.handle(fresh, from: client, now: 2) != .ignore)
        #expect(a.selectedAddress == client)
    }

    @Test func randomAndFlippedBytesNeverCrash() {
        var a = agent()
        var rng = SystemRandomNumberGenerator()
        let good = request(useCandidate: true)
        for i in 0..<5_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0...120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if bytes.count > 8 { bytes[0] = 0; bytes[4...7] = [0x21, 0x12, 0xA4, 0x42] }
            } else {
                bytes = good
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            switch a.handle(bytes, from: client, now: 1) {
            case .respond: Issue.record("a corrupted request was accepted: \(bytes)")
            default: break
            }
        }
    }
}

import Foundation
import Testing
@testable import AccessTokens

/// Tokens minted by an independent library (PyJWT: Fixtures/mint.py), verified at the fixture's `now`.
@Suite struct AccessTokenVerifierTests {
    struct Fixture: Decodable {
        var now: Double
        var secrets: [String: String]
        var ecPublicKey: String
        var rsaPublicKey: String
        var jwks: JWKS
        var tokens: [String: String]
        struct JWKS: Codable { var keys: [[String: String]] }
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokens.json")
        // A missing or broken fixture is the test's own bug: fail loudly.
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    let now = Date(timeIntervalSince1970: fixture.now)

    func verifier() async throws -> AccessTokenVerifier {
        let f = Self.fixture
        let jwks = String(decoding: try JSONEncoder().encode(f.jwks), as: UTF8.self)
        return try await AccessTokenVerifier.make([
            .hmac(id: "app", secret: Array(f.secrets["app"]!.utf8)),
            .hmac(id: "app2", secret: Array(f.secrets["app2"]!.utf8)),
            .publicKey(id: "ec1", pem: f.ecPublicKey),
            .publicKey(id: "rsa1", pem: f.rsaPublicKey),
            .jwks(json: jwks),
        ])
    }

    func token(_ name: String) -> String { Self.fixture.tokens[name]! }

    @Test func anHS256TokenGivesItsClaimsAndLiveKitGrants() async throws {
        let claims = try await verifier().verify(token("valid"), now: now)
        #expect(claims == AccessToken(subject: "alice", name: "Alice", expires: now.addingTimeInterval(3600),
                                      video: VideoGrant(room: "abc", roomJoin: true, canPublish: false)))
    }

    @Test func theKeyIsPickedByKidElseByIss() async throws {
        let claims = try await verifier().verify(token("byIssuer"), now: now)
        #expect(claims.subject == "bob" && claims.issuer == "app2")
        await #expect(throws: AccessTokenError.unknownKey) { try await verifier().verify(token("unknownKid"), now: now) }
    }

    @Test(arguments: ["es256", "rs256", "jwks"])
    func publicKeysVerify(_ name: String) async throws {
        #expect(try await verifier().verify(token(name), now: now).subject == "alice")
    }

    @Test(arguments: ["wrongSecret", "algNone", "tampered", "hs256KeyedWithTheECPublicKey"])
    func forgedTokensAreRefused(_ name: String) async throws {
        await #expect(throws: AccessTokenError.badSignature) { try await verifier().verify(token(name), now: now) }
    }

    @Test func timesAllowAMinuteOfSkew() async throws {
        let v = try await verifier()
        await #expect(throws: AccessTokenError.expired) { try await v.verify(token("expired"), now: now) }
        await #expect(throws: AccessTokenError.notYetValid) { try await v.verify(token("notYetValid"), now: now) }
        #expect(try await v.verify(token("expiredWithinLeeway"), now: now).subject == "alice")
        await #expect(throws: AccessTokenError.expired) {
            try await v.verify(token("expiredWithinLeeway"), now: now.addingTimeInterval(31))
        }
    }

    @Test func expAndSubAreRequired() async throws {
        let v = try await verifier()
        await #expect(throws: AccessTokenError.missingClaim("exp")) { try await v.verify(token("noExp"), now: now) }
        await #expect(throws: AccessTokenError.missingClaim("sub")) { try await v.verify(token("noSub"), now: now) }
    }

    @Test(arguments: ["", "abc", "a.b", "a.b.c.d", "!!!.???.###", String(repeating: "a", count: 9000)])
    func garbageIsMalformed(_ text: String) async throws {
        await #expect(throws: AccessTokenError.malformed) { try await verifier().verify(text, now: now) }
    }

    @Test func unusableKeysAreRefusedAtStart() async throws {
        await #expect(throws: AccessTokenKeyError.shortSecret(id: "k", bytes: 31)) {
            try await AccessTokenVerifier.make([.hmac(id: "k", secret: Array(repeating: 1, count: 31))])
        }
        await #expect(throws: AccessTokenKeyError.badPublicKey(id: "p")) {
            try await AccessTokenVerifier.make([.publicKey(id: "p", pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")])
        }
        await #expect(throws: AccessTokenKeyError.duplicateID("k")) {
            try await AccessTokenVerifier.make([.hmac(id: "k", secret: Array(repeating: 1, count: 32)),
                                                 .hmac(id: "k", secret: Array(repeating: 2, count: 32))])
        }
        await #expect(throws: AccessTokenKeyError.noKeys) { try await AccessTokenVerifier.make([]) }
        await #expect(throws: AccessTokenKeyError.badJWKS("a key without 'kid'")) {
            try await AccessTokenVerifier.make([.jwks(json: #"{"keys": [{"kty": "EC"}]}"#)])
        }
    }

    @Test func withOneKeyATokenNamingNoneUsesIt() async throws {
        let f = Self.fixture
        let only = try await AccessTokenVerifier.make([.hmac(id: "app2", secret: Array(f.secrets["app2"]!.utf8))])
        // "byIssuer" names iss app2 anyway; "valid" names kid "app", which this server does not have.
        #expect(try await only.verify(token("byIssuer"), now: now).subject == "bob")
        await #expect(throws: AccessTokenError.unknownKey) { try await only.verify(token("valid"), now: now) }
    }
}

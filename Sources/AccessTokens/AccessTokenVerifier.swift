import Foundation
import JWTKit

/// A key that signs access tokens.
public enum AccessTokenKey: Sendable {
    /// HS256 with a shared secret (at least 32 bytes).
    case hmac(id: String, secret: [UInt8])
    /// ES256 (a P-256 key) or RS256 (an RSA key), by the PEM public key's type.
    case publicKey(id: String, pem: String)
    /// A JSON Web Key Set: each of its keys by its `kid`.
    case jwks(json: String)
}

/// Verifies access tokens (JWT). The key is picked by the token's `kid`, else by its `iss` (as LiveKit does with
/// its API key), else the only key there is; that key's own algorithm verifies: the header's `alg` never picks one,
/// so `none` and algorithm confusion fail. `exp` and `sub` are required; times allow a minute of clock skew.
public struct AccessTokenVerifier: Sendable {
    public static let leeway: TimeInterval = 60
    /// Longer strings are refused before any parsing.
    public static let maxTokenLength = 8192

    /// One collection per key, holding it as its default: whatever `kid` a token names, that key verifies it.
    private let keys: [String: JWTKeyCollection]

    private init(keys: [String: JWTKeyCollection]) {
        self.keys = keys
    }

    public static func make(_ keys: [AccessTokenKey]) async throws(AccessTokenKeyError) -> AccessTokenVerifier {
        var collections: [String: JWTKeyCollection] = [:]
        func insert(_ id: String, _ collection: JWTKeyCollection) throws(AccessTokenKeyError) {
            guard collections[id] == nil else { throw .duplicateID(id) }
            collections[id] = collection
        }
        for key in keys {
            switch key {
            case .hmac(let id, let secret):
                // jwt-kit asserts on a shorter HMAC key (a crash in debug builds): refuse it here, at start.
                guard secret.count >= 32 else { throw .shortSecret(id: id, bytes: secret.count) }
                try insert(id, await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: JWKIdentifier(string: id)))
            case .publicKey(let id, let pem):
                if let ec = try? ES256PublicKey(pem: pem) {
                    try insert(id, await JWTKeyCollection().add(ecdsa: ec, kid: JWKIdentifier(string: id)))
                } else if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                    try insert(id, await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256, kid: JWKIdentifier(string: id)))
                } else {
                    throw .badPublicKey(id: id)
                }
            case .jwks(let json):
                for (id, single) in try splitJWKS(json) {
                    let collection = JWTKeyCollection()
                    do {
                        try await collection.add(jwksJSON: single)
                    } catch {
                        throw .badJWKS("key '\(id)': \(error)")
                    }
                    try insert(id, collection)
                }
            }
        }
        guard !collections.isEmpty else { throw .noKeys }
        return AccessTokenVerifier(keys: collections)
    }

    public func verify(_ token: String, now: Date = Date()) async throws(AccessTokenError) -> AccessToken {
        guard token.utf8.count <= Self.maxTokenLength else { throw .malformed }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.json(parts[0], as: Header.self),
              let peek = Self.json(parts[1], as: Issuer.self) else { throw .malformed }
        let id = header.kid ?? peek.iss ?? (keys.count == 1 ? keys.keys.first : nil)
        guard let id, let collection = keys[id] else { throw .unknownKey }
        let claims: Claims
        do {
            claims = try await collection.verify(token, as: Claims.self)
        } catch {
            throw .badSignature
        }
        guard let expires = claims.exp?.value else { throw .missingClaim("exp") }
        guard let subject = claims.sub?.value, !subject.isEmpty else { throw .missingClaim("sub") }
        guard now.timeIntervalSince(expires) < Self.leeway else { throw .expired }
        if let notBefore = claims.nbf?.value, notBefore.timeIntervalSince(now) > Self.leeway { throw .notYetValid }
        return AccessToken(subject: subject, name: claims.name, issuer: claims.iss?.value, expires: expires,
                           video: claims.video ?? VideoGrant())
    }

    private struct Header: Decodable { var kid: String? }
    private struct Issuer: Decodable { var iss: String? }

    private struct Claims: JWTPayload {
        var sub: SubjectClaim?
        var iss: IssuerClaim?
        var exp: ExpirationClaim?
        var nbf: NotBeforeClaim?
        var name: String?
        var video: VideoGrant?

        /// Times are checked by the verifier, with its leeway and clock.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// A base64url JSON segment decoded, or nil.
    private static func json<T: Decodable>(_ segment: Substring, as type: T.Type) -> T? {
        var base64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }

    /// `{"keys": [...]}` → one single-key JWKS per key, by its `kid`.
    private static func splitJWKS(_ json: String) throws(AccessTokenKeyError) -> [(String, String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let list = object["keys"] as? [[String: Any]] else { throw .badJWKS("not a JSON object with a 'keys' array") }
        var out: [(String, String)] = []
        for key in list {
            guard let kid = key["kid"] as? String, !kid.isEmpty else { throw .badJWKS("a key without 'kid'") }
            guard let data = try? JSONSerialization.data(withJSONObject: ["keys": [key]]),
                  let single = String(data: data, encoding: .utf8) else { throw .badJWKS("key '\(kid)' cannot be re-encoded") }
            out.append((kid, single))
        }
        return out
    }
}

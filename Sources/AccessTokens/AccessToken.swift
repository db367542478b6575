import Foundation

/// What a token lets its holder do in rooms, under LiveKit's claim names (`video` in the token), so token minters
/// written for LiveKit work with another audience. An absent flag is `nil`; what it means is the caller's rule.
public struct VideoGrant: Codable, Sendable, Equatable {
    public var room: String?
    public var roomJoin: Bool?
    public var canPublish: Bool?
    public var canSubscribe: Bool?
    public var canPublishData: Bool?
    public var roomAdmin: Bool?
    public var roomList: Bool?
    public var roomCreate: Bool?
    public var roomRecord: Bool?

    public init(room: String? = nil, roomJoin: Bool? = nil, canPublish: Bool? = nil, canSubscribe: Bool? = nil,
                canPublishData: Bool? = nil, roomAdmin: Bool? = nil, roomList: Bool? = nil, roomCreate: Bool? = nil,
                roomRecord: Bool? = nil) {
        self.room = room
        self.roomJoin = roomJoin
        self.canPublish = canPublish
        self.canSubscribe = canSubscribe
        self.canPublishData = canPublishData
        self.roomAdmin = roomAdmin
        self.roomList = roomList
        self.roomCreate = roomCreate
        self.roomRecord = roomRecord
    }
}

/// The claims of a token whose signature and times were verified.
public struct AccessToken: Sendable, Equatable {
    /// `sub`: who holds it.
    public var subject: String
    /// `name`, if given.
    public var name: String?
    /// `iss`, if given (LiveKit puts its API key there).
    public var issuer: String?
    public var expires: Date
    public var video: VideoGrant

    public init(subject: String, name: String? = nil, issuer: String? = nil, expires: Date, video: VideoGrant = VideoGrant()) {
        self.subject = subject
        self.name = name
        self.issuer = issuer
        self.expires = expires
        self.video = video
    }
}

/// Why a token was refused; `message` is for people (it never echoes the token).
public enum AccessTokenError: Error, Sendable, Equatable {
    case malformed
    case unknownKey
    case badSignature
    case missingClaim(String)
    case expired
    case notYetValid

    public var message: String {
        switch self {
        case .malformed: "The token is not a JWT"
        case .unknownKey: "The token names no key this server knows (its 'kid', or its 'iss')"
        case .badSignature: "The token's signature does not verify"
        case .missingClaim(let name): "The token has no '\(name)' claim"
        case .expired: "The token has expired"
        case .notYetValid: "The token is not valid yet ('nbf')"
        }
    }
}

/// A key set that cannot be used, found at start.
public enum AccessTokenKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    case shortSecret(id: String, bytes: Int)
    case badPublicKey(id: String)
    case badJWKS(String)
    case duplicateID(String)
    case noKeys

    public var description: String {
        switch self {
        case .shortSecret(let id, let bytes):
            "The HS256 secret of key '\(id)' has \(bytes) bytes: it needs at least 32"
        case .badPublicKey(let id):
            "Key '\(id)' is neither a P-256 (ES256) nor an RSA (RS256, at least 2048 bits) public key in PEM"
        case .badJWKS(let why): "The JWKS cannot be used: \(why)"
        case .duplicateID(let id): "Two keys are named '\(id)'"
        case .noKeys: "Token checks are on but no key is given"
        }
    }
}

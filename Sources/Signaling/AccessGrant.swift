import Rooms

/// What a session may do, from its access token (docs/PROTOCOL.md, "Access tokens"). Without token checks every
/// session may do everything.
public struct AccessGrant: Sendable, Equatable {
    /// The name in rooms: the token's subject, whatever name `connect` asked for.
    public var identity: String
    /// The one room it may join; nil: any room.
    public var room: String?
    public var canJoin: Bool
    public var canPublish: Bool
    public var canSubscribe: Bool
    public var canPublishData: Bool
    public var canRecord: Bool
    /// The admin API: `roomList` lists rooms; `roomAdmin` reads and acts on rooms (only `room`'s, if set).
    public var canListRooms: Bool
    public var isRoomAdmin: Bool

    public init(identity: String, room: String? = nil, canJoin: Bool = true, canPublish: Bool = true,
                canSubscribe: Bool = true, canPublishData: Bool = true, canRecord: Bool = false,
                canListRooms: Bool = false, isRoomAdmin: Bool = false) {
        self.canListRooms = canListRooms
        self.isRoomAdmin = isRoomAdmin
        self.identity = identity
        self.room = room
        self.canJoin = canJoin
        self.canPublish = canPublish
        self.canSubscribe = canSubscribe
        self.canPublishData = canPublishData
        self.canRecord = canRecord
    }

    // The grant's rules, one place for every adapter: each says why a request is refused, or nil when allowed.

    /// Joining `room` (nil: the server names a new room).
    public func refusesJoin(_ room: String?) -> ProtocolError? {
        guard canJoin else { return .forbidden("The access token does not allow joining rooms ('roomJoin')") }
        return refusesRoom(room)
    }

    /// Anything in `room` (nil: outside rooms) when the token names another one.
    public func refusesRoom(_ room: String?) -> ProtocolError? {
        if let only = self.room, room != only { return .forbidden("The access token is for room '\(only)' only") }
        return nil
    }

    /// Publishing, as participant `name` where the adapter names the publisher (WHIP, RTMP), recorded or not.
    public func refusesPublish(as name: String? = nil, record: Bool) -> ProtocolError? {
        if !canPublish { return .forbidden("The access token does not allow publishing ('canPublish')") }
        if let name, name != identity { return .forbidden("The access token publishes as '\(identity)', not '\(name)'") }
        if record && !canRecord { return .forbidden("The access token does not allow recording ('roomRecord')") }
        return nil
    }

    public func refusesPlay() -> ProtocolError? {
        canSubscribe ? nil : .forbidden("The access token does not allow playing ('canSubscribe')")
    }

    public func refusesChat() -> ProtocolError? {
        canPublishData ? nil : .forbidden("The access token does not allow chat ('canPublishData')")
    }
}

/// Turns access tokens into grants: the server's token checks, behind a protocol so that signaling knows no JWT.
public protocol AccessControl: Sendable {
    /// The grant of `token`, or why it is refused (an `unauthorized` error).
    func grant(token: String) async -> Result<AccessGrant, ProtocolError>
}

extension AccessControl {
    /// The grant of a request's token, or an `unauthorized` refusal: `missing` when there is none, and when the
    /// token's subject cannot be a name in rooms.
    public func grant(token: String?, missing: String) async -> Result<AccessGrant, ProtocolError> {
        guard let token, !token.isEmpty else { return .failure(.unauthorized(missing)) }
        let result = await grant(token: token)
        if case .success(let granted) = result, (try? Validation.username(granted.identity)) == nil {
            return .failure(.unauthorized("The access token's subject is not a valid username"))
        }
        return result
    }
}

extension ProtocolError {
    /// No token, or one that does not verify (bad signature, expired, unknown key): the socket is closed after it.
    public static func unauthorized(_ detail: String) -> Self { .init(code: "unauthorized", message: detail) }
    /// A valid token that does not allow this request.
    public static func forbidden(_ detail: String) -> Self { .init(code: "forbidden", message: detail) }
}

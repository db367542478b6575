/// The operator's backend deciding connects, joins and publishes itself (`--auth-hook-url`; docs/DEPLOY.md,
/// "Authorization hook"), after any token checks. Behind a protocol so that signaling knows no HTTP.
public protocol AccessHook: Sendable {
    /// nil allows the request; otherwise why it is refused (a `forbidden` error).
    func authorize(_ request: AccessHookRequest) async -> ProtocolError?
}

/// What a client asks for, as the hook is told it. Fields that do not apply are nil.
public struct AccessHookRequest: Sendable, Equatable {
    public enum Action: String, Sendable { case connect, join, publish }
    /// The door the client came in by.
    public enum Door: String, Sendable { case parley, wcs, whip, rtmp }

    public var action: Action
    /// The participant's name (with access tokens, the token's subject); nil for a WCS connection without a login.
    public var name: String?
    public var room: String?
    /// The stream's name: WCS's `name`, the Parley protocol's `display`; WHIP and RTMP name the participant only.
    public var stream: String?
    /// A publish asks to be recorded.
    public var record: Bool?
    public var door: Door
    /// The client's address; the server fills it in for a socket's sessions.
    public var address: String?
    /// The token the client gave, verified or not (with `--auth off` the backend may check its own).
    public var token: String?

    public init(_ action: Action, name: String?, room: String? = nil, stream: String? = nil, record: Bool? = nil,
                door: Door, address: String? = nil, token: String?) {
        self.action = action
        self.name = name
        self.room = room
        self.stream = stream
        self.record = record
        self.door = door
        self.address = address
        self.token = token
    }
}

import AccessTokens
import Signaling

/// The server's token checks: access tokens (JWT) verified into grants, with LiveKit's grant rules: joining needs
/// `roomJoin`; `canPublish`, `canSubscribe` and `canPublishData` allow unless set to false; recording needs
/// `roomRecord`; `video.room` limits joins to that room.
actor TokenAccess: AccessControl {
    private let keys: [AccessTokenKey]
    private var verifier: AccessTokenVerifier?

    init(keys: [AccessTokenKey]) {
        self.keys = keys
    }

    /// Builds the key set; the server calls it at start so that an unusable key stops it with a clear message.
    @discardableResult
    func prepare() async throws(AccessTokenKeyError) -> AccessTokenVerifier {
        if let verifier { return verifier }
        let made = try await AccessTokenVerifier.make(keys)
        verifier = made
        return made
    }

    func grant(token: String) async -> Result<AccessGrant, ProtocolError> {
        let verified: AccessToken
        do {
            verified = try await prepare().verify(token)
        } catch let error as AccessTokenError {
            return .failure(.unauthorized(error.message))
        } catch {
            return .failure(.unauthorized("The server cannot check tokens: \(error)"))
        }
        return .success(Self.grant(verified))
    }

    static func grant(_ token: AccessToken) -> AccessGrant {
        let video = token.video
        return AccessGrant(identity: token.subject, room: video.room, canJoin: video.roomJoin == true,
                           canPublish: video.canPublish ?? true, canSubscribe: video.canSubscribe ?? true,
                           canPublishData: video.canPublishData ?? true, canRecord: video.roomRecord == true,
                           canListRooms: video.roomList == true, isRoomAdmin: video.roomAdmin == true)
    }
}

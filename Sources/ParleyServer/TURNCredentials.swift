import Crypto
import Foundation
import Rooms
import Signaling

/// TURN credentials in coturn's REST form (`use-auth-secret`, draft-uberti-behave-turn-rest-00): the username is
/// `<expiry>:<session id>` (expiry in Unix seconds), the credential is base64(HMAC-SHA1(secret, username)). coturn
/// checks both with the shared secret alone, so Parley keeps no state and the TURN server needs no user list.
struct TURNCredentials: IceServerSource {
    let urls: [String]
    let secret: [UInt8]
    let ttl: Duration
    var now: @Sendable () -> Date = { Date() }

    func iceServers(for session: SessionID) -> [IceServer] {
        let expiry = Int64(now().timeIntervalSince1970) + ttl.components.seconds
        let username = "\(expiry):\(session)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array(username.utf8), using: SymmetricKey(data: secret))
        return [IceServer(urls: urls, username: username, credential: Data(mac).base64EncodedString())]
    }
}

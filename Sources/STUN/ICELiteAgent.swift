/// The server side of ICE-lite (RFC 8445 §2.5) for one peer connection, with consent freshness (RFC 7675).
/// Pure logic: the caller passes datagrams, source addresses and the time, and sends what it returns.
public struct ICELiteAgent: Sendable {
    public enum Result: Sendable, Equatable {
        /// A valid check: send `response` back to the source. `nominated` when it carried USE-CANDIDATE.
        case respond(response: [UInt8], nominated: Bool)
        /// Refused: send `errorResponse` if present (400/401), and count the drop.
        case reject(reason: RejectReason, errorResponse: [UInt8]?)
        /// Nothing to do (e.g. a response or an indication used as keepalive).
        case ignore
    }

    public enum RejectReason: String, Sendable, Equatable {
        case malformed
        case badFingerprint
        case unknownUsername
        case badIntegrity
        case notBinding
    }

    /// Consent expires after this many seconds without a valid check (RFC 7675 §5.1).
    /// RFC 7675's 30 s is the longest a sender may go on without consent; the server, checking every second,
    /// gives up on a silent peer at 29 s so that its streams end within 30 s (browsers check every ~5 s).
    public static let consentTimeout: Double = 29

    public private(set) var localUfrag: String
    public private(set) var localPassword: String
    public private(set) var remoteUfrag: String?
    /// The address the peer nominated: media goes there and is accepted only from there.
    public private(set) var selectedAddress: SocketAddressValue?
    public private(set) var lastConsent: Double?
    public var software: String = "parley"

    public init(localUfrag: String, localPassword: String, remoteUfrag: String?) {
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = remoteUfrag
    }

    /// An ICE restart: new credentials on both sides; the selected address stays until a new nomination.
    public mutating func restart(localUfrag: String, localPassword: String, remoteUfrag: String?) {
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = remoteUfrag
    }

    /// When consent was first asked about while no check had come yet.
    private var firstAskedWithoutConsent: Double?

    /// Whether consent has expired: `consentTimeout` since the last valid check or, for a peer that never sent one
    /// (its client gave up after the answer, or UDP to the media port is blocked), since this was first asked.
    /// Without the second clock such a peer's connection, and whatever stands behind it, would stay for good.
    public mutating func consentExpired(now: Double) -> Bool {
        guard let since = lastConsent ?? firstAskedWithoutConsent else {
            firstAskedWithoutConsent = now
            return false
        }
        return now - since >= Self.consentTimeout
    }

    public mutating func handle(_ datagram: [UInt8], from source: SocketAddressValue, now: Double) -> Result {
        let message: STUNMessage
        do {
            message = try STUNMessage.parse(datagram)
        } catch {
            return .reject(reason: .malformed, errorResponse: nil)
        }
        guard message.method == STUNMessage.bindingMethod else { return .reject(reason: .notBinding, errorResponse: nil) }
        switch message.messageClass {
        case .indication:
            return .ignore  // keepalives carry no credentials
        case .successResponse, .errorResponse:
            return .ignore  // a lite agent sends no checks, so expects no responses
        case .request:
            break
        }
        // ICE checks must carry FINGERPRINT (RFC 8445 §7.2.2); it also catches a damaged tail after integrity.
        guard message.verifyFingerprint() else {
            return .reject(reason: .badFingerprint, errorResponse: nil)
        }
        guard let username = message.username, message.has(STUNMessage.AttributeType.messageIntegrity) else {
            return .reject(reason: .malformed, errorResponse: errorResponse(message, code: 400, reason: "Bad Request"))
        }
        // USERNAME is "ourUfrag:theirUfrag"; the remote part is checked only when the offer told us it.
        let parts = username.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == localUfrag, remoteUfrag == nil || parts[1] == remoteUfrag else {
            return .reject(reason: .unknownUsername, errorResponse: errorResponse(message, code: 401, reason: "Unauthorized"))
        }
        guard message.verifyIntegrity(key: Array(localPassword.utf8)) else {
            return .reject(reason: .badIntegrity, errorResponse: errorResponse(message, code: 401, reason: "Unauthorized"))
        }
        lastConsent = now
        let nominated = message.has(STUNMessage.AttributeType.useCandidate)
        // A nomination from a new address (network change, ICE restart) moves the media path there.
        if nominated {
            selectedAddress = source
        }
        var builder = STUNBuilder(class: .successResponse, transactionID: message.transactionID)
        builder.addXorMappedAddress(source)
        builder.addMessageIntegrity(key: Array(localPassword.utf8))
        builder.addFingerprint()
        return .respond(response: builder.build(), nominated: nominated)
    }

    private func errorResponse(_ request: STUNMessage, code: Int, reason: String) -> [UInt8] {
        var builder = STUNBuilder(class: .errorResponse, transactionID: request.transactionID)
        builder.addErrorCode(code, reason: reason)
        builder.addFingerprint()
        return builder.build()
    }

    /// A binding request as a controlling agent sends it (used by test peers and the load generator).
    public static func bindingRequest(localUfrag: String, remoteUfrag: String, remotePassword: String,
                                      priority: UInt32, tieBreaker: UInt64, useCandidate: Bool,
                                      transactionID: [UInt8] = STUNBuilder.newTransactionID()) -> [UInt8] {
        var builder = STUNBuilder(class: .request, transactionID: transactionID)
        builder.addUsername("\(remoteUfrag):\(localUfrag)")
        builder.addPriority(priority)
        builder.addIceControlling(tieBreaker: tieBreaker)
        if useCandidate { builder.addUseCandidate() }
        builder.addMessageIntegrity(key: Array(remotePassword.utf8))
        builder.addFingerprint()
        return builder.build()
    }
}

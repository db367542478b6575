import Hummingbird
import HummingbirdWebSocket

/// Which web pages may open Parley's WebSockets: the `Origin` a browser sends with the upgrade, so that another
/// site cannot drive a visitor's browser into the server. Clients that are not browsers send no Origin and pass;
/// access tokens are what holds them back.
struct OriginPolicy: Sendable {
    enum Rule: Sendable, Equatable {
        case any
        /// The page's origin must name the host the upgrade went to (its `Host`).
        case sameOrigin
        case list(Set<String>)
    }

    let rule: Rule

    /// `allowed`: origins such as `https://app.example.com` (`*` for any). Without any, pages of every origin may
    /// connect, unless `sameOriginByDefault` (token checks are on): then only the server's own pages.
    init(_ allowed: [String], sameOriginByDefault: Bool) {
        if allowed.contains("*") {
            rule = .any
        } else if !allowed.isEmpty {
            rule = .list(Set(allowed.map(Self.normalized)))
        } else {
            rule = sameOriginByDefault ? .sameOrigin : .any
        }
    }

    func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        switch rule {
        case .any:
            return true
        case .list(let origins):
            return origins.contains(Self.normalized(origin))
        case .sameOrigin:
            guard let host, let separator = origin.range(of: "://") else { return false }
            return origin[separator.upperBound...].lowercased() == host.lowercased()
        }
    }

    func shouldUpgrade(_ request: Request, counting failures: AuthFailures) -> RouterShouldUpgrade {
        if allows(origin: request.headers[.origin], host: request.head.authority) { return .upgrade([:]) }
        failures.refusedOrigin()
        return .dontUpgrade
    }

    static func normalized(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

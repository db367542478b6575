import AccessTokens
import Dispatch
import Foundation
import Synchronization

enum AccessTokenFuzz {
    /// The keys of Tests/AccessTokensTests/Fixtures (its tokens are the seeds), so valid tokens reach the claims.
    static let secret = Array("parley-test-secret-0123456789abcdef".utf8)
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static let verifier: AccessTokenVerifier = blocking {
        do {
            return try await AccessTokenVerifier.make([.hmac(id: "app", secret: secret)])
        } catch {
            FuzzCheck.fail("the fuzz key set: \(error)")
        }
    }

    /// Any text as a token: refused with a typed error or verified; never a trap. Verified claims have a subject,
    /// and the same text gets the same verdict twice.
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        let first = blocking { await verdict(text) }
        let second = blocking { await verdict(text) }
        FuzzCheck.expect(first == second, "two verdicts for one token: \(first) then \(second)")
        if case .success(let token) = first { FuzzCheck.expect(!token.subject.isEmpty, "a verified token without a subject") }
    }

    static func verdict(_ text: String) async -> Result<AccessToken, AccessTokenError> {
        do {
            return .success(try await verifier.verify(text, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// libFuzzer calls targets synchronously; the verifier's key set is an actor.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        guard let value = result.withLock({ $0 }) else { FuzzCheck.fail("no result") }
        return value
    }
}

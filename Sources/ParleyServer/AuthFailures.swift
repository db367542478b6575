import Signaling
import Synchronization

/// Failed token checks per address. Past `limit` failures within `window`, every further check from that address
/// waits `delay` first: a guesser gets a few tries a minute, and a client with a good token is not held up. The
/// table keeps at most `maxAddresses` (the oldest go first), so a flood from many addresses cannot grow it.
final class AuthFailures: Sendable {
    struct Limits: Sendable {
        var limit = 10
        var window: Duration = .seconds(60)
        var delay: Duration = .seconds(2)
        var maxAddresses = 10_000
    }

    struct Snapshot: Codable, Sendable, Equatable {
        /// Tokens refused (missing ones not counted), and checks held back by the delay.
        var failures: Int
        var slowed: Int
        /// WebSocket upgrades refused for their Origin.
        var originRefused: Int
        /// The authorization hook's answers, when there is one (`--auth-hook-url`).
        var hook: AuthHook.Snapshot? = nil
    }

    let limits: Limits
    private let recent = Mutex<[String: (count: Int, since: ContinuousClock.Instant)]>([:])
    private let failures = Atomic<Int>(0)
    private let slowed = Atomic<Int>(0)
    private let originRefused = Atomic<Int>(0)

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    var snapshot: Snapshot {
        Snapshot(failures: failures.load(ordering: .relaxed), slowed: slowed.load(ordering: .relaxed),
                 originRefused: originRefused.load(ordering: .relaxed))
    }

    func refusedOrigin() { originRefused.add(1, ordering: .relaxed) }

    /// True when `address` is past its limit now.
    func isSlowed(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        recent.withLock { table in
            guard let entry = table[address] else { return false }
            return now - entry.since < limits.window && entry.count >= limits.limit
        }
    }

    func failed(_ address: String, now: ContinuousClock.Instant = .now) {
        failures.add(1, ordering: .relaxed)
        recent.withLock { table in
            if var entry = table[address], now - entry.since < limits.window {
                entry.count += 1
                table[address] = entry
                return
            }
            if table.count >= limits.maxAddresses {
                table = table.filter { now - $0.value.since < limits.window }
                if table.count >= limits.maxAddresses, let oldest = table.min(by: { $0.value.since < $1.value.since }) {
                    table[oldest.key] = nil
                }
            }
            table[address] = (1, now)
        }
    }

    /// The server's token checks as seen from one address: refusals counted, and slowed past the limit.
    func guarding(_ access: (any AccessControl)?, address: String?) -> (any AccessControl)? {
        access.map { AddressedAccess(base: $0, address: address ?? "unknown", failures: self) }
    }

    func wait(_ address: String) async {
        guard isSlowed(address) else { return }
        slowed.add(1, ordering: .relaxed)
        try? await Task.sleep(for: limits.delay)
    }
}

private struct AddressedAccess: AccessControl {
    let base: any AccessControl
    let address: String
    let failures: AuthFailures

    func grant(token: String) async -> Result<AccessGrant, ProtocolError> {
        await failures.wait(address)
        let result = await base.grant(token: token)
        if case .failure = result { failures.failed(address) }
        return result
    }
}

import Foundation
import Rooms
import Signaling
import Testing
@testable import ParleyServer

@Suite struct OriginPolicyTests {
    @Test func withoutTokenChecksEveryOriginMayConnect() {
        let open = OriginPolicy([], sameOriginByDefault: false)
        #expect(open.rule == .any && open.allows(origin: "https://anywhere.example", host: "parley.example"))
    }

    @Test func withTokenChecksOnlyTheServersOwnPagesByDefault() {
        let own = OriginPolicy([], sameOriginByDefault: true)
        #expect(own.allows(origin: "https://parley.example:8443", host: "parley.example:8443"))
        #expect(own.allows(origin: "http://PARLEY.example", host: "parley.example"))
        #expect(!own.allows(origin: "https://evil.example", host: "parley.example"))
        #expect(!own.allows(origin: "null", host: "parley.example"))
        #expect(!own.allows(origin: "https://parley.example", host: nil))
        #expect(own.allows(origin: nil, host: "parley.example"), "no Origin: not a browser")
    }

    @Test func anAllowListIsExactButForCaseAndATrailingSlash() {
        let list = OriginPolicy(["https://App.example/", "http://localhost:3000"], sameOriginByDefault: true)
        #expect(list.allows(origin: "https://app.example", host: "parley.example"))
        #expect(list.allows(origin: "http://localhost:3000", host: "parley.example"))
        #expect(!list.allows(origin: "https://app.example.evil", host: "parley.example"))
        #expect(!list.allows(origin: "https://parley.example", host: "parley.example"), "the list replaces same-origin")
        #expect(OriginPolicy(["https://a.example", "*"], sameOriginByDefault: true).rule == .any)
    }
}

@Suite struct AuthFailuresTests {
    @Test func anAddressPastItsLimitIsSlowedForTheWindowOnly() {
        let failures = AuthFailures(limits: .init(limit: 3, window: .seconds(60), delay: .seconds(2)))
        let start = ContinuousClock.now
        for i in 0..<3 {
            #expect(!failures.isSlowed("a", now: start + .seconds(i)))
            failures.failed("a", now: start + .seconds(i))
        }
        #expect(failures.isSlowed("a", now: start + .seconds(10)))
        #expect(!failures.isSlowed("b", now: start + .seconds(10)), "per address")
        #expect(!failures.isSlowed("a", now: start + .seconds(61)), "the window ends")
        failures.failed("a", now: start + .seconds(61))
        #expect(!failures.isSlowed("a", now: start + .seconds(62)), "a new window starts at one")
        #expect(failures.snapshot.failures == 4)
    }

    @Test func theTableStaysBounded() {
        let failures = AuthFailures(limits: .init(limit: 1, maxAddresses: 100))
        let start = ContinuousClock.now, end = start + .seconds(1)
        for i in 0..<1_000 { failures.failed("10.0.\(i / 256).\(i % 256)", now: start + .milliseconds(i)) }
        #expect(failures.isSlowed("10.0.3.231", now: end), "the newest is kept")
        #expect(!failures.isSlowed("10.0.0.0", now: end), "the oldest went")
    }
}

@Suite struct TURNCredentialsTests {
    /// The expected credential is Python's `base64(hmac.new(secret, username, sha1))`, as coturn computes it.
    @Test func credentialsAreCoturnsRESTForm() {
        let turn = TURNCredentials(urls: ["turn:t.example:3478?transport=udp", "turns:t.example:443?transport=tcp"],
                                   secret: Array("north-turn-secret".utf8), ttl: .seconds(14_400),
                                   now: { Date(timeIntervalSince1970: 1_800_000_000) })
        #expect(turn.iceServers(for: "sess1") == [IceServer(urls: ["turn:t.example:3478?transport=udp", "turns:t.example:443?transport=tcp"],
                                                             username: "1800014400:sess1", credential: "UME04EYK9iYhr0Gv+fr/C3PhiJ4=")])
    }
}

@Suite struct WebhookSignatureTests {
    /// The expected hex is Python's `hmac.new(secret, b"<t>." + body, sha256).hexdigest()`.
    @Test func theSignatureIsHMACSHA256OfTheTimeAndTheBody() {
        let header = Webhooks.signature(Data(#"{"a":1}"#.utf8), secret: Array("north-webhook-secret".utf8),
                                        at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(header == "t=1800000000,v1=fa6a4498e61a21aa1cea992edc388c65445940ebb7d4be9c69daf36a9e6f3a4c")
    }

    @Test func hubActivityBecomesNamedEvents() async throws {
        let hooks = Webhooks(urls: ["http://127.0.0.1:9/"], secret: nil, logger: .init(label: "test"))
        hooks.observe(.roomStarted(room: "r"))
        hooks.observe(.event(.message(ChatMessage(room: "r", from: "a", to: nil, text: "x", time: 1))))  // not a webhook
        #expect(hooks.snapshot == .init(delivered: 0, failed: 0, dropped: 0))
        for _ in 0..<Webhooks.capacity + 5 { hooks.observe(.roomFinished(room: "r")) }
        #expect(hooks.snapshot.dropped == 6, "past the queue's capacity (room_started is in it) events are dropped and counted")
        await hooks.close()
    }
}

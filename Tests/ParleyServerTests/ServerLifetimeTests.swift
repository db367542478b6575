import Foundation
@testable import MediaNegotiation
@testable import ParleyServer
import Signaling
import Testing

/// A stopped server, and what its sessions made, must go away once nothing holds them: LeakSanitizer found every
/// test server kept whole (hub, media plane, sessions) by a reference cycle through `WHIPEndpoints`' recorder.
@Suite struct ServerLifetimeTests {
    final class Weak<T: AnyObject>: @unchecked Sendable {
        weak var value: T?
        init(_ value: T) { self.value = value }
    }

    /// The server's long-lived objects, watched without holding them.
    struct Watched {
        let endpoints: Weak<WHIPEndpoints>
        let hub: Weak<SignalingHub>
        let media: Weak<NegotiatingMediaService>

        init(_ server: ParleyServer) {
            endpoints = Weak(server.whipEndpoints)
            hub = Weak(server.hub)
            media = Weak(server.mediaSessions)
        }

        var gone: Bool { endpoints.value == nil && hub.value == nil && media.value == nil }
    }

    @Test func aServerThatWasNeverStartedIsFreed() throws {
        let watched = try {
            let server = try ParleyServer(configuration: ParleyConfiguration(host: "127.0.0.1", port: 0, mediaPort: 0, announcedIPs: ["127.0.0.1"]))
            return Watched(server)
        }()
        #expect(watched.gone, "the server's hub, media service or WHIP endpoints outlived it")
    }

    @Test func aStoppedServerIsFreedAfterWHIPSessionsCameAndWent() async throws {
        let offer = try WHIPTests.fixture("obs30-whip-offer.sdp")
        let watched = try await { () async throws -> Watched in
            let server = try await RunningServer.start()
            for i in 0..<5 {
                let created = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs\(i)",
                                                          headers: [WHIPTests.sdp], body: offer)
                #expect(created.status == 201, "\(created.status) \(created.body)")
                let location = try #require(WHIPTests.header("Location", created.head))
                #expect(try await RawSocket.request(port: server.port, "DELETE", location).status == 200)
            }
            #expect(await server.server.whipEndpoints.count == 0)
            try await server.waitForStats(rooms: 0, participants: 0)
            try await server.stop()
            return Watched(server.server)
        }()
        // Tasks of the stopped server may still be unwinding for a moment.
        try await waitUntil("the stopped server to be freed", timeout: .seconds(5)) { watched.gone }
    }

    @Test func aStoppedServerIsFreedAfterSocketsCameAndWent() async throws {
        let watched = try await { () async throws -> Watched in
            let server = try await RunningServer.start()
            let alice = try await TestClient.connected(server, as: "alice")
            _ = try await alice.request("join", ["room": "r"])
            let bob = WCSClient(server, label: "bob")
            try await bob.connect(login: "bob")
            _ = try await bob.join("r")
            let (_, peer) = try await WCSIntegrationTests().publish(bob, name: "bob-camera", room: "r")
            bob.close()
            alice.close()
            try await server.waitForStats(rooms: 0, participants: 0)
            try await waitUntil("sessions to end") { await server.server.hub.stats.sessions == 0 }
            try await server.stop()
            withExtendedLifetime(peer) {}
            return Watched(server.server)
        }()
        try await waitUntil("the stopped server to be freed", timeout: .seconds(5)) { watched.gone }
    }

    @Test func aServerStoppedWithAWHIPSessionOpenIsFreed() async throws {
        let offer = try WHIPTests.fixture("obs30-whip-offer.sdp")
        let watched = try await { () async throws -> Watched in
            let server = try await RunningServer.start()
            let created = try await RawSocket.request(port: server.port, "POST", "/whip/r/obs", headers: [WHIPTests.sdp], body: offer)
            #expect(created.status == 201, "\(created.status) \(created.body)")
            try await server.stop()
            return Watched(server.server)
        }()
        try await waitUntil("the stopped server to be freed", timeout: .seconds(5)) { watched.gone }
    }
}

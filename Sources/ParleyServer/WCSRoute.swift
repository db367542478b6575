import Foundation
import HummingbirdWebSocket
import Logging
import Signaling

extension ParleyServer {
    /// One Web Call Server socket (Flashphoner's WebSDK, at `/`): the common socket pump plus the
    /// application-level keep-alive (a `ping` every `pingInterval`; a client that has sent nothing since the
    /// previous ping is closed with 1001).
    func serveWCSSocket(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger,
                        address: String?, abort: @escaping @Sendable () -> Void) async throws {
        let outbox = Outbox()
        let session = WCSSession(
            hub: hub, media: mediaSessions, republisher: RTMPRepublisher(server: self, logger: logger),
            recorder: StreamRecordings(server: self, logger: logger), access: authFailures.guarding(access, address: address),
            hook: authHook?.forClient(address), outbox: outbox, version: ParleyVersion.current,
            limiter: RateLimiter(perSecond: configuration.requestsPerSecond, counts: rateLimits), logger: logger
        )
        liveSockets.add(outbox)
        defer { liveSockets.remove(outbox) }
        let keepAlive = session.keepAlive
        let period = configuration.pingInterval
        try await pump(session, outbox: outbox, inbound: inbound, outbound: outbound, logger: logger, abort: abort) {
            while !Task.isCancelled {
                do { try await Task.sleep(for: period) } catch { return }
                switch keepAlive.tick(at: Double(DispatchTime.now().uptimeNanoseconds) / 1e9) {
                case .ping:
                    outbox.send(WCSWire.ping())
                case .timeout:
                    logger.info("closing a WCS socket that stopped answering pings")
                    outbox.close(code: WCSSession.closeGoingAway, reason: "Ping timeout")
                    return
                }
            }
        }
    }
}

import Foundation
import HummingbirdWebSocket
import Logging
import Signaling

extension ParleyServer {
    /// One Web Call Server socket (Flashphoner's WebSDK, at `/`): a reader feeding the session, a writer draining
    /// its outbox, and the application-level keep-alive (a `ping` every `pingInterval`; a client that has sent
    /// nothing since the previous ping is closed with 1001).
    func serveWCSSocket(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let outbox = Outbox()
        let session = WCSSession(
            hub: hub, media: mediaSessions, outbox: outbox, version: ParleyVersion.current,
            limiter: RateLimiter(perSecond: configuration.requestsPerSecond), logger: logger
        )
        let keepAlive = session.keepAlive
        let period = configuration.pingInterval
        enum Role { case writer, keepAlive }
        try await withThrowingTaskGroup(of: Role.self) { group in
            group.addTask {
                for await frame in outbox.frames {
                    switch frame {
                    case .text(let text):
                        try await outbound.write(.text(text))
                    case .close(let code, let reason):
                        try await outbound.close(.init(codeNumber: Int(code)), reason: reason)
                        return .writer
                    }
                }
                if outbox.hasOverflowed {
                    logger.notice("closing a WCS socket whose send queue overflowed")
                    try await outbound.close(.policyViolation, reason: "too slow to receive")
                }
                return .writer
            }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: period) } catch { break }
                    switch keepAlive.tick(at: Double(DispatchTime.now().uptimeNanoseconds) / 1e9) {
                    case .ping:
                        outbox.send(WCSWire.ping())
                    case .timeout:
                        logger.info("closing a WCS socket that stopped answering pings")
                        outbox.close(code: WCSSession.closeGoingAway, reason: "Ping timeout")
                        return .keepAlive
                    }
                }
                return .keepAlive
            }
            do {
                reading: for try await message in inbound.messages(maxSize: configuration.maxFrameSize) {
                    switch message {
                    case .text(let text):
                        guard await session.receive(text: text) else { break reading }
                    case .binary:
                        session.receiveBinary()
                        break reading
                    }
                }
            } catch {
                logger.debug("WCS socket read ended", metadata: ["error": "\(error)"])
            }
            await session.socketClosed()
            // Let the writer flush what is queued (a status, a close frame), then stop the keep-alive.
            while let role = try await group.next() {
                if role == .writer { break }
            }
            group.cancelAll()
        }
    }
}

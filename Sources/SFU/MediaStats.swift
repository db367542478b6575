import Synchronization

/// Counters of the media plane, read by `/health`. Relaxed atomics: they are statistics, not synchronisation.
public final class MediaStats: Sendable {
    public enum Drop: String, CaseIterable, Sendable {
        case badSTUNIntegrity = "bad_stun_integrity"
        case badSRTPAuth = "bad_srtp_auth"
        case unknownAddress = "unknown_address"
        case malformed
    }

    let packetsIn = Atomic<Int>(0)
    let packetsOut = Atomic<Int>(0)
    let bytesIn = Atomic<Int>(0)
    let bytesOut = Atomic<Int>(0)
    let transports = Atomic<Int>(0)
    private let badSTUNIntegrity = Atomic<Int>(0)
    private let badSRTPAuth = Atomic<Int>(0)
    private let unknownAddress = Atomic<Int>(0)
    private let malformed = Atomic<Int>(0)

    public init() {}

    func received(_ bytes: Int) {
        packetsIn.add(1, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
    }

    func sent(_ bytes: Int) {
        packetsOut.add(1, ordering: .relaxed)
        bytesOut.add(bytes, ordering: .relaxed)
    }

    func dropped(_ reason: Drop) {
        switch reason {
        case .badSTUNIntegrity: badSTUNIntegrity.add(1, ordering: .relaxed)
        case .badSRTPAuth: badSRTPAuth.add(1, ordering: .relaxed)
        case .unknownAddress: unknownAddress.add(1, ordering: .relaxed)
        case .malformed: malformed.add(1, ordering: .relaxed)
        }
    }

    public struct Snapshot: Sendable, Codable, Equatable {
        public let peerConnections: Int
        public let packetsIn: Int
        public let packetsOut: Int
        public let bytesIn: Int
        public let bytesOut: Int
        public let drops: [String: Int]
    }

    public var snapshot: Snapshot {
        Snapshot(
            peerConnections: transports.load(ordering: .relaxed),
            packetsIn: packetsIn.load(ordering: .relaxed), packetsOut: packetsOut.load(ordering: .relaxed),
            bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed),
            drops: [
                Drop.badSTUNIntegrity.rawValue: badSTUNIntegrity.load(ordering: .relaxed),
                Drop.badSRTPAuth.rawValue: badSRTPAuth.load(ordering: .relaxed),
                Drop.unknownAddress.rawValue: unknownAddress.load(ordering: .relaxed),
                Drop.malformed.rawValue: malformed.load(ordering: .relaxed),
            ]
        )
    }
}

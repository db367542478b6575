import NIOCore
import NIOPosix

/// Where a push may connect. A participant names the URL, so by default the server refuses to connect to itself
/// or to its network: loopback, private (RFC 1918, fc00::/7), shared (100.64/10), link-local (169.254/16 with the
/// cloud metadata address, fe80::/10), unspecified and multicast addresses. `--republish-local` allows them (an
/// nginx-rtmp on the same host or LAN). The name is resolved on each attempt and the checked address is the one
/// connected to, so a name cannot resolve to a public address at the check and a local one at the connect.
enum PushTarget {
    struct Refusal: Error {
        let message: String
    }

    /// The address to connect to, resolved off the event loops (getaddrinfo blocks).
    static func resolve(host: String, port: Int, allowLocal: Bool) async throws(Refusal) -> SocketAddress {
        let address: SocketAddress
        do {
            address = try await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(host, port: port)
            }
        } catch {
            throw Refusal(message: "Cannot resolve \(host)")
        }
        if !allowLocal, isLocal(address) {
            throw Refusal(message: "\(host) is a loopback, private or link-local address, which this server does not push to "
                          + "(it allows them with --republish-local)")
        }
        return address
    }

    static func isLocal(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            let raw = UInt32(bigEndian: v4.address.sin_addr.s_addr)
            return isLocal(v4: [UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)])
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            return isLocal(v6: bytes)
        case .unixDomainSocket:
            return true
        }
    }

    static func isLocal(v4 b: [UInt8]) -> Bool {
        guard b.count == 4 else { return true }
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return true
        case (100, 64...127): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (224...255, _): return true
        default: return false
        }
    }

    static func isLocal(v6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return true }
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF { return isLocal(v4: Array(b[12...])) }  // ::ffff:a.b.c.d
        if b[0..<15].allSatisfy({ $0 == 0 }), b[15] <= 1 { return true }  // :: and ::1
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        if b[0] == 0xFF { return true }  // multicast
        return false
    }
}

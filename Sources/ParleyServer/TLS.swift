import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// HTTPS for the web apps and WSS for signaling: browsers give pages on other machines (a phone on the same
/// network) the camera only in a secure context.
enum ServerTLS {
    enum Failure: Error, CustomStringConvertible {
        case unreadable(String, any Error)

        var description: String {
            switch self {
            case .unreadable(let path, let error): "cannot use \(path) for TLS: \(error)"
            }
        }
    }

    static func configuration(_ source: ParleyConfiguration.TLSSource, addresses: [String]) throws -> TLSConfiguration {
        switch source {
        case .files(let certificatePath, let keyPath):
            let chain: [NIOSSLCertificate]
            let key: NIOSSLPrivateKey
            do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch { throw Failure.unreadable(certificatePath, error) }
            do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch { throw Failure.unreadable(keyPath, error) }
            return .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        case .selfSigned:
            let (certificatePEM, keyPEM) = try selfSigned(addresses: addresses)
            let certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
            let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            return .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        }
    }

    /// A P-256 certificate valid for a year, naming localhost and each address (so the browser's warning is
    /// about trust only, not about the name).
    static func selfSigned(addresses: [String], now: Date = Date()) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("Parley (self-signed)") }
        var names: [GeneralName] = [.dnsName("localhost")]
        for address in addresses {
            if let bytes = ipBytes(address) { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))) }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    private static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

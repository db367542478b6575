import Foundation
import Testing
@testable import ParleyServer

@Suite struct TLSTests {
    @Test func selfSignedCertificateNamesTheAddressesAndLoadsFromFiles() throws {
        let (certificate, key) = try ServerTLS.selfSigned(addresses: ["127.0.0.1", "10.77.0.1", "::1", "not-an-ip"])
        #expect(certificate.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(key.contains("PRIVATE KEY"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let certPath = dir.appendingPathComponent("cert.pem").path, keyPath = dir.appendingPathComponent("key.pem").path
        try certificate.write(toFile: certPath, atomically: true, encoding: .utf8)
        try key.write(toFile: keyPath, atomically: true, encoding: .utf8)
        _ = try ServerTLS.configuration(.files(certificate: certPath, key: keyPath), addresses: [])
    }

    @Test func missingFilesStopTheStartWithTheirPath() {
        #expect(throws: ServerTLS.Failure.self) {
            _ = try ServerTLS.configuration(.files(certificate: "/nonexistent/cert.pem", key: "/nonexistent/key.pem"), addresses: [])
        }
        #expect(throws: (any Error).self) {
            _ = try ParleyServer(configuration: ParleyConfiguration(mediaPort: 0, tls: .files(certificate: "/nope", key: "/nope")))
        }
    }
}

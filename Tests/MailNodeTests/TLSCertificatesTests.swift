import Foundation
import NIOSSL
import Testing
@testable import MailNode

/// The node's certificates: chosen by SNI (exact name, then a wildcard, then the default), and
/// replaced as a whole by a reload, or not at all when a file is bad.
@Suite struct TLSCertificatesTests {
    /// A self-signed certificate and key for `name`, written by openssl into `folder`.
    static func makeCertificate(_ name: String, in folder: String, file: String) throws -> (certificate: String, key: String) {
        let certificate = "\(folder)/\(file).crt", key = "\(folder)/\(file).key"
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                             "-subj", "/CN=\(name)", "-keyout", key, "-out", certificate]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        return (certificate, key)
    }

    static func temporaryFolder() throws -> String {
        let folder = NSTemporaryDirectory() + "tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func sniChoosesTheHostnamesCertificateAndReloadReplacesThem() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let main = try Self.makeCertificate("mail.us.example.com", in: folder, file: "main")
        let other = try Self.makeCertificate("mail.other.example.com", in: folder, file: "other")
        let wild = try Self.makeCertificate("*.wild.example.com", in: folder, file: "wild")
        let certificates = try TLSCertificates(sources: [
            .init(hostname: nil, certificate: main.certificate, key: main.key),
            .init(hostname: "mail.other.example.com", certificate: other.certificate, key: other.key),
            .init(hostname: "*.wild.example.com", certificate: wild.certificate, key: wild.key),
        ])
        let loaded = try [main, other, wild].map { try NIOSSLCertificate.fromPEMFile($0.certificate)[0] }
        #expect(certificates.pair(for: nil).chain[0] == loaded[0])
        #expect(certificates.pair(for: "mail.us.example.com").chain[0] == loaded[0])
        #expect(certificates.pair(for: "MAIL.OTHER.example.com").chain[0] == loaded[1])
        #expect(certificates.pair(for: "imap.wild.example.com").chain[0] == loaded[2])
        #expect(certificates.pair(for: "a.b.wild.example.com").chain[0] == loaded[0], "a wildcard covers one label")
        #expect(certificates.pair(for: "unknown.example.org").chain[0] == loaded[0])
        let first = certificates.listenerTLS.context

        // A renewed default certificate is taken by reload, in a new context for new connections.
        _ = try Self.makeCertificate("mail.us.example.com", in: folder, file: "main")
        let renewed = try NIOSSLCertificate.fromPEMFile(main.certificate)[0]
        #expect(renewed != loaded[0])
        try certificates.reload()
        #expect(certificates.pair(for: nil).chain[0] == renewed)
        let second = certificates.listenerTLS.context
        #expect(second !== first)
        #expect(certificates.pair(for: "mail.other.example.com").chain[0] == loaded[1])

        // A broken file: the reload fails and everything stays as it was.
        try "not a certificate".write(toFile: other.certificate, atomically: true, encoding: .utf8)
        #expect(throws: TLSCertificates.LoadError.self) { try certificates.reload() }
        #expect(certificates.pair(for: "mail.other.example.com").chain[0] == loaded[1])
        #expect(certificates.pair(for: nil).chain[0] == renewed)
        #expect(certificates.listenerTLS.context === second)
    }

    @Test func aKeyThatDoesNotMatchItsCertificateIsRefused() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let one = try Self.makeCertificate("one.example.com", in: folder, file: "one")
        let two = try Self.makeCertificate("two.example.com", in: folder, file: "two")
        #expect(throws: TLSCertificates.LoadError.self) {
            _ = try TLSCertificates(sources: [.init(hostname: nil, certificate: one.certificate, key: two.key)])
        }
    }
}

import NIOConcurrencyHelpers
import NIOSSL

/// TLS between the cluster's own nodes (relayed IMAP sessions, forwarded API requests, mail handed
/// to a grant's home region): both ends present a certificate issued by the cluster's private
/// authority and check the other's against it. The public certificates play no part, so a
/// certificate a public CA issued for a mail hostname cannot open these connections.
///
/// The node's certificate and key are read again by `reload()` (SIGHUP): new connections, in and
/// out, use the new ones; open ones keep theirs. The authority is read at start: to change it,
/// list the old and the new one in its file, restart the nodes one at a time, move them to
/// certificates of the new one, then drop the old one the same way.
public final class ClusterTLS: Sendable {
    /// Files as `cluster_tls` names them.
    public struct Files: Sendable, Hashable {
        /// The cluster's certificate authority (PEM, one or more): the only issuers either end accepts.
        public var authority: String
        /// This node's certificate (PEM chain), issued by `authority`.
        public var certificate: String
        public var key: String

        public init(authority: String, certificate: String, key: String) {
            self.authority = authority
            self.certificate = certificate
            self.key = key
        }
    }

    private struct Current: Sendable {
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
        var clientConfiguration: TLSConfiguration
        var clientContext: NIOSSLContext
    }

    public let files: Files
    private let authority: [NIOSSLCertificate]
    private let current: NIOLockedValueBox<Current>
    /// For the node's cluster listeners: a client without a certificate from the authority is
    /// refused. Each handshake takes the node's current certificate.
    public let serverConfiguration: TLSConfiguration
    public let serverContext: NIOSSLContext

    /// For connections this node opens to other nodes, with its current certificate.
    public var clientConfiguration: TLSConfiguration { current.withLockedValue { $0.clientConfiguration } }
    public var clientContext: NIOSSLContext { current.withLockedValue { $0.clientContext } }

    public init(files: Files) throws {
        self.files = files
        let authority: [NIOSSLCertificate]
        do {
            authority = try NIOSSLCertificate.fromPEMFile(files.authority)
        } catch {
            throw LoadError(description: "cannot load the authority \(files.authority) (\(error))")
        }
        guard !authority.isEmpty else { throw LoadError(description: "\(files.authority) holds no certificate") }
        self.authority = authority
        let loaded = try Self.load(files, authority: authority)
        current = NIOLockedValueBox(loaded)

        // Nodes are reached at the addresses the registry gives, which a certificate need not
        // name: the issuer is the check. Only this cluster's authority issues these certificates.
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: loaded.chain, privateKey: loaded.key)
        server.trustRoots = .certificates(authority)
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv12
        let current = self.current
        server.sslContextCallback = { _, promise in
            var override = NIOSSLContextConfigurationOverride()
            (override.certificateChain, override.privateKey) = current.withLockedValue { ($0.chain, $0.key) }
            promise.succeed(override)
        }
        serverConfiguration = server
        serverContext = try NIOSSLContext(configuration: server)
    }

    /// Reads the node's certificate and key again; on any failure nothing changes.
    public func reload() throws {
        let fresh = try Self.load(files, authority: authority)
        current.withLockedValue { $0 = fresh }
    }

    private static func load(_ files: Files, authority: [NIOSSLCertificate]) throws -> Current {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw LoadError(description: "cannot load the certificate \(files.certificate) (\(error))")
        }
        guard !chain.isEmpty else { throw LoadError(description: "\(files.certificate) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw LoadError(description: "cannot load the key \(files.key) (\(error))")
        }
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(authority)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv12
        let context: NIOSSLContext
        do {
            // Also proves that the key belongs to the certificate.
            context = try NIOSSLContext(configuration: client)
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: client.certificateChain, privateKey: .privateKey(key)))
        } catch {
            throw LoadError(description: "\(files.certificate) and \(files.key) do not make a TLS context (\(error))")
        }
        return Current(chain: client.certificateChain, key: .privateKey(key), clientConfiguration: client, clientContext: context)
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }
}

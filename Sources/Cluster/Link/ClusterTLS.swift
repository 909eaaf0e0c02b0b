import NIOSSL

/// TLS between the cluster's own nodes (relayed IMAP sessions, forwarded API requests, mail handed
/// to a grant's home region): both ends present a certificate issued by the cluster's private
/// authority and check the other's against it. The public certificates play no part, so a
/// certificate a public CA issued for a mail hostname cannot open these connections.
public struct ClusterTLS: Sendable {
    /// Files as `cluster_tls` names them.
    public struct Files: Sendable, Hashable {
        /// The cluster's certificate authority (PEM): the only issuer either end accepts.
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

    /// For the node's cluster listeners: a client without a certificate from the authority is refused.
    public let serverConfiguration: TLSConfiguration
    public let serverContext: NIOSSLContext
    /// For connections this node opens to other nodes.
    public let clientConfiguration: TLSConfiguration
    public let clientContext: NIOSSLContext

    public init(files: Files) throws {
        let authority = try NIOSSLCertificate.fromPEMFile(files.authority)
        guard !authority.isEmpty else { throw LoadError(description: "\(files.authority) holds no certificate") }
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        guard !chain.isEmpty else { throw LoadError(description: "\(files.certificate) holds no certificate") }
        let key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        let certificates = chain.map { NIOSSLCertificateSource.certificate($0) }

        // Nodes are reached at the addresses the registry gives, which a certificate need not
        // name: the issuer is the check. Only this cluster's authority issues these certificates.
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: certificates, privateKey: .privateKey(key))
        server.trustRoots = .certificates(authority)
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv12
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = certificates
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(authority)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv12
        serverConfiguration = server
        clientConfiguration = client
        serverContext = try NIOSSLContext(configuration: server)
        clientContext = try NIOSSLContext(configuration: client)
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }
}

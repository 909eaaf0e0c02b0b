import Cluster
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The certificates the node's IMAP and SMTP listeners present: a default one (`tls.certificate`)
/// and one per public hostname a client may ask for by SNI (`tls.sni`). They are read from their
/// files at start and again on SIGHUP; every new TLS handshake takes the current ones, while
/// sessions already open keep theirs.
final class TLSCertificates: Sendable {
    struct Source: Sendable, Equatable {
        /// nil for the default certificate.
        let hostname: String?
        let certificate: String
        let key: String
    }

    struct Pair: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    struct Loaded: Sendable {
        let fallback: Pair
        let byHostname: [String: Pair]

        /// The pair for a client that asked for `serverName`: an exact hostname, then a `*.`
        /// wildcard entry for its parent domain, else the default.
        func pair(for serverName: String?) -> Pair {
            guard let name = serverName?.lowercased() else { return fallback }
            if let exact = byHostname[name] { return exact }
            if let dot = name.firstIndex(of: "."), let wildcard = byHostname["*" + name[dot...]] { return wildcard }
            return fallback
        }
    }

    let sources: [Source]
    private let loaded: NIOLockedValueBox<Loaded>
    /// What the listeners give each new connection.
    let listenerTLS: ServerTLSContext

    init(sources: [Source]) throws {
        self.sources = sources
        let loaded = NIOLockedValueBox(try Self.load(sources))
        self.loaded = loaded
        listenerTLS = ServerTLSContext(try Self.context(for: loaded.withLockedValue { $0 }, current: loaded))
    }

    /// Reads every file again; on any failure nothing changes and the error says which file.
    func reload() throws {
        let fresh = try Self.load(sources)
        let context = try Self.context(for: fresh, current: loaded)
        loaded.withLockedValue { $0 = fresh }
        listenerTLS.replace(with: context)
    }

    func pair(for serverName: String?) -> Pair {
        loaded.withLockedValue { $0.pair(for: serverName) }
    }

    /// A server context for `set`. With the default certificate only, the context holds it; with
    /// certificates by hostname, each handshake asks the set in force (`current`) for its own.
    static func context(for set: Loaded, current: NIOLockedValueBox<Loaded>) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: set.fallback.chain.map { .certificate($0) }, privateKey: .privateKey(set.fallback.key))
        if !set.byHostname.isEmpty {
            configuration.sslContextCallback = { values, promise in
                let chosen = current.withLockedValue { $0.pair(for: values.serverHostname) }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = chosen.chain.map { .certificate($0) }
                override.privateKey = .privateKey(chosen.key)
                promise.succeed(override)
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    static func load(_ sources: [Source]) throws -> Loaded {
        var fallback: Pair?
        var byHostname: [String: Pair] = [:]
        for source in sources {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(source.certificate)
            } catch {
                throw LoadError(description: "cannot load the certificate \(source.certificate) (\(error))")
            }
            guard !chain.isEmpty else { throw LoadError(description: "\(source.certificate) holds no certificate") }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: source.key, format: .pem)
            } catch {
                throw LoadError(description: "cannot load the key \(source.key) (\(error))")
            }
            // A certificate and a key that do not belong together would fail every handshake.
            do {
                _ = try NIOSSLContext(configuration: .makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
            } catch {
                throw LoadError(description: "\(source.certificate) and \(source.key) do not make a TLS context (\(error))")
            }
            if let hostname = source.hostname {
                byHostname[hostname.lowercased()] = Pair(chain: chain, key: key)
            } else {
                fallback = Pair(chain: chain, key: key)
            }
        }
        guard let fallback else { throw LoadError(description: "no default certificate (tls.certificate)") }
        return Loaded(fallback: fallback, byHostname: byHostname)
    }
}

/// Reloads the certificates when the process gets SIGHUP (`kill -HUP`), logging the outcome and
/// counting it in `mailnode_tls_reloads_total{certificates,result}` (`public`: the listeners' certificates; `cluster`: the node's cluster certificate).
struct CertificateReloader: Service {
    let certificates: TLSCertificates
    let cluster: ClusterTLS
    let logger: Logger

    func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let (hangups, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        defer { source.cancel() }
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups {
                reload("public", files: certificates.sources.count) { try certificates.reload() }
                reload("cluster", files: 2) { try cluster.reload() }
            }
        }
    }

    private func reload(_ set: String, files: Int, _ body: () throws -> Void) {
        do {
            try body()
            Counter(label: "mailnode_tls_reloads_total", dimensions: [("certificates", set), ("result", "ok")]).increment()
            logger.notice("TLS certificates reloaded", metadata: ["certificates": "\(set)", "files": "\(files)"])
        } catch {
            Counter(label: "mailnode_tls_reloads_total", dimensions: [("certificates", set), ("result", "failed")]).increment()
            logger.error("TLS certificates not reloaded; the previous ones stay in use", metadata: ["certificates": "\(set)", "error": "\(error)"])
        }
    }
}

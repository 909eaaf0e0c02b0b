import Foundation
import Testing
import Cluster
@testable import MailNode

@Suite struct NodeConfigurationTests {
    /// The repository's own region files, found from this source file.
    static let regionsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("regions").path

    @Test(arguments: ["us", "eu"])
    func loadsTheRepositoryRegionFiles(_ name: String) throws {
        let path = "\(Self.regionsFolder)/\(name).yaml"
        let configuration = try NodeConfiguration.load(path: path, node: "\(name)-1", environment: [:])
        #expect(configuration.region.rawValue == name)
        #expect(configuration.hostname == "mail.\(name).localhost")
        #expect(Set(configuration.regions.keys.map(\.rawValue)) == ["us", "eu"])
        #expect(configuration.listen.ports.count == NodeConfiguration.Surface.allCases.count)
        #expect(configuration.tlsCertificatePath.hasPrefix(Self.regionsFolder + "/"))
        #expect(configuration.limits.messageSizeBytes == 26_214_400)
        #expect(configuration.limits.imapConnectionsPerGrant == 20)
        #expect(configuration.imapContentCacheBytes == 67_108_864)
        #expect(configuration.drainDuration == .seconds(30))
        #expect(configuration.clusterTLS.authority.hasSuffix("/cluster-ca.crt"))
        #expect(configuration.clusterTLS.certificate.hasSuffix("/cluster-\(name).crt"))
        #expect(configuration.plan.name == "full_platform")
        #expect(configuration.plan.maxima.countDailyEmailSent == -1 && configuration.plan.maxima.attachmentCountLimit == 20)
        #expect(configuration.defaultQuotaBytes == 10_000_000_000)
    }

    /// Without plans nothing has a maximum and the storage default is limits.quota_bytes_per_grant;
    /// a plan's -1 storage is no limit at all.
    @Test func planIsOptionalAndSetsTheDefaults() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        let plain = try NodeConfiguration.load(path: path, node: "n1", environment: [:])
        #expect(plain.plan.maxima.storageTotal == plain.limits.quotaBytesPerGrant && plain.defaultQuotaBytes == plain.limits.quotaBytesPerGrant)
        #expect(plain.plan.maxima.countDailyEmailSent == nil && plain.plan.name == "unlimited")
        try (Self.validFile + "guardrails:\n  plan: big\nplans:\n  small:\n    limit_storage_total: 1000\n  big:\n    limit_storage_total: -1\n"
             + "    limit_count_daily_email_sent: 5\n    limit_attachment_allowed_types: [image/*]\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let planned = try NodeConfiguration.load(path: path, node: "n1", environment: [:])
        #expect(planned.plan.name == "big" && planned.plan.maxima.countDailyEmailSent == 5 && planned.plan.maxima.attachmentAllowedTypes == ["image/*"])
        #expect(planned.defaultQuotaBytes == Int64.max)
    }

    /// The compose deployment's region files load as a node of that deployment reads them.
    @Test(arguments: ["us", "eu"])
    func loadsTheDeploymentRegionFiles(_ name: String) throws {
        let folder = (Self.regionsFolder as NSString).deletingLastPathComponent + "/cluster/deploy"
        let configuration = try NodeConfiguration.load(path: "\(folder)/\(name).yaml", node: "\(name)-2", environment: [:])
        #expect(configuration.listen.host == "node-\(name)-2")
        #expect(configuration.listen.ports.count == NodeConfiguration.Surface.allCases.count)
        #expect(configuration.clusterTLS == .init(authority: "\(folder)/tls/cluster-ca.crt", certificate: "\(folder)/tls/cluster-\(name).crt",
                                                  key: "\(folder)/tls/cluster-\(name).key"))
    }

    @Test func clusterTLSPathsResolveAndTheKeyMayComeFromTheEnvironment() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        let folder = (path as NSString).deletingLastPathComponent
        let files = try NodeConfiguration.load(path: path, node: "n1", environment: [:]).clusterTLS
        #expect(files == .init(authority: "\(folder)/cluster/ca.crt", certificate: "\(folder)/cluster/node.crt", key: "\(folder)/cluster/node.key"))
        let fromEnvironment = try NodeConfiguration.load(path: path, node: "n1", environment: ["MAILNODE_CLUSTER_TLS_KEY": "/run/secrets/node.key"])
        #expect(fromEnvironment.clusterTLS.key == "/run/secrets/node.key")
    }

    @Test func sniCertificatesAreReadPerHostname() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sni = "tls:\n  certificate: tls/cert.pem\n  key: tls/key.pem\n  sni:\n    Mail.Other.example.com: {certificate: tls/other.crt, key: /keys/other.key}\n"
        try Self.validFile.replacingOccurrences(of: "tls:\n  certificate: tls/cert.pem\n  key: tls/key.pem\n", with: sni)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try NodeConfiguration.load(path: path, node: "n1", environment: [:])
        let folder = (path as NSString).deletingLastPathComponent
        #expect(configuration.tlsSources == [
            .init(hostname: nil, certificate: "\(folder)/tls/cert.pem", key: "\(folder)/tls/key.pem"),
            .init(hostname: "mail.other.example.com", certificate: "\(folder)/tls/other.crt", key: "/keys/other.key"),
        ])
        try Self.validFile.replacingOccurrences(of: "tls:\n  certificate: tls/cert.pem\n  key: tls/key.pem\n",
                                                with: "tls:\n  certificate: tls/cert.pem\n  key: tls/key.pem\n  sni:\n    a.example.com: x\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { _ = try NodeConfiguration.load(path: path, node: "n1", environment: [:]) }
    }

    @Test func contentCacheSizeIsOptionalAndBounded() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try NodeConfiguration.load(path: path, node: "n1", environment: [:]).imapContentCacheBytes == 64 * 1024 * 1024)
        try (Self.validFile + "imap:\n  content_cache_bytes: 0\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try NodeConfiguration.load(path: path, node: "n1", environment: [:]).imapContentCacheBytes == 0)
        try (Self.validFile + "imap:\n  content_cache_bytes: -1\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try NodeConfiguration.load(path: path, node: "n1", environment: [:]) }
    }

    /// The handoff's bounds: the defaults, a file's values, and 0 (every submission queued).
    @Test func outboundHandoffBoundsAreOptionalAndBounded() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        let defaults = try NodeConfiguration.load(path: path, node: "n1", environment: [:]).smtp
        #expect(defaults.handoffMessages == 4096 && defaults.handoffBytes == 64 << 20 && defaults.handoffMaximumWaitSeconds == 30)
        try (Self.validFile + "smtp:\n  handoff_max_messages: 0\n  handoff_max_bytes: 1048576\n  handoff_max_wait_seconds: 5\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let set = try NodeConfiguration.load(path: path, node: "n1", environment: [:]).smtp
        #expect(set.handoffMessages == 0 && set.handoffBytes == 1_048_576 && set.handoffMaximumWaitSeconds == 5)
        let repository = try NodeConfiguration.load(path: "\(Self.regionsFolder)/us.yaml", node: "us-1", environment: [:]).smtp
        #expect(repository.handoffMessages == 4096 && repository.handoffBytes == 67_108_864)
    }

    /// Event loop threads: unset by default (one per core), set for the region, or for one node.
    @Test func eventLoopThreadsAreSetForTheRegionOrOneNode() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try NodeConfiguration.load(path: path, node: "n1", environment: [:]).eventLoopThreads == nil)
        let twoNodes = Self.validFile.replacingOccurrences(of: "    listen: {api: 18080}\n",
                                                           with: "    listen: {api: 18080}\n    event_loop_threads: 3\n  n2:\n    listen: {api: 18081}\n")
        try (twoNodes + "event_loop_threads: 2\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try NodeConfiguration.load(path: path, node: "n1", environment: [:]).eventLoopThreads == 3)
        #expect(try NodeConfiguration.load(path: path, node: "n2", environment: [:]).eventLoopThreads == 2)
        #expect(try NodeConfiguration.load(path: path, node: nil, environment: [:]).eventLoopThreads == 2)
    }

    @Test func nodeSectionOverridesListenPorts() throws {
        let us1 = try NodeConfiguration.load(path: "\(Self.regionsFolder)/us.yaml", node: "us-1", environment: [:])
        let us2 = try NodeConfiguration.load(path: "\(Self.regionsFolder)/us.yaml", node: "us-2", environment: [:])
        #expect(us1.listen.ports[.api] != us2.listen.ports[.api])
        #expect(us1.endpoints["api"] == "127.0.0.1:\(us1.listen.ports[.api]!)")
    }

    @Test func environmentOverridesSecrets() throws {
        let configuration = try NodeConfiguration.load(
            path: "\(Self.regionsFolder)/us.yaml", node: "us-1",
            environment: ["MAILNODE_API_KEYS": "one, two,", "MAILNODE_POSTGRES_PASSWORD": "s3cret"])
        #expect(configuration.apiKeys == ["one", "two"])
        #expect(configuration.servers.postgres.contains(":s3cret@"))
    }

    /// Each broken file stops the node with one line naming the file and the key.
    @Test(arguments: [
        ("region: us\n", "regions"),
        ("region: \"US!\"\n", "region"),
        (validFile.replacingOccurrences(of: "  primary: redis://127.0.0.1:1\n", with: ""), "routing.primary"),
        (validFile.replacingOccurrences(of: "primary: redis://127.0.0.1:1", with: "primary: http://x"), "routing.primary"),
        (validFile.replacingOccurrences(of: "api: 8080", with: "api: 70000"), "listen.api"),
        (validFile.replacingOccurrences(of: "api: 8080", with: "api: eighty"), "listen.api"),
        (validFile.replacingOccurrences(of: "bcrypt_cost: 10", with: "bcrypt_cost: 99"), "security.bcrypt_cost"),
        (validFile.replacingOccurrences(of: "heartbeat_ttl_seconds: 6", with: "heartbeat_ttl_seconds: 2"), "cluster.heartbeat_ttl_seconds"),
        (validFile.replacingOccurrences(of: "heartbeat_ttl_seconds: 6", with: "heartbeat_ttl_seconds: 6\n  drain_seconds: 0"), "cluster.drain_seconds"),
        (validFile.replacingOccurrences(of: "  us:\n", with: "  ux:\n"), "regions.us"),
        ("region: [unclosed\n", "-"),
        (validFile.replacingOccurrences(of: "  authority: cluster/ca.crt\n", with: ""), "cluster_tls.authority"),
        (validFile.replacingOccurrences(of: "  cluster_api: 9443\n", with: ""), "listen.cluster_api"),
        (validFile + "plans:\n  one:\n    limit_storage_total: 5\n", "guardrails.plan"),
        (validFile + "guardrails:\n  plan: two\nplans:\n  one:\n    limit_storage_total: 5\n", "guardrails.plan"),
        (validFile + "guardrails:\n  plan: one\n", "guardrails.plan"),
        (validFile + "guardrails:\n  plan: one\nplans:\n  one:\n    limit_attachment_count_limit: -1\n", "plans.one.limit_attachment_count_limit"),
        (validFile + "guardrails:\n  retention_interval_seconds: 0\n", "guardrails.retention_interval_seconds"),
        (validFile + "smtp:\n  handoff_max_messages: -1\n", "smtp.handoff_max_messages"),
        (validFile + "smtp:\n  handoff_max_messages: 65537\n", "smtp.handoff_max_messages"),
        (validFile + "smtp:\n  handoff_max_bytes: many\n", "smtp.handoff_max_bytes"),
        (validFile + "smtp:\n  handoff_max_wait_seconds: 0\n", "smtp.handoff_max_wait_seconds"),
        (validFile + "event_loop_threads: 0\n", "event_loop_threads"),
        (validFile + "event_loop_threads: two\n", "event_loop_threads"),
        (validFile.replacingOccurrences(of: "    listen: {api: 18080}\n", with: "    listen: {api: 18080}\n    event_loop_threads: 2\n")
            + "event_loop_threads: 0\n", "event_loop_threads"),
        (validFile.replacingOccurrences(of: "    listen: {api: 18080}\n", with: "    listen: {api: 18080}\n    event_loop_threads: 1025\n"),
         "nodes.n1.event_loop_threads"),
        (validFile + "guardrails:\n  plan: one\nplans:\n  one:\n    limit_spam_retention_period: 0\n", "plans.one.limit_spam_retention_period"),
    ])
    func brokenFilesNameTheKey(_ text: String, _ key: String) throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try NodeConfiguration.load(path: path, node: "n1", environment: [:])
            Issue.record("expected \(key) to be refused")
        } catch let error as ConfigurationError {
            #expect(error.file == path)
            #expect(error.key == key)
            #expect(!error.description.contains("\n"))
            #expect(error.description.hasPrefix("\(path): \(key): "))
        }
    }

    @Test func unknownNodeIsRefused() throws {
        let path = NSTemporaryDirectory() + "region-\(UUID().uuidString).yaml"
        try Self.validFile.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigurationError.self) { try NodeConfiguration.load(path: path, node: "n9", environment: [:]) }
        #expect(try NodeConfiguration.load(path: path, node: "n1", environment: [:]).listen.ports[.api] == 18080)
    }

    static let validFile = """
        region: us
        hostname: mail.us.example.com
        regions:
          us:
            hostname: mail.us.example.com
            postgres: postgres://mailnode@127.0.0.1:5432/mail
            redis: redis://127.0.0.1:6379
        routing:
          primary: redis://127.0.0.1:1
          replica: redis://127.0.0.1:2
        listen:
          host: 0.0.0.0
          api: 8080
          admin: 9090
          imaps: 993
          imap: 143
          smtps: 465
          submission: 587
          smtp: 25
          cluster_imap: 9993
          cluster_api: 9443
        nodes:
          n1:
            listen: {api: 18080}
        cluster_tls:
          authority: cluster/ca.crt
          certificate: cluster/node.crt
          key: cluster/node.key
        tls:
          certificate: tls/cert.pem
          key: tls/key.pem
        api_keys: [k]
        security:
          bcrypt_cost: 10
        limits:
          imap_connections_per_grant: 20
          message_size_bytes: 26214400
          quota_bytes_per_grant: 1000000
          api_json_body_bytes: 3145728
        cluster:
          heartbeat_interval_seconds: 2
          heartbeat_ttl_seconds: 6

        """
}

import Cluster
import Foundation
import IMAPServer
import MailCore
import SMTPServer
import NIOCore
import Yams

/// A region file (`regions/us.yaml`) resolved for one node.
struct NodeConfiguration: Sendable {
    struct RegionServers: Sendable {
        var hostname: String
        var postgres: String
        var redis: String
    }

    struct Listen: Sendable, Equatable {
        var host: String
        var ports: [Surface: Int]
        /// Surfaces whose connections start with a HAProxy PROXY protocol v2 header.
        var proxyProtocol: Set<Surface> = []
    }

    /// Every surface a node listens on; `nodes.json` and the registry use these names. The
    /// `cluster_*` listeners take only other nodes of the cluster (mutual TLS, `cluster_tls`):
    /// relayed IMAP sessions, forwarded API requests and mail handed to its home region.
    enum Surface: String, CaseIterable, Sendable {
        case api, admin, imaps, imap, smtps, submission, smtp
        case clusterIMAP = "cluster_imap"
        case clusterAPI = "cluster_api"
    }

    struct Limits: Sendable {
        var imapConnectionsPerGrant: Int
        var messageSizeBytes: Int
        var quotaBytesPerGrant: Int64
        var apiJSONBodyBytes: Int
    }

    /// `webhooks.*`: every key optional.
    struct Webhooks: Sendable {
        var applicationID = "mailnode"
        var retryInitialDelayMilliseconds: Int64 = 10_000
        var retryWindowSeconds: Int64 = 86_400
        var deliveryTimeoutSeconds = 10
        var dispatchers = 4
    }

    /// `smtp.*`: every key optional.
    struct SMTP: Sendable {
        enum SmartHostSecurity: String, Sendable {
            case none, starttls, tls
        }
        var smartHost: (host: String, port: Int)?
        var smartHostSecurity = SmartHostSecurity.starttls
        var smartHostUsername: String?
        var smartHostPassword: String?
        var retryInitialDelayMilliseconds: Int64 = 60_000
        var retryWindowSeconds: Int64 = 5 * 86_400
        var deliveryWorkers = 4
        var maximumRecipients = 100
        /// Submissions whose jobs wait on this node for its own workers (`OutboundHandoff`).
        var handoffMessages = 4096
        var handoffBytes = 64 << 20
        var handoffMaximumWaitSeconds = 30
    }

    var file: String
    var region: Region
    var hostname: String
    var node: String
    var regions: [Region: RegionServers]
    var routingPrimary: String
    var routingReplica: String
    var listen: Listen
    var tlsCertificatePath: String
    var tlsKeyPath: String
    /// `tls.sni`: a certificate and key per public hostname a client may ask for (SNI).
    var tlsByHostname: [(hostname: String, certificate: String, key: String)] = []

    /// Every certificate the listeners present, the default first.
    var tlsSources: [TLSCertificates.Source] {
        [TLSCertificates.Source(hostname: nil, certificate: tlsCertificatePath, key: tlsKeyPath)]
            + tlsByHostname.map { TLSCertificates.Source(hostname: $0.hostname, certificate: $0.certificate, key: $0.key) }
    }
    /// `cluster_tls`: the cluster's own authority and this node's certificate for node-to-node TLS.
    var clusterTLS: ClusterTLS.Files
    var apiKeys: [String]
    var bcryptCost: Int
    var limits: Limits
    var heartbeatInterval: Duration
    var heartbeatTimeToLive: Duration
    /// `cluster.drain_seconds`: after SIGTERM, how long the node waits for its sessions to finish.
    var drainDuration: Duration = .seconds(30)
    /// `event_loop_threads` (`nodes.<id>.event_loop_threads` for one node): the threads that run the
    /// node's connections and tasks. Unset: one per core the process may use. Nodes that share a
    /// machine each want their share of its cores: a node with a thread per core then sends its
    /// work back and forth between threads that compete with the other nodes for the same cores.
    var eventLoopThreads: Int?
    var webhooks = Webhooks()
    var smtp = SMTP()
    /// `imap.content_cache_bytes`: the node's cache of message content read by FETCH (0 turns it off).
    var imapContentCacheBytes = MessageContentCache.defaultCapacityBytes
    /// `imap.vanished_window_seconds`: how long expunges are remembered for clients that resynchronise
    /// (QRESYNC); older ones are forgotten.
    var imapVanishedWindowSeconds = ExpungeTombstonePruner.defaultWindowSeconds
    /// `guardrails.evaluation_retention_days`: how long rule evaluation records are kept.
    var evaluationRetentionDays = RuleEvaluationPruner.defaultRetentionDays
    /// `plans` and `guardrails.plan`: the maxima in force (none without a `plans` section).
    var plan = MailPlan.unlimited
    /// `guardrails.retention_interval_seconds`: how often the retention job looks for mail past its
    /// policy's inbox and spam retention.
    var retentionIntervalSeconds: Int64 = 3600
    var spam = Spam()

    /// `spam`: where spam detection's DNS blocklists are asked.
    struct Spam: Sendable {
        /// `spam.dnsbl_zones`: the zones asked about the connecting address (none: no DNSBL checks).
        var dnsblZones: [String] = []
        /// `spam.resolvers`: `dns://host:port` URLs of the DNS servers asked, in order.
        var resolvers: [SocketAddress] = []
        /// `spam.dnsbl_timeout_ms`: how long a lookup may take, all servers together.
        var dnsblTimeoutMilliseconds: Int64 = 2000
        /// `spam.dnsbl_score`: what a listing adds to a message's spam score.
        var dnsblScore = 5.0
    }

    /// The storage limit of a grant without its own or a policy's, and the most a policy may set:
    /// the plan's (`limits.quota_bytes_per_grant` without one).
    var defaultQuotaBytes: Int64 {
        switch plan.maxima.storageTotal {
        case -1: Int64.max
        case let bytes?: bytes
        case nil: limits.quotaBytesPerGrant
        }
    }

    var servers: RegionServers { regions[region]! }

    /// Endpoints as `host:port`, as nodes.json and the registry show them.
    var endpoints: [String: String] {
        Dictionary(uniqueKeysWithValues: listen.ports.map { ($0.key.rawValue, "\(listen.host):\($0.value)") })
    }
}

/// A region file that cannot be used: one line naming the file and the key.
struct ConfigurationError: Error, CustomStringConvertible {
    let file: String
    let key: String
    let problem: String

    /// Always one line, whatever the YAML parser's message looked like.
    var description: String {
        let flat = problem.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }.joined(separator: " ")
        return "\(file): \(key): \(flat)"
    }
}

extension NodeConfiguration {
    /// Environment variables that override secrets kept out of region files.
    enum Environment {
        static let apiKeys = "MAILNODE_API_KEYS"
        static let postgresPassword = "MAILNODE_POSTGRES_PASSWORD"
        static let redisPassword = "MAILNODE_REDIS_PASSWORD"
        static let tlsKey = "MAILNODE_TLS_KEY"
        static let clusterTLSKey = "MAILNODE_CLUSTER_TLS_KEY"
        static let smartHostPassword = "MAILNODE_SMART_HOST_PASSWORD"
    }

    /// Loads `path` for `node`. With `node == nil` (the operator commands) listen addresses are
    /// taken from the region defaults.
    static func load(path: String, node: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NodeConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, key: "-", problem: "cannot read the file (\(error.localizedDescription))")
        }
        let root: Yams.Node
        do {
            guard let parsed = try Yams.compose(yaml: text) else {
                throw ConfigurationError(file: path, key: "-", problem: "the file is empty")
            }
            root = parsed
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(file: path, key: "-", problem: "not valid YAML: \(error)")
        }
        let reader = YAMLReader(file: path, root: root)
        let folder = (path as NSString).deletingLastPathComponent

        let regionName = try reader.string("region")
        guard let region = Region(rawValue: regionName) else {
            throw reader.error("region", "must be a short lower-case name like us or eu (got \(regionName))")
        }
        var regions: [Region: RegionServers] = [:]
        for (name, _) in try reader.mapping("regions") {
            guard let other = Region(rawValue: name) else { throw reader.error("regions.\(name)", "is not a valid region name") }
            regions[other] = RegionServers(
                hostname: try reader.string("regions.\(name).hostname"),
                postgres: try reader.url("regions.\(name).postgres", schemes: ["postgres", "postgresql"],
                                         password: environment[Environment.postgresPassword]),
                redis: try reader.url("regions.\(name).redis", schemes: ["redis"], password: environment[Environment.redisPassword]))
        }
        guard regions[region] != nil else { throw reader.error("regions.\(region)", "is missing: the file's own region must be listed") }

        var listen = Listen(host: try reader.string("listen.host"), ports: [:])
        for surface in Surface.allCases {
            listen.ports[surface] = try reader.port("listen.\(surface.rawValue)")
        }
        for name in try reader.stringList("listen.proxy_protocol") {
            guard let surface = Surface(rawValue: name) else {
                throw reader.error("listen.proxy_protocol", "names an unknown surface \(name) (known: \(Surface.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            listen.proxyProtocol.insert(surface)
        }
        if let node {
            guard (try? reader.mapping("nodes"))?.contains(where: { $0.0 == node }) == true else {
                throw reader.error("nodes.\(node)", "is missing: the region file does not describe node \(node)")
            }
            if let host = try reader.optionalString("nodes.\(node).listen.host") { listen.host = host }
            for surface in Surface.allCases {
                if let port = try reader.optionalPort("nodes.\(node).listen.\(surface.rawValue)") { listen.ports[surface] = port }
            }
        }
        var apiKeys = try reader.stringList("api_keys")
        if let fromEnvironment = environment[Environment.apiKeys] {
            apiKeys = fromEnvironment.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        }
        let bcryptCost = try reader.int("security.bcrypt_cost", in: BCrypt.minimumCost...BCrypt.maximumCost)
        let interval = try reader.int("cluster.heartbeat_interval_seconds", in: 1...60)
        let timeToLive = try reader.int("cluster.heartbeat_ttl_seconds", in: 2...600)
        guard timeToLive > interval else {
            throw reader.error("cluster.heartbeat_ttl_seconds", "must be longer than cluster.heartbeat_interval_seconds")
        }
        let keyPath = try environment[Environment.tlsKey] ?? reader.string("tls.key")
        var webhooks = Webhooks()
        if let value = try reader.optionalString("webhooks.application_id") {
            guard !value.isEmpty else { throw reader.error("webhooks.application_id", "must not be empty") }
            webhooks.applicationID = value
        }
        if let value = try reader.optionalInt("webhooks.retry_initial_delay_ms", in: 100...3_600_000) {
            webhooks.retryInitialDelayMilliseconds = Int64(value)
        }
        if let value = try reader.optionalInt("webhooks.retry_window_seconds", in: 60...2_592_000) {
            webhooks.retryWindowSeconds = Int64(value)
        }
        if let value = try reader.optionalInt("webhooks.delivery_timeout_seconds", in: 1...60) {
            webhooks.deliveryTimeoutSeconds = value
        }
        if let value = try reader.optionalInt("webhooks.dispatchers", in: 1...64) {
            webhooks.dispatchers = value
        }
        var tlsByHostname: [(hostname: String, certificate: String, key: String)] = []
        if reader.node("tls.sni") != nil {
            for (hostname, entry) in try reader.mapping("tls.sni") {
                let key = "tls.sni.\(hostname)"
                guard let certificate = entry.mapping?[Yams.Node("certificate")]?.scalar?.string, !certificate.isEmpty,
                      let privateKey = entry.mapping?[Yams.Node("key")]?.scalar?.string, !privateKey.isEmpty else {
                    throw reader.error(key, "must be a mapping with certificate and key")
                }
                tlsByHostname.append((hostname.lowercased(), resolve(certificate, against: folder), resolve(privateKey, against: folder)))
            }
        }
        var configuration = NodeConfiguration(
            file: path,
            region: region,
            hostname: try reader.string("hostname"),
            node: node ?? "cli",
            regions: regions,
            routingPrimary: try reader.url("routing.primary", schemes: ["redis"], password: environment[Environment.redisPassword]),
            routingReplica: try reader.url("routing.replica", schemes: ["redis"], password: environment[Environment.redisPassword]),
            listen: listen,
            tlsCertificatePath: resolve(try reader.string("tls.certificate"), against: folder),
            tlsKeyPath: resolve(keyPath, against: folder),
            tlsByHostname: tlsByHostname,
            clusterTLS: ClusterTLS.Files(
                authority: resolve(try reader.string("cluster_tls.authority"), against: folder),
                certificate: resolve(try reader.string("cluster_tls.certificate"), against: folder),
                key: resolve(try environment[Environment.clusterTLSKey] ?? reader.string("cluster_tls.key"), against: folder)),
            apiKeys: apiKeys,
            bcryptCost: bcryptCost,
            limits: Limits(
                imapConnectionsPerGrant: try reader.int("limits.imap_connections_per_grant", in: 1...10_000),
                messageSizeBytes: try reader.int("limits.message_size_bytes", in: 1024...1_073_741_824),
                quotaBytesPerGrant: Int64(try reader.int("limits.quota_bytes_per_grant", in: 1...Int.max)),
                apiJSONBodyBytes: try reader.int("limits.api_json_body_bytes", in: 1024...104_857_600)),
            heartbeatInterval: .seconds(interval),
            heartbeatTimeToLive: .seconds(timeToLive))
        configuration.webhooks = webhooks
        if let value = try reader.optionalInt("imap.content_cache_bytes", in: 0...17_179_869_184) {
            configuration.imapContentCacheBytes = value
        }
        configuration.eventLoopThreads = try reader.optionalInt("event_loop_threads", in: 1...1024)
        if let node, let value = try reader.optionalInt("nodes.\(node).event_loop_threads", in: 1...1024) {
            configuration.eventLoopThreads = value
        }
        if let value = try reader.optionalInt("cluster.drain_seconds", in: 1...3600) {
            configuration.drainDuration = .seconds(value)
        }
        if let value = try reader.optionalInt("imap.vanished_window_seconds", in: 3600...315_360_000) {
            configuration.imapVanishedWindowSeconds = Int64(value)
        }
        if let value = try reader.optionalInt("guardrails.evaluation_retention_days", in: 1...3650) {
            configuration.evaluationRetentionDays = value
        }
        if let value = try reader.optionalInt("guardrails.retention_interval_seconds", in: 1...86_400) {
            configuration.retentionIntervalSeconds = Int64(value)
        }
        configuration.plan = try plan(reader)
        // Storage always has a maximum: the plan's, else limits.quota_bytes_per_grant, which is
        // then also the default; the store holds every policy to it.
        if configuration.plan.maxima.storageTotal == nil {
            configuration.plan.maxima.storageTotal = configuration.limits.quotaBytesPerGrant
        }
        configuration.spam = try spam(reader)
        configuration.smtp = try smtp(reader, environment: environment)
        return configuration
    }

    private static func spam(_ reader: YAMLReader) throws -> Spam {
        var spam = Spam()
        spam.dnsblZones = try reader.stringList("spam.dnsbl_zones").map { $0.lowercased() }
        for zone in spam.dnsblZones where (try? DNSMessage.query(id: 0, name: "2.0.0.127." + zone)) == nil {
            throw reader.error("spam.dnsbl_zones", "\(zone) is not a DNS name")
        }
        for text in try reader.stringList("spam.resolvers") {
            guard let components = URLComponents(string: text), components.scheme == "dns", let host = components.host, !host.isEmpty,
                  let address = try? SocketAddress(ipAddress: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                                                   port: components.port ?? 53) else {
                throw reader.error("spam.resolvers", "must hold URLs like dns://192.0.2.53:53 with an IP address (got \(text))")
            }
            spam.resolvers.append(address)
        }
        if !spam.dnsblZones.isEmpty && spam.resolvers.isEmpty {
            throw reader.error("spam.resolvers", "is needed to ask spam.dnsbl_zones")
        }
        if let value = try reader.optionalInt("spam.dnsbl_timeout_ms", in: 50...30_000) { spam.dnsblTimeoutMilliseconds = Int64(value) }
        if let text = try reader.optionalString("spam.dnsbl_score") {
            guard let value = Double(text), (0...100).contains(value) else {
                throw reader.error("spam.dnsbl_score", "must be a number from 0 to 100 (got \(text))")
            }
            spam.dnsblScore = value
        }
        return spam
    }

    /// The plan `guardrails.plan` names, from `plans`. Each maximum is optional (none: no maximum);
    /// -1 (unlimited) only for storage, the daily counts and the retention periods.
    private static func plan(_ reader: YAMLReader) throws -> MailPlan {
        guard reader.node("plans") != nil else {
            if reader.node("guardrails.plan") != nil { throw reader.error("guardrails.plan", "names a plan but the file has no plans section") }
            return .unlimited
        }
        let name = try reader.string("guardrails.plan")
        let names = try reader.mapping("plans").map(\.0)
        guard names.contains(name) else {
            throw reader.error("guardrails.plan", "must be one of the plans (\(names.joined(separator: ", "))), got \(name)")
        }
        let key = { (field: String) in "plans.\(name).\(field)" }
        let count = { (field: String, unlimited: Bool) throws -> Int64? in
            try reader.optionalInt(key(field), in: (unlimited ? -1 : 0)...Int.max).map(Int64.init)
        }
        var maxima = MailPolicy.Limits()
        maxima.attachmentSizeLimit = try count("limit_attachment_size_limit", false)
        maxima.attachmentCountLimit = try count("limit_attachment_count_limit", false)
        maxima.sizeTotalMIME = try count("limit_size_total_mime", false)
        maxima.storageTotal = try count("limit_storage_total", true)
        maxima.countDailyMessageReceived = try count("limit_count_daily_message_received", true)
        maxima.countDailyEmailSent = try count("limit_count_daily_email_sent", true)
        for field in ["limit_inbox_retention_period", "limit_spam_retention_period"] where try reader.optionalInt(key(field), in: -1...36_500) == 0 {
            throw reader.error(key(field), "must be 1 to 36500 days, or -1 (0 would empty the folder every hour)")
        }
        maxima.inboxRetentionPeriod = try reader.optionalInt(key("limit_inbox_retention_period"), in: -1...36_500).map(Int64.init)
        maxima.spamRetentionPeriod = try reader.optionalInt(key("limit_spam_retention_period"), in: -1...36_500).map(Int64.init)
        let types = try reader.stringList(key("limit_attachment_allowed_types"))
        maxima.attachmentAllowedTypes = types.isEmpty ? nil : types
        return MailPlan(name: name, maxima: maxima)
    }

    private static func smtp(_ reader: YAMLReader, environment: [String: String]) throws -> SMTP {
        var smtp = SMTP()
        if let value = try reader.optionalString("smtp.smart_host"), !value.isEmpty {
            guard let components = URLComponents(string: value), components.scheme == "smtp", let host = components.host,
                  !host.isEmpty, components.path.isEmpty || components.path == "/" else {
                throw reader.error("smtp.smart_host", "must be a URL like smtp://relay.example.com:587 (got \(value))")
            }
            smtp.smartHost = (host, components.port ?? 25)
        }
        if let value = try reader.optionalString("smtp.smart_host_tls") {
            guard let security = SMTP.SmartHostSecurity(rawValue: value) else {
                throw reader.error("smtp.smart_host_tls", "must be none, starttls or tls (got \(value))")
            }
            smtp.smartHostSecurity = security
        }
        smtp.smartHostUsername = try reader.optionalString("smtp.smart_host_username")
        smtp.smartHostPassword = try environment[Environment.smartHostPassword] ?? reader.optionalString("smtp.smart_host_password")
        if (smtp.smartHostUsername == nil) != (smtp.smartHostPassword == nil) {
            throw reader.error("smtp.smart_host_username", "and the smart host password (\(Environment.smartHostPassword)) go together")
        }
        if let value = try reader.optionalInt("smtp.retry_initial_delay_ms", in: 100...86_400_000) {
            smtp.retryInitialDelayMilliseconds = Int64(value)
        }
        if let value = try reader.optionalInt("smtp.retry_window_seconds", in: 10...2_592_000) {
            smtp.retryWindowSeconds = Int64(value)
        }
        if let value = try reader.optionalInt("smtp.delivery_workers", in: 1...64) { smtp.deliveryWorkers = value }
        if let value = try reader.optionalInt("smtp.max_recipients", in: 100...10_000) { smtp.maximumRecipients = value }
        if let value = try reader.optionalInt("smtp.handoff_max_messages", in: 0...65_536) { smtp.handoffMessages = value }
        if let value = try reader.optionalInt("smtp.handoff_max_bytes", in: 0...4_294_967_296) { smtp.handoffBytes = value }
        if let value = try reader.optionalInt("smtp.handoff_max_wait_seconds", in: 1...3600) { smtp.handoffMaximumWaitSeconds = value }
        return smtp
    }

    private static func resolve(_ path: String, against folder: String) -> String {
        path.hasPrefix("/") ? path : (folder.isEmpty ? path : "\(folder)/\(path)")
    }
}

/// Walks a composed YAML tree by dotted key paths, so that every complaint names the key.
private struct YAMLReader {
    let file: String
    let root: Yams.Node

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, key: key, problem: problem)
    }

    func node(_ key: String) -> Yams.Node? {
        var current: Yams.Node? = root
        for component in key.split(separator: ".") {
            guard let mapping = current?.mapping else { return nil }
            current = mapping[Yams.Node(String(component))]
        }
        return current
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = node(key) else { return nil }
        guard let scalar = value.scalar else { throw error(key, "must be a text value") }
        return scalar.string
    }

    func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else { throw error(key, "is missing") }
        guard !value.isEmpty else { throw error(key, "must not be empty") }
        return value
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let text = try optionalString(key) else { throw error(key, "is missing") }
        guard let value = Int(text) else { throw error(key, "must be a whole number (got \(text))") }
        guard range.contains(value) else { throw error(key, "must be between \(range.lowerBound) and \(range.upperBound) (got \(value))") }
        return value
    }

    func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard node(key) != nil else { return nil }
        return try int(key, in: range)
    }

    func optionalPort(_ key: String) throws -> Int? {
        guard node(key) != nil else { return nil }
        return try port(key)
    }

    func port(_ key: String) throws -> Int {
        try int(key, in: 0...65535)
    }

    func mapping(_ key: String) throws -> [(String, Yams.Node)] {
        guard let value = node(key) else { throw error(key, "is missing") }
        guard let mapping = value.mapping else { throw error(key, "must be a mapping") }
        return try mapping.map { pair in
            guard let name = pair.key.scalar?.string else { throw error(key, "has a key that is not text") }
            return (name, pair.value)
        }
    }

    func stringList(_ key: String) throws -> [String] {
        guard let value = node(key) else { return [] }
        guard let sequence = value.sequence else { throw error(key, "must be a list") }
        return try sequence.map { item in
            guard let text = item.scalar?.string else { throw error(key, "must hold text items only") }
            return text
        }
    }

    /// A URL with one of `schemes`; `password` (from the environment) is put in when the URL has none.
    func url(_ key: String, schemes: [String], password: String?) throws -> String {
        let text = try string(key)
        guard var components = URLComponents(string: text), let scheme = components.scheme, schemes.contains(scheme),
              components.host?.isEmpty == false else {
            throw error(key, "must be a URL like \(schemes[0])://host:port (got \(text))")
        }
        if let password, components.password == nil {
            if components.user == nil { components.user = schemes[0] == "redis" ? "" : nil }
            components.password = password
            return components.string ?? text
        }
        return text
    }
}

import ArgumentParser
#if canImport(Glibc)
import CMalloc
import Glibc
#endif
import Cluster
import HTTPAPI
import IMAPGrammar
import IMAPServer
import Logging
import MailCore
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import SMTPServer
import Storage

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run a node until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "This node's id; the region file's nodes section describes it.")
    var node: String

    func run() async throws {
        // glibc keeps small freed blocks that overflow a thread's cache in "fast bins", unmerged,
        // and merges them all whenever a block of 1 KiB or more is asked for: a node does that on
        // nearly every command (a response, a TLS record), so that merging was about 6% of its CPU
        // under the IMAP load and the allocator 13% in all. Without fast bins, those blocks merge
        // as they are freed and the allocator took about 8%; idle sessions stayed as small
        // (`Benchmarks/imap-idle-memory`). Called before the event loops start any thread.
        #if canImport(Glibc)
        let fastBinsOff = mallopt(M_MXFAST, 0) == 1
        #else
        let fastBinsOff = false
        #endif
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(path: options.config, node: node)
        } catch {
            fail("\(error)")
        }
        // Before anything starts the event loops: their number is fixed when they first run.
        if let threads = configuration.eventLoopThreads {
            NIOSingletons.groupLoopCountSuggestion = threads
        }
        let eventLoopThreads = NIOSingletons.groupLoopCountSuggestion
        let executorOnEventLoops = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        guard !configuration.apiKeys.isEmpty else {
            fail("\(configuration.file): api_keys: no API key configured (set \(NodeConfiguration.Environment.apiKeys) or api_keys)")
        }
        // The certificates are for the IMAP and SMTP listeners; a node that cannot read them must
        // not start and fail its first TLS handshake later.
        let certificates: TLSCertificates
        do {
            certificates = try TLSCertificates(sources: configuration.tlsSources)
        } catch {
            fail("\(configuration.file): tls: \(error)")
        }
        let clusterTLS: ClusterTLS
        do {
            clusterTLS = try ClusterTLS(files: configuration.clusterTLS)
        } catch {
            fail("\(configuration.file): cluster_tls: \(error)")
        }
        LoggingSetup.bootstrap()
        let metrics = PrometheusMetricsFactory()
        MetricsSystem.bootstrap(metrics)
        Gauge(label: "mailnode_event_loop_threads").record(eventLoopThreads)

        var logger = Logger(label: "mailnode")
        logger[metadataKey: "node"] = "\(configuration.node)"
        logger[metadataKey: "region"] = "\(configuration.region)"
        let runtime: Runtime
        do {
            runtime = try Runtime(configuration: configuration, logger: logger, readsOtherRegions: true)
        } catch {
            fail("\(configuration.file): \(error)")
        }
        let link = ClusterLink(tls: clusterTLS, registries: runtime.registries, node: configuration.node, logger: logger)
        let running = RunningServices()
        let services: [any Service]
        do {
            services = try makeServices(runtime: runtime, running: running, registry: metrics.registry, tls: certificates.listenerTLS,
                                        clusterTLS: clusterTLS, link: link, logger: logger)
                + [CertificateReloader(certificates: certificates, cluster: clusterTLS, logger: logger)]
        } catch {
            await link.shutdown()
            throw error
        }
        let nodeLogger = logger

        try await runtime.withPostgres {
            let logger = nodeLogger
            do {
                try await Migrations.run(on: runtime.localPostgres, logger: logger)
            } catch {
                fail("cannot migrate the \(configuration.region) Postgres: \(String(reflecting: error))")
            }
            logger.info("node starting", metadata: ["endpoints": "\(configuration.endpoints)", "tasks_on_event_loops": "\(executorOnEventLoops)",
                                                    "event_loop_threads": "\(eventLoopThreads)",
                                                    "malloc_fast_bins": "\(fastBinsOff ? "off" : "on")"])
            var groupConfiguration = ServiceGroupConfiguration(
                services: services.map { .init(service: $0) }
                    + [.init(service: ShutdownWatchdog(drain: configuration.drainDuration, running: running, logger: logger), successTerminationBehavior: .ignore)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            // Drain ends: sessions get the drain time, then are cancelled (see ShutdownWatchdog for
            // what happens if even that does not end them).
            groupConfiguration.maximumGracefulShutdownDuration = configuration.drainDuration
            groupConfiguration.maximumCancellationDuration = ShutdownWatchdog.cancellationDuration
            let group = ServiceGroup(configuration: groupConfiguration)
            do {
                try await group.run()
            } catch {
                logger.warning("services did not stop cleanly", metadata: ["error": "\(error)"])
            }
            await link.shutdown()
            await runtime.closeRedis()
            logger.info("node stopped")
        }
    }

    private func makeServices(runtime: Runtime, running: RunningServices, registry: PrometheusCollectorRegistry, tls: ServerTLSContext,
                              clusterTLS: ClusterTLS,
                              link: ClusterLink, logger: Logger) throws -> [any Service] {
        let configuration = runtime.configuration
        let hasher = PasswordHasher(cost: configuration.bcryptCost)
        let regionRedis = runtime.regionRedis[configuration.region]!
        let mailboxEvents = MailboxEventBus(
            publisher: regionRedis,
            subscriber: RedisSubscriber(endpoint: try RedisEndpoint(url: configuration.servers.redis), logger: logger),
            logger: logger)
        // A submission accepted here is delivered from here, leased as it commits.
        let outboundHandoff = OutboundHandoff(maximumSubmissions: configuration.smtp.handoffMessages,
                                              maximumBytes: configuration.smtp.handoffBytes)
        var mailStore = PostgresMailStore(
            client: runtime.localPostgres, pool: runtime.localPool, logger: logger, defaultQuotaBytes: configuration.defaultQuotaBytes,
            notifier: mailboxEvents, region: configuration.region.rawValue)
        mailStore.outboundHandoff = outboundHandoff
        let grants = GrantService(
            region: configuration.region, stores: runtime.stores, routing: runtime.routing,
            hasher: hasher, credentials: mailboxEvents, logger: logger)
        // Webhooks are written to every region's Postgres, this region's first.
        let webhookStores: [(Region, any WebhookStore)] = runtime.postgres
            .sorted { ($0.key == configuration.region ? 0 : 1, $0.key.rawValue) < ($1.key == configuration.region ? 0 : 1, $1.key.rawValue) }
            .map { ($0.key, PostgresWebhookStore(client: $0.value, logger: logger)) }
        let webhookDispatcher = WebhookDispatcher(
            queue: PostgresWebhookQueue(pool: runtime.webhookPool, logger: logger), store: mailStore,
            settings: .init(region: configuration.region.rawValue, node: configuration.node,
                            applicationID: configuration.webhooks.applicationID,
                            policy: WebhookRetryPolicy(initialDelayMilliseconds: configuration.webhooks.retryInitialDelayMilliseconds,
                                                       retryWindowSeconds: configuration.webhooks.retryWindowSeconds),
                            deliveryTimeout: .seconds(configuration.webhooks.deliveryTimeoutSeconds),
                            concurrency: configuration.webhooks.dispatchers),
            logger: logger)
        mailboxEvents.listenToEveryGrant { webhookDispatcher.mailboxChanged() }
        var apiSettings = APIServer.Settings(
            host: configuration.listen.host, port: configuration.listen.ports[.api]!, node: configuration.node,
            apiKeys: configuration.apiKeys, jsonBodyLimit: configuration.limits.apiJSONBodyBytes,
            messageSizeLimit: configuration.limits.messageSizeBytes)
        apiSettings.applicationID = configuration.webhooks.applicationID
        apiSettings.plan = configuration.plan
        // Policies, rules, lists and workspaces: in every region's Postgres, this region's first.
        let guardrailStores = webhookStores.map { region, _ in (region, PostgresGuardrailStore(client: runtime.postgres[region]!, logger: logger)) }
        let api = APIServer.application(settings: apiSettings, grants: grants, store: mailStore, webhooks: webhookStores,
                                        guardrails: guardrailStores, link: link, logger: logger)

        let localStore = runtime.stores.first!.1
        let replica = runtime.routingReplica
        // Without its Postgres a node can do nothing; without a Redis it works in a degraded mode
        // (see README, "Faults"): it stays ready and says which dependency is down.
        let checks: [AdminServer.Check] = [
            .init(name: "postgres") { try await localStore.ping() },
            .init(name: "redis", required: false) { _ = try await regionRedis.send(["PING"]) },
            .init(name: "routing-redis", required: false) { _ = try await replica.send(["PING"]) },
        ]
        let admin = AdminServer.application(
            host: configuration.listen.host, port: configuration.listen.ports[.admin]!, registry: registry,
            checks: checks, logger: logger)

        let heartbeat = NodeHeartbeat(
            registry: runtime.registries[configuration.region]!,
            info: NodeInfo(node: configuration.node, region: configuration.region, endpoints: configuration.endpoints,
                           startedAt: WallClock.unixSeconds()),
            interval: configuration.heartbeatInterval, timeToLive: configuration.heartbeatTimeToLive, logger: logger,
            // The same drain as an operator's SIGTERM, through the same signal handling.
            onDrainRequest: { kill(getpid(), SIGTERM) })
        let invalidation = RoutingInvalidationListener(
            endpoint: try RedisEndpoint(url: configuration.routingReplica), cache: runtime.routing.cache,
            heartbeat: (runtime.routing, configuration.node), logger: logger)
        let liveNodes = ClusterHealthGauges(registries: runtime.registries, checks: checks)
        var imapLimits = IMAPLimits.default
        imapLimits.maxAppendLiteralSize = configuration.limits.messageSizeBytes
        var imap = IMAPServerContext(
            region: configuration.region, node: configuration.node, hostname: configuration.hostname,
            router: runtime.routing, grants: localStore, store: mailStore, events: mailboxEvents, hasher: hasher,
            throttle: AuthThrottle(redis: regionRedis, logger: logger),
            slots: ConnectionSlots(redis: regionRedis, surface: "imap", limit: configuration.limits.imapConnectionsPerGrant, logger: logger),
            tls: tls.context, registries: runtime.registries, clusterTLS: clusterTLS, limits: imapLimits,
            contentCache: MessageContentCache(capacityBytes: configuration.imapContentCacheBytes), logger: logger)
        imap.tlsSource = tls
        // Sessions relayed from other regions' nodes: the cluster's TLS both ways, and the client's
        // address from the relay's PROXY header inside it.
        var relayedIMAP = imap
        relayedIMAP.tls = clusterTLS.serverContext
        relayedIMAP.isClusterListener = true
        let clusterIMAP = IMAPListener(host: configuration.listen.host, port: configuration.listen.ports[.clusterIMAP]!,
                                       security: .implicitTLS, context: relayedIMAP)
        let imaps = IMAPListener(host: configuration.listen.host, port: configuration.listen.ports[.imaps]!, security: .implicitTLS,
                                 proxyProtocol: configuration.listen.proxyProtocol.contains(.imaps), context: imap)
        let imapStartTLS = IMAPListener(host: configuration.listen.host, port: configuration.listen.ports[.imap]!, security: .startTLS,
                                        proxyProtocol: configuration.listen.proxyProtocol.contains(.imap), context: imap)
        let (smtp, intake) = try makeSMTP(runtime: runtime, mailStore: mailStore, mailboxEvents: mailboxEvents, tls: tls, hasher: hasher,
                                          handoff: MailHandoff(link: link), logger: logger)
        let clusterAPI = try APIServer.clusterApplication(
            settings: apiSettings, port: configuration.listen.ports[.clusterAPI]!, grants: grants, store: mailStore,
            webhooks: webhookStores, guardrails: guardrailStores, intake: intake, tls: clusterTLS, logger: logger)
        let structures = StoredStructureRefresher(store: mailStore, logger: logger)
        let tombstones = ExpungeTombstonePruner(store: mailStore, windowSeconds: configuration.imapVanishedWindowSeconds, logger: logger)
        let evaluations = RuleEvaluationPruner(store: PostgresGuardrailStore(client: runtime.localPostgres, logger: logger),
                                               retentionDays: configuration.evaluationRetentionDays, logger: logger)
        let retention = RetentionJob(store: mailStore, grants: PostgresGrantStore(client: runtime.localPostgres, logger: logger),
                                     rules: GuardrailRules(objects: PostgresGuardrailStore(client: runtime.localPostgres, logger: logger),
                                                           plan: configuration.plan),
                                     interval: .seconds(configuration.retentionIntervalSeconds), logger: logger)
        // The IMAP and HTTP listeners drain together; the rest in the group's reverse order.
        let listeners = DrainingTogether(services: [running.tracking(api, as: "APIListener"),
                                                    running.tracking(clusterAPI, as: "ClusterAPIListener"),
                                                    running.tracking(imaps, as: "IMAPListener imaps"),
                                                    running.tracking(imapStartTLS, as: "IMAPListener imap"),
                                                    running.tracking(clusterIMAP, as: "IMAPListener cluster_imap")])
        let rest: [any Service] = [heartbeat, evaluations, invalidation, liveNodes, webhookDispatcher, structures, tombstones, retention] + smtp
        return [running.tracking(admin, as: "AdminListener"), running.tracking(mailboxEvents), listeners] + rest.map { running.tracking($0) }
    }
}

extension ServeCommand {
    /// Submission and inbound listeners, and the outbound delivery workers.
    /// Also the node's side of mail handed over by other regions' nodes.
    func makeSMTP(runtime: Runtime, mailStore: PostgresMailStore, mailboxEvents: MailboxEventBus, tls: ServerTLSContext,
                  hasher: PasswordHasher, handoff: MailHandoff, logger: Logger) throws -> ([any Service], HomeMailIntake) {
        let configuration = runtime.configuration
        var regions: [Region: SMTPServerContext.RegionMail] = [:]
        for (region, grants) in runtime.stores {
            let store = region == configuration.region ? mailStore : PostgresMailStore(
                client: runtime.postgres[region]!, logger: logger, defaultQuotaBytes: configuration.defaultQuotaBytes,
                notifier: RedisMailboxNotifier(redis: runtime.regionRedis[region]!, logger: logger), region: region.rawValue)
            regions[region] = .init(grants: grants, store: store)
        }
        var limits = SMTPServerContext.Limits()
        limits.messageSizeBytes = configuration.limits.messageSizeBytes
        limits.maximumRecipients = configuration.smtp.maximumRecipients
        var context = SMTPServerContext(
            region: configuration.region, node: configuration.node, hostname: configuration.hostname, router: runtime.routing,
            regions: regions, hasher: hasher, throttle: AuthThrottle(redis: runtime.regionRedis[configuration.region]!, logger: logger),
            tls: tls.context, limits: limits, logger: logger)
        context.tlsSource = tls
        context.handoff = handoff
        context.events = mailboxEvents
        context.rules = GuardrailRules(objects: PostgresGuardrailStore(client: runtime.localPostgres, pool: runtime.localPool, logger: logger),
                                       plan: configuration.plan)
        if !configuration.spam.dnsblZones.isEmpty {
            context.reputation = DNSBLChecker(zones: configuration.spam.dnsblZones, score: configuration.spam.dnsblScore,
                                              resolver: DNSResolver(servers: configuration.spam.resolvers,
                                                                    timeout: .milliseconds(configuration.spam.dnsblTimeoutMilliseconds)))
        }
        let security: SmartHostClient.Security = switch configuration.smtp.smartHostSecurity {
        case .none: .none
        case .starttls: .startTLS
        case .tls: .implicitTLS
        }
        let smartHost = try configuration.smtp.smartHost.map { relay in
            try SmartHostClient(
                host: relay.host, port: relay.port, security: security,
                credentials: configuration.smtp.smartHostUsername.flatMap { user in configuration.smtp.smartHostPassword.map { (user, $0) } },
                heloName: configuration.hostname, logger: logger)
        }
        let workers = OutboundDeliveryWorkers(
            queue: PostgresOutboundQueue(client: runtime.localPostgres, pool: runtime.localPool, logger: logger), context: context,
            smartHost: smartHost,
            policy: DeliveryRetryPolicy(initialDelayMilliseconds: configuration.smtp.retryInitialDelayMilliseconds,
                                        retryWindowSeconds: configuration.smtp.retryWindowSeconds),
            count: configuration.smtp.deliveryWorkers, handoff: mailStore.outboundHandoff,
            handoffMaximumWait: .seconds(configuration.smtp.handoffMaximumWaitSeconds))
        // A submission the handoff had no room for rings the region's outbound channel: every node looks for the job at once.
        let bell = workers.bell
        mailboxEvents.listenToOutbound { bell.ring() }
        let host = configuration.listen.host, ports = configuration.listen.ports
        let listeners: [any Service] = [
            SMTPListener(host: host, port: ports[.smtps]!, kind: .submissionTLS, context: context),
            SMTPListener(host: host, port: ports[.submission]!, kind: .submission, context: context),
            SMTPListener(host: host, port: ports[.smtp]!, kind: .inbound, context: context),
        ]
        return (listeners + [workers], HomeMailIntake(context: context))
    }
}

/// `mailnode_live_nodes{region}`: what the registries say, refreshed every few seconds.
struct ClusterHealthGauges: Service {
    let registries: [Region: NodeRegistry]
    let checks: [AdminServer.Check]

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for (region, registry) in registries {
                if let nodes = try? await registry.liveNodes() {
                    Gauge(label: "mailnode_live_nodes", dimensions: [("region", region.rawValue)]).record(nodes.count)
                }
            }
            for check in checks {
                let up = (try? await check.probe()) != nil
                Gauge(label: "mailnode_dependency_up", dimensions: [("dependency", check.name)]).record(up ? 1 : 0)
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(5)) }
            } catch {
                return
            }
        }
    }
}

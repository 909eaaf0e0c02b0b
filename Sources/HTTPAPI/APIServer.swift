import Cluster
import Hummingbird
import HummingbirdTLS
import Logging
import MailCore
import Storage

/// The `/v3` REST API of one node.
public enum APIServer {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var node: String
        public var apiKeys: [String]
        public var jsonBodyLimit: Int
        /// The largest message sent or saved as a draft, and the largest multipart request.
        public var messageSizeLimit: Int
        /// `application_id` of the application's objects (`webhooks.application_id`).
        public var applicationID = "mailnode"
        /// The maxima policies are held to and grants without a policy run at (`plans`).
        public var plan = MailPlan.unlimited

        public init(host: String, port: Int, node: String, apiKeys: [String], jsonBodyLimit: Int, messageSizeLimit: Int = 26_214_400) {
            self.messageSizeLimit = messageSizeLimit
            self.host = host
            self.port = port
            self.node = node
            self.apiKeys = apiKeys
            self.jsonBodyLimit = jsonBodyLimit
        }
    }

    /// Which listener a router serves.
    public enum Listener: Sendable {
        /// The public API: requests for other regions' grants are forwarded over `link`.
        case `public`(link: ClusterLink?)
        /// The cluster listener (mutual TLS, other nodes only): forwarded API requests for this
        /// region's grants, and mail handed over by other regions' nodes to `intake`.
        case cluster(intake: any HomeRegionMailIntake)
    }

    public static func router(settings: Settings, grants: GrantService, store: (any MailStore)? = nil,
                              webhooks: [(Region, any WebhookStore)] = [],
                              guardrails: [(Region, PostgresGuardrailStore)] = [],
                              listener: Listener = .public(link: nil)) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        var link: ClusterLink?
        if case .public(let publicLink) = listener { link = publicLink }
        router.add(middleware: APIErrorAndMetricsMiddleware(node: settings.node, closesOnTooLarge: !isCluster(listener)))
        if case .cluster(let intake) = listener {
            ClusterIntakeController(intake: intake, messageSizeLimit: settings.messageSizeLimit).register(on: router)
        }
        let v3 = router.group("v3")
            .add(middleware: BearerKeyMiddleware(keys: settings.apiKeys))
            .add(middleware: GrantForwardingMiddleware(region: grants.region, routing: grants.routing, link: link,
                                                  jsonBodyLimit: settings.jsonBodyLimit))
        GrantsController(service: grants, jsonBodyLimit: settings.jsonBodyLimit, guardrails: guardrails.first?.1).register(on: v3)
        if !guardrails.isEmpty {
            GuardrailsController(stores: guardrails, grants: grants, applicationID: settings.applicationID,
                                 jsonBodyLimit: settings.jsonBodyLimit, plan: settings.plan).register(on: v3)
        }
        if let store {
            MessagesController(grants: grants, store: store, jsonBodyLimit: settings.jsonBodyLimit).register(on: v3)
            SendingController(grants: grants, store: store, jsonBodyLimit: settings.jsonBodyLimit,
                              messageSizeLimit: settings.messageSizeLimit,
                              rules: guardrails.first.map { GuardrailRules(objects: $0.1, plan: settings.plan) }).register(on: v3)
            ThreadsController(grants: grants, store: store).register(on: v3)
        }
        if !webhooks.isEmpty {
            WebhooksController(stores: webhooks, challenge: WebhookChallenge(), jsonBodyLimit: settings.jsonBodyLimit).register(on: v3)
        }
        return router
    }

    private static func isCluster(_ listener: Listener) -> Bool {
        if case .cluster = listener { return true }
        return false
    }

    /// The public API, on `settings.port`.
    public static func application(settings: Settings, grants: GrantService, store: any MailStore,
                                   webhooks: [(Region, any WebhookStore)], guardrails: [(Region, PostgresGuardrailStore)], link: ClusterLink,
                                   logger: Logger) -> some ApplicationProtocol
    {
        Application(
            router: router(settings: settings, grants: grants, store: store, webhooks: webhooks, guardrails: guardrails,
                           listener: .public(link: link)),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "mailnode"),
            logger: logger.with(listener: "api"))
    }

    /// The cluster listener on `port`: HTTPS that only a client with a certificate of the
    /// cluster's authority can open.
    public static func clusterApplication(settings: Settings, port: Int, grants: GrantService, store: any MailStore,
                                          webhooks: [(Region, any WebhookStore)], guardrails: [(Region, PostgresGuardrailStore)],
                                          intake: any HomeRegionMailIntake, tls: ClusterTLS, logger: Logger) throws -> some ApplicationProtocol
    {
        Application(
            router: router(settings: settings, grants: grants, store: store, webhooks: webhooks, guardrails: guardrails,
                           listener: .cluster(intake: intake)),
            server: try .tls(.http1(), tlsConfiguration: tls.serverConfiguration),
            configuration: .init(address: .hostname(settings.host, port: port), serverName: "mailnode"),
            logger: logger.with(listener: "cluster_api"))
    }
}

extension Logger {
    /// The logger of one HTTP listener: the server's own lines (a drain waiting on a connection)
    /// say which listener they come from.
    func with(listener: String) -> Logger {
        var logger = self
        logger[metadataKey: "listener"] = "\(listener)"
        return logger
    }
}

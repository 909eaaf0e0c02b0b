import Cluster
import Hummingbird
import Logging
import MailCore

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

        public init(host: String, port: Int, node: String, apiKeys: [String], jsonBodyLimit: Int, messageSizeLimit: Int = 26_214_400) {
            self.messageSizeLimit = messageSizeLimit
            self.host = host
            self.port = port
            self.node = node
            self.apiKeys = apiKeys
            self.jsonBodyLimit = jsonBodyLimit
        }
    }

    public static func router(settings: Settings, grants: GrantService, store: (any MailStore)? = nil,
                              webhooks: [(Region, any WebhookStore)] = [],
                              registries: [Region: NodeRegistry]) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: APIErrorAndMetricsMiddleware(node: settings.node))
        let v3 = router.group("v3")
            .add(middleware: BearerKeyMiddleware(keys: settings.apiKeys))
            .add(middleware: GrantForwardingMiddleware(region: grants.region, node: settings.node, routing: grants.routing, registries: registries,
                                                  jsonBodyLimit: settings.jsonBodyLimit))
        GrantsController(service: grants, jsonBodyLimit: settings.jsonBodyLimit).register(on: v3)
        if let store {
            MessagesController(grants: grants, store: store, jsonBodyLimit: settings.jsonBodyLimit).register(on: v3)
            SendingController(grants: grants, store: store, jsonBodyLimit: settings.jsonBodyLimit,
                              messageSizeLimit: settings.messageSizeLimit).register(on: v3)
            ThreadsController(grants: grants, store: store).register(on: v3)
        }
        if !webhooks.isEmpty {
            WebhooksController(stores: webhooks, challenge: WebhookChallenge(), jsonBodyLimit: settings.jsonBodyLimit).register(on: v3)
        }
        return router
    }

    public static func application(settings: Settings, grants: GrantService, store: any MailStore,
                                   webhooks: [(Region, any WebhookStore)], registries: [Region: NodeRegistry],
                                   logger: Logger) -> some ApplicationProtocol
    {
        Application(
            router: router(settings: settings, grants: grants, store: store, webhooks: webhooks, registries: registries),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "mailnode"),
            logger: logger)
    }
}

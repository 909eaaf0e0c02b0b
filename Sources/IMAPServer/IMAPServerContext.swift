import Cluster
import IMAPGrammar
import Logging
import MailCore
import NIOSSL

/// Everything a session needs from the node, shared by all sessions.
public struct IMAPServerContext: Sendable {
    /// Seed limits and protocol timers, named.
    public struct Timers: Sendable {
        /// RFC 9051 5.4 asks for at least 30 minutes; the seed closes idle connections outside IDLE after 5.
        public var idleOutsideIDLE: Duration = .seconds(300)
        /// The seed ends IDLE after 30 minutes with a response; the client re-issues it.
        public var maximumIDLE: Duration = .seconds(1800)
        /// `* OK` lines during IDLE keep NAT and load balancer state alive.
        public var keepalive: Duration = .seconds(120)
        /// How often the session checks its timers.
        public var tick: Duration = .seconds(5)
        /// A TLS connection that has had no byte either way for this long gives its buffers'
        /// pages back to the system (`ConnectionPages`); the next exchange takes fresh ones.
        public var quietBufferRelease: Duration = .seconds(1)

        public init() {}
    }

    public var region: Region
    public var node: String
    public var hostname: String
    public var router: any GrantRouter
    public var grants: any GrantStore
    public var store: any MailStore
    public var events: MailboxEventBus
    public var hasher: PasswordHasher
    public var throttle: AuthThrottle
    public var slots: ConnectionSlots
    /// The listeners' TLS; `tls` is its context now.
    public var tlsSource: ServerTLSContext
    public var tls: NIOSSLContext {
        get { tlsSource.context }
        set { tlsSource = ServerTLSContext(newValue) }
    }
    /// Every region's node registry, to find a live node of a grant's home region.
    public var registries: [Region: NodeRegistry]
    /// The cluster's TLS, for sessions relayed to a grant's home region; nil: such logins are
    /// answered `NO [UNAVAILABLE]`.
    public var clusterTLS: ClusterTLS?
    /// True for the cluster listener's sessions: they come relayed from other nodes, and one for a
    /// grant homed elsewhere is refused rather than relayed again.
    public var isClusterListener = false
    public var limits: IMAPLimits
    /// The content of messages sessions read, shared by every session of the node.
    public var contentCache: MessageContentCache
    /// The credentials checks the node's sessions share.
    public var credentialChecks: GrantCredentialChecks
    public var timers: Timers
    public var clock: SessionClock
    public var logger: Logger

    public init(region: Region, node: String, hostname: String, router: any GrantRouter, grants: any GrantStore,
                store: any MailStore, events: MailboxEventBus, hasher: PasswordHasher, throttle: AuthThrottle, slots: ConnectionSlots, tls: NIOSSLContext,
                registries: [Region: NodeRegistry], clusterTLS: ClusterTLS? = nil, limits: IMAPLimits = .default, contentCache: MessageContentCache = MessageContentCache(),
                timers: Timers = Timers(), clock: SessionClock = .system, logger: Logger) {
        self.region = region
        self.node = node
        self.hostname = hostname
        self.router = router
        self.grants = grants
        self.store = store
        self.events = events
        self.hasher = hasher
        self.throttle = throttle
        self.slots = slots
        self.tlsSource = ServerTLSContext(tls)
        self.registries = registries
        self.clusterTLS = clusterTLS
        self.limits = limits
        self.contentCache = contentCache
        self.credentialChecks = GrantCredentialChecks()
        self.timers = timers
        self.clock = clock
        self.logger = logger
    }
}

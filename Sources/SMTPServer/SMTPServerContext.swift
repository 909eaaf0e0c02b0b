import Cluster
import Logging
import MailCore
import MailPipeline
import Storage
import NIOSSL
import SMTPGrammar

/// Everything SMTP sessions and delivery workers need from the node, shared by all of them.
public struct SMTPServerContext: Sendable {
    /// A region's mail, as seen from this node: its grants and its mail store (announcing on that
    /// region's Redis). Mail for a grant is always stored in the grant's home region.
    public struct RegionMail: Sendable {
        public var grants: any GrantStore
        public var store: any MailStore

        public init(grants: any GrantStore, store: any MailStore) {
            self.grants = grants
            self.store = store
        }
    }

    /// Bounds and timers, named (each is documented in the README's SMTP section).
    public struct Limits: Sendable {
        /// `SIZE`: the largest message accepted (the seed's 25 MB).
        public var messageSizeBytes = 26_214_400
        /// Recipients of one transaction (RFC 5321 4.5.3.1.8 asks for at least 100).
        public var maximumRecipients = 100
        /// Commands that failed (4xx/5xx) before the session is closed with 421.
        public var maximumErrors = 10
        /// Commands in one session before it is closed with 421.
        public var maximumCommands = 10_000
        /// Waiting for the client's next command (RFC 5321 4.5.3.2.7: 5 minutes).
        public var commandTimeout: Duration = .seconds(300)
        /// Waiting for the next chunk of message data (RFC 5321 4.5.3.2.5: 3 minutes).
        public var dataTimeout: Duration = .seconds(180)
        /// A whole session, however busy.
        public var sessionTimeout: Duration = .seconds(3600)

        public init() {}
    }

    public var region: Region
    public var node: String
    public var hostname: String
    public var router: any GrantRouter
    /// Every region's mail; this node's region is `regions[region]`. Other regions' stores are
    /// read (quota, credentials), never written: mail for their grants goes through `handoff`.
    public var regions: [Region: RegionMail]
    /// Hands mail for other regions' grants to a node of their region; nil when no cluster link
    /// is configured (such mail is then deferred).
    public var handoff: MailHandoff?
    /// The application's rules; nil: none are enforced (tests of other parts).
    public var rules: GuardrailRules?
    /// This region's mailbox events: sessions of its grants hear there that their credentials
    /// changed. Nil: each MAIL FROM reads the grant's credentials version from Postgres instead.
    public var events: MailboxEventBus?
    /// DNS blocklists for spam detection (`spam.dnsbl_zones`); nil: none configured.
    public var reputation: (any SenderReputation)?
    public var hasher: PasswordHasher
    public var throttle: AuthThrottle
    /// The listeners' TLS; `tls` is its context now.
    public var tlsSource: ServerTLSContext
    public var tls: NIOSSLContext {
        get { tlsSource.context }
        set { tlsSource = ServerTLSContext(newValue) }
    }
    public var limits: Limits
    public var logger: Logger

    public init(region: Region, node: String, hostname: String, router: any GrantRouter, regions: [Region: RegionMail],
                hasher: PasswordHasher, throttle: AuthThrottle, tls: NIOSSLContext, limits: Limits = Limits(), logger: Logger) {
        self.region = region
        self.node = node
        self.hostname = hostname
        self.router = router
        self.regions = regions
        self.hasher = hasher
        self.throttle = throttle
        self.tlsSource = ServerTLSContext(tls)
        self.limits = limits
        self.logger = logger
    }

    var local: RegionMail { regions[region]! }

    /// The grammar's bounds, with this node's message size limit.
    var grammarLimits: SMTPLimits { SMTPLimits(maxMessageSize: limits.messageSizeBytes) }
}

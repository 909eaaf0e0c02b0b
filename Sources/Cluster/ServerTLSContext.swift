import NIOSSL
import Synchronization

/// The TLS context a public listener gives each new connection, replaced as a whole when the
/// node reads its certificates again (SIGHUP): connections already open keep the one they began
/// with. A context built once holds the certificate once; choosing the certificate in a callback
/// at every handshake instead copied it into every connection (about 1 KiB each, for as long as
/// the connection lives) and parsed its key again each time.
public final class ServerTLSContext: Sendable {
    private let current: Mutex<NIOSSLContext>

    public init(_ context: NIOSSLContext) {
        current = Mutex(context)
    }

    public var context: NIOSSLContext {
        current.withLock { $0 }
    }

    public func replace(with context: NIOSSLContext) {
        current.withLock { $0 = context }
    }
}

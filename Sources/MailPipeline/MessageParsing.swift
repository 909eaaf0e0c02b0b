import MailCore
import MIME
import NIOPosix

/// Parses large messages on NIO's thread pool instead of the event loop that holds them.
///
/// Every connection, timer and pool sweep of a node runs on its event loops, and a node may run
/// a single one (`event_loop_threads`). Parsing a message and working out its facts reads every
/// byte of it (MIME boundaries, line counts of every part): 22 ms for a 25 MB message with an
/// attachment, 8 ms for a 169 KB message of 1,000 parts (`Benchmarks/mime-bench`, release build),
/// time in which every other session on the loop waits. A message of `offLoopBytes` or more is
/// therefore parsed on the pool; a smaller one where it is: a plain message that size parses in
/// about a quarter of a millisecond, and the hop to another thread and back costs a good part of
/// that for the mail most sessions send.
public enum MessageParsing {
    /// The size from which a message is parsed off the event loop.
    public static let offLoopBytes = 256 << 10

    /// The parsed message.
    public static func message(_ bytes: [UInt8]) async -> MIMEMessage {
        await run(size: bytes.count) { MIMEMessage(parsing: bytes) }
    }

    /// The facts the store keeps about a parsed message; `size` is the message's size in bytes.
    public static func facts(of message: MIMEMessage, size: Int) async -> MessageFacts {
        await run(size: size) { MessageFacts(parsing: message) }
    }

    /// The parsed message and its facts, in one trip to the pool when it is large.
    public static func messageAndFacts(_ bytes: [UInt8]) async -> (message: MIMEMessage, facts: MessageFacts) {
        await run(size: bytes.count) {
            let message = MIMEMessage(parsing: bytes)
            return (message, MessageFacts(parsing: message))
        }
    }

    static func run<Value: Sendable>(size: Int, _ work: @escaping @Sendable () -> Value) async -> Value {
        guard size >= offLoopBytes else { return work() }
        // The pool refuses work only once the node is shutting down; the message is still parsed.
        return (try? await NIOThreadPool.singleton.runIfActive(work)) ?? work()
    }
}

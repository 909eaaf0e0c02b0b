#if canImport(Glibc)
import Glibc
#endif
import MailCore
import MIME
import NIOPosix

/// Parses large messages on NIO's thread pool instead of the event loop that holds them.
///
/// Every connection, timer and pool sweep of a node runs on its event loops, and a node may run
/// a single one (`event_loop_threads`). Parsing a message and working out its facts reads every
/// byte of it (MIME boundaries, line counts of every part): 22 ms for a 25 MB message with an
/// attachment, 8 ms for a 169 KB message of 1,000 parts (`Benchmarks/mime-bench`, release build),
/// time in which every other session on the loop waits. A message of `offLoopBytes` or more, or
/// with more than `offLoopBoundaryLines` lines that may be MIME boundaries (`--` at the start of a
/// line: the parser's cost grows with the parts), is therefore parsed on the pool; any other where
/// it is, since the hop to another thread and back would cost more than parsing it.
public enum MessageParsing {
    /// The size from which a message is parsed off the event loop.
    public static let offLoopBytes = 256 << 10
    /// More lines starting with `--` than this, and a message is parsed off the event loop.
    public static let offLoopBoundaryLines = 64

    /// The parsed message.
    public static func message(_ bytes: [UInt8]) async -> MIMEMessage {
        await run(offLoop: isCostly(bytes)) { MIMEMessage(parsing: bytes) }
    }

    /// The facts the store keeps about `message`, parsed from `bytes`.
    public static func facts(of message: MIMEMessage, parsedFrom bytes: [UInt8]) async -> MessageFacts {
        await run(offLoop: isCostly(bytes)) { MessageFacts(parsing: message) }
    }

    /// The parsed message and its facts, in one trip to the pool when that is where they are made.
    public static func messageAndFacts(_ bytes: [UInt8]) async -> (message: MIMEMessage, facts: MessageFacts) {
        await run(offLoop: isCostly(bytes)) {
            let message = MIMEMessage(parsing: bytes)
            return (message, MessageFacts(parsing: message))
        }
    }

    /// Whether parsing `bytes` is worth a trip to the pool: large, or many possible boundaries.
    static func isCostly(_ bytes: [UInt8]) -> Bool {
        if bytes.count >= offLoopBytes { return true }
        return bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            var lines = 0
            var offset = 0
            while offset < buffer.count, let found = memchr(base + offset, 0x0A, buffer.count - offset) {
                let next = base.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
                if next + 1 < buffer.count, buffer[next] == 0x2D, buffer[next + 1] == 0x2D {
                    lines += 1
                    if lines > offLoopBoundaryLines { return true }
                }
                offset = next
            }
            return false
        }
    }

    static func run<Value: Sendable>(offLoop: Bool, _ work: @escaping @Sendable () -> Value) async -> Value {
        guard offLoop else { return work() }
        // The pool refuses work once the calling task is cancelled (a client that went away) or
        // the node is stopping: the message is then parsed here.
        return (try? await NIOThreadPool.singleton.runIfActive(work)) ?? work()
    }
}

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Asks DNS servers (`spam.resolvers`) for A records over UDP, with a deadline: a server that does
/// not answer in time costs the deadline, never a blocked thread. Each lookup has a socket of its
/// own (a fresh source port and a random id, as RFC 5452 asks of resolvers); servers are tried in
/// order while the deadline lasts.
public struct DNSResolver: Sendable {
    public enum Failure: Error, Sendable, Hashable {
        case timedOut
        case unreadable
    }

    public let servers: [SocketAddress]
    public let timeout: Duration
    let group: any EventLoopGroup

    public init(servers: [SocketAddress], timeout: Duration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.servers = servers
        self.timeout = timeout
        self.group = group
    }

    /// The answer for the A records of `name` from the first server that gives one in time.
    public func lookup(_ name: String) async throws -> DNSMessage.Answer {
        guard !servers.isEmpty else { throw Failure.timedOut }
        let share = timeout / servers.count
        var last = Failure.timedOut
        for server in servers {
            do {
                return try await ask(server, name, within: share)
            } catch let failure as Failure {
                last = failure
            }
        }
        throw last
    }

    private func ask(_ server: SocketAddress, _ name: String, within deadline: Duration) async throws -> DNSMessage.Answer {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try DNSMessage.query(id: id, name: name)
        let loop = group.next()
        let promise = loop.makePromise(of: DNSMessage.Answer.self)
        let settled = NIOLockedValueBox(false)
        let settle: @Sendable (Result<DNSMessage.Answer, any Error>) -> Void = { result in
            guard settled.withLockedValue({ done in defer { done = true }; return !done }) else { return }
            promise.completeWith(result)
        }
        // Connected to the server: the kernel drops datagrams from anyone else, and an ICMP "port
        // unreachable" (nobody there) ends the attempt at once instead of at the deadline.
        let bootstrap = DatagramBootstrap(group: loop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ReplyHandler(id: id, question: Array(query[12...]), settle: settle))
            }
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: server).get()
        } catch {
            settle(.failure(Failure.unreadable))
            _ = try? await promise.futureResult.get()
            throw Failure.unreadable
        }
        let timer = loop.scheduleTask(in: TimeAmount.nanoseconds(Int64(deadline / .nanoseconds(1)))) { settle(.failure(Failure.timedOut)) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: channel.allocator.buffer(bytes: query)), promise: nil)
        do {
            return try await promise.futureResult.get()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure.unreadable
        }
    }

    /// Takes the first datagram that carries the query's id and question (RFC 5452 9.1); others
    /// are dropped.
    private final class ReplyHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let id: UInt16
        let question: [UInt8]
        let settle: @Sendable (Result<DNSMessage.Answer, any Error>) -> Void

        init(id: UInt16, question: [UInt8], settle: @escaping @Sendable (Result<DNSMessage.Answer, any Error>) -> Void) {
            self.id = id
            self.question = question
            self.settle = settle
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let answer = try? DNSMessage.parse(Array(envelope.data.readableBytesView)), answer.id == id,
                  answer.question.count == question.count,
                  zip(answer.question, question).allSatisfy({ Self.lowercased($0) == Self.lowercased($1) }) else { return }
            settle(.success(answer))
        }

        static func lowercased(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // An ICMP "port unreachable" for a server that is not there: the next server, or the end.
            settle(.failure(Failure.unreadable))
        }
    }
}

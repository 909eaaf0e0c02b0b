import NIOConcurrencyHelpers

/// Wakes loops that wait for work: every `rings()` sequence gets each ring (at most one pending).
public final class Doorbell: Sendable {
    private let continuations = NIOLockedValueBox([Int: AsyncStream<Void>.Continuation]())
    private let nextID = NIOLockedValueBox(0)

    public init() {}

    public func rings() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = nextID.withLockedValue { value in
            value += 1
            return value
        }
        continuations.withLockedValue { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.continuations.withLockedValue { $0[id] = nil } }
        continuation.yield()
        return stream
    }

    public func ring() {
        for continuation in continuations.withLockedValue({ Array($0.values) }) { continuation.yield() }
    }

    public func close() {
        for continuation in continuations.withLockedValue({ Array($0.values) }) { continuation.finish() }
    }
}

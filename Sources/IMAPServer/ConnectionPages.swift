#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix
import Synchronization

/// The pages of one connection's large buffers, which it gives back while its client is quiet.
///
/// The TLS handler keeps a 16 KiB buffer for the records it writes and a 32 KiB one for the
/// plaintext it reads, both from the page-backed allocator. Every exchange touches at least
/// their first page, so an idle session held two pages (8 KiB, a third of its memory) for bytes
/// long sent and read, and more after a long literal or a large FETCH. Once the connection's
/// handler knows those bytes are dead (it holds no input, the socket has nothing left to write),
/// `release` gives the pages back to the system; they read as zeros when next touched.
///
/// Which blocks serve the connection is known from where they were made: those allocated on
/// this thread while `attributing` runs (the TLS handler makes its buffers when it joins the
/// pipeline), and what those grow into. Buffers made elsewhere (the socket's receive buffer, the
/// session's responses) are never given back this way: nothing here knows when their bytes die.
final class ConnectionPages: Sendable {
    private static let nextID = Atomic<Int>(1)
    /// The connection whose buffers this thread is allocating now, if any.
    private static let attribution = ThreadSpecificVariable<ConnectionPages>()

    let id: Int

    init() {
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    deinit {
        MappedBlocks.shared.withLock { $0.disown(id) }
    }

    static var attributed: ConnectionPages? { attribution.currentValue }

    /// Runs `body`, counting the large buffers it makes on this thread as this connection's.
    func attributing<T>(_ body: () throws -> T) rethrows -> T {
        let outer = Self.attribution.currentValue
        Self.attribution.currentValue = self
        defer { Self.attribution.currentValue = outer }
        return try body()
    }

    /// Gives back the pages of this connection's blocks; returns how many blocks it released.
    /// The caller must know their bytes are dead: nothing read waits to be handed on, nothing
    /// written waits to be sent.
    @discardableResult
    func release() -> Int {
        // Under the lock, so that no block is unmapped (and its address mapped again for someone
        // else) between reading the list and advising on it.
        MappedBlocks.shared.withLock { blocks in
            let owned = blocks.blocks(of: id)
            for block in owned {
                _ = madvise(block.base, block.length, Int32(MADV_DONTNEED))
            }
            return owned.count
        }
    }
}

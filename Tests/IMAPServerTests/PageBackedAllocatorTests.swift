#if canImport(Glibc)
import Glibc
#endif
@testable import IMAPServer
import NIOCore
import Testing

/// Buffers from the page-backed allocator behave as any ByteBuffer: bytes survive growth from
/// malloc'd memory into pages of their own and beyond, and copies stay independent.
@Suite struct PageBackedAllocatorTests {
    private func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    @Test(arguments: [0, 100, PageBackedAllocator.threshold - 1, PageBackedAllocator.threshold, 2 * PageBackedAllocator.threshold])
    func bytesSurviveGrowthAcrossTheThreshold(startingCapacity: Int) {
        var buffer = PageBackedAllocator.allocator.buffer(capacity: startingCapacity)
        var written: [UInt8] = []
        for (step, size) in [10, 300, 20_000, 50_000, 200_000].enumerated() {
            let chunk = pattern(size, seed: UInt8(step))
            buffer.writeBytes(chunk)
            written += chunk
            #expect(buffer.readableBytesView.elementsEqual(written), "after writing \(written.count) bytes")
        }
        #expect(buffer.readBytes(length: 5) == Array(written.prefix(5)))
        buffer.discardReadBytes()
        #expect(buffer.readableBytesView.elementsEqual(written.dropFirst(5)))
    }

    /// Past the system's limit of mappings (or without memory to map), a large buffer comes from
    /// malloc instead of failing, and growing, shrinking and freeing it work as for any block.
    @Test func aRefusedMappingFallsBackToMalloc() throws {
        let size = 2 * PageBackedAllocator.threshold
        let bytes = pattern(size, seed: 7)
        // Grown, then freed.
        let block = try #require(pageBackedAllocate(size, map: { _ in nil }))
        #expect((block - 16).load(as: Int.self) == 1, "the header records a malloc'd block")
        block.copyMemory(from: bytes, byteCount: size)
        let grown = try #require(pageBackedReallocate(block, size, 4 * size))
        #expect(Array(UnsafeRawBufferPointer(start: grown, count: size)) == bytes)
        pageBackedFree(grown)
        // Shrunk below the threshold (realloc of the malloc'd block), then freed.
        let other = try #require(pageBackedAllocate(size, map: { _ in nil }))
        other.copyMemory(from: bytes, byteCount: size)
        let shrunk = try #require(pageBackedReallocate(other, size, 100))
        #expect(Array(UnsafeRawBufferPointer(start: shrunk, count: 100)) == Array(bytes.prefix(100)))
        pageBackedFree(shrunk)
    }

    @Test func aCopyIsIndependentOfItsOriginal() {
        var original = PageBackedAllocator.allocator.buffer(capacity: 2 * PageBackedAllocator.threshold)
        original.writeBytes(pattern(1_000, seed: 1))
        var copy = original
        copy.setBytes([0xFF, 0xFF], at: 0)
        #expect(original.getBytes(at: 0, length: 2) == Array(pattern(2, seed: 1)))
        #expect(copy.getBytes(at: 0, length: 2) == [0xFF, 0xFF])
    }

    /// How many of the pages under `buffer`'s storage are resident.
    private func residentPages(of buffer: ByteBuffer) -> Int {
        buffer.withVeryUnsafeBytes { bytes in
            // The block's mapping starts one header before the storage.
            let start = UnsafeMutableRawPointer(mutating: bytes.baseAddress!) - 16
            let pages = (bytes.count + 16 + pageSize - 1) / pageSize
            var vector = [UInt8](repeating: 0, count: pages)
            #expect(mincore(start, pages * pageSize, &vector) == 0)
            return vector.filter { $0 & 1 == 1 }.count
        }
    }

    /// A connection's large buffers give their pages back on `release`, and work as before after:
    /// what is written next reads back, growth keeps them the connection's, freeing them works.
    /// Buffers made outside `attributing`, or for another connection, keep theirs.
    @Test func aConnectionsBuffersGiveTheirPagesBack() {
        let connection = ConnectionPages(), neighbour = ConnectionPages()
        var owned = connection.attributing { PageBackedAllocator.allocator.buffer(capacity: 2 * PageBackedAllocator.threshold) }
        var theirs = neighbour.attributing { PageBackedAllocator.allocator.buffer(capacity: 2 * PageBackedAllocator.threshold) }
        var unowned = PageBackedAllocator.allocator.buffer(capacity: 2 * PageBackedAllocator.threshold)
        let bytes = pattern(3 * pageSize, seed: 3)
        owned.writeBytes(bytes)
        theirs.writeBytes(bytes)
        unowned.writeBytes(bytes)
        #expect(residentPages(of: owned) >= 3)

        #expect(connection.release() == 1)
        #expect(residentPages(of: owned) == 0)
        #expect(residentPages(of: theirs) >= 3)
        #expect(residentPages(of: unowned) >= 3)

        owned.clear()
        owned.writeBytes(bytes)
        #expect(owned.readableBytesView.elementsEqual(bytes))
        // Grown past its mapping, outside `attributing`: still the connection's.
        owned.writeBytes(pattern(4 * PageBackedAllocator.threshold, seed: 4))
        #expect(connection.release() == 1)
        #expect(residentPages(of: owned) == 0)
        #expect(neighbour.release() == 1)
    }

    /// A buffer that outlives its connection is freed as any other.
    @Test func aBufferOutlivesItsConnection() {
        var buffer: ByteBuffer
        do {
            let connection = ConnectionPages()
            buffer = connection.attributing { PageBackedAllocator.allocator.buffer(capacity: PageBackedAllocator.threshold) }
            buffer.writeBytes(pattern(5_000, seed: 5))
            #expect(connection.release() == 1)
        }
        buffer.writeBytes(pattern(100_000, seed: 6))
        #expect(buffer.readableBytes == 105_000)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// The hooks that let a ByteBufferAllocator take its memory from elsewhere are SPI in swift-nio.
@_spi(CustomByteBufferAllocator) import NIOCore

/// A ByteBuffer allocator for long-lived connections that keeps large buffers in whole pages of
/// their own (mmap), so that such a buffer takes resident memory only for the pages the
/// connection actually wrote, and so that a quiet connection can give those pages back
/// (`ConnectionPages`).
///
/// Why: a TLS connection keeps buffers sized for the largest TLS record (16 KiB to write, 32 KiB
/// to read plaintext into) for its whole life, whatever it sends. Carved from the malloc heap,
/// they land on pages other allocations already touched, so every idle IMAP session cost
/// ~48 KiB; from fresh pages, an idle session's buffers hold a page or two each.
/// Small buffers still come from malloc: most of what a connection allocates is short-lived and
/// small, where a system call per buffer would cost more than it saves.
public enum PageBackedAllocator {
    /// Buffers of this size or more get pages of their own.
    public static let threshold = 16 * 1024

    public static let allocator = ByteBufferAllocator(
        allocate: { size in pageBackedAllocate(size) },
        reallocate: { pointer, oldSize, newSize in pageBackedReallocate(pointer, oldSize, newSize) },
        deallocate: { pointer in pageBackedFree(pointer) },
        copy: { destination, source, count in destination.copyMemory(from: source, byteCount: count) }
    )
}

/// Every block starts with a header that says how it was obtained, and keeps the block 16-byte
/// aligned, as malloc's are. A malloc'd block's header holds `mallocMarker`. A mapped block's
/// header is never written: fresh pages read as zeros, and so do pages given back, so its first
/// page is touched only by the buffer's own bytes and can be given back with the rest. Its
/// length is in `MappedBlocks`.
private let headerSize = 16
private let mallocMarker = 1

let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// Fresh pages of their own for `length` bytes, or nil when the system refuses them.
func mapPages(_ length: Int) -> UnsafeMutableRawPointer? {
    guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
        return nil
    }
    return base
}

func pageBackedAllocate(_ size: Int, map: (Int) -> UnsafeMutableRawPointer? = mapPages) -> UnsafeMutableRawPointer? {
    pageBackedAllocate(size, owner: size >= PageBackedAllocator.threshold ? ConnectionPages.attributed?.id : nil, map: map)
}

private func pageBackedAllocate(_ size: Int, owner: Int?, map: (Int) -> UnsafeMutableRawPointer? = mapPages) -> UnsafeMutableRawPointer? {
    if size >= PageBackedAllocator.threshold {
        let length = (size + headerSize + pageSize - 1) / pageSize * pageSize
        // A process has a limited number of mappings (vm.max_map_count, 65,530 by default, though
        // the kernel merges neighbouring ones), and every TLS session holds two such buffers: past
        // that count, or without memory to map, the buffer comes from malloc like a small one (a
        // failed allocation would stop the node).
        if let base = map(length) {
            MappedBlocks.shared.withLock { $0.insert(base, length: length, owner: owner) }
            return base + headerSize
        }
    }
    guard let base = malloc(size + headerSize) else { return nil }
    base.storeBytes(of: mallocMarker, as: Int.self)
    return base + headerSize
}

func pageBackedFree(_ pointer: UnsafeMutableRawPointer) {
    let base = pointer - headerSize
    if base.load(as: Int.self) == mallocMarker {
        free(base)
        return
    }
    let length = MappedBlocks.shared.withLock { $0.remove(base) }
    munmap(base, length)
}

func pageBackedReallocate(_ pointer: UnsafeMutableRawPointer?, _ oldSize: Int, _ newSize: Int) -> UnsafeMutableRawPointer? {
    guard let pointer else { return pageBackedAllocate(newSize) }
    let base = pointer - headerSize
    let owner: Int?
    if base.load(as: Int.self) == mallocMarker {
        if newSize < PageBackedAllocator.threshold {
            guard let moved = realloc(base, newSize + headerSize) else { return nil }
            return moved + headerSize
        }
        owner = ConnectionPages.attributed?.id
    } else {
        let block = MappedBlocks.shared.withLock { $0.block(at: base) }
        if newSize + headerSize <= block.length { return pointer }
        // A connection's buffer stays the connection's as it grows.
        owner = block.owner
    }
    guard let replacement = pageBackedAllocate(newSize, owner: owner) else { return nil }
    replacement.copyMemory(from: pointer, byteCount: min(oldSize, newSize))
    pageBackedFree(pointer)
    return replacement
}

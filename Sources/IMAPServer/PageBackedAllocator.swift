#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// The hooks that let a ByteBufferAllocator take its memory from elsewhere are SPI in swift-nio.
@_spi(CustomByteBufferAllocator) import NIOCore

/// A ByteBuffer allocator for long-lived connections that keeps large buffers in whole pages of
/// their own (mmap), so that such a buffer takes resident memory only for the pages the
/// connection actually wrote.
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

/// Every block starts with a header recording how it was obtained: the length of its mapping, or
/// 0 when it came from malloc. The header keeps the block 16-byte aligned, as malloc's are.
private let headerSize = 16

private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

/// Fresh pages of their own for `length` bytes, or nil when the system refuses them.
func mapPages(_ length: Int) -> UnsafeMutableRawPointer? {
    guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
        return nil
    }
    return base
}

func pageBackedAllocate(_ size: Int, map: (Int) -> UnsafeMutableRawPointer? = mapPages) -> UnsafeMutableRawPointer? {
    if size >= PageBackedAllocator.threshold {
        let length = (size + headerSize + pageSize - 1) / pageSize * pageSize
        // A process has a limited number of mappings (vm.max_map_count, 65,530 by default), and
        // every TLS session holds two such buffers: past that count, or without memory to map,
        // the buffer comes from malloc like a small one (a failed allocation would stop the node).
        if let base = map(length) {
            base.storeBytes(of: length, as: Int.self)
            return base + headerSize
        }
    }
    guard let base = malloc(size + headerSize) else { return nil }
    base.storeBytes(of: 0, as: Int.self)
    return base + headerSize
}

func pageBackedFree(_ pointer: UnsafeMutableRawPointer) {
    let base = pointer - headerSize
    let mappedLength = base.load(as: Int.self)
    if mappedLength > 0 {
        munmap(base, mappedLength)
    } else {
        free(base)
    }
}

func pageBackedReallocate(_ pointer: UnsafeMutableRawPointer?, _ oldSize: Int, _ newSize: Int) -> UnsafeMutableRawPointer? {
    guard let pointer else { return pageBackedAllocate(newSize) }
    let base = pointer - headerSize
    let mappedLength = base.load(as: Int.self)
    if mappedLength == 0, newSize < PageBackedAllocator.threshold {
        guard let moved = realloc(base, newSize + headerSize) else { return nil }
        return moved + headerSize
    }
    if mappedLength > 0, newSize + headerSize <= mappedLength { return pointer }
    guard let replacement = pageBackedAllocate(newSize) else { return nil }
    replacement.copyMemory(from: pointer, byteCount: min(oldSize, newSize))
    pageBackedFree(pointer)
    return replacement
}

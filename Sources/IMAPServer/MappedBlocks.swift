import Synchronization

/// The page-backed allocator's mapped blocks that are alive: each one's length, and the
/// connection it serves when that is known (`ConnectionPages`). Blocks are mapped a few times in
/// a connection's life (its TLS buffers, a long literal), so one lock for all of them is cheap.
struct MappedBlocks {
    static let shared = Mutex(MappedBlocks())

    struct Block {
        var length: Int
        var owner: Int?
    }

    private var blocks: [UInt: Block] = [:]
    private var ownedBy: [Int: [UInt]] = [:]

    private static func key(_ base: UnsafeMutableRawPointer) -> UInt { UInt(bitPattern: base) }

    mutating func insert(_ base: UnsafeMutableRawPointer, length: Int, owner: Int?) {
        let key = Self.key(base)
        blocks[key] = Block(length: length, owner: owner)
        if let owner { ownedBy[owner, default: []].append(key) }
    }

    func block(at base: UnsafeMutableRawPointer) -> Block {
        guard let block = blocks[Self.key(base)] else { preconditionFailure("not a mapped block: \(base)") }
        return block
    }

    /// Forgets the block at `base` and returns its length, to unmap.
    mutating func remove(_ base: UnsafeMutableRawPointer) -> Int {
        let key = Self.key(base)
        guard let block = blocks.removeValue(forKey: key) else { preconditionFailure("not a mapped block: \(base)") }
        if let owner = block.owner, var owned = ownedBy[owner] {
            owned.removeAll { $0 == key }
            ownedBy[owner] = owned.isEmpty ? nil : owned
        }
        return block.length
    }

    /// The blocks that serve `owner`, as (base, length).
    func blocks(of owner: Int) -> [(base: UnsafeMutableRawPointer, length: Int)] {
        (ownedBy[owner] ?? []).compactMap { key in
            guard let block = blocks[key], let base = UnsafeMutableRawPointer(bitPattern: key) else { return nil }
            return (base, block.length)
        }
    }

    /// The connection is gone: blocks still alive (a buffer someone else still holds) serve nobody now.
    mutating func disown(_ owner: Int) {
        for key in ownedBy.removeValue(forKey: owner) ?? [] { blocks[key]?.owner = nil }
    }

    var count: Int { blocks.count }
}

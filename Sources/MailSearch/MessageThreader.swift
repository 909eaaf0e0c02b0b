import IMAPGrammar
import MailCore

/// Groups messages into threads for THREAD (RFC 5256 section 3): ORDEREDSUBJECT and REFERENCES.
///
/// ```
/// C: A283 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000
/// S: * THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)(174 (175)(176)(178)(181)(180))
/// ```
///
/// Both take the messages that matched the search, and write each as its sequence number or UID.
/// Dates are sent dates (section 2.2: the Date header, else the internal date); equal dates keep
/// mailbox order. Subjects are base subjects (section 2.1) compared case-insensitively.
public struct MessageThreader: Sendable {
    /// Whether the answer names messages by UID (UID THREAD) rather than sequence number.
    public let byUID: Bool

    public init(byUID: Bool) {
        self.byUID = byUID
    }

    func number(_ message: SearchCandidate) -> UInt32 {
        byUID ? message.uid : message.sequenceNumber
    }

    // MARK: ORDEREDSUBJECT

    /// Messages sorted by base subject then date, split by subject; each thread is its first message
    /// with every other one a child of it, threads in the order of their first message's date.
    public func orderedSubject(_ messages: [SearchCandidate]) -> [ThreadNode] {
        let keyed = messages.map { (message: $0, subject: MessageSorter.collationKey(BaseSubject($0.facts.subject ?? "").text),
                                    date: MessageSorter.sentDate(of: $0)) }
        let sorted = keyed.sorted { a, b in
            if a.subject != b.subject { return a.subject.lexicographicallyPrecedes(b.subject) }
            if a.date != b.date { return a.date < b.date }
            return a.message.sequenceNumber < b.message.sequenceNumber
        }
        var threads: [(first: SearchCandidate, date: Int64, node: ThreadNode)] = []
        var start = 0
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count, sorted[end].subject == sorted[start].subject { end += 1 }
            let replies = sorted[(start + 1)..<end].map { ThreadNode(number($0.message)) }
            threads.append((sorted[start].message, sorted[start].date, ThreadNode(number(sorted[start].message), children: replies)))
            start = end
        }
        return threads.sorted { a, b in
            a.date != b.date ? a.date < b.date : a.first.sequenceNumber < b.first.sequenceNumber
        }.map(\.node)
    }

    // MARK: REFERENCES

    /// One message or placeholder of the REFERENCES tree.
    struct Container {
        var message: SearchCandidate?
        var parent: Int?
        var children: [Int] = []
    }

    /// The REFERENCES algorithm, steps 1 to 6 of RFC 5256 section 3.
    public func references(_ messages: [SearchCandidate]) -> [ThreadNode] {
        var tree = ReferenceTree()
        // (1) Link messages by their references; a message's last reference becomes its parent.
        for message in messages.sorted(by: { $0.sequenceNumber < $1.sequenceNumber }) {
            tree.add(message)
        }
        // (2) The root set: what has no parent. (3) Placeholders pruned.
        var roots = tree.prune(tree.rootSet(), atRoot: true)
        // (4) Root set by date, a placeholder by its earliest child.
        for root in roots where tree.containers[root].message == nil { tree.sortChildren(of: root) }
        roots = tree.sortedByDate(roots)
        // (5) Threads with the same base subject gathered.
        roots = tree.mergeBySubject(roots)
        // (6) Every set of siblings by date, deepest first.
        for root in roots { tree.sortDescendants(of: root) }
        roots = tree.sortedByDate(roots)
        return roots.map { node(tree, $0) }
    }

    private func node(_ tree: ReferenceTree, _ index: Int) -> ThreadNode {
        let container = tree.containers[index]
        return ThreadNode(container.message.map(number), children: container.children.map { node(tree, $0) })
    }

    struct ReferenceTree {
        var containers: [Container] = []
        var byMessageID: [String: Int] = [:]

        /// Step 1 A and B for one message, in mailbox order.
        mutating func add(_ message: SearchCandidate) {
            let facts = message.facts
            // A message without a usable Message-ID, or repeating an earlier message's, gets a
            // container of its own that nothing can reference.
            let own: Int
            let messageID = facts.messageIDHeader.flatMap { Self.isValid($0) ? $0 : nil }
            if let id = messageID, let existing = byMessageID[id], containers[existing].message == nil {
                own = existing
                containers[own].message = message
            } else {
                own = containers.count
                containers.append(Container(message: message))
                if let id = messageID, byMessageID[id] == nil { byMessageID[id] = own }
            }
            // The valid References ids, or failing those the first valid In-Reply-To id.
            let listed = facts.references.filter(Self.isValid)
            let references = listed.isEmpty ? Array(facts.inReplyTo.filter(Self.isValid).prefix(1)) : listed
            var chain: [Int] = []
            for id in references { chain.append(container(for: id)) }
            // (A) Each reference the parent of the next, unless the next has a parent already.
            for (parent, child) in zip(chain, chain.dropFirst()) where containers[child].parent == nil {
                link(parent, child)
            }
            // (B) The last reference is this message's parent, replacing a parent set from an
            // earlier message's (possibly truncated) References.
            if let parent = containers[own].parent { unlink(own, from: parent) }
            if let last = chain.last { link(last, own) }
        }

        /// A msg-id has an `@` with text on both sides (RFC 5322 3.6.4); the store keeps what a
        /// lenient reading found, `<junk>` included.
        static func isValid(_ id: String) -> Bool {
            guard let at = id.firstIndex(of: "@") else { return false }
            return at != id.startIndex && id.index(after: at) != id.endIndex
        }

        mutating func container(for id: String) -> Int {
            if let existing = byMessageID[id] { return existing }
            containers.append(Container())
            byMessageID[id] = containers.count - 1
            return containers.count - 1
        }

        /// Makes `parent` the parent of `child`, unless that would make a loop.
        mutating func link(_ parent: Int, _ child: Int) {
            guard parent != child, !isDescendant(parent, of: child) else { return }
            if let old = containers[child].parent { unlink(child, from: old) }
            containers[child].parent = parent
            containers[parent].children.append(child)
        }

        mutating func unlink(_ child: Int, from parent: Int) {
            containers[parent].children.removeAll { $0 == child }
            containers[child].parent = nil
        }

        func isDescendant(_ candidate: Int, of ancestor: Int) -> Bool {
            var current = containers[candidate].parent
            var steps = 0
            while let index = current, steps <= containers.count {
                if index == ancestor { return true }
                current = containers[index].parent
                steps += 1
            }
            return false
        }

        func rootSet() -> [Int] {
            containers.indices.filter { containers[$0].parent == nil && (containers[$0].message != nil || !containers[$0].children.isEmpty) }
        }

        /// Step 3: a placeholder without children goes; one with children gives them to its parent,
        /// except that at the root it stays when it has more than one.
        mutating func prune(_ siblings: [Int], atRoot: Bool) -> [Int] {
            var kept: [Int] = []
            for index in siblings {
                containers[index].children = prune(containers[index].children, atRoot: false)
                guard containers[index].message == nil else { kept.append(index); continue }
                let children = containers[index].children
                if children.isEmpty { continue }
                if atRoot, children.count > 1 { kept.append(index); continue }
                for child in children { containers[child].parent = containers[index].parent }
                containers[index].children = []
                kept += children
            }
            return kept
        }

        /// The date a container sorts by: its message's, or a placeholder's first child's.
        func sortDate(_ index: Int) -> (Int64, UInt32) {
            if let message = containers[index].message { return (MessageSorter.sentDate(of: message), message.sequenceNumber) }
            guard let first = containers[index].children.first else { return (Int64.max, UInt32.max) }
            return sortDate(first)
        }

        func sortedByDate(_ indices: [Int]) -> [Int] {
            indices.sorted { sortDate($0) < sortDate($1) }
        }

        mutating func sortChildren(of index: Int) {
            containers[index].children = sortedByDate(containers[index].children)
        }

        mutating func sortDescendants(of index: Int) {
            for child in containers[index].children { sortDescendants(of: child) }
            sortChildren(of: index)
        }

        func subject(_ index: Int) -> (key: [UInt8], isReplyOrForward: Bool)? {
            guard let message = containers[index].message ?? containers[index].children.first.flatMap({ containers[$0].message }) else {
                return nil
            }
            let base = BaseSubject(message.facts.subject ?? "")
            return (MessageSorter.collationKey(base.text), containers[index].message != nil && base.isReplyOrForward)
        }

        /// Step 5: one thread per base subject; placeholders and non-replies are preferred as the
        /// thread that others join.
        mutating func mergeBySubject(_ roots: [Int]) -> [Int] {
            var table: [[UInt8]: Int] = [:]
            for root in roots {
                guard let subject = subject(root), !subject.key.isEmpty else { continue }
                guard let held = table[subject.key] else { table[subject.key] = root; continue }
                let heldIsPlaceholder = containers[held].message == nil
                if !heldIsPlaceholder, containers[root].message == nil || (self.subject(held)?.isReplyOrForward == true && !subject.isReplyOrForward) {
                    table[subject.key] = root
                }
            }
            var merged: Set<Int> = []
            var replaced: [Int: Int] = [:]
            for root in roots where containers[root].parent == nil && !merged.contains(root) {
                guard let subject = subject(root), !subject.key.isEmpty, let held = table[subject.key], held != root else { continue }
                let heldIsPlaceholder = containers[held].message == nil
                let rootIsPlaceholder = containers[root].message == nil
                merged.insert(root)
                if heldIsPlaceholder, rootIsPlaceholder {
                    for child in containers[root].children { containers[child].parent = held }
                    containers[held].children += containers[root].children
                    containers[root].children = []
                } else if heldIsPlaceholder || (subject.isReplyOrForward && self.subject(held)?.isReplyOrForward == false) {
                    containers[root].parent = held
                    containers[held].children.append(root)
                } else {
                    let placeholder = containers.count
                    containers.append(Container(children: [held, root]))
                    containers[held].parent = placeholder
                    containers[root].parent = placeholder
                    table[subject.key] = placeholder
                    replaced[held] = placeholder
                }
            }
            return roots.compactMap { merged.contains($0) ? nil : replaced[$0] ?? $0 }
        }
    }
}

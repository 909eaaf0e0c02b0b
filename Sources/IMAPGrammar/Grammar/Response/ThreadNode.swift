/// One message of a THREAD answer and the messages below it (RFC 5256 section 4).
///
/// ```
/// thread-data    = "THREAD" [SP 1*thread-list]
/// thread-list    = "(" (thread-members / thread-nested) ")"
/// thread-members = nz-number *(SP nz-number) [SP thread-nested]
/// thread-nested  = 2*thread-list
/// ```
/// A message with one reply continues its list (`(3 6)`); with several, each reply's branch is
/// its own list (`(3 6 (4 23)(44 7 96))`). A node without a number is a placeholder for a message
/// that is referenced but not in the answer: only its branches are written (`((3)(5))`).
public struct ThreadNode: Hashable, Sendable {
    /// The message sequence number or UID; nil for a placeholder.
    public var number: UInt32?
    public var children: [ThreadNode]

    public init(_ number: UInt32?, children: [ThreadNode] = []) {
        self.number = number
        self.children = children
    }

    /// One top-level thread, with its parentheses.
    func write(into writer: inout ResponseWriter) {
        writer.writeString("(")
        writeMembers(into: &writer)
        writer.writeString(")")
    }

    private func writeMembers(into writer: inout ResponseWriter) {
        var node = self
        var separator = ""
        // A chain of single replies stays on one list: `3 6 ...`.
        while let number = node.number {
            writer.writeString("\(separator)\(number)")
            separator = " "
            guard node.children.count == 1 else { break }
            node = node.children[0]
        }
        if node.number == nil, node.children.count == 1 {
            writer.writeString(separator)
            node.children[0].writeMembers(into: &writer)
            return
        }
        guard !node.children.isEmpty else { return }
        writer.writeString(separator)
        for child in node.children { child.write(into: &writer) }
    }
}

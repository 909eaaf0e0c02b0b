import NIOCore

/// The last line of a chunk of IMAP traffic, read from the chunk alone: a line split across
/// chunks, or literal data that looks like a command or a response, may be taken for one. The
/// worst that does is close a draining relay before an answer reached the client, which the end
/// of the drain time does anyway.
enum IMAPLines {
    /// The tag of a tagged response (`tag OK|NO|BAD ...`) that `bytes` end with.
    static func responseTag(endingWith bytes: ByteBuffer) -> [UInt8]? {
        lastLine(of: bytes).flatMap { line in
            guard let (tag, rest) = tagged(line) else { return nil }
            for status in ["OK", "NO", "BAD"] {
                let word = Array(status.utf8)
                if rest.starts(with: word), rest.count == word.count || rest[rest.startIndex + word.count] == UInt8(ascii: " ") {
                    return tag
                }
            }
            return nil
        }
    }

    /// The tag of a command line (`tag command ...`) that `bytes` end with.
    static func commandTag(endingWith bytes: ByteBuffer) -> [UInt8]? {
        lastLine(of: bytes).flatMap { line in
            guard let (tag, rest) = tagged(line), let first = rest.first,
                  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first & 0xDF) else { return nil }
            return tag
        }
    }

    /// The bytes of the last CRLF-ended line, without the CRLF.
    private static func lastLine(of bytes: ByteBuffer) -> ArraySlice<UInt8>? {
        let view = bytes.readableBytesView
        guard view.count >= 2, view.last == UInt8(ascii: "\n"), view[view.endIndex - 2] == UInt8(ascii: "\r") else { return nil }
        let end = view.endIndex - 2
        var start = end
        while start > view.startIndex, view[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        return ArraySlice(view[start..<end])
    }

    private static let notInTags: Set<UInt8> = Set("*+(){%\"\\]".utf8)

    /// A line's tag (an atom without '+'; '*' marks an untagged line) and what follows its space.
    private static func tagged(_ line: ArraySlice<UInt8>) -> ([UInt8], ArraySlice<UInt8>)? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")), space > line.startIndex else { return nil }
        let tag = line[line.startIndex..<space]
        guard tag.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !notInTags.contains($0) }) else { return nil }
        return (Array(tag), line[(space + 1)...])
    }
}

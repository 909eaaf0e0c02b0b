import IMAPGrammar
import MailCore
import MailSearch
import NIOCore

/// `search_query_native`: an IMAP SEARCH expression (RFC 9051 6.4.4), parsed by the IMAP grammar
/// and evaluated by the same evaluator IMAP SEARCH uses, so both surfaces agree on what matches.
/// Sequence numbers have no meaning outside a selected mailbox: they match nothing here.
struct NativeSearch: Sendable {
    /// The longest expression accepted.
    static let maximumLength = 2048

    let key: SearchKey
    let needsRaw: Bool

    init(_ expression: String) throws {
        guard expression.utf8.count <= Self.maximumLength else {
            throw APIError(.invalidRequest, "search_query_native is longer than \(Self.maximumLength) bytes")
        }
        guard !expression.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw APIError(.invalidRequest, "search_query_native must be one line")
        }
        var parser = CommandParser()
        var buffer = ByteBuffer(string: "q SEARCH CHARSET UTF-8 \(expression)\r\n")
        switch parser.parse(&buffer) {
        case .command(let tagged):
            guard case .search(let command) = tagged.command, command.returnOptions == nil else {
                throw APIError(.invalidRequest, "search_query_native must be IMAP SEARCH criteria only")
            }
            key = command.key
            needsRaw = SearchEvaluator.needsRaw(command.key)
        case .needsContinuation:
            throw APIError(.invalidRequest, "search_query_native: write strings quoted, not as literals")
        case .error(let error):
            throw APIError(.invalidRequest, "search_query_native is not a valid IMAP SEARCH expression: \(error.message)")
        default:
            throw APIError(.invalidRequest, "search_query_native is not a valid IMAP SEARCH expression")
        }
    }

    func matches(_ message: StoredMessage, raw: [UInt8]?) -> Bool {
        let candidate = SearchCandidate(
            sequenceNumber: 0, uid: UInt32(truncatingIfNeeded: message.uid), flags: message.flags, internalDate: message.internalDate,
            size: message.size, modseq: message.modseq, facts: message.facts, raw: raw)
        return SearchEvaluator(largestSequenceNumber: 0, largestUID: UInt32(truncatingIfNeeded: message.uid)).matches(key, candidate)
    }
}

/// One mailbox of an address header (RFC 5322 section 3.4).
public struct Mailbox: Sendable, Hashable {
    /// The display name with RFC 2047 words decoded, or the trailing comment when there is no
    /// phrase (`user@example.com (Name)`), or nil.
    public var displayName: String?
    /// The display name as written (quotes and escapes removed, words not decoded), as IMAP
    /// ENVELOPE reports it.
    public var rawDisplayName: String?
    /// An obsolete source route (`@a.example,@b.example`), RFC 5322 section 4.4.
    public var route: String?
    public var localPart: String
    /// Nil when the address had no `@` (such as `undisclosed-recipients`).
    public var domain: String?

    public init(displayName: String? = nil, localPart: String, domain: String?) {
        self.displayName = displayName
        self.rawDisplayName = displayName
        self.route = nil
        self.localPart = localPart
        self.domain = domain
    }

    /// Builds a mailbox from `local@domain`; nil when there is no `@`.
    public init?(displayName: String? = nil, address: String) {
        guard let at = address.lastIndex(of: "@") else { return nil }
        self.init(displayName: displayName, localPart: String(address[..<at]),
                  domain: String(address[address.index(after: at)...]))
    }

    /// `local@domain`, the local part quoted when RFC 5322 requires it.
    public var address: String {
        let local = AddressParser.localPartNeedsQuoting(localPart) ? AddressParser.quoted(localPart) : localPart
        guard let domain else { return local }
        return local + "@" + domain
    }
}

/// An element of an address list: a mailbox or a named group of mailboxes.
public enum AddressListItem: Sendable, Hashable {
    case mailbox(Mailbox)
    case group(name: String, rawName: String, members: [Mailbox])

    /// The mailboxes, groups flattened.
    public var mailboxes: [Mailbox] {
        switch self {
        case .mailbox(let mailbox): return [mailbox]
        case .group(_, _, let members): return members
        }
    }
}

extension Array where Element == AddressListItem {
    public var mailboxes: [Mailbox] { flatMap(\.mailboxes) }
}

/// Parser for address lists (RFC 5322 sections 3.4 and 4.4), lenient the way mail clients are.
public enum AddressParser {
    enum Token: Equatable {
        case word([UInt8], quoted: Bool)
        case special(UInt8)
        case comment([UInt8])
    }

    // specials = "(" / ")" / "<" / ">" / "[" / "]" / ":" / ";" / "@" / "\" / "," / "." / DQUOTE
    // ('.' stays inside atoms: obs-phrase and dot-atom both allow it.)
    static func isAddressSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case ASCII.lessThan, ASCII.greaterThan, ASCII.colon, ASCII.semicolon, ASCII.at, ASCII.comma: return true
        default: return false
        }
    }

    static func tokenize(_ bytes: [UInt8]) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if ASCII.isWhitespaceOrNewline(byte) { index += 1; continue }
            if byte == ASCII.openParenthesis {
                let start = index
                ParameterGrammar.skipComment(bytes, &index)
                var inner = Array(bytes[(start + 1)..<index])
                if inner.last == ASCII.closeParenthesis { inner.removeLast() }
                tokens.append(.comment(unescape(inner)))
                continue
            }
            if byte == ASCII.doubleQuote {
                tokens.append(.word(ParameterGrammar.quotedString(bytes, &index), quoted: true))
                continue
            }
            if isAddressSpecial(byte) || byte == ASCII.closeParenthesis {
                if byte != ASCII.closeParenthesis { tokens.append(.special(byte)) }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "[") {
                // domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") { index += 1 }
                index = min(index + 1, bytes.count)
                tokens.append(.word(Array(bytes[start..<index]), quoted: false))
                continue
            }
            let start = index
            while index < bytes.count {
                let current = bytes[index]
                if ASCII.isWhitespaceOrNewline(current) || isAddressSpecial(current) || current == ASCII.doubleQuote
                    || current == ASCII.openParenthesis || current == ASCII.closeParenthesis { break }
                index += 1
            }
            tokens.append(.word(Array(bytes[start..<index]), quoted: false))
        }
        return tokens
    }

    static func unescape(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(ASCII.backslash) else { return bytes }
        var result: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == ASCII.backslash, index + 1 < bytes.count { index += 1 }
            result.append(bytes[index])
            index += 1
        }
        return result
    }

    // address-list = (address *("," address)) / obs-addr-list
    // address      = mailbox / group
    // group        = display-name ":" [group-list] ";" [CFWS]
    // mailbox      = name-addr / addr-spec
    // name-addr    = [display-name] angle-addr
    // angle-addr   = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    // obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    // addr-spec    = local-part "@" domain
    public static func parse<Bytes: Collection>(_ value: Bytes) -> [AddressListItem] where Bytes.Element == UInt8 {
        var parser = TokenCursor(tokens: tokenize(Array(value)))
        var items: [AddressListItem] = []
        var count = 0
        while !parser.isAtEnd && count < MIMELimits.maximumAddressCount {
            if parser.peek == .special(ASCII.comma) || parser.peek == .special(ASCII.semicolon)
                || parser.peek == .special(ASCII.greaterThan) {
                parser.advance(); continue
            }
            let before = parser.position
            if let item = parseAddress(&parser, insideGroup: false) {
                items.append(item)
                count += max(item.mailboxes.count, 1)
            }
            if parser.position == before { parser.advance() }
        }
        return items
    }

    struct TokenCursor {
        var tokens: [Token]
        var position = 0
        var isAtEnd: Bool { position >= tokens.count }
        var peek: Token? { position < tokens.count ? tokens[position] : nil }
        mutating func advance() { position += 1 }
    }

    static func parseAddress(_ parser: inout TokenCursor, insideGroup: Bool) -> AddressListItem? {
        var phrase: [(bytes: [UInt8], quoted: Bool)] = []
        var comment: [UInt8]? = nil
        while let token = parser.peek {
            switch token {
            case .word(let bytes, let quoted):
                phrase.append((bytes, quoted)); parser.advance(); continue
            case .comment(let bytes):
                comment = bytes; parser.advance(); continue
            case .special:
                break
            }
            break
        }
        switch parser.peek {
        case .special(ASCII.colon) where !insideGroup:
            parser.advance()
            var members: [Mailbox] = []
            while let token = parser.peek, token != .special(ASCII.semicolon) {
                if token == .special(ASCII.comma) || token == .special(ASCII.colon) || token == .special(ASCII.greaterThan) {
                    parser.advance(); continue
                }
                let before = parser.position
                if let item = parseAddress(&parser, insideGroup: true) { members.append(contentsOf: item.mailboxes) }
                if parser.position == before { parser.advance() }
                if members.count >= MIMELimits.maximumAddressCount { break }
            }
            if parser.peek == .special(ASCII.semicolon) { parser.advance() }
            let raw = phraseText(phrase)
            return .group(name: EncodedWord.decode(Array(raw.utf8)), rawName: raw, members: members)
        case .special(ASCII.lessThan):
            parser.advance()
            var route: [UInt8] = []
            // obs-route = obs-domain-list ":" ; obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
            if parser.peek == .special(ASCII.at) {
                var probe = parser
                var collected: [UInt8] = []
                // Bounded look-ahead: a route is short, and an unbounded probe from every "<@" would
                // make a list of them quadratic.
                var probed = 0
                while let token = probe.peek, token != .special(ASCII.colon), token != .special(ASCII.greaterThan),
                      token != .special(ASCII.lessThan), probed < 64 {
                    probed += 1
                    switch token {
                    case .word(let bytes, _): collected.append(contentsOf: bytes)
                    case .special(let byte): collected.append(byte)
                    case .comment: break
                    }
                    probe.advance()
                }
                if probe.peek == .special(ASCII.colon) {
                    route = collected
                    probe.advance()
                    parser = probe
                }
            }
            var mailbox = parseAddrSpec(&parser, stopAtAngle: true)
            if parser.peek == .special(ASCII.greaterThan) { parser.advance() }
            // Anything after ">" up to the next "," is junk some clients add. A name-addr's name is its
            // phrase alone (RFC 5322 3.4: comments carry no meaning); only a bare addr-spec takes
            // its name from a comment, the old `user@host (Name)` convention.
            while let token = parser.peek, token != .special(ASCII.comma), token != .special(ASCII.semicolon) {
                if token == .special(ASCII.lessThan) || token == .special(ASCII.colon) { break }
                parser.advance()
            }
            if !phrase.isEmpty {
                let raw = phraseText(phrase)
                mailbox.rawDisplayName = raw
                mailbox.displayName = EncodedWord.decode(Array(raw.utf8))
            }
            if !route.isEmpty { mailbox.route = textFromHeaderBytes(route) }
            return .mailbox(mailbox)
        default:
            // addr-spec, or a bare word without "@": the phrase words are the local part.
            var local: [UInt8] = []
            for word in phrase { local.append(contentsOf: word.bytes) }
            var domain: String? = nil
            if parser.peek == .special(ASCII.at) {
                parser.advance()
                domain = domainText(&parser)
            }
            while case .comment(let bytes)? = parser.peek {
                if comment == nil { comment = bytes }
                parser.advance()
            }
            if local.isEmpty && domain == nil { return nil }
            var mailbox = Mailbox(localPart: textFromHeaderBytes(local), domain: domain)
            mailbox.rawDisplayName = nil
            if let comment, !comment.isEmpty { mailbox.displayName = EncodedWord.decode(comment) }
            return .mailbox(mailbox)
        }
    }

    /// `local-part "@" domain` inside angle brackets.
    static func parseAddrSpec(_ parser: inout TokenCursor, stopAtAngle: Bool) -> Mailbox {
        var local: [UInt8] = []
        while let token = parser.peek {
            if case .word(let bytes, _) = token { local.append(contentsOf: bytes); parser.advance(); continue }
            if case .comment = token { parser.advance(); continue }
            break
        }
        var domain: String? = nil
        if parser.peek == .special(ASCII.at) {
            parser.advance()
            domain = domainText(&parser)
        }
        var mailbox = Mailbox(localPart: textFromHeaderBytes(local), domain: domain)
        mailbox.rawDisplayName = nil
        return mailbox
    }

    // domain = dot-atom / domain-literal / obs-domain
    static func domainText(_ parser: inout TokenCursor) -> String {
        var domain: [UInt8] = []
        while let token = parser.peek {
            if case .word(let bytes, _) = token { domain.append(contentsOf: bytes); parser.advance(); continue }
            if case .comment = token {
                if domain.isEmpty { parser.advance(); continue }
                // obs-domain allows CFWS between labels ("machine(comment).  example", RFC 5322
                // A.6.3); a comment after a finished domain is a name, left for the caller.
                var probe = parser
                while case .comment? = probe.peek { probe.advance() }
                if case .word(let next, _)? = probe.peek, domain.last == ASCII.period || next.first == ASCII.period {
                    parser = probe
                    continue
                }
            }
            break
        }
        return textFromHeaderBytes(domain)
    }

    // display-name = phrase ; phrase = 1*word / obs-phrase
    static func phraseText(_ words: [(bytes: [UInt8], quoted: Bool)]) -> String {
        var joined: [UInt8] = []
        for (position, word) in words.enumerated() {
            if position > 0 { joined.append(ASCII.space) }
            joined.append(contentsOf: word.bytes)
        }
        return textFromHeaderBytes(joined)
    }

    static func localPartNeedsQuoting(_ local: String) -> Bool {
        if local.isEmpty { return false }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") { return true }
        return local.utf8.contains { byte in
            byte <= ASCII.space || byte == ASCII.doubleQuote || byte == ASCII.backslash || byte == ASCII.openParenthesis
                || byte == ASCII.closeParenthesis || byte == ASCII.comma || byte == ASCII.colon || byte == ASCII.semicolon
                || byte == ASCII.lessThan || byte == ASCII.greaterThan || byte == ASCII.at
                || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
        }
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            if character == "\"" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        return result + "\""
    }
}

/// Paths, mailboxes and domains (RFC 5321 section 4.1.2, RFC 6531 section 3.3).
extension SMTPCursor {
    /// `Reverse-path = Path / "<>"`; nil for the null path.
    mutating func reversePath() throws(SMTPAddressError) -> SMTPPath? {
        if take("<>") { return nil }
        return .mailbox(try path())
    }

    /// `Forward-path / "<Postmaster>"` (case-insensitive; `<Postmaster@domain>` is a mailbox).
    mutating func forwardPath() throws(SMTPAddressError) -> SMTPPath {
        if take("<Postmaster>") { return .postmaster }
        return .mailbox(try path())
    }

    /// `Path = "<" [ A-d-l ":" ] Mailbox ">"`
    mutating func path() throws(SMTPAddressError) -> SMTPAddress {
        let start = index
        guard take(UInt8(ascii: "<")) else { throw .syntax("expected \"<\" before the address") }
        if peek() == UInt8(ascii: "@") {
            try sourceRoute()
        }
        let address = try mailbox()
        guard take(UInt8(ascii: ">")) else { throw .syntax("expected \">\" after the address") }
        guard index - start <= limits.maxPathLength else {
            throw SMTPAddressError(.pathTooLong, "path longer than \(limits.maxPathLength) octets")
        }
        return address
    }

    /// `A-d-l ":"` with `A-d-l = At-domain *( "," At-domain )`, `At-domain = "@" Domain`.
    /// Parsed for syntax only: RFC 5321 section 4.1.1.3 says to ignore source routes.
    mutating func sourceRoute() throws(SMTPAddressError) {
        repeat {
            guard take(UInt8(ascii: "@")) else { throw .syntax("expected \"@\" in the source route") }
            _ = try domainName()
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: ":")) else { throw .syntax("expected \":\" after the source route") }
    }

    /// `Mailbox = Local-part "@" ( Domain / address-literal )`
    mutating func mailbox() throws(SMTPAddressError) -> SMTPAddress {
        let start = index
        let local = try localPart()
        guard index - start <= limits.maxLocalPartLength else {
            throw SMTPAddressError(.localPartTooLong, "local part longer than \(limits.maxLocalPartLength) octets")
        }
        guard take(UInt8(ascii: "@")) else { throw .syntax("expected \"@\" after the local part") }
        return SMTPAddress(localPart: local, domain: try domainOrAddressLiteral())
    }

    /// `Local-part = Dot-string / Quoted-string`, with the quoting removed.
    mutating func localPart() throws(SMTPAddressError) -> String {
        if peek() == UInt8(ascii: "\"") { return try quotedString() }
        return try dotString()
    }

    /// `Dot-string = Atom *("." Atom)`, `Atom = 1*atext`
    mutating func dotString() throws(SMTPAddressError) -> String {
        let start = index
        repeat {
            let atomStart = index
            while true {
                if let byte = peek(), Self.isAText(byte) {
                    index += 1
                } else if !takeUTF8NonASCII() {
                    break
                }
            }
            guard index > atomStart else { throw .syntax("empty or invalid atom in the local part") }
        } while take(.dot)
        return text(from: start)
    }

    /// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, returning the content unescaped.
    mutating func quotedString() throws(SMTPAddressError) -> String {
        guard take(UInt8(ascii: "\"")) else { throw .syntax("expected a quoted string") }
        var content: [UInt8] = []
        while true {
            guard let byte = peek() else { throw .syntax("unterminated quoted string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: content, as: UTF8.self)
            case UInt8(ascii: "\\"):
                // quoted-pairSMTP = %d92 %d32-126
                guard let escaped = peek(1), (0x20...0x7E).contains(escaped) else {
                    throw .syntax("invalid quoted pair in the local part")
                }
                content.append(escaped)
                index += 2
            case 0x20...0x7E:
                content.append(byte)
                index += 1
            default:
                guard let length = utf8NonASCIILength() else {
                    throw .syntax("invalid character in a quoted local part")
                }
                content.append(contentsOf: bytes[index..<index + length])
                index += length
            }
        }
    }

    /// `Domain / address-literal`, within ``SMTPLimits/maxDomainLength``.
    mutating func domainOrAddressLiteral() throws(SMTPAddressError) -> SMTPDomain {
        if peek() == UInt8(ascii: "[") { return try addressLiteral() }
        return .name(try domainName())
    }

    /// `Domain = sub-domain *("." sub-domain)`, each label at most 63 octets (RFC 1035).
    mutating func domainName() throws(SMTPAddressError) -> String {
        let start = index
        repeat {
            try subDomain()
        } while take(.dot)
        try checkDomainLength(from: start)
        return text(from: start)
    }

    /// `sub-domain = Let-dig [Ldh-str] / U-label`, `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig`
    mutating func subDomain() throws(SMTPAddressError) {
        let start = index
        while true {
            if let byte = peek(), Self.isAlpha(byte) || Self.isDigit(byte) || byte == UInt8(ascii: "-") {
                index += 1
            } else if !takeUTF8NonASCII() {
                break
            }
        }
        guard index > start else { throw .syntax("empty or invalid label in the domain") }
        guard bytes[start] != UInt8(ascii: "-"), bytes[index - 1] != UInt8(ascii: "-") else {
            throw .syntax("a domain label cannot begin or end with \"-\"")
        }
        guard index - start <= Self.maxDomainLabelLength else {
            throw .syntax("domain label longer than \(Self.maxDomainLabelLength) octets")
        }
    }

    /// RFC 1035 section 2.3.4.
    static let maxDomainLabelLength = 63

    /// ```
    /// address-literal         = "[" ( IPv4-address-literal / IPv6-address-literal /
    ///                                 General-address-literal ) "]"
    /// IPv6-address-literal    = "IPv6:" IPv6-addr
    /// General-address-literal = Standardized-tag ":" 1*dcontent
    /// dcontent                = %d33-90 / %d94-126    ; printable US-ASCII except "[", "\", "]"
    /// ```
    mutating func addressLiteral() throws(SMTPAddressError) -> SMTPDomain {
        let start = index
        guard take(UInt8(ascii: "[")) else { throw .syntax("expected \"[\"") }
        let contentStart = index
        while let byte = peek(), (0x21...0x5A).contains(byte) || (0x5E...0x7E).contains(byte) {
            index += 1
        }
        let content = Array(bytes[contentStart..<index])
        guard take(UInt8(ascii: "]")) else { throw .syntax("expected \"]\" after the address literal") }
        try checkDomainLength(from: start)

        let text = String(decoding: content, as: UTF8.self)
        if let colon = content.firstIndex(of: UInt8(ascii: ":")) {
            let tag = content[..<colon]
            let value = content[(colon + 1)...]
            if tag.map(Self.upper) == Array("IPV6".utf8) {
                guard Self.isIPv6(value) else { throw .syntax("invalid IPv6 address literal") }
                return .ipv6(String(decoding: value, as: UTF8.self))
            }
            // Standardized-tag = Ldh-str (registered with IANA; we cannot know which are).
            guard Self.isLdhString(tag), !value.isEmpty else { throw .syntax("invalid address literal") }
            return .general(tag: String(decoding: tag, as: UTF8.self), content: String(decoding: value, as: UTF8.self))
        }
        guard Self.isIPv4(content[...]) else { throw .syntax("invalid IPv4 address literal") }
        return .ipv4(text)
    }

    func checkDomainLength(from start: Int) throws(SMTPAddressError) {
        guard index - start <= limits.maxDomainLength else {
            throw SMTPAddressError(.domainTooLong, "domain longer than \(limits.maxDomainLength) octets")
        }
    }

    /// `atext` (RFC 5322 section 3.2.3), the ASCII part.
    static func isAText(_ byte: UInt8) -> Bool {
        if isAlpha(byte) || isDigit(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
             UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
             UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `Ldh-str` preceded by a `Let-dig`: letters, digits and inner hyphens.
    static func isLdhString(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last else { return false }
        guard first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// `IPv4-address-literal = Snum 3("."  Snum)`, `Snum = 1*3DIGIT` with a value of 0 to 255.
    static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        let parts = bytes.split(separator: .dot, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(isDigit) else { return false }
            let value = part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else { return false }
        }
        return true
    }

    /// ```
    /// IPv6-addr   = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
    /// IPv6-hex    = 1*4HEXDIG
    /// IPv6-full   = IPv6-hex 7(":" IPv6-hex)
    /// IPv6-comp   = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
    ///               ; "::" stands for at least 2 groups; at most 6 groups besides it
    /// IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
    /// IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::" [IPv6-hex *3(":" IPv6-hex ":")]
    ///               IPv4-address-literal    ; at most 4 groups besides "::" and the IPv4 part
    /// ```
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        var body = bytes
        var ipv4Groups = 0
        if let lastColon = body.lastIndex(of: UInt8(ascii: ":")), body[(lastColon + 1)...].contains(.dot) {
            guard isIPv4(body[(lastColon + 1)...]) else { return false }
            ipv4Groups = 2
            body = body[...lastColon]
            // Keep a "::" that precedes the IPv4 part; drop the single ":" that separates it.
            let endsWithCompression = body.count >= 2 && body[body.endIndex - 2] == UInt8(ascii: ":")
            if !endsWithCompression {
                body = body.dropLast()
                guard !body.isEmpty else { return false }
            }
        }
        // Split around the one "::" there may be.
        var compression: Int?
        var i = body.startIndex
        while i + 1 < body.endIndex {
            if body[i] == UInt8(ascii: ":"), body[i + 1] == UInt8(ascii: ":") {
                guard compression == nil else { return false }
                compression = i
                i += 2
            } else {
                i += 1
            }
        }
        func groupCount(_ part: ArraySlice<UInt8>) -> Int? {
            if part.isEmpty { return 0 }
            let groups = part.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            for group in groups {
                guard (1...4).contains(group.count), group.allSatisfy(isHexDigit) else { return nil }
            }
            return groups.count
        }
        guard let compression else {
            guard let count = groupCount(body) else { return false }
            return count + ipv4Groups == 8
        }
        guard let before = groupCount(body[..<compression]),
              let after = groupCount(body[(compression + 2)...]) else { return false }
        return before + after <= 6 - ipv4Groups
    }
}

/// The verbs and their arguments (RFC 5321 section 4.1.1, RFC 3030, RFC 3207, RFC 4954).
extension SMTPCursor {
    static let knownVerbs: Set<String> = [
        "EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT",
        "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH",
    ]

    /// `verb [SP arguments]`, the verb case-insensitive (RFC 5321 section 2.4).
    mutating func command() throws(SMTPCommandError) -> SMTPCommand {
        guard !isAtEnd else { throw SMTPCommandError(.syntax, "Syntax error, empty command") }
        let verbStart = index
        while let byte = peek(), Self.isAlpha(byte) { index += 1 }
        let verb = String(decoding: bytes[verbStart..<index].map(Self.upper), as: UTF8.self)
        guard index > verbStart, isAtEnd || peek() == .space, Self.knownVerbs.contains(verb) else {
            throw SMTPCommandError(.unrecognizedCommand, "Syntax error, command unrecognized")
        }
        guard !bytes[index...].contains(where: Self.isControl) else {
            throw Self.invalidArguments("Control characters are not allowed in \(verb)")
        }
        switch verb {
        case "EHLO": return .ehlo(try clientIdentity(verb: verb))
        case "HELO": return .helo(try clientIdentity(verb: verb))
        case "MAIL": return try mail()
        case "RCPT": return try rcpt()
        case "DATA": try noArguments(verb: verb); return .data
        case "BDAT": return try bdat()
        case "RSET": try noArguments(verb: verb); return .rset
        case "NOOP": index = bytes.count; return .noop  // NOOP's argument has no meaning
        case "QUIT": try noArguments(verb: verb); return .quit
        case "VRFY": return .vrfy(try stringArgument(verb: verb))
        case "EXPN": return .expn(try stringArgument(verb: verb))
        case "HELP": return .help(isAtEnd ? nil : try stringArgument(verb: verb))
        case "STARTTLS": try noArguments(verb: verb); return .startTLS
        default: return try auth()
        }
    }

    static func invalidArguments(_ message: String) -> SMTPCommandError {
        SMTPCommandError(.invalidArguments, message)
    }

    /// DATA, RSET, QUIT and STARTTLS take nothing (RFC 3207 section 4: `501 Syntax error (no
    /// parameters allowed)`).
    mutating func noArguments(verb: String) throws(SMTPCommandError) {
        guard isAtEnd else { throw Self.invalidArguments("Syntax: \(verb) takes no parameters") }
    }

    /// `SP ( Domain / address-literal )` of EHLO and HELO, as one printable ASCII token
    /// (see ``SMTPCommand/ehlo(_:)`` for why it is not held to the domain grammar).
    mutating func clientIdentity(verb: String) throws(SMTPCommandError) -> String {
        let usage = Self.invalidArguments("Syntax: \(verb) hostname")
        guard take(.space) else { throw usage }
        let start = index
        while let byte = peek(), (0x21...0x7E).contains(byte) { index += 1 }
        guard index > start, isAtEnd else { throw usage }
        return text(from: start)
    }

    /// `SP String` of VRFY, EXPN and HELP: the rest of the line, UTF-8.
    mutating func stringArgument(verb: String) throws(SMTPCommandError) -> String {
        guard take(.space), !isAtEnd else { throw Self.invalidArguments("Syntax: \(verb) argument") }
        guard let argument = String(strictUTF8: bytes[index...]) else {
            throw Self.invalidArguments("\(verb) argument is not UTF-8")
        }
        index = bytes.count
        return argument
    }

    /// `"MAIL FROM:" Reverse-path [SP Mail-parameters]`. One space after the colon is
    /// tolerated: clients that send `MAIL FROM: <a@b.example>` are common.
    mutating func mail() throws(SMTPCommandError) -> SMTPCommand {
        guard take(" FROM:") else { throw Self.invalidArguments("Syntax: MAIL FROM:<address> [parameters]") }
        _ = take(.space)
        let path: SMTPPath?
        do {
            path = try reversePath()
        } catch {
            throw SMTPCommandError(.invalidSenderAddress(error.reason), "Bad sender address syntax: \(error.message)")
        }
        let parameters = try MailParameters(parsing: try esmtpParameters())
        if path?.needsSMTPUTF8 == true, !parameters.smtpUTF8 {
            // RFC 6531 section 3.5: the MAIL that carries a non-ASCII address needs SMTPUTF8.
            throw SMTPCommandError(.nonASCIISenderWithoutSMTPUTF8, "Non-ASCII sender address requires the SMTPUTF8 parameter")
        }
        return .mailFrom(reversePath: path, parameters: parameters)
    }

    /// `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`
    /// Whether a non-ASCII recipient is allowed depends on the transaction's MAIL: the session
    /// checks ``SMTPPath/needsSMTPUTF8`` (``SMTPReply/nonASCIIRecipientNotPermitted``).
    mutating func rcpt() throws(SMTPCommandError) -> SMTPCommand {
        guard take(" TO:") else { throw Self.invalidArguments("Syntax: RCPT TO:<address> [parameters]") }
        _ = take(.space)
        let path: SMTPPath
        do {
            path = try forwardPath()
        } catch {
            throw SMTPCommandError(.invalidRecipientAddress(error.reason), "Bad recipient address syntax: \(error.message)")
        }
        return .rcptTo(forwardPath: path, parameters: try RcptParameters(parsing: try esmtpParameters()))
    }

    /// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]`, `chunk-size = 1*DIGIT`,
    /// `end-marker = "LAST"` (RFC 3030 section 2). Runs of spaces are tolerated here because
    /// every error closes the connection: the chunk follows without waiting for a reply, so a
    /// server that cannot read its size cannot find the next command.
    mutating func bdat() throws(SMTPCommandError) -> SMTPCommand {
        let usage = SMTPCommandError(.invalidArguments, "Syntax: BDAT chunk-size [LAST]", closesConnection: true)
        guard skipSpaces() > 0 else { throw usage }
        var size = 0
        let start = index
        while let byte = peek(), Self.isDigit(byte) {
            let (times10, overflow1) = size.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - 0x30))
            guard !overflow1, !overflow2 else { throw usage }
            size = sum
            index += 1
        }
        guard index > start else { throw usage }
        var last = false
        if skipSpaces() > 0 {
            guard take("LAST") else { throw usage }
            last = true
        }
        guard isAtEnd else { throw usage }
        return .bdat(size: size, last: last)
    }

    /// `"AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 section 4), with
    /// `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE`
    /// (RFC 4422 section 3.1; lower case accepted and upper-cased).
    mutating func auth() throws(SMTPCommandError) -> SMTPCommand {
        guard take(.space) else { throw Self.invalidArguments("Syntax: AUTH mechanism [initial-response]") }
        let start = index
        while let byte = peek(), Self.isAlpha(byte) || Self.isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") {
            index += 1
        }
        guard (1...Self.maxMechanismNameLength).contains(index - start), isAtEnd || peek() == .space else {
            throw Self.invalidArguments("Invalid authentication mechanism name")
        }
        let mechanism = String(decoding: bytes[start..<index].map(Self.upper), as: UTF8.self)
        guard take(.space) else { return .auth(mechanism: mechanism, initialResponse: nil) }
        let response = bytes[index...]
        index = bytes.count
        if response.elementsEqual([UInt8(ascii: "=")]) {
            return .auth(mechanism: mechanism, initialResponse: .empty)
        }
        guard let data = SASL.Base64.decode(response), !data.isEmpty else {
            throw SMTPCommandError(.invalidBase64, "Invalid base64 in the initial response")
        }
        return .auth(mechanism: mechanism, initialResponse: .data(data))
    }

    /// RFC 4422 section 3.1.
    static let maxMechanismNameLength = 20
}

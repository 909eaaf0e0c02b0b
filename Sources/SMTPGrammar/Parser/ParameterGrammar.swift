/// MAIL and RCPT parameters (RFC 5321 section 4.1.2 and the extensions that define them).
extension SMTPCursor {
    /// `*(SP esmtp-param)` up to the end of the line. Runs of spaces are tolerated between
    /// parameters (trailing spaces were trimmed from the line).
    mutating func esmtpParameters() throws(SMTPCommandError) -> [ESMTPParameter] {
        var parameters: [ESMTPParameter] = []
        while !isAtEnd {
            guard skipSpaces() > 0 else { throw Self.invalidArguments("Expected a space before the parameters") }
            parameters.append(try esmtpParameter())
        }
        return parameters
    }

    /// ```
    /// esmtp-param   = esmtp-keyword ["=" esmtp-value]
    /// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    /// esmtp-value   = 1*(%d33-60 / %d62-126) / UTF8-non-ascii     ; RFC 6531 section 3.3
    /// ```
    mutating func esmtpParameter() throws(SMTPCommandError) -> ESMTPParameter {
        let start = index
        while let byte = peek(), Self.isAlpha(byte) || Self.isDigit(byte) || (byte == UInt8(ascii: "-") && index > start) {
            index += 1
        }
        guard index > start else { throw Self.invalidArguments("Invalid parameter keyword") }
        let keyword = String(decoding: bytes[start..<index].map(Self.upper), as: UTF8.self)
        guard take(UInt8(ascii: "=")) else {
            guard isAtEnd || peek() == .space else { throw Self.invalidArguments("Invalid parameter keyword") }
            return ESMTPParameter(keyword: keyword)
        }
        let valueStart = index
        while true {
            if let byte = peek(), (33...60).contains(byte) || (62...126).contains(byte) {
                index += 1
            } else if !takeUTF8NonASCII() {
                break
            }
        }
        guard index > valueStart, isAtEnd || peek() == .space else {
            throw Self.invalidArguments("Invalid value for parameter \(keyword)")
        }
        return ESMTPParameter(keyword: keyword, value: text(from: valueStart))
    }

    /// ```
    /// xtext   = *( xchar / hexchar )                       ; RFC 3461 section 4
    /// xchar   = %x21-2A / %x2C-3C / %x3E-7E                 ; printable ASCII but "+" and "="
    /// hexchar = "+" 2HEXDIG                                 ; upper case by RFC 3461, either accepted
    /// ```
    static func isXText(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else { return false }
                index += 3
            } else if (0x21...0x2A).contains(byte) || (0x2C...0x3C).contains(byte) || (0x3E...0x7E).contains(byte) {
                index += 1
            } else {
                return false
            }
        }
        return true
    }
}

extension ESMTPParameter {
    /// The value, which this parameter must have.
    func requiredValue() throws(SMTPCommandError) -> String {
        guard let value else { throw SMTPCursor.invalidArguments("Parameter \(keyword) needs a value") }
        return value
    }

    /// The value, which must be xtext (RFC 3461 section 4).
    func xtextValue() throws(SMTPCommandError) -> String {
        let value = try requiredValue()
        guard SMTPCursor.isXText(value) else { throw SMTPCursor.invalidArguments("Invalid value for parameter \(keyword)") }
        return value
    }
}

extension MailParameters {
    static let knownKeywords: Set<String> = ["SIZE", "BODY", "SMTPUTF8", "AUTH", "RET", "ENVID"]

    /// Sorts parameters into the known ones, validated, and the rest. A known parameter given
    /// twice is a syntax error: RFC 1870 section 6 allows one SIZE, and for every parameter the
    /// server could not know which value the client meant.
    init(parsing parameters: [ESMTPParameter]) throws(SMTPCommandError) {
        self.init()
        var seen: Set<String> = []
        for parameter in parameters {
            guard Self.knownKeywords.contains(parameter.keyword) else {
                unrecognized.append(parameter)
                continue
            }
            guard seen.insert(parameter.keyword).inserted else {
                throw SMTPCursor.invalidArguments("Duplicate \(parameter.keyword) parameter")
            }
            switch parameter.keyword {
            case "SIZE":
                size = try Self.sizeValue(parameter)
            case "BODY":
                guard let body = MailBodyType(rawValue: try parameter.requiredValue().uppercased()) else {
                    throw SMTPCursor.invalidArguments("BODY must be 7BIT, 8BITMIME or BINARYMIME")
                }
                self.body = body
            case "SMTPUTF8":
                // RFC 6531 section 3.4: "it MUST not accept a value".
                guard parameter.value == nil else { throw SMTPCursor.invalidArguments("SMTPUTF8 takes no value") }
                smtpUTF8 = true
            case "AUTH":
                auth = try parameter.xtextValue()
            case "RET":
                let value = try parameter.requiredValue()
                guard ["FULL", "HDRS"].contains(value.uppercased()) else {
                    throw SMTPCursor.invalidArguments("RET must be FULL or HDRS")
                }
                ret = value
            default:
                envid = try parameter.xtextValue()
            }
        }
    }

    /// `size-value = 1*20DIGIT` (RFC 1870 section 3); values past `Int.max` are clamped, since
    /// the client means "too large" either way.
    static func sizeValue(_ parameter: ESMTPParameter) throws(SMTPCommandError) -> Int {
        let digits = Array(try parameter.requiredValue().utf8)
        guard (1...maxSizeDigits).contains(digits.count), digits.allSatisfy(SMTPCursor.isDigit) else {
            throw SMTPCursor.invalidArguments("SIZE must be a number of at most \(maxSizeDigits) digits")
        }
        var size = 0
        for digit in digits {
            let (times10, overflow1) = size.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { return Int.max }
            size = sum
        }
        return size
    }

    /// RFC 1870 section 3.
    static let maxSizeDigits = 20
}

extension RcptParameters {
    static let knownKeywords: Set<String> = ["NOTIFY", "ORCPT"]

    init(parsing parameters: [ESMTPParameter]) throws(SMTPCommandError) {
        self.init()
        var seen: Set<String> = []
        for parameter in parameters {
            guard Self.knownKeywords.contains(parameter.keyword) else {
                unrecognized.append(parameter)
                continue
            }
            guard seen.insert(parameter.keyword).inserted else {
                throw SMTPCursor.invalidArguments("Duplicate \(parameter.keyword) parameter")
            }
            if parameter.keyword == "NOTIFY" {
                notify = try Self.notifyValue(parameter)
            } else {
                orcpt = try Self.orcptValue(parameter)
            }
        }
    }

    /// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
    /// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461 section 4.1).
    static func notifyValue(_ parameter: ESMTPParameter) throws(SMTPCommandError) -> String {
        let value = try parameter.requiredValue()
        let elements = value.uppercased().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let valid = elements == ["NEVER"]
            || (Set(elements).count == elements.count && elements.allSatisfy { ["SUCCESS", "FAILURE", "DELAY"].contains($0) })
        guard valid else {
            throw SMTPCursor.invalidArguments("NOTIFY must be NEVER or a list of SUCCESS, FAILURE and DELAY")
        }
        return value
    }

    /// `orcpt-parameter = "ORCPT=" original-recipient-address`,
    /// `original-recipient-address = addr-type ";" xtext` (RFC 3461 section 4.2).
    static func orcptValue(_ parameter: ESMTPParameter) throws(SMTPCommandError) -> String {
        let value = try parameter.xtextValue()
        guard let semicolon = value.firstIndex(of: ";"), semicolon != value.startIndex,
              value[..<semicolon].utf8.allSatisfy(SMTPCursor.isAText) else {
            throw SMTPCursor.invalidArguments("ORCPT must be addr-type;address")
        }
        return value
    }
}

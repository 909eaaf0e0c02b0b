/// Builds the `MIMEPart` tree over a raw message. One pass per nesting level, each a `memmem`
/// scan for delimiters; header blocks are read line by line with `memchr`.
struct MIMEParser {
    let bytes: [UInt8]
    var partCount = 0
    var indexedFieldCount = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseMessage() -> MIMEPart {
        parsePart(in: 0..<bytes.count, defaultType: .defaultText, depth: 0, path: [], isTopLevel: true)
    }

    mutating func parsePart(in range: Range<Int>, defaultType: ContentType, depth: Int, path: [Int],
                            isTopLevel: Bool) -> MIMEPart {
        partCount += 1
        let fieldLimit = min(MIMELimits.maximumHeaderFieldCount,
                             MIMELimits.maximumTotalHeaderFieldCount - indexedFieldCount)
        let block = HeaderScanner.scan(bytes, in: range, allowUnixFromLine: isTopLevel, fieldLimit: fieldLimit)
        indexedFieldCount += block.fields.count
        var part = MIMEPart(headerRange: block.headerRange, bodyRange: block.bodyRange, headers: block.fields,
                            contentType: defaultType, hasExplicitContentType: false, contentTransferEncoding: nil,
                            contentID: nil, contentDescription: nil, contentDisposition: nil, contentLanguage: [],
                            contentLocation: nil, contentMD5: nil, lineCount: 0, children: [], embeddedStorage: [],
                            sectionPath: path, depth: depth, wasTruncated: false)
        readMIMEFields(into: &part)

        if part.contentType.isMultipart {
            let boundary = part.contentType.boundary.map { Array($0.utf8) } ?? []
            if boundary.isEmpty {
                // RFC 2046 5.1.1 makes boundary mandatory. Without one nothing can be split, and
                // the whole body is preamble: the part stays a multipart with one empty part.
                part.children = [emptyChild(of: part, path: path, depth: depth)]
            } else if depth >= MIMELimits.maximumNestingDepth || partCount >= MIMELimits.maximumPartCount {
                part.contentType = .opaque
                part.wasTruncated = true
            } else if let ranges = splitMultipart(part.bodyRange, boundary: boundary) {
                part.children.reserveCapacity(ranges.count)
                let childDefault: ContentType = part.contentType.subtype == "digest" ? .defaultDigestPart : .defaultText
                for (index, childRange) in ranges.enumerated() {
                    if partCount >= MIMELimits.maximumPartCount {
                        part.wasTruncated = true
                        break
                    }
                    var childPath = path
                    childPath.append(index + 1)
                    part.children.append(parsePart(in: childRange, defaultType: childDefault, depth: depth + 1,
                                                   path: childPath, isTopLevel: false))
                }
            } else {
                // No delimiter at all: the body is all preamble (RFC 2046 5.1.1), and the part a
                // multipart with one empty part, as Dovecot shows it.
                part.children = [emptyChild(of: part, path: path, depth: depth)]
            }
        } else if part.contentType.isEncapsulatedMessage && isIdentityEncoding(part.contentTransferEncoding) {
            if depth >= MIMELimits.maximumNestingDepth || partCount >= MIMELimits.maximumPartCount {
                part.contentType = .opaque
                part.wasTruncated = true
            } else {
                let embedded = parsePart(in: part.bodyRange, defaultType: .defaultText, depth: depth + 1,
                                         path: path, isTopLevel: false)
                part.embeddedStorage = [embedded]
            }
        }
        if part.contentType.type == "text" || part.contentType.type == "message" {
            part.lineCount = bytes.lineCount(in: part.bodyRange)
        }
        return part
    }

    /// A part that is itself a multipart with its parent's boundary (RFC 2046 5.1.2 forbids it, some
    /// senders do it) owns the delimiters up to its own close delimiter, as a reader that keeps a
    /// stack of boundaries sees it: returns where the parent's search for its next delimiter goes
    /// on, after that close delimiter line; nil for any other part. Parts inside it that reuse the
    /// boundary again each own a close delimiter of their own.
    func reusedBoundaryEnd(partAt start: Int, in body: Range<Int>, boundary: [UInt8]) -> Int? {
        guard var searchFrom = bodyOfPartReusingBoundary(at: start, in: body, boundary: boundary) else { return nil }
        let needle = [ASCII.lineFeed, ASCII.hyphen, ASCII.hyphen] + boundary
        var depth = 1
        searchFrom = max(start, searchFrom - 1)
        while let found = bytes.firstIndex(of: needle, in: searchFrom..<body.upperBound) {
            let afterBoundary = found + needle.count
            let lineEnd = bytes.endOfLine(from: afterBoundary, limit: body.upperBound)
            if afterBoundary + 1 < body.upperBound, bytes[afterBoundary] == ASCII.hyphen, bytes[afterBoundary + 1] == ASCII.hyphen {
                depth -= 1
                if depth == 0 { return lineEnd }
            } else if bodyOfPartReusingBoundary(at: lineEnd, in: body, boundary: boundary) != nil {
                depth += 1
            }
            searchFrom = max(found + 1, lineEnd - 1)
        }
        return body.upperBound
    }

    /// Where the body of the part at `start` begins, when its header declares a multipart with
    /// `boundary`; nil otherwise. A part whose header reaches a delimiter (it has no blank line)
    /// has no body of its own, and a later part's header is never read as this one's.
    func bodyOfPartReusingBoundary(at start: Int, in body: Range<Int>, boundary: [UInt8]) -> Int? {
        let dashes = [ASCII.hyphen, ASCII.hyphen] + boundary
        if body.upperBound - start >= dashes.count, bytes[start..<(start + dashes.count)].elementsEqual(dashes) { return nil }
        // Scanning to the part's end first would read every part's body twice (a 25 MB attachment
        // doubled the parse): the header is read to its blank line, then checked for a delimiter.
        let header = HeaderScanner.scan(bytes, in: start..<body.upperBound, allowUnixFromLine: false,
                                        fieldLimit: MIMELimits.maximumHeaderFieldCount)
        guard bytes.firstIndex(of: [ASCII.lineFeed] + dashes, in: header.headerRange) == nil,
              let field = header.fields.first(where: { $0.hasName("Content-Type") }),
              let type = ContentType.parse(HeaderScanner.unfold(bytes[field.valueRange])),
              type.isMultipart, let inner = type.boundary, Array(inner.utf8) == boundary else { return nil }
        return header.bodyRange.lowerBound
    }

    /// The one part of a multipart that has none: empty, text/plain, at the end of the body.
    mutating func emptyChild(of part: MIMEPart, path: [Int], depth: Int) -> MIMEPart {
        let end = part.bodyRange.upperBound
        return parsePart(in: end..<end, defaultType: .defaultText, depth: depth + 1, path: path + [1], isTopLevel: false)
    }

    /// A message/rfc822 body in base64 or quoted-printable is opaque: IMAP servers do not look inside.
    func isIdentityEncoding(_ encoding: String?) -> Bool {
        guard let encoding else { return true }
        return encoding == "7bit" || encoding == "8bit" || encoding == "binary" || encoding.isEmpty
    }

    mutating func readMIMEFields(into part: inout MIMEPart) {
        var sawType = false, sawEncoding = false, sawDisposition = false
        for field in part.headers {
            let nameBytes = field.name.utf8
            guard nameBytes.count >= 8, let first = nameBytes.first, first | 0x20 == UInt8(ascii: "c") else { continue }
            let value = bytes[field.valueRange]
            if !sawType && field.hasName("Content-Type") {
                sawType = true
                if let parsed = ContentType.parse(HeaderScanner.unfold(value)) {
                    part.contentType = parsed
                    part.hasExplicitContentType = true
                }
            } else if !sawEncoding && field.hasName("Content-Transfer-Encoding") {
                sawEncoding = true
                let unfolded = HeaderScanner.unfold(value)
                var index = 0
                ParameterGrammar.skipWhitespaceAndComments(unfolded, &index)
                let token = ParameterGrammar.token(unfolded, &index)
                let written = textFromHeaderBytes(token)
                part.writtenTransferEncoding = written
                part.contentTransferEncoding = ASCII.lowercase(written)
            } else if !sawDisposition && field.hasName("Content-Disposition") {
                sawDisposition = true
                part.contentDisposition = ContentDisposition.parse(HeaderScanner.unfold(value))
            } else if part.contentID == nil && field.hasName("Content-ID") {
                part.contentID = textFromHeaderBytes(HeaderScanner.unfold(value))
            } else if part.contentDescription == nil && field.hasName("Content-Description") {
                part.contentDescription = wireTextFromHeaderBytes(HeaderScanner.unfold(value))
            } else if part.contentLocation == nil && field.hasName("Content-Location") {
                // RFC 2557 4.1: a folded URL is unfolded by removing the whitespace too.
                part.contentLocation = wireTextFromHeaderBytes(HeaderScanner.unfold(value).filter { !ASCII.isWhitespace($0) })
            } else if part.contentMD5 == nil && field.hasName("Content-MD5") {
                part.contentMD5 = wireTextFromHeaderBytes(HeaderScanner.unfold(value))
            } else if part.contentLanguage.isEmpty && field.hasName("Content-Language") {
                // Content-Language: Language-Tag *("," Language-Tag)   ; RFC 3282
                let unfolded = HeaderScanner.unfold(value)
                var tags: [String] = []
                var index = 0
                while index < unfolded.count && tags.count < MIMELimits.maximumHeaderFieldCount {
                    ParameterGrammar.skipWhitespaceAndComments(unfolded, &index)
                    let start = index
                    while index < unfolded.count, unfolded[index] != ASCII.comma,
                          !ASCII.isWhitespace(unfolded[index]), unfolded[index] != ASCII.openParenthesis { index += 1 }
                    if index > start { tags.append(textFromHeaderBytes(unfolded[start..<index])) }
                    if index < unfolded.count, unfolded[index] != ASCII.openParenthesis { index += 1 }
                }
                part.contentLanguage = tags
            }
        }
    }

    // multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
    //                   *encapsulation close-delimiter transport-padding [CRLF epilogue]
    // encapsulation  := delimiter transport-padding CRLF body-part
    // delimiter      := CRLF dash-boundary ; dash-boundary := "--" boundary
    /// The byte ranges of the body parts, or nil when no delimiter occurs. Degrades as servers
    /// do: text before the first delimiter is preamble; a missing close delimiter ends the last
    /// part at the end of the body; a delimiter line may carry junk after whitespace; a line
    /// that merely starts with the boundary followed by other characters is not a delimiter.
    func splitMultipart(_ body: Range<Int>, boundary: [UInt8]) -> [Range<Int>]? {
        let needle = [ASCII.lineFeed, ASCII.hyphen, ASCII.hyphen] + boundary
        var ranges: [Range<Int>] = []
        var currentStart: Int? = nil
        var searchFrom = body.lowerBound

        /// Classifies the delimiter whose "--" starts at `lineStart`: nil when not a delimiter.
        func delimiterKind(at lineStart: Int) -> (isClose: Bool, lineEnd: Int)? {
            let afterBoundary = lineStart + 2 + boundary.count
            guard afterBoundary <= body.upperBound else { return nil }
            if afterBoundary + 1 < body.upperBound, bytes[afterBoundary] == ASCII.hyphen, bytes[afterBoundary + 1] == ASCII.hyphen {
                return (true, bytes.endOfLine(from: afterBoundary, limit: body.upperBound))
            }
            if afterBoundary == body.upperBound { return (false, afterBoundary) }
            // RFC 2046 5.1.1: "it is sufficient that the boundary appear in its entirety following
            // the CRLF"; whatever follows it on the line is ignored.
            return (false, bytes.endOfLine(from: afterBoundary, limit: body.upperBound))
        }

        // A delimiter on the very first line of the body has no line break before it.
        if body.count >= needle.count - 1,
           bytes[body.lowerBound..<(body.lowerBound + needle.count - 1)].elementsEqual(needle[1...]),
           let kind = delimiterKind(at: body.lowerBound) {
            if kind.isClose { return [kind.lineEnd..<kind.lineEnd] }
            currentStart = kind.lineEnd
            searchFrom = reusedBoundaryEnd(partAt: kind.lineEnd, in: body, boundary: boundary) ?? kind.lineEnd
        }
        while searchFrom < body.upperBound,
              let found = bytes.firstIndex(of: needle, in: (searchFrom == body.lowerBound ? searchFrom : searchFrom - 1)..<body.upperBound) {
            let lineStart = found + 1
            guard let kind = delimiterKind(at: lineStart) else {
                searchFrom = lineStart + 1
                continue
            }
            if let start = currentStart {
                var contentEnd = found
                if contentEnd > start, bytes[contentEnd - 1] == ASCII.carriageReturn { contentEnd -= 1 }
                ranges.append(start..<max(start, contentEnd))
            }
            if kind.isClose {
                if currentStart == nil { return nil }
                return ranges
            }
            currentStart = kind.lineEnd
            searchFrom = reusedBoundaryEnd(partAt: kind.lineEnd, in: body, boundary: boundary) ?? kind.lineEnd
            if ranges.count >= MIMELimits.maximumPartCount { return ranges }
        }
        guard let start = currentStart else { return nil }
        // Missing close delimiter: the last part runs to the end of the body.
        ranges.append(start..<body.upperBound)
        return ranges
    }
}

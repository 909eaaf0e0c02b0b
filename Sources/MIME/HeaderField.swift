/// One header field of a message or body part, held as byte ranges into the raw message.
///
/// RFC 5322 section 2.2: `field = field-name ":" unstructured CRLF`, folded with CRLF WSP.
public struct HeaderField: Sendable, Hashable {
    /// The field name as written (compare with `hasName(_:)`, which ignores case).
    public let name: String
    /// The whole field, from the first byte of the name through the line break that ends it.
    public let fieldRange: Range<Int>
    /// The value: after the colon up to (not including) the final line break; folds included.
    public let valueRange: Range<Int>

    public init(name: String, fieldRange: Range<Int>, valueRange: Range<Int>) {
        self.name = name
        self.fieldRange = fieldRange
        self.valueRange = valueRange
    }

    /// RFC 5322 section 1.2.2: field names are case-insensitive.
    public func hasName(_ other: String) -> Bool {
        ASCII.equalsIgnoringCase(name, other)
    }
}

/// What the header scanner found: the fields and where header and body lie.
struct HeaderBlock {
    var fields: [HeaderField] = []
    /// The header including its terminating blank line (what `BODY[HEADER]` returns).
    var headerRange: Range<Int>
    var bodyRange: Range<Int>
    var hitFieldLimit = false
}

enum HeaderScanner {
    // fields      = *(field-name ":" unstructured CRLF)   ; RFC 5322 3.6 plus obs-fields 4.5
    // field-name  = 1*ftext ; ftext = %d33-57 / %d59-126
    // obs-optional = field-name *WSP ":" unstructured CRLF
    /// Scans the header block that starts at `range.lowerBound`.
    ///
    /// The header runs to the first blank line. A line that is neither a field nor a fold (an mbox
    /// `From ` line, a line without a colon, a name with 8-bit bytes) is kept in the header range
    /// but makes no field, as Dovecot reads it; a part without a blank line is all header.
    static func scan(_ bytes: [UInt8], in range: Range<Int>, allowUnixFromLine: Bool,
                     fieldLimit: Int = MIMELimits.maximumHeaderFieldCount) -> HeaderBlock {
        var block = HeaderBlock(headerRange: range.lowerBound..<range.upperBound,
                                bodyRange: range.upperBound..<range.upperBound)
        // Most header blocks hold fewer than 16 fields: one allocation instead of five growths.
        block.fields.reserveCapacity(min(16, max(fieldLimit, 0)))
        var lineStart = range.lowerBound
        let limit = range.upperBound
        var openField: (name: String, start: Int, valueStart: Int)? = nil
        var isFirstLine = true

        func closeField(at end: Int) {
            guard let field = openField else { return }
            openField = nil
            guard block.fields.count < fieldLimit else {
                block.hitFieldLimit = true
                return
            }
            var valueEnd = end
            if valueEnd > field.valueStart, bytes[valueEnd - 1] == ASCII.lineFeed { valueEnd -= 1 }
            if valueEnd > field.valueStart, bytes[valueEnd - 1] == ASCII.carriageReturn { valueEnd -= 1 }
            block.fields.append(HeaderField(name: field.name, fieldRange: field.start..<end,
                                            valueRange: field.valueStart..<max(valueEnd, field.valueStart)))
        }

        while lineStart < limit {
            let lineEnd = bytes.endOfLine(from: lineStart, limit: limit)
            let first = bytes[lineStart]
            defer { isFirstLine = false }
            if first == ASCII.lineFeed || (first == ASCII.carriageReturn && lineEnd - lineStart <= 2
                                            && (lineEnd - lineStart == 1 || bytes[lineStart + 1] == ASCII.lineFeed)) {
                closeField(at: lineStart)
                block.headerRange = range.lowerBound..<lineEnd
                block.bodyRange = lineEnd..<limit
                return block
            }
            if ASCII.isWhitespace(first) {
                // A fold: it belongs to the open field (or to one past the field limit).
                lineStart = lineEnd
                continue
            }
            if let (name, valueStart) = fieldName(bytes, lineStart: lineStart, lineEnd: lineEnd) {
                closeField(at: lineStart)
                openField = (name, lineStart, valueStart)
                lineStart = lineEnd
                continue
            }
            if isFirstLine && allowUnixFromLine && startsWithUnixFrom(bytes, at: lineStart, limit: lineEnd) {
                lineStart = lineEnd
                continue
            }
            // Not a header line (no colon, or a name with bytes no field name has). The header still
            // runs to the blank line (RFC 5322 2.1, RFC 2046 5.1.1: a part without one is all header),
            // as other servers read it: the line stays in the header range, and no field is made of it.
            closeField(at: lineStart)
            lineStart = lineEnd
        }
        closeField(at: limit)
        return block
    }

    /// `field-name *WSP ":"`: returns the name and the index after the colon.
    static func fieldName(_ bytes: [UInt8], lineStart: Int, lineEnd: Int) -> (String, Int)? {
        var index = lineStart
        while index < lineEnd {
            let byte = bytes[index]
            if byte == ASCII.colon { break }
            if byte <= ASCII.space || byte >= 0x7F {
                // obs-optional allows WSP between the name and the colon, nothing else.
                var probe = index
                while probe < lineEnd, ASCII.isWhitespace(bytes[probe]) { probe += 1 }
                guard probe > index, probe < lineEnd, bytes[probe] == ASCII.colon else { return nil }
                guard index > lineStart else { return nil }
                let name = String(decoding: bytes[lineStart..<index], as: UTF8.self)
                return (name, probe + 1)
            }
            index += 1
        }
        guard index < lineEnd, index > lineStart else { return nil }
        return (String(decoding: bytes[lineStart..<index], as: UTF8.self), index + 1)
    }

    static func startsWithUnixFrom(_ bytes: [UInt8], at start: Int, limit: Int) -> Bool {
        let prefix: [UInt8] = Array("From ".utf8)
        guard limit - start >= prefix.count else { return false }
        return bytes[start..<start + prefix.count].elementsEqual(prefix)
    }

    /// RFC 5322 section 2.2.3 unfolding: CRLF before WSP is removed; leading and trailing
    /// whitespace of the value is dropped. Bytes stay bytes (8-bit text is decided later).
    static func unfold(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        // Trim first, so the common value (" text" with no fold) costs one exact allocation.
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, ASCII.isWhitespaceOrNewline(bytes[start]) { start += 1 }
        while end > start, ASCII.isWhitespaceOrNewline(bytes[end - 1]) { end -= 1 }
        let trimmed = bytes[start..<end]
        if !trimmed.contains(ASCII.lineFeed) && !trimmed.contains(ASCII.carriageReturn) { return Array(trimmed) }
        var result: [UInt8] = []
        result.reserveCapacity(trimmed.count)
        for byte in trimmed where byte != ASCII.carriageReturn && byte != ASCII.lineFeed { result.append(byte) }
        return result
    }
}

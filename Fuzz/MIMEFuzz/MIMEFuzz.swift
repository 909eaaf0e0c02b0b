// libFuzzer entry point for the MIME parser. Built outside SwiftPM, compiled together with the
// MIME sources into one module (see Sources/MIME/README.md):
//
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name MIMEFuzz \
//       Sources/MIME/*.swift Fuzz/MIMEFuzz/MIMEFuzz.swift -o .build/mime-fuzz
//   .build/mime-fuzz -max_len=65536 -timeout=10 -rss_limit_mb=2048 corpus-dir/
//
// Every input is parsed and then every accessor is exercised; the input's first 300 bytes also go
// through MessageBuilder as subject, display name and body, and must read back the same. A crash,
// a failed round trip, a hang or a memory blow-up anywhere is a finding.
#if canImport(MIME)
import MIME
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = MIMEMessage.parse(bytes)
    _ = message.bodyStructure(extensible: true)
    _ = message.bodyStructure(extensible: false)
    _ = message.envelope
    let summary = message.summary()
    _ = summary.snippet.count
    for part in [message.root] + message.root.descendants {
        precondition(part.bodyRange.upperBound <= bytes.count && part.headerRange.lowerBound >= 0)
        _ = message.text(of: part)
        _ = message.decodedSize(of: part)
        _ = message.binary(section: part.sectionPath)
        for text in [nil, .header, .text, .mime, .headerFields(["subject", "from"]), .headerFieldsNot(["to"])] as [SectionSpec.Text?] {
            _ = message.bytes(for: SectionSpec(path: part.sectionPath, text: text))
        }
        for field in part.headers.prefix(50) {
            _ = message.decodedValue(of: field)
            _ = AddressParser.parse(bytes[field.valueRange])
            _ = MessageDate(parsing: bytes[field.valueRange])
            _ = MessageIDParser.parseList(bytes[field.valueRange])
        }
    }
    _ = message.section([1, 2, 3])
    checkBuilderRoundTrip(bytes.prefix(300))
    _ = HTMLText.visibleText(String(decoding: bytes.prefix(4096), as: UTF8.self))
    return 0
}

/// What the builder makes, the parser must read back: the input's first bytes as subject,
/// display name and text body.
func checkBuilderRoundTrip(_ input: ArraySlice<UInt8>) {
    let text = String(decoding: input, as: UTF8.self)
    var builder = MessageBuilder()
    builder.from = [Mailbox(displayName: text, localPart: "a", domain: "example.com")]
    builder.subject = text
    builder.textBody = text
    let built = MIMEMessage.parse(builder.build())
    let summary = built.summary()
    // Line breaks in a subject become spaces; unencoded text loses leading and trailing blanks.
    let flattened = String(text.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : Character($0) })
    let trimmed = String(decoding: HeaderScanner.unfold(Array(flattened.utf8)[...]), as: UTF8.self)
    precondition(summary.subject == flattened || summary.subject == trimmed, "subject round trip")
    let sent = MessageBuilder.normalizeLineEnds(Array(text.utf8))
    let received = built.decodedBody(of: built.root)
    precondition(received == sent || received == sent + [0x0D, 0x0A], "body round trip")
    precondition(summary.from.first?.address == "a@example.com", "address round trip")
}

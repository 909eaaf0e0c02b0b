import NIOCore

/// Reads whole replies (RFC 5321 4.2: `250-first`, ..., `250 last`) from a smart host's byte
/// stream. Bounded: a line over 2048 octets or a reply over 100 lines is an error.
struct SMTPClientReplyReader {
    static let maximumLineLength = 2048
    static let maximumLines = 100

    struct MalformedReply: Error, CustomStringConvertible {
        let description: String
    }

    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    mutating func next() async throws -> SMTPClientReply {
        var lines: [String] = []
        var code = 0
        while true {
            let line = try await nextLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let value = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(value) else {
                throw MalformedReply(description: "not an SMTP reply: \(line.prefix(80))")
            }
            if code != 0 && value != code { throw MalformedReply(description: "reply codes differ within one reply") }
            code = value
            let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            guard lines.count <= Self.maximumLines else { throw MalformedReply(description: "a reply of more than \(Self.maximumLines) lines") }
            if separator != UInt8(ascii: "-") { break }
        }
        var enhanced: String?
        if let first = lines.first, let word = first.split(separator: " ").first,
           word.split(separator: ".").count == 3, word.split(separator: ".").allSatisfy({ Int($0) != nil }),
           word.first.map({ String($0) == String(code / 100) }) == true {
            enhanced = String(word)
            lines = lines.map { line in
                line.hasPrefix(word + " ") ? String(line.dropFirst(word.count + 1)) : (line == word ? "" : line)
            }
        }
        return SMTPClientReply(code: code, enhancedCode: enhanced, lines: lines)
    }

    private mutating func nextLine() async throws -> String {
        while true {
            if let index = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = index - buffer.readerIndex
                var line = buffer.readBytes(length: length + 1)!
                line.removeLast()
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard buffer.readableBytes <= Self.maximumLineLength else {
                throw MalformedReply(description: "a reply line longer than \(Self.maximumLineLength) octets")
            }
            guard var more = try await iterator.next() else { throw MalformedReply(description: "the connection closed mid-reply") }
            buffer.writeBuffer(&more)
        }
    }
}

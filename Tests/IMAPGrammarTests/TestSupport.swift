import NIOCore
@testable import IMAPGrammar

/// Feeds `input` in one piece and collects results until `.needsMoreData`.
func drain(_ parser: inout CommandParser, _ input: [UInt8]) -> [ParseResult] {
    var buffer = ByteBuffer(bytes: input)
    var out: [ParseResult] = []
    while true {
        let result = parser.parse(&buffer)
        if result == .needsMoreData { break }
        out.append(result)
        precondition(out.count < 100_000, "parser does not make progress")
    }
    return out
}

func drain(_ parser: inout CommandParser, _ input: String) -> [ParseResult] {
    drain(&parser, Array(input.utf8))
}

/// Parses one complete command given as one string.
func parseOne(_ input: String, limits: IMAPLimits = .default) -> [ParseResult] {
    var parser = CommandParser(limits: limits)
    return drain(&parser, input)
}

/// Feeds `input` one byte at a time; returns every result, `.needsMoreData` included.
func feedByteByByte(_ parser: inout CommandParser, _ input: [UInt8]) -> [ParseResult] {
    var out: [ParseResult] = []
    for byte in input {
        var buffer = ByteBuffer(bytes: [byte])
        while true {
            let result = parser.parse(&buffer)
            out.append(result)
            if result == .needsMoreData { break }
        }
        precondition(buffer.readableBytes == 0)
    }
    return out
}

/// Results without `.needsMoreData`, with consecutive `.appendData` chunks merged.
func significant(_ results: [ParseResult]) -> [ParseResult] {
    var out: [ParseResult] = []
    for result in results where result != .needsMoreData {
        if case .appendData(var chunk) = result, case .appendData(var previous)? = out.last {
            previous.writeBuffer(&chunk)
            out[out.count - 1] = .appendData(previous)
        } else {
            out.append(result)
        }
    }
    return out
}

func encode(_ response: Response, utf8: Bool = false) -> String {
    let buffer = ResponseEncoder(utf8Accepted: utf8).encode(response)
    return String(decoding: buffer.readableBytesView, as: UTF8.self)
}

func errorOf(_ results: [ParseResult]) -> CommandParseError? {
    for case .error(let e) in results { return e }
    return nil
}

extension TaggedCommand {
    init(_ tag: String, _ command: Command) {
        self.init(tag: tag, command: command)
    }
}

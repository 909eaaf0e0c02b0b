import NIOCore
import Testing
@testable import IMAPGrammar

/// Random input never crashes the parser, every call makes progress, and a parser that has not
/// been told to close resynchronises on the next well-formed command.
@Suite("fuzz")
struct FuzzTests {
    /// A small deterministic generator (SplitMix64) so failures reproduce.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments: [String] = [
        "a", "A1", " ", "\r\n", "\n", "(", ")", "[", "]", "{", "}", "{5}\r\n", "{3+}\r\n", "~{2}\r\n", "\"", "\\",
        "*", "%", "$", "1", "1:*", ",", ".", "<0.10>", "UID", "FETCH", "BODY[", "HEADER.FIELDS", "SEARCH", "OR", "NOT",
        "APPEND", "INBOX", "LOGIN", "STORE", "+FLAGS", "\\Seen", "LIST", "RETURN", "SELECT", "QRESYNC", "DONE", "NIL",
        "\u{0}", "\u{FF}", "-", "17-Jul-1996", "\"17-Jul-1996 02:44:25 -0700\"", "CHARSET", "MODSEQ", "99999999999999999999",
    ]

    func run(_ input: [UInt8], chunk: Int, limits: IMAPLimits, mode: CommandParser.Mode) {
        var parser = CommandParser(limits: limits)
        parser.mode = mode
        var offset = 0
        var closing = false
        while offset < input.count {
            let end = min(input.count, offset + chunk)
            var buffer = ByteBuffer(bytes: input[offset..<end])
            offset = end
            var calls = 0
            while true {
                let before = buffer.readableBytes
                let result = parser.parse(&buffer)
                calls += 1
                if result == .needsMoreData {
                    // needsMoreData means every byte was consumed.
                    #expect(buffer.readableBytes == 0)
                    break
                }
                if case .error(let e) = result, e.closeConnection { closing = true }
                if case .needsContinuation(let size) = result, size % 2 == 1 { _ = parser.rejectPendingLiteral() }
                // Each call either consumes input or returns one of a bounded number of queued events.
                #expect(buffer.readableBytes <= before)
                #expect(calls < 10 * (chunk + 10))
                if calls >= 10 * (chunk + 10) { return }
            }
        }
        guard !closing else { return }
        // Whatever command is open (a literal of at most the bounds, an APPEND), well-formed
        // commands that follow are eventually parsed again.
        parser.mode = .command
        var recovered = false
        for _ in 0..<64 where !recovered {
            for result in drain(&parser, "\r\nzz NOOP\r\n") {
                if result == .command(.init("zz", .noop)) { recovered = true }
                if case .error(let e) = result, e.closeConnection { return }
            }
        }
        #expect(recovered)
    }

    @Test(arguments: 0..<40)
    func randomBytes(_ seed: Int) {
        var rng = Generator(state: UInt64(seed))
        let count = Int.random(in: 0..<2048, using: &rng)
        let input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
        run(input, chunk: Int.random(in: 1...64, using: &rng), limits: IMAPLimits(maxCommandLineLength: 512, maxLiteralSize: 64, maxAppendLiteralSize: 256),
            mode: [.command, .idle, .authenticate][seed % 3])
    }

    @Test(arguments: 0..<200)
    func randomFragments(_ seed: Int) {
        var rng = Generator(state: UInt64(seed) &* 7919)
        var input: [UInt8] = []
        for _ in 0..<Int.random(in: 1..<200, using: &rng) {
            input += Array(Self.fragments.randomElement(using: &rng)!.utf8)
        }
        run(input, chunk: Int.random(in: 1...32, using: &rng), limits: IMAPLimits(maxCommandLineLength: 1024, maxLiteralSize: 16, maxAppendLiteralSize: 64,
                                                                                    maxSearchNestingDepth: 8),
            mode: .command)
    }

    @Test func mutatedValidCommands() {
        var rng = Generator(state: 42)
        let valid = commandVectors.map { $0.0 + "\r\n" } + literalVectors.map(\.input) + appendVectors.map(\.input)
        for _ in 0..<2000 {
            var input = Array(valid.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                let i = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: input[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: input.remove(at: i)
                default: input.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
            }
            run(input, chunk: Int.random(in: 1...16, using: &rng), limits: .default, mode: .command)
        }
    }
}

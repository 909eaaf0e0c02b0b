// mime-bench: parse throughput and allocation counts for the MIME parser.
//
// Allocations are counted by interposing `malloc`: this executable exports its own `malloc`
// (a C symbol defined below with @_cdecl), which the dynamic linker prefers over libc's for
// every library in the process, counts the call and forwards to glibc's `__libc_malloc`.
// Every Swift heap object (array and string storage, class instances, boxes) is allocated
// through it. No LD_PRELOAD is needed. (The Swift runtime's `_swift_allocObject` hook would
// count only Swift objects, but installing it faults on the Swift 6.3 Linux runtime:
// `_swift_retain_adapterImpl` over-masks small-string payloads, swiftlang/swift#88924.)
// The same hook sums the requested sizes, so each line also shows the bytes allocated per run:
// a parse that copied a body would show its size there.
import MIME
#if canImport(Glibc)
import Glibc
#endif

// Top-level variables of main.swift are plain static storage (no lazy initializer), so reading
// them from inside malloc cannot recurse. The benchmark is single-threaded.
nonisolated(unsafe) var allocationCount = 0
nonisolated(unsafe) var allocatedBytes = 0

@_silgen_name("__libc_malloc")
func libcMalloc(_ size: Int) -> UnsafeMutableRawPointer?

@_cdecl("malloc")
public func countingMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
    allocationCount &+= 1
    allocatedBytes &+= size
    return libcMalloc(size)
}

/// True when the interposed malloc is the one the Swift runtime calls.
func allocationCounterWorks() -> Bool {
    let before = allocationCount
    let probe = [UInt8](repeating: 1, count: 1000)
    return probe.count == 1000 && allocationCount > before
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        result.append(contentsOf: buffer[0..<count])
    }
    return result
}

/// A 25 MB message: a short text part and one large base64 attachment.
func largeAttachmentMessage() -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let rawSize = 18_700_000  // base64 with CRLF every 76 characters: about 25 MB
    var data = [UInt8](repeating: 0, count: rawSize)
    for index in 0..<rawSize {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        data[index] = UInt8(truncatingIfNeeded: state >> 33)
    }
    var builder = MessageBuilder()
    builder.from = [Mailbox(displayName: "Bench", address: "bench@example.com")!]
    builder.to = [Mailbox(address: "to@example.com")!]
    builder.subject = "25 MB"
    builder.textBody = "The attachment is large."
    builder.attachments = [.init(filename: "large.bin", contentType: "application/octet-stream", data: data)]
    return builder.build()
}

/// One multipart/mixed with 1,000 small text parts.
func thousandPartMessage() -> [UInt8] {
    var text = "From: a@example.com\r\nTo: b@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"part-boundary\"\r\n\r\n"
    for index in 1...1000 {
        text += "--part-boundary\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"p\(index).txt\"\r\n\r\n"
        text += "Part number \(index).\r\nA second line of text for part \(index).\r\n"
    }
    text += "--part-boundary--\r\n"
    return Array(text.utf8)
}

struct Figures {
    var seconds: Double
    var megabytesPerSecond: Double
    var allocationsPerRun: Int
    var bytesAllocatedPerRun: Int
}

func measure(_ inputs: [[UInt8]], minimumSeconds: Double = 1.0, _ body: ([UInt8]) -> Void) -> Figures {
    let totalBytes = inputs.reduce(0) { $0 + $1.count }
    for input in inputs { body(input) }  // warm up
    allocationCount = 0
    allocatedBytes = 0
    for input in inputs { body(input) }
    let allocations = allocationCount
    let bytes = allocatedBytes
    var runs = 0
    let start = now()
    repeat {
        for input in inputs { body(input) }
        runs += 1
    } while now() - start < minimumSeconds
    let perRun = (now() - start) / Double(runs)
    return Figures(seconds: perRun, megabytesPerSecond: Double(totalBytes) / perRun / 1_048_576,
                   allocationsPerRun: allocations, bytesAllocatedPerRun: bytes)
}


func report(_ name: String, bytes: Int, _ figures: Figures) {
    let milliseconds: Double = (figures.seconds * 1_000_000).rounded() / 1000
    let throughput: Int = Int(figures.megabytesPerSecond.rounded())
    var line: String = name + String(repeating: " ", count: max(0, 38 - name.count))
    line += " \(bytes) bytes"
    line += "  \(milliseconds) ms/run"
    line += "  \(throughput) MB/s"
    line += "  \(figures.allocationsPerRun) allocations/run"
    line += "  \(figures.bytesAllocatedPerRun) bytes allocated/run"
    print(line)
}

let counting = allocationCounterWorks()
print("allocation counter: " + (counting ? "interposed malloc (every heap allocation)" : "unavailable (counts read 0)"))

let corpusDirectory: String = {
    if CommandLine.arguments.count > 1 { return CommandLine.arguments[1] }
    var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // MIMEBench/main.swift, Benchmarks
    return components.joined(separator: "/") + "/../shared/corpus/python-email"
}()

let only = getenv("MIME_BENCH_ONLY").map { String(cString: $0) }
let large = only == nil || only == "large" ? largeAttachmentMessage() : []
let parts = thousandPartMessage()
var corpus: [[UInt8]] = []
if let directory = opendir(corpusDirectory) {
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasPrefix("msg_") { names.append(name) }
    }
    closedir(directory)
    corpus = names.sorted().compactMap { readFile(corpusDirectory + "/" + $0) }
}

if only == nil || only == "large" {
// The floor to compare with: one memchr pass for line feeds over the 25 MB message.
let scan = measure([large]) { bytes in
    var lines = 0
    bytes.withUnsafeBufferPointer { buffer in
        var cursor = UnsafeRawPointer(buffer.baseAddress!)
        var remaining = buffer.count
        while remaining > 0, let found = memchr(cursor, 0x0A, remaining) {
            lines += 1
            let next = UnsafeRawPointer(found) + 1
            remaining -= cursor.distance(to: next)
            cursor = next
        }
    }
    precondition(lines > 0)
}
report("memchr line scan, 25 MB (floor)", bytes: large.count, scan)

report("parse, 25 MB attachment", bytes: large.count, measure([large]) { bytes in
    let message = MIMEMessage.parse(bytes)
    precondition(message.root.children.count == 2)
})
report("parse+BODYSTRUCTURE+summary, 25 MB", bytes: large.count, measure([large]) { bytes in
    let message = MIMEMessage.parse(bytes)
    _ = message.bodyStructure(extensible: true)
    _ = message.summary()
})
}
if only == nil || only == "parts" {
report("parse, 1,000 parts", bytes: parts.count, measure([parts]) { bytes in
    let message = MIMEMessage.parse(bytes)
    precondition(message.root.children.count == 1000)
})
report("parse+BODYSTRUCTURE+summary, 1,000", bytes: parts.count, measure([parts]) { bytes in
    let message = MIMEMessage.parse(bytes)
    _ = message.bodyStructure(extensible: true)
    _ = message.summary()
})
}
if only == nil || only == "corpus" {
if corpus.isEmpty {
    print("corpus not found at \(corpusDirectory)")
} else {
    let corpusBytes = corpus.reduce(0) { $0 + $1.count }
    report("parse, corpus (\(corpus.count) messages)", bytes: corpusBytes, measure(corpus) { bytes in
        _ = MIMEMessage.parse(bytes)
    })
    report("parse+BODYSTRUCTURE+summary, corpus", bytes: corpusBytes, measure(corpus) { bytes in
        let message = MIMEMessage.parse(bytes)
        _ = message.bodyStructure(extensible: true)
        _ = message.envelope
        _ = message.summary()
    })
}
}

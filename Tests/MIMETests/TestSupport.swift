#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import MIME

/// Test fixtures: raw messages from strings and the shared corpus.
enum Fixture {
    /// `../shared/corpus/python-email/` beside the package root, found from this file's path so
    /// the tests work in any checkout that has `shared/` beside it.
    static let corpusDirectory: String = {
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast(3)  // MIMETests/TestSupport.swift, Tests
        return components.joined(separator: "/") + "/../shared/corpus/python-email"
    }()

    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    static func corpusNames() -> [String] {
        guard let directory = opendir(corpusDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("msg_") && name.hasSuffix(".txt") { names.append(name) }
        }
        return names.sorted()
    }

    static func corpus(_ name: String) -> MIMEMessage {
        MIMEMessage.parse(read(corpusDirectory + "/" + name) ?? [])
    }

    /// A message from text with LF line ends turned into CRLF.
    static func message(_ text: String) -> MIMEMessage {
        MIMEMessage.parse(crlf(text))
    }

    static func crlf(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if byte == 0x0A { bytes.append(0x0D) }
            bytes.append(byte)
        }
        return bytes
    }

    /// A compact picture of the tree: `multipart/mixed(text/plain,message/rfc822[text/plain])`.
    static func shape(_ part: MIMEPart) -> String {
        var text = part.contentType.mimeType
        if !part.children.isEmpty { text += "(" + part.children.map(shape).joined(separator: ",") + ")" }
        if let embedded = part.embeddedMessage { text += "[" + shape(embedded) + "]" }
        return text
    }
}

extension MIMEMessage {
    func string(_ slice: ArraySlice<UInt8>?) -> String? {
        slice.map { String(decoding: $0, as: UTF8.self) }
    }
}

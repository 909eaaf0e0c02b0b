import Foundation
import MailCore

/// The participant lists as JSON text for the jsonb columns, and back.
struct ParticipantJSON {
    var from, to, cc, bcc, replyTo: String

    init(_ facts: MessageFacts) throws {
        from = Self.encode(facts.from)
        to = Self.encode(facts.to)
        cc = Self.encode(facts.cc)
        bcc = Self.encode(facts.bcc)
        replyTo = Self.encode(facts.replyTo)
    }

    /// `[{"email":...,"name":...}]`, `name` left out when there is none.
    static func encode(_ list: [Participant]) -> String {
        var text = "["
        for (index, participant) in list.enumerated() {
            if index > 0 { text += "," }
            text += "{\"email\":" + FactsJSON.quoted(participant.email)
            if let name = participant.name { text += ",\"name\":" + FactsJSON.quoted(name) }
            text += "}"
        }
        return text + "]"
    }

    /// Reads a list back as Postgres prints the jsonb (`[{"name": "A", "email": "a@b"}]`). Every
    /// message row read decodes five of these, so the fixed shape is read directly; anything else
    /// goes through `JSONDecoder`.
    static func decode(_ text: String) throws -> [Participant] {
        var reader = Reader(bytes: Array(text.utf8))
        if let list = reader.participants() { return list }
        return try JSONDecoder().decode([Participant].self, from: Data(text.utf8))
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func participants() -> [Participant]? {
            guard take(UInt8(ascii: "[")) else { return nil }
            var list: [Participant] = []
            if take(UInt8(ascii: "]")) { return end() ? list : nil }
            repeat {
                guard take(UInt8(ascii: "{")) else { return nil }
                var email: String?, name: String?
                repeat {
                    guard let key = string(), take(UInt8(ascii: ":")) else { return nil }
                    skipSpace()
                    if bytes.count >= index + 4, bytes[index..<index + 4].elementsEqual("null".utf8) {
                        index += 4
                        continue
                    }
                    guard let value = string() else { return nil }
                    switch key {
                    case "email": email = value
                    case "name": name = value
                    default: return nil
                    }
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")), let email else { return nil }
                list.append(Participant(name: name, email: email))
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]")) && end() ? list : nil
        }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func end() -> Bool {
            skipSpace()
            return index == bytes.count
        }

        /// A JSON string; nil for anything this reader does not handle (then `JSONDecoder` does).
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    default: return nil  // \u escapes: rare, left to JSONDecoder
                    }
                default:
                    out.append(byte)
                }
            }
            return nil
        }
    }
}

/// The few DNS messages (RFC 1035 4) a DNSBL lookup needs: a query for the A records of one name,
/// and the answer's response code and A records. Pure: table-tested with hand-built packets.
public enum DNSMessage {
    public enum ResponseCode: Sendable, Hashable {
        case noError
        /// The name does not exist: for a DNSBL, the address is not listed.
        case nameError
        case other(Int)
    }

    public struct Answer: Sendable, Hashable {
        public var id: UInt16
        /// The question section as the server echoed it (RFC 1035 4.1.2), to match it with the query's.
        public var question: [UInt8] = []
        public var code: ResponseCode
        /// The IPv4 addresses of the answer's A records for any name.
        public var addresses: [[UInt8]]
        /// The reply was cut short (TC): its records are not all there.
        public var truncated: Bool
    }

    public enum ParseError: Error, Sendable, Hashable {
        case tooShort, notAResponse, badName
    }

    /// A name longer than RFC 1035 2.3.4 allows, or with an empty or over-long label.
    public struct InvalidName: Error, Sendable, Hashable {}

    /// A standard query (recursion desired) for the A records of `name`.
    public static func query(id: UInt16, name: String) throws -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let absolute = name.hasSuffix(".") ? String(name.dropLast()) : name
        let labels = absolute.split(separator: ".", omittingEmptySubsequences: false)
        guard !absolute.isEmpty, absolute.utf8.count <= 253 else { throw InvalidName() }
        for label in labels {
            let utf8 = Array(label.utf8)
            guard (1...63).contains(utf8.count) else { throw InvalidName() }
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        bytes.append(0)
        bytes.append(contentsOf: [0, 1, 0, 1])  // QTYPE A, QCLASS IN
        return bytes
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> Answer {
        guard bytes.count >= 12 else { throw .tooShort }
        guard bytes[2] & 0x80 != 0 else { throw .notAResponse }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let truncated = bytes[2] & 0x02 != 0
        let rcode = Int(bytes[3] & 0x0F)
        let questions = Int(bytes[4]) << 8 | Int(bytes[5])
        let answers = Int(bytes[6]) << 8 | Int(bytes[7])
        var offset = 12
        for _ in 0..<questions {
            offset = try skipName(bytes, offset)
            offset += 4
            guard offset <= bytes.count else { throw .tooShort }
        }
        let question = Array(bytes[12..<offset])
        var addresses: [[UInt8]] = []
        for _ in 0..<answers {
            offset = try skipName(bytes, offset)
            guard offset + 10 <= bytes.count else { throw .tooShort }
            let type = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            let length = Int(bytes[offset + 8]) << 8 | Int(bytes[offset + 9])
            offset += 10
            guard offset + length <= bytes.count else { throw .tooShort }
            if type == 1 && length == 4 { addresses.append(Array(bytes[offset..<offset + 4])) }
            offset += length
        }
        let code: ResponseCode = switch rcode {
        case 0: .noError
        case 3: .nameError
        default: .other(rcode)
        }
        return Answer(id: id, question: question, code: code, addresses: addresses, truncated: truncated)
    }

    /// The offset after a name: labels up to the root, or up to a compression pointer (two bytes).
    static func skipName(_ bytes: [UInt8], _ start: Int) throws(ParseError) -> Int {
        var offset = start
        while true {
            guard offset < bytes.count else { throw .tooShort }
            let length = Int(bytes[offset])
            switch length & 0xC0 {
            case 0:
                if length == 0 { return offset + 1 }
                offset += 1 + length
            case 0xC0:
                guard offset + 2 <= bytes.count else { throw .tooShort }
                return offset + 2
            default:
                throw .badName
            }
        }
    }

    /// The name a DNSBL is asked about `address` under `zone` (RFC 5782 2.1, 2.4): the IPv4
    /// octets reversed, or the 32 nibbles of an IPv6 address reversed. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`, how a dual-stack listener sees IPv4 clients) is asked as IPv4. Nil for
    /// anything else.
    public static func dnsblName(for address: String, zone: String) -> String? {
        if let octets = ipv4(address) {
            return octets.reversed().map(String.init).joined(separator: ".") + "." + zone
        }
        if let bytes = ipv6(address) {
            if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return bytes.suffix(4).reversed().map(String.init).joined(separator: ".") + "." + zone
            }
            let nibbles = bytes.flatMap { [Int($0 >> 4), Int($0 & 0x0F)] }
            return nibbles.reversed().map { String($0, radix: 16) }.joined(separator: ".") + "." + zone
        }
        return nil
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// An IPv6 address in any RFC 4291 2.2 text form (`::` shorthand, a trailing IPv4 part).
    static func ipv6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var seenGap = false
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String) -> [UInt16]? {
            guard !part.isEmpty else { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = ipv4(String(piece)) {
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = parseGroups(halves[0]) else { return nil }
        groups = head
        if halves.count == 2 {
            seenGap = true
            guard let rest = parseGroups(halves[1]) else { return nil }
            tail = rest
        }
        let missing = 8 - groups.count - tail.count
        guard seenGap ? missing >= 1 : missing == 0 else { return nil }
        let all = groups + Array(repeating: 0, count: seenGap ? missing : 0) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

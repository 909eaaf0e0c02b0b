/// Where a Redis server listens and how to log in to it.
///
/// Written as a URL in configuration: `redis://[[username]:password@]host[:port][/database]`,
/// for example `redis://127.0.0.1:6390`, `redis://:s3cret@redis.us.internal:6379/2` or
/// `redis://[::1]:6390`. The password may be percent-encoded.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The port Redis listens on when a URL names none.
    public static let defaultPort = 6379

    public var host: String
    public var port: Int
    /// Sent as `AUTH [username] password` right after connecting.
    public var password: String?
    /// An ACL user (Redis 6+); `nil` logs in as the `default` user.
    public var username: String?
    /// Selected with `SELECT` right after connecting when not 0.
    public var database: Int

    public init(host: String, port: Int = RedisEndpoint.defaultPort, password: String? = nil,
                username: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
    }

    /// Why a Redis URL was rejected.
    public struct InvalidURL: Error, Sendable, Hashable, CustomStringConvertible {
        public var url: String
        public var reason: String

        public var description: String {
            "invalid Redis URL \"\(self.url)\": \(self.reason)"
        }
    }

    /// Parses `redis://[[username]:password@]host[:port][/database]`.
    public init(url: String) throws {
        func invalid(_ reason: String) -> InvalidURL {
            InvalidURL(url: url, reason: reason)
        }

        let scheme = "redis://"
        guard url.lowercased().hasPrefix(scheme) else {
            throw invalid("expected the scheme redis://")
        }
        var rest = Substring(url.dropFirst(scheme.count))

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw invalid("the path must be a database number")
                }
                database = number
            }
        }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = userInfo[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user, in: url)
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], in: url)
            } else if !userInfo.isEmpty {
                // `redis://secret@host` is common in the wild and means a password, as in redis-cli.
                password = try Self.percentDecoded(userInfo, in: url)
            }
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            // An IPv6 literal: [::1]:6390
            guard let close = rest.firstIndex(of: "]") else {
                throw invalid("unterminated IPv6 address")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let afterBracket = rest[rest.index(after: close)...]
            if !afterBracket.isEmpty {
                guard afterBracket.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                portText = afterBracket.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else {
            throw invalid("missing host")
        }

        var port = Self.defaultPort
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw invalid("the port must be a number from 1 to 65535")
            }
            port = number
        }

        self.init(host: String(host), port: port, password: password, username: username, database: database)
    }

    private static func percentDecoded(_ text: Substring, in url: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw InvalidURL(url: url, reason: "bad percent-encoding in the credentials")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The endpoint as a URL with the password masked, fit for logs.
    public var description: String {
        let credentials = self.password == nil ? "" : "\(self.username ?? ""):***@"
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let database = self.database == 0 ? "" : "/\(self.database)"
        return "redis://\(credentials)\(host):\(self.port)\(database)"
    }
}

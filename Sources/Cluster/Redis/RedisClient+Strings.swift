/// String commands: https://redis.io/docs/latest/commands/?group=string
extension RedisClient {
    /// `GET key`: the value as UTF-8 text, or `nil` when the key does not exist.
    public func get(_ key: String) async throws -> String? {
        let reply = try await self.send(["GET", key])
        return reply.isNull ? nil : reply.string
    }

    /// `GET key`: the value's bytes, or `nil` when the key does not exist.
    public func getBytes(_ key: String) async throws -> [UInt8]? {
        try await self.send([Array("GET".utf8), Array(key.utf8)]).bytes
    }

    /// `SET key value [PX milliseconds]`.
    ///
    /// - Parameter expiresIn: time to live, sent in milliseconds (rounded up to at least 1 ms, since
    ///   Redis rejects `PX 0`); `nil` keeps the key until deleted.
    public func set(_ key: String, value: String, expiresIn: Duration? = nil) async throws {
        try await self.set(key, value: Array(value.utf8), expiresIn: expiresIn)
    }

    /// `SET key value [PX milliseconds]` with a binary value.
    public func set(_ key: String, value: [UInt8], expiresIn: Duration? = nil) async throws {
        var arguments: [[UInt8]] = [Array("SET".utf8), Array(key.utf8), value]
        if let expiresIn {
            arguments.append(Array("PX".utf8))
            arguments.append(Array(String(expiresIn.redisMilliseconds).utf8))
        }
        _ = try await self.send(arguments)
    }

    /// `SET key value NX [PX milliseconds]`: sets only when the key is absent.
    /// - Returns: whether the value was set.
    public func setIfAbsent(_ key: String, value: String, expiresIn: Duration? = nil) async throws -> Bool {
        var arguments = ["SET", key, value, "NX"]
        if let expiresIn {
            arguments += ["PX", String(expiresIn.redisMilliseconds)]
        }
        return try await !self.send(arguments).isNull
    }

    /// `INCR key`: the value after incrementing (a missing key counts as 0).
    @discardableResult
    public func incr(_ key: String) async throws -> Int64 {
        try await self.send(["INCR", key]).requireInteger(for: "INCR")
    }

    /// `INCRBY key increment`.
    @discardableResult
    public func incr(_ key: String, by increment: Int64) async throws -> Int64 {
        try await self.send(["INCRBY", key, String(increment)]).requireInteger(for: "INCRBY")
    }
}

extension Duration {
    /// Whole milliseconds for `PX`/`PEXPIRE`, rounded up and at least 1: a positive time to live
    /// must never turn into "expire now" or an error.
    var redisMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        var milliseconds = seconds * 1000 + attoseconds / attosecondsPerMillisecond
        if attoseconds % attosecondsPerMillisecond > 0 {
            milliseconds += 1
        }
        return max(milliseconds, 1)
    }
}

extension RESPValue {
    /// The integer a command is documented to return, or a protocol error naming the command.
    func requireInteger(for command: String) throws -> Int64 {
        guard case .integer(let number) = self else {
            throw RedisError.protocolError("\(command) returned \(self) instead of an integer")
        }
        return number
    }
}

/// Generic key commands: https://redis.io/docs/latest/commands/?group=generic
extension RedisClient {
    /// `DEL key [key ...]`: how many of the keys existed.
    @discardableResult
    public func del(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await Int(self.send(["DEL"] + keys).requireInteger(for: "DEL"))
    }

    /// `DEL key`: whether the key existed.
    @discardableResult
    public func del(_ key: String) async throws -> Bool {
        try await self.del([key]) == 1
    }

    /// `EXISTS key [key ...]`: how many of the keys exist (a key named twice counts twice).
    public func exists(_ keys: [String]) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await Int(self.send(["EXISTS"] + keys).requireInteger(for: "EXISTS"))
    }

    /// `EXISTS key`.
    public func exists(_ key: String) async throws -> Bool {
        try await self.exists([key]) > 0
    }

    /// `EXPIRE key seconds`: whether the key exists and now has the time to live.
    @discardableResult
    public func expire(_ key: String, seconds: Int64) async throws -> Bool {
        try await self.send(["EXPIRE", key, String(seconds)]).requireInteger(for: "EXPIRE") == 1
    }

    /// `PEXPIRE key milliseconds`: whether the key exists and now has the time to live.
    @discardableResult
    public func pexpire(_ key: String, milliseconds: Int64) async throws -> Bool {
        try await self.send(["PEXPIRE", key, String(milliseconds)]).requireInteger(for: "PEXPIRE") == 1
    }

    /// Sets a time to live with millisecond precision (`PEXPIRE`).
    @discardableResult
    public func expire(_ key: String, after timeToLive: Duration) async throws -> Bool {
        try await self.pexpire(key, milliseconds: timeToLive.redisMilliseconds)
    }

    /// `PTTL key`: the remaining time to live, or `nil` when the key is missing or never expires.
    public func timeToLive(_ key: String) async throws -> Duration? {
        let milliseconds = try await self.send(["PTTL", key]).requireInteger(for: "PTTL")
        return milliseconds < 0 ? nil : .milliseconds(milliseconds)
    }

    /// Every key matching `pattern`, walking `SCAN cursor MATCH pattern COUNT count` until the
    /// cursor comes back to 0.
    ///
    /// SCAN may return a key more than once while keys are added or removed during the walk; the
    /// result has each key once. `count` is a hint for how much work Redis does per call.
    public func scan(match pattern: String = "*", count: Int = 100) async throws -> [String] {
        var cursor = "0"
        var keys: [String] = []
        var seen = Set<String>()
        repeat {
            let reply = try await self.send(["SCAN", cursor, "MATCH", pattern, "COUNT", String(count)])
            guard let parts = reply.array, parts.count == 2, let nextCursor = parts[0].string,
                  let batch = parts[1].array
            else {
                throw RedisError.protocolError("SCAN returned \(reply) instead of [cursor, keys]")
            }
            for key in batch.compactMap(\.string) where seen.insert(key).inserted {
                keys.append(key)
            }
            cursor = nextCursor
        } while cursor != "0"
        return keys
    }
}

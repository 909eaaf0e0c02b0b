/// Hash commands: https://redis.io/docs/latest/commands/?group=hash
extension RedisClient {
    /// `HSET key field value [field value ...]`: how many fields were added (not updated).
    @discardableResult
    public func hset(_ key: String, _ fields: [String: String]) async throws -> Int {
        guard !fields.isEmpty else { return 0 }
        var arguments = ["HSET", key]
        for (field, value) in fields {
            arguments.append(field)
            arguments.append(value)
        }
        return try await Int(self.send(arguments).requireInteger(for: "HSET"))
    }

    /// `HGET key field`.
    public func hget(_ key: String, field: String) async throws -> String? {
        let reply = try await self.send(["HGET", key, field])
        return reply.isNull ? nil : reply.string
    }

    /// `HGETALL key`: the hash's fields and values (empty when the key does not exist).
    ///
    /// RESP2 returns a flat array `[field1, value1, field2, value2, ...]`.
    public func hgetall(_ key: String) async throws -> [String: String] {
        let reply = try await self.send(["HGETALL", key])
        guard let flat = reply.array, flat.count % 2 == 0 else {
            throw RedisError.protocolError("HGETALL returned \(reply) instead of field/value pairs")
        }
        var fields: [String: String] = [:]
        fields.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count, by: 2) {
            fields[flat[index].string ?? ""] = flat[index + 1].string ?? ""
        }
        return fields
    }

    /// `HDEL key field [field ...]`: how many fields were removed.
    @discardableResult
    public func hdel(_ key: String, fields: [String]) async throws -> Int {
        guard !fields.isEmpty else { return 0 }
        return try await Int(self.send(["HDEL", key] + fields).requireInteger(for: "HDEL"))
    }
}

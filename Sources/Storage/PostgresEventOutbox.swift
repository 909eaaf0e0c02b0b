import Logging
import MailCore
import PostgresNIO

/// The `event_outbox` table (see `MailStoreSchema`) for dispatchers on any node.
///
/// Claiming holds the claimed rows locked (`FOR UPDATE SKIP LOCKED`) for the length of one
/// transaction around `deliver`, so two dispatchers never deliver the same event at once and a
/// dispatcher that dies releases its claim with its connection.
public struct PostgresEventOutbox: EventOutbox {
    public let client: PostgresClient
    public let logger: Logger
    /// The longest a batch (claim, deliver, record) may take.
    public var timeout: Duration

    public init(client: PostgresClient, logger: Logger, timeout: Duration = .seconds(60)) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    private static let columns = "id, grant_id::text, object_type, object_id, type, payload::text, created_at, attempts"

    public func dispatchDue(limit: Int, now: Int64,
                            deliver: @escaping @Sendable ([OutboxEvent]) async -> [Int64: String?]) async throws -> Int {
        let client = self.client, logger = self.logger
        return try await withDeadline(timeout, what: "Postgres") {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    let rows = try await connection.query(
                        """
                        SELECT \(unescaped: Self.columns) FROM event_outbox
                        WHERE state = 'pending' AND next_attempt_at <= \(now)
                        ORDER BY next_attempt_at, id
                        LIMIT \(limit)
                        FOR UPDATE SKIP LOCKED
                        """, logger: logger)
                    let events = try await Self.decode(rows, logger: logger)
                    guard !events.isEmpty else { return 0 }
                    let outcomes = await deliver(events)
                    let delivered = events.map(\.id).filter { outcomes[$0].map { $0 == nil } ?? false }
                    // An event `deliver` said nothing about counts as failed: it will be tried again.
                    let failed = events.filter { !delivered.contains($0.id) }
                    try await connection.query(
                        """
                        UPDATE event_outbox SET state = 'delivered', delivered_at = \(now), attempts = attempts + 1, last_error = NULL
                        WHERE id = ANY(\(delivered)::bigint[])
                        """, logger: logger)
                    if !failed.isEmpty {
                        let ids = failed.map(\.id)
                        let reasons = failed.map { (outcomes[$0.id] ?? nil) ?? "no outcome reported" }
                        let next = failed.map { now + EventDelivery.retryDelaySeconds(afterAttempts: $0.attempts + 1) }
                        try await connection.query(
                            """
                            UPDATE event_outbox AS e SET attempts = e.attempts + 1, last_error = t.reason, next_attempt_at = t.next,
                                state = CASE WHEN e.attempts + 1 >= \(EventDelivery.maximumDeliveryAttempts) THEN 'failed' ELSE 'pending' END
                            FROM unnest(\(ids)::bigint[], \(reasons)::text[], \(next)::bigint[]) AS t(id, reason, next)
                            WHERE e.id = t.id
                            """, logger: logger)
                    }
                    return events.count
                }
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError ?? error.beginError ?? error.commitError { throw inner }
                throw error
            }
        }
    }

    public func events(grant: GrantID, after afterID: Int64, limit: Int) async throws -> [OutboxEvent] {
        let client = self.client, logger = self.logger
        return try await withDeadline(.seconds(10), what: "Postgres") {
            let rows = try await client.query(
                """
                SELECT \(unescaped: Self.columns) FROM event_outbox
                WHERE grant_id = \(grant.rawValue)::uuid AND id > \(afterID) ORDER BY id LIMIT \(limit)
                """, logger: logger)
            return try await Self.decode(rows, logger: logger)
        }
    }

    private static func decode(_ rows: PostgresRowSequence, logger: Logger) async throws -> [OutboxEvent] {
        var events: [OutboxEvent] = []
        for try await (id, grant, objectType, objectID, type, payload, created, attempts)
            in rows.decode((Int64, String, String, String, String, String, Int64, Int32).self) {
            guard let grantID = GrantID(rawValue: grant) else {
                logger.error("skipping outbox row with a malformed grant id", metadata: ["event_id": "\(id)"])
                continue
            }
            events.append(OutboxEvent(id: id, grantID: grantID, objectType: objectType, objectID: objectID, type: type,
                                      payloadJSON: payload, createdAt: created, attempts: Int(attempts)))
        }
        return events
    }
}

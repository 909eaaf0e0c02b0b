/// Migration version 13: the guard every write passes through keeps its plan.
///
/// `webhook_event_wanted` was a SQL function whose body holds a subquery: Postgres neither inlines
/// such a function nor keeps its plan beyond the transaction, so every write transaction parsed
/// and planned it again (a third of a millisecond, measured under the IMAP load, for a check that
/// usually answers no). In PL/pgSQL the query is planned once per connection.
enum PlannedFunctionsSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION webhook_event_wanted(p_type text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
        BEGIN
            RETURN EXISTS (SELECT 1 FROM webhooks w WHERE w.status <> 'pause' AND p_type = ANY (w.trigger_types));
        END $$
        """,
    ]
}

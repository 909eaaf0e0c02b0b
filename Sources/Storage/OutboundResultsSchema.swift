/// Per-recipient results of outbound jobs (migration version 4): which recipients failed and
/// why, so that a job's end can say what happened to each.
enum OutboundResultsSchema {
    static let statements: [String] = [
        "ALTER TABLE outbound_jobs ADD COLUMN delivered_recipients text[] NOT NULL DEFAULT '{}'",
        "ALTER TABLE outbound_jobs ADD COLUMN failed_recipients jsonb NOT NULL DEFAULT '[]'",
    ]
}

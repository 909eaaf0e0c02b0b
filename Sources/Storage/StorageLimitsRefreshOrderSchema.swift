/// Migration version 43: two guardrail changes committed at once leave every workspace's storage
/// limit as the later one computed it.
///
/// The trigger that keeps `workspace_storage_limits` (migration 27) recomputed every workspace's
/// limit from the documents its statement could see. A second change whose statement started
/// before the first committed computed the limits without the first change, waited for the rows
/// the first had written, then wrote its own figures over them: a policy's new limit could be lost
/// until the next guardrail change. The refresh now takes a transaction lock of its own before it
/// reads, so each one starts after the previous refresh committed and sees its documents.
enum StorageLimitsRefreshOrderSchema {
    static let statements = [
        """
        CREATE OR REPLACE FUNCTION guardrail_storage_limits_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtextextended('workspace_storage_limits', 0));
            INSERT INTO workspace_storage_limits (workspace_id, policy_bytes)
            SELECT w.id, (p.document -> 'limits' ->> 'limit_storage_total')::bigint
            FROM guardrail_objects w
            LEFT JOIN guardrail_objects p ON p.kind = 'policy' AND p.id = w.document ->> 'policyID' AND p.deleted_at IS NULL
            WHERE w.kind = 'workspace' AND w.deleted_at IS NULL
            ORDER BY w.id
            ON CONFLICT (workspace_id) DO UPDATE SET policy_bytes = EXCLUDED.policy_bytes
                WHERE workspace_storage_limits.policy_bytes IS DISTINCT FROM EXCLUDED.policy_bytes;
            DELETE FROM workspace_storage_limits s WHERE NOT EXISTS (
                SELECT 1 FROM guardrail_objects w WHERE w.kind = 'workspace' AND w.id = s.workspace_id AND w.deleted_at IS NULL);
            RETURN NULL;
        END $$
        """,
    ]
}

/// Migration version 27: revisions of policies, rules, lists and workspaces. Every region's copy
/// is written by whichever node took the change; two changes of one object made at once through
/// different regions could reach the regions in different orders and leave them disagreeing. Each
/// change now carries one revision into every region and a region keeps the highest it has seen; a
/// delete leaves a tombstone with its revision (readers skip it) for a day, so that an earlier
/// change arriving after it does not bring the object back. Also: each workspace's storage limit in
/// a table of its own, for the grant lock.
enum GuardrailRevisionSchema {
    static let statements = [
        "ALTER TABLE guardrail_objects ADD COLUMN revision bigint NOT NULL DEFAULT 0, ADD COLUMN deleted_at bigint",
        // The storage limit of each workspace's policy, kept beside the documents by a trigger, so
        // that every write's grant lock reads one small row instead of two JSON documents (a
        // fifth of the cost of a flag change otherwise). Written rarely: on guardrail changes.
        "CREATE TABLE workspace_storage_limits (workspace_id text PRIMARY KEY, policy_bytes bigint)",
        """
        CREATE FUNCTION guardrail_storage_limits_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO workspace_storage_limits (workspace_id, policy_bytes)
            SELECT w.id, (p.document -> 'limits' ->> 'limit_storage_total')::bigint
            FROM guardrail_objects w
            LEFT JOIN guardrail_objects p ON p.kind = 'policy' AND p.id = w.document ->> 'policyID' AND p.deleted_at IS NULL
            WHERE w.kind = 'workspace' AND w.deleted_at IS NULL
            -- One order for every writer, so that two of them never wait on each other's rows.
            ORDER BY w.id
            ON CONFLICT (workspace_id) DO UPDATE SET policy_bytes = EXCLUDED.policy_bytes
                WHERE workspace_storage_limits.policy_bytes IS DISTINCT FROM EXCLUDED.policy_bytes;
            DELETE FROM workspace_storage_limits s WHERE NOT EXISTS (
                SELECT 1 FROM guardrail_objects w WHERE w.kind = 'workspace' AND w.id = s.workspace_id AND w.deleted_at IS NULL);
            RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER guardrail_objects_storage_limits AFTER INSERT OR UPDATE OR DELETE ON guardrail_objects
        FOR EACH STATEMENT EXECUTE FUNCTION guardrail_storage_limits_refresh()
        """,
        """
        INSERT INTO workspace_storage_limits (workspace_id, policy_bytes)
        SELECT w.id, (p.document -> 'limits' ->> 'limit_storage_total')::bigint
        FROM guardrail_objects w LEFT JOIN guardrail_objects p ON p.kind = 'policy' AND p.id = w.document ->> 'policyID'
        WHERE w.kind = 'workspace'
        """,
        // The grant's own limit; else its workspace's policy's (the default workspace's when it
        // names none or one since deleted), held at the plan's storage (p_default: the plan's, the
        // most a policy may set, so that a policy written before the plan was lowered does not stay
        // above it); else p_default. -1 is unlimited.
        """
        CREATE OR REPLACE FUNCTION mail_storage_limit(p_own bigint, p_workspace text, p_default bigint) RETURNS bigint
        LANGUAGE plpgsql STABLE AS $$
        DECLARE
            v bigint;
        BEGIN
            IF p_default = -1 THEN
                p_default := 9223372036854775807;
            END IF;
            IF p_own IS NOT NULL THEN
                RETURN CASE WHEN p_own = -1 THEN 9223372036854775807 ELSE p_own END;
            END IF;
            SELECT policy_bytes INTO v FROM workspace_storage_limits WHERE workspace_id = p_workspace;
            IF NOT FOUND THEN
                SELECT policy_bytes INTO v FROM workspace_storage_limits WHERE workspace_id = '\(GuardrailSchema.defaultWorkspaceID)';
            END IF;
            v := CASE WHEN v IS NULL OR v = -1 THEN p_default ELSE LEAST(v, p_default) END;
            RETURN CASE WHEN v = -1 THEN 9223372036854775807 ELSE v END;
        END $$
        """,
    ]
}

/// What the policy limits need of the store (migration version 26).
///
/// * The storage limit of a grant: its own (`quota_limit_bytes`, set by an operator), else the
///   `limit_storage_total` of its workspace's policy (the default workspace's when it names none
///   or one since deleted), else the store's default (the plan's). -1 is unlimited. Every write's
///   grant lock reads it, so a policy change holds from the next write on.
/// * Daily counts: messages received and sent per grant and UTC day, counted as they are stored.
enum PolicyLimitsSchema {
    static let statements = [
        """
        CREATE FUNCTION mail_storage_limit(p_own bigint, p_workspace text, p_default bigint) RETURNS bigint
        LANGUAGE sql STABLE AS $$
            SELECT CASE WHEN v = -1 THEN 9223372036854775807 ELSE v END FROM (
                SELECT COALESCE(p_own, (
                    SELECT (p.document -> 'limits' ->> 'limit_storage_total')::bigint
                    FROM guardrail_objects w
                    LEFT JOIN guardrail_objects p ON p.kind = 'policy' AND p.id = w.document ->> 'policyID'
                    WHERE w.kind = 'workspace' AND w.id IN (COALESCE(p_workspace, '\(GuardrailSchema.defaultWorkspaceID)'),
                                                            '\(GuardrailSchema.defaultWorkspaceID)')
                    ORDER BY w.id = COALESCE(p_workspace, '\(GuardrailSchema.defaultWorkspaceID)') DESC
                    LIMIT 1), p_default) AS v) limits
        $$
        """,
        // `mail_append` (migration 34) takes this lock inline, to save a call per APPEND: a change
        // here belongs there too.
        """
        CREATE OR REPLACE FUNCTION mail_lock_grant(p_grant uuid, p_default_quota bigint,
                                                   OUT modseq bigint, OUT used_bytes bigint, OUT limit_bytes bigint)
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE grants g SET mail_modseq = g.mail_modseq + 1 WHERE g.id = p_grant
            RETURNING g.mail_modseq, g.quota_used_bytes, mail_storage_limit(g.quota_limit_bytes, g.workspace_id, p_default_quota)
            INTO modseq, used_bytes, limit_bytes;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
        END $$
        """,
        """
        CREATE TABLE grant_daily_counts (
            grant_id uuid NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
            -- Days since 1970-01-01, UTC.
            day integer NOT NULL,
            received integer NOT NULL DEFAULT 0,
            sent integer NOT NULL DEFAULT 0,
            PRIMARY KEY (grant_id, day)
        )
        """,
        // Yesterday's and older rows are removed by day, without reading every grant's.
        "CREATE INDEX grant_daily_counts_day ON grant_daily_counts (day)",
    ]
}

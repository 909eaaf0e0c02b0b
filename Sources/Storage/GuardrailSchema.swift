/// Policies, rules, lists and workspaces (migration version 25). They belong to the application,
/// not to a region: every region's Postgres holds a full copy under the same ids, written by the
/// node that took the API request into every region before it answers. Each object is one JSON
/// document (its shape is the Swift type's, `MailCore/Guardrails`); list items are rows, so that a
/// rule's `in_list` is an index lookup. Rule evaluations belong to a grant and live in its region.
enum GuardrailSchema {
    static let statements = [
        """
        CREATE TABLE guardrail_objects (
            kind text NOT NULL CHECK (kind IN ('policy', 'rule', 'list', 'workspace')),
            id text NOT NULL,
            document jsonb NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (kind, id)
        )
        """,
        """
        CREATE TABLE guardrail_list_items (
            list_id text NOT NULL,
            value text NOT NULL,
            id text NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (list_id, value)
        )
        """,
        "CREATE INDEX guardrail_list_items_page ON guardrail_list_items (list_id, created_at, id)",
        // Bumped with every change of a policy, rule, list or workspace: a node compares it with
        // the version of its copy in memory before each evaluation, so changes hold at once.
        """
        CREATE TABLE guardrail_version (
            id integer PRIMARY KEY CHECK (id = 1),
            version bigint NOT NULL
        )
        """,
        "INSERT INTO guardrail_version (id, version) VALUES (1, 0)",
        """
        CREATE TABLE rule_evaluations (
            id text PRIMARY KEY,
            grant_id uuid NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
            record jsonb NOT NULL,
            evaluated_at bigint NOT NULL,
            -- The order of recording (several evaluations share a second).
            seq bigserial NOT NULL
        )
        """,
        "CREATE INDEX rule_evaluations_page ON rule_evaluations (grant_id, seq DESC)",
        // The pruner finds old records without reading every grant's.
        "CREATE INDEX rule_evaluations_age ON rule_evaluations (evaluated_at)",
        "ALTER TABLE grants ADD COLUMN workspace_id text",
        // The default workspace exists from the start, under the same id in every region.
        """
        INSERT INTO guardrail_objects (kind, id, document, created_at)
        VALUES ('workspace', '\(defaultWorkspaceID)',
            jsonb_build_object('id', '\(defaultWorkspaceID)', 'name', 'Default', 'autoGroup', false, 'isDefault', true,
                               'ruleIDs', '[]'::jsonb, 'createdAt', 0, 'updatedAt', 0),
            0)
        """,
    ]

    static let defaultWorkspaceID = "00000000-0000-4000-8000-000000000001"
}

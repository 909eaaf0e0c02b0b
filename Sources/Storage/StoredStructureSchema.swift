/// Migration versions 18 and 19: every stored message says which version of the MIME reading rendered its
/// IMAP structures (`envelope`, `body_structure`, `body`).
///
/// FETCH sends those from the stored row but cuts body sections from a fresh parse of the bytes,
/// so when the reading changes (version 2: a header runs to its blank line, a multipart without
/// delimiters keeps one empty part, a delimiter is any line that starts with it, a multipart that
/// reuses its parent's boundary owns the delimiters up to its close, a forwarded message carries
/// its own envelope, NUL never reaches a literal) rows stored before would number
/// their parts differently from what BODY[n] now finds. Rows already stored are version 1; new
/// rows take the column's default. `StoredStructureRefresher` renders the old ones again, found
/// through a partial index that is empty once they are done.
enum StoredStructureSchema {
    /// The version new rows are written with. A future change to the reading raises it, with a
    /// migration that sets the new default and a partial index for the rows below it.
    static let currentVersion = 2

    /// Version 18: the column. Adding it with a constant default rewrites no row, so the table's
    /// exclusive lock is held only for a moment.
    static let column: [String] = [
        "ALTER TABLE message_contents ADD COLUMN structure_version smallint NOT NULL DEFAULT 1",
        "ALTER TABLE message_contents ALTER COLUMN structure_version SET DEFAULT \(currentVersion)",
    ]

    /// Version 19, a migration of its own so that building it over every row holds only the lock an
    /// index build takes (writes wait, reads go on), not the column's.
    static let index: [String] = [
        "CREATE INDEX message_contents_stale_structure ON message_contents (grant_id, digest) WHERE structure_version < \(currentVersion)",
    ]
}

/// Migration version 5: folder counters and the write functions of the hot paths.
///
/// Choices, and why:
/// * **One round trip per write.** An IMAP APPEND, STORE, EXPUNGE, COPY or MOVE, a delivery and a
///   submission each run as one call of a function below, sent as one statement outside any
///   explicit transaction: Postgres runs it as its own transaction, so the call's answer arrives
///   after its commit and the commit is the only wait. Plans of the statements inside a PL/pgSQL
///   function are prepared once per connection.
/// * **The grant row is still the mailbox's lock** (see `MailStoreSchema`): every function starts with
///   `mail_lock_grant`, which bumps the grant's modseq and reads its quota counters.
/// * **Folder counters kept by statement triggers** (`message_count`, `unseen_count`,
///   `deleted_count`, `size_bytes`): every path that changes `messages` (IMAP, API, SMTP, folder
///   and grant deletion) keeps them exact in the same transaction, once per statement, from the
///   transition tables. LIST, STATUS, SELECT and the API's folder list read them instead of counting.
/// * **The outbound queue schedules in milliseconds** (`outbound_jobs.next_attempt_at`), so a retry
///   never fires before its delay, and **a delivery attempt holds a lease, not a transaction**: the
///   claim writes a `lease_token` and pushes `next_attempt_at` past the attempt's deadline in one short
///   statement; the outcome is recorded afterwards only by the holder of that token. A worker that
///   dies mid-attempt leaves the job due again when its lease ends.
/// * **Errors carry their own SQLSTATE** (class `MN`), which the store maps back to `MailStoreError`:
///   `MN001` over quota (the message is the limit), `MN002` no such folder, `MN003` no such grant,
///   `MN004` no such message.
enum WritePathSchema {
    static let statements: [String] = [
        "ALTER TABLE outbound_jobs ADD COLUMN lease_token text",
        "UPDATE outbound_jobs SET next_attempt_at = next_attempt_at * 1000",
        """
        ALTER TABLE folders
            ADD COLUMN message_count bigint NOT NULL DEFAULT 0,
            ADD COLUMN unseen_count bigint NOT NULL DEFAULT 0,
            ADD COLUMN deleted_count bigint NOT NULL DEFAULT 0,
            ADD COLUMN size_bytes bigint NOT NULL DEFAULT 0
        """,
        """
        UPDATE folders f SET message_count = c.total, unseen_count = c.unseen, deleted_count = c.deleted, size_bytes = c.bytes
        FROM (SELECT grant_id, folder_id, count(*) AS total,
                     count(*) FILTER (WHERE NOT ('\\Seen' = ANY (flags))) AS unseen,
                     count(*) FILTER (WHERE '\\Deleted' = ANY (flags)) AS deleted,
                     COALESCE(sum(size), 0) AS bytes
              FROM messages GROUP BY grant_id, folder_id) c
        WHERE f.grant_id = c.grant_id AND f.id = c.folder_id
        """,
        // The counters' delta of a statement: rows that arrived count up, rows that left count down.
        """
        CREATE FUNCTION mail_count_folders() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE folders f SET message_count = f.message_count + d.total, unseen_count = f.unseen_count + d.unseen,
                    deleted_count = f.deleted_count + d.deleted, size_bytes = f.size_bytes + d.bytes
                FROM (SELECT grant_id, folder_id, count(*) AS total,
                             count(*) FILTER (WHERE NOT ('\\Seen' = ANY (flags))) AS unseen,
                             count(*) FILTER (WHERE '\\Deleted' = ANY (flags)) AS deleted, sum(size) AS bytes
                      FROM arrived GROUP BY grant_id, folder_id) d
                WHERE f.grant_id = d.grant_id AND f.id = d.folder_id;
            ELSIF TG_OP = 'DELETE' THEN
                UPDATE folders f SET message_count = f.message_count - d.total, unseen_count = f.unseen_count - d.unseen,
                    deleted_count = f.deleted_count - d.deleted, size_bytes = f.size_bytes - d.bytes
                FROM (SELECT grant_id, folder_id, count(*) AS total,
                             count(*) FILTER (WHERE NOT ('\\Seen' = ANY (flags))) AS unseen,
                             count(*) FILTER (WHERE '\\Deleted' = ANY (flags)) AS deleted, sum(size) AS bytes
                      FROM departed GROUP BY grant_id, folder_id) d
                WHERE f.grant_id = d.grant_id AND f.id = d.folder_id;
            ELSE
                UPDATE folders f SET message_count = f.message_count + d.total, unseen_count = f.unseen_count + d.unseen,
                    deleted_count = f.deleted_count + d.deleted, size_bytes = f.size_bytes + d.bytes
                FROM (SELECT grant_id, folder_id, sum(sign) AS total,
                             COALESCE(sum(sign) FILTER (WHERE NOT ('\\Seen' = ANY (flags))), 0) AS unseen,
                             COALESCE(sum(sign) FILTER (WHERE '\\Deleted' = ANY (flags)), 0) AS deleted, sum(sign * size) AS bytes
                      FROM (SELECT grant_id, folder_id, flags, size, 1 AS sign FROM arrived
                            UNION ALL
                            SELECT grant_id, folder_id, flags, size, -1 AS sign FROM departed) AS t
                      GROUP BY grant_id, folder_id) d
                WHERE f.grant_id = d.grant_id AND f.id = d.folder_id
                  AND (d.total, d.unseen, d.deleted, d.bytes) <> (0, 0, 0, 0);
            END IF;
            RETURN NULL;
        END $$
        """,
        """
        CREATE TRIGGER messages_count_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS arrived
            FOR EACH STATEMENT EXECUTE FUNCTION mail_count_folders()
        """,
        """
        CREATE TRIGGER messages_count_delete AFTER DELETE ON messages REFERENCING OLD TABLE AS departed
            FOR EACH STATEMENT EXECUTE FUNCTION mail_count_folders()
        """,
        """
        CREATE TRIGGER messages_count_update AFTER UPDATE ON messages REFERENCING OLD TABLE AS departed NEW TABLE AS arrived
            FOR EACH STATEMENT EXECUTE FUNCTION mail_count_folders()
        """,
        // The grant lock: the modseq this transaction writes with and the quota counters.
        """
        CREATE FUNCTION mail_lock_grant(p_grant uuid, p_default_quota bigint,
                                        OUT modseq bigint, OUT used_bytes bigint, OUT limit_bytes bigint)
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE grants g SET mail_modseq = g.mail_modseq + 1 WHERE g.id = p_grant
            RETURNING g.mail_modseq, g.quota_used_bytes, COALESCE(g.quota_limit_bytes, p_default_quota)
            INTO modseq, used_bytes, limit_bytes;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such grant' USING ERRCODE = 'MN003'; END IF;
        END $$
        """,
        // The webhook payload of a message: the API's message object as the row is now.
        """
        CREATE FUNCTION mail_message_payload(m messages, c message_contents) RETURNS jsonb LANGUAGE sql STABLE AS $$
            SELECT jsonb_build_object('object', 'message', 'id', m.id, 'grant_id', m.grant_id::text, 'thread_id', m.thread_id,
                'folders', jsonb_build_array(m.folder_id), 'subject', c.subject, 'from', c.from_json, 'to', c.to_json,
                'cc', c.cc_json, 'bcc', c.bcc_json, 'reply_to', c.reply_to_json, 'date', COALESCE(c.sent_date, m.internal_date),
                'snippet', c.snippet, 'unread', NOT ('\\Seen' = ANY (m.flags)), 'starred', '\\Flagged' = ANY (m.flags),
                'size', m.size, 'created_at', m.created_at, 'has_attachments', c.has_attachments,
                'attachments', COALESCE(c.extra -> 'attachments', '[]'::jsonb))
        $$
        """,
        """
        CREATE FUNCTION mail_message_events(p_grant uuid, p_ids text[], p_type text, p_now bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            -- PL/pgSQL rather than SQL: the statement's plan is kept for the connection.
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT m.grant_id, 'message', m.id, p_type, mail_message_payload(m, c), p_now, p_now
            FROM messages m JOIN message_contents c ON c.grant_id = m.grant_id AND c.digest = m.content_digest
            WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
            ORDER BY m.folder_id, m.uid;
        END $$
        """,
        // A message joins the thread of a known message it references (In-Reply-To, References, or
        // a copy with its own Message-ID), else the thread of a known message that references it (the
        // reply came first), else, when it is a reply, the latest thread with its normalized subject
        // within p_window seconds of its date; otherwise it starts a thread.
        """
        CREATE FUNCTION mail_resolve_thread(p_grant uuid, p_fact jsonb, p_internal_date bigint, p_window bigint) RETURNS text
        LANGUAGE plpgsql AS $$
        DECLARE
            v_header text := p_fact ->> 'message_id_header';
            v_in_reply_to text[] := ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'in_reply_to'));
            v_refs text[] := ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'refs'));
            v_subject text := p_fact ->> 'normalized_subject';
            v_referenced text[];
            v_thread text;
        BEGIN
            v_referenced := v_in_reply_to || v_refs || CASE WHEN v_header IS NULL THEN '{}'::text[] ELSE ARRAY[v_header] END;
            IF cardinality(v_referenced) > 0 THEN
                SELECT m.thread_id INTO v_thread FROM messages m
                WHERE m.grant_id = p_grant AND m.message_id_header = ANY (v_referenced)
                ORDER BY m.internal_date DESC, m.id LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            IF v_header IS NOT NULL THEN
                SELECT m.thread_id INTO v_thread FROM message_contents c
                JOIN messages m ON m.grant_id = c.grant_id AND m.content_digest = c.digest
                WHERE c.grant_id = p_grant AND c.refs @> ARRAY[v_header]
                LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            IF ((p_fact ->> 'reply_prefix')::boolean OR cardinality(v_in_reply_to) > 0 OR cardinality(v_refs) > 0)
               AND v_subject <> '' THEN
                SELECT m.thread_id INTO v_thread FROM messages m
                WHERE m.grant_id = p_grant AND m.normalized_subject = v_subject
                  AND m.internal_date BETWEEN p_internal_date - p_window AND p_internal_date + p_window
                ORDER BY m.internal_date DESC, m.id LIMIT 1;
                IF FOUND THEN RETURN v_thread; END IF;
            END IF;
            RETURN replace(gen_random_uuid()::text, '-', '');
        END $$
        """,
        // Bytes once per grant, named by their SHA-256; identical bytes already stored are reused.
        """
        CREATE FUNCTION mail_store_content(p_grant uuid, p_raw bytea, p_fact jsonb, p_now bigint) RETURNS bytea
        LANGUAGE plpgsql AS $$
        DECLARE
            v_digest bytea := sha256(p_raw);
        BEGIN
            INSERT INTO message_contents (grant_id, digest, raw, size, message_id_header, in_reply_to, refs, subject,
                normalized_subject, subject_reply_prefix, from_json, to_json, cc_json, bcc_json, reply_to_json, sent_date,
                snippet, has_attachments, envelope, body_structure, body, extra, created_at)
            VALUES (p_grant, v_digest, p_raw, octet_length(p_raw), p_fact ->> 'message_id_header',
                ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'in_reply_to')),
                ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'refs')),
                p_fact ->> 'subject', p_fact ->> 'normalized_subject', (p_fact ->> 'reply_prefix')::boolean,
                p_fact -> 'from', p_fact -> 'to', p_fact -> 'cc', p_fact -> 'bcc', p_fact -> 'reply_to',
                (p_fact ->> 'sent_date')::bigint, p_fact ->> 'snippet', (p_fact ->> 'has_attachments')::boolean,
                p_fact ->> 'envelope', p_fact ->> 'body_structure', p_fact ->> 'body', p_fact -> 'extra', p_now)
            ON CONFLICT (grant_id, digest) DO NOTHING;
            RETURN v_digest;
        END $$
        """,
        // A new message row with the folder's next UID (the caller holds the grant lock and checked the
        // quota); no quota counter and no event: the callers add those once for all their rows.
        """
        CREATE FUNCTION mail_insert_message(p_grant uuid, p_modseq bigint, p_now bigint, p_folder text, p_raw bytea,
                                            p_fact jsonb, p_window bigint,
                                            OUT message_id text, OUT uid bigint, OUT thread_id text)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_internal_date bigint := (p_fact ->> 'internal_date')::bigint;
            v_digest bytea;
        BEGIN
            thread_id := mail_resolve_thread(p_grant, p_fact, v_internal_date, p_window);
            v_digest := mail_store_content(p_grant, p_raw, p_fact, p_now);
            UPDATE folders f SET uid_next = f.uid_next + 1, highest_modseq = p_modseq
            WHERE f.grant_id = p_grant AND f.id = p_folder
            RETURNING f.uid_next - 1 INTO uid;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            message_id := replace(gen_random_uuid()::text, '-', '');
            INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
            VALUES (p_grant, message_id, p_folder, uid, v_digest, thread_id,
                ARRAY(SELECT jsonb_array_elements_text(p_fact -> 'flags')), p_modseq, p_modseq, v_internal_date,
                octet_length(p_raw), p_fact ->> 'message_id_header', p_fact ->> 'normalized_subject', p_now, p_now);
        END $$
        """,
        // APPEND, MULTIAPPEND and deliveries: one message per element of p_raw, its facts at the same
        // index of the JSON array p_facts. A message whose Message-ID is already in the folder is not
        // stored again (the existing one is answered, deduplicated); the grant lock makes two
        // concurrent APPENDs of one message see each other.
        """
        CREATE FUNCTION mail_append(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint, p_window bigint,
                                    p_raw bytea[], p_facts jsonb)
        RETURNS TABLE (r_message_id text, r_uid bigint, r_uid_validity bigint, r_modseq bigint, r_thread_id text,
                       r_deduplicated boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_validity bigint;
            v_fact jsonb;
            v_size bigint;
            v_used bigint;
            v_header text;
            v_existing record;
            v_new record;
            v_ids text[] := '{}';
            v_bytes bigint := 0;
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            v_used := v_lock.used_bytes;
            SELECT f.uid_validity INTO v_validity FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            FOR i IN 1 .. COALESCE(array_length(p_raw, 1), 0) LOOP
                v_fact := p_facts -> (i - 1);
                v_header := v_fact ->> 'message_id_header';
                IF v_header IS NOT NULL THEN
                    SELECT m.id, m.uid, m.modseq, m.thread_id INTO v_existing FROM messages m
                    WHERE m.grant_id = p_grant AND m.message_id_header = v_header AND m.folder_id = p_folder
                    ORDER BY m.uid LIMIT 1;
                    IF FOUND THEN
                        RETURN QUERY SELECT v_existing.id, v_existing.uid, v_validity, v_existing.modseq, v_existing.thread_id, true;
                        CONTINUE;
                    END IF;
                END IF;
                v_size := octet_length(p_raw[i]);
                IF v_used + v_size > v_lock.limit_bytes AND NOT COALESCE((v_fact ->> 'exempt_from_quota')::boolean, false) THEN
                    RAISE EXCEPTION '%', v_lock.limit_bytes USING ERRCODE = 'MN001';
                END IF;
                v_used := v_used + v_size;
                SELECT * INTO v_new FROM mail_insert_message(p_grant, v_lock.modseq, p_now, p_folder, p_raw[i], v_fact, p_window);
                v_ids := v_ids || v_new.message_id;
                v_bytes := v_bytes + v_size;
                RETURN QUERY SELECT v_new.message_id, v_new.uid, v_validity, v_lock.modseq, v_new.thread_id, false;
            END LOOP;
            IF cardinality(v_ids) > 0 THEN
                UPDATE grants g SET quota_used_bytes = g.quota_used_bytes + v_bytes,
                    quota_message_count = g.quota_message_count + cardinality(v_ids)
                WHERE g.id = p_grant;
                PERFORM mail_message_events(p_grant, v_ids, 'message.created', p_now);
            END IF;
        END $$
        """,
        // Deletes messages for good: message.deleted events, tombstones (unless the folder goes too),
        // quota released, bytes freed when no other message of the grant uses them.
        """
        CREATE FUNCTION mail_delete_for_good(p_grant uuid, p_modseq bigint, p_now bigint, p_ids text[], p_tombstones boolean)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            v_bytes bigint;
            v_count bigint;
            v_digests bytea[];
        BEGIN
            IF cardinality(p_ids) = 0 THEN RETURN; END IF;
            INSERT INTO event_outbox (grant_id, object_type, object_id, type, payload, created_at, next_attempt_at)
            SELECT p_grant, 'message', t.id, 'message.deleted',
                jsonb_build_object('object', 'message', 'id', t.id, 'grant_id', p_grant::text), p_now, p_now
            FROM unnest(p_ids) WITH ORDINALITY AS t(id, n) ORDER BY t.n;
            IF p_tombstones THEN
                WITH gone AS (
                    INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
                    SELECT m.grant_id, m.folder_id, m.uid, p_modseq, m.id FROM messages m
                    WHERE m.grant_id = p_grant AND m.id = ANY (p_ids)
                    RETURNING folder_id)
                UPDATE folders f SET highest_modseq = p_modseq
                WHERE f.grant_id = p_grant AND f.id IN (SELECT folder_id FROM gone);
            END IF;
            WITH deleted AS (
                DELETE FROM messages m WHERE m.grant_id = p_grant AND m.id = ANY (p_ids) RETURNING m.size, m.content_digest)
            SELECT COALESCE(sum(size), 0), count(*), array_agg(DISTINCT content_digest) INTO v_bytes, v_count, v_digests
            FROM deleted;
            UPDATE grants g SET quota_used_bytes = g.quota_used_bytes - v_bytes, quota_message_count = g.quota_message_count - v_count
            WHERE g.id = p_grant;
            DELETE FROM message_contents c
            WHERE c.grant_id = p_grant AND c.digest = ANY (v_digests)
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.grant_id = c.grant_id AND m.content_digest = c.digest);
        END $$
        """,
        // Moves rows (in the order of p_ids) to p_destination, keeping their ids: new UIDs there,
        // tombstones in the source. Returns the first new UID.
        """
        CREATE FUNCTION mail_move_rows(p_grant uuid, p_modseq bigint, p_now bigint, p_source text, p_destination text,
                                       p_ids text[], p_uids bigint[], p_clear_deleted boolean) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            v_base bigint;
        BEGIN
            UPDATE folders f SET uid_next = f.uid_next + cardinality(p_ids), highest_modseq = p_modseq
            WHERE f.grant_id = p_grant AND f.id = p_destination
            RETURNING f.uid_next - cardinality(p_ids) INTO v_base;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            UPDATE folders f SET highest_modseq = p_modseq WHERE f.grant_id = p_grant AND f.id = p_source;
            INSERT INTO expunged_messages (grant_id, folder_id, uid, modseq, message_id)
            SELECT p_grant, p_source, t.uid, p_modseq, t.id FROM unnest(p_uids, p_ids) AS t(uid, id);
            UPDATE messages AS m SET folder_id = p_destination, uid = v_base + t.n - 1, modseq = p_modseq,
                arrived_modseq = p_modseq, updated_at = p_now,
                flags = CASE WHEN p_clear_deleted THEN array_remove(m.flags, '\\Deleted') ELSE m.flags END
            FROM unnest(p_ids) WITH ORDINALITY AS t(id, n)
            WHERE m.grant_id = p_grant AND m.id = t.id;
            RETURN v_base;
        END $$
        """,
        // STORE: new flags = (replacement or old) + added - removed, sorted by bytes; rows whose flags
        // stay the same are not touched and keep their modseq. With p_unchanged_since, a message whose
        // modseq is above it is left alone and reported (RFC 7162 3.1.3). Rows: 'changed' or 'failed'.
        """
        CREATE FUNCTION mail_store_flags(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint,
                                         p_lows bigint[], p_highs bigint[], p_replace boolean, p_replacement text[],
                                         p_added text[], p_removed text[], p_unchanged_since bigint)
        RETURNS TABLE (r_kind text, r_uid bigint, r_id text, r_flags text[], r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_low bigint := p_lows[1];
            v_high bigint := p_highs[cardinality(p_highs)];
            v_ids text[];
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            IF p_unchanged_since IS NOT NULL THEN
                RETURN QUERY
                SELECT 'failed', m.uid, m.id, m.flags, m.modseq FROM messages m
                WHERE m.grant_id = p_grant AND m.folder_id = p_folder AND m.uid BETWEEN v_low AND v_high
                  AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)
                  AND m.modseq > p_unchanged_since
                ORDER BY m.uid;
            END IF;
            WITH updated AS (
                UPDATE messages AS m SET flags = n.new_flags, modseq = v_lock.modseq, updated_at = p_now
                FROM (
                    SELECT s.id, ARRAY(
                        SELECT DISTINCT f COLLATE "C"
                        FROM unnest(CASE WHEN p_replace THEN p_replacement ELSE s.flags END || p_added) AS t(f)
                        WHERE f <> ALL (p_removed)
                        ORDER BY 1) AS new_flags
                    FROM messages s
                    WHERE s.grant_id = p_grant AND s.folder_id = p_folder AND s.uid BETWEEN v_low AND v_high
                      AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE s.uid BETWEEN r.lo AND r.hi)
                      AND (p_unchanged_since IS NULL OR s.modseq <= p_unchanged_since)
                ) AS n
                WHERE m.grant_id = p_grant AND m.id = n.id AND n.new_flags IS DISTINCT FROM m.flags
                RETURNING m.uid, m.id, m.flags, m.modseq)
            SELECT array_agg(u.id ORDER BY u.uid) INTO v_ids FROM updated u;
            IF v_ids IS NULL THEN RETURN; END IF;
            UPDATE folders f SET highest_modseq = v_lock.modseq WHERE f.grant_id = p_grant AND f.id = p_folder;
            PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            RETURN QUERY
            SELECT 'changed', m.uid, m.id, m.flags, m.modseq FROM messages m
            WHERE m.grant_id = p_grant AND m.id = ANY (v_ids) ORDER BY m.uid;
        END $$
        """,
        // EXPUNGE of the \\Deleted messages (of the UID ranges when given): outside Trash they move to
        // Trash with \\Deleted cleared; in Trash they are deleted for good. Rows: the expunged UIDs in
        // order, each with its UID in Trash when moved (r_uid_validity is Trash's).
        """
        CREATE FUNCTION mail_expunge(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint,
                                     p_lows bigint[], p_highs bigint[])
        RETURNS TABLE (r_uid bigint, r_trash_uid bigint, r_uid_validity bigint, r_trash_id text, r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_role text;
            v_trash record;
            v_ids text[];
            v_uids bigint[];
            v_base bigint;
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            SELECT f.system_role INTO v_role FROM folders f WHERE f.grant_id = p_grant AND f.id = p_folder;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            SELECT array_agg(m.id ORDER BY m.uid), array_agg(m.uid ORDER BY m.uid) INTO v_ids, v_uids
            FROM messages m
            WHERE m.grant_id = p_grant AND m.folder_id = p_folder AND '\\Deleted' = ANY (m.flags)
              AND (p_lows IS NULL OR EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi));
            IF v_ids IS NULL THEN RETURN; END IF;
            IF v_role = 'trash' THEN
                PERFORM mail_delete_for_good(p_grant, v_lock.modseq, p_now, v_ids, true);
                RETURN QUERY SELECT u, NULL::bigint, NULL::bigint, NULL::text, v_lock.modseq FROM unnest(v_uids) AS u;
                RETURN;
            END IF;
            SELECT f.id, f.uid_validity INTO v_trash FROM folders f WHERE f.grant_id = p_grant AND f.system_role = 'trash';
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            v_base := mail_move_rows(p_grant, v_lock.modseq, p_now, p_folder, v_trash.id, v_ids, v_uids, true);
            PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            RETURN QUERY SELECT t.uid, v_base + t.n - 1, v_trash.uid_validity, v_trash.id, v_lock.modseq
                         FROM unnest(v_uids) WITH ORDINALITY AS t(uid, n);
        END $$
        """,
        // COPY and MOVE of the messages of the UID ranges, in UID order. COPY: new ids and UIDs, shared
        // bytes, same flags and thread (RFC 9051 6.4.7), checked against the quota. MOVE: same ids, new
        // UIDs, tombstones in the source. Rows: source UID, destination UID, destination UIDVALIDITY.
        """
        CREATE FUNCTION mail_copy(p_grant uuid, p_source text, p_destination text, p_now bigint, p_default_quota bigint,
                                  p_lows bigint[], p_highs bigint[], p_move boolean)
        RETURNS TABLE (r_source_uid bigint, r_destination_uid bigint, r_uid_validity bigint, r_modseq bigint)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_validity bigint;
            v_ids text[];
            v_uids bigint[];
            v_bytes bigint;
            v_base bigint;
            v_new_ids text[];
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            PERFORM 1 FROM folders f WHERE f.grant_id = p_grant AND f.id = p_source;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            SELECT f.uid_validity INTO v_validity FROM folders f WHERE f.grant_id = p_grant AND f.id = p_destination;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            SELECT array_agg(m.id ORDER BY m.uid), array_agg(m.uid ORDER BY m.uid), sum(m.size) INTO v_ids, v_uids, v_bytes
            FROM messages m
            WHERE m.grant_id = p_grant AND m.folder_id = p_source AND m.uid BETWEEN p_lows[1] AND p_highs[cardinality(p_highs)]
              AND EXISTS (SELECT 1 FROM unnest(p_lows, p_highs) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi);
            IF v_ids IS NULL THEN
                RETURN QUERY SELECT NULL::bigint, NULL::bigint, v_validity, v_lock.modseq;
                RETURN;
            END IF;
            IF p_move THEN
                v_base := mail_move_rows(p_grant, v_lock.modseq, p_now, p_source, p_destination, v_ids, v_uids, false);
                PERFORM mail_message_events(p_grant, v_ids, 'message.updated', p_now);
            ELSE
                IF v_lock.used_bytes + v_bytes > v_lock.limit_bytes THEN
                    RAISE EXCEPTION '%', v_lock.limit_bytes USING ERRCODE = 'MN001';
                END IF;
                UPDATE folders f SET uid_next = f.uid_next + cardinality(v_ids), highest_modseq = v_lock.modseq
                WHERE f.grant_id = p_grant AND f.id = p_destination
                RETURNING f.uid_next - cardinality(v_ids) INTO v_base;
                WITH inserted AS (
                    INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                        internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
                    SELECT m.grant_id, replace(gen_random_uuid()::text, '-', ''), p_destination, v_base + t.n - 1,
                        m.content_digest, m.thread_id, m.flags, v_lock.modseq, v_lock.modseq, m.internal_date, m.size,
                        m.message_id_header, m.normalized_subject, p_now, p_now
                    FROM unnest(v_ids) WITH ORDINALITY AS t(id, n)
                    JOIN messages m ON m.grant_id = p_grant AND m.id = t.id
                    RETURNING id)
                SELECT array_agg(id) INTO v_new_ids FROM inserted;
                UPDATE grants g SET quota_used_bytes = g.quota_used_bytes + v_bytes,
                    quota_message_count = g.quota_message_count + cardinality(v_ids)
                WHERE g.id = p_grant;
                PERFORM mail_message_events(p_grant, v_new_ids, 'message.created', p_now);
            END IF;
            RETURN QUERY SELECT t.uid, v_base + t.n - 1, v_validity, v_lock.modseq FROM unnest(v_uids) WITH ORDINALITY AS t(uid, n);
        END $$
        """,
        // A submission: the Sent copy (\\Seen), the bytes to transmit and one outbound job per
        // recipient domain, in one transaction; with p_draft that draft leaves Drafts in the same one.
        """
        CREATE FUNCTION mail_submit(p_grant uuid, p_now bigint, p_default_quota bigint, p_window bigint, p_sent_copy bytea,
                                    p_fact jsonb, p_transmit bytea, p_mail_from text, p_domains text[], p_recipients text[],
                                    p_draft text)
        RETURNS TABLE (r_message_id text, r_uid bigint, r_uid_validity bigint, r_modseq bigint, r_thread_id text,
                       r_draft_deleted boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_lock record;
            v_freed bigint := 0;
            v_size bigint := octet_length(p_sent_copy);
            v_validity bigint;
            v_new record;
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            IF p_draft IS NOT NULL THEN
                SELECT m.size INTO v_freed FROM messages m WHERE m.grant_id = p_grant AND m.id = p_draft AND m.folder_id = 'drafts';
                IF NOT FOUND THEN RAISE EXCEPTION 'no such message' USING ERRCODE = 'MN004'; END IF;
                PERFORM mail_delete_for_good(p_grant, v_lock.modseq, p_now, ARRAY[p_draft], true);
            END IF;
            IF v_lock.used_bytes - v_freed + v_size > v_lock.limit_bytes THEN
                RAISE EXCEPTION '%', v_lock.limit_bytes USING ERRCODE = 'MN001';
            END IF;
            SELECT f.uid_validity INTO v_validity FROM folders f WHERE f.grant_id = p_grant AND f.id = 'sent';
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;
            SELECT * INTO v_new FROM mail_insert_message(p_grant, v_lock.modseq, p_now, 'sent', p_sent_copy, p_fact, p_window);
            UPDATE grants g SET quota_used_bytes = g.quota_used_bytes + v_size, quota_message_count = g.quota_message_count + 1
            WHERE g.id = p_grant;
            PERFORM mail_message_events(p_grant, ARRAY[v_new.message_id], 'message.created', p_now);
            WITH queued AS (
                INSERT INTO outbound_messages (grant_id, sent_message_id, mail_from, raw, created_at)
                VALUES (p_grant, v_new.message_id, p_mail_from, p_transmit, p_now)
                RETURNING id)
            INSERT INTO outbound_jobs (outbound_message_id, grant_id, domain, recipients, next_attempt_at, created_at, updated_at)
            SELECT queued.id, p_grant, t.domain, string_to_array(t.recipients, E'\\n'), p_now * 1000, p_now, p_now
            FROM queued, unnest(p_domains, p_recipients) AS t(domain, recipients);
            RETURN QUERY SELECT v_new.message_id, v_new.uid, v_validity, v_lock.modseq, v_new.thread_id, p_draft IS NOT NULL;
        END $$
        """,
    ]
}

/// Migration version 12: a MULTIAPPEND (or any batch of messages into one folder) pays the fixed
/// costs of a write once per batch instead of once per message.
///
/// Measured on a MULTIAPPEND of 10 KB messages, Postgres spent most of its time on per-statement
/// work: starting an executor for each of the six statements a message took, running the folder
/// counter trigger after each row's insert, and parsing and planning the SQL function of the
/// thread-lookup index (`mail_scoped_refs`) for every message, since a SQL function whose body
/// holds a subquery is neither inlined nor kept planned when an index expression calls it.
///
/// - `mail_scoped_refs` becomes PL/pgSQL with the same results (so the index stays valid): its
///   loop runs as simple expressions, without a plan per call.
/// - The folder counter trigger stands aside while its caller counts for itself: `mail_append`
///   sets `mail.folder_counts_by_caller` for the span of its inserts (transaction-local, and back
///   off before it returns), counts as it inserts, then updates the counters, UIDNEXT and the
///   highest modseq in one statement.
/// - `mail_append` works in two passes. The first decides, in order, which messages are stored
///   (a Message-ID already in the folder or earlier in the batch is answered with the existing
///   message, as before) and checks the quota; then one statement stores every new body, and
///   each message's row follows in order, so that a message's thread still sees the messages of
///   the batch before it.
enum BatchAppendSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_scoped_refs(p_grant uuid, p_refs text[]) RETURNS text[]
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
        DECLARE
            v_ref text;
            v_scoped text[] := '{}';
        BEGIN
            FOREACH v_ref IN ARRAY p_refs LOOP
                v_scoped := v_scoped || (p_grant::text || ' ' || v_ref);
            END LOOP;
            RETURN v_scoped;
        END $$
        """,
        """
        CREATE OR REPLACE FUNCTION mail_count_folders() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('mail.folder_counts_by_caller', true) = 'on' THEN RETURN NULL; END IF;
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
        CREATE OR REPLACE FUNCTION mail_append(p_grant uuid, p_folder text, p_now bigint, p_default_quota bigint, p_window bigint,
                                               p_raw bytea[], p_facts jsonb)
        RETURNS TABLE (r_message_id text, r_uid bigint, r_uid_validity bigint, r_modseq bigint, r_thread_id text,
                       r_deduplicated boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_count integer := COALESCE(array_length(p_raw, 1), 0);
            v_lock record;
            v_validity bigint;
            v_uid bigint;
            v_used bigint;
            v_fact jsonb;
            v_header text;
            v_size bigint;
            v_existing record;
            v_earlier integer;
            v_internal_date bigint;
            v_digest bytea;
            -- Per message of the batch, in order: its answer, and whether it is stored.
            v_ids text[] := array_fill(NULL::text, ARRAY[v_count]);
            v_uids bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
            v_modseqs bigint[] := array_fill(NULL::bigint, ARRAY[v_count]);
            v_threads text[] := array_fill(NULL::text, ARRAY[v_count]);
            v_stored boolean[] := array_fill(false, ARRAY[v_count]);
            -- A repeat of a message earlier in the batch: that message's position.
            v_repeats integer[] := array_fill(0, ARRAY[v_count]);
            v_stored_headers text[] := '{}';
            v_stored_positions integer[] := '{}';
            v_new_ids text[] := '{}';
            v_bytes bigint := 0;
            v_unseen integer := 0;
            v_deleted integer := 0;
        BEGIN
            SELECT * INTO v_lock FROM mail_lock_grant(p_grant, p_default_quota);
            v_used := v_lock.used_bytes;
            SELECT f.uid_validity, f.uid_next INTO v_validity, v_uid FROM folders f
            WHERE f.grant_id = p_grant AND f.id = p_folder FOR UPDATE;
            IF NOT FOUND THEN RAISE EXCEPTION 'no such folder' USING ERRCODE = 'MN002'; END IF;

            FOR i IN 1 .. v_count LOOP
                v_fact := p_facts -> (i - 1);
                v_header := v_fact ->> 'message_id_header';
                IF v_header IS NOT NULL THEN
                    v_earlier := array_position(v_stored_headers, v_header);
                    IF v_earlier IS NOT NULL THEN
                        v_repeats[i] := v_stored_positions[v_earlier];
                        CONTINUE;
                    END IF;
                    SELECT m.id, m.uid, m.modseq, m.thread_id INTO v_existing FROM messages m
                    WHERE m.grant_id = p_grant AND m.message_id_header = v_header AND m.folder_id = p_folder
                    ORDER BY m.uid LIMIT 1;
                    IF FOUND THEN
                        v_ids[i] := v_existing.id;
                        v_uids[i] := v_existing.uid;
                        v_modseqs[i] := v_existing.modseq;
                        v_threads[i] := v_existing.thread_id;
                        CONTINUE;
                    END IF;
                    v_stored_headers := v_stored_headers || v_header;
                    v_stored_positions := v_stored_positions || i;
                END IF;
                v_size := octet_length(p_raw[i]);
                IF v_used + v_size > v_lock.limit_bytes AND NOT COALESCE((v_fact ->> 'exempt_from_quota')::boolean, false) THEN
                    RAISE EXCEPTION '%', v_lock.limit_bytes USING ERRCODE = 'MN001';
                END IF;
                v_used := v_used + v_size;
                v_bytes := v_bytes + v_size;
                v_stored[i] := true;
            END LOOP;

            INSERT INTO message_contents (grant_id, digest, raw, size, message_id_header, in_reply_to, refs, subject,
                normalized_subject, subject_reply_prefix, from_json, to_json, cc_json, bcc_json, reply_to_json, sent_date,
                snippet, has_attachments, envelope, body_structure, body, extra, created_at)
            SELECT p_grant, sha256(b.raw), b.raw, octet_length(b.raw), b.fact ->> 'message_id_header',
                ARRAY(SELECT jsonb_array_elements_text(b.fact -> 'in_reply_to')),
                ARRAY(SELECT jsonb_array_elements_text(b.fact -> 'refs')),
                b.fact ->> 'subject', b.fact ->> 'normalized_subject', (b.fact ->> 'reply_prefix')::boolean,
                b.fact -> 'from', b.fact -> 'to', b.fact -> 'cc', b.fact -> 'bcc', b.fact -> 'reply_to',
                (b.fact ->> 'sent_date')::bigint, b.fact ->> 'snippet', (b.fact ->> 'has_attachments')::boolean,
                b.fact ->> 'envelope', b.fact ->> 'body_structure', b.fact ->> 'body', b.fact -> 'extra', p_now
            FROM (SELECT p_raw[n] AS raw, p_facts -> (n - 1) AS fact FROM generate_series(1, v_count) AS n WHERE v_stored[n]) AS b
            ON CONFLICT (grant_id, digest) DO NOTHING;

            PERFORM set_config('mail.folder_counts_by_caller', 'on', true);
            FOR i IN 1 .. v_count LOOP
                CONTINUE WHEN NOT v_stored[i];
                v_fact := p_facts -> (i - 1);
                v_internal_date := (v_fact ->> 'internal_date')::bigint;
                v_ids[i] := replace(gen_random_uuid()::text, '-', '');
                v_uids[i] := v_uid;
                v_modseqs[i] := v_lock.modseq;
                v_threads[i] := mail_resolve_thread(p_grant, v_fact, v_internal_date, p_window);
                v_uid := v_uid + 1;
                v_digest := sha256(p_raw[i]);
                INSERT INTO messages (grant_id, id, folder_id, uid, content_digest, thread_id, flags, modseq, arrived_modseq,
                    internal_date, size, message_id_header, normalized_subject, created_at, updated_at)
                VALUES (p_grant, v_ids[i], p_folder, v_uids[i], v_digest, v_threads[i],
                    ARRAY(SELECT jsonb_array_elements_text(v_fact -> 'flags')), v_lock.modseq, v_lock.modseq, v_internal_date,
                    octet_length(p_raw[i]), v_fact ->> 'message_id_header', v_fact ->> 'normalized_subject', p_now, p_now);
                v_new_ids := v_new_ids || v_ids[i];
                IF NOT (v_fact -> 'flags') ? '\\Seen' THEN v_unseen := v_unseen + 1; END IF;
                IF (v_fact -> 'flags') ? '\\Deleted' THEN v_deleted := v_deleted + 1; END IF;
            END LOOP;
            PERFORM set_config('mail.folder_counts_by_caller', 'off', true);

            IF cardinality(v_new_ids) > 0 THEN
                UPDATE folders f SET uid_next = v_uid, highest_modseq = v_lock.modseq,
                    message_count = f.message_count + cardinality(v_new_ids), unseen_count = f.unseen_count + v_unseen,
                    deleted_count = f.deleted_count + v_deleted, size_bytes = f.size_bytes + v_bytes
                WHERE f.grant_id = p_grant AND f.id = p_folder;
                UPDATE grants g SET quota_used_bytes = g.quota_used_bytes + v_bytes,
                    quota_message_count = g.quota_message_count + cardinality(v_new_ids)
                WHERE g.id = p_grant;
                PERFORM mail_message_events(p_grant, v_new_ids, 'message.created', p_now);
            END IF;

            RETURN QUERY
            SELECT v_ids[s], v_uids[s], v_validity, v_modseqs[s], v_threads[s], v_repeats[n] > 0 OR NOT v_stored[n]
            FROM generate_series(1, v_count) AS n
            CROSS JOIN LATERAL (SELECT CASE WHEN v_repeats[n] > 0 THEN v_repeats[n] ELSE n END AS s) AS answer
            ORDER BY n;
        END $$
        """,
    ]
}

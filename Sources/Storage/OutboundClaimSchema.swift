/// Migration version 32: a worker claims its next outbound job in one call whose planning is small.
///
/// The claim was one statement, an UPDATE joining the due job (a CTE), its row and its message,
/// planned on every call: a plan kept for any time, made while the queue was short, can read the
/// whole due-jobs index (the region's backlog) at every claim once the queue is long. Planning that
/// three-way statement was a fifth of Postgres's work while a backlog drained. Now only the
/// search for the due job is planned at each call, for the actual time (`EXECUTE`); the job's row
/// and its message are then reached by key under plans kept for the session.
///
/// The last column says whether the job still carried a lease token: its worker's lease ran out
/// (its node died, or lost Postgres for longer than the lease) and this claim takes it over.
enum OutboundClaimSchema {
    static let statements: [String] = [
        """
        CREATE OR REPLACE FUNCTION mail_outbound_claim(p_token text, p_now bigint, p_lease_end bigint)
        RETURNS TABLE(r_id bigint, r_grant text, r_sent_message text, r_mail_from text, r_domain text, r_recipients text[],
                      r_attempts integer, r_created_at bigint, r_raw bytea, r_reclaimed boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_id bigint;
            v_reclaimed boolean;
        BEGIN
            EXECUTE 'SELECT id, lease_token IS NOT NULL FROM outbound_jobs WHERE state = ''queued'' AND next_attempt_at <= $1 '
                    'ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED'
            INTO v_id, v_reclaimed USING p_now;
            IF v_id IS NULL THEN RETURN; END IF;
            RETURN QUERY
            UPDATE outbound_jobs j SET lease_token = p_token, next_attempt_at = p_lease_end, updated_at = p_now / 1000
            FROM outbound_messages m
            WHERE j.id = v_id AND m.id = j.outbound_message_id
            RETURNING j.id, j.grant_id::text, m.sent_message_id, m.mail_from, j.domain, j.recipients, j.attempts, m.created_at, m.raw,
                v_reclaimed;
        END $$
        """,
    ]
}

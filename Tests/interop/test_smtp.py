"""SMTP interoperability: Python's smtplib against every SMTP surface of the nodes, with raw commands
where smtplib has none (BDAT, pipelining, broken clients).

Ports (nodes.json): `smtps` is submission with implicit TLS (465-style), `submission` submission
with STARTTLS (587-style), `smtp` the inbound MX (25-style: STARTTLS offered, no AUTH). TLS is
verified against the cluster's self-signed certificates, as in test_imap.py (helpers.smtp_connect).

Submission delivers to grants of the cluster (either region) directly and relays everything else
through the region file's smart host (smtp.smart_host), which the session-wide `smart_host` fixture
serves with aiosmtpd (smtp_smarthost.py). Tests send outside the cluster only to a domain of their
own (external_domain()) and make the smart host refuse that domain (451 / 550) or stop it. The test
cluster retries after 1 s, doubling, for 20 s (smtp.retry_initial_delay_ms, retry_window_seconds).

Every test makes its own grants, after its webhook. Failed logins count towards the per-address
throttle IMAP uses too, so tests that fail AUTH on purpose do it from a loopback address of their
own (helpers.fresh_source) and at most twice.
"""
import base64
import email
import email.parser
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
from email.utils import formatdate

import pytest

from helpers import (FIXED_DATE, fresh_source, imap_folder, list_messages, message, smtp_connect, tls_context, unique_email,
                     wait_for)

SIZE_LIMIT = 26214400          # limits.message_size_bytes; EHLO SIZE
DELIVERY_TIMEOUT = 20.0        # submitted -> in the recipients' mailboxes / at the smart host
RETRY_WINDOW = 20.0            # smtp.retry_window_seconds of the test cluster
DSN_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 30.0
SUBMISSION_EXTENSIONS = ("pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "chunking")
# What may be advertised on 587 before STARTTLS.
PRE_TLS_EXTENSIONS = {"starttls", "pipelining", "enhancedstatuscodes", "size"}
# The third part of a DSN: the original message or its headers (RFC 3462/6522, RFC 6533).
ORIGINAL_PARTS = {"text/rfc822-headers", "message/rfc822", "message/rfc822-headers", "message/global",
                  "message/global-headers"}
BODY = "hello over SMTP\r\nsecond line\r\n"


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def relay(smart_host):
    """The session's smart host for one test: refusals it adds are dropped afterwards, and it is
    started again if the test stopped it."""
    before = list(smart_host.rules)
    yield smart_host
    smart_host.rules = [r for r in smart_host.rules if r in before]
    if not smart_host.running:
        smart_host.start()


@pytest.fixture
def smtp_open(cluster):
    """smtp_open(node, kind="smtp", starttls=True, source=None) -> smtplib connection (helpers.smtp_connect)
    without a grant; closed after the test."""
    opened = []

    def open_(node, kind="smtp", **kwargs):
        conn = smtp_connect(cluster, node, kind, **kwargs)
        opened.append(conn)
        return conn

    yield open_
    for conn in opened:
        try:
            conn.close()
        except Exception:
            pass


# --- helpers -------------------------------------------------------------------------------------

def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def external_domain():
    """A domain no grant lives in and no other test uses: its mail goes to the smart host."""
    return f"ext-{uuid.uuid4().hex[:12]}.example.net"


def compose(sender, to, subject, body=BODY, cc=(), bcc=(), msgid=..., date=..., from_header=None):
    """A small text/plain message (CRLF). msgid/date: ... for a fresh one, None to leave the header out."""
    lines = [f"From: Interop Sender <{from_header or sender}>"]
    if to:
        lines.append("To: " + ", ".join(to))
    if cc:
        lines.append("Cc: " + ", ".join(cc))
    if bcc:
        lines.append("Bcc: " + ", ".join(bcc))
    lines.append(f"Subject: {subject}")
    if date is ...:
        date = formatdate(usegmt=True)
    if date:
        lines.append(f"Date: {date}")
    if msgid is ...:
        msgid = f"<{uuid.uuid4().hex}@interop.test>"
    if msgid:
        lines.append(f"Message-ID: {msgid}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sized_body(total):
    """Text of exactly `total` bytes in CRLF lines of 78 bytes (no line starts with a dot)."""
    line = "x" * 76 + "\r\n"
    full = (total - 2) // len(line) - 1
    rest = total - full * len(line)
    text = line * full + "y" * (rest - 2) + "\r\n"
    assert len(text) == total
    return text


def expect(reply, code, enhanced=None, contains=None, what=""):
    """Check an (code, text) reply of smtplib; returns the text."""
    got, text = reply
    text = text if isinstance(text, bytes) else str(text).encode()
    label = f"{what}: " if what else ""
    assert got == code, f"{label}answered {got} {text!r}, expected {code} {enhanced or ''}"
    if enhanced:
        assert text.startswith(enhanced.encode()), f"{label}{got} {text!r}: enhanced status {enhanced} expected"
    if contains:
        assert contains.encode() in text, f"{label}{got} {text!r} does not mention {contains!r}"
    return text


def send_line(conn, line):
    """A raw command line through smtplib's socket; -> (code, text) of the reply."""
    conn.send(line + b"\r\n")
    return conn.getreply()


def bdat(conn, chunk, last=False):
    """BDAT (RFC 3030) through smtplib's socket: the command, then exactly len(chunk) bytes."""
    conn.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
    return conn.getreply()


def transaction(conn, mail_from, rcpts, data):
    """MAIL FROM, RCPT TO each (all 250 expected), DATA; -> the (code, text) of the end of data."""
    expect(conn.mail(mail_from), 250, what=f"MAIL FROM:<{mail_from}>")
    for rcpt in rcpts:
        expect(conn.rcpt(rcpt), 250, what=f"RCPT TO:<{rcpt}>")
    return conn.data(data)


def abort(conn):
    """Drop the connection without QUIT (nor TLS close_notify)."""
    try:
        socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
    except (OSError, AttributeError, TypeError):
        pass
    conn.close()


def head(raw):
    end = raw.find(b"\r\n\r\n")
    return raw[:end + 2] if end >= 0 else raw


def body_of(raw):
    end = raw.find(b"\r\n\r\n")
    return raw[end + 4:] if end >= 0 else b""


def has_header(raw, name):
    return re.search(rb"(?im)^" + re.escape(name.encode()) + rb"[ \t]*:", head(raw)) is not None


def header(raw, name):
    value = email.parser.BytesHeaderParser().parsebytes(head(raw) + b"\r\n").get(name)
    return None if value is None else str(value).strip()


def find_mail(acct, node, folder, subject, timeout=DELIVERY_TIMEOUT, count=1):
    """[(uid, flags, raw)] of the messages of `folder` with this Subject, once `count` are there."""
    conn = acct.imaplib(node)

    def look():
        hits = [(uid, flags, raw) for uid, (flags, raw) in sorted(imap_folder(conn, folder).items())
                if header(raw, "Subject") == subject]
        return hits if len(hits) >= count else None

    hits = wait_for(look, timeout=timeout, interval=0.5)
    assert hits, f"{acct.email}: {count} message(s) {subject!r} not in {folder} (IMAP via {node.id}) within {timeout} s"
    return hits


def subjects_in(acct, node, folder):
    return sorted(header(raw, "Subject") or "" for _, raw in imap_folder(acct.imaplib(node), folder).values())


def sent_message(node, grant, subject):
    """The API's view of the Sent copy (its id is what send_success/send_failed name)."""
    def look():
        found = [m for m in list_messages(node, grant, limit=200)
                 if m.get("subject") == subject and "sent" in (m.get("folders") or [])]
        return found[0] if len(found) == 1 else None
    found = wait_for(look, timeout=10, interval=0.3)
    assert found, f"no single Sent message {subject!r} in the API of grant {grant['id']}"
    return found


def is_dsn(raw):
    return b"multipart/report" in head(raw).lower()


def wait_for_dsn(acct, node, marker, timeout=DSN_TIMEOUT):
    """(raw, seconds waited) of the first DSN in the INBOX mentioning `marker` (the original Message-ID)."""
    conn = acct.imaplib(node)
    started = time.monotonic()

    def look():
        return next((raw for _, raw in imap_folder(conn, "INBOX").values()
                     if is_dsn(raw) and marker.encode() in raw), None)

    raw = wait_for(look, timeout=timeout, interval=1.0)
    waited = time.monotonic() - started
    assert raw, (f"{acct.email}: no delivery status notification mentioning {marker} in INBOX within {timeout} s; "
                 f"INBOX has {subjects_in(acct, node, 'INBOX')}")
    return raw, waited


def _part_bytes(part):
    if part.is_multipart():
        return part.as_bytes()
    payload = part.get_payload(decode=True)
    return payload if payload is not None else part.as_bytes()


def check_dsn(raw, recipient, status_class, original_marker):
    """RFC 3464: multipart/report; report-type=delivery-status, a message/delivery-status part whose
    block for `recipient` says Action: failed and Status: <status_class>.x.x, and a part with the
    original message's headers (which must mention `original_marker`). -> the recipient's fields."""
    report = email.message_from_bytes(raw)
    assert report.get_content_type() == "multipart/report", f"DSN is {report.get_content_type()}:\n{head(raw)!r}"
    assert (report.get_param("report-type") or "").lower() == "delivery-status", report.get("Content-Type")
    statuses = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    assert len(statuses) == 1, [p.get_content_type() for p in report.walk()]
    blocks = statuses[0].get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, (
        f"message/delivery-status: per-message fields, then a block per recipient expected: {statuses[0].as_string()!r}")
    recipients = [{k.lower(): str(v).strip() for k, v in block.items()} for block in blocks[1:]]
    mine = [f for f in recipients if recipient.lower() in f.get("final-recipient", "").lower()]
    assert mine, f"no per-recipient block with Final-Recipient {recipient}: {recipients}"
    fields = mine[0]
    assert fields.get("action", "").lower().startswith("failed"), fields
    assert re.match(rf"{status_class}\.\d{{1,3}}\.\d{{1,3}}\b", fields.get("status", "")), (
        f"Status {status_class}.x.x expected: {fields}")
    originals = [p for p in report.walk() if p.get_content_type() in ORIGINAL_PARTS]
    assert originals, f"no part with the original headers: {[p.get_content_type() for p in report.walk()]}"
    assert any(original_marker.encode() in _part_bytes(p) for p in originals), (
        f"the original headers part does not mention {original_marker}")
    return fields


def plain_token(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


# --- submission: delivery ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["smtps", "submission"])
def test_submission_reaches_sent_and_grants_of_both_regions(kind, webhook, account, us1, us2, eu1, eu2):
    """465 (implicit TLS) and 587 (STARTTLS): 250 2.0.0 after commit; the Sent copy is \\Seen; the
    To recipient (a grant homed in eu) and the Bcc recipient (a grant in us) get it in INBOX with a
    Received: header and without the Bcc header; message.created fires for the recipient. On 465 the
    client's Message-ID and Date are kept; on 587 they are left out and the node adds them."""
    sender, rcpt, hidden = account(us1), account(eu1), account(us1)
    subject = unique(f"submit-{kind}")
    msgid = f"<{uuid.uuid4().hex}@interop.test>" if kind == "smtps" else None
    data = compose(sender.email, [rcpt.email], subject, bcc=[hidden.email], msgid=msgid,
                   date=FIXED_DATE if msgid else None)
    conn = sender.smtp(us1, kind)
    assert isinstance(conn.sock, ssl.SSLSocket)
    expect(transaction(conn, sender.email, [rcpt.email, hidden.email], data), 250, "2.0.0", what="end of DATA")
    conn.quit()

    (_, flags, sent), = find_mail(sender, us2, "Sent", subject)
    assert "\\Seen" in flags, flags
    sent_id, sent_date = header(sent, "Message-ID"), header(sent, "Date")
    assert sent_id and re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", sent_id), f"Message-ID {sent_id!r}"
    assert sent_date and email.utils.parsedate_to_datetime(sent_date), f"Date {sent_date!r}"
    if msgid:
        assert (sent_id, sent_date) == (msgid, FIXED_DATE)
    for acct, node in ((rcpt, eu2), (hidden, us2)):
        (_, _, got), = find_mail(acct, node, "INBOX", subject)
        assert not has_header(got, "Bcc"), f"{acct.email}'s copy has a Bcc header:\n{head(got).decode()}"
        assert has_header(got, "Received"), f"{acct.email}'s copy has no Received header:\n{head(got).decode()}"
        assert (header(got, "Message-ID"), header(got, "Date")) == (sent_id, sent_date), head(got)
        assert body_of(got) == BODY.encode(), body_of(got)
    webhook.wait(rcpt.grant["id"], "message.created", lambda o: o.get("subject") == subject, timeout=WEBHOOK_TIMEOUT)


def test_bdat_chunks_are_delivered_byte_for_byte(account, us1, us2, eu1, eu2):
    """CHUNKING (RFC 3030): two BDAT chunks, the second LAST, split between the CR and the LF of a
    line; the body keeps a line starting with a dot as it is (BDAT has no dot-stuffing)."""
    sender, rcpt = account(us1), account(eu1)
    subject = unique("bdat")
    body = "first line\r\n.a line starting with a dot\r\nsplit here\r\nlast line\r\n"
    data = compose(sender.email, [rcpt.email], subject, body=body)
    cut = data.index(b"split here\r\n") + len(b"split here\r")
    conn = sender.smtp(us1)
    assert "chunking" in conn.esmtp_features, conn.esmtp_features
    expect(conn.mail(sender.email), 250)
    expect(conn.rcpt(rcpt.email), 250)
    expect(bdat(conn, data[:cut]), 250, what="BDAT (first chunk)")
    expect(bdat(conn, data[cut:], last=True), 250, "2.0.0", what="BDAT LAST")
    conn.quit()
    (_, _, got), = find_mail(rcpt, eu2, "INBOX", subject)
    assert body_of(got) == body.encode(), body_of(got)
    (_, _, sent), = find_mail(sender, us2, "Sent", subject)
    assert body_of(sent) == body.encode(), body_of(sent)


def test_external_recipients_go_through_the_smart_host(relay, webhook, account, us1, us2, eu1, eu2):
    """To, Cc and Bcc outside the cluster reach the smart host once each, in envelopes from the
    sender, without the Bcc header and with the Message-ID the node added (the Sent copy's); the
    grant among the recipients gets it in INBOX and is not relayed; message.send_success names the
    Sent message."""
    sender, colleague = account(us1), account(eu1)
    domain = external_domain()
    to, cc, bcc = f"to@{domain}", f"cc@{domain}", f"bcc@{domain}"
    subject = unique("relay")
    data = compose(sender.email, [to, colleague.email], subject, cc=[cc], bcc=[bcc], msgid=None)
    conn = sender.smtp(us1)
    expect(transaction(conn, sender.email, [to, colleague.email, cc, bcc], data), 250, "2.0.0")
    conn.quit()

    def all_there():
        got = relay.messages(lambda m: m.subject == subject)
        return got if {r.lower() for m in got for r in m.rcpt_tos} >= {to, cc, bcc} else None
    assert wait_for(all_there, timeout=DELIVERY_TIMEOUT, interval=0.2), (
        f"not every external recipient reached the smart host: {relay.messages(lambda m: m.subject == subject)}")
    time.sleep(2)  # anything relayed twice would be there by now
    relayed = relay.messages(lambda m: m.subject == subject)
    assert sorted(r.lower() for m in relayed for r in m.rcpt_tos) == sorted([to, cc, bcc]), relayed
    (_, _, sent), = find_mail(sender, us2, "Sent", subject)
    sent_id = header(sent, "Message-ID")
    assert sent_id, head(sent)
    for m in relayed:
        assert m.mail_from.lower() == sender.email.lower(), m.describe()
        assert not m.has_header("Bcc"), f"relayed with a Bcc header:\n{m.headers_raw.decode()}"
        assert m.header("Message-ID") == sent_id, (m.header("Message-ID"), sent_id)
        assert body_of(m.data) == BODY.encode(), m.data[-200:]
    (_, _, got), = find_mail(colleague, eu2, "INBOX", subject)
    assert not has_header(got, "Bcc")

    api_sent = sent_message(us1, sender.grant, subject)
    success = webhook.wait(sender.grant["id"], "message.send_success", timeout=WEBHOOK_TIMEOUT)
    assert success.type == "message.send_success" and success.grant_id == sender.grant["id"]
    assert api_sent["id"] in success.body.decode("utf-8", "replace"), (api_sent["id"], success.json)
    # message.delivered for each acceptance: the smart host's (one job per domain) and the
    # colleague's region storing it; together they name every recipient once.
    delivered = wait_for(lambda: [d for d in webhook.receiver.events(
        lambda d: d.grant_id == sender.grant["id"] and d.type == "message.delivered")
        if d.object["message"]["id"] == api_sent["id"]] or None, timeout=WEBHOOK_TIMEOUT)
    assert delivered, "no message.delivered"
    wanted = sorted([to, cc, bcc, colleague.email.lower()])
    named = lambda: sorted(r.lower() for d in webhook.receiver.events(  # noqa: E731
        lambda d: d.grant_id == sender.grant["id"] and d.type == "message.delivered" and d.object["message"]["id"] == api_sent["id"])
        for r in d.object["delivery"]["recipients"])
    assert wait_for(lambda: named() == wanted, timeout=WEBHOOK_TIMEOUT), (named(), wanted)
    first = delivered[0].object
    assert first["message"]["subject"] == subject and first["delivery"]["delivered_at"] > 0, first


def test_one_connection_to_the_smart_host_carries_several_deliveries(relay, account, us1):
    """A connection to the smart host stays open after a delivery for the next one: six messages
    sent one after another reach it, each once, over fewer connections than messages (a region has
    two nodes, each keeping its own)."""
    sender = account(us1)
    domain = external_domain()
    subjects = [unique("reuse") for _ in range(6)]
    conn = sender.smtp(us1)
    for subject in subjects:
        rcpt = f"reuse@{domain}"
        expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], subject)), 250, "2.0.0")
        assert relay.wait_for_one(lambda m, subject=subject: m.subject == subject, timeout=DELIVERY_TIMEOUT), subject
    conn.quit()
    relayed = relay.messages(lambda m: m.subject in subjects)
    assert sorted(m.subject for m in relayed) == sorted(subjects), relayed
    peers = {tuple(m.peer) for m in relayed}
    assert len(peers) < len(subjects), f"every delivery opened its own connection: {sorted(peers)}"


def test_permanent_refusal_bounces_with_a_dsn_and_send_failed(relay, webhook, account, us1, us2):
    """The smart host answers 550: nothing is retried, a DSN (Action: failed, Status: 5.x.x, the
    original headers) lands in the sender's INBOX and message.send_failed names the Sent message."""
    sender = account(us1)
    domain = external_domain()
    rcpt = f"gone@{domain}"
    relay.refuse(domain, 550)
    subject, msgid = unique("bounce"), f"<{uuid.uuid4().hex}@interop.test>"
    conn = sender.smtp(us1)
    expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], subject, msgid=msgid)), 250, "2.0.0")
    conn.quit()

    raw, _ = wait_for_dsn(sender, us2, msgid)
    check_dsn(raw, rcpt, "5", msgid)
    api_sent = sent_message(us1, sender.grant, subject)
    failed = webhook.wait(sender.grant["id"], "message.send_failed", timeout=WEBHOOK_TIMEOUT)
    assert failed.type == "message.send_failed" and failed.grant_id == sender.grant["id"]
    assert api_sent["id"] in failed.body.decode("utf-8", "replace"), (api_sent["id"], failed.json)
    tried = relay.attempts_for(rcpt)
    assert tried and all(a.code == 550 for a in tried), tried
    assert len(tried) == 1, f"a permanent refusal was tried again: {tried}"
    assert not relay.messages(lambda m: m.subject == subject)
    time.sleep(2)
    dsns = [raw for _, raw in imap_folder(sender.imaplib(us2), "INBOX").values() if is_dsn(raw)]
    assert len(dsns) == 1, f"{len(dsns)} DSNs for one refused recipient"
    assert not webhook.receiver.events(lambda d: d.grant_id == sender.grant["id"] and d.type == "message.send_success")
    # The hard bounce, in the shape of the reference's bounce object.
    bounced = webhook.wait(sender.grant["id"], "message.bounced", timeout=WEBHOOK_TIMEOUT).object
    assert bounced["message"]["id"] == api_sent["id"] and bounced["message"]["subject"] == subject, bounced
    assert bounced["message"]["to"] == [{"name": "", "email": rcpt}] or bounced["message"]["to"][0]["email"] == rcpt, bounced
    assert bounced["bounce"]["type"] == "hard" and bounced["bounce"]["bounced_at"] > 0, bounced
    (recipient,) = bounced["bounce"]["recipients"]
    assert recipient["email"] == rcpt and recipient["diagnostic_code"].startswith("5."), recipient
    assert not webhook.receiver.events(lambda d: d.grant_id == sender.grant["id"] and d.type == "message.delivered")


def test_temporary_refusal_is_retried_and_delivered_once(relay, webhook, account, us1, us2):
    """The smart host answers 451 once, then accepts: the node tries again after its backoff (1 s in
    the test cluster) and the message arrives exactly once, without a DSN."""
    sender = account(us1)
    domain = external_domain()
    rcpt = f"later@{domain}"
    relay.refuse(domain, 451, times=1)
    subject = unique("retry")
    conn = sender.smtp(us1)
    expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], subject)), 250, "2.0.0")
    conn.quit()

    relay.wait_for_one(lambda m: m.subject == subject, timeout=DELIVERY_TIMEOUT + RETRY_WINDOW,
                       what=f"(retried after 451) for {rcpt}")
    tried = relay.attempts_for(rcpt)
    assert [a.code for a in tried[:2]] == [451, 250], tried
    assert tried[1].arrived - tried[0].arrived >= 0.5, (
        f"retried {tried[1].arrived - tried[0].arrived:.2f} s after the 451: no backoff")
    api_sent = sent_message(us1, sender.grant, subject)
    success = webhook.wait(sender.grant["id"], "message.send_success", timeout=WEBHOOK_TIMEOUT)
    assert api_sent["id"] in success.body.decode("utf-8", "replace"), (api_sent["id"], success.json)
    time.sleep(3)
    assert len(relay.messages(lambda m: m.subject == subject)) == 1, "delivered more than once"
    assert len(relay.attempts_for(rcpt)) == 2, relay.attempts_for(rcpt)
    inbox = imap_folder(sender.imaplib(us2), "INBOX")
    assert not [raw for _, raw in inbox.values() if is_dsn(raw)], "a DSN for a message that was delivered"
    assert not webhook.receiver.events(lambda d: d.grant_id == sender.grant["id"] and d.type == "message.send_failed")


def test_smart_host_down_is_retried_for_the_window_then_bounced(relay, webhook, account, us1, us2):
    """Nothing listens at the smart host: the node keeps trying for the retry window (20 s in the
    test cluster), then puts a DSN (Action: failed, Status: 4.x.x) in the sender's INBOX and fires
    message.send_failed; once the smart host is back, the given-up message is not sent."""
    sender = account(us1)
    rcpt = f"unreachable@{external_domain()}"
    subject, msgid = unique("down"), f"<{uuid.uuid4().hex}@interop.test>"
    relay.stop()
    try:
        conn = sender.smtp(us1)
        expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], subject, msgid=msgid)),
               250, "2.0.0", what="submission while the smart host is down")
        conn.quit()
        raw, waited = wait_for_dsn(sender, us2, msgid, timeout=DSN_TIMEOUT)
        failed = webhook.wait(sender.grant["id"], "message.send_failed", timeout=WEBHOOK_TIMEOUT)
    finally:
        relay.start()
    check_dsn(raw, rcpt, "4", msgid)
    assert waited >= RETRY_WINDOW * 0.6, f"bounced after {waited:.1f} s, before the {RETRY_WINDOW:.0f} s retry window"
    api_sent = sent_message(us1, sender.grant, subject)
    assert api_sent["id"] in failed.body.decode("utf-8", "replace"), (api_sent["id"], failed.json)
    time.sleep(3)
    assert not relay.messages(lambda m: m.subject == subject), "sent after it was given up"


# --- submission: TLS, EHLO and AUTH -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["smtps", "submission"])
def test_ehlo_over_tls_advertises_the_submission_extensions(kind, smtp_open, us1):
    conn = smtp_open(us1, kind)
    features = conn.esmtp_features
    assert features.get("size") == str(SIZE_LIMIT), features
    missing = [ext for ext in SUBMISSION_EXTENSIONS if ext not in features]
    assert not missing, f"{kind}: not advertised: {missing}; EHLO: {features}"
    assert {"PLAIN", "LOGIN"} <= set(features.get("auth", "").upper().split()), features
    assert "starttls" not in features, f"{kind}: STARTTLS offered on a TLS session: {features}"
    expect(conn.noop(), 250)
    expect(conn.docmd("QUIT"), 221)


def test_587_before_starttls_offers_starttls_and_refuses_auth(cluster, smtp_open, us1):
    """Before STARTTLS: STARTTLS advertised, AUTH neither advertised nor accepted (530 5.7.0);
    NOOP and RSET work; after STARTTLS AUTH is offered."""
    conn = smtp_open(us1, "submission", starttls=False, source=fresh_source())
    features = conn.esmtp_features
    assert "starttls" in features, features
    assert "auth" not in features, f"AUTH offered before TLS: {features}"
    assert set(features) <= PRE_TLS_EXTENSIONS, f"before TLS only {sorted(PRE_TLS_EXTENSIONS)}: {features}"
    # Refused before the server looks at the credentials (so a throwaway user/password).
    expect(conn.docmd("AUTH", f"PLAIN {plain_token(unique_email('nobody'), 'Not-The-Password-1')}"), 530, "5.7.0")
    expect(conn.docmd("AUTH", "LOGIN"), 530, "5.7.0")
    expect(conn.noop(), 250)
    expect(conn.rset(), 250)
    expect(conn.starttls(context=tls_context(cluster, us1)), 220)
    conn.ehlo()
    assert {"PLAIN", "LOGIN"} <= set(conn.esmtp_features.get("auth", "").upper().split()), conn.esmtp_features


def test_587_mail_before_starttls_is_530(smtp_open, us1):
    conn = smtp_open(us1, "submission", starttls=False)
    expect(conn.docmd("MAIL", "FROM:<someone@example.com>"), 530, "5.7.0")
    expect(conn.docmd("RCPT", "TO:<someone@example.net>"), 530, "5.7.0")
    expect(conn.docmd("DATA"), 530, "5.7.0")
    expect(conn.docmd("QUIT"), 221)


@pytest.mark.parametrize("mechanism,initial_response", [
    ("PLAIN", True), ("PLAIN", False), ("LOGIN", True), ("LOGIN", False),
], ids=["plain-ir", "plain-challenge", "login-ir", "login-challenge"])
def test_auth_mechanisms(mechanism, initial_response, account, smtp_open, us1, us2):
    """AUTH PLAIN and AUTH LOGIN, with the initial response on the AUTH line (RFC 4954) and after an
    empty / Username: challenge; the session may then send as the grant."""
    acct = account(us1)
    conn = smtp_open(us2, "smtps")
    conn.user, conn.password = acct.email, acct.password
    authobject = conn.auth_plain if mechanism == "PLAIN" else conn.auth_login
    code, text = conn.auth(mechanism, authobject, initial_response_ok=initial_response)
    assert code == 235, (code, text)
    expect(conn.mail(acct.email), 250)
    expect(conn.rset(), 250)


def test_wrong_password_is_535_then_the_right_one_works(account, smtp_open, us1):
    """A wrong password and an unknown user both get 535 5.7.8 (two failures: the most a test may
    spend, from an address of its own); the right password then works on the same connection."""
    acct = account(us1)
    conn = smtp_open(us1, "smtps", source=fresh_source())
    conn.user, conn.password = acct.email, acct.password + "x"
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        conn.auth("PLAIN", conn.auth_plain)
    assert failure.value.smtp_code == 535 and failure.value.smtp_error.startswith(b"5.7.8"), failure.value
    conn.user, conn.password = unique_email("nobody"), acct.password
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        conn.auth("LOGIN", conn.auth_login, initial_response_ok=False)
    assert failure.value.smtp_code == 535 and failure.value.smtp_error.startswith(b"5.7.8"), failure.value
    conn.user, conn.password = acct.email, acct.password
    code, text = conn.auth("PLAIN", conn.auth_plain)
    assert code == 235, (code, text)
    expect(conn.mail(acct.email), 250)


def test_password_change_ends_submission_sessions_and_refuses_their_mail(account, us1, us2):
    """A password change through the API: submission sessions logged in before it, on both nodes,
    send nothing more. Each is refused with 421 4.7.0, at MAIL FROM once its node heard the change
    or at the end of the data while the announcement is still on its way (the submission's own
    transaction checks the credentials); nothing of theirs reaches Sent; the new password sends."""
    sender, recipient = account(us1), account(us1)
    sessions = [sender.smtp(us1), sender.smtp(us2)]
    for conn in sessions:
        expect(conn.noop(), 250)
    new_password = "Rotated-Smtp-Password-4321"
    response = us1.patch(f"/v3/grants/{sender.grant['id']}",
                         json={"settings": {"email": sender.email, "app_password": new_password}})
    assert response.status_code == 200, response.text

    for index, conn in enumerate(sessions):
        subject = f"after the change {index} {uuid.uuid4().hex[:8]}"
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
            conn.sendmail(sender.email, [recipient.email], message(subject, sender=sender.email, to=recipient.email))
        assert refused.value.smtp_code == 421 and refused.value.smtp_error.startswith(b"4.7.0"), refused.value
    sent_subjects = [m.get("subject") for m in list_messages(us1, sender.grant, limit=50)]
    assert not any(s and s.startswith("after the change") for s in sent_subjects), sent_subjects

    sender.password = new_password
    fresh = sender.smtp(us2)
    subject = f"with the new password {uuid.uuid4().hex[:8]}"
    fresh.sendmail(sender.email, [recipient.email], message(subject, sender=sender.email, to=recipient.email))
    assert sent_message(us1, sender.grant, subject)


# --- submission: what may be sent ------------------------------------------------------------------

def test_mail_from_another_address_is_553(account, us1):
    sender, other = account(us1), account(us1)
    conn = sender.smtp(us1)
    expect(conn.mail(other.email), 553, "5.7.1", what="MAIL FROM another grant")
    expect(conn.mail(f"{sender.email.split('@')[0]}@{external_domain()}"), 553, "5.7.1",
           what="MAIL FROM the same local part elsewhere")
    expect(conn.rset(), 250)
    expect(conn.mail(sender.email), 250)


def test_from_header_of_another_address_is_553_at_the_end_of_data(relay, account, us1, us2):
    """MAIL FROM is the grant's, the From: header is not: 553 5.7.1 after the data, nothing is
    stored or relayed, and the next transaction of the session goes through."""
    sender, other = account(us1), account(us1)
    rcpt = f"to@{external_domain()}"
    forged, honest = unique("forged-from"), unique("honest-from")
    conn = sender.smtp(us1, "submission")
    expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], forged, from_header=other.email)),
           553, "5.7.1", what="end of DATA with another address in From:")
    expect(transaction(conn, sender.email, [rcpt], compose(sender.email, [rcpt], honest)), 250, "2.0.0")
    conn.quit()
    relay.wait_for_one(lambda m: m.subject == honest)
    find_mail(sender, us2, "Sent", honest)
    assert not relay.messages(lambda m: m.subject == forged), "the forged message was relayed"
    assert subjects_in(sender, us2, "Sent") == [honest]


@pytest.mark.parametrize("kind", ["smtps", "smtp"])
def test_mail_from_size_over_the_limit_is_552(kind, account, smtp_open, us1):
    """MAIL FROM SIZE= (RFC 1870) over 26214400 bytes: 552 5.3.4 naming the limit, on submission and
    on the inbound port; exactly the limit is accepted."""
    if kind == "smtps":
        acct = account(us1)
        conn, mail_from = acct.smtp(us1), acct.email
    else:
        conn, mail_from = smtp_open(us1, "smtp"), f"someone@{external_domain()}"
    expect(conn.mail(mail_from, [f"SIZE={SIZE_LIMIT + 1}"]), 552, "5.3.4", contains=str(SIZE_LIMIT))
    expect(conn.mail(mail_from, [f"SIZE={SIZE_LIMIT}"]), 250)
    expect(conn.rset(), 250)


def test_data_over_the_limit_is_552_after_the_stream_and_the_session_goes_on(relay, account, us1, us2):
    """A body of 25 MB + 1 byte through DATA: the server reads it all, answers 552 5.3.4 naming the
    limit; RSET and a small message then work on the same connection."""
    acct = account(us1)
    rcpt = f"big@{external_domain()}"
    big, small = unique("too-big"), unique("after-too-big")
    conn = acct.smtp(us1, timeout=180)
    expect(transaction(conn, acct.email, [rcpt], compose(acct.email, [rcpt], big, body=sized_body(SIZE_LIMIT + 1))),
           552, "5.3.4", contains=str(SIZE_LIMIT), what="end of a 25 MB + 1 byte DATA")
    expect(conn.rset(), 250)
    expect(transaction(conn, acct.email, [rcpt], compose(acct.email, [rcpt], small)), 250, "2.0.0")
    conn.quit()
    relay.wait_for_one(lambda m: m.subject == small)
    assert not relay.messages(lambda m: m.subject == big)
    find_mail(acct, us2, "Sent", small)
    assert subjects_in(acct, us2, "Sent") == [small]


def test_bdat_over_the_limit_is_552_and_the_session_goes_on(relay, account, us1, us2):
    """The same through BDAT: a first chunk of half the message (250), the LAST chunk crosses the
    limit (552 5.3.4 naming it, after its bytes were read); RSET and a small BDAT message work."""
    acct = account(us1)
    rcpt = f"big@{external_domain()}"
    big, small = unique("too-big-bdat"), unique("after-too-big-bdat")
    data = compose(acct.email, [rcpt], big, body=sized_body(SIZE_LIMIT + 1))
    conn = acct.smtp(us1, timeout=180)
    expect(conn.mail(acct.email), 250)
    expect(conn.rcpt(rcpt), 250)
    half = len(data) // 2
    expect(bdat(conn, data[:half]), 250, what="BDAT of the first half")
    expect(bdat(conn, data[half:], last=True), 552, "5.3.4", contains=str(SIZE_LIMIT), what="BDAT LAST over the limit")
    expect(conn.rset(), 250)
    expect(conn.mail(acct.email), 250)
    expect(conn.rcpt(rcpt), 250)
    expect(bdat(conn, compose(acct.email, [rcpt], small), last=True), 250, "2.0.0")
    conn.quit()
    relay.wait_for_one(lambda m: m.subject == small)
    assert not relay.messages(lambda m: m.subject == big)
    assert subjects_in(acct, us2, "Sent") == [small]


# --- inbound (MX) ----------------------------------------------------------------------------------

def test_inbound_offers_starttls_and_no_auth(cluster, smtp_open, us1):
    conn = smtp_open(us1, "smtp", starttls=False)
    assert "starttls" in conn.esmtp_features, conn.esmtp_features
    assert "auth" not in conn.esmtp_features, f"AUTH on the inbound port: {conn.esmtp_features}"
    expect(conn.starttls(context=tls_context(cluster, us1)), 220)
    conn.ehlo()
    assert "auth" not in conn.esmtp_features and "starttls" not in conn.esmtp_features, conn.esmtp_features


def test_inbound_unknown_recipient_is_550_5_1_1(smtp_open, us1):
    conn = smtp_open(us1, "smtp")
    expect(conn.mail(f"someone@{external_domain()}"), 250)
    expect(conn.rcpt(unique_email("nobody")), 550, "5.1.1")
    expect(conn.rset(), 250)


def test_inbound_for_the_other_region_is_stored_pushed_and_notified(webhook, account, smtp_open, us1, eu1, eu2):
    """Mail from outside for a grant homed in eu, handed to a us node's MX port: stored in that
    grant's INBOX with a Received: header, pushed to an IDLE session on eu-2 (EXISTS), and
    message.created fires for the grant."""
    rcpt = account(eu1)
    subject = unique("inbound")
    sender = f"alice@{external_domain()}"
    idler = rcpt.imapclient(eu2)
    idler.select_folder("INBOX")
    idler.idle()
    time.sleep(0.2)
    pushed = {}

    def watch():
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline and "at" not in pushed:
            for resp in idler.idle_check(timeout=0.5):
                if len(resp) >= 2 and resp[1] == b"EXISTS":
                    pushed["at"] = time.monotonic()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        conn = smtp_open(us1, "smtp")
        expect(transaction(conn, sender, [rcpt.email], compose(sender, [rcpt.email], subject)), 250,
               what="end of DATA on the MX port")
        accepted = time.monotonic()
        conn.quit()
    finally:
        watcher.join()
        idler.idle_done()
    assert "at" in pushed, f"IDLE on {eu2.id} got no EXISTS within {DELIVERY_TIMEOUT} s"
    print(f"\ninbound on {us1.id} -> EXISTS on {eu2.id}: {(pushed['at'] - accepted) * 1000:.1f} ms after the 250")
    (_, _, got), = find_mail(rcpt, eu1, "INBOX", subject)
    assert has_header(got, "Received"), head(got)
    assert sender in (header(got, "From") or ""), head(got)
    assert body_of(got) == BODY.encode()
    webhook.wait(rcpt.grant["id"], "message.created", lambda o: o.get("subject") == subject, timeout=WEBHOOK_TIMEOUT)


def test_inbound_without_tls_is_accepted(account, smtp_open, us1, us2):
    """An MX must not require TLS (RFC 3207 4): plain SMTP on the inbound port delivers."""
    rcpt = account(us1)
    subject = unique("inbound-plain")
    sender = f"bob@{external_domain()}"
    conn = smtp_open(us2, "smtp", starttls=False)
    expect(transaction(conn, sender, [rcpt.email], compose(sender, [rcpt.email], subject)), 250)
    conn.quit()
    (_, _, got), = find_mail(rcpt, us1, "INBOX", subject)
    assert has_header(got, "Received"), head(got)


# --- robustness ------------------------------------------------------------------------------------

def test_pipelined_commands_are_answered_in_order(account, smtp_open, us1, us2, eu1, eu2):
    """PIPELINING (RFC 2920): MAIL, RCPT (hosted), RCPT (unknown), RCPT (hosted), DATA in one write
    are answered 250, 250, 550 5.1.1, 250, 354 in that order; the dot-stuffed line is unstuffed."""
    first, second = account(us1), account(eu1)
    subject = unique("pipelined")
    sender = f"carol@{external_domain()}"
    nobody = unique_email("nobody")
    conn = smtp_open(us2, "smtp")
    assert "pipelining" in conn.esmtp_features, conn.esmtp_features
    conn.send((f"MAIL FROM:<{sender}>\r\nRCPT TO:<{first.email}>\r\nRCPT TO:<{nobody}>\r\n"
               f"RCPT TO:<{second.email}>\r\nDATA\r\n").encode())
    replies = [conn.getreply() for _ in range(5)]
    assert [code for code, _ in replies] == [250, 250, 550, 250, 354], replies
    assert replies[2][1].startswith(b"5.1.1"), replies[2]
    body = "before\r\n.dot at the start\r\nafter\r\n"
    data = compose(sender, [first.email, second.email], subject, body=body)
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    conn.send(stuffed + b".\r\n")
    expect(conn.getreply(), 250, what="end of pipelined DATA")
    conn.quit()
    for acct, node in ((first, us1), (second, eu2)):
        (_, _, got), = find_mail(acct, node, "INBOX", subject)
        assert body_of(got) == body.encode(), body_of(got)


@pytest.mark.parametrize("kind", ["smtp", "submission"])
def test_disconnect_in_the_middle_of_data_stores_nothing(kind, relay, account, smtp_open, us1, us2):
    """A client that drops the connection in the middle of DATA: nothing reaches any mailbox (nor
    Sent, nor the smart host); a complete message sent after it arrives alone."""
    rcpt = account(us2)
    outside = f"cut@{external_domain()}"
    cut, whole = unique(f"cut-{kind}"), unique(f"whole-{kind}")
    if kind == "smtp":
        sender, mail_from, rcpts = None, f"dave@{external_domain()}", [rcpt.email]

        def connect():
            return smtp_open(us1, "smtp")
    else:
        sender = account(us1)
        mail_from, rcpts = sender.email, [rcpt.email, outside]

        def connect():
            return sender.smtp(us1, "submission")

    conn = connect()
    expect(conn.mail(mail_from), 250)
    for r in rcpts:
        expect(conn.rcpt(r), 250)
    expect(conn.docmd("DATA"), 354)
    data = compose(mail_from, rcpts, cut, body=sized_body(200_000))
    conn.send(data[:len(data) // 2])
    time.sleep(0.3)
    abort(conn)
    time.sleep(2)

    conn = connect()
    expect(transaction(conn, mail_from, rcpts, compose(mail_from, rcpts, whole)), 250)
    conn.quit()
    find_mail(rcpt, us2, "INBOX", whole)
    assert subjects_in(rcpt, us2, "INBOX") == [whole]
    if sender:
        relay.wait_for_one(lambda m: m.subject == whole)
        assert not relay.messages(lambda m: m.subject == cut)
        find_mail(sender, us2, "Sent", whole)
        assert subjects_in(sender, us2, "Sent") == [whole]


@pytest.mark.parametrize("kind", ["smtp", "smtps"])
def test_command_line_over_512_bytes_is_500_5_5_6(kind, smtp_open, us1):
    """RFC 5321 4.5.3.1.4: a command line is at most 512 bytes with its CRLF. Exactly 512 is fine;
    a 1 KB one is 500 5.5.6 and the session goes on. MAIL and RCPT may be longer (SIZE, AUTH= and
    the DSN parameters lengthen them, RFC 1870 and 4954): up to 2048 bytes, then 500 5.5.6 too; a
    1 KB path is refused for what it is, a local part over 64 octets."""
    conn = smtp_open(us1, kind)
    expect(send_line(conn, b"NOOP " + b"x" * (512 - 2 - 5)), 250, what="a 512-byte NOOP")
    expect(send_line(conn, b"NOOP " + b"x" * 1000), 500, "5.5.6", what="a 1 KB NOOP")
    expect(conn.noop(), 250)
    expect(send_line(conn, b"MAIL FROM:<" + b"a" * 1000 + b"@example.net>"), 501, "5.1.7", what="a 1 KB MAIL")
    expect(send_line(conn, b"MAIL FROM:<" + b"a" * 2100 + b"@example.net>"), 500, "5.5.6", what="a 2 KB MAIL")
    expect(conn.noop(), 250)


def test_too_many_errors_end_the_session_with_421(smtp_open, us1):
    """Unknown commands one after another: 5xx each, until the server answers 421 and closes."""
    conn = smtp_open(us1, "smtp", source=fresh_source())
    replies = []
    for n in range(100):
        try:
            replies.append(send_line(conn, f"XFROB{n} now".encode()))
        except smtplib.SMTPServerDisconnected as error:
            replies.append((None, str(error).encode()))
            break
        if replies[-1][0] == 421:
            break
    assert replies[-1][0] == 421, f"no 421 after {len(replies)} unknown commands: {replies[-3:]}"
    assert len(replies) >= 2 and all(500 <= code < 600 for code, _ in replies[:-1]), replies
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        conn.send(b"NOOP\r\n")
        conn.getreply()

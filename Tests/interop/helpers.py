"""Helpers shared by the interop tests."""
import imaplib
import re
import smtplib
import socket
import ssl
import time
import uuid
from email.utils import formatdate

import imap_tools
import imapclient
from imap_tools import MailBox


def unique_email(prefix="agent"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


def valid_password():
    # 24 characters: upper case, lower case, digits, punctuation.
    return f"Aa1-{uuid.uuid4().hex[:20]}"


def connect_body(email, password=None):
    settings = {"email": email}
    settings["app_password"] = valid_password() if password is None else password
    return {"provider": "nylas", "settings": settings}


def assert_error(response, status, error_type):
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body.get("request_id"), str) and body["request_id"], body
    assert body["error"]["type"] == error_type, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def wait_for(predicate, timeout=5.0, interval=0.1):
    """Poll until predicate() is truthy (returned) or the time is up (last value returned)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --- REST API ------------------------------------------------------------------------------------

def ok(response, status=200):
    """The decoded body of a successful answer (asserting the status and the request id)."""
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.status_code, response.text[:2000])
    body = response.json()
    assert isinstance(body.get("request_id"), str) and body["request_id"], body
    return body


def list_messages(node, grant, **params):
    body = ok(node.get(f"/v3/grants/{grant['id']}/messages", params=params))
    assert "next_cursor" in body, body
    return body["data"]


def by_subject(node, grant, subject, **params):
    found = [m for m in list_messages(node, grant, limit=200, **params) if m.get("subject") == subject]
    assert len(found) == 1, (subject, found)
    return found[0]


def get_message(node, grant, message_id, **params):
    return ok(node.get(f"/v3/grants/{grant['id']}/messages/{message_id}", params=params))["data"]


def emails(participants):
    return [p["email"] for p in participants]


# --- IMAP ----------------------------------------------------------------------------------------

FIXED_DATE = "Wed, 25 Nov 2026 10:00:00 +0000"


def message(subject, body="hello\r\n", sender="alice@example.org", to="agent@example.com", msgid=None,
            extra=b"", date=None):
    """A small text/plain message; `date` (unix seconds) replaces the fixed Date header."""
    msgid = msgid or f"<{uuid.uuid4().hex}@interop.test>"
    date = FIXED_DATE if date is None else formatdate(date, usegmt=True)
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: {msgid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n")
    return head.encode() + extra + b"\r\n" + body.encode()


def appenduid(text):
    """[APPENDUID validity uid] out of a tagged OK text (bytes or str)."""
    text = text.decode() if isinstance(text, bytes) else str(text)
    match = re.search(r"\[APPENDUID (\d+) (\d+)\]", text)
    assert match, f"no APPENDUID in {text!r}"
    return int(match.group(1)), int(match.group(2))


def append(conn, folder, data, flags=None, when=None):
    """APPEND through imaplib; returns the new UID."""
    typ, resp = conn.append(folder, flags, imaplib.Time2Internaldate(when) if when else None, data)
    assert typ == "OK", resp
    return appenduid(resp[-1])[1]


def addr(node, kind="imaps"):
    host, port = node.entry[kind].rsplit(":", 1)
    return host, int(port)


def tls_context(cluster, node):
    """Verifies the node's self-signed certificate (IP SAN 127.0.0.1) instead of trusting anything."""
    return ssl.create_default_context(cafile=str(cluster.run_dir / "tls" / f"mail.{node.region}.localhost.crt"))


def fresh_source():
    """A loopback source address of its own (Linux routes all of 127/8 to lo): the server counts
    failed logins per client address (10 in 10 minutes refuse every further login from it, IMAP and
    SMTP alike), so tests that fail logins on purpose do it from addresses nobody else uses."""
    n = uuid.uuid4().int
    return f"127.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 2}"


def tls_socket(cluster, node, kind="imaps", source=None, timeout=10):
    """A raw socket to one of the node's implicit-TLS ports (imaps, smtps), certificate verified."""
    host, port = addr(node, kind)
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    return tls_context(cluster, node).wrap_socket(sock, server_hostname=host)


def imap_folder(conn, folder):
    """{uid: (flags, raw bytes)} of every message in folder (SELECT, UID FETCH 1:* BODY.PEEK[])."""
    typ, data = conn.select(folder)
    assert typ == "OK", (folder, data)
    if int(data[0]) == 0:
        return {}
    typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    # imaplib: (b'1 (UID 7 FLAGS (\\Seen) BODY[] {123}', literal) then b')' -- or the items that
    # follow the literal, when the server sends FLAGS after BODY[].
    records = []
    for item in data:
        if isinstance(item, tuple):
            records.append([item[0], item[1]])
        elif isinstance(item, bytes) and records:
            records[-1][0] += item
    found = {}
    for meta, raw in records:
        uid = re.search(rb"UID (\d+)", meta)
        flags = re.search(rb"FLAGS \(([^)]*)\)", meta)
        assert uid and flags, meta
        found[int(uid.group(1))] = (set(flags.group(1).decode().split()), raw)
    return found


# --- SMTP ----------------------------------------------------------------------------------------

SMTP_CLIENT_NAME = "interop.test"   # the EHLO name (smtplib would look up the FQDN, which may be slow)


def smtp_connect(cluster, node, kind="smtps", starttls=True, source=None, timeout=60):
    """An smtplib connection to one of the node's SMTP ports, greeted with EHLO:

    * smtps: implicit TLS (465-style) through smtplib.SMTP_SSL;
    * submission / smtp: plain TCP (587- / 25-style), then STARTTLS and EHLO again unless
      starttls=False.

    The certificate is verified as for IMAP (tls_context); `source` picks the local address."""
    host, port = addr(node, kind)
    source_address = (source, 0) if source else None
    if kind == "smtps":
        conn = smtplib.SMTP_SSL(host, port, local_hostname=SMTP_CLIENT_NAME, timeout=timeout,
                                source_address=source_address, context=tls_context(cluster, node))
    else:
        conn = smtplib.SMTP(host, port, local_hostname=SMTP_CLIENT_NAME, timeout=timeout,
                            source_address=source_address)
    try:
        code, text = conn.ehlo()
        assert code == 250, f"{node.id} {kind}: EHLO answered {code} {text!r}"
        if kind != "smtps" and starttls:
            code, text = conn.starttls(context=tls_context(cluster, node))
            assert code == 220, f"{node.id} {kind}: STARTTLS answered {code} {text!r}"
            code, text = conn.ehlo()
            assert code == 250, f"{node.id} {kind}: EHLO after STARTTLS answered {code} {text!r}"
    except BaseException:
        conn.close()
        raise
    return conn


class SourcedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib's IMAP4_SSL, connecting from a chosen local address."""

    def __init__(self, host, port, source, **kwargs):
        self._source = source
        super().__init__(host, port, **kwargs)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Account:
    """A grant made for one test plus connection factories for the three IMAP libraries and smtplib."""

    def __init__(self, cluster, grant, password):
        self.cluster = cluster
        self.grant = grant
        self.email = grant["email"]
        self.password = password
        self.opened = []

    def imaplib(self, node, login=True, source=None):
        host, port = addr(node)
        if source:
            conn = SourcedIMAP4_SSL(host, port, source, ssl_context=tls_context(self.cluster, node), timeout=20)
        else:
            conn = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(self.cluster, node), timeout=20)
        self.opened.append(conn)
        if login:
            conn.login(self.email, self.password)
        return conn

    def imapclient(self, node, login=True):
        host, port = addr(node)
        conn = imapclient.IMAPClient(host, port=port, ssl=True, ssl_context=tls_context(self.cluster, node),
                                     timeout=20)
        self.opened.append(conn)
        if login:
            conn.login(self.email, self.password)
        return conn

    def smtp(self, node, kind="smtps", login=True, source=None, timeout=60):
        """smtplib to the node's submission ports (smtps: implicit TLS, submission: STARTTLS),
        EHLO done and, unless login=False, authenticated (AUTH PLAIN) as this grant."""
        conn = smtp_connect(self.cluster, node, kind, source=source, timeout=timeout)
        self.opened.append(conn)
        if login:
            conn.login(self.email, self.password)
        return conn

    def imap_tools(self, node, folder="INBOX"):
        host, port = addr(node)
        box = MailBox(host, port, ssl_context=tls_context(self.cluster, node), timeout=20)
        self.opened.append(box)
        box.login(self.email, self.password, initial_folder=folder)
        return box

    def close(self):
        for conn in self.opened:
            try:
                if isinstance(conn, imap_tools.BaseMailBox):
                    conn.client.shutdown()
                elif isinstance(conn, smtplib.SMTP):
                    conn.close()
                else:
                    conn.shutdown()
            except Exception:
                pass

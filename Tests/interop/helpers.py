"""Helpers shared by the interop tests."""
import imaplib
import re
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


class SourcedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib's IMAP4_SSL, connecting from a chosen local address."""

    def __init__(self, host, port, source, **kwargs):
        self._source = source
        super().__init__(host, port, **kwargs)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Account:
    """A grant made for one test plus connection factories for the three libraries."""

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
                else:
                    conn.shutdown()
            except Exception:
                pass

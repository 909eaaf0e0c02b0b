"""Sending, drafts, threads and search_query_native through the /v3 API, checked against IMAP.

Every test makes its own grant through us-1 (region us; IMAP through us-1 / us-2, API through any
node). What the API sends is read back from Sent over IMAP and parsed with Python's email package;
drafts live in Drafts with \\Draft; a thread's id is its messages' thread_id (and their IMAP
THREADID when the server advertises OBJECTID).
"""
import base64
import http.client
import io
import json
import random
import re
import socket
import threading
import time
import uuid
from datetime import timezone
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from helpers import append, assert_error, by_subject, emails, get_message, imap_folder, list_messages, message, ok

THREAD_KEYS = {"id", "grant_id", "object", "subject", "participants", "message_ids", "draft_ids", "folders",
               "has_attachments", "has_drafts", "starred", "unread", "earliest_message_date",
               "latest_message_received_date", "latest_message_sent_date", "snippet", "latest_draft_or_message"}
JSON_LIMIT = 3 * 1024 * 1024  # limits.api_json_body_bytes of the cluster's region files


# --- helpers -------------------------------------------------------------------------------------

def b64(data):
    return base64.b64encode(data).decode()


def send_path(grant):
    return f"/v3/grants/{grant['id']}/messages/send"


def drafts_path(grant):
    return f"/v3/grants/{grant['id']}/drafts"


def threads_path(grant):
    return f"/v3/grants/{grant['id']}/threads"


def list_threads(node, grant, **params):
    return ok(node.get(threads_path(grant), params=params))["data"]


def get_thread(node, grant, thread_id):
    return ok(node.get(f"{threads_path(grant)}/{thread_id}"))["data"]


def only_message(conn, folder):
    """(uid, flags, parsed message) of the one message in folder."""
    stored = imap_folder(conn, folder)
    assert len(stored) == 1, (folder, {uid: parse(raw)["Subject"] for uid, (_, raw) in stored.items()})
    (uid, (flags, raw)), = stored.items()
    return uid, flags, parse(raw)


def parse(raw):
    return BytesParser(policy=policy.default).parsebytes(raw)


def addresses(msg, header):
    return [address.lower() for _, address in getaddresses([str(h) for h in msg.get_all(header, [])])]


def structure(msg):
    return [part.get_content_type() for part in msg.walk()]


def text_of(msg, content_type):
    """The decoded text of every leaf part of that type (attachments left out), joined."""
    return "".join(part.get_content() for part in msg.walk()
                   if part.get_content_type() == content_type and not part.get_filename())


def attachments_of(msg):
    """{filename: decoded bytes} of every part with a filename."""
    return {part.get_filename(): part.get_payload(decode=True) for part in msg.walk() if part.get_filename()}


def filenames(msg):
    """The filename of every part that has one, in order (duplicates kept)."""
    return [part.get_filename() for part in msg.walk() if part.get_filename()]


def sent_at(msg):
    """The Date header in unix seconds."""
    when = parsedate_to_datetime(str(msg["Date"]))
    if when.tzinfo is None:  # "-0000": UTC of unknown origin (RFC 5322 3.3)
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def lines(text):
    return text.replace("\r\n", "\n").rstrip("\n")


def near(a, b, slack=2):
    return isinstance(a, int) and isinstance(b, int) and abs(a - b) <= slack


def threadids(conn, folder):
    """{uid: THREADID} of folder (RFC 8474)."""
    typ, data = conn.select(folder, readonly=True)
    assert typ == "OK", data
    typ, data = conn.uid("FETCH", "1:*", "(THREADID)")
    assert typ == "OK", data
    found = {}
    for line in data:
        line = line[0] if isinstance(line, tuple) else line
        if not line:
            continue
        uid, thread = re.search(rb"UID (\d+)", line), re.search(rb"THREADID (?:\(([^)]*)\)|NIL)", line)
        assert uid and thread, line
        found[int(uid.group(1))] = thread.group(1).decode() if thread.group(1) else None
    return found


class RawResponse:
    """Enough of a requests.Response for assert_error."""

    def __init__(self, status, headers, content):
        self.status_code, self.headers, self.content = status, headers, content
        self.text = content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class _Replay:
    def __init__(self, data):
        self.data = data

    def makefile(self, *args, **kwargs):
        return io.BytesIO(self.data)


def raw_request(node, method, path, body, content_type):
    """One request on a connection of its own, reading the answer while the body still goes out:
    a server that refuses an oversized body may answer and close before it has read all of it
    (requests, which reads only after sending, would then see a reset instead of the answer)."""
    host, port = node.entry["api"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    received = bytearray()

    def read():
        try:
            while chunk := sock.recv(65536):
                received.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {node.api_key}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    try:
        sock.sendall(head.encode())
        view = memoryview(body)
        for offset in range(0, len(body), 65536):
            sock.sendall(view[offset:offset + 65536])
    except OSError:
        pass  # the server stopped reading: its answer is what counts
    reader.join(35)
    sock.close()
    assert received, f"no answer to {method} {path} with a {len(body)}-byte body"
    response = http.client.HTTPResponse(_Replay(bytes(received)))
    response.begin()
    return RawResponse(response.status, dict(response.getheaders()), response.read())


# --- sending ---------------------------------------------------------------------------------------

def test_send_json_lands_in_sent_with_headers_parts_and_attachment(account, us1, us2, eu1):
    acct = account(us1)
    g = acct.grant
    payload = b"\x00\x01binary\r\n\xff\xfe" + bytes(range(256)) * 4
    subject = f"Figures {uuid.uuid4().hex[:8]}"
    html = "<html><body><p>Hello <b>Bob</b>,</p><p>the figures are attached.</p></body></html>"
    request = {
        "to": [{"name": "Bob Example", "email": "bob@example.org"}],
        "cc": [{"email": "carol@example.net"}],
        "bcc": [{"name": "Dave", "email": "dave@example.com"}],
        "reply_to": [{"name": "Replies", "email": "replies@example.org"}],
        "subject": subject,
        "body": html,
        "attachments": [{"filename": "figures.bin", "content_type": "application/octet-stream",
                         "content": b64(payload)}],
        "custom_headers": [{"name": "X-Custom-Thing", "value": "thing-42"}],
    }
    sent = ok(us1.post(send_path(g), json=request))["data"]
    assert sent["object"] == "message" and sent["grant_id"] == g["id"], sent
    assert sent["folders"] == ["sent"], sent
    assert sent["subject"] == subject, sent
    assert [e.lower() for e in emails(sent["from"])] == [acct.email.lower()], sent["from"]
    assert emails(sent["to"]) == ["bob@example.org"] and emails(sent["cc"]) == ["carol@example.net"], sent
    assert emails(sent["bcc"]) == ["dave@example.com"], sent["bcc"]
    assert emails(sent["reply_to"]) == ["replies@example.org"], sent["reply_to"]
    assert [(a["filename"], a["size"]) for a in sent["attachments"]] == [("figures.bin", len(payload))], sent
    assert isinstance(sent["thread_id"], str) and sent["thread_id"], sent

    got = get_message(us2, g, sent["id"])
    for key in ("id", "thread_id", "subject", "from", "to", "cc", "bcc", "reply_to", "folders", "date", "attachments"):
        assert got[key] == sent[key], (key, sent[key], got[key])
    assert "<b>Bob</b>" in got["body"], got["body"]
    assert [m["id"] for m in list_messages(us2, g, **{"in": "sent"})] == [sent["id"]]
    (att,) = got["attachments"]
    r = us2.get(f"/v3/grants/{g['id']}/attachments/{att['id']}/download", params={"message_id": sent["id"]})
    assert r.status_code == 200 and r.content == payload, (r.status_code, r.content[:200])

    conn = acct.imaplib(us2)
    _, _, msg = only_message(conn, "Sent")
    assert addresses(msg, "From") == [acct.email.lower()], msg["From"]
    assert addresses(msg, "To") == ["bob@example.org"], msg["To"]
    assert addresses(msg, "Cc") == ["carol@example.net"], msg["Cc"]
    assert addresses(msg, "Bcc") == ["dave@example.com"], "the Sent copy keeps Bcc"
    assert addresses(msg, "Reply-To") == ["replies@example.org"], msg["Reply-To"]
    assert msg["Subject"] == subject, msg["Subject"]
    assert msg["X-Custom-Thing"] == "thing-42", msg.items()
    assert re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", str(msg["Message-ID"]).strip()), msg["Message-ID"]
    assert msg["Date"], msg.items()
    assert abs(sent_at(msg) - time.time()) < 600, msg["Date"]
    # HTML body: multipart/alternative (text first, RFC 2046 5.1.4) next to the attachment.
    assert msg.get_content_type() == "multipart/mixed", structure(msg)
    alternatives = [p for p in msg.walk() if p.get_content_type() == "multipart/alternative"]
    assert len(alternatives) == 1, structure(msg)
    assert [p.get_content_type() for p in alternatives[0].iter_parts()] == ["text/plain", "text/html"], structure(msg)
    assert "<b>Bob</b>" in text_of(msg, "text/html"), text_of(msg, "text/html")
    plain = text_of(msg, "text/plain")
    assert "Hello" in plain and "Bob" in plain and "<b>" not in plain, plain
    assert filenames(msg) == ["figures.bin"] and attachments_of(msg) == {"figures.bin": payload}, filenames(msg)
    (part,) = [p for p in msg.walk() if p.get_filename()]
    assert part.get_content_type() == "application/octet-stream", part.get_content_type()

    # is_plaintext: the body is text, sent as text/plain only (through eu-1, forwarded to us).
    text = "Just text,\r\nwith <b>markup kept literally</b>.\r\n"
    plain_sent = ok(eu1.post(send_path(g), json={"to": [{"email": "bob@example.org"}], "subject": f"{subject} plain",
                                                 "body": text, "is_plaintext": True}))["data"]
    assert plain_sent["folders"] == ["sent"], plain_sent
    assert "markup kept literally" in get_message(us1, g, plain_sent["id"])["body"]
    msgs = [parse(raw) for _, raw in imap_folder(conn, "Sent").values()]
    (msg,) = [m for m in msgs if m["Subject"] == f"{subject} plain"]
    assert structure(msg) == ["text/plain"], structure(msg)
    assert lines(text_of(msg, "text/plain")) == lines(text), text_of(msg, "text/plain")
    assert msg["Message-ID"] and msg["Date"] and addresses(msg, "From") == [acct.email.lower()], msg.items()


def test_send_multipart_form_data_with_two_files(account, us1, us2):
    """multipart/form-data: a `message` part with the JSON, every other part an attachment. Its
    limit is 25 MB: a 3.3 MB file (over the JSON limit) goes through."""
    acct = account(us1)
    g = acct.grant
    scan = b"%PDF-1.4\n" + random.Random(7).randbytes(3_300_000)
    notes = "a,b\r\n1,\u00e9\r\n".encode()
    request = {"to": [{"email": "bob@example.org"}], "subject": "two files", "body": "<p>see both files</p>"}
    files = {
        "message": (None, json.dumps(request), "application/json"),
        "upload-1": ("scan.pdf", scan, "application/pdf"),
        "upload-2": ("notes.csv", notes, "text/csv"),
    }
    sent = ok(us2.post(send_path(g), files=files, timeout=120))["data"]
    assert sent["folders"] == ["sent"] and sent["subject"] == "two files", sent
    assert sorted((a["filename"], a["size"]) for a in sent["attachments"]) == [
        ("notes.csv", len(notes)), ("scan.pdf", len(scan))], sent["attachments"]
    for att in sent["attachments"]:
        r = us1.get(f"/v3/grants/{g['id']}/attachments/{att['id']}/download", params={"message_id": sent["id"]},
                    timeout=120)
        assert r.status_code == 200, r.text[:500]
        assert r.content == {"scan.pdf": scan, "notes.csv": notes}[att["filename"]], att

    _, _, msg = only_message(acct.imaplib(us1), "Sent")
    assert msg["Subject"] == "two files" and addresses(msg, "To") == ["bob@example.org"], msg.items()
    found = attachments_of(msg)
    assert sorted(filenames(msg)) == ["notes.csv", "scan.pdf"], filenames(msg)
    assert found["scan.pdf"] == scan, "scan.pdf differs from what was uploaded"
    assert found["notes.csv"] == notes, found["notes.csv"]
    types = {p.get_filename(): p.get_content_type() for p in msg.walk() if p.get_filename()}
    assert types == {"scan.pdf": "application/pdf", "notes.csv": "text/csv"}, types
    assert "see both files" in text_of(msg, "text/html"), structure(msg)


def test_send_reply_sets_in_reply_to_references_and_thread(account, us1, us2):
    acct = account(us1)
    g = acct.grant
    conn = acct.imaplib(us1)
    root_id, original_id = (f"<{kind}-{uuid.uuid4().hex}@interop.test>" for kind in ("root", "orig"))
    when = int(time.time()) - 3600
    append(conn, "INBOX", message("Plans for Friday", sender="Bob <bob@example.org>", to=acct.email, msgid=original_id,
                                  extra=f"In-Reply-To: {root_id}\r\nReferences: {root_id}\r\n".encode(), date=when),
           when=when)
    original = by_subject(us1, g, "Plans for Friday")

    reply = ok(us2.post(send_path(g), json={"to": [{"email": "bob@example.org"}], "subject": "Re: Plans for Friday",
                                            "body": "<p>Count me in.</p>",
                                            "reply_to_message_id": original["id"]}))["data"]
    assert reply["folders"] == ["sent"], reply
    assert reply["thread_id"] == original["thread_id"], (original, reply)
    assert get_message(us1, g, reply["id"])["thread_id"] == original["thread_id"]
    assert sorted(m["id"] for m in list_messages(us1, g, thread_id=original["thread_id"])) == sorted(
        [original["id"], reply["id"]])

    _, _, msg = only_message(conn, "Sent")
    assert str(msg["In-Reply-To"]).strip() == original_id, msg["In-Reply-To"]
    references = str(msg["References"] or "").split()
    # RFC 5322 3.6.4: the parent's References followed by the parent's Message-ID.
    assert references and references[-1] == original_id and root_id in references, msg["References"]


def test_send_rejects_bad_input(account, us1, us2):
    acct, other = account(us1), account(us1)
    g = acct.grant
    path = send_path(g)
    good = {"to": [{"email": "bob@example.org"}], "subject": "bad input", "body": "<p>x</p>"}

    # No recipient across to/cc/bcc (reply_to is not one).
    for body in ({"subject": "nobody", "body": "x"},
                 {"to": [], "cc": [], "bcc": [], "subject": "nobody", "body": "x"},
                 {"reply_to": [{"email": "replies@example.org"}], "subject": "nobody", "body": "x"}):
        assert_error(us1.post(path, json=body), 400, "invalid_request_error")

    # A recipient without an email, or with a malformed one: 400 naming the field.
    for field, entry in (("to", {"name": "Bob"}), ("to", {"name": "Bob", "email": ""}),
                         ("to", {"email": "not-an-address"}), ("to", {"email": 42}),
                         ("cc", {"email": "carol@"}), ("bcc", {"email": "two@at@example.org"})):
        error = assert_error(us1.post(path, json={**good, field: [entry]}), 400, "invalid_request_error")
        assert re.search(rf"\b{field}\b", error["message"]), (field, entry, error)

    bad_attachment = {"filename": "x.bin", "content_type": "application/octet-stream", "content": "@@ not base64 @@"}
    assert_error(us1.post(path, json={**good, "attachments": [bad_attachment]}), 400, "invalid_request_error")

    oversized = json.dumps({**good, "body": "x" * (JSON_LIMIT + 100_000)}).encode()
    assert_error(raw_request(us1, "POST", path, oversized, "application/json"), 413, "request_too_large")

    assert_error(us1.post(path, data=json.dumps(good), headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")

    for node in (us1, us2):
        assert_error(node.post(f"/v3/grants/{uuid.uuid4()}/messages/send", json=good), 404, "not_found_error")

    # reply_to_message_id naming nothing of this grant: no such id, or another grant's message.
    append(other.imaplib(us1), "INBOX", message("their message"))
    theirs = by_subject(us1, other.grant, "their message")
    for missing in ("0" * 32, "no-such-message", theirs["id"]):
        r = us1.post(path, json={**good, "reply_to_message_id": missing})
        assert r.status_code in (400, 404), (missing, r.status_code, r.text)
        error = assert_error(r, r.status_code, "invalid_request_error" if r.status_code == 400 else "not_found_error")
        assert "reply_to_message_id" in error["message"], (missing, error)

    # Nothing was sent: no Sent copy.
    assert list_messages(us1, g, **{"in": "sent"}) == []
    assert imap_folder(acct.imaplib(us1), "Sent") == {}


# --- drafts ------------------------------------------------------------------------------------------

def test_an_oversized_body_gets_413_and_the_connection_closed(account, us1, eu1):
    """A client that declares a body over the limit and waits for the server after sending part of
    it (past the limit) gets its 413 and then the end of the connection, on a keep-alive
    connection, directly and through a node of the other region: it never waits on a server that
    neither reads the rest nor hangs up."""
    grant = account(eu1).grant
    for node, path in ((eu1, "/v3/connect/custom"), (eu1, f"/v3/grants/{grant['id']}/messages/send"),
                       (us1, f"/v3/grants/{grant['id']}/messages/send")):
        host, port = node.entry["api"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {node.api_key}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {10 * JSON_LIMIT}\r\n\r\n").encode())
            sent = 0
            try:
                while sent < JSON_LIMIT + 65536:
                    sock.sendall(b" " * 65536)
                    sent += 65536
            except OSError:
                pass
            received = bytearray()
            try:
                while chunk := sock.recv(65536):  # b"" once the server has closed; a timeout fails the test
                    received.extend(chunk)
            except ConnectionResetError:
                pass
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), (node.id, path, bytes(received[:300]))
        assert b"connection: close" in head.lower(), head
        assert json.loads(body)["error"]["type"] == "request_too_large"


def test_drafts_create_update_delete_and_send(account, us1, us2):
    acct = account(us1)
    g = acct.grant
    base = drafts_path(g)
    conn = acct.imaplib(us2)
    plan = b"step 1\r\nstep 2\r\n\x00\xff"
    first = {"to": [{"name": "Bob", "email": "bob@example.org"}], "subject": "Draft one",
             "body": "<p>first version</p>",
             "attachments": [{"filename": "plan.bin", "content_type": "application/octet-stream", "content": b64(plan)}]}

    draft = ok(us1.post(base, json=first))["data"]
    assert draft["object"] == "draft" and draft["folders"] == ["drafts"], draft
    assert draft["grant_id"] == g["id"] and draft["subject"] == "Draft one", draft
    assert emails(draft["to"]) == ["bob@example.org"], draft
    assert [(a["filename"], a["size"]) for a in draft["attachments"]] == [("plan.bin", len(plan))], draft
    uid1, flags, msg = only_message(conn, "Drafts")
    assert "\\Draft" in flags, flags
    assert msg["Subject"] == "Draft one" and addresses(msg, "To") == ["bob@example.org"], msg.items()
    assert "first version" in text_of(msg, "text/html"), structure(msg)
    assert filenames(msg) == ["plan.bin"] and attachments_of(msg) == {"plan.bin": plan}, filenames(msg)

    listed = ok(us2.get(base))["data"]
    assert [(d["id"], d["object"]) for d in listed] == [(draft["id"], "draft")], listed
    one = ok(us2.get(f"{base}/{draft['id']}"))["data"]
    assert (one["id"], one["object"], one["subject"], one["folders"]) == (draft["id"], "draft", "Draft one", ["drafts"])

    # PUT replaces the content: same id, a new UID in IMAP, the old one gone. It names every
    # field, the attachment included: that attachment replaces the old one, it is not added to it.
    second = {**first, "subject": "Draft two", "body": "<p>second version</p>"}
    updated = ok(us2.put(f"{base}/{draft['id']}", json=second))["data"]
    assert (updated["id"], updated["object"], updated["subject"], updated["folders"]) == (
        draft["id"], "draft", "Draft two", ["drafts"]), updated
    assert [a["filename"] for a in updated["attachments"]] == ["plan.bin"], updated["attachments"]
    assert ok(us1.get(f"{base}/{draft['id']}"))["data"]["subject"] == "Draft two"
    uid2, flags, msg = only_message(conn, "Drafts")
    assert uid2 > uid1, (uid1, uid2)
    assert "\\Draft" in flags, flags
    assert msg["Subject"] == "Draft two" and "second version" in text_of(msg, "text/html"), msg.items()
    assert "first version" not in text_of(msg, "text/html") + text_of(msg, "text/plain")
    assert filenames(msg) == ["plan.bin"] and attachments_of(msg) == {"plan.bin": plan}, filenames(msg)
    typ, data = conn.uid("FETCH", str(uid1), "(FLAGS)")
    assert typ == "OK" and all(d is None for d in data), f"old UID {uid1} still there: {data}"

    assert ok(us1.delete(f"{base}/{draft['id']}"))
    assert_error(us2.get(f"{base}/{draft['id']}"), 404, "not_found_error")
    assert ok(us2.get(base))["data"] == []
    assert imap_folder(conn, "Drafts") == {}

    # Sending a draft: answers the sent message; the draft leaves Drafts, Sent has it.
    ready = ok(us1.post(base, json={"to": [{"email": "carol@example.net"}], "cc": [{"email": "dan@example.net"}],
                                    "subject": "Ready to go", "body": "<p>final words</p>"}))["data"]
    only_message(conn, "Drafts")
    sent = ok(us2.post(f"{base}/{ready['id']}"))["data"]
    assert sent["object"] == "message" and sent["folders"] == ["sent"] and sent["subject"] == "Ready to go", sent
    assert emails(sent["to"]) == ["carol@example.net"] and emails(sent["cc"]) == ["dan@example.net"], sent
    assert get_message(us1, g, sent["id"])["folders"] == ["sent"]
    assert_error(us1.get(f"{base}/{ready['id']}"), 404, "not_found_error")
    assert imap_folder(conn, "Drafts") == {}
    _, flags, msg = only_message(conn, "Sent")
    assert msg["Subject"] == "Ready to go" and addresses(msg, "Cc") == ["dan@example.net"], msg.items()
    assert "final words" in text_of(msg, "text/html")
    assert msg["Message-ID"] and msg["Date"], msg.items()
    assert "\\Draft" not in flags, flags

    # A draft needs no recipient; sending it does.
    lonely = ok(us1.post(base, json={"subject": "no one yet", "body": "<p>tbd</p>"}))["data"]
    assert lonely["object"] == "draft" and lonely["to"] == [], lonely
    assert_error(us2.post(f"{base}/{lonely['id']}"), 400, "invalid_request_error")
    assert ok(us1.get(f"{base}/{lonely['id']}"))["data"]["subject"] == "no one yet"
    assert only_message(conn, "Drafts")[2]["Subject"] == "no one yet"
    assert len(imap_folder(conn, "Sent")) == 1

    unknown = f"{base}/{'0' * 32}"
    assert_error(us1.get(unknown), 404, "not_found_error")
    assert_error(us1.put(unknown, json=first), 404, "not_found_error")
    assert_error(us1.delete(unknown), 404, "not_found_error")
    assert_error(us1.post(unknown), 404, "not_found_error")


# --- threads -----------------------------------------------------------------------------------------

def test_threads_group_a_conversation(account, us1, us2):
    acct = account(us1)
    g = acct.grant
    conn = acct.imaplib(us1)
    now = int(time.time())
    root, second = (f"<{uuid.uuid4().hex}@interop.test>" for _ in range(2))
    uid_a = append(conn, "INBOX", message("Quarterly plan", sender="Alice <alice@example.org>", to=acct.email,
                                          msgid=root, body="first cut of the plan\r\n", date=now - 7200),
                   flags="(\\Seen)", when=now - 7200)
    uid_b = append(conn, "INBOX", message("Re: Quarterly plan", sender="Bob <bob@example.org>",
                                          to=f"{acct.email}, alice@example.org", msgid=second, date=now - 3600,
                                          extra=f"In-Reply-To: {root}\r\nReferences: {root}\r\n".encode()),
                   flags="(\\Flagged)", when=now - 3600)
    uid_u = append(conn, "INBOX", message("Lunch on Thursday?", sender="Zed <zed@example.net>", to=acct.email,
                                          date=now - 1800),
                   flags="(\\Flagged)", when=now - 1800)
    a, b = by_subject(us1, g, "Quarterly plan"), by_subject(us1, g, "Re: Quarterly plan")
    u = by_subject(us1, g, "Lunch on Thursday?")
    c = ok(us2.post(send_path(g), json={"to": [{"email": "bob@example.org"}], "cc": [{"email": "alice@example.org"}],
                                        "subject": "Re: Quarterly plan", "body": "<p>Agreed, ship it.</p>",
                                        "reply_to_message_id": b["id"]}))["data"]
    conversation = [a, b, c]
    tid = a["thread_id"]
    assert [m["thread_id"] for m in conversation] == [tid] * 3, conversation
    assert u["thread_id"] != tid, u

    threads = list_threads(us2, g)
    assert sorted(t["id"] for t in threads) == sorted([tid, u["thread_id"]]), threads
    (t,) = [t for t in threads if t["id"] == tid]
    assert THREAD_KEYS <= set(t), sorted(THREAD_KEYS - set(t))
    assert t["object"] == "thread" and t["grant_id"] == g["id"], t
    assert sorted(t["message_ids"]) == sorted(m["id"] for m in conversation), t["message_ids"]
    assert t["draft_ids"] == [] and t["has_drafts"] is False and t["has_attachments"] is False, t
    assert sorted(t["folders"]) == ["inbox", "sent"], t["folders"]
    people = {p["email"].lower() for p in t["participants"]}
    assert {"alice@example.org", "bob@example.org", acct.email.lower()} <= people, people
    assert "zed@example.net" not in people, people
    assert t["subject"].endswith("Quarterly plan"), t["subject"]
    assert (t["unread"], t["starred"]) == (True, True), t  # b is unread and flagged
    latest = t["latest_draft_or_message"]
    assert latest["id"] == c["id"] and latest["object"] == "message" and latest["thread_id"] == tid, latest
    assert t["snippet"] == c["snippet"], (t["snippet"], c["snippet"])
    assert t["earliest_message_date"] == a["date"] == now - 7200, (t, a)
    assert near(t["latest_message_sent_date"], c["date"]), (t, c)
    assert near(t["latest_message_received_date"], b["date"]) or near(t["latest_message_received_date"], c["date"]), t

    one = get_thread(us1, g, tid)
    for key in THREAD_KEYS - {"latest_draft_or_message", "message_ids", "participants", "folders"}:
        assert one[key] == t[key], (key, one[key], t[key])
    for key in ("message_ids", "folders"):
        assert sorted(one[key]) == sorted(t[key]), (key, one[key], t[key])
    assert one["latest_draft_or_message"]["id"] == c["id"], one
    assert sorted(m["id"] for m in list_messages(us2, g, thread_id=tid)) == sorted(t["message_ids"])
    for m in conversation:
        assert get_message(us2, g, m["id"])["thread_id"] == tid

    typ, caps = conn.capability()
    if "OBJECTID" in caps[0].decode().upper().split():
        inbox = threadids(conn, "INBOX")
        assert (inbox[uid_a], inbox[uid_b], inbox[uid_u]) == (tid, tid, u["thread_id"]), inbox
        assert list(threadids(conn, "Sent").values()) == [tid]

    # Aggregates follow the messages; the unrelated (unread, flagged) thread stays apart.
    for m in conversation:
        ok(us1.put(f"/v3/grants/{g['id']}/messages/{m['id']}", json={"unread": False, "starred": False}))
    t = get_thread(us2, g, tid)
    assert (t["unread"], t["starred"]) == (False, False), t
    lunch = get_thread(us2, g, u["thread_id"])
    assert (lunch["unread"], lunch["starred"]) == (True, True), lunch
    assert lunch["message_ids"] == [u["id"]] and lunch["participants"], lunch
    ok(us1.put(f"/v3/grants/{g['id']}/messages/{a['id']}", json={"starred": True}))
    assert get_thread(us1, g, tid)["starred"] is True

    def thread_ids(**params):
        return sorted(x["id"] for x in list_threads(us2, g, **params))
    assert thread_ids(unread="true") == [u["thread_id"]]
    assert thread_ids(unread="false") == [tid]
    assert thread_ids(starred="true") == sorted([tid, u["thread_id"]])
    assert thread_ids(**{"in": "sent"}) == [tid]
    assert thread_ids(subject="quarterly") == [tid]
    assert thread_ids(any_email="zed@example.net") == [u["thread_id"]]

    # A reply draft joins the thread as a draft.
    time.sleep(1.1)  # a later second than c's
    draft = ok(us1.post(drafts_path(g), json={"to": [{"email": "bob@example.org"}], "subject": "Re: Quarterly plan",
                                              "body": "<p>one more thing</p>", "reply_to_message_id": c["id"]}))["data"]
    assert draft["thread_id"] == tid, draft
    t = get_thread(us2, g, tid)
    assert t["draft_ids"] == [draft["id"]] and t["has_drafts"] is True, t
    assert draft["id"] not in t["message_ids"] and len(t["message_ids"]) == 3, t
    assert t["latest_draft_or_message"]["id"] == draft["id"], t["latest_draft_or_message"]


def test_thread_subject_fallback_pagination_and_unknown_ids(account, us1, us2):
    acct, other = account(us1), account(us1)
    g = acct.grant
    conn = acct.imaplib(us1)
    now = int(time.time())
    for offset, subject in ((5000, "Weekly sync"), (4000, "Re: Weekly sync"), (3000, "Budget 2027"),
                            (2000, "Hiring update"), (1000, "Re: Something never seen here")):
        # No In-Reply-To / References anywhere: "Re: <subject>" joins "<subject>" by subject alone.
        append(conn, "INBOX", message(subject, date=now - offset), when=now - offset)
    weekly, reply = by_subject(us1, g, "Weekly sync"), by_subject(us1, g, "Re: Weekly sync")
    assert reply["thread_id"] == weekly["thread_id"], (weekly, reply)
    t = get_thread(us2, g, weekly["thread_id"])
    assert sorted(t["message_ids"]) == sorted([weekly["id"], reply["id"]]), t
    assert t["latest_draft_or_message"]["id"] == reply["id"], t

    full = list_threads(us2, g, limit=50)
    assert len(full) == 4, [x["subject"] for x in full]
    # Newest conversation first, as messages are listed.
    assert [x["latest_draft_or_message"]["subject"] for x in full] == [
        "Re: Something never seen here", "Hiring update", "Budget 2027", "Re: Weekly sync"], full
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": 1}
        if token:
            params["page_token"] = token
        body = ok(us2.get(threads_path(g), params=params))
        assert len(body["data"]) == 1, body
        seen += [x["id"] for x in body["data"]]
        pages += 1
        token = body.get("next_cursor")
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert seen == [x["id"] for x in full] and len(set(seen)) == 4 and pages == 4, (seen, full)

    append(other.imaplib(us1), "INBOX", message("not yours"))
    theirs = by_subject(us1, other.grant, "not yours")["thread_id"]
    assert get_thread(us1, other.grant, theirs)["id"] == theirs
    for missing in ("0" * 32, "no-such-thread", theirs):
        for node in (us1, us2):
            assert_error(node.get(f"{threads_path(g)}/{missing}"), 404, "not_found_error")
    for bad in ({"limit": 0}, {"limit": "abc"}, {"page_token": "garbage"}):
        assert_error(us1.get(threads_path(g), params=bad), 400, "invalid_request_error")


# --- search_query_native ------------------------------------------------------------------------------

def test_search_query_native(account, us1, us2):
    acct = account(us1)
    g = acct.grant
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("Invoice 1001", sender="Billing <billing@vendor.example>",
                                  body="amount due: 40 EUR\r\n"), flags="(\\Seen)")
    append(conn, "INBOX", message("Team offsite plans", sender="carol@example.net",
                                  body="bring the needle and thread\r\n"))
    append(conn, "INBOX", message("Offsite invoice", sender="dave@example.org", body="nothing to see\r\n"),
           flags="(\\Flagged)")
    append(conn, "Archive", message("Invoice archived", sender="billing@vendor.example", body="another needle\r\n"),
           flags="(\\Seen)")
    assert len(list_messages(us1, g)) == 4

    def search(query, **params):
        return sorted(m["subject"] for m in list_messages(us2, g, search_query_native=query, **params))

    assert search('SUBJECT "invoice"') == ["Invoice 1001", "Invoice archived", "Offsite invoice"]
    assert search('SUBJECT "team offsite"') == ["Team offsite plans"]
    assert search("FROM billing@vendor.example") == ["Invoice 1001", "Invoice archived"]
    assert search("FROM carol") == ["Team offsite plans"]
    assert search("UNSEEN") == ["Offsite invoice", "Team offsite plans"]
    assert search("BODY needle") == ["Invoice archived", "Team offsite plans"]
    assert search("OR FLAGGED SEEN") == ["Invoice 1001", "Invoice archived", "Offsite invoice"]
    assert search('SUBJECT "invoice" UNSEEN') == ["Offsite invoice"]
    assert search('subject "INVOICE" unseen') == ["Offsite invoice"]  # keys and values: any case
    assert search("OR (FROM carol@example.net) (FLAGGED)") == ["Offsite invoice", "Team offsite plans"]
    assert search("NOT SEEN SUBJECT offsite") == ["Offsite invoice", "Team offsite plans"]
    assert search('SUBJECT "no such subject"') == []
    # Combined with `in`.
    assert search('SUBJECT "invoice"', **{"in": "inbox"}) == ["Invoice 1001", "Offsite invoice"]
    assert search("BODY needle", **{"in": "inbox"}) == ["Team offsite plans"]
    assert search("OR FLAGGED SEEN", **{"in": "archive"}) == ["Invoice archived"]
    assert search("SEEN", **{"in": "inbox"}) == ["Invoice 1001"]

    for query in ("SUBJECT", "(SUBJECT x", "SUBJECT x)", "OR SEEN", "FROBNICATE", 'SUBJECT "unterminated'):
        error = assert_error(us1.get(f"/v3/grants/{g['id']}/messages", params={"search_query_native": query}),
                             400, "invalid_request_error")
        assert "search_query_native" in error["message"], (query, error)

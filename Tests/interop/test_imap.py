"""IMAP interoperability: real client libraries (imaplib, imapclient, imap_tools) against the nodes.

Every test makes its own grant (unique address). Grants made through a US node live in US and log
in through us-1 / us-2; the EU test uses eu-1. TLS is verified against the cluster's self-signed
certificates (cluster/run/tls/mail.<region>.localhost.crt, which carry IP SAN 127.0.0.1).
"""
import email
import email.errors
import email.parser
import imaplib
import re
import socket
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import imapclient
import pytest
from imap_tools import AND, MailBoxStartTls, MailMessageFlags
from imapclient import imap_utf7

from conftest import REPO
from helpers import (SourcedIMAP4_SSL, addr, appenduid, fresh_source, message, ok, tls_context, tls_socket, unique_email,
                     valid_password, wait_for)

CORPUS = (REPO / ".." / "shared" / "corpus" / "python-email").resolve()
SYSTEM_FOLDERS = {"INBOX": None, "Sent": b"\\Sent", "Drafts": b"\\Drafts", "Trash": b"\\Trash",
                  "Junk": b"\\Junk", "Archive": b"\\Archive"}
# What imaplib does to a literal on APPEND (imaplib.MapCRLF): every CR, LF or CRLF becomes CRLF.
CRLF_RE = re.compile(rb"\r\n|\r(?!\n)|\n")


# --- helpers -------------------------------------------------------------------------------------

def crlf(data):
    return CRLF_RE.sub(b"\r\n", data)


def copyuid(text):
    text = text.decode() if isinstance(text, bytes) else str(text)
    match = re.search(r"\[COPYUID (\d+) (\S+) (\S+)\]", text)
    assert match, f"no COPYUID in {text!r}"
    return int(match.group(1)), match.group(2), match.group(3)


# --- first sync ------------------------------------------------------------------------------------

def test_first_sync_flow_imapclient(account, us1, us2):
    acct = account(us1)
    # Seed the INBOX from another session (another node), as mail would arrive.
    feeder = acct.imaplib(us2)
    subjects = [f"sync {i}" for i in range(3)]
    for i, subject in enumerate(subjects):
        typ, data = feeder.append("INBOX", "(\\Seen)" if i == 0 else None, None, message(subject))
        assert typ == "OK", data

    client = acct.imapclient(us1, login=False)
    pre = client.capabilities()
    assert b"IMAP4REV1" in pre and b"AUTH=PLAIN" in pre, pre
    assert b"LOGINDISABLED" not in pre
    client.login(acct.email, acct.password)
    caps = client.capabilities()
    for cap in (b"IMAP4REV1", b"IDLE", b"NAMESPACE", b"ID", b"ENABLE"):
        assert cap in caps, (cap, caps)
    client.id_({"name": "interop-test", "version": "1"})

    folders = client.list_folders()
    by_name = {name: (flags, delim) for flags, delim, name in folders}
    for name, special in SYSTEM_FOLDERS.items():
        assert name in by_name, folders
        flags, delim = by_name[name]
        assert delim == b"/"
        if special:
            assert special in flags, (name, flags)
        assert b"\\HasNoChildren" in flags or b"\\HasChildren" in flags, (name, flags)
    assert client.find_special_folder(imapclient.imapclient.SENT) == "Sent"
    assert client.find_special_folder(imapclient.imapclient.TRASH) == "Trash"

    info = client.select_folder("INBOX")
    assert info[b"EXISTS"] == 3, info
    assert info[b"UIDVALIDITY"] > 0
    assert info[b"UIDNEXT"] >= 4
    assert info.get(b"READ-WRITE"), info

    flags = client.fetch(client.search("ALL"), ["FLAGS"])
    assert len(flags) == 3
    uids = sorted(flags)
    # The literal command a client resyncs with: UID FETCH 1:* (FLAGS).
    feeder.select("INBOX", readonly=True)
    typ, data = feeder.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    assert [int(re.search(rb"UID (\d+)", d).group(1)) for d in data] == uids, data
    assert uids == sorted(set(uids)) and all(u < info[b"UIDNEXT"] for u in uids)
    assert b"\\Seen" in flags[uids[0]][b"FLAGS"]
    assert b"\\Seen" not in flags[uids[1]][b"FLAGS"]

    headers = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)]", "RFC822.SIZE",
                                  "INTERNALDATE", "ENVELOPE"])
    for uid, subject in zip(uids, subjects):
        part = headers[uid][b"BODY[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)]"]
        assert f"Subject: {subject}\r\n".encode() in part, part
        assert part.endswith(b"\r\n\r\n"), part
        assert b"To:" not in part
        envelope = headers[uid][b"ENVELOPE"]
        assert envelope.subject == subject.encode()
        assert envelope.from_[0].mailbox == b"alice" and envelope.from_[0].host == b"example.org"
    # The header fetch was a PEEK: nothing became \Seen.
    assert b"\\Seen" not in client.fetch(uids[1], ["FLAGS"])[uids[1]][b"FLAGS"]

    structure = client.fetch(uids, ["BODYSTRUCTURE"])
    for uid in uids:
        body = structure[uid][b"BODYSTRUCTURE"]
        assert not body.is_multipart
        assert body[0].lower() == b"text" and body[1].lower() == b"plain", body
    client.logout()


def test_capabilities_advertise_the_implemented_extensions(account, us1):
    """The server implements UIDPLUS (APPENDUID/COPYUID, UID EXPUNGE), MOVE, QUOTA, SPECIAL-USE,
    UNSELECT, ESEARCH, MULTIAPPEND, BINARY and CHILDREN; an IMAP4rev1 client (imapclient's move(),
    uid_expunge(), get_quota_root(), multiappend() check for them) only uses what is advertised."""
    acct = account(us1)
    client = acct.imapclient(us1)
    caps = set(client.capabilities())
    wanted = {b"UIDPLUS", b"MOVE", b"QUOTA", b"SPECIAL-USE", b"UNSELECT", b"ESEARCH", b"MULTIAPPEND",
              b"BINARY", b"CHILDREN"}
    assert wanted <= caps, f"implemented but not advertised: {sorted(wanted - caps)}; CAPABILITY: {sorted(caps)}"


# --- new mail: IDLE push across the nodes of one region ------------------------------------------

def test_idle_on_us2_gets_exists_pushed_for_append_on_us1(account, us1, us2):
    acct = account(us1)
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    writer = acct.imaplib(us1)
    latencies, totals = [], []
    for round_no in range(3):
        idler.idle()
        time.sleep(0.2)  # let the server set up the subscription
        received = {}

        def watch():
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                for resp in idler.idle_check(timeout=0.5):
                    if len(resp) >= 2 and resp[1] == b"EXISTS":
                        received["at"] = time.monotonic()
                        received["exists"] = resp[0]
                        return

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        typ, data = writer.append("INBOX", None, None, message(f"push {round_no}"))
        committed = time.monotonic()
        assert typ == "OK", data
        watcher.join()
        idler.idle_done()
        assert "at" in received, f"round {round_no}: no EXISTS within 8 s of the APPEND on us-1"
        assert received["exists"] == round_no + 1
        latencies.append(received["at"] - committed)
        totals.append(received["at"] - started)
    print(f"\nIDLE push latency us-1 APPEND -> us-2 EXISTS: after the tagged OK "
          f"{[round(x * 1000, 1) for x in latencies]} ms; from the APPEND sent "
          f"{[round(x * 1000, 1) for x in totals]} ms (median {statistics.median(totals) * 1000:.1f} ms)")
    # Pushed, not polled (the change-log poll runs every 5 s).
    assert max(totals) < 2.0, totals
    idler.logout()


def test_idle_gets_expunge_and_flag_fetch_from_the_other_node(account, us1, us2):
    acct = account(us1)
    writer = acct.imaplib(us1)
    for i in range(2):
        assert writer.append("INBOX", None, None, message(f"idle-ev {i}"))[0] == "OK"
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    idler.idle()
    time.sleep(0.2)
    writer.select("INBOX")
    assert writer.store("1", "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
    assert writer.store("2", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert writer.expunge()[0] == "OK"
    seen = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline and not (
            any(r[1] == b"EXPUNGE" for r in seen) and any(r[1] == b"FETCH" for r in seen)):
        seen += [r for r in idler.idle_check(timeout=0.5) if len(r) >= 2]
    idler.idle_done()
    assert (2, b"EXPUNGE") in [(r[0], r[1]) for r in seen], seen
    fetches = [r for r in seen if r[1] == b"FETCH" and r[0] == 1]
    assert fetches and b"\\Flagged" in dict(zip(fetches[-1][2][::2], fetches[-1][2][1::2]))[b"FLAGS"], seen


# --- marking read ------------------------------------------------------------------------------------

def test_seen_flag_set_on_one_node_is_seen_by_the_other(account, us1, us2):
    acct = account(us1)
    box = acct.imap_tools(us1)
    box.append(message("mark me"), "INBOX")
    box.append(message("leave me"), "INBOX")
    uids = box.uids("ALL")
    assert len(uids) == 2

    other = acct.imaplib(us2)
    typ, data = other.select("INBOX")
    assert typ == "OK" and data == [b"2"]

    box.flag(uids[0], MailMessageFlags.SEEN, True)
    assert MailMessageFlags.SEEN in next(box.fetch(AND(uid=uids[0]), mark_seen=False)).flags

    typ, data = other.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    lines = {re.search(rb"UID (\d+)", d).group(1).decode(): d for d in data}
    assert b"\\Seen" in lines[uids[0]], lines
    assert b"\\Seen" not in lines[uids[1]], lines


def test_noop_reports_new_mail_and_flag_changes_from_other_sessions(account, us1, us2):
    """RFC 3501/9051 5.2: a server MUST send mailbox size updates it observes while processing a
    command and SHOULD send flag updates unasked; 6.1.2: NOOP is the client's poll for both."""
    acct = account(us1)
    writer = acct.imaplib(us1)
    watchers = {"same node": acct.imaplib(us1), "other node": acct.imaplib(us2)}
    for conn in watchers.values():
        assert conn.select("INBOX") == ("OK", [b"0"])
        conn.untagged_responses.clear()
    assert writer.append("INBOX", None, None, message("poll me"))[0] == "OK"

    def exists(conn):
        conn.noop()
        return conn.untagged_responses.pop("EXISTS", None)
    for where, conn in watchers.items():
        got = wait_for(lambda: exists(conn), timeout=6, interval=0.5)
        assert got == [b"1"], f"{where}: NOOP after APPEND by another session: EXISTS {got}"

    writer.select("INBOX")
    assert writer.store("1", "+FLAGS.SILENT", "(\\Seen)")[0] == "OK"

    def fetches(conn):
        conn.noop()
        return conn.untagged_responses.pop("FETCH", None)
    for where, conn in watchers.items():
        got = wait_for(lambda: fetches(conn), timeout=6, interval=0.5)
        assert got and b"\\Seen" in got[-1], f"{where}: NOOP after STORE by another session: FETCH {got}"


def _quiet_releases(node):
    text = node.admin_get("/metrics").text
    match = re.search(r"^mailnode_imap_quiet_buffer_releases_total (\d+)", text, re.M)
    return int(match.group(1)) if match else 0


def test_a_quiet_tls_session_gives_its_buffers_back_and_goes_on(account, us1):
    """A TLS session that has had no byte either way for a second gives its buffers' pages back
    (mailnode_imap_quiet_buffer_releases_total). What crosses it afterwards is intact: a large
    literal in, a large FETCH out (both spanning many TLS records), an IDLE push and its DONE."""
    acct = account(us1)
    conn = acct.imaplib(us1)
    conn.select("INBOX")

    def quiet_for_a_release():
        count = _quiet_releases(us1)
        assert wait_for(lambda: _quiet_releases(us1) > count, timeout=10), "no release within 10 s"

    big = crlf(message("quiet and large", body="".join(f"line {n:05} of a long body\r\n" for n in range(4000))))
    assert len(big) > 100_000
    quiet_for_a_release()
    typ, data = conn.append("INBOX", None, None, big)
    assert typ == "OK", data
    quiet_for_a_release()
    typ, data = conn.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == big
    quiet_for_a_release()
    typ, data = conn.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == big

    idler = acct.imapclient(us1)
    idler.select_folder("INBOX")
    idler.idle()
    quiet_for_a_release()
    typ, data = conn.append("INBOX", None, None, crlf(message("pushed after a release")))
    assert typ == "OK", data
    pushed = []
    deadline = time.monotonic() + 8
    while not pushed and time.monotonic() < deadline:
        pushed = [resp for resp in idler.idle_check(timeout=0.5) if len(resp) >= 2 and resp[1] == b"EXISTS"]
    assert pushed and pushed[0][0] == 2, pushed
    quiet_for_a_release()
    idler.idle_done()
    assert idler.fetch([2], ["ENVELOPE"])[2][b"ENVELOPE"].subject == b"pushed after a release"
    idler.logout()
    conn.logout()


def test_a_large_append_is_stored_whole_while_the_node_serves_others(account, us1):
    """A message past the size from which a node parses off its event loop (256 KiB): a 3 MB
    message with a base64 attachment, APPENDed while another session of the same node keeps sending
    NOOPs. It comes back byte for byte, its BODYSTRUCTURE names the attachment, and the other
    session got every answer."""
    import base64
    import os

    acct = account(us1)
    attachment = base64.encodebytes(os.urandom(2 * 1024 * 1024)).decode().replace("\n", "\r\n")
    big = (
        "From: Ann <ann@example.com>\r\nTo: Bob <bob@example.net>\r\nSubject: the large plans\r\n"
        "Message-ID: <large-plans@example.com>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHere they are.\r\n'
        '--b1\r\nContent-Type: application/octet-stream; name="plans.bin"\r\nContent-Transfer-Encoding: base64\r\n'
        'Content-Disposition: attachment; filename="plans.bin"\r\n\r\n' + attachment + "--b1--\r\n").encode()
    assert len(big) > 256 * 1024

    other = acct.imaplib(us1)
    other.select("INBOX")
    stop = threading.Event()
    answered = threading.Event()
    answers = []

    def keep_asking():
        while not stop.is_set():
            typ, _ = other.noop()
            answers.append(typ)
            answered.set()

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        assert answered.wait(timeout=10), "no NOOP answered before the APPEND"
        conn = acct.imaplib(us1)
        typ, data = conn.append("INBOX", None, None, big)
        assert typ == "OK", data
        _, uid = appenduid(data[0])
    finally:
        stop.set()
        asker.join(timeout=30)
    assert answers and set(answers) == {"OK"}

    conn.select("INBOX", readonly=True)
    typ, data = conn.uid("FETCH", str(uid), "(RFC822.SIZE BODY.PEEK[] BODYSTRUCTURE)")
    assert typ == "OK", data
    assert data[0][1] == big
    text = b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data)
    assert f"RFC822.SIZE {len(big)}".encode() in text
    assert re.search(rb'"application" "octet-stream"', text, re.I)
    assert b'"plans.bin"' in text


def _content_cache_hits(node):
    text = node.admin_get("/metrics").text
    match = re.search(r'^mailnode_imap_content_cache_total\{result="hit"\} (\d+)', text, re.M)
    return int(match.group(1)) if match else 0


def test_content_read_again_is_the_same_and_flags_stay_current(account, us1, us2):
    """A node keeps the content of messages its sessions read (imap.content_cache_bytes): reading
    it again gives the same bytes and envelope, while flags set elsewhere show as they are now."""
    acct = account(us1)
    reader = acct.imapclient(us1)
    raw = crlf(message("read twice", body="the same bytes every time"))
    reader.append("INBOX", raw)
    assert reader.select_folder("INBOX")[b"EXISTS"] == 1
    (uid,) = reader.search("ALL")
    first = reader.fetch([uid], ["ENVELOPE", "BODY.PEEK[]", "FLAGS"])
    assert first[uid][b"BODY[]"] == raw
    assert first[uid][b"ENVELOPE"].subject == b"read twice"
    assert b"\\Flagged" not in first[uid][b"FLAGS"]
    hits_before = _content_cache_hits(us1)

    other = acct.imaplib(us2)
    other.select("INBOX")
    assert other.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"

    def flagged():
        reader.noop()
        return b"\\Flagged" in reader.get_flags([uid]).get(uid, ())
    assert wait_for(flagged, timeout=6, interval=0.2), "the flag set on us-2 never reached the session on us-1"

    again = reader.fetch([uid], ["ENVELOPE", "BODY.PEEK[]", "FLAGS"])
    assert again[uid][b"BODY[]"] == raw
    assert again[uid][b"ENVELOPE"] == first[uid][b"ENVELOPE"]
    assert b"\\Flagged" in again[uid][b"FLAGS"]
    assert _content_cache_hits(us1) > hits_before


def test_reading_a_body_sets_seen_that_another_session_just_cleared(account, us1, us2):
    """RFC 9051 6.4.5: FETCH BODY[] sets \\Seen. The reader's view of the flags may lag a change
    made by another session; the flag is set from what is stored, not from that view."""
    acct = account(us1)
    reader = acct.imaplib(us1)
    assert reader.append("INBOX", "(\\Seen)", None, message("seen again"))[0] == "OK"
    assert reader.select("INBOX") == ("OK", [b"1"])
    assert reader.fetch("1", "(BODY[])")[0] == "OK"
    other = acct.imaplib(us2)
    other.select("INBOX")
    assert other.store("1", "-FLAGS", "(\\Seen)")[0] == "OK"
    typ, data = reader.fetch("1", "(BODY[])")
    assert typ == "OK"

    def seen_again():
        other.noop()
        typ, flags = other.fetch("1", "(FLAGS)")
        return typ == "OK" and b"\\Seen" in flags[0]
    assert wait_for(seen_again, timeout=6, interval=0.2), "FETCH BODY[] did not set \\Seen again"


# --- deleting to Trash ---------------------------------------------------------------------------

def test_expunge_moves_to_trash_and_expunge_in_trash_deletes(account, us1, us2):
    acct = account(us1)
    box = acct.imap_tools(us1)
    box.append(message("doomed", body="goodbye\r\n"), "INBOX")
    box.append(message("keeper"), "INBOX")
    doomed = box.uids(AND(subject="doomed"))
    assert len(doomed) == 1
    box.delete(doomed)  # STORE +FLAGS (\Deleted) then EXPUNGE
    assert [m.subject for m in box.fetch(mark_seen=False)] == ["keeper"]

    # The message is in Trash (new UID there), as seen from another node.
    other = acct.imapclient(us2)
    info = other.select_folder("Trash")
    assert info[b"EXISTS"] == 1, info
    (trash_uid, data), = other.fetch(other.search("ALL"), ["ENVELOPE", "BODY.PEEK[TEXT]"]).items()
    assert data[b"ENVELOPE"].subject == b"doomed"
    assert data[b"BODY[TEXT]"] == b"goodbye\r\n"

    box.folder.set("Trash")
    assert box.uids("ALL") == [str(trash_uid)]
    box.delete(str(trash_uid))
    assert box.uids("ALL") == []
    other.noop()
    assert other.select_folder("Trash")[b"EXISTS"] == 0
    assert other.select_folder("INBOX")[b"EXISTS"] == 1
    # Gone for good: not back in INBOX, not anywhere else.
    for folder in ("Sent", "Drafts", "Junk", "Archive"):
        assert other.folder_status(folder, ["MESSAGES"])[b"MESSAGES"] == 0


# --- the corpus, byte for byte -------------------------------------------------------------------

def corpus_files():
    files = sorted(CORPUS.glob("msg_*.txt"))
    assert files, f"no corpus in {CORPUS}"
    return files


def test_corpus_round_trips_byte_for_byte(account, us1):
    acct = account(us1)
    conn = acct.imaplib(us1)
    parser = email.parser.BytesHeaderParser()
    # Some corpus messages share a Message-ID; APPEND deduplicates per folder, so the n-th message with
    # a given Message-ID goes to folder Corpus-n.
    occurrences, plan = {}, []
    for path in corpus_files():
        data = crlf(path.read_bytes())
        msgid = (parser.parsebytes(data).get("Message-ID") or "").strip()
        n = occurrences.get(msgid, 0) if msgid else 0
        if msgid:
            occurrences[msgid] = n + 1
        plan.append((path.name, f"Corpus-{n}", data))
    for folder in sorted({f for _, f, _ in plan}):
        assert conn.create(folder)[0] == "OK"

    stored = []
    for name, folder, data in plan:
        typ, resp = conn.append(folder, None, None, data)
        assert typ == "OK", (name, resp)
        stored.append((name, folder, data, appenduid(resp[-1])[1]))

    checker = acct.imapclient(us1)
    failures = []
    for folder in sorted({f for _, f, _ in plan}):
        checker.select_folder(folder, readonly=True)
        mine = [(n, d, u) for n, f, d, u in stored if f == folder]
        assert len({u for _, _, u in mine}) == len(mine), f"{folder}: UIDs shared: {mine}"
        got = checker.fetch([u for _, _, u in mine], ["BODY.PEEK[]", "RFC822.SIZE", "BODYSTRUCTURE"])
        for name, data, uid in mine:
            item = got.get(uid)
            if item is None:
                failures.append(f"{name}: UID {uid} not fetched")
                continue
            if item[b"BODY[]"] != data:
                failures.append(f"{name}: BODY[] differs ({len(item[b'BODY[]'])} bytes back, {len(data)} sent)")
            if item[b"RFC822.SIZE"] != len(data):
                failures.append(f"{name}: RFC822.SIZE {item[b'RFC822.SIZE']} != {len(data)}")
            if not isinstance(item.get(b"BODYSTRUCTURE"), imapclient.response_types.BodyData):
                failures.append(f"{name}: BODYSTRUCTURE not parsed: {item.get(b'BODYSTRUCTURE')!r}")
    assert not failures, "\n".join(failures)


BOUNDARY_DEFECTS = (email.errors.NoBoundaryInMultipartDefect, email.errors.StartBoundaryNotFoundDefect,
                    email.errors.MultipartInvariantViolationDefect)


# Shapes RFC 2046 leaves open: msg_37 has consecutive boundary lines, i.e. empty body parts, which
# the email package drops and a server may report as empty text/plain parts. msg_15 and msg_39 nest
# multiparts that reuse their parent's boundary (5.1.2 forbids it): the email package cuts the
# parent at every delimiter, while the server, like Dovecot, lets the inner multipart own the
# delimiters up to its close delimiter (the MIME tests pin that shape).
AMBIGUOUS_SHAPES = {"msg_37.txt", "msg_15.txt", "msg_39.txt"}


def _shape(parsed):
    """(type, [child shapes]) as Python's email package sees it; None below a broken multipart."""
    if any(isinstance(d, BOUNDARY_DEFECTS) for d in parsed.defects):
        return None
    if parsed.get_content_maintype() == "multipart":
        return (parsed.get_content_type(), [_shape(p) for p in parsed.get_payload()])
    return (parsed.get_content_type(), None)


def _bs_shape(body):
    if body.is_multipart:
        subtype = body[1].decode().lower()
        return (f"multipart/{subtype}", [_bs_shape(p) for p in body[0]])
    return (f"{body[0].decode()}/{body[1].decode()}".lower(), None)


def _same(py, bs):
    if py is None:  # a multipart without usable boundary: any shape will do
        return True
    if py[0] != bs[0]:
        return False
    if py[1] is None:
        return True
    return bs[1] is not None and len(py[1]) == len(bs[1]) and all(_same(a, b) for a, b in zip(py[1], bs[1]))


def test_corpus_bodystructure_matches_the_mime_tree(account, us1):
    """imapclient parses each BODYSTRUCTURE and its MIME tree (types and part counts) is the one
    Python's email package finds (RFC 2045/2046/2231); multiparts without a usable boundary are
    left out of the comparison."""
    acct = account(us1)
    client = acct.imapclient(us1)
    client.create_folder("Shapes")
    mismatches = []
    for path in corpus_files():
        data = crlf(path.read_bytes())
        # One folder per message avoids Message-ID dedup between corpus messages.
        folder = f"Shapes/{path.stem}"
        client.create_folder(folder)
        uid = appenduid(client.append(folder, data))[1]
        client.select_folder(folder, readonly=True)
        body = client.fetch([uid], ["BODYSTRUCTURE"])[uid][b"BODYSTRUCTURE"]
        assert isinstance(body, imapclient.response_types.BodyData), (path.name, body)
        expected, got = _shape(email.message_from_bytes(data)), _bs_shape(body)
        if path.name not in AMBIGUOUS_SHAPES and not _same(expected, got):
            mismatches.append(f"{path.name}: server {got} vs email package {expected}")
    assert not mismatches, "\n".join(mismatches)


# --- APPEND dedup, UIDPLUS, COPY, MOVE -----------------------------------------------------------

def test_append_dedup_copyuid_and_move(account, us1, us2):
    acct = account(us1)
    client = acct.imapclient(us1)
    data = message("dedup me", msgid="<dedup-1@interop.test>")
    validity, first = appenduid(client.append("INBOX", data))
    again = appenduid(acct.imapclient(us2).append("INBOX", data))
    assert again == (validity, first), "second APPEND of the same Message-ID must answer the existing UID"
    info = client.select_folder("INBOX")
    assert info[b"EXISTS"] == 1 and info[b"UIDVALIDITY"] == validity
    # The same Message-ID in another folder is a separate message.
    arch_validity, arch_uid = appenduid(client.append("Archive", data))
    assert client.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"] == 1

    other = appenduid(client.append("INBOX", message("move me")))[1]
    # COPY: source untouched, COPYUID names the source and new UIDs.
    raw = acct.imaplib(us1)
    raw.select("INBOX")
    typ, copy_resp = raw._simple_command("UID", "COPY", str(first), "Drafts")  # the tagged OK's text
    assert typ == "OK", copy_resp
    drafts_validity, src, dst = copyuid(copy_resp[-1])
    assert src == str(first)
    assert drafts_validity == client.folder_status("Drafts", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert client.select_folder("INBOX")[b"EXISTS"] == 2

    # MOVE (RFC 6851) through the UID form: COPYUID in the OK (or an untagged OK), EXPUNGE, gone here.
    typ, resp = raw._simple_command("UID", "MOVE", str(other), "Junk")
    assert typ == "OK", resp
    untagged_ok = raw.untagged_responses.get("OK", [])
    texts = [r.decode() if isinstance(r, bytes) else str(r) for r in resp + untagged_ok]
    codes = [t for t in texts if "COPYUID" in t]
    assert codes, texts
    junk_validity, moved_src, moved_dst = copyuid(codes[0])
    assert moved_src == str(other)
    assert raw.untagged_responses.get("EXPUNGE"), raw.untagged_responses
    assert client.select_folder("INBOX")[b"EXISTS"] == 1
    client.select_folder("Junk")
    fetched = client.fetch([int(moved_dst)], ["ENVELOPE"])
    assert fetched[int(moved_dst)][b"ENVELOPE"].subject == b"move me"


def test_imap_tools_move_leaves_nothing_behind(account, us1):
    """imap_tools moves with UID MOVE when MOVE is advertised, else with COPY + STORE \\Deleted +
    EXPUNGE, which on this server (EXPUNGE outside Trash moves to Trash) would leave a copy in Trash."""
    acct = account(us1)
    box = acct.imap_tools(us1)
    box.append(message("move via imap_tools"), "INBOX")
    box.move(box.uids("ALL"), "Archive")
    assert box.uids("ALL") == []
    box.folder.set("Archive")
    assert [m.subject for m in box.fetch(mark_seen=False)] == ["move via imap_tools"]
    box.folder.set("Trash")
    assert [m.subject for m in box.fetch(mark_seen=False)] == [], "the moved message was also put in Trash"


def test_multiappend_and_uid_expunge(account, us1):
    acct = account(us1)
    raw = acct.imaplib(us1)
    raw.select("INBOX")
    subjects = [f"multi {n}" for n in range(1, 6)]
    one, *others = [message(subject) for subject in subjects]
    # MULTIAPPEND (RFC 3502): five messages in one command, APPENDUID with a UID set. The node
    # parses a MULTIAPPEND's messages side by side: each must keep its own facts.
    tag = raw._new_tag().decode()
    command = f"{tag} APPEND INBOX {{{len(one)}+}}\r\n".encode() + one
    for other in others:
        command += f" (\\Seen) {{{len(other)}+}}\r\n".encode() + other
    raw.send(command + b"\r\n")
    lines = []
    while True:
        line = raw.readline()
        lines.append(line)
        if line.startswith(tag.encode()):
            break
    assert lines[-1].startswith(f"{tag} OK".encode()), lines
    match = re.search(rb"\[APPENDUID \d+ (\d+)[:,](\d+)\]", lines[-1])
    assert match, lines
    first, last = int(match.group(1)), int(match.group(2))
    assert last == first + 4
    typ, data = raw.uid("FETCH", f"{first}:{last}", "(FLAGS ENVELOPE)")
    assert typ == "OK" and len([d for d in data if d]) == 5
    stored = {}
    for item in data:
        line = item if isinstance(item, bytes) else item[0]
        found = re.search(rb"UID (\d+)", line)
        subject = re.search(rb'ENVELOPE \("[^"]*" "([^"]*)"', line)
        assert found and subject, line
        stored[int(found.group(1))] = subject.group(1).decode()
    assert stored == {first + n: subject for n, subject in enumerate(subjects)}
    # UID EXPUNGE only removes the listed UIDs.
    raw.uid("STORE", f"{first}:{last}", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = raw.uid("EXPUNGE", f"{first}:{last - 1}")
    assert typ == "OK", data
    typ, data = raw.uid("SEARCH", None, "ALL")
    assert data[0].split() == [str(last).encode()]


# --- folders -----------------------------------------------------------------------------------------

def test_custom_folders_create_rename_delete_nested_and_non_ascii(account, us1, us2):
    acct = account(us1)
    client = acct.imapclient(us1)
    unicode_name = "Reçus/Été 2026 – 日本"
    client.create_folder("Projects")
    client.create_folder("Projects/Alpha")
    client.create_folder("Reçus")
    client.create_folder(unicode_name)

    listed = {name: flags for flags, _, name in client.list_folders()}
    assert b"\\HasChildren" in listed["Projects"], listed
    assert b"\\HasNoChildren" in listed["Projects/Alpha"], listed
    assert unicode_name in listed, listed

    # On the wire the name is modified UTF-7 (RFC 3501 5.1.3), as imapclient encoded it.
    raw = acct.imaplib(us2)
    typ, data = raw.list('""', "*")
    wire = [d for d in data if b"Re&" in d]
    encoded = imap_utf7.encode(unicode_name)
    assert any(d.endswith(b'"' + encoded + b'"') or d.endswith(b" " + encoded) for d in wire), (encoded, wire)

    # Usable as a mailbox from the other node.
    uid = appenduid(raw.append(f'"{encoded.decode()}"', None, None, message("unicode folder"))[1][-1])[1]
    assert client.folder_status(unicode_name, ["MESSAGES"])[b"MESSAGES"] == 1

    # RENAME moves the children along (RFC 3501 6.3.5).
    client.rename_folder("Projects", "Work")
    names = {name for _, _, name in client.list_folders()}
    assert {"Work", "Work/Alpha"} <= names and not {"Projects", "Projects/Alpha"} & names, names
    renamed = "Reçus/Hiver – 日本"
    client.rename_folder(unicode_name, renamed)
    client.select_folder(renamed, readonly=True)
    assert client.search("ALL") == [uid]
    client.close_folder()

    client.delete_folder("Work/Alpha")
    client.delete_folder("Work")
    client.delete_folder(renamed)
    client.delete_folder("Reçus")
    names = {name for _, _, name in client.list_folders()}
    assert names == set(SYSTEM_FOLDERS), names
    with pytest.raises(imapclient.exceptions.IMAPClientError):
        client.select_folder("Work")


def test_system_folders_cannot_be_deleted_or_renamed(account, us1):
    acct = account(us1)
    raw = acct.imaplib(us1)
    for name in SYSTEM_FOLDERS:
        typ, data = raw.delete(name)
        assert typ == "NO" and b"[CANNOT]" in data[0], (name, typ, data)
        if name != "INBOX":  # RENAME of INBOX is special (RFC 3501 6.3.5)
            typ, data = raw.rename(name, f"{name}-renamed")
            assert typ == "NO" and b"[CANNOT]" in data[0], (name, typ, data)
    typ, data = raw.list('""', "*")
    assert len(data) == len(SYSTEM_FOLDERS), data
    # Creating one that exists is refused too (RFC 3501 6.3.3: NO).
    typ, data = raw.create("Sent")
    assert typ == "NO", data


# --- search --------------------------------------------------------------------------------------------

def test_search_keys(account, us1):
    acct = account(us1)
    box = acct.imap_tools(us1)
    big = "x" * 5000 + "\r\n"
    box.append(message("alpha report", sender="carol@example.net", body="the needle is here\r\n"), "INBOX",
               flag_set=[MailMessageFlags.SEEN])
    box.append(message("beta notes", sender="dave@example.org", body=big), "INBOX")
    box.append(message("gamma alpha", sender="carol@example.net", body="nothing\r\n"), "INBOX",
               flag_set=[MailMessageFlags.SEEN, MailMessageFlags.FLAGGED])
    box.append(message("delta", sender="erin@example.org"), "INBOX")
    uids = box.uids("ALL")
    assert len(uids) == 4
    u1, u2, u3, u4 = uids

    assert box.uids(AND(subject="alpha")) == [u1, u3]
    assert box.uids(AND(from_="carol@example.net")) == [u1, u3]
    assert box.uids(AND(from_="DAVE")) == [u2]  # case-insensitive substring
    assert box.uids(AND(seen=True)) == [u1, u3]
    assert box.uids(AND(seen=False)) == [u2, u4]
    assert box.uids(AND(flagged=True, seen=True)) == [u3]
    assert box.uids(AND(uid=f"{u2}:{u3}")) == [u2, u3]
    assert box.uids(AND(size_gt=4000)) == [u2]
    assert box.uids(AND(body="needle")) == [u1]
    assert box.uids(AND(subject="alpha", seen=True, from_="carol")) == [u1, u3]
    assert box.uids(AND(subject="no such subject")) == []

    raw = acct.imaplib(us1)
    raw.select("INBOX", readonly=True)
    typ, data = raw.uid("SEARCH", "CHARSET", "UTF-8", "OR", "LARGER", "4000", "BODY", "needle")
    assert typ == "OK" and data[0].split() == [u1.encode(), u2.encode()], data
    typ, data = raw.search(None, "NOT", "SEEN", "UID", f"1:{u3}")
    assert typ == "OK" and data[0].split() == [b"2"], data
    typ, data = raw.uid("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
    assert typ == "OK", data
    esearch = raw.untagged_responses.get("ESEARCH", [])
    assert esearch and f"MIN {u1}".encode() in esearch[0] and f"MAX {u4}".encode() in esearch[0] \
        and b"COUNT 4" in esearch[0], (esearch, data)
    # RFC 4731 3.1: the answer names the command's tag; RETURN () means ALL; an empty result has no
    # MIN, MAX or ALL, and COUNT 0.
    assert re.match(rb'\(TAG "[^"]+"\) UID ', esearch[0]), esearch
    raw.untagged_responses.pop("ESEARCH", None)
    typ, data = raw.search(None, "RETURN", "()", "SEEN")
    esearch = raw.untagged_responses.pop("ESEARCH", [])
    assert typ == "OK" and re.fullmatch(rb'\(TAG "[^"]+"\) ALL 1,3', esearch[0]), esearch
    typ, data = raw.search(None, "RETURN", "(MIN MAX ALL COUNT)", "SUBJECT", "\"no such subject\"")
    esearch = raw.untagged_responses.pop("ESEARCH", [])
    assert typ == "OK" and re.fullmatch(rb'\(TAG "[^"]+"\) COUNT 0', esearch[0]), esearch


# --- concurrent APPENDs from two nodes -------------------------------------------------------------

def test_concurrent_appends_on_two_nodes_never_share_a_uid(account, us1, us2):
    acct = account(us1)
    per_connection = 10
    nodes = [us1, us1, us2, us2]
    clients = [acct.imapclient(node) for node in nodes]
    barrier = threading.Barrier(len(clients))

    def run(index):
        client = clients[index]
        barrier.wait()
        got = []
        for i in range(per_connection):
            got.append(appenduid(client.append("INBOX", message(f"conc {index}-{i}")))[1])
        return got

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(run, range(len(clients))))
    everything = [uid for got in results for uid in got]
    assert len(everything) == 2 * 20
    assert len(set(everything)) == len(everything), f"UIDs shared: {sorted(everything)}"
    for got in results:
        assert got == sorted(got) and len(set(got)) == len(got), f"not ascending within a session: {got}"
    checker = acct.imaplib(us2)
    typ, data = checker.select("INBOX")
    assert data == [b"40"]
    typ, data = checker.fetch("1:*", "(UID)")
    order = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    assert order == sorted(order) and len(set(order)) == 40, order
    assert set(order) == set(everything)
    assert clients[0].folder_status("INBOX", ["UIDNEXT"])[b"UIDNEXT"] > max(order)


# --- authentication ------------------------------------------------------------------------------------

def test_wrong_password_is_authenticationfailed(account, cluster, us1):
    acct = account(us1)
    conn = acct.imaplib(us1, login=False, source=fresh_source())
    started = time.monotonic()
    with pytest.raises(imaplib.IMAP4.error) as failure:
        conn.login(acct.email, acct.password + "x")
    elapsed = time.monotonic() - started
    assert "[AUTHENTICATIONFAILED]" in str(failure.value), failure.value
    assert elapsed >= 0.8, f"failed LOGIN answered after {elapsed:.2f} s (~1 s expected)"
    # Unknown user: the same answer.
    with pytest.raises(imaplib.IMAP4.error) as failure:
        conn.login(unique_email("nobody"), acct.password)
    assert "[AUTHENTICATIONFAILED]" in str(failure.value)
    # AUTHENTICATE PLAIN with a wrong password, then the right one on the same connection.
    with pytest.raises(imaplib.IMAP4.error) as failure:
        conn.authenticate("PLAIN", lambda _: f"\0{acct.email}\0wrong-Password-123".encode())
    assert "[AUTHENTICATIONFAILED]" in str(failure.value)
    typ, _ = conn.authenticate("PLAIN", lambda _: f"\0{acct.email}\0{acct.password}".encode())
    assert typ == "OK"
    assert conn.select("INBOX")[0] == "OK"


def test_failed_logins_are_throttled_per_client_address(account, us1, us2):
    """Ten failures from one address (cluster-wide) refuse further logins from it, even with the
    right password; other addresses are unaffected."""
    acct = account(us1)
    source = fresh_source()

    def fail_once(node):
        conn = acct.imaplib(node, login=False, source=source)
        try:
            conn.login(acct.email, "Wrong-Password-1234567")
        except imaplib.IMAP4.error as error:
            return str(error)
        return "logged in?!"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(fail_once, [us1, us2] * 5))
    assert all("[AUTHENTICATIONFAILED]" in o for o in outcomes), outcomes
    blocked = acct.imaplib(us2, login=False, source=source)
    with pytest.raises(imaplib.IMAP4.error) as failure:
        blocked.login(acct.email, acct.password)
    assert "[AUTHENTICATIONFAILED]" in str(failure.value)
    assert acct.imaplib(us1, login=False, source=fresh_source()).login(acct.email, acct.password)[0] == "OK"


def test_authenticate_plain_with_sasl_ir(account, us1):
    import base64
    acct = account(us1)
    conn = acct.imaplib(us1, login=False)
    token = base64.b64encode(f"\0{acct.email}\0{acct.password}".encode()).decode()
    typ, data = conn._simple_command("AUTHENTICATE", "PLAIN", token)
    assert typ == "OK", data
    conn.state = "AUTH"
    assert conn.select("INBOX")[0] == "OK"


def test_grant_without_app_password_is_refused(cluster, us1):
    email = unique_email("nopw")
    response = us1.post("/v3/connect/custom", json={"provider": "nylas", "settings": {"email": email}})
    assert response.status_code == 200, response.text
    grant_id = response.json()["data"]["id"]
    try:
        host, port = addr(us1)
        conn = SourcedIMAP4_SSL(host, port, fresh_source(), ssl_context=tls_context(cluster, us1), timeout=20)
        for password in (valid_password(), ""):
            with pytest.raises(imaplib.IMAP4.error) as failure:
                conn.login(email, password or '""')
            assert "[AUTHENTICATIONFAILED]" in str(failure.value), failure.value
        conn.logout()
    finally:
        us1.delete(f"/v3/grants/{grant_id}")


def test_plain_port_requires_starttls(account, cluster, us1):
    acct = account(us1)
    host, port = addr(us1, "imap")
    conn = imaplib.IMAP4(host, port, timeout=20)
    try:
        caps = conn.capabilities
        assert "STARTTLS" in caps and "LOGINDISABLED" in caps, caps
        # RFC 9051 6.2.3 / RFC 3501 7.2.1: with LOGINDISABLED, LOGIN gets a tagged NO.
        typ, data = conn._simple_command("LOGIN", acct.email, conn._quote(acct.password))
        assert typ == "NO", (typ, data)
        with pytest.raises(imaplib.IMAP4.error):
            conn.login(acct.email, acct.password)
        assert conn.state == "NONAUTH"
        # AUTHENTICATE PLAIN is refused as well before TLS.
        with pytest.raises(imaplib.IMAP4.error):
            conn.authenticate("PLAIN", lambda _: f"\0{acct.email}\0{acct.password}".encode())
        typ, _ = conn.starttls(ssl_context=tls_context(cluster, us1))
        assert typ == "OK"
        assert isinstance(conn.sock, ssl.SSLSocket)
        conn.capability()
        assert "LOGINDISABLED" not in conn.capabilities and "STARTTLS" not in conn.capabilities, conn.capabilities
        assert conn.login(acct.email, acct.password)[0] == "OK"
        assert conn.select("INBOX")[0] == "OK"
        conn.logout()
    finally:
        try:
            conn.shutdown()
        except Exception:
            pass

    # imap_tools's STARTTLS mailbox logs in the same way.
    box = MailBoxStartTls(host, port, ssl_context=tls_context(cluster, us1), timeout=20)
    box.login(acct.email, acct.password)
    box.append(message("over starttls"), "INBOX")
    assert [m.subject for m in box.fetch(mark_seen=False)] == ["over starttls"]
    box.logout()


def test_eu_grant_logs_in_through_eu(account, eu1, eu2):
    acct = account(eu1)
    assert acct.grant["region"] == "eu"
    box = acct.imap_tools(eu1)
    box.append(message("hello eu"), "INBOX")
    client = acct.imapclient(eu2)
    client.select_folder("INBOX")
    assert [d[b"ENVELOPE"].subject for d in client.fetch(client.search("ALL"), ["ENVELOPE"]).values()] == [b"hello eu"]


# --- the connection limit ------------------------------------------------------------------------------

def test_twenty_connections_per_grant_across_the_cluster(account, us1, us2):
    acct = account(us1)
    nodes = [us1, us2] * 10

    def login(node):
        conn = acct.imaplib(node, login=False)
        conn.login(acct.email, acct.password)
        return conn

    with ThreadPoolExecutor(10) as pool:
        sessions = list(pool.map(login, nodes))
    assert all(s.state == "AUTH" for s in sessions)
    for node in (us1, us2):
        extra = acct.imaplib(node, login=False)
        with pytest.raises(imaplib.IMAP4.error) as failure:
            extra.login(acct.email, acct.password)
        assert "[LIMIT]" in str(failure.value), (node.id, failure.value)
    # Logging one out frees a slot, cluster-wide.
    sessions.pop(0).logout()

    def try_login():
        conn = acct.imaplib(us2, login=False)
        try:
            conn.login(acct.email, acct.password)
            return conn
        except imaplib.IMAP4.error:
            conn.shutdown()
            return None
    fresh = wait_for(try_login, timeout=5, interval=0.3)
    assert fresh, "no login after logging one of the 20 sessions out"
    assert fresh.select("INBOX")[0] == "OK"
    for session in sessions + [fresh]:
        session.logout()


# --- bad input -------------------------------------------------------------------------------------------

def test_unknown_command_is_bad_and_the_session_continues(account, us1):
    acct = account(us1)
    conn = acct.imaplib(us1, login=False)
    for state in ("not authenticated", "authenticated", "selected"):
        if state == "authenticated":
            conn.login(acct.email, acct.password)
        if state == "selected":
            conn.select("INBOX")
        tag = conn._new_tag()
        conn.send(tag + b" FROBNICATE now\r\n")
        line = conn.readline()
        while line.startswith(b"* "):
            line = conn.readline()
        assert line.startswith(tag + b" BAD"), (state, line)
        assert conn.noop()[0] == "OK", state
    # A known command with broken arguments is BAD too.
    tag = conn._new_tag()
    conn.send(tag + b" FETCH notaset (FLAGS)\r\n")
    line = conn.readline()
    assert line.startswith(tag + b" BAD"), line
    assert conn.noop()[0] == "OK"


def test_line_over_64k_is_rejected(account, cluster, us1):
    acct = account(us1)
    sock = tls_socket(cluster, us1)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"* OK")
    sock.sendall(f"a1 LOGIN {acct.email} \"{acct.password}\"\r\n".encode())
    assert reader.readline().startswith(b"a1 OK")
    long_line = b"a2 SEARCH SUBJECT " + b"x" * 70000 + b"\r\n"
    try:
        sock.sendall(long_line)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    answers = []
    try:
        while True:
            line = reader.readline()
            if not line:
                break
            answers.append(line)
            if line.startswith(b"* BYE") or line.startswith(b"a2 ") or line.startswith(b"* BAD"):
                break
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    assert answers, "no answer to a 70 KB command line"
    assert answers[-1].startswith((b"a2 BAD", b"* BAD", b"* BYE")), answers
    # Either the session continues (a NOOP works) or the server said BYE and closes.
    sock.settimeout(2)
    try:
        sock.sendall(b"a3 NOOP\r\n")
        line = reader.readline()
        while line.startswith(b"* ") and not line.startswith(b"* BYE"):
            line = reader.readline()
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout) as error:
        line = repr(error).encode()
    if line.startswith(b"a3 "):
        assert line.startswith(b"a3 OK"), line
        assert not any(a.startswith(b"* BYE") for a in answers), answers
    else:
        assert any(a.startswith(b"* BYE") for a in answers) or line.startswith(b"* BYE"), (answers, line)
        try:
            assert reader.readline() == b""
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            pass
    sock.close()


def test_quota_is_reported(account, us1):
    acct = account(us1)
    raw = acct.imaplib(us1)
    data = message("quota", body="q" * 3000 + "\r\n")
    raw.append("INBOX", None, None, data)
    typ, resp = raw.getquotaroot("INBOX")
    assert typ == "OK", resp
    roots, quotas = resp
    assert roots and roots[0].startswith(b"INBOX"), resp
    match = re.search(rb"STORAGE (\d+) (\d+)", quotas[0])
    assert match, resp
    used, limit = int(match.group(1)), int(match.group(2))
    assert used >= len(data) // 1024 and limit > used


# --- password rotation -------------------------------------------------------------------------------

def test_password_rotation_ends_every_session_of_the_grant(account, us1, us2):
    """Changing the app password through the API: an IDLE session on the other node gets BYE at
    once, a session outside IDLE fails its next command, and only the new password logs in."""
    acct = account(us1)
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    idler.idle()
    busy = acct.imaplib(us1)
    busy.select("INBOX")

    new_password = "Rotated-Password-9876543"
    response = us1.patch(f"/v3/grants/{acct.grant['id']}",
                         json={"settings": {"email": acct.email, "app_password": new_password}})
    assert response.status_code == 200, response.text

    started = time.monotonic()
    pushed = []
    while time.monotonic() - started < 5 and not any(b"BYE" in bytes(str(item), "utf-8") for item in pushed):
        pushed += idler.idle_check(timeout=1)
    assert any(b"BYE" in bytes(str(item), "utf-8") for item in pushed), pushed

    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort)):
        busy.noop()
        busy.noop()

    with pytest.raises(imaplib.IMAP4.error):
        acct.imaplib(us1)
    acct.password = new_password
    assert acct.imaplib(us2).noop()[0] == "OK"


# --- mailbox names: modified UTF-7 and atom specials (RFC 3501 5.1, 5.1.3) ---------------------------

def test_modified_utf7_names_round_trip_and_bad_ones_are_no(account, us1, us2):
    acct = account(us1)
    raw = acct.imaplib(us1)
    names = {"p&AOQA5A-": "p\u00e4\u00e4", "stuff &- things": "stuff & things", "test &- &JaI-": "test & \u25a2"}
    for wire in names:
        typ, data = raw.create(f'"{wire}"')
        assert typ == "OK", (wire, data)
    for wire in names:
        typ, data = raw.list('""', f'"{wire}"')
        assert typ == "OK" and len(data) == 1, (wire, data)
        assert data[0].endswith(f' "{wire}"'.encode()) or data[0].endswith(f" {wire}".encode()), (wire, data)
        typ, data = raw.status(f'"{wire}"', "(MESSAGES)")
        assert typ == "OK", (wire, data)
        typ, data = raw.select(f'"{wire}"')
        assert typ == "OK", (wire, data)
    typ, data = raw.list('""', "*&*")
    assert typ == "OK" and len(data) == 3, data
    # The API shows the decoded names.
    shown = {f["name"] for f in ok(us2.get(f"/v3/grants/{acct.grant['id']}/folders"))["data"]}
    assert set(names.values()) <= shown, shown
    typ, data = raw.rename('"p&AOQA5A-"', '"q&AOQA5A-"')
    assert typ == "OK", data
    typ, data = raw.list('""', '"q*"')
    assert typ == "OK" and data[0].endswith(b"q&AOQA5A-"), data
    typ, data = raw.delete('"q&AOQA5A-"')
    assert typ == "OK", data
    # A name that is not modified UTF-7 names no mailbox: NO, and the session goes on.
    for command, args in (("CREATE", ('"bad&name"',)), ("SELECT", ('"bad&name"',)), ("DELETE", ('"a&Jjo"',))):
        typ, data = raw._simple_command(command, *args)
        assert typ == "NO", (command, typ, data)
    # Patterns full of atom specials are ordinary patterns.
    for pattern in ("#$&'+,-.:;<=>?@^_`|}", '"#$&\'+,-.:;<=>?@^_`|}*"', "%&%"):
        typ, data = raw.list('""', pattern)
        assert typ == "OK", (pattern, data)
    assert raw.noop()[0] == "OK"


def test_search_dates_as_written_addresses_by_envelope_and_empty_header(account, us1):
    """RFC 3501 6.4.4: SENT* compare the Date header's day as written (time and zone disregarded);
    FROM/TO/CC/BCC match in the envelope's fields, group names included; HEADER <field> "" matches
    every message that has the field."""
    acct = account(us1)
    raw = acct.imaplib(us1)
    late_west = (b"Date: Mon, 2 Jan 2023 23:30:00 -0500\r\nFrom: Alice Example <alice@example.com>\r\n"
                 b"To: Project Team: a@b.example, Carol <c@d.example>;\r\nSubject: late west\r\n\r\nbody\r\n")
    early_east = (b"Date: Tue, 3 Jan 2023 01:00:00 +0200\r\nFrom: bob@example.org\r\n"
                  b"To: undisclosed-recipients:;\r\nSubject:\r\nX-Empty:\r\n\r\nbody\r\n")
    for data in (late_west, early_east):
        assert raw.append("INBOX", None, None, data)[0] == "OK"
    raw.select("INBOX", readonly=True)

    def search(*criteria):
        typ, data = raw.search(None, *criteria)
        assert typ == "OK", (criteria, data)
        return data[0].split()

    assert search("SENTON", "2-Jan-2023") == [b"1"]
    assert search("SENTON", "3-Jan-2023") == [b"2"]
    assert search("SENTBEFORE", "3-Jan-2023") == [b"1"]
    assert search("SENTSINCE", "3-Jan-2023") == [b"2"]
    assert search("TO", '"project team"') == [b"1"]
    assert search("TO", "carol") == [b"1"]
    assert search("TO", "undisclosed-recipients") == [b"2"]
    assert search("FROM", '"Alice Example"') == [b"1"]
    assert search("HEADER", "Subject", '""') == [b"1", b"2"]
    assert search("HEADER", "X-Empty", '""') == [b"2"]
    assert search("HEADER", "Cc", '""') == []
    assert search("CHARSET", "UTF-8", "TO", "TEAM") == [b"1"]


# --- subscriptions (RFC 3501 6.3.6-6.3.9, RFC 5258) --------------------------------------------------

def lsub_names(conn, pattern="*"):
    typ, data = conn.lsub('""', pattern)
    assert typ == "OK", data
    return {imaplib_name(line): imaplib_attributes(line) for line in data if line}


def imaplib_attributes(line):
    return set(line.split(b")", 1)[0].lstrip(b"(").decode().split())


def imaplib_name(line):
    name = line.rsplit(b' "/" ', 1)[1]
    return name.strip(b'"').decode()


def test_subscriptions_are_stored_per_grant_and_seen_on_every_node(account, us1, us2):
    acct = account(us1)
    one, two = acct.imaplib(us1), acct.imaplib(us2)
    # The system folders start subscribed; a new folder is not (CREATE does not subscribe).
    assert set(lsub_names(one)) == set(SYSTEM_FOLDERS), lsub_names(one)
    for name in ("Work", "Work/Plans", "Old"):
        assert one.create(name)[0] == "OK"
    assert "Work" not in lsub_names(one)
    assert one.subscribe("Work/Plans")[0] == "OK"
    assert one.subscribe("Old")[0] == "OK"
    # Another node, another session: the same list.
    assert {"Work/Plans", "Old"} <= set(lsub_names(two)), lsub_names(two)
    # RFC 3501 6.3.9: with %, an unsubscribed parent of a subscribed child is \Noselect.
    assert lsub_names(two, "%").get("Work") == {"\\Noselect"}, lsub_names(two, "%")
    # DELETE and RENAME leave the list alone; a subscribed name without a mailbox is \Noselect.
    assert one.delete("Old")[0] == "OK"
    assert "\\Noselect" in lsub_names(two)["Old"], lsub_names(two)
    assert one.rename("Work/Plans", "Work/Ideas")[0] == "OK"
    names = lsub_names(two)
    assert "Work/Plans" in names and "Work/Ideas" not in names, names
    # LIST (SUBSCRIBED): \Subscribed on each, \NonExistent for names without a mailbox.
    client = acct.imapclient(us2)
    listed = {name: set(flags) for flags, _, name in client.list_folders(directory="", pattern="*")}
    assert "Work/Ideas" in listed
    typ, data = two._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"')
    assert typ == "OK", data
    subscribed = {imaplib_name(line): imaplib_attributes(line) for line in two.untagged_responses.pop("LIST", []) if line}
    assert subscribed["Old"] >= {"\\NonExistent", "\\Subscribed"}, subscribed
    assert subscribed["INBOX"] >= {"\\Subscribed"} and "Work" not in subscribed, subscribed
    # UNSUBSCRIBE takes the name away for every session; a name not subscribed is NO.
    assert two.unsubscribe("Old")[0] == "OK"
    assert "Old" not in lsub_names(one)
    assert one.unsubscribe("Old")[0] == "NO"
    # imapclient's view agrees.
    assert {name for _, _, name in client.list_sub_folders()} == set(lsub_names(one))
    # The list survives a new login.
    again = acct.imaplib(us1)
    assert set(lsub_names(again)) == set(lsub_names(one))


def test_folders_made_through_the_api_are_subscribed_and_follow_its_renames(account, us1, us2):
    acct = account(us1)
    base = f"/v3/grants/{acct.grant['id']}/folders"
    made = ok(us2.post(base, json={"name": "Agent Notes"}))["data"]
    conn = acct.imaplib(us1)
    assert "Agent Notes" in lsub_names(conn)
    ok(us2.put(f"{base}/{made['id']}", json={"name": "Agent Log"}))
    names = lsub_names(conn)
    assert "Agent Log" in names and "Agent Notes" not in names, names
    assert us2.delete(f"{base}/{made['id']}").status_code == 200
    assert "Agent Log" not in lsub_names(conn)


# --- keywords are announced in FLAGS before they are shown (RFC 9051 7.3.5) --------------------------

class RawSession:
    """One IMAP session over TLS, read line by line, for tests about the order of untagged answers."""

    def __init__(self, cluster, node, acct):
        self.sock = tls_socket(cluster, node)
        self.reader = self.sock.makefile("rb")
        self.count = 0
        assert self.reader.readline().startswith(b"* OK")
        assert self.run(f'LOGIN "{acct.email}" "{acct.password}"')[-1].split()[1] == b"OK"

    def run(self, command):
        self.count += 1
        tag = f"k{self.count}".encode()
        self.sock.sendall(tag + b" " + command.encode() + b"\r\n")
        lines = []
        while True:
            line = self.reader.readline()
            assert line, lines
            lines.append(line.rstrip(b"\r\n"))
            if line.startswith(tag + b" "):
                return lines

    def close(self):
        self.sock.close()


def test_keywords_are_announced_in_flags_before_any_fetch_shows_them(cluster, account, us1, us2):
    acct = account(us1)
    setup = acct.imaplib(us1)
    for i in range(2):
        assert setup.append("INBOX", None, None, message(f"kw {i}"))[0] == "OK"
    watcher, setter = RawSession(cluster, us1, acct), RawSession(cluster, us2, acct)
    try:
        selected = watcher.run("SELECT INBOX")
        assert b"$Ready" not in b"\n".join(selected)
        assert setter.run("SELECT INBOX")[-1].split()[1] == b"OK"
        # Set on another node: the watcher's next command brings FLAGS, then the FETCH.
        assert setter.run("STORE 1 +FLAGS ($Ready)")[-1].split()[1] == b"OK"
        lines = wait_for(lambda: [l for l in watcher.run("NOOP") if l.startswith(b"* ")] or None, timeout=10)
        flags = next(i for i, l in enumerate(lines) if l.startswith(b"* FLAGS"))
        permanent = next(i for i, l in enumerate(lines) if b"[PERMANENTFLAGS" in l)
        fetch = next(i for i, l in enumerate(lines) if b"FETCH" in l and b"$Ready" in l)
        assert flags < fetch and permanent < fetch and b"$Ready" in lines[flags] and b"$Ready" in lines[permanent], lines
        # Set by the session itself: FLAGS comes before its own FETCH answer, once.
        lines = watcher.run("STORE 2 +FLAGS (Project-X)")
        flags = next(i for i, l in enumerate(lines) if l.startswith(b"* FLAGS"))
        fetch = next(i for i, l in enumerate(lines) if b"FETCH" in l and b"Project-X" in l)
        assert flags < fetch and b"$Ready" in lines[flags] and b"Project-X" in lines[flags], lines
        assert not [l for l in watcher.run("STORE 1 +FLAGS (project-x)") if l.startswith(b"* FLAGS")]
        # A new SELECT lists every keyword in use.
        reselected = setter.run("EXAMINE INBOX")
        flags_line = next(l for l in reselected if l.startswith(b"* FLAGS"))
        assert b"$Ready" in flags_line and b"Project-X" in flags_line, reselected
    finally:
        watcher.close()
        setter.close()


# --- \Recent (RFC 3501 2.3.2, 6.3.1, 6.3.2, 7.3.2) --------------------------------------------------

def recent_lines(lines):
    return [l for l in lines if l.endswith(b" RECENT")]


def test_recent_belongs_to_the_first_session_that_sees_the_message(cluster, account, us1, us2):
    acct = account(us1)
    setup = acct.imaplib(us1)
    for i in range(2):
        assert setup.append("INBOX", None, None, message(f"recent {i}"))[0] == "OK"
    first, second = RawSession(cluster, us1, acct), RawSession(cluster, us2, acct)
    try:
        # STATUS counts what no session has seen; EXAMINE shows it recent without taking it.
        assert b"RECENT 2" in first.run("STATUS INBOX (RECENT)")[0]
        examined = second.run("EXAMINE INBOX")
        assert recent_lines(examined) == [b"* 2 RECENT"], examined
        assert b"\\Recent" in b"\n".join(second.run("FETCH 1:* FLAGS"))
        # The first session to SELECT takes both; the other, selecting after, has none.
        assert recent_lines(first.run("SELECT INBOX")) == [b"* 2 RECENT"]
        flags = first.run("FETCH 1:* FLAGS")
        assert sum(b"\\Recent" in l for l in flags) == 2, flags
        assert first.run("SEARCH RECENT")[0] == b"* SEARCH 1 2"
        assert first.run("SEARCH NEW")[0] == b"* SEARCH 1 2"
        assert first.run("SEARCH OLD")[0] == b"* SEARCH"
        assert recent_lines(second.run("SELECT INBOX")) == [b"* 0 RECENT"]
        assert b"\\Recent" not in b"\n".join(second.run("FETCH 1:* FLAGS"))
        assert b"RECENT 0" in second.run("STATUS INBOX (RECENT)")[0]
        # New mail: the first session told of it (here the one on the other node) has it recent, and
        # only that one.
        assert setup.append("INBOX", None, None, message("recent 2"))[0] == "OK"
        seen = wait_for(lambda: recent_lines(second.run("NOOP")) or None, timeout=10)
        assert seen == [b"* 1 RECENT"], seen
        later = wait_for(lambda: [l for l in first.run("NOOP") if l.endswith(b" EXISTS")] or None, timeout=10)
        assert later == [b"* 3 EXISTS"], later
        assert first.run("SEARCH RECENT")[0] == b"* SEARCH 1 2"
        assert second.run("SEARCH RECENT")[0] == b"* SEARCH 3"
        # \Seen does not end \Recent; NEW is RECENT and UNSEEN.
        assert second.run("STORE 3 +FLAGS.SILENT (\\Seen)")[-1].split()[1] == b"OK"
        assert second.run("SEARCH NEW")[0] == b"* SEARCH"
        assert second.run("SEARCH RECENT")[0] == b"* SEARCH 3"
    finally:
        first.close()
        second.close()


def test_message_numbers_beyond_the_mailbox_are_bad_and_uids_are_not(account, us1):
    """RFC 9051 2.3.1.2: a message sequence number above the message count (or * in an empty
    mailbox) is a protocol error; a UID set may name UIDs that do not exist."""
    acct = account(us1)
    raw = acct.imaplib(us1)
    raw.select("Archive")
    for command, args in (("FETCH", ("1:*", "(FLAGS)")), ("STORE", ("1", "+FLAGS", "(\\Seen)")), ("COPY", ("1", "INBOX"))):
        with pytest.raises(imaplib.IMAP4.error, match="[Ii]nvalid message sequence number"):
            raw._simple_command(command, *args)
    typ, data = raw.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK" and data == [None], data
    assert raw.append("Archive", None, None, message("numbered"))[0] == "OK"
    raw.select("Archive")
    with pytest.raises(imaplib.IMAP4.error, match="[Ii]nvalid message sequence number"):
        raw._simple_command("FETCH", "1:2", "(FLAGS)")
    typ, data = raw.fetch("1:*", "(FLAGS)")
    assert typ == "OK" and len(data) == 1, data
    assert raw.noop()[0] == "OK"


def test_imap4rev2_once_enabled_drops_recent_answers_esearch_and_speaks_utf8_names(cluster, account, us1, us2):
    acct = account(us1)
    setup = acct.imaplib(us1)
    assert setup.append("INBOX", None, None, message("rev2"))[0] == "OK"
    rev2 = RawSession(cluster, us2, acct)
    try:
        assert rev2.run("ENABLE IMAP4rev2")[0] == b"* ENABLED IMAP4rev2"
        selected = rev2.run("SELECT INBOX")
        assert not any(line.endswith(b" RECENT") for line in selected), selected
        assert b'* LIST () "/" INBOX' in selected
        assert rev2.run("FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"
        found = rev2.run("SEARCH ALL")
        assert found[0] == b"* ESEARCH (TAG \"k%d\") ALL 1" % rev2.count, found
        assert rev2.run('CREATE "Entwürfe & Co"')[-1].split()[1] == b"OK"
    finally:
        rev2.close()
    # An IMAP4rev1 client on another node: the message is still recent for it, the name is modified UTF-7.
    status, data = setup.select("INBOX", readonly=True)
    assert status == "OK" and setup.untagged_responses.get("RECENT") == [b"1"]
    status, listed = setup.list('""', "Entw*")
    assert status == "OK" and listed == [b'(\\HasNoChildren) "/" "Entw&APw-rfe &- Co"'], listed
    setup.logout()


def test_envelope_sends_header_bytes_that_are_not_utf8_as_stored(account, us1):
    acct = account(us1)
    client = acct.imaplib(us1)
    raw = (b"From: Ren\xe9 <rene@example.test>\r\nTo: Zo\xc3\xab <zoe@example.test>\r\n"
           b"Subject: caf\xe9\r\nMessage-ID: <latin1@example.test>\r\n\r\nbody\r\n")
    assert client.append("INBOX", None, None, raw)[0] == "OK"
    client.select("INBOX", readonly=True)
    status, data = client.fetch("1", "(ENVELOPE)")
    assert status == "OK"
    flat = b"".join(part if isinstance(part, bytes) else b"".join(part) for part in data)
    # imaplib hands each literal over as its own item: the bytes are exactly the stored ones.
    assert b"{4}caf\xe9" in flat and b"{4}Ren\xe9" in flat and b"{4}Zo\xc3\xab" in flat, flat
    status, found = client.search(None, "FROM", "rene@example.test")
    assert status == "OK" and found == [b"1"]
    client.logout()


def test_status_size_and_appendlimit_agree_with_capability(account, us1):
    acct = account(us1)
    client = acct.imaplib(us1)
    limits = [c for c in client.capabilities if c.startswith("APPENDLIMIT=")]
    assert "STATUS=SIZE" in client.capabilities and len(limits) == 1, client.capabilities
    limit = int(limits[0].split("=", 1)[1])
    raw = message("sized")
    assert client.append("INBOX", None, None, raw)[0] == "OK"
    status, data = client.status("INBOX", "(MESSAGES SIZE APPENDLIMIT)")
    assert status == "OK"
    assert data == [b"INBOX (MESSAGES 1 SIZE %d APPENDLIMIT %d)" % (len(raw), limit)], data
    client.logout()


# --- Conformance corners (RFC 3501, 9051, 5182, 7888) ------------------------------------------------

def test_recent_count_follows_an_expunge_made_on_another_node(cluster, account, us1, us2):
    """RFC 3501 7.3.2: RECENT follows a change in the mailbox's size, expunges included."""
    acct = account(us1)
    setup = acct.imaplib(us1)
    for i in range(3):
        assert setup.append("INBOX", None, None, message(f"expunged recent {i}"))[0] == "OK"
    reader, writer = RawSession(cluster, us1, acct), RawSession(cluster, us2, acct)
    try:
        assert recent_lines(reader.run("SELECT INBOX")) == [b"* 3 RECENT"]
        assert writer.run("SELECT INBOX")[-1].split()[1] == b"OK"
        assert writer.run("STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].split()[1] == b"OK"
        assert writer.run("EXPUNGE")[-1].split()[1] == b"OK"
        lines = wait_for(lambda: [l for l in reader.run("NOOP") if l.startswith(b"* ")] or None, timeout=10)
        assert lines == [b"* 1 EXPUNGE", b"* 2 RECENT"], lines
        assert b"RECENT 2" in reader.run("STATUS INBOX (RECENT)")[0]
    finally:
        reader.close()
        writer.close()


def test_search_saves_its_result_for_dollar(cluster, account, us1):
    """RFC 5182 (part of IMAP4rev2): SEARCH RETURN (SAVE) answers nothing but OK and keeps the
    result for `$`, which FETCH, STORE and SEARCH then name."""
    acct = account(us1)
    client = acct.imapclient(us1)
    assert b"SEARCHRES" in client.capabilities()
    client.select_folder("INBOX")
    for i, flags in enumerate([(b"\\Flagged",), (), (b"\\Flagged",)]):
        client.append("INBOX", message(f"saved {i}"), flags=flags)
    session = RawSession(cluster, us1, acct)
    try:
        session.run("SELECT INBOX")
        saved = session.run("SEARCH RETURN (SAVE) FLAGGED")
        assert len(saved) == 1 and saved[0].split()[1] == b"OK", saved
        fetched = session.run("FETCH $ (UID)")
        assert [l.split()[1] for l in fetched[:-1]] == [b"1", b"3"], fetched
        assert session.run("SEARCH NOT $")[0] == b"* SEARCH 2"
        assert session.run("STORE $ +FLAGS.SILENT (\\Seen)")[-1].split()[1] == b"OK"
        assert session.run("SEARCH SEEN")[0] == b"* SEARCH 1 3"
    finally:
        session.close()


def test_keywords_are_one_flag_in_any_letter_case(account, us1, us2):
    acct = account(us1)
    writer = acct.imapclient(us1)
    writer.select_folder("INBOX")
    for i in range(2):
        writer.append("INBOX", message(f"keyword case {i}"))
    uids = writer.search("ALL")
    writer.add_flags(uids[:1], [b"Project"])
    writer.add_flags(uids, [b"PROJECT"])
    flags = writer.get_flags(uids)
    assert [f for f in flags[uids[0]] if f.lower() == b"project"] == [b"Project"], flags
    assert [f for f in flags[uids[1]] if f.lower() == b"project"] == [b"Project"], flags
    reader = acct.imapclient(us2)
    selected = reader.select_folder("INBOX", readonly=True)
    assert [f for f in selected[b"FLAGS"] if f.lower() == b"project"] == [b"Project"], selected
    writer.remove_flags(uids, [b"project"])
    assert all(b"Project" not in f for f in writer.get_flags(uids).values())


def test_a_deleted_parent_stays_a_noselect_level(account, us1):
    """RFC 3501 6.3.4, 6.3.8: a name with inferiors keeps its place as \\Noselect for `%`."""
    client = account(us1).imapclient(us1)
    client.create_folder("Projects/2026/Q1")
    client.delete_folder("Projects")
    assert client.list_folders("", "Proj%") == [((b"\\Noselect", b"\\HasChildren"), b"/", "Projects")]
    assert [name for _, _, name in client.list_folders("", "Projects/%")] == ["Projects/2026"]
    with pytest.raises(imapclient.exceptions.IMAPClientError):
        client.select_folder("Projects")


def test_a_command_rejected_before_its_literal_leaves_the_session_open(cluster, account, us1):
    """RFC 7888: the client sends a non-synchronizing literal without waiting, so a BAD for the
    command must skip those octets, not read them as commands, and keep the session."""
    acct = account(us1)
    session = RawSession(cluster, us1, acct)
    try:
        body = message("never stored")
        session.sock.sendall(b"x1 APPEND INBOX (\\Seen) \"not a date\" {%d+}\r\n" % len(body) + body + b"\r\n")
        line = session.reader.readline()
        assert line.startswith(b"x1 BAD"), line
        assert session.run("NOOP")[-1].split()[1] == b"OK"
        assert b"MESSAGES 0" in session.run("STATUS INBOX (MESSAGES)")[0]
    finally:
        session.close()


def test_renaming_inbox_moves_its_messages(account, us1):
    """RFC 3501 6.3.5: RENAME INBOX moves every message to the new mailbox and leaves INBOX empty."""
    acct = account(us1)
    client = acct.imapclient(us1)
    for i in range(2):
        client.append("INBOX", message(f"old inbox {i}"))
    client.rename_folder("INBOX", "Old Inbox")
    assert client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    assert client.folder_status("Old Inbox", [b"MESSAGES"])[b"MESSAGES"] == 2

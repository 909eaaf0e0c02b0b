"""The /v3 messages, attachments and folders API end to end, checked against IMAP on the same grant.

Every test makes its own grant (through us-1, so it lives in US and logs in through us-1 / us-2).
What one side changes the other side must see: flags (STORE <-> PUT unread/starred), folders
(MOVE / EXPUNGE <-> PUT folders / DELETE), folder CRUD (CREATE <-> POST/PUT/DELETE folders).
"""
import base64
import imaplib
import threading
import time
import uuid

import pytest

from helpers import append, assert_error, by_subject, emails, get_message, list_messages, message, ok

MESSAGE_KEYS = {"id", "grant_id", "object", "thread_id", "subject", "from", "to", "cc", "bcc", "reply_to",
                "date", "created_at", "unread", "starred", "folders", "snippet", "body", "attachments"}
FOLDER_KEYS = {"id", "grant_id", "object", "name", "system_folder", "attributes", "child_count",
               "unread_count", "total_count"}
SYSTEM_IDS = ["inbox", "sent", "drafts", "trash", "junk", "archive"]
BASE_TIME = 1_790_000_000  # 2026-09-21: internal dates the tests set on APPEND


# --- helpers -------------------------------------------------------------------------------------

def put(node, path, **kw):
    return node.request("PUT", path, **kw)


def folders(node, grant):
    return {f["id"]: f for f in ok(node.get(f"/v3/grants/{grant['id']}/folders"))["data"]}


def folder_by_name(node, grant, name):
    found = [f for f in folders(node, grant).values() if f["name"] == name]
    assert len(found) == 1, (name, folders(node, grant))
    return found[0]


def imap_flags(conn, folder, uid):
    conn.select(folder, readonly=True)
    typ, data = conn.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK" and data and data[0], data
    return imaplib.ParseFlags(data[0])


def imap_subjects(conn, folder):
    typ, data = conn.select(f'"{folder}"', readonly=True)
    assert typ == "OK", (folder, data)
    typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    return sorted(part[1].decode().split(":", 1)[1].strip() for part in data if isinstance(part, tuple))


def imap_names(conn):
    typ, data = conn.list('""', "*")
    assert typ == "OK", data
    return {line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in data}


@pytest.fixture
def acct(account, us1):
    return account(us1)


# --- IMAP -> API ---------------------------------------------------------------------------------

def test_imap_store_seen_and_flagged_show_as_unread_and_starred(acct, us1, us2):
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("read me"))
    append(conn, "INBOX", message("star me"))
    append(conn, "INBOX", message("untouched"))
    for subject in ("read me", "star me", "untouched"):
        m = by_subject(us2, acct.grant, subject)
        assert MESSAGE_KEYS <= set(m), m
        assert m["object"] == "message" and m["grant_id"] == acct.grant["id"]
        assert m["unread"] is True and m["starred"] is False and m["folders"] == ["inbox"], m
    conn.select("INBOX")
    assert conn.store("1", "+FLAGS.SILENT", "(\\Seen)")[0] == "OK"
    assert conn.store("2", "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
    read, star, other = (by_subject(us2, acct.grant, s) for s in ("read me", "star me", "untouched"))
    assert (read["unread"], read["starred"]) == (False, False), read
    assert (star["unread"], star["starred"]) == (True, True), star
    assert (other["unread"], other["starred"]) == (True, False), other
    inbox = folders(us2, acct.grant)["inbox"]
    assert (inbox["total_count"], inbox["unread_count"]) == (3, 2), inbox
    # And back: -FLAGS clears them.
    assert conn.store("1:2", "-FLAGS.SILENT", "(\\Seen \\Flagged)")[0] == "OK"
    for subject in ("read me", "star me"):
        m = by_subject(us1, acct.grant, subject)
        assert (m["unread"], m["starred"]) == (True, False), m


def test_imap_move_and_expunge_show_in_api_folders(acct, us1, us2):
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("to archive"))
    append(conn, "INBOX", message("to trash"))
    append(conn, "INBOX", message("stays"))
    before = {m["subject"]: m["id"] for m in list_messages(us1, acct.grant)}
    conn.select("INBOX")
    typ, data = conn.uid("MOVE", "1", "Archive")
    assert typ == "OK", data
    assert conn.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert conn.expunge()[0] == "OK"
    assert by_subject(us2, acct.grant, "to archive")["folders"] == ["archive"]
    assert by_subject(us2, acct.grant, "to archive")["id"] == before["to archive"], "id changed on IMAP MOVE"
    assert by_subject(us2, acct.grant, "to trash")["folders"] == ["trash"]
    assert by_subject(us2, acct.grant, "stays")["folders"] == ["inbox"]
    assert [m["subject"] for m in list_messages(us2, acct.grant, **{"in": "trash"})] == ["to trash"]
    assert [m["subject"] for m in list_messages(us2, acct.grant, **{"in": "archive"})] == ["to archive"]
    assert [m["subject"] for m in list_messages(us2, acct.grant, **{"in": "inbox"})] == ["stays"]
    counts = {k: f["total_count"] for k, f in folders(us2, acct.grant).items()}
    assert counts == {"inbox": 1, "sent": 0, "drafts": 0, "trash": 1, "junk": 0, "archive": 1}, counts


def test_imap_create_shows_in_api_folders(acct, us1, us2):
    conn = acct.imaplib(us1)
    assert conn.create("Projects")[0] == "OK"
    assert conn.create("Projects/Alpha")[0] == "OK"
    append(conn, "Projects/Alpha", message("in alpha"))
    listed = folders(us2, acct.grant)
    for key in SYSTEM_IDS:
        f = listed[key]
        assert FOLDER_KEYS <= set(f), f
        assert f["system_folder"] is True and f["object"] == "folder" and f["grant_id"] == acct.grant["id"], f
    assert listed["sent"]["attributes"] == ["\\Sent"], listed["sent"]
    projects = folder_by_name(us2, acct.grant, "Projects")
    alpha = folder_by_name(us2, acct.grant, "Projects/Alpha")
    assert projects["system_folder"] is False and not projects.get("parent_id"), projects
    assert alpha["parent_id"] == projects["id"], (projects, alpha)
    assert projects["child_count"] == 1 and alpha["child_count"] == 0, (projects, alpha)
    assert (alpha["total_count"], alpha["unread_count"]) == (1, 1), alpha
    assert ok(us2.get(f"/v3/grants/{acct.grant['id']}/folders/{alpha['id']}"))["data"] == alpha
    m = by_subject(us2, acct.grant, "in alpha")
    assert m["folders"] == [alpha["id"]], m
    assert [x["subject"] for x in list_messages(us2, acct.grant, **{"in": alpha["id"]})] == ["in alpha"]


# --- API -> IMAP ---------------------------------------------------------------------------------

def test_api_put_unread_starred_sets_imap_flags_and_pushes_to_idle(acct, us1, us2):
    conn = acct.imaplib(us1)
    uid = append(conn, "INBOX", message("flag via api"))
    m = by_subject(us1, acct.grant, "flag via api")
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    idler.idle()
    time.sleep(0.2)
    pushed = []

    def watch():
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for resp in idler.idle_check(timeout=0.5):
                if len(resp) >= 3 and resp[1] == b"FETCH":
                    pushed.append(resp)
                    items = dict(zip(resp[2][::2], resp[2][1::2]))
                    if {b"\\Seen", b"\\Flagged"} <= set(items.get(b"FLAGS", ())):
                        return

    watcher = threading.Thread(target=watch)
    watcher.start()
    updated = ok(put(us1, f"/v3/grants/{acct.grant['id']}/messages/{m['id']}",
                     json={"unread": False, "starred": True}))["data"]
    watcher.join()
    idler.idle_done()
    assert updated["id"] == m["id"] and updated["unread"] is False and updated["starred"] is True, updated
    assert pushed, "IDLE on us-2 got no FETCH within 6 s of PUT unread=false starred=true"
    last = dict(zip(pushed[-1][2][::2], pushed[-1][2][1::2]))
    assert {b"\\Seen", b"\\Flagged"} <= set(last[b"FLAGS"]), pushed
    assert {"\\Seen", "\\Flagged"} <= set(f.decode() for f in imap_flags(conn, "INBOX", uid))

    ok(put(us2, f"/v3/grants/{acct.grant['id']}/messages/{m['id']}", json={"unread": True}))
    flags = {f.decode() for f in imap_flags(conn, "INBOX", uid)}
    assert "\\Seen" not in flags and "\\Flagged" in flags, flags
    ok(put(us1, f"/v3/grants/{acct.grant['id']}/messages/{m['id']}", json={"starred": False}))
    flags = {f.decode() for f in imap_flags(conn, "INBOX", uid)}
    assert not {"\\Seen", "\\Flagged"} & flags, flags
    assert get_message(us2, acct.grant, m["id"])["unread"] is True


def test_api_put_folders_moves_the_message_in_imap(acct, us1, us2):
    conn = acct.imaplib(us1)
    assert conn.create("Receipts")[0] == "OK"
    append(conn, "INBOX", message("move via api"))
    m = by_subject(us1, acct.grant, "move via api")
    receipts = folder_by_name(us1, acct.grant, "Receipts")
    moved = ok(put(us2, f"/v3/grants/{acct.grant['id']}/messages/{m['id']}",
                   json={"folders": [receipts["id"]]}))["data"]
    assert moved["folders"] == [receipts["id"]], moved
    assert imap_subjects(conn, "Receipts") == ["move via api"]
    assert imap_subjects(conn, "INBOX") == []
    after = by_subject(us1, acct.grant, "move via api")
    assert after["folders"] == [receipts["id"]] and after["id"] == m["id"], (m, after)
    # To a system folder, through the id the message has now.
    ok(put(us1, f"/v3/grants/{acct.grant['id']}/messages/{after['id']}", json={"folders": ["archive"]}))
    assert imap_subjects(conn, "Archive") == ["move via api"]
    assert imap_subjects(conn, "Receipts") == []
    assert by_subject(us2, acct.grant, "move via api")["folders"] == ["archive"]


def test_api_post_put_delete_folders_show_in_imap_list(acct, us1, us2):
    conn = acct.imaplib(us2)
    base = f"/v3/grants/{acct.grant['id']}/folders"
    clients = ok(us1.post(base, json={"name": "Clients"}))["data"]
    assert FOLDER_KEYS <= set(clients) and clients["name"] == "Clients" and clients["system_folder"] is False, clients
    acme = ok(us1.post(base, json={"name": "Acme", "parent_id": clients["id"]}))["data"]
    assert acme["parent_id"] == clients["id"], acme
    assert acme["name"] == "Clients/Acme", acme  # the full path, as IMAP names it
    names = imap_names(conn)
    assert {"Clients", "Clients/Acme"} <= names, names
    append(conn, "Clients/Acme", message("nested"))
    assert by_subject(us1, acct.grant, "nested")["folders"] == [acme["id"]]
    parent = ok(us1.get(f"{base}/{clients['id']}"))["data"]
    assert parent["child_count"] == 1, parent

    dup = us1.post(base, json={"name": "Clients"})
    assert dup.status_code == 409, dup.text

    renamed = ok(put(us2, f"{base}/{clients['id']}", json={"name": "Customers"}))["data"]
    assert renamed["name"] == "Customers" and renamed["id"] == clients["id"], renamed
    names = imap_names(conn)
    assert {"Customers", "Customers/Acme"} <= names and not {"Clients", "Clients/Acme"} & names, names
    # The PUT answers the same folder object a GET does (Customers still has Customers/Acme under it).
    after_rename = ok(us1.get(f"{base}/{clients['id']}"))["data"]
    assert after_rename["child_count"] == 1, after_rename

    uni = ok(us1.post(base, json={"name": "Été 日本"}))["data"]
    assert uni["name"] == "Été 日本", uni
    typ, data = conn.list('""', "*")
    assert any(line.endswith(b'"&AMk-t&AOk- &ZeVnLA-"') or line.endswith(b" &AMk-t&AOk- &ZeVnLA-") for line in data), data
    ok(us1.delete(f"{base}/{uni['id']}"))

    for system in SYSTEM_IDS:
        assert_error(put(us1, f"{base}/{system}", json={"name": f"{system}-x"}), 400, "invalid_request_error")
        assert_error(us1.delete(f"{base}/{system}"), 400, "invalid_request_error")
    assert set(SYSTEM_IDS) <= set(folders(us1, acct.grant))

    acme_now = folder_by_name(us1, acct.grant, "Customers/Acme")
    assert acme_now["parent_id"] == clients["id"], acme_now
    assert ok(us1.delete(f"{base}/{acme_now['id']}"))
    assert ok(us2.delete(f"{base}/{clients['id']}"))
    names = imap_names(conn)
    assert not {"Customers", "Customers/Acme", "Clients"} & names, names
    assert us1.get(f"{base}/{clients['id']}").status_code == 404
    # Checked last so the rest runs: the PUT answers the folder object a GET does.
    assert renamed == after_rename, f"PUT folder response {renamed} differs from GET {after_rename}"


def test_api_delete_moves_to_trash_then_deletes_for_good(acct, us1, us2):
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("delete me"))
    m = by_subject(us1, acct.grant, "delete me")
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    idler.idle()
    time.sleep(0.2)
    r = us1.delete(f"/v3/grants/{acct.grant['id']}/messages/{m['id']}")
    assert r.status_code == 200, r.text
    pushed = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(p[1:2] == (b"EXPUNGE",) for p in pushed):
        pushed += [p for p in idler.idle_check(timeout=0.5) if len(p) >= 2]
    idler.idle_done()
    assert (1, b"EXPUNGE") in [(p[0], p[1]) for p in pushed], pushed
    assert imap_subjects(conn, "Trash") == ["delete me"]
    assert imap_subjects(conn, "INBOX") == []
    trashed = by_subject(us1, acct.grant, "delete me")
    assert trashed["folders"] == ["trash"], trashed
    r = us1.delete(f"/v3/grants/{acct.grant['id']}/messages/{trashed['id']}")
    assert r.status_code == 200, r.text
    assert imap_subjects(conn, "Trash") == []
    assert list_messages(us1, acct.grant) == []
    for mid in {m["id"], trashed["id"]}:
        assert_error(us2.get(f"/v3/grants/{acct.grant['id']}/messages/{mid}"), 404, "not_found_error")


# --- listing ---------------------------------------------------------------------------------------

def test_pagination_walks_newest_first_without_duplicates(acct, us1, us2):
    conn = acct.imaplib(us1)
    for i in range(7):
        append(conn, "INBOX", message(f"page {i}"), when=BASE_TIME + i * 3600)
    full = list_messages(us2, acct.grant)
    assert [m["subject"] for m in full] == [f"page {i}" for i in reversed(range(7))], full
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if token:
            params["page_token"] = token
        body = ok(us2.get(f"/v3/grants/{acct.grant['id']}/messages", params=params))
        assert len(body["data"]) <= 2, body
        seen += [m["id"] for m in body["data"]]
        pages += 1
        token = body.get("next_cursor")
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 4, pages
    assert seen == [m["id"] for m in full], (seen, full)
    assert len(set(seen)) == 7
    assert len(list_messages(us1, acct.grant, limit=3)) == 3
    for bad in (0, -1, "abc"):
        assert_error(us1.get(f"/v3/grants/{acct.grant['id']}/messages", params={"limit": bad}),
                     400, "invalid_request_error")
    assert_error(us1.get(f"/v3/grants/{acct.grant['id']}/messages", params={"page_token": "garbage"}),
                 400, "invalid_request_error")


def test_filtered_pagination_walks_only_matches(acct, us1, us2):
    conn = acct.imaplib(us1)
    for i in range(8):
        append(conn, "INBOX", message(f"mixed {i}"), flags="(\\Seen)" if i % 3 == 0 else None,
               when=BASE_TIME + i * 60)
    append(conn, "Archive", message("archived unread"), when=BASE_TIME + 9999)
    wanted = [f"mixed {i}" for i in reversed(range(8)) if i % 3]
    seen, token = [], None
    for _ in range(20):
        params = {"limit": 2, "unread": "true", "in": "inbox"}
        if token:
            params["page_token"] = token
        body = ok(us2.get(f"/v3/grants/{acct.grant['id']}/messages", params=params))
        assert len(body["data"]) <= 2, body
        assert all(m["unread"] and m["folders"] == ["inbox"] for m in body["data"]), body
        seen += [m["subject"] for m in body["data"]]
        token = body.get("next_cursor")
        if not token:
            break
    assert seen == wanted, (seen, wanted)


def test_list_filters(acct, us1, us2):
    conn = acct.imaplib(us1)
    g = acct.grant
    extra_a = b"Cc: Dan <dan@example.net>\r\nBcc: eve@example.net\r\n"
    append(conn, "INBOX", message("Quarterly Report", sender="Carol <carol@example.net>",
                                  to="boss@example.com", extra=extra_a), when=BASE_TIME + 100)
    append(conn, "INBOX", message("lunch plans", sender="frank@example.org", to="agent@example.com"),
           flags="(\\Seen \\Flagged)", when=BASE_TIME + 200)
    append(conn, "Archive", message("old report", sender="carol@example.net", to="agent@example.com"),
           flags="(\\Seen)", when=BASE_TIME + 300)
    append(conn, "INBOX", attachment_message("with file", b"%PDF-1.4 tiny\n"), when=BASE_TIME + 400)

    def subjects(**params):
        return sorted(m["subject"] for m in list_messages(us2, g, **params))

    assert subjects() == sorted(["Quarterly Report", "lunch plans", "old report", "with file"])
    assert subjects(**{"in": "inbox"}) == sorted(["Quarterly Report", "lunch plans", "with file"])
    assert subjects(**{"in": "archive"}) == ["old report"]
    assert subjects(unread="true") == sorted(["Quarterly Report", "with file"])
    assert subjects(unread="false") == sorted(["lunch plans", "old report"])
    assert subjects(starred="true") == ["lunch plans"]
    assert subjects(starred="false") == sorted(["Quarterly Report", "old report", "with file"])
    assert subjects(subject="report") == sorted(["Quarterly Report", "old report"])
    assert subjects(subject="QUARTERLY") == ["Quarterly Report"]
    assert subjects(**{"from": "carol@example.net"}) == sorted(["Quarterly Report", "old report"])
    assert subjects(**{"from": "frank@example.org,carol@example.net"}) == sorted(
        ["Quarterly Report", "lunch plans", "old report"])
    assert subjects(to="boss@example.com") == ["Quarterly Report"]
    assert subjects(cc="dan@example.net") == ["Quarterly Report"]
    assert subjects(bcc="eve@example.net") == ["Quarterly Report"]
    assert subjects(any_email="eve@example.net") == ["Quarterly Report"]
    assert subjects(any_email="frank@example.org,boss@example.com") == sorted(["Quarterly Report", "lunch plans"])
    assert subjects(any_email="nobody@example.net") == []
    assert subjects(received_after=BASE_TIME + 250) == sorted(["old report", "with file"])
    assert subjects(received_before=BASE_TIME + 250) == sorted(["Quarterly Report", "lunch plans"])
    assert subjects(received_after=BASE_TIME + 150, received_before=BASE_TIME + 350) == sorted(
        ["lunch plans", "old report"])
    assert subjects(has_attachment="true") == ["with file"]
    assert subjects(has_attachment="false") == sorted(["Quarterly Report", "lunch plans", "old report"])
    assert subjects(**{"in": "inbox"}, unread="true", subject="report") == ["Quarterly Report"]
    target = by_subject(us2, g, "lunch plans")
    threaded = list_messages(us2, g, thread_id=target["thread_id"])
    assert [m["id"] for m in threaded] == [target["id"]], threaded
    root = f"<{uuid.uuid4().hex}@interop.test>"
    append(conn, "INBOX", message("thread root", msgid=root), when=BASE_TIME + 10)
    append(conn, "INBOX", message("Re: thread root", extra=f"In-Reply-To: {root}\r\nReferences: {root}\r\n".encode()),
           when=BASE_TIME + 20)
    root_msg = by_subject(us2, g, "thread root")
    assert subjects(thread_id=root_msg["thread_id"]) == ["Re: thread root", "thread root"]
    assert subjects(thread_id="no-such-thread") == []
    # Participants come back as {name, email}.
    q = by_subject(us2, g, "Quarterly Report")
    assert q["from"] == [{"name": "Carol", "email": "carol@example.net"}], q["from"]
    assert emails(q["to"]) == ["boss@example.com"] and q["cc"] == [{"name": "Dan", "email": "dan@example.net"}]
    assert emails(q["bcc"]) == ["eve@example.net"]
    # Unsupported and malformed filters.
    assert_error(us1.get(f"/v3/grants/{g['id']}/messages", params={"search_query_native": "subject:x"}),
                 400, "invalid_request_error")
    assert_error(us1.get(f"/v3/grants/{g['id']}/messages", params={"unread": "maybe"}), 400, "invalid_request_error")
    assert_error(us1.get(f"/v3/grants/{g['id']}/messages", params={"received_after": "yesterday"}),
                 400, "invalid_request_error")


def test_select_returns_sparse_objects(acct, us1, us2):
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("sparse", body="x" * 100 + "\r\n"))
    data = list_messages(us2, acct.grant, select="subject,unread")
    assert data == [{"id": data[0]["id"], "grant_id": acct.grant["id"], "object": "message",
                     "subject": "sparse", "unread": True}], data
    data = list_messages(us2, acct.grant, select="folders")
    assert set(data[0]) == {"id", "grant_id", "object", "folders"} and data[0]["folders"] == ["inbox"], data
    append(conn, "INBOX", attachment_message("sparse file", b"%PDF-1.4 x\n"))
    full = {m["id"]: m for m in list_messages(us2, acct.grant)}
    fields = ["snippet", "body", "attachments", "from", "date", "thread_id", "starred"]
    for m in list_messages(us1, acct.grant, select=",".join(fields)):
        assert set(m) == {"id", "grant_id", "object", *fields}, m
        assert all(m[k] == full[m["id"]][k] for k in m), (m, full[m["id"]])


# --- raw MIME and attachments ----------------------------------------------------------------------

def attachment_message(subject, payload, filename="report.pdf"):
    boundary = f"b-{uuid.uuid4().hex}"
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (f"From: alice@example.org\r\nTo: agent@example.com\r\nSubject: {subject}\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{uuid.uuid4().hex}@interop.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n"
            f"--{boundary}\r\nContent-Type: application/pdf; name=\"{filename}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode() + encoded + (
            f"\r\n--{boundary}--\r\n").encode()


def test_raw_mime_is_base64url_of_the_appended_bytes(acct, us1, us2):
    conn = acct.imaplib(us1)
    raw = message("raw me", body="line one\r\nline two ~~~ ???\r\n", extra=b"X-Extra: >>>???<<<\r\n")
    append(conn, "INBOX", raw)
    m = by_subject(us1, acct.grant, "raw me")
    data = get_message(us2, acct.grant, m["id"], fields="raw_mime")
    encoded = data["raw_mime"]
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded, encoded
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == raw
    headers = get_message(us2, acct.grant, m["id"], fields="include_headers")["headers"]
    assert {"name": "X-Extra", "value": ">>>???<<<"} in headers, headers
    assert {"name": "Subject", "value": "raw me"} in headers, headers


def test_attachment_downloads_byte_for_byte(acct, us1, us2):
    conn = acct.imaplib(us1)
    payload = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 3 + b"\n%%EOF\n"
    raw = attachment_message("has pdf", payload)
    append(conn, "INBOX", raw)
    m = by_subject(us1, acct.grant, "has pdf")
    assert m["body"].strip() == "see attached", m["body"]
    assert len(m["attachments"]) == 1, m["attachments"]
    att = m["attachments"][0]
    assert att["filename"] == "report.pdf" and att["content_type"].startswith("application/pdf"), att
    assert att["size"] == len(payload), att
    assert att["grant_id"] == acct.grant["id"] and att["is_inline"] is False, att
    assert att.get("content_disposition", "").startswith("attachment"), att
    r = us2.get(f"/v3/grants/{acct.grant['id']}/attachments/{att['id']}/download", params={"message_id": m["id"]})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/pdf"), r.headers
    assert r.content == payload
    # An unknown attachment id, or the right one under another message: 404.
    append(conn, "INBOX", message("no files"))
    other = by_subject(us1, acct.grant, "no files")
    assert us1.get(f"/v3/grants/{acct.grant['id']}/attachments/nope/download",
                   params={"message_id": m["id"]}).status_code == 404
    assert us1.get(f"/v3/grants/{acct.grant['id']}/attachments/{att['id']}/download",
                   params={"message_id": other["id"]}).status_code == 404


def test_attachment_download_headers_for_odd_filenames(acct, us1):
    """Filenames come from the message: a non-ASCII one must reach the Content-Disposition of the
    download as RFC 6266 / RFC 8187 filename*=UTF-8''... (a header value is ASCII, RFC 9110 5.5),
    and a CR LF smuggled in through RFC 2231 must never split the header."""
    conn = acct.imaplib(us1)

    def mk(subject, disposition):
        return (f"From: a@example.org\r\nTo: agent@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                "--o\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                f"Content-Disposition: {disposition}\r\n\r\na,b=3Dc\r\n1,=C3=A9\r\n--o--\r\n").encode()
    append(conn, "INBOX", mk("utf8 name", "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv"))
    append(conn, "INBOX", mk("crlf name", "attachment; filename*=UTF-8''a%0D%0AX-Evil:%201.csv"))
    for subject in ("utf8 name", "crlf name"):
        m = by_subject(us1, acct.grant, subject)
        (att,) = m["attachments"]
        r = us1.get(f"/v3/grants/{acct.grant['id']}/attachments/{att['id']}/download",
                    params={"message_id": m["id"]})
        assert r.status_code == 200, r.text
        assert r.content == "a,b=c\r\n1,é".encode(), r.content  # quoted-printable decoded
        assert "X-Evil" not in r.headers, r.headers
        disposition = r.headers.get("Content-Disposition", "")
        # requests decodes header bytes as Latin-1: anything >= 0x80 on the wire shows up here.
        assert all(ord(ch) < 128 for ch in disposition), f"non-ASCII bytes in Content-Disposition: {disposition!r}"
        if subject == "utf8 name":
            assert att["filename"] == "résumé.csv", att
            assert "filename*=UTF-8''r%C3%A9sum%C3%A9.csv" in disposition, disposition


# --- forwarding and bad input ------------------------------------------------------------------------

def test_us_grant_messages_are_served_through_eu(acct, us1, eu1):
    conn = acct.imaplib(us1)
    append(conn, "INBOX", message("across the sea"))
    m = by_subject(eu1, acct.grant, "across the sea")
    assert get_message(eu1, acct.grant, m["id"])["subject"] == "across the sea"
    ok(put(eu1, f"/v3/grants/{acct.grant['id']}/messages/{m['id']}", json={"starred": True}))
    assert b"\\Flagged" in imap_flags(conn, "INBOX", 1)
    assert "inbox" in folders(eu1, acct.grant)


def test_bad_input(account, us1, us2):
    mine, theirs = account(us1), account(us1)
    append(mine.imaplib(us1), "INBOX", message("mine"))
    append(theirs.imaplib(us1), "INBOX", message("secret of another grant"))
    m = by_subject(us1, mine.grant, "mine")
    foreign = by_subject(us1, theirs.grant, "secret of another grant")
    base = f"/v3/grants/{mine.grant['id']}/messages"

    for mid in ("0" * 32, "no-such-message"):
        assert_error(us1.get(f"{base}/{mid}"), 404, "not_found_error")
    # Another grant's message id through this grant's URL: never that grant's data.
    for node in (us1, us2):
        for method, kw in (("GET", {}), ("PUT", {"json": {"unread": False}}), ("DELETE", {})):
            r = node.request(method, f"{base}/{foreign['id']}", **kw)
            assert r.status_code == 404, (method, r.status_code, r.text)
            assert "secret" not in r.text
        r = node.get(f"{base}/{foreign['id']}", params={"fields": "raw_mime"})
        assert r.status_code == 404 and "secret" not in r.text, r.text
    assert by_subject(us1, theirs.grant, "secret of another grant")["unread"] is True
    assert ok(us1.get(f"/v3/grants/{theirs.grant['id']}/messages/{foreign['id']}"))["data"]["folders"] == ["inbox"]

    assert_error(put(us1, f"{base}/{m['id']}", json={"folders": ["inbox", "archive"]}), 400, "invalid_request_error")
    their_folder = ok(us1.post(f"/v3/grants/{theirs.grant['id']}/folders", json={"name": "Theirs"}))["data"]
    assert_error(put(us1, f"{base}/{m['id']}", json={"folders": [their_folder["id"]]}), 404, "not_found_error")
    assert_error(us1.get(f"/v3/grants/{mine.grant['id']}/folders/{their_folder['id']}"), 404, "not_found_error")
    assert_error(us1.post(f"/v3/grants/{mine.grant['id']}/folders", json={"name": "x", "parent_id": their_folder["id"]}),
                 404, "not_found_error")
    assert_error(put(us1, f"/v3/grants/{mine.grant['id']}/folders/{their_folder['id']}", json={"name": "hijack"}),
                 404, "not_found_error")
    assert_error(us1.delete(f"/v3/grants/{mine.grant['id']}/folders/{their_folder['id']}"), 404, "not_found_error")
    assert folders(us1, theirs.grant)[their_folder["id"]]["name"] == "Theirs"
    append(theirs.imaplib(us1), "INBOX", attachment_message("their file", b"secret bytes"))
    their_att = by_subject(us1, theirs.grant, "their file")
    r = us1.get(f"/v3/grants/{mine.grant['id']}/attachments/{their_att['attachments'][0]['id']}/download",
                params={"message_id": their_att["id"]})
    assert r.status_code == 404 and b"secret" not in r.content, r.text
    assert_error(us1.get(f"/v3/grants/{mine.grant['id']}/messages", params={"in": their_folder["id"]}),
                 404, "not_found_error")
    r = put(us1, f"{base}/{m['id']}", data="unread=false", headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    assert get_message(us1, mine.grant, m["id"])["unread"] is True
    r = us1.post(f"/v3/grants/{mine.grant['id']}/folders", data="name=x",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "unsupported_media_type")
    # Without a key, or with a wrong one.
    for path in (base, f"{base}/{m['id']}", f"/v3/grants/{mine.grant['id']}/folders"):
        r = us1.get(path, key=None)
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert "mine" not in r.text, r.text
        assert us1.get(path, key="wrong-key").status_code == 401
    assert us1.request("PUT", f"{base}/{m['id']}", key=None, json={"unread": False}).status_code == 401
    assert us1.delete(f"{base}/{m['id']}", key=None).status_code == 401
    assert get_message(us1, mine.grant, m["id"])["folders"] == ["inbox"]

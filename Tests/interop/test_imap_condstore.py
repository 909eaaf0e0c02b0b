"""CONDSTORE and QRESYNC (RFC 7162) with clients nobody on this team wrote: imapclient's own
support (enable, select_folder's HIGHESTMODSEQ, fetch modifiers, search results with .modseq) and
imaplib for what imapclient has no call for (SELECT ... (QRESYNC ...), VANISHED). The writer and
the reader sit on different nodes of the region.
"""
import imaplib
import re

import pytest

from helpers import append, by_subject, list_messages, message, ok, wait_for


def untagged(conn, name):
    """Pops imaplib's collected untagged responses of one kind (bytes, without the name)."""
    typ, data = conn.response(name)
    return [item for item in data if item is not None]


def seen_modseqs(items):
    """{uid: modseq} from FETCH response items such as b'2 (UID 4 FLAGS (\\Seen) MODSEQ (17))'."""
    found = {}
    for item in items:
        text = item.decode() if isinstance(item, bytes) else str(item)
        uid, modseq = re.search(r"UID (\d+)", text), re.search(r"MODSEQ \((\d+)\)", text)
        assert uid and modseq, text
        found[int(uid.group(1))] = int(modseq.group(1))
    return found


def test_condstore_with_imapclient(account, us1, us2):
    acct = account(us1)
    client = acct.imapclient(us1)
    caps = client.capabilities()
    assert b"CONDSTORE" in caps and b"QRESYNC" in caps, caps
    for i in range(3):
        client.append("INBOX", message(f"condstore {i}"))
    assert client.enable("CONDSTORE") == [b"CONDSTORE"]
    selected = client.select_folder("INBOX")
    start = selected[b"HIGHESTMODSEQ"]
    assert isinstance(start, int) and start > 0, selected

    client.add_flags([1], [b"\\Flagged"])
    changed = client.fetch([1, 2, 3], ["FLAGS"], modifiers=[f"CHANGEDSINCE {start}"])
    assert list(changed) == [1], changed
    flagged_at = changed[1][b"MODSEQ"][0]
    assert flagged_at > start and b"\\Flagged" in changed[1][b"FLAGS"], changed

    found = client.search(["MODSEQ", str(flagged_at)])
    assert list(found) == [1] and found.modseq == flagged_at, (found, getattr(found, "modseq", None))

    # Another node changes message 2: the reader hears it with its modseq.
    other = acct.imaplib(us2)
    assert other.select("INBOX")[0] == "OK"
    typ, data = other.store("2", "+FLAGS", "(\\Answered)")
    assert typ == "OK", data
    updates = client.noop()[1]
    fetched = [item for item in updates if item[1] == b"FETCH"]
    assert fetched and fetched[0][0] == 2, updates
    answered_at = dict(zip(fetched[0][2][::2], fetched[0][2][1::2]))[b"MODSEQ"][0]
    assert answered_at > flagged_at, updates

    # A conditional STORE leaves what changed since the modseq it names, and says which.
    raw = acct.imaplib(us1)
    assert raw.select("INBOX")[0] == "OK"
    typ, data = raw._simple_command("STORE", "1:3", f"(UNCHANGEDSINCE {flagged_at})", "+FLAGS.SILENT", "(\\Seen)")
    assert typ == "OK" and b"[MODIFIED 2]" in data[0], (typ, data)
    now_seen = seen_modseqs(untagged(raw, "FETCH"))
    assert sorted(now_seen) == [1, 3] and min(now_seen.values()) > answered_at, now_seen
    for conn in (other, raw):
        conn.logout()
    client.logout()


def test_qresync_tells_a_returning_client_what_vanished(account, us1, us2):
    acct = account(us1)
    writer = acct.imapclient(us2)
    for i in range(5):
        writer.append("INBOX", message(f"qresync {i}"))
    selected = writer.select_folder("INBOX")
    validity, known = selected[b"UIDVALIDITY"], selected[b"HIGHESTMODSEQ"]
    writer.add_flags([2], [b"\\Seen"])
    writer.delete_messages([4])
    writer.expunge()

    reader = acct.imaplib(us1)
    with pytest.raises(imaplib.IMAP4.error, match="QRESYNC must be enabled first"):
        reader._simple_command("SELECT", "INBOX", f"(QRESYNC ({validity} {known}))")
    typ, data = reader._simple_command("ENABLE", "QRESYNC")
    assert typ == "OK" and untagged(reader, "ENABLED") == [b"QRESYNC"]
    typ, data = reader._simple_command("SELECT", "INBOX", f"(QRESYNC ({validity} {known} 1:5))")
    assert typ == "OK", data
    reader.state = "SELECTED"  # imaplib tracks the state only through its own select()
    assert untagged(reader, "VANISHED") == [b"(EARLIER) 4"]
    changed = untagged(reader, "FETCH")
    assert seen_modseqs(changed).keys() == {2} and b"\\Seen" in changed[0], changed

    # From now on an expunge elsewhere is told as VANISHED, by UID, never as EXPUNGE.
    writer.delete_messages([1])
    writer.expunge()
    typ, data = reader.noop()
    assert typ == "OK"
    assert untagged(reader, "VANISHED") == [b"1"]
    assert untagged(reader, "EXPUNGE") == []

    typ, data = reader._simple_command("UID", "FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {known} VANISHED)")
    assert typ == "OK", data
    assert untagged(reader, "VANISHED") == [b"(EARLIER) 1,4"]
    assert seen_modseqs(untagged(reader, "FETCH")).keys() == {2}
    reader.logout()
    writer.logout()


def test_qresync_after_changes_through_the_api_and_smtp(account, us1, us2, eu1):
    """A client comes back after the API and SMTP changed its INBOX on other nodes (a Thunderbird-like
    resync): VANISHED (EARLIER) names exactly what left, and FETCH exactly what changed or arrived."""
    acct = account(us1)
    feeder = acct.imaplib(us2)
    uids = {subject: append(feeder, "INBOX", message(subject)) for subject in ("keep", "star me", "trash me")}
    feeder.logout()

    away = acct.imaplib(us1)
    typ, data = away._simple_command("ENABLE", "QRESYNC")
    assert typ == "OK", data
    assert away.select("INBOX")[0] == "OK"
    validity = int(untagged(away, "UIDVALIDITY")[0])
    known = int(untagged(away, "HIGHESTMODSEQ")[0])
    away.logout()

    # While it is away: the API stars one message and deletes another (through another node),
    # and a grant of the other region sends it mail.
    base = f"/v3/grants/{acct.grant['id']}/messages"
    ok(us2.put(f"{base}/{by_subject(us2, acct.grant, 'star me')['id']}", json={"starred": True}))
    assert us2.delete(f"{base}/{by_subject(us2, acct.grant, 'trash me')['id']}").status_code == 200
    sender = account(eu1)
    smtp = sender.smtp(eu1)
    smtp.sendmail(sender.email, [acct.email], message("from afar", sender=sender.email, to=acct.email))
    smtp.quit()
    assert wait_for(lambda: [m for m in list_messages(us1, acct.grant) if m.get("subject") == "from afar"], timeout=20)

    back = acct.imaplib(us1)
    typ, data = back._simple_command("ENABLE", "QRESYNC")
    assert typ == "OK", data
    typ, data = back._simple_command("SELECT", "INBOX", f"(QRESYNC ({validity} {known}))")
    assert typ == "OK", data
    assert untagged(back, "VANISHED") == [f"(EARLIER) {uids['trash me']}".encode()]
    fetched = untagged(back, "FETCH")
    changed = seen_modseqs(fetched)
    assert set(changed) == {uids["star me"], uids["trash me"] + 1}, fetched
    assert all(modseq > known for modseq in changed.values()), (known, changed)
    starred = [item for item in fetched if f"UID {uids['star me']} ".encode() in item]
    assert b"\\Flagged" in starred[0], fetched
    back.logout()

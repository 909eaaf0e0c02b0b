"""ACL (RFC 4314) through imapclient's getacl/setacl and imaplib, METADATA (RFC 5464) and SAVEDATE
(RFC 8514) through imaplib: entries written on one node are read on another."""
import imaplib

import pytest

from helpers import message

imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("MYRIGHTS", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))


def test_acl_reports_the_owner_and_shares_nothing(account, us1):
    acct = account(us1)
    client = acct.imapclient(us1)
    assert b"ACL" in client.capabilities() and b"RIGHTS=TEXK" in [c.upper() for c in client.capabilities()]
    client.create_folder("Shared")
    assert client.getacl("Shared") == [(acct.email.encode(), b"lrswipkxteacd")]
    assert client.getacl("INBOX") == [(acct.email.encode(), b"lrswipkteacd")]
    with pytest.raises(imapclient_error()):
        client.setacl("Shared", "somebody@example.org", "lr")
    raw = acct.imaplib(us1)
    typ, data = raw._simple_command("MYRIGHTS", "Shared")
    assert typ == "OK" and raw.response("MYRIGHTS")[1] == [b"Shared lrswipkxteacd"]
    typ, data = raw._simple_command("LISTRIGHTS", "Shared", "anyone")
    assert typ == "OK" and raw.response("LISTRIGHTS")[1] == [b'Shared anyone ""']
    raw.logout()
    client.logout()


def imapclient_error():
    import imapclient
    return imapclient.exceptions.IMAPClientError


def test_metadata_written_on_one_node_is_read_on_another(account, us1, us2):
    acct = account(us1)
    writer = acct.imaplib(us1)
    assert "METADATA" in writer.capabilities
    typ, data = writer._simple_command("CREATE", "Projects")
    assert typ == "OK", data
    typ, data = writer._simple_command("SETMETADATA", '""', '(/private/comment "mine" /shared/vendor/x/color "blue")')
    assert typ == "OK", data
    typ, data = writer._simple_command("SETMETADATA", "Projects", '(/shared/comment "all about projects")')
    assert typ == "OK", data
    writer.logout()

    reader = acct.imaplib(us2)
    typ, data = reader._simple_command("GETMETADATA", '""', "(/private/comment /shared/comment)")
    assert typ == "OK", data
    assert reader.response("METADATA")[1] == [b'"" (/private/comment "mine" /shared/comment NIL)']
    typ, data = reader._simple_command("GETMETADATA", "(DEPTH infinity)", '""', "/shared")
    assert typ == "OK" and reader.response("METADATA")[1] == [b'"" (/shared/vendor/x/color "blue")']
    typ, data = reader._simple_command("RENAME", "Projects", "Work")
    assert typ == "OK", data
    typ, data = reader._simple_command("GETMETADATA", "(MAXSIZE 5)", "Work", "/shared/comment")
    assert typ == "OK" and b"[METADATA LONGENTRIES 18]" in data[-1], data
    assert reader.response("METADATA")[1] == [b"LONGENTRIES 18"]  # imaplib files the code with the data
    typ, data = reader._simple_command("GETMETADATA", "Work", "/shared/comment")
    assert reader.response("METADATA")[1] == [b'Work (/shared/comment "all about projects")']
    typ, data = reader._simple_command("GETMETADATA", "Sent", "/private/specialuse")
    assert reader.response("METADATA")[1] == [b'Sent (/private/specialuse "\\\\Sent")']
    with pytest.raises(imaplib.IMAP4.error, match="start with /private/ or /shared/"):
        reader._simple_command("SETMETADATA", "Work", '(/nowhere "x")')
    reader.logout()


def test_savedate_is_when_the_message_came_into_the_mailbox(account, us1):
    acct = account(us1)
    conn = acct.imaplib(us1)
    typ, data = conn.append("INBOX", None, imaplib.Time2Internaldate(946_720_800), message("from the past"))
    assert typ == "OK", data
    conn.select("INBOX")
    typ, data = conn.fetch("1", "(INTERNALDATE SAVEDATE)")
    assert typ == "OK" and b'INTERNALDATE " 1-Jan-2000' in data[0] and b"SAVEDATE" in data[0], data
    assert b"2000" not in data[0].split(b"SAVEDATE")[1], data
    typ, data = conn.search(None, "SAVEDSINCE", "1-Jan-2001", "BEFORE", "2-Jan-2000")
    assert data == [b"1"], data
    conn.logout()

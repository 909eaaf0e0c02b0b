"""NOTIFY (RFC 5465) through imaplib: after NOTIFY SET the server tells changes made through the
API, SMTP and IMAP on other nodes without being asked, while the client sends no command. imaplib
reads the unsolicited lines with its own readline, as a NOTIFY client would."""
import imaplib
import re

from helpers import append, by_subject, message, ok

imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))


def unsolicited(conn, wanted, limit=20):
    """Reads untagged lines until one matches `wanted` (a regex on bytes); returns the lines read.
    The socket timeout (10 s) bounds the wait: a change that is never told fails the test."""
    lines = []
    for _ in range(limit):
        line = conn.readline().rstrip(b"\r\n")
        lines.append(line)
        if re.search(wanted, line):
            return lines
    raise AssertionError(f"no line like {wanted!r} in {lines!r}")


def test_changes_elsewhere_are_told_without_a_command(account, us1, us2, eu1):
    acct = account(us1)
    feeder = acct.imaplib(us2)
    first = append(feeder, "INBOX", message("notify first"))
    watcher = acct.imaplib(us1)
    assert "NOTIFY" in watcher.capabilities
    assert watcher.select("INBOX")[0] == "OK"
    typ, data = watcher._simple_command(
        "NOTIFY", "SET", "(selected (MessageNew (UID ENVELOPE) MessageExpunge FlagChange))",
        "(personal (MessageNew MessageExpunge MailboxName))")
    assert typ == "OK", data
    watcher.sock.settimeout(10)

    # The API stars the message on another node: a FETCH with its flags follows.
    base = f"/v3/grants/{acct.grant['id']}/messages"
    ok(us2.put(f"{base}/{by_subject(us2, acct.grant, 'notify first')['id']}", json={"starred": True}))
    lines = unsolicited(watcher, rb"^\* 1 FETCH \(UID %d FLAGS \(.*\\Flagged" % first)

    # Mail from the other region: EXISTS, then the UID and ENVELOPE MessageNew asked for.
    sender = account(eu1)
    smtp = sender.smtp(eu1)
    smtp.sendmail(sender.email, [acct.email], message("notify from afar", sender=sender.email, to=acct.email))
    smtp.quit()
    lines = unsolicited(watcher, rb"^\* 2 FETCH \(UID \d+ ENVELOPE .*notify from afar")
    assert any(line == b"* 2 EXISTS" for line in lines), lines

    # A mailbox made on another node, and mail appended there: LIST, then STATUS.
    assert feeder.create("Notified")[0] == "OK"
    unsolicited(watcher, rb'^\* LIST \(\) "/" Notified$')
    append(feeder, "Notified", message("into the other mailbox"))
    unsolicited(watcher, rb"^\* STATUS Notified \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$")

    # The session still answers commands, and NOTIFY NONE stops it all.
    typ, data = watcher._simple_command("NOTIFY", "NONE")
    assert typ == "OK", data
    append(feeder, "INBOX", message("after none"))
    # RFC 5465 3.1: nothing is told of the selected mailbox any more, not even after a command;
    # a new SELECT shows the message.
    watcher.untagged_responses.clear()
    assert watcher.noop()[0] == "OK"
    assert "EXISTS" not in watcher.untagged_responses, watcher.untagged_responses
    typ, data = watcher.select("INBOX")
    assert typ == "OK" and data == [b"3"], data
    watcher.logout()
    feeder.logout()

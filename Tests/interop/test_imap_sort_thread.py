"""SORT, ESORT and THREAD (RFC 5256, 5267) through imapclient's sort() and thread(), with mail
appended on another node and delivered over SMTP from the other region; IMAP's threads agree with
the API's thread ids (FETCH THREADID, RFC 8474)."""
from helpers import list_messages, message, wait_for

HOUR = 3600
BASE = 1_790_000_000


def test_sort_and_thread_with_imapclient(account, us1, us2, eu1):
    acct = account(us1)
    writer = acct.imapclient(us2)
    writer.append("INBOX", message("Plans", sender="Zoe <zoe@example.org>", msgid="<root@interop.test>", date=BASE))
    writer.append("INBOX", message("[team] Lunch", sender="amy@example.org", date=BASE - HOUR))
    writer.append("INBOX", message("Re: Plans", sender="Bob <bob@example.org>", date=BASE + 2 * HOUR,
                                   extra=b"In-Reply-To: <root@interop.test>\r\nReferences: <root@interop.test>\r\n"))
    sender = account(eu1)
    smtp = sender.smtp(eu1)
    smtp.sendmail(sender.email, [acct.email],
                  message("RE: plans", sender=sender.email, to=acct.email, date=BASE + HOUR,
                          extra=b"References: <root@interop.test>\r\n"))
    smtp.quit()
    assert wait_for(lambda: len(list_messages(us1, acct.grant)) == 4, timeout=20)
    writer.logout()

    reader = acct.imapclient(us1)
    caps = reader.capabilities()
    for name in (b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT"):
        assert name in caps, caps
    reader.select_folder("INBOX")
    # UIDs 1..4 in arrival order: Plans, Lunch, Re: Plans, RE: plans (from the other region).
    assert reader.sort(["SUBJECT"]) == [2, 1, 3, 4]
    assert reader.sort(["REVERSE", "DATE"]) == [3, 4, 1, 2]
    assert reader.sort(["DATE"], ["NOT", "SUBJECT", "Lunch"]) == [1, 4, 3]
    display = {1: "Zoe", 2: "amy@example.org", 3: "Bob", 4: sender.email}
    assert reader.sort(["DISPLAYFROM"]) == sorted(display, key=lambda uid: display[uid].upper())

    threads = reader.thread("REFERENCES")
    assert threads == ((2,), (1, (4,), (3,))), threads
    assert reader.thread("ORDEREDSUBJECT") == ((2,), (1, (4,), (3,)))

    # The API's thread ids group the messages as THREAD REFERENCES does.
    ids = {uid: data[b"THREADID"][0] for uid, data in reader.fetch([1, 2, 3, 4], ["THREADID"]).items()}
    assert ids[1] == ids[3] == ids[4] and ids[2] != ids[1], ids

    # ESORT: the answer is an ESEARCH in sort order.
    typ, data = reader._imap._simple_command("UID", "SORT", "RETURN", "(MIN MAX ALL COUNT)", "(DATE)", "UTF-8", "ALL")
    assert typ == "OK", data
    typ, found = reader._imap._untagged_response(typ, data, "ESEARCH")
    assert found[-1].endswith(b"UID MIN 2 MAX 3 ALL 2,1,4,3 COUNT 4"), found
    reader.logout()

"""Webhooks end to end: the /v3/webhooks API, and notifications reaching a real HTTP receiver
(webhook_receiver.py) for changes made through IMAP and the REST API.

Webhooks are application-wide: every webhook gets the events of every grant, including those of
other tests. Every test makes its own grants after its webhooks and looks only at deliveries for
them. Every delivery a test relies on has its X-Nylas-Signature checked against the secret.
"""
import imaplib
import re
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest

from helpers import append, assert_error, by_subject, emails, get_message, message, ok, valid_password
from webhook_receiver import EVENT_TIMEOUT, TRIGGER_TYPES

WEBHOOK_KEYS = {"id", "object", "description", "trigger_types", "webhook_url", "status",
                "notification_email_addresses", "status_updated_at", "created_at", "updated_at"}
ENVELOPE_KEYS = {"specversion", "type", "source", "id", "time", "webhook_delivery_attempt", "data"}
SECRET_RE = re.compile(r"[0-9a-f]{64}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{64}")


# --- helpers -------------------------------------------------------------------------------------

def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def without_secret(data):
    return {k: v for k, v in data.items() if k != "webhook_secret"}


def assert_webhook(obj, secret=False):
    assert WEBHOOK_KEYS <= set(obj), obj
    assert obj["object"] == "webhook", obj
    assert isinstance(obj["id"], str) and obj["id"], obj
    assert obj["status"] in ("active", "failing", "pause"), obj
    now = time.time()
    for key in ("created_at", "updated_at", "status_updated_at"):
        assert is_int(obj[key]) and abs(now - obj[key]) < 600, (key, obj[key], "unix seconds expected")
    if secret:
        assert SECRET_RE.fullmatch(obj.get("webhook_secret") or ""), f"webhook_secret is not 64 hex digits: {obj}"
    else:
        assert "webhook_secret" not in obj, f"the secret is shown outside create and rotate: {obj}"


def list_webhooks(node):
    listed, token = [], None
    for _ in range(200):
        body = ok(node.get("/v3/webhooks", params={"page_token": token} if token else None))
        assert isinstance(body["data"], list), body
        listed += body["data"]
        token = body.get("next_cursor")
        if not token:
            return listed
    raise AssertionError("the webhook list does not end")


def purge_saved(nodes, *urls):
    """Webhooks pointing at any of `urls` that the nodes list (deleted, so none outlives the test)."""
    found = []
    for node in nodes:
        saved = [w for w in list_webhooks(node) if w.get("webhook_url") in urls]
        for w in saved:
            node.delete(f"/v3/webhooks/{w['id']}")
        found += [(node.id, w) for w in saved]
    return found


def subject_is(subject):
    return lambda obj: obj.get("subject") == subject


def event_number(delivery, region):
    match = re.fullmatch(rf"{region}-(\d+)", delivery.id or "")
    assert match, f"event id {delivery.id!r} is not '{region}-<n>'"
    return int(match.group(1))


def assert_signed(delivery, secret):
    assert delivery.signature and SIGNATURE_RE.fullmatch(delivery.signature), (
        f"X-Nylas-Signature is not 64 lowercase hex digits: {delivery.signature!r}")
    assert delivery.verifies(secret), f"signature does not verify: {delivery.describe()}"


def imap_flags(conn, folder, uid):
    conn.select(folder, readonly=True)
    typ, data = conn.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK" and data and data[0], data
    return {f.decode() for f in imaplib.ParseFlags(data[0])}


def folder_by_name(node, grant, name):
    found = [f for f in ok(node.get(f"/v3/grants/{grant['id']}/folders"))["data"] if f["name"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def appended(webhook, acct, node, subject, body="hello\r\n"):
    """APPEND a message to INBOX through `node`; wait for its message.created. -> (conn, uid, delivery)"""
    conn = acct.imaplib(node)
    uid = append(conn, "INBOX", message(subject, body=body))
    created = webhook.wait(acct.grant["id"], "message.created", subject_is(subject))
    return conn, uid, created


# --- create ----------------------------------------------------------------------------------------

def test_create_answers_the_challenge_and_shows_the_secret_once(make_webhook, create_grant, us1, us2, eu1):
    receiver = make_webhook.receiver(query="tag=abc")  # the challenge is added with '&'
    description = unique("interop hook")
    wh = make_webhook(receiver=receiver, trigger_types=["grant.created", "message.created"],
                      description=description, notification_email_addresses=["ops@example.com"])
    data = wh.data
    assert_webhook(data, secret=True)
    assert data["webhook_url"] == receiver.url, data
    assert data["description"] == description, data
    assert sorted(data["trigger_types"]) == ["grant.created", "message.created"], data
    assert data["notification_email_addresses"] == ["ops@example.com"], data
    assert data["status"] == "active", data

    # The node challenged the URL before it answered.
    assert receiver.challenges, "no GET ?challenge= reached the receiver before the webhook was saved"
    challenge = receiver.challenges[0]
    assert urlsplit(challenge.path).path == receiver.path, challenge
    assert challenge.query.get("tag") == ["abc"], f"the URL's own query was lost: {challenge.path}"
    assert challenge.value and len(challenge.value) >= 8, challenge
    assert (challenge.status, challenge.answer) == (200, challenge.value)

    # Readable through every node of both regions, without the secret.
    for node in (us1, us2, eu1):
        got = ok(node.get(f"/v3/webhooks/{wh.id}"))["data"]
        assert_webhook(got)
        assert got == without_secret(data), (node.id, got, data)

    # Another webhook: its own secret, its own challenge.
    other = make_webhook(trigger_types=["grant.created"])
    assert other.secret != wh.secret
    assert other.receiver.challenges[0].value != challenge.value

    # Notifications go to the URL as given (with its query), signed with this webhook's secret.
    grant = create_grant(us1)
    delivery = wh.wait(grant["id"], "grant.created")
    assert urlsplit(delivery.path).path == receiver.path and delivery.query.get("tag") == ["abc"], delivery.path
    assert not delivery.verifies(other.secret)
    assert_signed(other.wait(grant["id"], "grant.created"), other.secret)


@pytest.mark.parametrize("options", [
    {"challenge_answer": "wrong"},
    {"challenge_status": 404},      # the right value, but not 200
    {"challenge_status": 500},
    {"challenge_delay": 12},        # the right value, after the node's 10 s
], ids=["wrong-answer", "status-404", "status-500", "too-slow"])
def test_failed_challenge_is_400_naming_webhook_url_and_saves_nothing(make_webhook, us1, eu1, options):
    receiver = make_webhook.receiver(**options)
    try:
        started = time.monotonic()
        response = us1.post("/v3/webhooks", json={"trigger_types": ["message.created"], "webhook_url": receiver.url},
                            timeout=40)
        elapsed = time.monotonic() - started
        error = assert_error(response, 400, "invalid_request_error")
        assert "webhook_url" in error["message"], error
        assert receiver.challenges, "the node refused the URL without challenging it"
        if options.get("challenge_delay"):
            assert 9.0 <= elapsed < 30, f"the slow challenge was given up after {elapsed:.1f} s (10 s expected)"
    finally:
        saved = purge_saved([us1, eu1], receiver.url)
    assert not saved, f"a refused webhook was saved: {saved}"


def test_unreachable_url_is_400_naming_webhook_url(make_webhook, us1):
    receiver = make_webhook.receiver()
    receiver.close()  # nothing listens on its port any more
    try:
        error = assert_error(us1.post("/v3/webhooks", json={"trigger_types": ["grant.created"],
                                                            "webhook_url": receiver.url}), 400, "invalid_request_error")
        assert "webhook_url" in error["message"], error
    finally:
        saved = purge_saved([us1], receiver.url)
    assert not saved, f"a refused webhook was saved: {saved}"


def test_challenge_answered_within_the_budget_is_accepted(make_webhook, us1):
    receiver = make_webhook.receiver(challenge_delay=4)
    started = time.monotonic()
    wh = make_webhook(receiver=receiver, trigger_types=["grant.created"])
    assert time.monotonic() - started >= 3.5
    assert_webhook(wh.data, secret=True)
    assert ok(us1.get(f"/v3/webhooks/{wh.id}"))["data"]["webhook_url"] == receiver.url


# --- read ------------------------------------------------------------------------------------------

def test_list_and_get_never_show_the_secret(cluster, webhook, make_webhook):
    other = make_webhook(trigger_types=["folder.created"], description="second")
    for node in cluster.nodes.values():
        listed = {w["id"]: w for w in list_webhooks(node)}
        assert {webhook.id, other.id} <= set(listed), (node.id, sorted(listed))
        for w in listed.values():
            assert WEBHOOK_KEYS <= set(w) and "webhook_secret" not in w, (node.id, w)
        assert listed[webhook.id] == without_secret(webhook.data), (node.id, listed[webhook.id])
        assert listed[other.id]["trigger_types"] == ["folder.created"], listed[other.id]
        assert listed[other.id]["description"] == "second", listed[other.id]
        for wh in (webhook, other):
            response = node.get(f"/v3/webhooks/{wh.id}")
            assert ok(response)["data"] == listed[wh.id], node.id
            assert wh.secret not in response.text
        assert webhook.secret not in node.get("/v3/webhooks").text


# --- update ----------------------------------------------------------------------------------------

def test_put_changes_description_addresses_and_trigger_types(webhook, make_webhook, account, us1, us2, eu1):
    control = make_webhook(node=us2)  # every type: shows the events the filtered webhook must not get
    before = webhook.data
    response = us2.put(f"/v3/webhooks/{webhook.id}", json={
        "description": "only folders", "trigger_types": ["folder.created"],
        "notification_email_addresses": ["a@example.com", "b@example.com"]})
    data = ok(response)["data"]
    assert_webhook(data)
    assert data["id"] == webhook.id and data["description"] == "only folders", data
    assert data["trigger_types"] == ["folder.created"], data
    assert data["notification_email_addresses"] == ["a@example.com", "b@example.com"], data
    assert data["webhook_url"] == before["webhook_url"] and data["status"] == "active", data
    assert data["created_at"] == before["created_at"] and data["updated_at"] >= before["updated_at"], (before, data)
    for node in (us1, eu1):
        assert ok(node.get(f"/v3/webhooks/{webhook.id}"))["data"] == data, node.id

    acct = account(us1)
    grant_id = acct.grant["id"]
    conn = acct.imaplib(us1)
    subject, folder = unique("filtered"), unique("Filtered")
    append(conn, "INBOX", message(subject))
    assert conn.create(folder)[0] == "OK"
    control.wait(grant_id, "grant.created")
    control.wait(grant_id, "message.created", subject_is(subject))
    control.wait(grant_id, "folder.created", lambda o: o.get("name") == folder)
    webhook.wait(grant_id, "folder.created", lambda o: o.get("name") == folder)
    time.sleep(1.0)
    got = {d.type for d in webhook.for_grant(grant_id)}
    assert got == {"folder.created"}, f"a webhook for folder.created only got {sorted(got)}"


def test_pause_stops_deliveries_until_active_again(webhook, make_webhook, account, us1, us2, eu1):
    control = make_webhook(trigger_types=["message.created"])
    acct = account(us1)
    grant_id = acct.grant["id"]
    webhook.wait(grant_id, "grant.created")

    paused = ok(us1.put(f"/v3/webhooks/{webhook.id}", json={"status": "pause"}))["data"]
    assert_webhook(paused)
    assert paused["status"] == "pause", paused
    assert paused["status_updated_at"] >= webhook.data["status_updated_at"], paused
    assert ok(eu1.get(f"/v3/webhooks/{webhook.id}"))["data"]["status"] == "pause"

    mark = webhook.receiver.mark()
    conn = acct.imaplib(us1)
    while_paused = unique("while paused")
    append(conn, "INBOX", message(while_paused))
    control.wait(grant_id, "message.created", subject_is(while_paused))
    time.sleep(2.0)
    got = webhook.receiver.events(lambda d: d.grant_id == grant_id and (d.type or "").startswith("message."),
                                  since=mark)
    assert not got, f"a paused webhook got deliveries: {got}"

    active = ok(us2.put(f"/v3/webhooks/{webhook.id}", json={"status": "active"}))["data"]
    assert active["status"] == "active" and active["status_updated_at"] >= paused["status_updated_at"], active
    after = unique("after resume")
    append(conn, "INBOX", message(after))
    webhook.wait(grant_id, "message.created", subject_is(after), since=mark)


def test_put_webhook_url_is_challenged_again(webhook, make_webhook, account, us1, eu1):
    first_challenge = webhook.receiver.challenges[0].value
    moved_to = make_webhook.receiver()
    data = ok(us1.put(f"/v3/webhooks/{webhook.id}", json={"webhook_url": moved_to.url}))["data"]
    assert_webhook(data)
    assert data["webhook_url"] == moved_to.url, data
    assert moved_to.challenges, "the new URL was not challenged"
    assert moved_to.challenges[0].value != first_challenge
    assert moved_to.challenges[0].status == 200

    # A URL that fails the challenge: 400, and nothing of that PUT sticks.
    wrong = make_webhook.receiver(challenge_answer="wrong")
    response = us1.put(f"/v3/webhooks/{webhook.id}", json={"webhook_url": wrong.url, "description": "must not stick"})
    error = assert_error(response, 400, "invalid_request_error")
    assert "webhook_url" in error["message"], error
    assert wrong.challenges, "the URL was refused without a challenge"
    got = ok(eu1.get(f"/v3/webhooks/{webhook.id}"))["data"]
    assert got["webhook_url"] == moved_to.url and got["description"] == webhook.data["description"], got

    # Notifications now go to the new URL, signed with the same secret.
    acct = account(us1)
    delivery = moved_to.wait_for_event(lambda d: d.grant_id == acct.grant["id"] and d.type == "grant.created")
    assert_signed(delivery, webhook.secret)
    time.sleep(1.0)
    assert not webhook.receiver.events(lambda d: d.grant_id == acct.grant["id"]), "the old URL still gets events"
    assert not wrong.events(), "the refused URL got events"


def test_rotate_secret_changes_the_signing_key(webhook, account, us1, eu1):
    acct = account(us1)
    grant_id = acct.grant["id"]
    old = webhook.secret
    before = webhook.wait(grant_id, "grant.created")  # signed with the old secret

    rotated = ok(eu1.post(f"/v3/webhooks/rotate-secret/{webhook.id}"))["data"]
    assert_webhook(rotated, secret=True)
    new = rotated["webhook_secret"]
    assert new != old
    assert rotated["id"] == webhook.id and rotated["webhook_url"] == webhook.receiver.url, rotated
    assert rotated["trigger_types"] == webhook.data["trigger_types"], rotated
    shown = us1.get(f"/v3/webhooks/{webhook.id}")
    assert "webhook_secret" not in ok(shown)["data"] and new not in shown.text

    webhook.set_secret(new)
    mark = webhook.receiver.mark()
    subject = unique("after rotation")
    append(acct.imaplib(us1), "INBOX", message(subject))
    after = webhook.wait(grant_id, "message.created", subject_is(subject), since=mark)  # verifies with `new`
    assert not after.verifies(old), "a delivery after the rotation is still signed with the old secret"
    assert before.verifies(old) and not before.verifies(new)


# --- delete ----------------------------------------------------------------------------------------

def test_delete_then_not_found_and_no_more_deliveries(webhook, make_webhook, account, us1, us2, eu1):
    control = make_webhook(trigger_types=["grant.created", "message.created"])
    body = ok(us2.delete(f"/v3/webhooks/{webhook.id}"))
    assert body["data"] == {"status": "success"}, body
    for node in (us1, eu1):
        assert_error(node.get(f"/v3/webhooks/{webhook.id}"), 404, "not_found_error")
        assert webhook.id not in {w["id"] for w in list_webhooks(node)}, node.id
    assert_error(us1.delete(f"/v3/webhooks/{webhook.id}"), 404, "not_found_error")
    assert_error(us1.put(f"/v3/webhooks/{webhook.id}", json={"description": "x"}), 404, "not_found_error")
    assert_error(us1.post(f"/v3/webhooks/rotate-secret/{webhook.id}"), 404, "not_found_error")

    acct = account(us1)
    subject = unique("after delete")
    append(acct.imaplib(us1), "INBOX", message(subject))
    control.wait(acct.grant["id"], "grant.created")
    control.wait(acct.grant["id"], "message.created", subject_is(subject))
    time.sleep(1.0)
    got = webhook.for_grant(acct.grant["id"])
    assert not got, f"a deleted webhook still gets deliveries: {got}"


# --- bad input -------------------------------------------------------------------------------------

def test_bad_input_is_refused_with_the_error_envelope(make_webhook, us1, eu1):
    receiver = make_webhook.receiver()
    url = receiver.url
    ftp = f"ftp://127.0.0.1:{receiver.port}{receiver.path}"
    cases = [
        ("unknown trigger", {"trigger_types": ["message.created", "message.exploded"], "webhook_url": url}),
        ("empty trigger_types", {"trigger_types": [], "webhook_url": url}),
        ("no trigger_types", {"webhook_url": url}),
        ("trigger_types not a list", {"trigger_types": "message.created", "webhook_url": url}),
        ("no webhook_url", {"trigger_types": ["message.created"]}),
        ("ftp URL", {"trigger_types": ["message.created"], "webhook_url": ftp}),
        ("mailto URL", {"trigger_types": ["message.created"], "webhook_url": "mailto:ops@example.com"}),
        ("not a URL", {"trigger_types": ["message.created"], "webhook_url": "not a url"}),
        ("empty URL", {"trigger_types": ["message.created"], "webhook_url": ""}),
    ]
    try:
        for name, body in cases:
            error = assert_error(us1.post("/v3/webhooks", json=body), 400, "invalid_request_error")
            if name == "unknown trigger":
                assert "message.exploded" in error["message"], error
        for raw in (b'{"trigger_types": ["message.created"], "webhook_url": ', b"[]", b""):
            response = us1.post("/v3/webhooks", data=raw, headers={"Content-Type": "application/json"})
            assert_error(response, 400, "invalid_request_error")
        assert_error(us1.post("/v3/webhooks", data=f"webhook_url={url}", headers={"Content-Type": "text/plain"}),
                     415, "unsupported_media_type")
        assert_error(us1.post("/v3/webhooks", key=None,
                              json={"trigger_types": ["message.created"], "webhook_url": url}), 401, "unauthorized")
        assert_error(us1.get("/v3/webhooks", key="wrong-key"), 401, "unauthorized")
    finally:
        saved = purge_saved([us1, eu1], url, ftp)
    assert not saved, f"a refused webhook was saved: {saved}"

    # PUT on an existing webhook: every refusal leaves it as it was.
    wh = make_webhook(trigger_types=["message.created"])
    path = f"/v3/webhooks/{wh.id}"
    for name, body in [("unknown trigger", {"trigger_types": ["nope.nope"]}),
                       ("empty trigger_types", {"trigger_types": []}),
                       ("status failing", {"status": "failing"}),
                       ("unknown status", {"status": "sleeping"}),
                       ("ftp URL", {"webhook_url": ftp})]:
        error = assert_error(us1.put(path, json=body), 400, "invalid_request_error")
        if name == "unknown trigger":
            assert "nope.nope" in error["message"], error
    assert_error(us1.put(path, data=b"{oops", headers={"Content-Type": "application/json"}),
                 400, "invalid_request_error")
    assert ok(eu1.get(path))["data"] == without_secret(wh.data)

    unknown = uuid.uuid4().hex
    for method, route, kw in [("GET", f"/v3/webhooks/{unknown}", {}),
                              ("PUT", f"/v3/webhooks/{unknown}", {"json": {"description": "x"}}),
                              ("DELETE", f"/v3/webhooks/{unknown}", {}),
                              ("POST", f"/v3/webhooks/rotate-secret/{unknown}", {})]:
        assert_error(us1.request(method, route, **kw), 404, "not_found_error")


# --- the notification ------------------------------------------------------------------------------

def test_notification_envelope_headers_and_signature(cluster, webhook, account, us1, us2):
    acct = account(us1)
    grant_id = acct.grant["id"]
    started = int(time.time())
    subject, needle = unique("envelope"), unique("needle")
    append(acct.imaplib(us1), "INBOX", message(subject, body=f"{needle}\r\n"))
    delivery = webhook.wait(grant_id, "message.created", subject_is(subject))
    arrived = time.time()

    env = delivery.json
    assert set(env) == ENVELOPE_KEYS, env
    assert env["specversion"] == "1.0"
    assert env["type"] == "message.created"
    assert env["source"] == "/mailnode/us"
    event_number(delivery, "us")
    assert is_int(env["time"]) and started - 1 <= env["time"] <= arrived + 1, (started, env["time"], arrived)
    assert is_int(env["webhook_delivery_attempt"]) and env["webhook_delivery_attempt"] == 1, env
    data = env["data"]
    assert set(data) == {"application_id", "grant_id", "object"}, data
    assert isinstance(data["application_id"], str) and data["application_id"], data
    assert data["grant_id"] == grant_id

    obj = data["object"]
    api = by_subject(us2, acct.grant, subject)
    assert obj["object"] == "message" and obj["id"] == api["id"] and obj["grant_id"] == grant_id, obj
    for key in ("subject", "thread_id", "folders", "unread", "starred"):
        assert obj[key] == api[key], (key, obj[key], api[key])
    assert emails(obj["from"]) == emails(api["from"]) == ["alice@example.org"], obj["from"]
    assert needle in obj["body"], obj["body"]

    assert (delivery.header("Content-Type") or "").startswith("application/json"), delivery.headers
    assert_signed(delivery, webhook.secret)
    assert delivery.node in cluster.nodes and cluster.region_of(delivery.node) == "us", delivery.headers

    # grant.created has the same envelope around the grant object, and no password in it.
    created = webhook.wait(grant_id, "grant.created")
    assert set(created.json) == ENVELOPE_KEYS, created.json
    assert created.source == "/mailnode/us" and created.attempt == 1
    assert created.data["application_id"] == data["application_id"]
    assert created.object["id"] == grant_id, created.object
    assert created.object["email"].lower() == acct.email.lower(), created.object
    assert acct.password not in created.body.decode(), "the app password is in the notification"
    assert event_number(created, "us") < event_number(delivery, "us")


def test_grant_events_of_an_eu_grant_reach_a_webhook_made_on_us1(cluster, webhook, account, us1, us2, eu2):
    assert webhook.node.id == "us-1"
    acct = account(cluster.node("eu-1"))
    grant_id = acct.grant["id"]
    assert acct.grant["region"] == "eu"
    created = webhook.wait(grant_id, "grant.created")
    assert created.source == "/mailnode/eu", created.json
    assert created.object["id"] == grant_id and created.object.get("region") == "eu", created.object
    assert cluster.region_of(created.node) == "eu", f"an EU grant's event was delivered by {created.node}"

    subject = unique("eu mail")
    append(acct.imaplib(eu2), "INBOX", message(subject))
    mail = webhook.wait(grant_id, "message.created", subject_is(subject))
    assert mail.source == "/mailnode/eu" and cluster.region_of(mail.node) == "eu", mail.describe()

    new_password = valid_password()
    ok(us1.patch(f"/v3/grants/{grant_id}", json={"settings": {"email": acct.email, "app_password": new_password}}))
    updated = webhook.wait(grant_id, "grant.updated")
    assert updated.object["id"] == grant_id and updated.source == "/mailnode/eu", updated.json
    assert new_password not in updated.body.decode()

    ok(us2.delete(f"/v3/grants/{grant_id}"))
    deleted = webhook.wait(grant_id, "grant.deleted")
    assert deleted.object["id"] == grant_id and deleted.source == "/mailnode/eu", deleted.json

    numbers = [event_number(d, "eu") for d in (created, mail, updated, deleted)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4, numbers
    arrivals = [d.seq for d in (created, mail, updated, deleted)]
    assert arrivals == sorted(arrivals), "the EU grant's events arrived out of order"


# --- the IMAP <-> API sync table, with the webhook -------------------------------------------------

def test_imap_seen_is_unread_false_in_api_and_message_updated(webhook, account, us1, us2):
    acct = account(us1)
    grant_id = acct.grant["id"]
    subject = unique("seen")
    conn, uid, created = appended(webhook, acct, us1, subject)
    assert created.object["unread"] is True
    mark = webhook.receiver.mark()
    conn.select("INBOX")
    assert conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Seen)")[0] == "OK"
    api = get_message(us2, acct.grant, created.object["id"])
    assert api["unread"] is False and api["starred"] is False, api
    updated = webhook.wait(grant_id, "message.updated",
                           lambda o: o["id"] == created.object["id"] and o["unread"] is False, since=mark)
    assert updated.object["starred"] is False and updated.object["folders"] == ["inbox"], updated.object
    assert "body" in updated.object, "message.updated carries the body"


def test_imap_flagged_is_starred_in_api_and_message_updated(webhook, account, us1, us2):
    acct = account(us1)
    subject = unique("flag")
    conn, uid, created = appended(webhook, acct, us1, subject)
    mark = webhook.receiver.mark()
    conn.select("INBOX")
    assert conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Flagged)")[0] == "OK"
    api = get_message(us2, acct.grant, created.object["id"])
    assert api["starred"] is True and api["unread"] is True, api
    updated = webhook.wait(acct.grant["id"], "message.updated",
                           lambda o: o["id"] == created.object["id"] and o["starred"] is True, since=mark)
    assert updated.object["unread"] is True, updated.object


def test_imap_move_shows_in_api_folders_and_message_updated(webhook, account, us1, us2):
    acct = account(us1)
    subject = unique("move")
    conn, uid, created = appended(webhook, acct, us1, subject)
    mark = webhook.receiver.mark()
    conn.select("INBOX")
    typ, data = conn.uid("MOVE", str(uid), "Archive")
    assert typ == "OK", data
    api = by_subject(us2, acct.grant, subject)
    assert api["folders"] == ["archive"] and api["id"] == created.object["id"], api
    webhook.wait(acct.grant["id"], "message.updated",
                 lambda o: o["id"] == created.object["id"] and o["folders"] == ["archive"], since=mark)


def test_imap_expunge_moves_to_trash_in_api_and_webhook(webhook, account, us1, us2):
    acct = account(us1)
    grant_id = acct.grant["id"]
    subject = unique("expunge")
    conn, uid, created = appended(webhook, acct, us1, subject)
    original = created.object["id"]
    conn.select("INBOX")
    assert conn.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    mark = webhook.receiver.mark()
    assert conn.expunge()[0] == "OK"
    trashed = by_subject(us2, acct.grant, subject)
    assert trashed["folders"] == ["trash"], trashed
    if trashed["id"] == original:
        webhook.wait(grant_id, "message.updated", lambda o: o["id"] == original and o["folders"] == ["trash"],
                     since=mark)
    else:  # a new message in Trash: the old one deleted, the new one created
        webhook.wait(grant_id, "message.deleted", lambda o: o["id"] == original, since=mark)
        webhook.wait(grant_id, "message.created", lambda o: o["id"] == trashed["id"] and o["folders"] == ["trash"],
                     since=mark)
    assert webhook.receiver.events(
        lambda d: d.grant_id == grant_id and (d.type or "").startswith("message.") and d.object_id == original,
        since=mark), "no message.* event for the expunged message"


def test_api_unread_false_sets_seen_pushes_idle_and_message_updated(webhook, account, us1, us2):
    acct = account(us1)
    subject = unique("api read")
    conn, uid, created = appended(webhook, acct, us1, subject)
    message_id = created.object["id"]
    idler = acct.imapclient(us2)
    idler.select_folder("INBOX")
    idler.idle()
    time.sleep(0.2)
    pushed = []

    def watch():
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for resp in idler.idle_check(timeout=0.5):
                if len(resp) >= 3 and resp[1] == b"FETCH":
                    pushed.append(resp)
                    items = dict(zip(resp[2][::2], resp[2][1::2]))
                    if b"\\Seen" in set(items.get(b"FLAGS", ())):
                        return

    watcher = threading.Thread(target=watch)
    watcher.start()
    mark = webhook.receiver.mark()
    try:
        updated = ok(us1.put(f"/v3/grants/{acct.grant['id']}/messages/{message_id}", json={"unread": False}))["data"]
    finally:
        watcher.join()
        idler.idle_done()
    assert updated["id"] == message_id and updated["unread"] is False, updated
    assert pushed, "IDLE on us-2 got no FETCH within 8 s of PUT unread=false"
    last = dict(zip(pushed[-1][2][::2], pushed[-1][2][1::2]))
    assert b"\\Seen" in set(last[b"FLAGS"]), pushed
    assert "\\Seen" in imap_flags(conn, "INBOX", uid)
    webhook.wait(acct.grant["id"], "message.updated", lambda o: o["id"] == message_id and o["unread"] is False,
                 since=mark)


def test_api_send_lands_in_imap_sent_and_message_created(webhook, account, us1):
    acct = account(us1)
    subject = unique("sent-via-api")
    mark = webhook.receiver.mark()
    sent = ok(us1.post(f"/v3/grants/{acct.grant['id']}/messages/send", json={
        "to": [{"name": "Bob", "email": "bob@example.net"}], "subject": subject,
        "body": "<p>sent through the API</p>"}))["data"]
    assert sent["folders"] == ["sent"] and sent["subject"] == subject, sent
    conn = acct.imaplib(us1)
    conn.select("Sent", readonly=True)
    typ, data = conn.uid("SEARCH", None, "SUBJECT", subject)
    assert typ == "OK" and len(data[0].split()) == 1, data
    created = webhook.wait(acct.grant["id"], "message.created", lambda o: o["id"] == sent["id"], since=mark)
    assert created.object["folders"] == ["sent"] and created.object["subject"] == subject, created.object
    assert emails(created.object["to"]) == ["bob@example.net"], created.object


def test_imap_create_shows_in_api_folders_and_folder_created(webhook, account, us1, us2):
    acct = account(us1)
    name = unique("Hooked")
    conn = acct.imaplib(us1)
    assert conn.create(name)[0] == "OK"
    folder = folder_by_name(us2, acct.grant, name)
    created = webhook.wait(acct.grant["id"], "folder.created", lambda o: o.get("name") == name)
    obj = created.object
    assert obj["id"] == folder["id"] and obj["object"] == "folder" and obj["grant_id"] == acct.grant["id"], obj


def test_imap_append_is_message_created_with_body(webhook, account, us1, us2):
    acct = account(us1)
    subject, needle = unique("appended"), unique("needle")
    _, _, created = appended(webhook, acct, us2, subject, body=f"first line\r\n{needle}\r\n")
    obj = created.object
    api = by_subject(us1, acct.grant, subject)
    assert obj["id"] == api["id"] and obj["folders"] == ["inbox"] and obj["unread"] is True, obj
    assert needle in obj["body"], obj.get("body")
    assert created.type == "message.created" and created.attempt == 1


# --- delivery: retries, order, truncation ----------------------------------------------------------

def test_failed_delivery_is_retried_with_the_same_id(webhook, account, us1):
    acct = account(us1)
    grant_id = acct.grant["id"]
    webhook.wait(grant_id, "grant.created")
    subject = unique("retry")

    def mine(d):
        return d.grant_id == grant_id and d.type == "message.created" and d.object.get("subject") == subject

    webhook.receiver.fail_next(1, 500, match=mine)
    append(acct.imaplib(us1), "INBOX", message(subject))
    first, second = webhook.receiver.wait_for_events(mine, 2, timeout=15, what="(a failed attempt, then its retry)")
    assert (first.status, first.attempt) == (500, 1), first.describe()
    assert second.id == first.id, (first.id, second.id)
    assert second.attempt == 2 and second.status == 200, second.describe()
    assert second.time == first.time and second.data == first.data and second.source == first.source
    assert second.arrived - first.answered >= 0.5, "retried at once, without the backoff"
    assert_signed(first, webhook.secret)
    assert_signed(second, webhook.secret)
    time.sleep(1.5)
    assert len(webhook.receiver.events(mine)) == 2, "a delivered event was sent again"


def test_slow_delivery_times_out_and_is_retried(webhook, account, us1):
    acct = account(us1)
    grant_id = acct.grant["id"]
    webhook.wait(grant_id, "grant.created")
    subject = unique("slow")

    def mine(d):
        return d.grant_id == grant_id and d.type == "message.created" and d.object.get("subject") == subject

    hold = webhook.receiver.hold(match=mine, limit=15)
    try:
        append(acct.imaplib(us1), "INBOX", message(subject))
        held = hold.wait(EVENT_TIMEOUT)
        retry = webhook.receiver.wait_for_event(lambda d: mine(d) and d.seq > held.seq, timeout=25,
                                                what="(the retry after a delivery that took over 10 s)")
    finally:
        hold.release()
    assert retry.id == held.id and held.attempt == 1 and retry.attempt == 2, (held.describe(), retry.describe())
    assert retry.arrived - held.arrived >= 9.0, f"given up after {retry.arrived - held.arrived:.1f} s, not 10 s"
    assert_signed(retry, webhook.secret)


def test_events_of_one_grant_arrive_in_order(webhook, account, us1):
    acct = account(us1)
    grant_id = acct.grant["id"]
    conn = acct.imaplib(us1)
    subjects = [unique(f"order {i}") for i in range(5)]
    for subject in subjects:
        append(conn, "INBOX", message(subject))
    got = webhook.receiver.wait_for_events(
        lambda d: d.grant_id == grant_id and d.type == "message.created" and d.object.get("subject") in subjects,
        5, timeout=20, what="(five APPENDs)")
    assert [d.object["subject"] for d in got] == subjects, [d.describe() for d in got]
    numbers = [event_number(d, "us") for d in got]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5, numbers
    times = [d.time for d in got]
    assert times == sorted(times), times
    for d in got:
        assert d.attempt == 1
        assert_signed(d, webhook.secret)
    everything = [event_number(d, "us") for d in webhook.for_grant(grant_id)]
    assert everything == sorted(everything), f"this grant's events arrived out of order: {everything}"


def test_object_over_1mb_is_delivered_truncated_without_body(webhook, account, us1, us2):
    acct = account(us1)
    grant_id = acct.grant["id"]
    subject = unique("huge")
    line = "The quick brown fox jumps over the lazy dog 0123456789.\r\n"
    body = line * 24000  # about 1.4 MB of text
    append(acct.imaplib(us1), "INBOX", message(subject, body=body))
    truncated = webhook.wait(grant_id, "message.created.truncated", subject_is(subject), timeout=30)
    obj = truncated.object
    assert "body" not in obj, "a truncated object still has its body"
    assert obj["object"] == "message" and obj["grant_id"] == grant_id, obj
    assert len(truncated.body) < 1_000_000, len(truncated.body)
    assert get_message(us2, acct.grant, obj["id"])["subject"] == subject
    full = webhook.receiver.events(lambda d: d.grant_id == grant_id and d.type == "message.created"
                                   and d.object_id == obj["id"])
    assert not full, "the over-1 MB object was also sent in full"


def test_every_trigger_type_is_accepted(make_webhook):
    wh = make_webhook(trigger_types=TRIGGER_TYPES)
    assert sorted(wh.data["trigger_types"]) == sorted(TRIGGER_TYPES), wh.data
    for trigger in ("message.send_success", "message.send_failed", "folder.deleted"):
        one = make_webhook(trigger_types=[trigger])
        assert one.data["trigger_types"] == [trigger], one.data


"""Policies, rules, lists and workspaces: the API (validation answers 400 naming the field), one copy
in every region (written through a node of one region, read through a node of the other at once),
and inbound rules enforced on mail arriving over SMTP, with their evaluation records.

Every test that enforces rules works in a workspace of its own (its own domain, auto_group on), so
that the grants of other tests, in the default workspace, are never affected."""
import random
import re
import time
import uuid

import pytest

from helpers import Account, assert_error, connect_body, ok, valid_password
from test_smtp import compose, expect, find_mail, head, header, smtp_open, transaction, unique  # noqa: F401 (fixture)

DEFAULT_WORKSPACE = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def workspace(us1):
    """A workspace of a fresh domain with auto_group on; deleted afterwards with its rules and lists."""
    made = {"rules": [], "lists": [], "policies": []}
    domain = f"ws-{uuid.uuid4().hex[:12]}.test"
    created = ok(us1.post("/v3/workspaces", json={"name": f"Agents of {domain}", "domain": domain}))["data"]
    made["workspace"] = created
    yield made
    us1.delete(f"/v3/workspaces/{created['workspace_id']}")
    for kind in ("rules", "lists", "policies"):
        for object_id in made[kind]:
            us1.delete(f"/v3/{kind}/{object_id}")


def make(node, kind, body, made=None, status=None):
    response = node.post(f"/v3/{kind}", json=body)
    data = ok(response, status or (201 if kind in ("rules", "lists") else 200))["data"]
    if made is not None:
        made[kind].append(data["id"])
    return data


def grant_in(cluster, node, domain):
    password = valid_password()
    email = f"agent-{uuid.uuid4().hex[:10]}@{domain}"
    grant = ok(node.post("/v3/connect/custom", json=connect_body(email, password)))["data"]
    return Account(cluster, grant, password)


# --- the API ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "p", "spam_detection": {"spam_sensitivity": 5.5}}, "spam_detection.spam_sensitivity"),
    ({"name": "p", "limits": {"limit_attachment_size_limit": -1}}, "limits.limit_attachment_size_limit"),
    ({"name": "p", "limits": {"limit_storage_total": -2}}, "limits.limit_storage_total"),
    ({"name": "p", "limits": {"limit_inbox_retention_period": 7, "limit_spam_retention_period": 7}},
     "limits.limit_inbox_retention_period"),
    ({"name": "p", "limits": {"limit_attachment_allowed_types": ["images"]}}, "limits.limit_attachment_allowed_types"),
    ({"name": "p", "limits": {"limit_count_daily_email_sent": "many"}}, "limits.limit_count_daily_email_sent"),
    # Above the plan in force (full_platform of the local cluster's region files), or -1 where it sets a maximum.
    ({"name": "p", "limits": {"limit_storage_total": -1}}, "limits.limit_storage_total"),
    ({"name": "p", "limits": {"limit_attachment_count_limit": 21}}, "limits.limit_attachment_count_limit"),
    ({"name": "p", "limits": {"limit_inbox_retention_period": 366}}, "limits.limit_inbox_retention_period"),
])
def test_invalid_policies_are_400_naming_the_field(us1, body, field):
    response = us1.post("/v3/policies", json=body)
    assert_error(response, 400, "invalid_request_error")
    assert field in response.json()["error"]["message"], response.json()


def test_a_policy_is_created_merged_on_update_and_refused_deletion_while_in_force(us1, eu1, workspace):
    policy = make(us1, "policies", {"name": "Strict", "limits": {"limit_storage_total": 5000000000, "limit_inbox_retention_period": 30,
                                                                  "limit_spam_retention_period": 7},
                                    "spam_detection": {"use_list_dnsbl": True}}, workspace)
    assert policy["spam_detection"] == {"use_list_dnsbl": True, "use_header_anomaly_detection": False, "spam_sensitivity": 1.0}
    updated = ok(eu1.put(f"/v3/policies/{policy['id']}", json={"limits": {"limit_count_daily_email_sent": 200}}))["data"]
    # The limits in force: the policy's, and the plan's (full_platform) for what it leaves out.
    assert updated["limits"] == {"limit_storage_total": 5000000000, "limit_inbox_retention_period": 30, "limit_spam_retention_period": 7,
                                 "limit_count_daily_email_sent": 200, "limit_attachment_size_limit": 52428800,
                                 "limit_attachment_count_limit": 20, "limit_size_total_mime": 26214400,
                                 "limit_count_daily_message_received": -1}
    assert ok(us1.get(f"/v3/policies/{policy['id']}"))["data"]["limits"] == updated["limits"]
    ws = workspace["workspace"]["workspace_id"]
    assert ok(us1.patch(f"/v3/workspaces/{ws}", json={"policy_id": policy["id"]}))["data"]["policy_id"] == policy["id"]
    assert_error(us1.delete(f"/v3/policies/{policy['id']}"), 400, "invalid_request_error")
    assert ok(eu1.patch(f"/v3/workspaces/{ws}", json={"policy_id": None}))["data"]["policy_id"] is None
    ok(us1.delete(f"/v3/policies/{policy['id']}"))
    assert_error(eu1.get(f"/v3/policies/{policy['id']}"), 404, "not_found_error")
    workspace["policies"].clear()


def rule_body(conditions, actions, **extra):
    return {"name": "r", "match": {"conditions": conditions}, "actions": actions, **extra}


FROM_BAD = [{"field": "from.domain", "operator": "is", "value": "bad.test"}]


@pytest.mark.parametrize("body, field", [
    ({"match": {"conditions": FROM_BAD}, "actions": [{"type": "block"}]}, "name"),
    (rule_body(FROM_BAD, [{"type": "block"}], priority=1001), "priority"),
    (rule_body(FROM_BAD, [{"type": "block"}], trigger="sideways"), "trigger"),
    (rule_body([], [{"type": "block"}]), "match.conditions"),
    (rule_body([{"field": "recipient.address", "operator": "is", "value": "a@b.test"}], [{"type": "block"}]), "match.conditions[0].field"),
    (rule_body([{"field": "subject", "operator": "is", "value": "x"}], [{"type": "block"}]), "match.conditions[0].field"),
    (rule_body([{"field": "from.domain", "operator": "matches", "value": "x"}], [{"type": "block"}]), "match.conditions[0].operator"),
    (rule_body([{"field": "outbound.type", "operator": "contains", "value": "reply"}], [{"type": "block"}], trigger="outbound"),
     "match.conditions[0].operator"),
    (rule_body([{"field": "outbound.type", "operator": "is", "value": "forward"}], [{"type": "block"}], trigger="outbound"),
     "match.conditions[0].value"),
    (rule_body([{"field": "from.domain", "operator": "in_list", "value": "not-a-list"}], [{"type": "block"}]), "match.conditions[0].value"),
    (rule_body([{"field": "from.domain", "operator": "in_list", "value": [str(uuid.uuid4())]}], [{"type": "block"}]),
     "match.conditions[0].value"),
    (rule_body(FROM_BAD, []), "actions"),
    (rule_body(FROM_BAD, [{"type": "block"}, {"type": "mark_as_read"}]), "actions"),
    (rule_body(FROM_BAD, [{"type": "assign_to_folder"}]), "actions[0].value"),
    (rule_body(FROM_BAD, [{"type": "forward"}]), "actions[0].type"),
])
def test_invalid_rules_are_400_naming_the_field(us1, body, field):
    response = us1.post("/v3/rules", json=body)
    assert_error(response, 400, "invalid_request_error")
    assert field in response.json()["error"]["message"], response.json()


def test_lists_check_their_items_against_their_type(us1, eu1, workspace):
    domains = make(us1, "lists", {"name": "Domains", "type": "domain"}, workspace)
    assert_error(us1.post("/v3/lists", json={"name": "x", "type": "country"}), 400, "invalid_request_error")
    response = us1.post(f"/v3/lists/{domains['id']}/items", json={"items": ["good.test", "a@b.test"]})
    assert_error(response, 400, "invalid_request_error")
    assert "a@b.test" in response.json()["error"]["message"]
    assert_error(us1.post(f"/v3/lists/{domains['id']}/items", json={"items": ["x" * 501]}), 400, "invalid_request_error")
    assert_error(us1.post(f"/v3/lists/{domains['id']}/items", json={"items": [f"d{i}.test" for i in range(1001)]}),
                 400, "invalid_request_error")
    shown = ok(us1.post(f"/v3/lists/{domains['id']}/items", json={"items": [" Good.TEST ", "good.test", "other.test"]}))["data"]
    assert shown["items_count"] == 2
    # Written through us-1, read through eu-1 at once.
    values = [item["value"] for item in ok(eu1.get(f"/v3/lists/{domains['id']}/items"))["data"]]
    assert sorted(values) == ["good.test", "other.test"]
    assert ok(eu1.delete(f"/v3/lists/{domains['id']}/items", json={"items": ["GOOD.test", "never.test"]}))["data"]["items_count"] == 1
    assert_error(us1.put(f"/v3/lists/{domains['id']}", json={"type": "tld"}), 400, "invalid_request_error")
    tlds = make(us1, "lists", {"name": "TLDs", "type": "tld"}, workspace)
    assert ok(us1.post(f"/v3/lists/{tlds['id']}/items", json={"items": [".ZZ", "yy"]}))["data"]["items_count"] == 2
    response = us1.post("/v3/rules", json=rule_body([{"field": "from.address", "operator": "in_list", "value": [tlds["id"]]}],
                                                    [{"type": "block"}]))
    assert_error(response, 400, "invalid_request_error")
    assert "cannot be looked up" in response.json()["error"]["message"]


def test_list_pages_follow_the_cursor(us1, workspace):
    listed = make(us1, "lists", {"name": "Many", "type": "address"}, workspace)
    ok(us1.post(f"/v3/lists/{listed['id']}/items", json={"items": [f"a{i}@x.test" for i in range(7)]}))
    seen, token = [], None
    while True:
        page = ok(us1.get(f"/v3/lists/{listed['id']}/items", params={"limit": 3, **({"page_token": token} if token else {})}))
        seen += [item["value"] for item in page["data"]]
        token = page["next_cursor"]
        if not token:
            break
    assert sorted(seen) == sorted(f"a{i}@x.test" for i in range(7))


def test_workspaces_rules_and_the_default(us1, eu1, workspace):
    ws = workspace["workspace"]
    assert ws["auto_group"] is True and ws["default"] is False and ws["rule_ids"] == []
    assert_error(us1.post("/v3/workspaces", json={"name": "again", "domain": ws["domain"]}), 400, "invalid_request_error")
    assert_error(us1.post("/v3/workspaces", json={"name": "no domain"}), 400, "invalid_request_error")
    assert ok(eu1.get(f"/v3/workspaces/{ws['domain']}"))["data"]["workspace_id"] == ws["workspace_id"]
    assert_error(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"domain": "other.test"}), 400, "invalid_request_error")
    assert_error(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"policy_id": ""}), 400, "invalid_request_error")
    assert_error(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [str(uuid.uuid4())]}), 400, "invalid_request_error")
    assert_error(us1.delete(f"/v3/workspaces/{DEFAULT_WORKSPACE}"), 400, "invalid_request_error")
    assert_error(us1.patch(f"/v3/workspaces/{DEFAULT_WORKSPACE}", json={"name": "Renamed"}), 400, "invalid_request_error")
    rule = make(us1, "rules", rule_body(FROM_BAD, [{"type": "block"}]), workspace)
    assert ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [rule["id"]]}))["data"]["rule_ids"] == [rule["id"]]
    # Deleting the rule takes it out of every workspace, in every region.
    ok(eu1.delete(f"/v3/rules/{rule['id']}"))
    workspace["rules"].clear()
    assert ok(us1.get(f"/v3/workspaces/{ws['workspace_id']}"))["data"]["rule_ids"] == []


def test_a_grant_joins_the_workspace_of_its_domain_and_can_be_moved(cluster, us1, eu1, workspace):
    ws = workspace["workspace"]
    acct = grant_in(cluster, eu1, ws["domain"])
    try:
        assert acct.grant["workspace_id"] == ws["workspace_id"]
        moved = ok(us1.patch(f"/v3/grants/{acct.grant['id']}", json={"workspace_id": DEFAULT_WORKSPACE}))["data"]
        assert moved["workspace_id"] == DEFAULT_WORKSPACE
        assert_error(us1.patch(f"/v3/grants/{acct.grant['id']}", json={"workspace_id": str(uuid.uuid4())}), 400, "invalid_request_error")
        other = ok(us1.post("/v3/connect/custom", json={**connect_body(f"x-{uuid.uuid4().hex[:8]}@example.com"),
                                                          "workspace_id": ws["workspace_id"]}))["data"]
        assert other["workspace_id"] == ws["workspace_id"]
        us1.delete(f"/v3/grants/{other['id']}")
    finally:
        us1.delete(f"/v3/grants/{acct.grant['id']}")


# --- inbound rules ----------------------------------------------------------------------------------

def evaluations(node, grant):
    return ok(node.get(f"/v3/grants/{grant['id']}/rule-evaluations"))["data"]


def test_inbound_rules_block_file_flag_and_record(cluster, smtp_open, us1, us2, eu1, eu2, workspace):
    """A grant homed in eu, mail arriving on a us node's MX port: a sender on a blocked list is
    refused at RCPT TO (550 5.7.1); a VIP's mail goes to Clients/Acme marked read; mail from a
    listed TLD goes to Junk; other mail to INBOX. Every evaluation is recorded, newest first."""
    ws = workspace["workspace"]
    blocked = make(us1, "lists", {"name": "Blocked", "type": "domain"}, workspace)
    ok(us1.post(f"/v3/lists/{blocked['id']}/items", json={"items": ["bad.test"]}))
    block = make(us1, "rules", rule_body([{"field": "from.domain", "operator": "in_list", "value": [blocked["id"]]}],
                                         [{"type": "block"}], priority=1), workspace)
    vip = make(eu1, "rules", rule_body([{"field": "from.address", "operator": "is", "value": "VIP@Partner.test"}],
                                       [{"type": "assign_to_folder", "value": "clients/acme"}, {"type": "mark_as_read"}]), workspace)
    spam_body = rule_body([{"field": "from.tld", "operator": "is", "value": "zz"},
                           {"field": "from.domain", "operator": "contains", "value": "casino"}], [{"type": "mark_as_spam"}])
    spam_body["match"]["operator"] = "any"
    spam = make(us1, "rules", spam_body, workspace)
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [block["id"], vip["id"], spam["id"]]}))
    rcpt = grant_in(cluster, eu1, ws["domain"])
    try:
        ok(eu1.post(f"/v3/grants/{rcpt.grant['id']}/folders", json={"name": "Clients/Acme"}))
        conn = smtp_open(us1, "smtp")
        expect(conn.mail("someone@bad.test"), 250)
        expect(conn.rcpt(rcpt.email), 550, "5.7.1")
        conn.rset()
        cases = [("VIP@partner.test", "Clients/Acme", True), ("deals@lucky.zz", "Junk", False),
                 ("win@bigcasino.test", "Junk", False), ("friend@fine.test", "INBOX", False)]
        for sender, _, _ in cases:
            subject = unique(f"rules {sender}")
            expect(transaction(conn, sender, [rcpt.email], compose(sender, [rcpt.email], subject)), 250, "2.0.0")
            expected = next(c for c in cases if c[0] == sender)
            (_, flags, _), = find_mail(rcpt, eu2, expected[1], subject)
            assert ("\\Seen" in flags) == expected[2], (sender, flags)
        conn.quit()
        records = evaluations(us2, rcpt.grant)
        assert len(records) == 5, records
        assert [r["evaluation_stage"] for r in records] == ["inbox_processing"] * 4 + ["smtp_rcpt"]
        first = records[-1]
        assert first["message_id"] is None and first["matched_rule_ids"] == [block["id"]]
        assert first["applied_actions"] == {"blocked": True}
        assert first["evaluation_input"]["from_domain"] == "bad.test" and first["evaluation_input"]["from_tld"] == "test"
        by_sender = {r["evaluation_input"]["from_address"]: r for r in records[:4]}
        vip_record = by_sender["vip@partner.test"]
        assert vip_record["matched_rule_ids"] == [vip["id"]] and vip_record["message_id"]
        assert vip_record["applied_actions"]["marked_as_read"] is True and len(vip_record["applied_actions"]["folder_ids"]) == 1
        assert by_sender["deals@lucky.zz"]["applied_actions"] == {"marked_as_spam": True}
        assert by_sender["friend@fine.test"]["matched_rule_ids"] == [] and by_sender["friend@fine.test"]["applied_actions"] == {}
        # A grant moved to the default workspace is no longer under these rules.
        ok(us1.patch(f"/v3/grants/{rcpt.grant['id']}", json={"workspace_id": DEFAULT_WORKSPACE}))
        subject = unique("rules after the move")
        conn = smtp_open(us2, "smtp")
        expect(transaction(conn, "someone@bad.test", [rcpt.email], compose("someone@bad.test", [rcpt.email], subject)), 250)
        conn.quit()
        find_mail(rcpt, eu1, "INBOX", subject)
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def test_a_disabled_rule_and_a_deleted_list_stop_matching(cluster, smtp_open, us1, eu1, workspace):
    ws = workspace["workspace"]
    senders = make(us1, "lists", {"name": "Senders", "type": "address"}, workspace)
    ok(us1.post(f"/v3/lists/{senders['id']}/items", json={"items": ["noisy@loud.test"]}))
    rule = make(us1, "rules", rule_body([{"field": "from.address", "operator": "in_list", "value": [senders["id"]]}],
                                        [{"type": "block"}]), workspace)
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [rule["id"]]}))
    rcpt = grant_in(cluster, us1, ws["domain"])
    try:
        conn = smtp_open(eu1, "smtp")
        expect(conn.mail("noisy@loud.test"), 250)
        expect(conn.rcpt(rcpt.email), 550, "5.7.1")
        conn.rset()
        ok(eu1.put(f"/v3/rules/{rule['id']}", json={"enabled": False}))
        expect(conn.mail("noisy@loud.test"), 250)
        expect(conn.rcpt(rcpt.email), 250)
        conn.rset()
        ok(eu1.put(f"/v3/rules/{rule['id']}", json={"enabled": True}))
        ok(us1.delete(f"/v3/lists/{senders['id']}"))
        workspace["lists"].clear()
        expect(conn.mail("noisy@loud.test"), 250)
        expect(conn.rcpt(rcpt.email), 250)
        conn.quit()
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def test_a_rule_whose_list_was_deleted_stays_editable(us1, workspace):
    listed = make(us1, "lists", {"name": "Gone soon", "type": "domain"}, workspace)
    rule = make(us1, "rules", rule_body([{"field": "from.domain", "operator": "in_list", "value": [listed["id"]]}],
                                        [{"type": "block"}]), workspace)
    ok(us1.delete(f"/v3/lists/{listed['id']}"))
    workspace["lists"].clear()
    assert ok(us1.put(f"/v3/rules/{rule['id']}", json={"enabled": False, "name": "renamed"}))["data"]["enabled"] is False


def test_the_null_sender_is_not_refused_by_a_sender_rule(cluster, smtp_open, us1, workspace):
    """`from.domain is_not partner.test -> block` keeps strangers out but lets delivery reports
    (MAIL FROM:<>) in: no sender condition holds for the null sender."""
    ws = workspace["workspace"]
    rule = make(us1, "rules", rule_body([{"field": "from.domain", "operator": "is_not", "value": "partner.test"}],
                                        [{"type": "block"}]), workspace)
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [rule["id"]]}))
    rcpt = grant_in(cluster, us1, ws["domain"])
    try:
        conn = smtp_open(us1, "smtp")
        expect(conn.mail("stranger@else.test"), 250)
        expect(conn.rcpt(rcpt.email), 550, "5.7.1")
        conn.rset()
        expect(conn.mail("<>"), 250)
        expect(conn.rcpt(rcpt.email), 250)
        conn.rset()
        expect(conn.mail("someone@partner.test"), 250)
        expect(conn.rcpt(rcpt.email), 250)
        conn.quit()
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


# --- outbound rules -----------------------------------------------------------------------------------

def sent_subjects(node, grant):
    return [m["subject"] for m in ok(node.get(f"/v3/grants/{grant['id']}/messages", params={"in": "sent", "limit": 50}))["data"]]


def test_outbound_rules_block_sends_and_file_the_sent_copy(cluster, us1, us2, eu1, workspace):
    """Outbound rules hold for every grant of the application: a send to a blocked domain is 403
    through the API and 550 5.7.1 at submission (through a node of the other region too), and no
    Sent copy is kept; a reply to a watched domain is sent, its Sent copy starred and filed."""
    blocked, watched = f"blocked-{uuid.uuid4().hex[:8]}.test", f"watched-{uuid.uuid4().hex[:8]}.test"
    block = make(us1, "rules", rule_body([{"field": "recipient.domain", "operator": "is", "value": blocked}], [{"type": "block"}],
                                         trigger="outbound"), workspace)
    watch = make(eu1, "rules", rule_body([{"field": "recipient.domain", "operator": "is", "value": watched},
                                          {"field": "outbound.type", "operator": "is", "value": "reply"}],
                                         [{"type": "mark_as_starred"}, {"type": "assign_to_folder", "value": "Followups"}],
                                         trigger="outbound"), workspace)
    sender = grant_in(cluster, us1, "example.com")
    try:
        ok(us1.post(f"/v3/grants/{sender.grant['id']}/folders", json={"name": "Followups"}))
        subject = unique("outbound blocked")
        response = us2.post(f"/v3/grants/{sender.grant['id']}/messages/send",
                            json={"to": [{"email": f"x@{blocked}"}, {"email": "fine@ok.test"}], "subject": subject, "body": "hi"})
        assert_error(response, 403, "forbidden")
        conn = sender.smtp(eu1)
        expect(transaction(conn, sender.email, [f"y@{blocked}"], compose(sender.email, [f"y@{blocked}"], subject)), 550, "5.7.1")
        conn.quit()
        assert subject not in sent_subjects(us1, sender.grant)
        records = ok(us1.get(f"/v3/grants/{sender.grant['id']}/rule-evaluations"))["data"]
        assert [r["evaluation_stage"] for r in records[:2]] == ["outbound_send", "outbound_send"]
        assert all(r["matched_rule_ids"] == [block["id"]] and r["applied_actions"] == {"blocked": True} for r in records[:2])

        reply = unique("outbound reply")
        data = compose(sender.email, [f"z@{watched}"], reply).replace(b"\r\n\r\n", b"\r\nIn-Reply-To: <earlier@watched.test>\r\n\r\n", 1)
        conn = sender.smtp(us2)
        expect(transaction(conn, sender.email, [f"z@{watched}"], data), 250, "2.0.0")
        conn.quit()
        (_, flags, _), = find_mail(sender, us1, "Followups", reply)
        assert "\\Flagged" in flags, flags
        compose_only = unique("outbound compose")
        conn = sender.smtp(us1)
        expect(transaction(conn, sender.email, [f"z@{watched}"], compose(sender.email, [f"z@{watched}"], compose_only)), 250)
        conn.quit()
        find_mail(sender, us1, "Sent", compose_only)
        latest = ok(us1.get(f"/v3/grants/{sender.grant['id']}/rule-evaluations"))["data"][0]
        assert latest["evaluation_input"]["outbound_type"] == "compose" and latest["matched_rule_ids"] == []
        assert watch["id"]
    finally:
        us1.delete(f"/v3/grants/{sender.grant['id']}")


# --- policy limits ------------------------------------------------------------------------------------

def test_policy_limits_refuse_mail_naming_the_limit(cluster, smtp_open, us1, eu1, workspace):
    """A workspace's policy: a message over limit_size_total_mime is refused on arrival (552 5.3.4,
    through a node of the other region too) and at submission, and through the API (400 naming the
    limit); more than 50 recipients are refused whatever the policy."""
    ws = workspace["workspace"]
    policy = make(us1, "policies", {"name": "Small", "limits": {"limit_size_total_mime": 4000}}, workspace)
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"policy_id": policy["id"]}))
    rcpt, sender = grant_in(cluster, us1, ws["domain"]), grant_in(cluster, eu1, ws["domain"])
    try:
        big = "x" * 70 + "\r\n"
        outsider = "large@far.test"
        conn = smtp_open(eu1, "smtp")
        expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], unique("big"), body=big * 80)), 552, "5.3.4",
               contains="limit_size_total_mime")
        small = unique("small")
        expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], small)), 250)
        conn.quit()
        find_mail(rcpt, us1, "INBOX", small)

        conn = sender.smtp(us1)
        expect(transaction(conn, sender.email, [rcpt.email], compose(sender.email, [rcpt.email], unique("big out"), body=big * 80)),
               552, "5.3.4")
        many = [f"r{i}@many.test" for i in range(51)]
        expect(transaction(conn, sender.email, many, compose(sender.email, many[:1], unique("many"))), 550, "5.5.3")
        conn.quit()
        response = eu1.post(f"/v3/grants/{sender.grant['id']}/messages/send",
                            json={"to": [{"email": rcpt.email}], "subject": "big", "body": big * 80})
        assert_error(response, 400, "invalid_request_error")
        assert "limit_size_total_mime" in response.json()["error"]["message"]
        ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"policy_id": None}))
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")
        us1.delete(f"/v3/grants/{sender.grant['id']}")


def test_the_operator_commands_show_what_is_in_force(cluster, us1, workspace):
    from test_operator_commands import mailnode
    listed = make(us1, "lists", {"name": "Shown list", "type": "tld"}, workspace)
    ok(us1.post(f"/v3/lists/{listed['id']}/items", json={"items": ["zz", "yy"]}))
    rule = make(us1, "rules", rule_body([{"field": "from.tld", "operator": "in_list", "value": [listed["id"]]}], [{"type": "trash"}]),
                workspace)
    policy = make(us1, "policies", {"name": "Shown policy", "limits": {"limit_size_total_mime": 1000000}}, workspace)
    ws = workspace["workspace"]
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"rule_ids": [rule["id"]], "policy_id": policy["id"]}))
    lists = mailnode(cluster, "lists", region="eu")
    assert lists.returncode == 0 and any(line.split()[:3] == [listed["id"], "tld", "2"] for line in lists.stdout.splitlines()), lists
    rules = mailnode(cluster, "rules", region="eu")
    line = next(line for line in rules.stdout.splitlines() if line.startswith(rule["id"]))
    assert ws["domain"] in line and f"from.tld in_list [{listed['id']}]" in line and "trash" in line, line
    policies = mailnode(cluster, "policies", region="us")
    line = next(line for line in policies.stdout.splitlines() if line.startswith(policy["id"]))
    assert ws["domain"] in line and re.search(r'"limit_size_total_mime":1000000[,}]', line), line
    assert policies.stdout.startswith("plan full_platform: "), policies.stdout
    ok(us1.patch(f"/v3/workspaces/{ws['workspace_id']}", json={"policy_id": None}))


# --- counts, storage and retention ----------------------------------------------------------------------

def policy_for(node, workspace, limits):
    """A policy with `limits`, put on the test's workspace."""
    policy = make(node, "policies", {"name": "Counted", "limits": limits}, workspace)
    ok(node.patch(f"/v3/workspaces/{workspace['workspace']['workspace_id']}", json={"policy_id": policy["id"]}))
    return policy


def seconds_to_utc_midnight():
    now = time.time()
    return 86400 - int(now) % 86400


def away_from_utc_midnight(margin=120):
    """Daily counts start again at 00:00 UTC: a test of them waits until the day has that long to run."""
    if seconds_to_utc_midnight() < margin:
        time.sleep(seconds_to_utc_midnight() + 2)


def test_the_daily_sending_limit_is_429_with_retry_after_and_550_at_submission(cluster, us1, eu1, workspace):
    """limit_count_daily_email_sent: sends through the API and SMTP submission count together; past
    the limit the API answers 429 with Retry-After (seconds to 00:00 UTC) and SMTP 550 5.7.1, and
    nothing is stored or queued. A refused send does not count."""
    ws = workspace["workspace"]
    away_from_utc_midnight()
    policy = policy_for(us1, workspace, {"limit_count_daily_email_sent": 2})
    sender, rcpt = grant_in(cluster, us1, ws["domain"]), grant_in(cluster, eu1, ws["domain"])
    try:
        send = lambda node, subject: node.post(f"/v3/grants/{sender.grant['id']}/messages/send",  # noqa: E731
                                               json={"to": [{"email": rcpt.email}], "subject": subject, "body": "counted"})
        ok(send(us1, unique("first")))
        conn = sender.smtp(us1)
        expect(transaction(conn, sender.email, [rcpt.email], compose(sender.email, [rcpt.email], unique("second"))), 250)
        refused_subject = unique("third")
        expect(transaction(conn, sender.email, [rcpt.email], compose(sender.email, [rcpt.email], refused_subject)), 550, "5.7.1",
               contains="Daily sending limit")
        conn.quit()
        # Through a node of the other region the grant's home region decides, with the same count.
        response = send(eu1, refused_subject)
        assert_error(response, 429, "rate_limit_error")
        assert "limit_count_daily_email_sent" in response.json()["error"]["message"]
        retry_after = int(response.headers["Retry-After"])
        assert abs(retry_after - seconds_to_utc_midnight()) <= 5, (retry_after, seconds_to_utc_midnight())
        assert refused_subject not in sent_subjects(us1, sender.grant)
        # The refused sends took nothing: with a limit of 3 exactly one more goes.
        ok(us1.put(f"/v3/policies/{policy['id']}", json={"limits": {"limit_count_daily_email_sent": 3}}))
        ok(send(eu1, unique("third")))
        assert_error(send(us1, unique("fourth")), 429, "rate_limit_error")
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")
        us1.delete(f"/v3/grants/{sender.grant['id']}")


def test_the_daily_receiving_limit_is_452_at_rcpt(cluster, smtp_open, us1, eu1, workspace):
    """limit_count_daily_message_received: once a grant has received its messages for the day,
    RCPT TO for it is 452 4.2.2 (the sender tries again later), on either region's MX; another
    recipient of the same message is not affected."""
    ws = workspace["workspace"]
    away_from_utc_midnight()
    policy_for(us1, workspace, {"limit_count_daily_message_received": 1})
    rcpt = grant_in(cluster, us1, ws["domain"])
    other = Account(cluster, ok(us1.post("/v3/connect/custom", json=connect_body(f"free-{uuid.uuid4().hex[:10]}@example.com",
                                                                                    valid_password())))["data"], None)
    try:
        outsider = "counter@far.test"
        conn = smtp_open(us1, "smtp")
        first = unique("first in")
        expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], first)), 250)
        conn.quit()
        find_mail(rcpt, us1, "INBOX", first)
        for node in (us1, eu1):
            conn = smtp_open(node, "smtp")
            expect(conn.mail(outsider), 250)
            expect(conn.rcpt(rcpt.email), 452, "4.2.2", contains="00:00 UTC")
            expect(conn.rcpt(other.email), 250)
            conn.rset()
            conn.quit()
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")
        us1.delete(f"/v3/grants/{other.grant['id']}")


def test_the_storage_limit_of_the_policy_holds_on_every_surface(cluster, smtp_open, us1, eu1, workspace):
    """limit_storage_total: IMAP APPEND answers NO [OVERQUOTA], inbound SMTP 552 5.2.2, an API send
    (whose Sent copy would not fit) 413; raising the limit lets mail in again at once."""
    ws = workspace["workspace"]
    policy = policy_for(us1, workspace, {"limit_storage_total": 6000})
    rcpt = grant_in(cluster, us1, ws["domain"])
    try:
        body = ("y" * 70 + "\r\n") * 60
        conn = rcpt.imaplib(us1)
        first = compose(rcpt.email, [rcpt.email], unique("fits"), body=body)
        assert conn.append("INBOX", None, None, first)[0] == "OK"
        typ, data = conn.append("INBOX", None, None, compose(rcpt.email, [rcpt.email], unique("no room"), body=body))
        assert typ == "NO" and b"[OVERQUOTA]" in data[0], (typ, data)
        outsider = "filler@far.test"
        mx = smtp_open(eu1, "smtp")
        expect(transaction(mx, outsider, [rcpt.email], compose(outsider, [rcpt.email], unique("no room in"), body=body)), 552, "5.2.2")
        mx.quit()
        response = us1.post(f"/v3/grants/{rcpt.grant['id']}/messages/send",
                            json={"to": [{"email": "someone@far.test"}], "subject": "no room out", "body": body})
        assert_error(response, 413, "request_too_large")
        ok(us1.put(f"/v3/policies/{policy['id']}", json={"limits": {"limit_storage_total": 1000000}}))
        assert conn.append("INBOX", None, None, compose(rcpt.email, [rcpt.email], unique("room again"), body=body))[0] == "OK"
        conn.logout()
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def test_retention_removes_mail_by_how_long_it_has_been_in_inbox_or_junk(cluster, smtp_open, us1, webhook, workspace):
    """limit_inbox_retention_period / limit_spam_retention_period: the retention job (run here by
    `mailnode retention --now`, the clock the test controls) removes mail that has been in Inbox or
    Junk longer than the policy keeps it, with message.deleted webhooks; a grant of another
    workspace keeps its mail; an IMAP session sees the message expunged."""
    from test_operator_commands import mailnode
    ws = workspace["workspace"]
    policy_for(us1, workspace, {"limit_inbox_retention_period": 3, "limit_spam_retention_period": 1})
    rcpt = grant_in(cluster, us1, ws["domain"])
    try:
        outsider = "old@far.test"
        mx = smtp_open(us1, "smtp")
        inbox_subject = unique("kept three days")
        expect(transaction(mx, outsider, [rcpt.email], compose(outsider, [rcpt.email], inbox_subject)), 250)
        mx.quit()
        find_mail(rcpt, us1, "INBOX", inbox_subject)
        conn = rcpt.imaplib(us1)
        junk_subject = unique("kept one day")
        # An old Date and internal date do not count: the message has been in Junk since now.
        assert conn.append("Junk", None, '"01-Jan-2020 00:00:00 +0000"',
                           compose(rcpt.email, [rcpt.email], junk_subject))[0] == "OK"
        grant_id = rcpt.grant["id"]
        mark = webhook.receiver.mark()
        now = int(time.time())
        ran = mailnode(cluster, "retention", "--now", str(now + 3600), region="us")
        assert ran.returncode == 0, ran.stderr
        assert by_subject_in(us1, grant_id, "junk", junk_subject), "removed before its time"
        ran = mailnode(cluster, "retention", "--now", str(now + 2 * 86400), region="us")
        assert ran.returncode == 0 and "removed 0 from inbox, 1 from junk" in ran.stdout, ran
        assert not by_subject_in(us1, grant_id, "junk", junk_subject)
        assert by_subject_in(us1, grant_id, "inbox", inbox_subject)
        webhook.wait(grant_id, "message.deleted", since=mark)
        conn.select("INBOX")
        ran = mailnode(cluster, "retention", "--now", str(now + 4 * 86400), region="us")
        assert ran.returncode == 0 and "removed 1 from inbox, 0 from junk" in ran.stdout, ran
        assert not by_subject_in(us1, grant_id, "inbox", inbox_subject)
        # The selected session learns of the expunge at its next command.
        assert conn.noop()[0] == "OK"
        assert conn.untagged_responses.get("EXPUNGE"), conn.untagged_responses
        conn.logout()
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def by_subject_in(node, grant_id, folder, subject):
    messages = ok(node.get(f"/v3/grants/{grant_id}/messages", params={"in": folder, "limit": 50}))["data"]
    return [m for m in messages if m["subject"] == subject]


# --- spam detection -----------------------------------------------------------------------------------

def fresh_loopback():
    """A loopback address of its own for one test's SMTP client: DNSBL answers are kept per address."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


def spam_policy(node, workspace, **detection):
    return policy_for_spam(node, workspace, detection)


def policy_for_spam(node, workspace, detection):
    policy = make(node, "policies", {"name": "Spam", "spam_detection": detection}, workspace)
    ok(node.patch(f"/v3/workspaces/{workspace['workspace']['workspace_id']}", json={"policy_id": policy["id"]}))
    return policy


def spam_record(node, grant, message_id):
    return next(e for e in evaluations(node, grant) if e["message_id"] == message_id)["spam_detection"]


def test_a_sender_on_the_dnsbl_lands_in_junk_with_the_score_explained(cluster, smtp_open, dnsbl, us1, eu1, workspace):
    """use_list_dnsbl: the connecting address is looked up in the configured zone over our own DNS
    client; a listing scores 5.0 and the message goes to Junk with X-Spam-Status/X-Spam-Flag, on
    either region's MX (the address travels with the handoff); an address the zone does not list
    goes to INBOX, marked as checked; the record shows the score's parts."""
    ws = workspace["workspace"]
    spam_policy(us1, workspace, use_list_dnsbl=True)
    rcpt = grant_in(cluster, us1, ws["domain"])
    listed, clean = fresh_loopback(), fresh_loopback()
    dnsbl.list(listed)
    try:
        outsider = "bulk@far.test"
        subjects = {}
        for node in (us1, eu1):
            subject = subjects[node.id] = unique(f"listed via {node.id}")
            conn = smtp_open(node, "smtp", source=listed)
            expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], subject)), 250)
            conn.quit()
            (_, _, raw), = find_mail(rcpt, us1, "Junk", subject)
            assert header(raw, "X-Spam-Flag") == "YES", head(raw)
            status = header(raw, "X-Spam-Status")
            assert status.startswith("Yes, score=5.00 required=5.00") and "DNSBL_DNSBL_MAILNODE_TEST" in status, status
        assert dnsbl.asked_about(listed)
        subject = unique("clean sender")
        conn = smtp_open(us1, "smtp", source=clean)
        expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], subject)), 250)
        conn.quit()
        (_, _, raw), = find_mail(rcpt, us1, "INBOX", subject)
        assert header(raw, "X-Spam-Status").startswith("No, score=0.00") and header(raw, "X-Spam-Flag") is None, head(raw)
        assert dnsbl.asked_about(clean)
        (junk,) = by_subject_in(us1, rcpt.grant["id"], "junk", subjects[eu1.id])
        record = spam_record(us1, rcpt.grant, junk["id"])
        assert record["is_spam"] is True and record["score"] == 5.0 and record["threshold"] == 5.0, record
        assert record["checks"][0]["name"] == "DNSBL_DNSBL_MAILNODE_TEST" and listed in record["checks"][0]["detail"], record
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def test_a_resolver_that_does_not_answer_delays_and_adds_nothing(cluster, smtp_open, dnsbl, us1, workspace):
    """A DNSBL lookup the resolver never answers ends at spam.dnsbl_timeout_ms: the message is
    stored in INBOX (nothing is refused or lost over a blocklist), and the record says the zone
    could not be asked."""
    ws = workspace["workspace"]
    spam_policy(us1, workspace, use_list_dnsbl=True)
    rcpt = grant_in(cluster, us1, ws["domain"])
    unanswered = fresh_loopback()
    dnsbl.ignore(unanswered)
    try:
        subject = unique("unanswered")
        conn = smtp_open(us1, "smtp", source=unanswered)
        started = time.monotonic()
        expect(transaction(conn, "slow@far.test", [rcpt.email], compose("slow@far.test", [rcpt.email], subject)), 250)
        waited = time.monotonic() - started
        conn.quit()
        assert dnsbl.asked_about(unanswered)
        assert waited < 30, f"the lookup held the delivery {waited:.1f} s"
        (_, _, raw), = find_mail(rcpt, us1, "INBOX", subject)
        assert header(raw, "X-Spam-Status").startswith("No, score=0.00"), head(raw)
        stored = by_subject_in(us1, rcpt.grant["id"], "inbox", subject)[0]
        record = spam_record(us1, rcpt.grant, stored["id"])
        assert record["is_spam"] is False and record["checks"][0]["name"] == "DNSBL_DNSBL_MAILNODE_TEST_UNAVAILABLE", record
        assert record["checks"][0]["score"] == 0, record
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")


def test_header_anomalies_are_scored_against_the_sensitivity(cluster, smtp_open, us1, workspace):
    """use_header_anomaly_detection: a message without Date and Message-ID and with a bare LF scores
    4.5; at spam_sensitivity 2.0 (threshold 2.5) it is spam, at 0.5 (threshold 10) it is not; a
    well-formed message scores 0."""
    ws = workspace["workspace"]
    policy = spam_policy(us1, workspace, use_header_anomaly_detection=True, spam_sensitivity=2.0)
    rcpt = grant_in(cluster, us1, ws["domain"])
    outsider = "odd@far.test"
    try:
        def send(subject, data):
            conn = smtp_open(us1, "smtp")
            expect(transaction(conn, outsider, [rcpt.email], data), 250)
            conn.quit()

        # A sender's own verdict is not believed: ours replaces it.
        odd = lambda subject: compose(outsider, [rcpt.email], subject, msgid=None, date=None).replace(  # noqa: E731
            b"\r\n\r\n", b"\r\nX-Odd: bare\nX-Spam-Status: No, score=-100\r\nX-Spam-Flag: NO\r\n\r\n", 1)
        first = unique("odd spam")
        send(first, odd(first))
        (_, _, raw), = find_mail(rcpt, us1, "Junk", first)
        status = header(raw, "X-Spam-Status")
        assert status.startswith("Yes, score=4.50 required=2.50"), status
        assert raw.count(b"X-Spam-Status:") == 1 and raw.count(b"X-Spam-Flag:") == 1 and header(raw, "X-Spam-Flag") == "YES", head(raw)
        for name in ("MISSING_DATE", "MISSING_MESSAGE_ID", "BARE_LF"):
            assert name in status, status
        ok(us1.put(f"/v3/policies/{policy['id']}", json={"spam_detection": {"spam_sensitivity": 0.5}}))
        second = unique("odd kept")
        send(second, odd(second))
        (_, _, raw), = find_mail(rcpt, us1, "INBOX", second)
        assert header(raw, "X-Spam-Status").startswith("No, score=4.50 required=10.00"), head(raw)
        fine = unique("well formed")
        send(fine, compose(outsider, [rcpt.email], fine))
        (_, _, raw), = find_mail(rcpt, us1, "INBOX", fine)
        assert header(raw, "X-Spam-Status") == "No, score=0.00 required=10.00 tests=none", head(raw)
    finally:
        us1.delete(f"/v3/grants/{rcpt.grant['id']}")

"""The /v3 grants API through real HTTP against every region of the booted cluster."""
import time
import uuid

import pytest

from helpers import assert_error, connect_body, unique_email, valid_password, wait_for

GRANT_KEYS = {"id", "provider", "grant_status", "email", "region", "scope", "created_at", "updated_at"}


def assert_grant(grant, email, region):
    assert GRANT_KEYS <= set(grant), grant
    assert isinstance(grant["id"], str) and grant["id"], grant
    assert grant["provider"] == "nylas"
    assert grant["grant_status"] == "valid"
    assert grant["email"].lower() == email.lower()
    assert grant["region"] == region
    assert grant["scope"] == []
    now = time.time()
    for key in ("created_at", "updated_at"):
        assert isinstance(grant[key], int) and not isinstance(grant[key], bool), (key, grant[key])
        assert abs(now - grant[key]) < 600, (key, grant[key], "unix seconds expected")
    assert "app_password" not in grant and "settings" not in grant


# --- create ------------------------------------------------------------------------------------

@pytest.mark.parametrize("node_id", ["us-1", "us-2", "eu-1", "eu-2"])
def test_create_grant_homes_it_in_the_receiving_region(cluster, node_id):
    node = cluster.node(node_id)
    email, password = unique_email("create"), valid_password()
    response = node.post("/v3/connect/custom", json=connect_body(email, password))
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["request_id"], str) and body["request_id"]
    assert_grant(body["data"], email, node.region)
    assert response.headers.get("X-Mailnode-Node") == node_id
    assert password not in response.text
    # Clean up.
    assert node.delete(f"/v3/grants/{body['data']['id']}").status_code == 200


def test_grant_created_in_eu_is_served_from_eu_through_us(cluster, create_grant, eu1, us1, us2):
    email = unique_email("cross")
    created = create_grant(eu1, email)
    assert created["region"] == "eu"
    for node in (us1, us2):
        response = node.get(f"/v3/grants/{created['id']}")
        assert response.status_code == 200, (node.id, response.text)
        assert response.json()["data"] == created
        served_by = response.headers.get("X-Mailnode-Node")
        assert served_by in cluster.nodes, response.headers
        assert cluster.region_of(served_by) == "eu", f"{node.id} answered itself: {served_by}"


def test_grant_created_in_us_is_served_from_us_through_eu(cluster, create_grant, us1, eu1, eu2):
    created = create_grant(us1)
    for node in (eu1, eu2):
        response = node.get(f"/v3/grants/{created['id']}")
        assert response.status_code == 200, (node.id, response.text)
        assert response.json()["data"] == created
        assert cluster.region_of(response.headers.get("X-Mailnode-Node", "?")) == "us"


def test_routing_entries_on_primary_and_replica(cluster, create_grant, eu1):
    email = f"Routing-{uuid.uuid4().hex[:12]}@Example.COM"
    grant = create_grant(eu1, email)
    primary = cluster.routing_primary_port
    assert cluster.redis_get(primary, f"route:email:{email.lower()}") == grant["id"]
    entry = cluster.redis_hash(primary, f"route:grant:{grant['id']}")
    assert entry.get("region") == "eu", entry
    assert entry.get("email", "").lower() == email.lower(), entry
    replica = cluster.routing_replica_port("eu")
    assert replica != primary
    assert wait_for(lambda: cluster.redis_get(replica, f"route:email:{email.lower()}") == grant["id"])
    assert cluster.redis_hash(replica, f"route:grant:{grant['id']}") == entry


def test_missing_or_invalid_email_is_refused(us1):
    for settings in ({"app_password": valid_password()},
                     {"email": "", "app_password": valid_password()},
                     {"email": "not-an-address", "app_password": valid_password()},
                     {"email": 42, "app_password": valid_password()}):
        response = us1.post("/v3/connect/custom", json={"provider": "nylas", "settings": settings})
        assert_error(response, 400, "invalid_request_error")


# --- app password policy -----------------------------------------------------------------------

BAD_PASSWORDS = [
    ("Aa1" + "b" * 14, "18 to 40"),                  # 17 characters
    ("Aa1" + "b" * 38, "18 to 40"),                  # 41 characters
    ("Aa1bbbbbbb bbbbbbbbbb", "printable ASCII"),    # a space
    ("Aa1bbbbbbbébbbbbbbbbb", "printable ASCII"),    # not ASCII
    ("Aa1bbbbbbb\tbbbbbbbbbb", "printable ASCII"),   # a control character
    ("Aabbbbbbbbbbbbbbbbbbbb", "digit"),             # no digit
    ("aa1bbbbbbbbbbbbbbbbbbb", "upper case"),        # no upper case letter
    ("AA1BBBBBBBBBBBBBBBBBBB", "lower case"),        # no lower case letter
]


@pytest.mark.parametrize("password,rule", BAD_PASSWORDS, ids=[
    "17-chars", "41-chars", "space", "non-ascii", "control", "no-digit", "no-upper", "no-lower"])
def test_bad_app_password_is_refused_naming_the_rule(us1, create_grant, password, rule):
    email = unique_email("badpw")
    response = us1.post("/v3/connect/custom", json=connect_body(email, password))
    error = assert_error(response, 400, "invalid_request_error")
    assert rule in error["message"], error
    assert password not in response.text
    # Nothing was stored: the address is still free.
    create_grant(us1, email)


@pytest.mark.parametrize("length", [18, 40])
def test_app_password_at_the_length_limits_is_accepted(us1, create_grant, length):
    password = ("Aa1" + "x" * 40)[:length]
    create_grant(us1, password=password)


def test_patch_applies_the_password_policy(us1, eu1, create_grant):
    grant = create_grant(us1)
    response = eu1.patch(f"/v3/grants/{grant['id']}",
                         json={"settings": {"email": grant["email"], "app_password": "Short1a"}})
    error = assert_error(response, 400, "invalid_request_error")
    assert "18 to 40" in error["message"]


# --- uniqueness --------------------------------------------------------------------------------

def test_duplicate_email_is_refused_across_regions(us1, eu1, us2, eu2, create_grant):
    email = unique_email("dup")
    create_grant(us1, email)
    for node in (eu1, eu2, us2, us1):
        response = node.post("/v3/connect/custom", json=connect_body(email))
        assert_error(response, 409, "conflict_error")


def test_duplicate_email_differing_only_in_case_is_refused(us1, eu1, create_grant):
    email = unique_email("case")
    create_grant(eu1, email)
    response = us1.post("/v3/connect/custom", json=connect_body(email.upper()))
    assert_error(response, 409, "conflict_error")


# --- list --------------------------------------------------------------------------------------

def list_all(node, limit):
    ids, token, pages = [], None, 0
    while True:
        params = {"limit": limit}
        if token:
            params["page_token"] = token
        response = node.get("/v3/grants", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "next_cursor" in body and isinstance(body["request_id"], str)
        assert len(body["data"]) <= limit
        ids += [g["id"] for g in body["data"]]
        token = body["next_cursor"]
        pages += 1
        assert pages < 10_000
        if token is None:
            return ids, pages
        assert body["data"], "a page with a next_cursor must not be empty"


def test_list_pages_through_every_grant_of_both_regions(us1, eu1, create_grant):
    mine = [create_grant(us1)["id"], create_grant(eu1)["id"], create_grant(eu1)["id"]]
    for node in (us1, eu1):
        ids, pages = list_all(node, limit=2)
        assert pages >= 2
        assert len(ids) == len(set(ids)), "a grant appeared twice"
        assert ids == sorted(ids), "grants are not ordered by id"
        assert set(mine) <= set(ids)


def test_list_last_page_has_null_cursor(us1, create_grant):
    create_grant(us1)
    response = us1.get("/v3/grants", params={"limit": 1000})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert all(GRANT_KEYS <= set(g) for g in body["data"])


# --- update ------------------------------------------------------------------------------------

def test_patch_changes_email_and_routing(cluster, us1, eu1, eu2, create_grant):
    old_email = unique_email("before")
    grant = create_grant(us1, old_email)
    new_email = unique_email("after")
    password = valid_password()
    response = eu1.patch(f"/v3/grants/{grant['id']}",
                         json={"settings": {"email": new_email, "app_password": password}})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["id"] == grant["id"]
    assert updated["email"].lower() == new_email.lower()
    assert updated["region"] == "us"
    assert updated["updated_at"] >= grant["updated_at"]
    assert password not in response.text

    fetched = eu2.get(f"/v3/grants/{grant['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["data"]["email"].lower() == new_email.lower()

    for port in (cluster.routing_primary_port, cluster.routing_replica_port("eu")):
        assert wait_for(lambda: cluster.redis_get(port, f"route:email:{new_email.lower()}") == grant["id"]), port
        assert wait_for(lambda: cluster.redis_get(port, f"route:email:{old_email.lower()}") is None), port
        assert cluster.redis_hash(port, f"route:grant:{grant['id']}").get("email", "").lower() == new_email.lower()

    # The old address is free again, the new one is taken.
    create_grant(eu1, old_email)
    assert_error(us1.post("/v3/connect/custom", json=connect_body(new_email)), 409, "conflict_error")


# --- delete and unknown ids --------------------------------------------------------------------

def test_delete_then_not_found_from_both_regions(us1, eu1, create_grant):
    grant = create_grant(eu1)
    response = us1.delete(f"/v3/grants/{grant['id']}")
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["request_id"], str)
    for node in (us1, eu1):
        assert_error(node.get(f"/v3/grants/{grant['id']}"), 404, "not_found_error")
    assert_error(eu1.delete(f"/v3/grants/{grant['id']}"), 404, "not_found_error")


def test_deleted_address_can_be_used_again_in_any_region(us1, eu1, create_grant):
    email = unique_email("reuse")
    grant = create_grant(us1, email)
    assert eu1.delete(f"/v3/grants/{grant['id']}").status_code == 200
    again = create_grant(eu1, email)
    assert again["region"] == "eu" and again["id"] != grant["id"]


@pytest.mark.parametrize("node_id", ["us-1", "eu-1"])
def test_unknown_grant_is_not_found(cluster, node_id):
    node = cluster.node(node_id)
    unknown = str(uuid.uuid4())
    assert_error(node.get(f"/v3/grants/{unknown}"), 404, "not_found_error")
    assert_error(node.patch(f"/v3/grants/{unknown}",
                            json={"settings": {"email": unknown_email(), "app_password": valid_password()}}),
                 404, "not_found_error")
    assert_error(node.delete(f"/v3/grants/{unknown}"), 404, "not_found_error")


def unknown_email():
    return unique_email("nobody")


# --- authentication ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "wrong-key", ""], ids=["no-header", "wrong-key", "empty-key"])
def test_requests_without_the_api_key_are_unauthorized(us1, eu1, key):
    for node in (us1, eu1):
        assert_error(node.get("/v3/grants", key=key), 401, "unauthorized")
        response = node.post("/v3/connect/custom", key=key, json=connect_body(unique_email("noauth")))
        assert_error(response, 401, "unauthorized")
        assert_error(node.get(f"/v3/grants/{uuid.uuid4()}", key=key), 401, "unauthorized")

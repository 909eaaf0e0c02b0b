"""Helpers shared by the interop tests."""
import time
import uuid


def unique_email(prefix="agent"):
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


def valid_password():
    # 24 characters: upper case, lower case, digits, punctuation.
    return f"Aa1-{uuid.uuid4().hex[:20]}"


def connect_body(email, password=None):
    settings = {"email": email}
    settings["app_password"] = valid_password() if password is None else password
    return {"provider": "nylas", "settings": settings}


def assert_error(response, status, error_type):
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body.get("request_id"), str) and body["request_id"], body
    assert body["error"]["type"] == error_type, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def wait_for(predicate, timeout=5.0, interval=0.1):
    """Poll until predicate() is truthy (returned) or the time is up (last value returned)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)

"""A real HTTP endpoint for the webhook tests, and the webhooks made through the API to point at it.

WebhookReceiver listens on 127.0.0.1 (an ephemeral port) in a daemon thread
(http.server.ThreadingHTTPServer, one thread per connection):

* `GET ...?challenge=X` (the verification a node sends before it saves a webhook URL) is answered
  with X and 200, unless told otherwise: `challenge_answer="wrong"` (or a function of X),
  `challenge_status=404`, `challenge_delay=12` (seconds before answering).
* Every POST is recorded as a Delivery: raw body bytes, headers, parsed JSON, arrival
  time.monotonic(), the status it was answered with, and whether `X-Nylas-Signature` is the
  lowercase hex HMAC-SHA256 of the raw body keyed with the secret (the UTF-8 bytes of the hex text)
  known at that moment (`verified`; `Delivery.verifies(secret)` checks any secret later).
* `fail_next(n, status=500, match=...)` answers the next n matching POSTs with that status;
  `hold(match=...)` blocks the next matching POST until `Hold.release()` (or its limit).
* `wait_for_event(predicate, timeout)` returns the first recorded delivery matching the predicate.

Webhooks are application-wide: every webhook gets the events of every grant (of every test running
meanwhile), so tests filter deliveries by their own grant id.
"""
import hashlib
import hmac
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

TRIGGER_TYPES = [
    "grant.created", "grant.updated", "grant.deleted",
    "message.created", "message.updated", "message.deleted",
    "folder.created", "folder.updated", "folder.deleted",
    "message.send_success", "message.send_failed", "message.delivered", "message.bounced",
]
# Deliveries normally arrive well under a second after the change; retries start after 1 s.
EVENT_TIMEOUT = 15.0
# The longest a held POST is kept waiting when nobody releases it.
HOLD_LIMIT = 120.0


def signature_of(body, secret):
    """What X-Nylas-Signature must be for this raw body and secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Delivery:
    """One POST the receiver got."""

    def __init__(self, seq, path, headers, body, arrived):
        self.seq = seq                      # index in WebhookReceiver.deliveries
        self.path = path                    # request target: path and query
        parts = urlsplit(path)
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers              # lower-case name -> value
        self.body = body                    # raw bytes, as signed
        self.arrived = arrived              # time.monotonic() when the body was read
        self.wall = time.time()
        self.answered = None                # time.monotonic() when answered
        self.status = None                  # the status the receiver answered with (None while held)
        self.held = False
        self.signature = headers.get("x-nylas-signature")
        self.verified = None                # against the secret known on arrival (None: none known yet)
        self.verified_with = None           # which of the receiver's secrets signed it, if any
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def verifies(self, secret):
        """The signature is the exact lowercase hex HMAC-SHA256 of the raw body keyed with `secret`."""
        if not secret or not self.signature:
            return False
        return hmac.compare_digest(signature_of(self.body, secret), self.signature)

    def header(self, name):
        return self.headers.get(name.lower())

    def _field(self, key):
        return self.json.get(key) if isinstance(self.json, dict) else None

    @property
    def type(self):
        return self._field("type")

    @property
    def id(self):
        return self._field("id")

    @property
    def attempt(self):
        return self._field("webhook_delivery_attempt")

    @property
    def time(self):
        return self._field("time")

    @property
    def source(self):
        return self._field("source")

    @property
    def data(self):
        data = self._field("data")
        return data if isinstance(data, dict) else {}

    @property
    def grant_id(self):
        return self.data.get("grant_id")

    @property
    def object(self):
        obj = self.data.get("object")
        return obj if isinstance(obj, dict) else {}

    @property
    def object_id(self):
        return self.object.get("id")

    @property
    def node(self):
        """The delivering node's id (X-Mailnode-Node)."""
        return self.header("X-Mailnode-Node")

    def describe(self):
        obj = self.object
        return (f"#{self.seq} {self.type} id={self.id} attempt={self.attempt} grant={self.grant_id} "
                f"object={obj.get('id')} subject={obj.get('subject')!r} name={obj.get('name')!r} "
                f"folders={obj.get('folders')} unread={obj.get('unread')} node={self.node} status={self.status}")

    def __repr__(self):
        return f"<Delivery {self.describe()}>"


class Challenge:
    """One verification GET the receiver got."""

    def __init__(self, path, headers, arrived):
        self.path = path
        self.query = parse_qs(urlsplit(path).query, keep_blank_values=True)
        values = self.query.get("challenge")
        self.value = values[-1] if values else None
        self.headers = headers
        self.arrived = arrived
        self.status = None
        self.answer = None

    def __repr__(self):
        return f"<Challenge {self.path} -> {self.status} {self.answer!r}>"


class Hold:
    """Blocks the first POST matching `match` until release() (or `limit` seconds)."""

    def __init__(self, match, limit, status):
        self.match = match
        self.limit = limit
        self.status = status
        self.delivery = None
        self.arrived = threading.Event()
        self.released = threading.Event()

    def wait(self, timeout=EVENT_TIMEOUT):
        """The held delivery, once it arrived (AssertionError when it did not in time)."""
        assert self.arrived.wait(timeout), f"no POST to hold arrived within {timeout} s"
        return self.delivery

    def release(self):
        self.released.set()


class _Failure:
    def __init__(self, match, count, status):
        self.match = match
        self.remaining = count
        self.status = status


def _matches(predicate, delivery):
    if predicate is None:
        return True
    try:
        return bool(predicate(delivery))
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as an HTTP client of the nodes may expect
    server_version = "interop-webhook-receiver/1"
    # The headers and the body go out in two writes: with Nagle's algorithm on a kept-alive
    # connection the body waits for the client's delayed ACK (about 40 ms per delivery).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        self.server.receiver._on_get(self)

    def do_POST(self):
        self.server.receiver._on_post(self)

    def do_PUT(self):
        _read_body(self)
        _reply(self, 405, b"method not allowed")

    do_DELETE = do_PUT
    do_PATCH = do_PUT


def _read_body(handler):
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            line = handler.rfile.readline(65537)
            if not line:
                break
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _reply(handler, status, body=b"", content_type="text/plain; charset=utf-8"):
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
    except OSError:  # the node gave up (timeout) or died meanwhile
        handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A sender that dies in the middle of a POST (the failover and chaos tests kill nodes) is
        # expected: its delivery is simply not recorded. Anything else is still printed.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class WebhookReceiver:
    def __init__(self, challenge_answer="echo", challenge_status=200, challenge_delay=0.0, query=None):
        self.challenge_answer = challenge_answer  # "echo", "wrong", or a function of the challenge
        self.challenge_status = challenge_status
        self.challenge_delay = challenge_delay
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self.query = query                         # e.g. "tag=abc": part of the webhook URL
        self.deliveries = []
        self.challenges = []
        self.secret = None
        self.secrets = []
        self._failures = []
        self._holds = []
        self._cond = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"webhook-receiver-{self.port}", daemon=True)
        self._thread.start()
        self._closed = False

    # --- configuration ------------------------------------------------------------------------

    @property
    def url(self):
        base = f"http://127.0.0.1:{self.port}{self.path}"
        return f"{base}?{self.query}" if self.query else base

    def set_secret(self, secret):
        """The secret deliveries are checked against from now on (earlier unchecked ones are checked now)."""
        with self._cond:
            self.secret = secret
            if secret not in self.secrets:
                self.secrets.append(secret)
            for d in self.deliveries:
                if d.verified is None:
                    d.verified = d.verifies(secret)
                if d.verified_with is None and d.verifies(secret):
                    d.verified_with = secret

    def fail_next(self, count=1, status=500, match=None):
        """Answer the next `count` POSTs matching `match` (a function of a Delivery) with `status`."""
        with self._cond:
            self._failures.append(_Failure(match, count, status))

    def hold(self, match=None, limit=HOLD_LIMIT, status=200):
        """Block the next POST matching `match` until the returned Hold is released (then answer `status`)."""
        hold = Hold(match, limit, status)
        with self._cond:
            self._holds.append(hold)
        return hold

    # --- looking at what arrived ----------------------------------------------------------------

    def mark(self):
        """The number of deliveries so far: pass it as `since` to look only at later ones."""
        with self._cond:
            return len(self.deliveries)

    def events(self, predicate=None, since=0):
        with self._cond:
            return [d for d in self.deliveries[since:] if _matches(predicate, d)]

    def wait_for_event(self, predicate, timeout=EVENT_TIMEOUT, since=0, what=None):
        """The first delivery (from index `since`) matching `predicate`; AssertionError after `timeout` s."""
        return self.wait_for_events(predicate, 1, timeout=timeout, since=since, what=what)[0]

    def wait_for_events(self, predicate, count, timeout=EVENT_TIMEOUT, since=0, what=None):
        """The first `count` deliveries matching `predicate`, in arrival order."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [d for d in self.deliveries[since:] if _matches(predicate, d)]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = "\n  ".join(d.describe() for d in self.deliveries[since:][-25:]) or "(none)"
                    raise AssertionError(
                        f"{len(found)} of {count} deliveries {what or 'matching'} within {timeout} s "
                        f"(receiver {self.url}); the last deliveries:\n  {recent}")
                self._cond.wait(min(remaining, 0.5))

    def wait_for_challenge(self, timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.challenges:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no challenge GET at {self.url} within {timeout} s")
                self._cond.wait(min(remaining, 0.5))
            return self.challenges[0]

    def close(self):
        if self._closed:
            return
        self._closed = True
        with self._cond:
            holds = list(self._holds)
        for hold in holds:
            hold.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the handlers ---------------------------------------------------------------------------

    def _on_get(self, handler):
        challenge = Challenge(handler.path, {k.lower(): v for k, v in handler.headers.items()}, time.monotonic())
        with self._cond:
            self.challenges.append(challenge)
            answer_mode, status, delay = self.challenge_answer, self.challenge_status, self.challenge_delay
            self._cond.notify_all()
        if challenge.value is None:
            challenge.status, challenge.answer = 400, "no challenge parameter"
            _reply(handler, 400, b"no challenge parameter")
            return
        if delay:
            time.sleep(delay)
        if callable(answer_mode):
            answer = answer_mode(challenge.value)
        elif answer_mode == "wrong":
            answer = "not-the-challenge-" + uuid.uuid4().hex
        else:
            answer = challenge.value
        challenge.status, challenge.answer = status, answer
        _reply(handler, status, answer.encode())

    def _on_post(self, handler):
        body = _read_body(handler)
        arrived = time.monotonic()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        failure = hold = None
        with self._cond:
            delivery = Delivery(len(self.deliveries), handler.path, headers, body, arrived)
            if self.secret:
                delivery.verified = delivery.verifies(self.secret)
            delivery.verified_with = next((s for s in reversed(self.secrets) if delivery.verifies(s)), None)
            hold = next((h for h in self._holds if h.delivery is None and _matches(h.match, delivery)), None)
            if hold is not None:
                hold.delivery = delivery
                delivery.held = True
            else:
                failure = next((f for f in self._failures if f.remaining > 0 and _matches(f.match, delivery)), None)
                if failure is not None:
                    failure.remaining -= 1
            self.deliveries.append(delivery)
            self._cond.notify_all()
        if hold is not None:
            hold.arrived.set()
            hold.released.wait(hold.limit)
            status = hold.status
        elif failure is not None:
            status = failure.status
        else:
            status = 200
        with self._cond:
            delivery.status = status
            delivery.answered = time.monotonic()
            self._cond.notify_all()
        _reply(handler, status, b"ok" if 200 <= status < 300 else b"failing on purpose")


class Webhook:
    """A webhook made through the API and the receiver its URL points at."""

    def __init__(self, receiver, node, data):
        self.receiver = receiver
        self.node = node
        self.data = data
        self.id = data["id"]
        self.secret = None
        self.set_secret(data.get("webhook_secret"))

    def set_secret(self, secret):
        self.secret = secret
        if secret:
            self.receiver.set_secret(secret)

    def wait(self, grant_id, type_, where=None, since=0, timeout=EVENT_TIMEOUT, verify=True):
        """The first delivery of `type_` for `grant_id` whose object satisfies `where`; its signature
        is checked against the webhook's current secret unless verify=False."""
        delivery = self.receiver.wait_for_event(
            lambda d: d.grant_id == grant_id and d.type == type_ and (where is None or where(d.object)),
            timeout=timeout, since=since, what=f"of {type_} for grant {grant_id}")
        if verify:
            assert delivery.signature, f"no X-Nylas-Signature on {delivery.describe()}"
            assert delivery.verifies(self.secret), (
                f"X-Nylas-Signature {delivery.signature} is not HMAC-SHA256(secret, body) of {delivery.describe()}")
        return delivery

    def for_grant(self, grant_id, since=0):
        return self.receiver.events(lambda d: d.grant_id == grant_id, since=since)


class WebhookFactory:
    """make_webhook(...) in the tests: receivers and webhooks that are cleaned up after the test."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.receivers = []
        self.webhook_ids = []

    def receiver(self, **options):
        receiver = WebhookReceiver(**options)
        self.receivers.append(receiver)
        return receiver

    def __call__(self, node=None, trigger_types=None, receiver=None, **fields):
        """A receiver (a new one unless given) and a webhook pointing at it, made through `node`
        (us-1 unless given) for `trigger_types` (every type unless given)."""
        node = node or self.cluster.node("us-1")
        receiver = receiver or self.receiver()
        body = {"trigger_types": list(TRIGGER_TYPES if trigger_types is None else trigger_types),
                "webhook_url": receiver.url, **fields}
        response = node.post("/v3/webhooks", json=body)
        assert response.status_code in (200, 201), (node.id, response.status_code, response.text[:2000])
        data = response.json()["data"]
        self.webhook_ids.append(data["id"])
        return Webhook(receiver, node, data)

    def close(self):
        # Delete first (through any node that answers: a test may have stopped one), then stop the receivers.
        nodes = list(self.cluster.nodes.values())
        for webhook_id in self.webhook_ids:
            for node in nodes:
                try:
                    response = node.delete(f"/v3/webhooks/{webhook_id}", timeout=10)
                except requests.RequestException:
                    continue
                if response.status_code in (200, 404):
                    break
        for receiver in self.receivers:
            receiver.close()

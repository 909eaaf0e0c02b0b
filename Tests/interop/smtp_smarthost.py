"""The smart host the cluster's nodes relay outbound mail to, for the interop tests (the `smart_host`
fixture of conftest.py) and Benchmarks/smtp-throughput (as a sink).

The region files name it as `smtp.smart_host: 127.0.0.1:<17300 + port offset>` with
`smtp.smart_host_tls: none`: plain SMTP, no TLS, no AUTH. SmartHost serves that address with
aiosmtpd (a threaded Controller; a new one on every start(), since a stopped Controller's event loop
is closed) and records:

* every message it accepted as a Relayed: envelope (MAIL FROM, RCPT TOs and their parameters),
  the raw bytes (or, with keep=False, only the header block and the size), the client's EHLO name
  and address, arrival time.monotonic();
* every RCPT it answered as an Attempt (address, the code it answered, arrival time), refused ones
  included: a retried delivery shows up as a 451 Attempt followed by a 250 one.

`refuse(domain, code, times=None)` makes it answer `code` (451: try again, 550: permanently refused)
to recipients of that domain, at RCPT (default) or after DATA (`at="data"`), the next `times` times
or always; `stop()` closes the port (connections are refused, as for a smart host that is down) and
`start()` opens it again. The state lives in the SmartHost object, so it survives stop()/start().

Tests share one SmartHost for the whole session: each uses recipient domains of its own and looks
only at what was sent to them.
"""
import email
import email.policy
import errno
import os
import pathlib
import re
import socket
import threading
import time
import uuid

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

# The smart host port of the test cluster is this plus the port offset (cluster/up, cluster/test).
BASE_PORT = 17300
# Bigger than any message a node accepts (25 MB) plus the headers it adds.
DATA_SIZE_LIMIT = 64 * 1024 * 1024
RELAY_TIMEOUT = 30.0


# --- where -----------------------------------------------------------------------------------------

def parse_address(value):
    """'127.0.0.1:17300', 'smtp://127.0.0.1:17300' or '[::1]:17300' -> (host, port)."""
    text = str(value).strip()
    text = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", text).rstrip("/")
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text)
    if not match:
        raise ValueError(f"smtp.smart_host {value!r} is not host:port")
    host = match.group(1) or match.group(3)
    return host, int(match.group(2) or match.group(4))


def configured_smart_hosts(run_dir):
    """[(host, port)] that the run dir's rendered region files name as smtp.smart_host (each once).

    When no region file names one: 127.0.0.1:(BASE_PORT + the port offset the files were rendered
    with, which cluster/up writes into their first line), or CLUSTER_PORT_OFFSET when they say none.
    ValueError when a region file wants TLS towards the smart host (this one speaks plain SMTP)."""
    found, offset = [], None
    for path in sorted(pathlib.Path(run_dir, "regions").glob("*.yaml")):
        text = path.read_text()
        match = re.search(r"\(port offset (-?\d+)\)", text.split("\n", 1)[0])
        if match:
            offset = int(match.group(1))
        doc = yaml.safe_load(text) or {}
        smtp = doc.get("smtp") or {}
        if not smtp.get("smart_host"):
            continue
        tls = smtp.get("smart_host_tls", "none")
        if tls not in (None, False, "none", "None", "off"):
            raise ValueError(f"{path}: smtp.smart_host_tls is {tls!r}; the test smart host speaks plain SMTP "
                             "(smart_host_tls: none)")
        address = parse_address(smtp["smart_host"])
        if address not in found:
            found.append(address)
    if not found:
        if offset is None:
            offset = int((os.environ.get("CLUSTER_PORT_OFFSET") or "0").strip() or 0)
        found = [("127.0.0.1", BASE_PORT + offset)]
    return found


def names_smart_host(run_dir):
    """Whether any rendered region file of the run dir has smtp.smart_host."""
    for path in sorted(pathlib.Path(run_dir, "regions").glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        if (doc.get("smtp") or {}).get("smart_host"):
            return True
    return False


# --- what arrived ------------------------------------------------------------------------------------

def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class Relayed:
    """One message the smart host accepted (one SMTP transaction)."""

    def __init__(self, seq, session, envelope, keep):
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        data = data if isinstance(data, bytes) else (data or "").encode("utf-8", "surrogateescape")
        self.seq = seq
        self.mail_from = _text(envelope.mail_from)
        self.rcpt_tos = [_text(r) for r in envelope.rcpt_tos]
        self.mail_options = list(envelope.mail_options)
        self.rcpt_options = list(envelope.rcpt_options)
        self.peer = session.peer
        self.helo = session.host_name
        self.size = len(data)
        end = data.find(b"\r\n\r\n")
        self.headers_raw = data[:end + 2] if end >= 0 else data
        self.data = data if keep else None
        self.arrived = time.monotonic()
        self.wall = time.time()
        self._parsed = None

    @property
    def message(self):
        """The message as Python's email package reads it (only the headers when keep=False)."""
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self.data if self.data is not None else self.headers_raw + b"\r\n",
                                                    policy=email.policy.default)
        return self._parsed

    def header(self, name):
        value = self.message.get(name)
        return None if value is None else str(value)

    def has_header(self, name):
        """Whether the header block has a field of this name (read from the raw bytes)."""
        return re.search(rb"(?im)^" + re.escape(name.encode()) + rb"[ \t]*:", self.headers_raw) is not None

    @property
    def subject(self):
        return self.header("Subject")

    def describe(self):
        return (f"#{self.seq} from={self.mail_from} to={self.rcpt_tos} subject={self.subject!r} "
                f"size={self.size} helo={self.helo} peer={self.peer}")

    def __repr__(self):
        return f"<Relayed {self.describe()}>"


class Attempt:
    """One RCPT the smart host answered."""

    def __init__(self, seq, session, envelope, address, code, reply):
        self.seq = seq
        self.mail_from = _text(envelope.mail_from)
        self.address = _text(address)
        self.code = code
        self.reply = reply
        self.peer = session.peer
        self.arrived = time.monotonic()

    @property
    def domain(self):
        return self.address.rsplit("@", 1)[-1].lower()

    def __repr__(self):
        return f"<Attempt #{self.seq} {self.mail_from} -> {self.address}: {self.reply}>"


class Rule:
    """Answer `code` to recipients of `domain` (at RCPT or after DATA), `remaining` more times (None: always)."""

    def __init__(self, domain, code, text, remaining, at):
        self.domain = domain.lower()
        self.code = code
        self.text = text
        self.remaining = remaining
        self.at = at
        self.used = 0

    @property
    def reply(self):
        return f"{self.code} {self.text}"


def _matches(predicate, item):
    if predicate is None:
        return True
    try:
        return bool(predicate(item))
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return False


def to_domain(domain):
    """A predicate for Relayed: sent to a recipient of this domain."""
    domain = domain.lower()
    return lambda m: any(r.lower().endswith("@" + domain) for r in m.rcpt_tos)


def with_subject(subject):
    return lambda m: m.subject == subject


# --- the server ----------------------------------------------------------------------------------

class _LenientSMTP(SMTP):
    # aiosmtpd refuses DATA lines over 1001 bytes; a relay should not judge what a node forwards.
    line_length_limit = 1 << 20


class _Controller(Controller):
    def factory(self):
        return _LenientSMTP(self.handler, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, host):
        self.host = host

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.host._on_rcpt(session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        return self.host._on_data(session, envelope)


def _refuse_if_taken(host, port):
    """Fail fast (aiosmtpd would wait for its ready timeout) when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise OSError(error.errno, f"{host}:{port} is taken by another process (another test run, "
                                       "a benchmark's sink?): the smart host cannot listen there") from None
        raise
    finally:
        probe.close()


class SmartHost:
    def __init__(self, addresses, keep=True, hostname="smarthost.interop.test"):
        self.addresses = [tuple(a) for a in addresses]
        self.keep = keep                      # keep every message's bytes (False: headers and size only)
        self.hostname = hostname
        self.relayed = []
        self.attempts_made = []
        self.rules = []
        self._cond = threading.Condition()
        self._controllers = []
        self._handler = _Handler(self)
        self._closed = False

    # --- running ------------------------------------------------------------------------------

    @property
    def running(self):
        return bool(self._controllers)

    def start(self):
        """Listen on every address (a no-op when listening already)."""
        if self._controllers:
            return
        started = []
        try:
            for host, port in self.addresses:
                _refuse_if_taken(host, port)
                controller = _Controller(self._handler, hostname=host, port=port, ready_timeout=10,
                                         server_hostname=self.hostname, data_size_limit=DATA_SIZE_LIMIT,
                                         enable_SMTPUTF8=True, decode_data=False, ident="interop smart host")
                controller.start()
                started.append(controller)
        except BaseException:
            for controller in started:
                controller.stop(no_assert=True)
            raise
        self._controllers = started

    def stop(self):
        """Close the port(s) and end the sessions in progress: the smart host is down."""
        controllers, self._controllers = self._controllers, []
        for controller in controllers:
            try:
                controller.stop(no_assert=True)
            except Exception:
                pass

    def close(self):
        if not self._closed:
            self._closed = True
            self.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def address(self):
        host, port = self.addresses[0]
        return f"{host}:{port}"

    # --- behaviour ------------------------------------------------------------------------------

    def refuse(self, domain, code=550, times=None, at="rcpt", text=None):
        """Answer `code` to recipients of `domain` the next `times` times (None: until allow()).
        `at`: "rcpt" (the RCPT is refused) or "data" (the transaction is refused after DATA)."""
        assert at in ("rcpt", "data"), at
        if text is None:
            if 400 <= code < 500:
                text = f"4.3.0 try again later ({domain}: interop smart host)"
            else:
                text = f"5.1.1 mailbox unavailable ({domain}: interop smart host)"
        rule = Rule(domain, code, text, times, at)
        with self._cond:
            self.rules.append(rule)
        return rule

    def allow(self, domain=None):
        """Forget the refusals of `domain` (of every domain when None)."""
        with self._cond:
            self.rules = [r for r in self.rules if domain is not None and r.domain != domain.lower()]

    def _rule_for(self, address, at):
        domain = _text(address).rsplit("@", 1)[-1].lower()
        for rule in self.rules:
            if rule.domain == domain and rule.at == at and (rule.remaining is None or rule.remaining > 0):
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.used += 1
                return rule
        return None

    # --- looking at what arrived -----------------------------------------------------------------

    def mark(self):
        """The number of messages so far: pass it as `since` to look only at later ones."""
        with self._cond:
            return len(self.relayed)

    @property
    def count(self):
        with self._cond:
            return len(self.relayed)

    def messages(self, predicate=None, since=0):
        with self._cond:
            return [m for m in self.relayed[since:] if _matches(predicate, m)]

    def attempts(self, predicate=None):
        with self._cond:
            return [a for a in self.attempts_made if _matches(predicate, a)]

    def attempts_for(self, address):
        address = address.lower()
        return self.attempts(lambda a: a.address.lower() == address)

    def wait_for(self, predicate, count=1, timeout=RELAY_TIMEOUT, since=0, what=None):
        """The first `count` messages matching `predicate`; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.relayed[since:] if _matches(predicate, m)]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = "\n  ".join(m.describe() for m in self.relayed[since:][-15:]) or "(none)"
                    tried = "\n  ".join(repr(a) for a in self.attempts_made[-15:]) or "(none)"
                    raise AssertionError(
                        f"{len(found)} of {count} messages {what or 'matching'} reached the smart host "
                        f"{self.address} within {timeout} s (running: {self.running}); the last messages:\n  "
                        f"{recent}\nthe last RCPTs:\n  {tried}")
                self._cond.wait(min(remaining, 0.5))

    def wait_for_one(self, predicate, timeout=RELAY_TIMEOUT, since=0, what=None):
        return self.wait_for(predicate, 1, timeout=timeout, since=since, what=what)[0]

    # --- the handlers (aiosmtpd's event loop thread) ------------------------------------------------

    def _on_rcpt(self, session, envelope, address, rcpt_options):
        with self._cond:
            rule = self._rule_for(address, "rcpt")
            reply = rule.reply if rule else "250 2.1.5 OK"
            self.attempts_made.append(Attempt(len(self.attempts_made), session, envelope, address,
                                              rule.code if rule else 250, reply))
            self._cond.notify_all()
        if rule is None:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply

    def _on_data(self, session, envelope):
        with self._cond:
            rule = next((r for r in (self._rule_for(a, "data") for a in envelope.rcpt_tos) if r), None)
            if rule is not None:
                self._cond.notify_all()
                return rule.reply
            self.relayed.append(Relayed(len(self.relayed), session, envelope, self.keep))
            self._cond.notify_all()
        return f"250 2.0.0 OK queued as {uuid.uuid4().hex[:12]}"

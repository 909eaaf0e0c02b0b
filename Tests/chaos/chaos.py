"""The chaos test's driver (run through Tests/chaos/run): clients, faults, and the final accounting.

Clients, each a thread on connections of its own, each connecting to a node picked at random (so
half of them reach their grant through the other region's relay):

* IMAP: APPEND to INBOX, STORE +FLAGS \\Flagged and UID MOVE to a folder "Chaos" of appended
  messages; a second session per grant sits in IDLE.
* SMTP submission: a grant of one region sends to a grant of the other (250 = saved to Sent and
  queued; the recipient's copy arrives through the delivery queue).
* Inbound SMTP: a stranger's server delivers to grants of both regions (250 = in the INBOX).
* API: drafts created with POST (200 = stored).
* A webhook receiver for `message.created`.

A write counts as acknowledged only on its success answer (OK with APPENDUID, OK with the FETCH that
shows the flag, OK with COPYUID, 250, 200). A failed or unanswered write is allowed and not looked
for; a success answer with the wrong content, a permanent refusal (SMTP 5xx, IMAP BAD or
AUTHENTICATIONFAILED, HTTP 4xx) of a valid request, is a wrong answer and fails the run as a lost
write does.

Faults: SIGKILL of a node, SIGTERM drain of a node, SIGKILL of a region's Redis, SIGKILL of the
routing primary, SIGQUIT of a region's Postgres (immediate shutdown: crash recovery on restart).
Each is repaired by cluster/up, as an operator would, after a hold of a few seconds.
"""
import argparse
import collections
import imaplib
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid

import requests

from conftest import REPO, Cluster, cluster_run_dir
from helpers import Account, connect_body, message, smtp_connect, tls_context, unique_email, valid_password, addr
from test_zz_webhook_failover import postgres_is_fast, ready, recorded_port_offset
from webhook_receiver import WebhookReceiver

MOVE_FOLDER = "Chaos"
CLIENT_TIMEOUT = 30  # seconds a client waits for one answer before it gives the connection up


class Ledger:
    """What the clients were told, shared by every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.appended = {}      # subject -> grant id
        self.flagged = set()    # subjects
        self.moved = set()      # subjects
        self.submitted = {}     # subject -> (sender grant id, recipient grant id)
        self.received = {}      # subject -> grant id
        self.drafts = {}        # draft id -> (grant id, subject)
        self.attempts = collections.Counter()
        self.errors = collections.Counter()
        self.wrong = []
        self.longest = (0.0, "")

    def attempt(self, kind):
        with self.lock:
            self.attempts[kind] += 1

    def error(self, kind):
        with self.lock:
            self.errors[kind] += 1

    def wrong_answer(self, text):
        with self.lock:
            self.wrong.append(f"{time.strftime('%H:%M:%S')} {text}")

    def waited(self, seconds, what):
        with self.lock:
            if seconds > self.longest[0]:
                self.longest = (seconds, what)

    def acknowledged(self):
        with self.lock:
            return (len(self.appended) + len(self.flagged) + len(self.moved) + 2 * len(self.submitted)
                    + len(self.received) + len(self.drafts))


def error_kind(surface, error):
    """A short, countable name for what a client met."""
    text = str(error)
    code = re.search(r"\[([A-Z-]+)", text)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{surface}: {error.smtp_code} {error.smtp_error[:5].decode(errors='replace')}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"{surface}: RCPT " + ", ".join(sorted({str(c) for c, _ in error.recipients.values()}))
    if isinstance(error, requests.HTTPError):
        return f"{surface}: HTTP {text.strip('[]').removeprefix('HTTP-')}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{surface}: connection closed"
    if isinstance(error, (imaplib.IMAP4.abort, ConnectionError, socket.timeout, TimeoutError, OSError, EOFError)):
        return f"{surface}: connection {type(error).__name__}"
    if code:
        return f"{surface}: NO [{code.group(1)}]"
    return f"{surface}: {type(error).__name__}"


class Client(threading.Thread):
    """A loop of operations until `stop`; reconnects after any failure."""

    surface = "client"

    def __init__(self, name, chaos):
        super().__init__(name=name, daemon=True)
        self.chaos = chaos
        self.ledger = chaos.ledger
        self.rng = random.Random(f"{chaos.seed}-{name}")
        self.conn = None

    def node(self):
        return self.rng.choice(list(self.chaos.cluster.nodes.values()))

    def run(self):
        while not self.chaos.stop.is_set():
            try:
                if self.conn is None:
                    self.conn = self.connect()
                self.step()
            except Exception as error:  # noqa: BLE001 - every failure is counted, then the client goes on
                self.ledger.error(error_kind(self.surface, error))
                self.drop()
                self.chaos.stop.wait(self.rng.uniform(0.2, 1.0))
            self.chaos.stop.wait(self.chaos.pace)
        self.drop()

    def timed(self, what, operation):
        started = time.monotonic()
        try:
            return operation()
        finally:
            self.ledger.waited(time.monotonic() - started, f"{self.name} {what}")

    def refused(self, error, what):
        """An SMTP refusal: a permanent one (5xx) of valid mail is a wrong answer."""
        codes = [error.smtp_code] if isinstance(error, smtplib.SMTPResponseException) else [
            c for c, _ in error.recipients.values()]
        if any(c >= 500 for c in codes):
            self.ledger.wrong_answer(f"{self.name}: {what} refused for good: {error}")

    def drop(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.shutdown() if isinstance(conn, imaplib.IMAP4) else conn.close()
            except Exception:  # noqa: BLE001
                pass


class IMAPWriter(Client):
    surface = "imap"

    def __init__(self, name, chaos, account):
        super().__init__(name, chaos)
        self.account = account
        self.in_inbox = {}  # subject -> uid, for messages this client knows are in INBOX

    def connect(self):
        node = self.node()
        host, port = addr(node)
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(self.chaos.cluster, node), timeout=CLIENT_TIMEOUT)
        try:
            self.timed("LOGIN", lambda: conn.login(self.account.email, self.account.password))
        except imaplib.IMAP4.error as error:
            if "AUTHENTICATIONFAILED" in str(error):
                self.ledger.wrong_answer(f"{self.name} on {node.id}: LOGIN with the right password: {error}")
            raise
        typ, data = self.timed("SELECT", lambda: conn.select("INBOX"))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SELECT {data}")
        # Messages moved or expunged while this client was away are found again by UID only if
        # still there: start from what this connection sees.
        return conn

    def step(self):
        roll = self.rng.random()
        if roll < 0.6 or len(self.in_inbox) < 3:
            self.append()
        elif roll < 0.8:
            self.flag()
        else:
            self.move()

    def answer(self, what, typ, data):
        """NO is a refusal to count; BAD or AUTHENTICATIONFAILED to a valid command is wrong."""
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        if typ == "BAD":
            self.ledger.wrong_answer(f"{self.name}: {what} answered BAD {text}")
        raise imaplib.IMAP4.error(text or typ)

    def append(self):
        subject = f"chaos-append-{uuid.uuid4().hex[:16]}"
        self.ledger.attempt("imap append")
        typ, data = self.timed("APPEND", lambda: self.conn.append("INBOX", None, None, message(subject)))
        if typ != "OK":
            self.answer("APPEND", typ, data)
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[-1] or b"")
        if not match:
            self.ledger.wrong_answer(f"{self.name}: APPEND OK without APPENDUID: {data}")
            return
        with self.ledger.lock:
            self.ledger.appended[subject] = self.account.grant["id"]
        self.in_inbox[subject] = int(match.group(1))

    def pick(self):
        subject = self.rng.choice(list(self.in_inbox))
        return subject, self.in_inbox[subject]

    def flag(self):
        subject, uid = self.pick()
        self.ledger.attempt("imap store")
        try:
            typ, data = self.timed("STORE", lambda: self.conn.uid("STORE", str(uid), "+FLAGS", r"(\Flagged)"))
        except BaseException:
            raise
        if typ != "OK":
            self.answer("STORE", typ, data)
        # OK without the message's FETCH means the session does not hold that UID any longer.
        if any(isinstance(d, bytes) and b"\\Flagged" in d for d in data):
            with self.ledger.lock:
                self.ledger.flagged.add(subject)
        else:
            self.in_inbox.pop(subject, None)

    def move(self):
        subject, uid = self.pick()
        # Whatever the answer, the message's place is no longer known for sure.
        del self.in_inbox[subject]
        self.ledger.attempt("imap move")
        typ, data = self.timed("MOVE", lambda: self.conn.uid("MOVE", str(uid), MOVE_FOLDER))
        if typ != "OK":
            self.answer("MOVE", typ, data)
        untagged = self.conn.untagged_responses.pop("COPYUID", None)
        text = b" ".join(d for d in (data + (untagged or [])) if isinstance(d, bytes))
        if b"COPYUID" in text or untagged:
            with self.ledger.lock:
                self.ledger.moved.add(subject)
        # OK without COPYUID: the UID was gone (nothing moved), as RFC 6851 allows.


class Idler(Client):
    """A session that waits in IDLE and re-enters it every 25 seconds; counts the pushes it gets."""

    surface = "idle"

    def __init__(self, name, chaos, account):
        super().__init__(name, chaos)
        self.account = account
        self.pushes = 0

    def connect(self):
        node = self.node()
        host, port = addr(node)
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(self.chaos.cluster, node), timeout=CLIENT_TIMEOUT)
        conn.login(self.account.email, self.account.password)
        conn.select("INBOX")
        return conn

    def step(self):
        conn = self.conn
        tag = conn._new_tag()
        conn.send(tag + b" IDLE\r\n")
        if not conn.readline().startswith(b"+"):
            raise imaplib.IMAP4.abort("no IDLE continuation")
        until = time.monotonic() + 25
        conn.sock.settimeout(1)
        try:
            while time.monotonic() < until and not self.chaos.stop.is_set():
                try:
                    line = conn.readline()
                except (socket.timeout, TimeoutError):
                    continue
                if not line:
                    raise imaplib.IMAP4.abort("connection closed in IDLE")
                if line.startswith(b"* BYE"):
                    raise imaplib.IMAP4.abort(line.decode(errors="replace").strip())
                if b"EXISTS" in line:
                    self.pushes += 1
        finally:
            conn.sock.settimeout(CLIENT_TIMEOUT)
        conn.send(b"DONE\r\n")
        while True:
            line = conn.readline()
            if not line:
                raise imaplib.IMAP4.abort("connection closed after DONE")
            if line.startswith(tag):
                return


class Submitter(Client):
    surface = "submission"

    def __init__(self, name, chaos, sender, recipient):
        super().__init__(name, chaos)
        self.sender, self.recipient = sender, recipient

    def connect(self):
        node = self.node()
        conn = smtp_connect(self.chaos.cluster, node, "smtps", timeout=CLIENT_TIMEOUT)
        try:
            self.timed("AUTH", lambda: conn.login(self.sender.email, self.sender.password))
        except smtplib.SMTPAuthenticationError as error:
            if error.smtp_code >= 500:
                self.ledger.wrong_answer(f"{self.name} on {node.id}: AUTH with the right password: {error}")
            conn.close()
            raise
        return conn

    def step(self):
        subject = f"chaos-submit-{uuid.uuid4().hex[:16]}"
        data = message(subject, sender=self.sender.email, to=self.recipient.email)
        self.ledger.attempt("smtp submission")
        try:
            refused = self.timed("submission", lambda: self.conn.sendmail(self.sender.email, [self.recipient.email], data))
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            self.refused(error, "a valid submission")
            raise
        if refused:
            raise smtplib.SMTPException(f"recipient refused: {refused}")
        with self.ledger.lock:
            self.ledger.submitted[subject] = (self.sender.grant["id"], self.recipient.grant["id"])


class InboundSender(Client):
    """Another mail server delivering to the cluster's port 25."""

    surface = "inbound"

    def __init__(self, name, chaos, recipients):
        super().__init__(name, chaos)
        self.recipients = recipients

    def connect(self):
        return smtp_connect(self.chaos.cluster, self.node(), "smtp", starttls=False, timeout=CLIENT_TIMEOUT)

    def step(self):
        recipient = self.rng.choice(self.recipients)
        subject = f"chaos-inbound-{uuid.uuid4().hex[:16]}"
        self.ledger.attempt("smtp inbound")
        try:
            self.timed("inbound", lambda: self.conn.sendmail("someone@example.org", [recipient.email],
                                                           message(subject, to=recipient.email)))
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            self.refused(error, f"mail for {recipient.email}")
            raise
        with self.ledger.lock:
            self.ledger.received[subject] = recipient.grant["id"]


class DraftWriter(Client):
    surface = "api"

    def __init__(self, name, chaos, account):
        super().__init__(name, chaos)
        self.account = account

    def connect(self):
        return requests.Session()

    def step(self):
        node = self.node()
        subject = f"chaos-draft-{uuid.uuid4().hex[:16]}"
        body = {"subject": subject, "body": "chaos", "to": [{"email": "someone@example.org"}]}
        self.ledger.attempt("api draft")
        response = self.timed("POST draft", lambda: self.conn.post(
            f"{node.api}/v3/grants/{self.account.grant['id']}/drafts", json=body, timeout=CLIENT_TIMEOUT,
            headers={"Authorization": f"Bearer {node.api_key}"}))
        if response.status_code == 200:
            data = response.json()["data"]
            if data.get("subject") != subject:
                self.ledger.wrong_answer(f"{self.name}: draft answered with {data.get('subject')!r}")
                return
            with self.ledger.lock:
                self.ledger.drafts[data["id"]] = (self.account.grant["id"], subject)
            return
        if 400 <= response.status_code < 500 and response.status_code != 429:
            self.ledger.wrong_answer(f"{self.name} via {node.id}: {response.status_code} {response.text[:300]}")
        raise requests.HTTPError(f"[HTTP-{response.status_code}]")


class Faults:
    """Breaks things and has cluster/up repair them."""

    KINDS = ("kill node", "drain node", "kill redis", "kill routing primary", "restart postgres")

    def __init__(self, chaos):
        self.chaos = chaos
        self.cluster = chaos.cluster
        self.rng = random.Random(f"{chaos.seed}-faults")
        self.log = []

    def pid(self, name):
        path = self.cluster.run_dir / "pids" / f"{name}.pid"
        return int(path.read_text().strip())

    def alive(self, pid):
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                return b"zombie" not in status.read().lower()
        except OSError:
            return False

    def wait_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.alive(pid)

    def inflict(self, kind):
        nodes = sorted(self.cluster.nodes)
        regions = sorted(self.cluster.regions)
        started = time.monotonic()
        if kind == "kill node":
            target = self.rng.choice(nodes)
            os.kill(self.pid(target), signal.SIGKILL)
        elif kind == "drain node":
            target = self.rng.choice(nodes)
            pid = self.pid(target)
            os.kill(pid, signal.SIGTERM)
            if not self.wait_gone(pid, 60):
                self.chaos.ledger.wrong_answer(f"{target} still runs 60 s after SIGTERM")
        elif kind == "kill redis":
            target = f"redis-{self.rng.choice(regions)}"
            os.kill(self.pid(target), signal.SIGKILL)
        elif kind == "kill routing primary":
            target = "routing-primary"
            os.kill(self.pid(target), signal.SIGKILL)
        else:
            target = f"postgres-{self.rng.choice(regions)}"
            os.kill(self.pid(target), signal.SIGQUIT)
        hold = self.rng.uniform(*self.chaos.hold)
        self.chaos.stop.wait(hold)
        repaired = self.repair()
        self.log.append((time.strftime("%H:%M:%S"), kind, target, hold, time.monotonic() - started))
        print(f"  {self.log[-1][0]} {kind:22} {target:16} down {hold:4.1f} s, all ready after "
              f"{self.log[-1][4]:5.1f} s{'' if repaired else ' (NOT REPAIRED)'}", flush=True)
        return repaired

    def repair(self):
        """cluster/up as the cluster was started: it starts whatever is not running."""
        env = dict(os.environ, CLUSTER_RUN_DIR=str(self.cluster.run_dir),
                   CLUSTER_PORT_OFFSET=str(recorded_port_offset(self.cluster)),
                   MAILNODE_BIN=self.cluster.mailnode_bin, CLUSTER_READY_TIMEOUT="120")
        if postgres_is_fast(self.cluster):
            env["CLUSTER_FAST"] = "1"
        result = subprocess.run(["bash", str(REPO / "cluster" / "up")], env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            print(result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
            return False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(ready(node) for node in self.cluster.nodes.values()):
                return True
            time.sleep(0.2)
        return False


class Chaos:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.cluster = Cluster(cluster_run_dir())
        assert self.cluster.mailnode_bin and os.access(self.cluster.mailnode_bin, os.X_OK), (
            "no mailnode binary recorded in the run dir (cluster/up writes mailnode-bin)")
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.pace = 0.05
        self.hold = (1.0, 6.0)
        self.message_ids = {}   # (grant id, subject) -> message id, as the final accounting found them
        self.kinds = [k for k in Faults.KINDS if not args.faults or k.split()[0] in args.faults.split(",")]
        assert self.kinds, f"--faults {args.faults}: none of {', '.join(k.split()[0] for k in Faults.KINDS)}"

    def api(self, node, method, path, **kwargs):
        """A request retried through the recovery after the faults (the final accounting must not
        fail on a connection a restarted node reset)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                response = node.request(method, path, timeout=30, **kwargs)
                if response.status_code < 500 or time.monotonic() > deadline:
                    return response
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def make_account(self, region):
        node = self.cluster.nodes_in(region)[0]
        password = valid_password()
        response = self.api(node, "POST", "/v3/connect/custom", json=connect_body(unique_email("chaos"), password))
        assert response.status_code == 200, response.text
        account = Account(self.cluster, response.json()["data"], password)
        folder = self.api(node, "POST", f"/v3/grants/{account.grant['id']}/folders", json={"name": MOVE_FOLDER})
        assert folder.status_code == 200, folder.text
        return account

    def run(self):
        regions = sorted(self.cluster.regions)
        print(f"chaos: seed {self.seed}, cluster {self.cluster.run_dir}, regions {', '.join(regions)}", flush=True)
        imap = {r: self.make_account(r) for r in regions}
        smtp = {r: self.make_account(r) for r in regions}
        receiver = WebhookReceiver()
        hook = self.api(self.cluster.node(sorted(self.cluster.nodes)[0]), "POST", "/v3/webhooks",
                        json={"trigger_types": ["message.created"], "webhook_url": receiver.url})
        assert hook.status_code in (200, 201), hook.text
        hook_id = hook.json()["data"]["id"]
        clients = []
        for i, r in enumerate(regions):
            other = regions[(i + 1) % len(regions)]
            clients += [IMAPWriter(f"imap-{r}", self, imap[r]), Idler(f"idle-{r}", self, imap[r]),
                        Submitter(f"submit-{r}", self, smtp[r], imap[other]),
                        DraftWriter(f"drafts-{r}", self, smtp[r])]
        clients.append(InboundSender("inbound", self, list(imap.values())))
        for client in clients:
            client.start()
        faults = Faults(self)
        started = time.monotonic()
        try:
            self.inflict(faults, started)
        finally:
            self.stop.set()
            for client in clients:
                client.join(timeout=CLIENT_TIMEOUT + 10)
            repaired = faults.repair()
        elapsed = time.monotonic() - started
        print(f"chaos: clients stopped after {elapsed:.0f} s; {len(faults.log)} faults; "
              f"cluster {'repaired' if repaired else 'NOT repaired'}", flush=True)
        try:
            failures = self.account_for(imap, smtp, receiver, clients)
        finally:
            try:
                self.cluster.node(sorted(self.cluster.nodes)[0]).delete(f"/v3/webhooks/{hook_id}", timeout=10)
            except requests.RequestException:
                pass
            receiver.close()
        return 0 if failures == 0 and repaired else 1

    def inflict(self, faults, started):
        if self.args.minutes:
            deadline = started + self.args.minutes * 60
            while time.monotonic() < deadline:
                self.stop.wait(faults.rng.uniform(3, 20))
                if not faults.inflict(faults.rng.choice(self.kinds)):
                    self.ledger.wrong_answer("cluster/up did not bring the cluster back")
                    return
        else:
            kinds = list(self.kinds)
            faults.rng.shuffle(kinds)
            for kind in kinds:
                self.stop.wait(faults.rng.uniform(2, 5))
                if not faults.inflict(kind):
                    self.ledger.wrong_answer("cluster/up did not bring the cluster back")
                    return
            self.stop.wait(3)

    # --- the accounting --------------------------------------------------------------------------

    def messages(self, grant_id, region):
        """Every message of the grant, by subject: [(folder names, starred)]."""
        node = self.cluster.nodes_in(region)[0]
        folders = self.api(node, "GET", f"/v3/grants/{grant_id}/folders", params={"limit": 200})
        assert folders.status_code == 200, folders.text
        names = {f["id"]: f["name"] for f in folders.json()["data"]}
        found = collections.defaultdict(list)
        token = None
        while True:
            params = {"limit": 200, **({"page_token": token} if token else {})}
            page = self.api(node, "GET", f"/v3/grants/{grant_id}/messages", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            for m in body["data"]:
                found[m.get("subject")].append(({names.get(f, f) for f in m.get("folders", [])}, m.get("starred")))
                self.message_ids[(grant_id, m.get("subject"))] = m.get("id")
            token = body.get("next_cursor")
            if not token:
                return found

    def backlog(self):
        """Waiting items per region and queue, from `mailnode queue`."""
        waiting = {}
        for region, info in self.cluster.regions.items():
            result = subprocess.run([self.cluster.mailnode_bin, "queue", "--limit", "0", "--config", str(info["path"])],
                                    capture_output=True, text=True, timeout=60)
            for line in result.stdout.splitlines():
                fields = line.split()
                if len(fields) >= 2 and fields[0] in ("outbound", "webhook", "events") and fields[1].isdigit():
                    waiting[(region, fields[0])] = int(fields[1])
        return waiting

    def wait_for_queues(self, stall_seconds, limit_seconds=1800):
        """Waits until no outbound job, webhook delivery or event waits in any region (deliveries
        leased by a killed node wait for their lease to lapse). A backlog that keeps shrinking is
        waited for (a slow machine delivers slowly); one that has not shrunk for `stall_seconds`,
        or is still there after `limit_seconds`, is reported."""
        started = time.monotonic()
        smallest, progressed = None, started
        while True:
            waiting = self.backlog()
            total = sum(waiting.values())
            now = time.monotonic()
            if waiting and total == 0:
                print(f"chaos: queues empty {now - started:.0f} s after the cluster was repaired", flush=True)
                return True
            if smallest is None or total < smallest:
                smallest, progressed = total, now
            if now - progressed > stall_seconds or now - started > limit_seconds:
                print(f"chaos: queues still not empty after {now - started:.0f} s (no progress for {now - progressed:.0f} s): "
                      f"{waiting}", flush=True)
                return False
            time.sleep(2)

    def bounce_mentions(self, account, subject):
        """Whether the sender's INBOX holds a message (the bounce) whose text names `subject`."""
        node = self.cluster.nodes_in(account.grant["region"])[0]
        conn = imaplib.IMAP4_SSL(*addr(node), ssl_context=tls_context(self.cluster, node), timeout=CLIENT_TIMEOUT)
        try:
            conn.login(account.email, account.password)
            conn.select("INBOX", readonly=True)
            typ, data = conn.search(None, "TEXT", f'"{subject}"')
            return typ == "OK" and bool(data[0].split())
        finally:
            conn.logout()

    def account_for(self, imap, smtp, receiver, clients):
        ledger = self.ledger
        region_of = {a.grant["id"]: a.grant["region"] for a in list(imap.values()) + list(smtp.values())}
        lost, duplicates = [], []

        def look(deadline_seconds):
            """Looks until everything is found or the time is up (delivery queues retry after faults)."""
            deadline = time.monotonic() + deadline_seconds
            while True:
                everything = {g: self.messages(g, region_of[g]) for g in region_of}
                missing = []
                for subject, grant in ledger.appended.items():
                    copies = everything[grant].get(subject, [])
                    if not copies:
                        missing.append(f"APPEND {subject}")
                    elif subject in ledger.flagged and not any(starred for _, starred in copies):
                        missing.append(f"STORE \\Flagged {subject}")
                    elif subject in ledger.moved and not any(MOVE_FOLDER in f for f, _ in copies):
                        missing.append(f"MOVE {subject}")
                for subject, grant in ledger.received.items():
                    if not any("INBOX" in f or "Inbox" in f for f, _ in everything[grant].get(subject, [])):
                        missing.append(f"inbound {subject}")
                for subject, (sender, recipient) in ledger.submitted.items():
                    if not everything[sender].get(subject):
                        missing.append(f"submission (Sent copy) {subject}")
                    if not everything[recipient].get(subject):
                        missing.append(f"submission (delivered copy) {subject}")
                if not missing or time.monotonic() > deadline:
                    return everything, missing
                time.sleep(2)

        drained = self.wait_for_queues(stall_seconds=300)
        everything, missing = look(60)
        # A submission whose delivery kept failing past smtp.retry_window_seconds is bounced to its
        # sender: an accounted outcome (the sender was told), not a loss.
        bounced = []
        for entry in [m for m in missing if m.startswith("submission (delivered copy) ")]:
            subject = entry.rsplit(" ", 1)[1]
            sender = ledger.submitted[subject][0]
            if self.bounce_mentions(next(a for a in smtp.values() if a.grant["id"] == sender), subject):
                missing.remove(entry)
                bounced.append(subject)
        lost += missing
        for grant, by_subject in everything.items():
            for subject, copies in by_subject.items():
                if subject and subject.startswith("chaos-") and len(copies) > 1:
                    duplicates.append(f"{subject} stored {len(copies)} times in {grant}")
        for draft_id, (grant, subject) in ledger.drafts.items():
            response = self.api(self.cluster.nodes_in(region_of[grant])[0], "GET", f"/v3/grants/{grant}/drafts/{draft_id}")
            if response.status_code != 200 or response.json()["data"].get("subject") != subject:
                lost.append(f"draft {draft_id} ({response.status_code})")

        # Webhooks: every acknowledged new message is announced at least once.
        expected = {s: g for s, g in ledger.appended.items()}
        expected.update(ledger.received)
        deadline = time.monotonic() + 60
        while True:
            events = receiver.events(lambda d: d.type == "message.created")
            announced = collections.defaultdict(set)
            deliveries = collections.Counter()
            for d in events:
                announced[(d.grant_id, d.object.get("subject"))].add(d.id)
                deliveries[d.id] += 1
            unannounced = [s for s, g in expected.items() if not announced.get((g, s))]
            if not unannounced or time.monotonic() > deadline:
                break
            time.sleep(1)
        lost += [f"webhook message.created for {s}" for s in unannounced]
        webhook_report = self.explain_unannounced(unannounced, expected, region_of, receiver) if unannounced else []
        repeated = sum(n - 1 for n in deliveries.values() if n > 1)
        twice_announced = sum(1 for ids in announced.values() if len(ids) > 1)

        acknowledged = ledger.acknowledged() + len(expected)
        print("\n== chaos test: accounting")
        print(f"operations attempted      {sum(ledger.attempts.values()):6}  " +
              ", ".join(f"{k} {v}" for k, v in sorted(ledger.attempts.items())))
        print(f"acknowledged              {acknowledged:6}  (APPEND {len(ledger.appended)}, STORE {len(ledger.flagged)}, "
              f"MOVE {len(ledger.moved)}, submissions {len(ledger.submitted)} x2 copies, inbound {len(ledger.received)}, "
              f"drafts {len(ledger.drafts)}, webhook events expected {len(expected)})")
        print(f"found                     {acknowledged - len(lost):6}")
        print(f"lost                      {len(lost):6}")
        print(f"bounced after the retry window {len(bounced):3}  (submissions whose sender got a delivery status notification)")
        print(f"duplicates stored         {len(duplicates):6}")
        print(f"queues drained            {'yes' if drained else 'NO (backlog left when looking)'}")
        print(f"webhook deliveries        {sum(deliveries.values()):6}  (repeated deliveries {repeated}, "
              f"events announced under two ids {twice_announced}; allowed, counted)")
        print(f"IDLE pushes received      {sum(c.pushes for c in clients if isinstance(c, Idler)):6}")
        print(f"wrong answers             {len(ledger.wrong):6}")
        print(f"longest wait for an answer {ledger.longest[0]:5.1f} s  ({ledger.longest[1]})")
        print("errors seen by clients, by kind:")
        for kind, count in ledger.errors.most_common():
            print(f"  {count:6}  {kind}")
        for kind, count in collections.Counter(line.rsplit(" ", 1)[0] for line in lost).most_common():
            print(f"LOST {count:6}  {kind}")
        for line in lost[:50]:
            print(f"LOST: {line}")
        for line in duplicates[:50]:
            print(f"DUPLICATE: {line}")
        for line in ledger.wrong[:50]:
            print(f"WRONG: {line}")
        for line in webhook_report:
            print(line)
        if lost or duplicates or ledger.wrong:
            # Again at the end, where a log cut to its last lines still shows it.
            print(f"chaos: FAILED: lost {len(lost)} of {acknowledged} ({', '.join(f'{k} {n}' for k, n in collections.Counter(line.rsplit(' ', 1)[0] for line in lost).most_common())}), "
                  f"duplicates {len(duplicates)}, wrong answers {len(ledger.wrong)}, queues drained {'yes' if drained else 'NO'}")
        return len(lost) + len(duplicates) + len(ledger.wrong)

    def explain_unannounced(self, unannounced, expected, region_of, receiver):
        """Why acknowledged messages got no `message.created`: what the receiver got for them, what
        each region's queue holds, and the outbox and delivery rows of a few of them."""
        report = ["== webhook events not received: where they stand"]
        by_region = collections.Counter(region_of[expected[s]] for s in unannounced)
        report.append("by region: " + ", ".join(f"{r} {n}" for r, n in sorted(by_region.items())))
        ids = {self.message_ids.get((expected[s], s)): s for s in unannounced}
        created = receiver.events(lambda d: d.type == "message.created")
        for d in created:
            if d.object_id in ids:
                report.append(f"received without its subject: {d.describe()}")
        statuses = collections.Counter(d.status for d in receiver.events())
        report.append("receiver answers: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items(), key=str)))
        for region, info in sorted(self.cluster.regions.items()):
            result = subprocess.run([self.cluster.mailnode_bin, "queue", "--limit", "5", "--config", str(info["path"])],
                                    capture_output=True, text=True, timeout=60)
            report += [f"queue {region}: {line}" for line in result.stdout.splitlines() if line.strip()]
            sample = [i for i, s in ids.items() if i and region_of[expected[s]] == region][:5]
            if not sample:
                continue
            url = info["doc"]["regions"][region]["postgres"]
            quoted = ", ".join("'" + i.replace("'", "") + "'" for i in sample)
            query = (f"SELECT e.id, e.object_id, e.state, e.created_at, d.webhook_id, d.state, d.attempts, d.last_error "
                     f"FROM event_outbox e LEFT JOIN webhook_deliveries d ON d.event_id = e.id "
                     f"WHERE e.object_id IN ({quoted}) ORDER BY e.id; "
                     f"SELECT id, status, consecutive_failures, retry_at_ms, created_at FROM webhooks;")
            try:
                result = subprocess.run(["psql", url.split("?")[0], "-X", "-A", "-F", " | ", "-c", query],
                                        capture_output=True, text=True, timeout=30)
                report += [f"postgres {region}: {line}" for line in (result.stdout + result.stderr).splitlines() if line.strip()]
            except (OSError, subprocess.TimeoutExpired) as error:
                report.append(f"postgres {region}: psql failed: {error}")
            report.append(f"postgres {region}: looked for messages {', '.join(sample)}")
        return report


def main(argv):
    parser = argparse.ArgumentParser(prog="Tests/chaos/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=0,
                        help="long form: random faults for this many minutes (default: the short form)")
    parser.add_argument("--faults", default="",
                        help="only these kinds of fault, comma separated: kill, drain, restart (Postgres) "
                             "(default: every kind; `kill` covers nodes, Redis and the routing primary)")
    parser.add_argument("--seed", default=str(random.randrange(1 << 30)), help="the random seed, to replay a run")
    args = parser.parse_args(argv)
    return Chaos(args).run()

"""Runs last (marker `last`): a node drained with SIGTERM while its region's Redis is down still
ends within its drain deadline (cluster.drain_seconds, 30, then 5 s of cancellation and 10 s of
teardown); a node process that answers nothing counts as down for cluster/up and cluster/status;
a region whose Postgres is down answers temporary errors on every surface and recovers by itself.
Afterwards cluster/up starts what it stopped again, as the webhook failover test does (the same
helper)."""
import imaplib
import os
import pathlib
import signal
import smtplib
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import append, message, smtp_connect, wait_for
from test_zz_webhook_failover import REPO, NodeKiller, ready

DEADLINE = 30 + 5 + 10


def alive(pid):
    return os.path.exists(f"/proc/{pid}") and b"zombie" not in open(f"/proc/{pid}/status", "rb").read().lower()


@pytest.fixture
def restarter(cluster, tmp_path):
    killer = NodeKiller(cluster, tmp_path)
    yield killer
    if killer.killed:
        killer.restart()


@pytest.mark.last
def test_a_node_drained_while_its_regions_redis_is_down_exits(cluster, restarter, account):
    node_id = "eu-2"
    node = cluster.node(node_id)
    # Clients in the middle of things: a session in IDLE, an SMTP session between commands.
    acct = account(node)
    idler = acct.imaplib(node)
    assert idler.select("INBOX")[0] == "OK"
    tag = idler._command("IDLE")
    assert idler.readline().startswith(b"+"), "no IDLE continuation"
    smtp = acct.smtp(node)
    smtp.ehlo()
    redis_pid = int((cluster.run_dir / "pids" / "redis-eu.pid").read_text().strip())
    node_pid = int((cluster.run_dir / "pids" / f"{node_id}.pid").read_text().strip())
    assert alive(node_pid) and ready(cluster.node(node_id))
    os.kill(redis_pid, signal.SIGKILL)
    restarter.killed.append(node_id)  # cluster/up starts what is not running: the node and the Redis
    assert wait_for(lambda: not alive(redis_pid), timeout=10), "the region's Redis is still running"
    started = time.monotonic()
    os.kill(node_pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(node_pid), timeout=DEADLINE + 15, interval=0.2), (
        f"{node_id} still runs {DEADLINE + 15} s after SIGTERM with its region's Redis down")
    took = time.monotonic() - started
    assert took <= DEADLINE + 5, f"{node_id} took {took:.1f} s to stop"
    # The IDLE session was told to go elsewhere (or simply cut) rather than left hanging.
    try:
        line = idler.readline()
        assert line == b"" or line.startswith(b"* BYE"), line
    except OSError:
        pass
    del tag
    restarter.restart()
    assert ready(cluster.node(node_id))


@pytest.mark.last
def test_a_node_relaying_a_session_to_the_other_region_drains_without_waiting_for_it(cluster, restarter, account):
    """A drained node closes the sessions it relays to another region once they are quiet, as it
    says BYE to its own: it stops well within its drain time (30 s) and through the graceful path,
    not the cancellation that follows the drain time, with an idle API connection open too."""
    node_id = "us-2"
    relaying = cluster.node(node_id)
    acct = account(cluster.node("eu-1"))
    relayed = acct.imaplib(relaying)
    assert relayed.select("INBOX")[0] == "OK"
    relayed._command("IDLE")
    assert relayed.readline().startswith(b"+"), "no IDLE continuation"
    # An API connection kept alive by the client, idle when the drain begins.
    assert relaying.get(f"/v3/grants/{acct.grant['id']}/folders").status_code == 200
    log = cluster.run_dir / "logs" / f"{node_id}.log"
    seen = log.stat().st_size
    pid = int((cluster.run_dir / "pids" / f"{node_id}.pid").read_text().strip())
    restarter.killed.append(node_id)
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not alive(pid), timeout=DEADLINE + 15, interval=0.2), f"{node_id} still runs"
    took = time.monotonic() - started
    with open(log, "rb") as f:
        f.seek(seen)
        written = f.read()
    assert b"node stopped" in written, written[-3000:].decode(errors="replace")
    for sign in (b"Fatal error", b"Waiting on child channel", b"services did not stop cleanly"):
        assert sign not in written, written[-3000:].decode(errors="replace")
    assert took < 30, f"{node_id} took {took:.1f} s, its whole drain time, to stop"
    # The relayed client was cut (it reconnects to a live node), not left hanging.
    try:
        assert relayed.readline() == b""
    except OSError:
        pass
    restarter.restart()
    assert ready(cluster.node(node_id))


@pytest.mark.last
def test_cluster_up_restarts_a_node_that_does_not_answer_healthz(cluster, restarter):
    """A node process that is alive but answers nothing (here: stopped with SIGSTOP) counts as down:
    cluster/up kills it and starts it again, and cluster/status says it is not ready meanwhile."""
    node_id = "eu-1"
    pid = int((cluster.run_dir / "pids" / f"{node_id}.pid").read_text().strip())
    os.kill(pid, signal.SIGSTOP)
    restarter.killed.append(node_id)
    try:
        status = subprocess.run(["bash", str(REPO / "cluster" / "status")], capture_output=True, timeout=60,
                                env=dict(os.environ, CLUSTER_RUN_DIR=str(cluster.run_dir)))
        assert status.returncode != 0, status.stdout.decode()
        # However recently the node started, it does not answer: no grace for starting up.
        os.environ["CLUSTER_HEALTHZ_GRACE"] = "0"
        restarter.restart()
    finally:
        os.environ.pop("CLUSTER_HEALTHZ_GRACE", None)
        if alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert not alive(pid), "the unresponsive process was left running"
    new_pid = int((cluster.run_dir / "pids" / f"{node_id}.pid").read_text().strip())
    assert new_pid != pid and ready(cluster.node(node_id))


@pytest.mark.last
def test_a_region_whose_postgres_is_down_answers_temporary_errors_and_recovers(cluster, restarter, account):
    """While the EU Postgres is down, every surface of an EU grant answers a temporary error and
    never a false success nor a verdict on the password: the API 503 (on the home node and through
    a US node), /readyz 503, IMAP LOGIN `NO [UNAVAILABLE]` (also relayed from a US node), a command
    in an open session `NO [UNAVAILABLE]`, SMTP AUTH `454 4.7.0`, MAIL FROM in an authenticated
    session and inbound RCPT/DATA `451 4.3.0`. Once cluster/up has started Postgres again, the
    same open sessions and new ones work, without a node restart."""
    eu1, us1 = cluster.node("eu-1"), cluster.node("us-1")
    acct = account(eu1)
    path = f"/v3/grants/{acct.grant['id']}/messages"
    assert eu1.get(path).status_code == 200
    session = acct.imaplib(eu1)
    assert session.select("INBOX")[0] == "OK"
    assert append(session, "INBOX", message("before the outage")) == 1
    submission = acct.smtp(eu1)
    inbound = smtp_connect(cluster, eu1, "smtp", starttls=False)
    pid = int((cluster.run_dir / "pids" / "postgres-eu.pid").read_text().strip())
    node_pids = {n: (cluster.run_dir / "pids" / f"{n}.pid").read_text() for n in ("eu-1", "eu-2")}
    os.kill(pid, signal.SIGINT)  # fast shutdown: clients are disconnected
    restarter.killed.append("eu-1")  # cluster/up starts Postgres again; eu-1 itself keeps running
    assert wait_for(lambda: not alive(pid), timeout=30), "Postgres did not stop"

    def imap_login(node):
        conn = acct.imaplib(node, login=False)
        try:
            conn.login(acct.email, acct.password)
        except imaplib.IMAP4.error as error:
            return str(error)
        return "logged in"

    def smtp_auth():
        conn = acct.smtp(eu1, login=False)
        try:
            conn.login(acct.email, acct.password)
        except smtplib.SMTPAuthenticationError as error:
            return error.smtp_code, error.smtp_error.decode()
        return "authenticated"

    def open_sessions():
        answers = [session.uid("STORE", "1", "+FLAGS", r"(\Flagged)"), session.status("INBOX", "(MESSAGES)")]
        for typ, data in answers:
            assert typ == "NO" and b"[UNAVAILABLE]" in data[0], (typ, data)
        code, text = submission.mail(acct.email)
        assert code == 451 and text.startswith(b"4.3.0"), (code, text)
        submission.rset()

    def inbound_mail():
        code, text = inbound.mail("sender@example.org")
        if code == 250:
            code, text = inbound.rcpt(acct.email)
            if code == 250:
                code, text = inbound.data(message("during the outage", to=acct.email))
        assert code == 451 and text.startswith(b"4.3.0"), (code, text)
        inbound.rset()

    # Every check at the same time, each on its own connection: each may wait out Postgres's timeouts.
    with ThreadPoolExecutor(max_workers=8) as pool:
        api_home = pool.submit(lambda: eu1.get(path))
        api_relayed = pool.submit(lambda: us1.get(path))
        readyz = pool.submit(lambda: eu1.admin_get("/readyz"))
        login_home = pool.submit(imap_login, eu1)
        login_relayed = pool.submit(imap_login, us1)
        auth = pool.submit(smtp_auth)
        sessions = pool.submit(open_sessions)
        delivery = pool.submit(inbound_mail)
        for response in (api_home.result(), api_relayed.result()):
            assert response.status_code == 503, (response.status_code, response.text)
            assert response.json()["error"]["type"] == "service_unavailable"
        assert readyz.result().status_code == 503 and "postgres" in readyz.result().text
        for answer in (login_home.result(), login_relayed.result()):
            assert "[UNAVAILABLE]" in answer, answer
        code, text = auth.result()
        assert code == 454 and text.startswith("4.7.0"), (code, text)
        sessions.result()
        delivery.result()

    restarter.restart()
    assert wait_for(lambda: eu1.get(path).status_code == 200, timeout=30), "the API did not recover"
    assert {n: (cluster.run_dir / "pids" / f"{n}.pid").read_text() for n in node_pids} == node_pids
    # The sessions opened before the outage go on.
    assert wait_for(lambda: session.uid("STORE", "1", "+FLAGS", r"(\Flagged)")[0] == "OK", timeout=30)
    assert session.status("INBOX", "(MESSAGES)")[0] == "OK"
    assert submission.mail(acct.email)[0] == 250
    submission.rset()
    assert inbound.sendmail("sender@example.org", [acct.email], message("after the outage", to=acct.email)) == {}
    assert imap_login(eu1) == "logged in" and imap_login(us1) == "logged in"
    assert smtp_auth() == "authenticated"
    subjects = {m["subject"] for m in eu1.get(path).json()["data"]}
    assert subjects == {"before the outage", "after the outage"}, subjects


def metric(node, name, **labels):
    """The sum of the node's /metrics series `name` that carry `labels`, or None when there is none."""
    total = None
    for line in node.admin_get("/metrics").text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric_name, _, label_text = series.partition("{")
        if metric_name == name and all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total = (total or 0) + float(value)
    return total


@pytest.mark.last
def test_a_region_whose_redis_is_down_keeps_serving_and_resubscribes(cluster, restarter, account, make_webhook):
    """With the EU Redis down, EU grants are served on every surface (the other region finds the EU
    nodes through the registry's copy in the routing tables), /readyz stays 200 but names the
    degraded dependency, `mailnode_dependency_up{dependency="redis"}` drops to 0, an IDLE session
    still hears of new mail (from the change log) and webhooks still fire. When cluster/up has
    started Redis again, the node's subscriber reconnects by itself (counted) and pushes go on."""
    eu1, eu2, us1 = cluster.node("eu-1"), cluster.node("eu-2"), cluster.node("us-1")
    acct = account(eu1)
    webhook = make_webhook(node=us1, trigger_types=["message.created"])
    idler = acct.imaplib(eu1)
    assert idler.select("INBOX")[0] == "OK"
    writer = acct.imaplib(eu2)
    reconnects_before = metric(eu1, "mailnode_redis_reconnects_total") or 0

    def pushed_after_append(subject):
        tag = idler._new_tag()
        idler.send(tag + b" IDLE\r\n")
        assert idler.readline().startswith(b"+"), "no IDLE continuation"
        append(writer, "INBOX", message(subject))
        idler.sock.settimeout(30)
        line = idler.readline()
        idler.send(b"DONE\r\n")
        while not idler.readline().startswith(tag):
            pass
        return line

    pid = int((cluster.run_dir / "pids" / "redis-eu.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    restarter.killed.append("eu-1")  # cluster/up starts the Redis again
    assert wait_for(lambda: not alive(pid), timeout=10), "the region's Redis is still running"

    readyz = eu1.admin_get("/readyz")
    assert readyz.status_code == 200 and "degraded" in readyz.text and "redis" in readyz.text, readyz.text
    assert wait_for(lambda: metric(eu1, "mailnode_dependency_up", dependency="redis") == 0, timeout=20)
    assert metric(eu1, "mailnode_dependency_up", dependency="postgres") == 1
    # Every surface, from this region and through the other one.
    relayed = acct.imaplib(us1)
    assert relayed.select("INBOX")[0] == "OK"
    assert us1.get(f"/v3/grants/{acct.grant['id']}/messages").status_code == 200
    inbound = smtp_connect(cluster, eu2, "smtp", starttls=False)
    assert inbound.sendmail("sender@example.org", [acct.email], message("inbound while redis is down", to=acct.email)) == {}
    assert pushed_after_append("appended while redis is down").rstrip().endswith(b"EXISTS")
    webhook.wait(acct.grant["id"], "message.created", where=lambda o: o.get("subject") == "appended while redis is down")

    restarter.restart()
    assert wait_for(lambda: (metric(eu1, "mailnode_redis_reconnects_total") or 0) > reconnects_before, timeout=30), (
        "the subscriber did not reconnect")
    assert wait_for(lambda: eu1.admin_get("/readyz").text == "ready\n", timeout=30)
    assert pushed_after_append("appended after redis returned").rstrip().endswith(b"EXISTS")
    webhook.wait(acct.grant["id"], "message.created", where=lambda o: o.get("subject") == "appended after redis returned")


def served_certificate(node, port_kind="imaps"):
    """The DER certificate the node presents on its IMAPS (or SMTPS) port, unverified."""
    import socket
    import ssl
    host, port = node.entry[port_kind].rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="mail.us.localhost") as tls:
            return tls.getpeercert(binary_form=True)


@pytest.mark.last
def test_sighup_reloads_the_certificate_without_dropping_sessions(cluster, account, tmp_path):
    """A renewed certificate put in place of the region's files is presented to new connections of
    a node after SIGHUP (and only of that node), while a session opened before goes on; the old
    files put back and SIGHUP again restore it. A broken file makes the reload fail and changes
    nothing."""
    import ssl
    us1, us2 = cluster.node("us-1"), cluster.node("us-2")
    region = cluster.regions["us"]["doc"]["tls"]
    certificate, key = pathlib.Path(region["certificate"]), pathlib.Path(region["key"])
    original = (certificate.read_bytes(), key.read_bytes())
    acct = account(us1)
    session = acct.imaplib(us1)
    assert session.select("INBOX")[0] == "OK"
    before = served_certificate(us1)
    pid = int((cluster.run_dir / "pids" / "us-1.pid").read_text().strip())
    log = cluster.run_dir / "logs" / "us-1.log"
    renewed_crt, renewed_key = tmp_path / "renewed.crt", tmp_path / "renewed.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                    "-subj", "/CN=mail.us.localhost", "-addext", "subjectAltName=DNS:mail.us.localhost,IP:127.0.0.1",
                    "-keyout", str(renewed_key), "-out", str(renewed_crt)], check=True, capture_output=True, timeout=60)
    try:
        certificate.write_bytes(renewed_crt.read_bytes())
        key.write_bytes(renewed_key.read_bytes())
        reloads = log.read_text(errors="replace").count("TLS certificates reloaded")
        os.kill(pid, signal.SIGHUP)
        assert wait_for(lambda: log.read_text(errors="replace").count("TLS certificates reloaded") > reloads, timeout=10)
        after = served_certificate(us1)
        assert after != before and after == ssl.PEM_cert_to_DER_cert(renewed_crt.read_text())
        assert served_certificate(us2) == before, "a node that got no SIGHUP changed its certificate"
        assert served_certificate(us1, "smtps") == after
        assert session.noop()[0] == "OK" and session.select("INBOX")[0] == "OK", "the open session was dropped"

        certificate.write_text("not a certificate")
        failures = log.read_text(errors="replace").count("TLS certificates not reloaded")
        os.kill(pid, signal.SIGHUP)
        assert wait_for(lambda: log.read_text(errors="replace").count("TLS certificates not reloaded") > failures, timeout=10)
        assert served_certificate(us1) == after
    finally:
        certificate.write_bytes(original[0])
        key.write_bytes(original[1])
        os.kill(pid, signal.SIGHUP)
    assert wait_for(lambda: served_certificate(us1) == before, timeout=10), "the original certificate is not back"

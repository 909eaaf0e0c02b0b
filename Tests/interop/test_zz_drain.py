"""Runs last (marker `last`): a node drained with SIGTERM while its region's Redis is down still
ends within its drain deadline (cluster.drain_seconds, 30, then 5 s of cancellation and 10 s of
teardown); a node process that answers nothing counts as down for cluster/up and cluster/status.
Afterwards cluster/up starts what it stopped again, as the webhook failover test does (the same
helper)."""
import os
import signal
import subprocess
import time

import pytest

from helpers import wait_for
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
def test_a_region_whose_postgres_is_down_answers_503_and_recovers(cluster, restarter, create_grant):
    """While the EU Postgres is down, the API answers 503 for an EU grant (never a 500), and the
    same request succeeds again once cluster/up has started Postgres, without restarting a node."""
    eu1 = cluster.node("eu-1")
    grant = create_grant(eu1)
    path = f"/v3/grants/{grant['id']}/messages"
    assert eu1.get(path).status_code == 200
    pid = int((cluster.run_dir / "pids" / "postgres-eu.pid").read_text().strip())
    node_pids = {n: (cluster.run_dir / "pids" / f"{n}.pid").read_text() for n in ("eu-1", "eu-2")}
    os.kill(pid, signal.SIGINT)  # fast shutdown: clients are disconnected
    restarter.killed.append("eu-1")  # cluster/up starts Postgres again; eu-1 itself keeps running
    assert wait_for(lambda: not alive(pid), timeout=30), "Postgres did not stop"
    statuses = set()
    for _ in range(3):
        response = eu1.get(path)
        statuses.add(response.status_code)
        assert response.status_code == 503, (response.status_code, response.text)
        assert response.json()["error"]["type"] == "service_unavailable"
    restarter.restart()
    assert wait_for(lambda: eu1.get(path).status_code == 200, timeout=30), "the API did not recover"
    assert {n: (cluster.run_dir / "pids" / f"{n}.pid").read_text() for n in node_pids} == node_pids

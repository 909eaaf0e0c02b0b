"""Runs last (marker `last`): the node delivering a webhook notification dies in the middle of it.

The receiver holds the POST of one event, reads which node sends it (X-Mailnode-Node), SIGKILLs
that node through its pid file (run dir pids/<node>.pid), then lets the POST go. The event must be
delivered again, with the same id, by another node, and the events made after the kill must follow.

Afterwards the killed node is started again the way the cluster starts it: `cluster/up` run again
with the same CLUSTER_RUN_DIR, the port offset the region files were rendered with (cluster/up
writes it into their first line, "(port offset N)"; checked against CLUSTER_PORT_OFFSET when that is
set, and by rendering the region files again and comparing) and MAILNODE_BIN from the run dir's
mailnode-bin file, so that cluster/up never builds. cluster/up starts only what is not running and
waits for every node's /readyz; the test then checks the node is ready and serves the API again.
If the test fails before that, the fixture's teardown still tries the restart (with a warning when
it cannot).
"""
import os
import pathlib
import re
import signal
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlsplit
import warnings

import pytest
import requests
import yaml

from conftest import REPO
from helpers import append, message, ok, wait_for
from webhook_receiver import EVENT_TIMEOUT

# A dead node's claim is given up when Postgres sees its connection close: normally at once.
REDELIVERY_TIMEOUT = 90
RESTART_TIMEOUT = 240


def ready(node):
    try:
        return node.admin_get("/readyz").status_code == 200
    except requests.RequestException:
        return False


def recorded_port_offset(cluster):
    """The port offset cluster/up rendered the run dir's region files with."""
    offsets = set()
    for region in cluster.regions.values():
        first = region["path"].read_text().split("\n", 1)[0]
        match = re.search(r"\(port offset (-?\d+)\)", first)
        assert match, f"{region['path']} does not record its port offset: {first!r}"
        offsets.add(int(match.group(1)))
    assert len(offsets) == 1, f"the region files were rendered with different offsets: {offsets}"
    offset = offsets.pop()
    from_env = (os.environ.get("CLUSTER_PORT_OFFSET") or "").strip()
    assert not from_env or int(from_env) == offset, (
        f"CLUSTER_PORT_OFFSET={from_env} but the region files were rendered with offset {offset}")
    return offset


def _normalised(doc):
    doc = dict(doc)
    tls = dict(doc.get("tls") or {})
    for key in ("certificate", "key"):
        if tls.get(key):
            tls[key] = os.path.realpath(tls[key])
    doc["tls"] = tls
    return doc


def assert_rerender_is_identical(cluster, offset, scratch):
    """cluster/up renders the region files again before it starts anything: make sure that with this
    offset it writes what the running cluster already uses (else it would start the node elsewhere)."""
    out = scratch / "regions"
    # cluster/up reaches its Postgres through the sockets folder it chose; render with the same one.
    sockets = {parse_qs(urlsplit(entry["postgres"]).query).get("host", [None])[0]
               for region in cluster.regions.values() for entry in (region["doc"].get("regions") or {}).values()
               if isinstance(entry, dict) and entry.get("postgres")}
    sockets.discard(None)
    assert len(sockets) <= 1, f"the region files reach Postgres through different socket folders: {sockets}"
    socket_args = ["--postgres-sockets", sockets.pop()] if sockets else []
    subprocess.run([sys.executable, str(REPO / "cluster" / "lib" / "regions.py"), "render",
                    "--src", str(REPO / "regions"), "--out", str(out), "--offset", str(offset),
                    "--tls-dir", str(cluster.run_dir / "tls")] + socket_args, check=True, capture_output=True, timeout=60)
    for region in cluster.regions.values():
        again = yaml.safe_load((out / region["path"].name).read_text())
        assert _normalised(again) == _normalised(region["doc"]), (
            f"cluster/up with offset {offset} would render {region['path'].name} differently from the running cluster")


def postgres_is_fast(cluster):
    """Whether cluster/up ran with CLUSTER_FAST=1 (it rewrites mailnode.conf on every run)."""
    for data_file in (cluster.run_dir / "pids").glob("postgres-*.data"):
        try:
            conf = (pathlib.Path(data_file.read_text().strip()) / "mailnode.conf").read_text()
        except OSError:
            continue
        if re.search(r"^\s*fsync\s*=\s*off", conf, re.M):
            return True
    return False


class NodeKiller:
    def __init__(self, cluster, scratch):
        self.cluster = cluster
        self.scratch = scratch
        self.killed = []

    def kill(self, node_id):
        """SIGKILL the node through its pid file; returns once it no longer answers /readyz."""
        pid_file = self.cluster.run_dir / "pids" / f"{node_id}.pid"
        assert pid_file.exists(), f"no {pid_file}"
        pid = int(pid_file.read_text().strip())
        try:
            args = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError as error:
            raise AssertionError(f"{node_id}: pid {pid} from {pid_file} is not running ({error})")
        assert node_id.encode() in args and b"serve" in args, f"pid {pid} is not node {node_id}: {args}"
        os.kill(pid, signal.SIGKILL)
        self.killed.append(node_id)
        node = self.cluster.node(node_id)
        assert wait_for(lambda: not ready(node), timeout=10), f"{node_id} still answers /readyz after SIGKILL"
        return pid

    def restart(self):
        """Run cluster/up again as the cluster was started; AssertionError when the nodes are not back."""
        if not self.killed:
            return
        binary = self.cluster.mailnode_bin
        assert binary and os.access(binary, os.X_OK), (
            f"no usable mailnode binary in {self.cluster.run_dir / 'mailnode-bin'} ({binary!r}); "
            "cluster/up would build one, which is not done from a test")
        offset = recorded_port_offset(self.cluster)
        assert_rerender_is_identical(self.cluster, offset, self.scratch)
        env = dict(os.environ, CLUSTER_RUN_DIR=str(self.cluster.run_dir), CLUSTER_PORT_OFFSET=str(offset),
                   MAILNODE_BIN=binary, CLUSTER_READY_TIMEOUT="90")
        if postgres_is_fast(self.cluster):
            env["CLUSTER_FAST"] = "1"
        log_path = self.scratch / "cluster-up.log"
        with open(log_path, "wb") as log:
            result = subprocess.run(["bash", str(REPO / "cluster" / "up")], env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, timeout=RESTART_TIMEOUT)
        output = log_path.read_text(errors="replace")
        assert result.returncode == 0, f"cluster/up exited {result.returncode}:\n{output[-4000:]}"
        for node_id in self.killed:
            node = self.cluster.node(node_id)
            node.session.close()  # drop keep-alive connections to the dead process
            assert wait_for(lambda: ready(node), timeout=30), (
                f"{node_id} is not ready after cluster/up:\n{output[-4000:]}")
        self.killed = []


@pytest.fixture
def node_killer(cluster, tmp_path):
    killer = NodeKiller(cluster, tmp_path)
    yield killer
    if killer.killed:  # the test failed before it restarted the node itself
        try:
            killer.restart()
        except (AssertionError, OSError, subprocess.SubprocessError) as error:
            warnings.warn(f"could not restart {killer.killed} after the webhook failover test: {error}")


@pytest.mark.last
def test_delivery_held_by_a_dying_node_is_redelivered_by_another(cluster, make_webhook, account, node_killer):
    us1 = cluster.node("us-1")
    webhook = make_webhook(node=us1)
    acct = account(us1)
    grant_id, region = acct.grant["id"], acct.grant["region"]
    webhook.wait(grant_id, "grant.created")
    subject = f"held-{uuid.uuid4().hex[:12]}"

    def held_event(d):
        return d.grant_id == grant_id and d.type == "message.created" and d.object.get("subject") == subject

    hold = webhook.receiver.hold(match=held_event, limit=60)
    try:
        conn = acct.imaplib(us1)
        append(conn, "INBOX", message(subject))
        conn.logout()
        held = hold.wait(EVENT_TIMEOUT)
        victim = held.node
        assert victim in cluster.nodes, f"X-Mailnode-Node {victim!r} names no node: {held.headers}"
        node_killer.kill(victim)
    finally:
        hold.release()

    # New events of the same grant, made through a node of its region that is still up.
    survivors = [n for n in cluster.nodes_in(region) if n.id != victim]
    assert survivors, f"no node of region {region} left besides {victim}"
    conn = acct.imaplib(survivors[0])
    later = [f"after-kill-{i}-{uuid.uuid4().hex[:8]}" for i in range(3)]
    for s in later:
        append(conn, "INBOX", message(s))

    again = webhook.receiver.wait_for_event(lambda d: d.id == held.id and d.seq > held.seq,
                                            timeout=REDELIVERY_TIMEOUT, what=f"(event {held.id} again)")
    assert again.node != victim and again.node in cluster.nodes, f"redelivered by {again.node!r}"
    assert cluster.region_of(again.node) == region, again.describe()
    assert again.type == "message.created" and again.object_id == held.object_id, again.describe()
    assert again.time == held.time and again.data == held.data, (held.json, again.json)
    assert isinstance(again.attempt, int) and again.attempt >= 1, again.describe()
    assert again.verifies(webhook.secret), again.describe()

    after = webhook.receiver.wait_for_events(
        lambda d: d.grant_id == grant_id and d.type == "message.created" and d.object.get("subject") in later,
        3, timeout=60, what="(the events made after the kill)")
    assert [d.object["subject"] for d in after] == later, [d.describe() for d in after]
    for d in after:
        assert d.seq > again.seq, f"{d.describe()} overtook the redelivered {again.describe()}"
        assert d.node != victim and d.verifies(webhook.secret), d.describe()
    print(f"\nevent {held.id}: held by {victim}, killed, redelivered by {again.node} "
          f"{again.arrived - held.arrived:.1f} s after the held attempt arrived")

    node_killer.restart()
    restarted = cluster.node(victim)
    assert ready(restarted)
    assert ok(restarted.get(f"/v3/webhooks/{webhook.id}"))["data"]["id"] == webhook.id
    assert all(ready(n) for n in cluster.nodes.values()), [n.id for n in cluster.nodes.values() if not ready(n)]

"""The operator's commands, run as an operator would (the cluster's mailnode binary and its rendered
region files): `mailnode nodes`, `mailnode grants show`, `mailnode queue` with --retry and --drop,
and (last, as it stops a node) `mailnode drain`."""
import os
import re
import subprocess
import time
import uuid

import pytest

from helpers import append, message, wait_for
from test_zz_drain import alive, restarter  # noqa: F401 - the fixture
from test_zz_webhook_failover import ready


def mailnode(cluster, *args, region="us", stdin=None, timeout=60):
    binary = cluster.mailnode_bin
    assert binary and os.access(binary, os.X_OK), f"no mailnode binary recorded in {cluster.run_dir}"
    return subprocess.run([binary, *args, "--config", str(cluster.regions[region]["path"])], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def queue_items(cluster, region, *extra):
    """ITEM -> (state, attempts, target, last error) from `mailnode queue`'s item table."""
    result = mailnode(cluster, "queue", "--limit", "200", *extra, region=region)
    assert result.returncode == 0, result.stderr
    items = {}
    for line in result.stdout.splitlines():
        fields = re.split(r"\s{2,}", line.strip())
        if fields and re.match(r"^(outbound|webhook):", fields[0]):
            items[fields[0]] = fields[2:]
    return result.stdout, items


def test_nodes_lists_every_live_node(cluster):
    result = mailnode(cluster, "nodes")
    assert result.returncode == 0, result.stderr
    for node in cluster.nodes.values():
        assert re.search(rf"^{node.region}\s+{node.id}\s+{re.escape(node.entry['api'])}\s", result.stdout, re.M), result.stdout


def test_grants_show_tells_region_connections_quota_and_backlog(cluster, account):
    eu1, eu2, us1 = cluster.node("eu-1"), cluster.node("eu-2"), cluster.node("us-1")
    acct = account(eu1)
    direct = acct.imaplib(eu1)
    acct.imaplib(us1)  # served by an EU node through the relay
    append(direct, "INBOX", message("counted"))
    for key in (acct.email, acct.grant["id"]):
        result = mailnode(cluster, "grants", "show", key)  # asked from the other region
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert re.search(rf"^grant\s+{acct.grant['id']}$", out, re.M), out
        assert re.search(r"^region\s+eu$", out, re.M), out
        used = int(re.search(r"^quota\s+(\d+) of \d+ bytes used, 1 messages$", out, re.M).group(1))
        assert used > 0, out
        assert re.search(r"^queued mail\s+0 outbound", out, re.M) and re.search(r"^webhooks\s+\d+ deliveries", out, re.M), out
        sessions = {m.group(2): int(m.group(1)) for m in re.finditer(r"imap (\d+) on (\S+?)(?:,|$)", out, re.M)}
        assert sum(sessions.values()) == 2 and set(sessions) <= {eu1.id, eu2.id}, out
    missing = mailnode(cluster, "grants", "show", f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    assert missing.returncode != 0 and "no grant" in missing.stderr


def test_queue_lists_a_waiting_job_and_drops_or_retries_it(cluster, account, smart_host):
    us1 = cluster.node("us-1")
    sender = account(us1)
    held, retried = f"held-{uuid.uuid4().hex[:10]}.example.net", f"retried-{uuid.uuid4().hex[:10]}.example.net"
    smart_host.refuse(held, 451)
    smart_host.refuse(retried, 451)
    try:
        conn = sender.smtp(us1)
        for domain in (held, retried):
            conn.sendmail(sender.email, [f"someone@{domain}"], message(f"to {domain}", sender=sender.email, to=f"someone@{domain}"))
        conn.quit()

        def waiting(domain):
            _, items = queue_items(cluster, "us")
            return [i for i, fields in items.items() if i.startswith("outbound:") and domain in fields]

        assert wait_for(lambda: waiting(held) and waiting(retried), timeout=15), queue_items(cluster, "us")[0]
        held_id, retried_id = waiting(held)[0], waiting(retried)[0]
        out, _ = queue_items(cluster, "us")
        assert re.search(r"^outbound\s+[1-9]\d*\s", out, re.M), out

        # --drop asks first; anything but yes keeps the item.
        kept = mailnode(cluster, "queue", "--drop", held_id, stdin="n\n")
        assert kept.returncode == 0 and "nothing dropped" in kept.stdout, kept
        assert held_id in queue_items(cluster, "us")[1]
        dropped = mailnode(cluster, "queue", "--drop", held_id, stdin="yes\n")
        assert dropped.returncode == 0 and f"{held_id} dropped" in dropped.stdout, dropped
        assert held_id not in queue_items(cluster, "us", "--failed")[1]

        smart_host.allow(retried)
        # A worker may be making one of the job's attempts at that very moment (the command then
        # leaves the job alone and says so), and that attempt may deliver it: asked again, the job
        # is either due at once or already delivered.
        attempts = []

        def retried_or_delivered():
            attempts.append(mailnode(cluster, "queue", "--retry", retried_id))
            return attempts[-1].returncode == 0 or smart_host.messages(lambda m: m.subject == f"to {retried}")

        assert wait_for(retried_or_delivered, timeout=10, interval=0.2), attempts[-1]
        if attempts[-1].returncode == 0:
            assert f"{retried_id} is due now" in attempts[-1].stdout, attempts[-1]
        smart_host.wait_for_one(lambda m: m.subject == f"to {retried}", timeout=30, what=f"(retried) for {retried}")
        assert not smart_host.messages(lambda m: m.subject == f"to {held}"), "a dropped job was delivered"
    finally:
        smart_host.allow(held)
        smart_host.allow(retried)

    for args in (["--retry", "outbound:notanumber"], ["--drop", "webhook:x", "--yes"], ["--retry", "outbound:999999999"]):
        result = mailnode(cluster, "queue", *args)
        assert result.returncode != 0 and result.stderr.strip(), (args, result)


@pytest.mark.last
def test_drain_command_drains_the_node_through_redis(cluster, restarter):  # noqa: F811
    node_id = "eu-2"
    node = cluster.node(node_id)
    pid = int((cluster.run_dir / "pids" / f"{node_id}.pid").read_text().strip())
    assert alive(pid) and ready(node)
    restarter.killed.append(node_id)
    started = time.monotonic()
    result = mailnode(cluster, "drain", node_id, region="us", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "has left the registry" in result.stdout, result.stdout
    assert wait_for(lambda: not alive(pid), timeout=60), f"{node_id} still runs after mailnode drain"
    print(f"\n{node_id} left after {time.monotonic() - started:.1f} s")
    log = (cluster.run_dir / "logs" / f"{node_id}.log").read_text(errors="replace")
    assert "drain requested by an operator" in log
    assert "node draining" in log[log.rindex("drain requested by an operator"):]
    unknown = mailnode(cluster, "drain", "no-such-node", region="us")
    assert unknown.returncode != 0 and "no live node" in unknown.stderr
    restarter.restart()
    assert ready(cluster.node(node_id))

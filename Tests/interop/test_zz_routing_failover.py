"""Runs last (marker `last`, and the module name sorts last): the routing primary Redis dies and
grants are still read through any node, the nodes falling back to each region's Postgres.
Afterwards the Redis is started again from its config and the routing tables are rebuilt."""
import os
import signal
import subprocess
import time
import warnings

import pytest
import requests

from helpers import wait_for


def port_open(port):
    import socket
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def routing_primary_down(cluster):
    """Kill the routing primary by its pid file; restart it and rebuild the routing afterwards."""
    pid_file = cluster.run_dir / "pids" / "routing-primary.pid"
    conf = cluster.run_dir / "redis" / "routing-primary" / "redis.conf"
    assert pid_file.exists(), f"no {pid_file}"
    pid = int(pid_file.read_text().strip())
    port = cluster.routing_primary_port
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not port_open(port), timeout=10), "the routing primary still answers"
    yield
    # Best effort: start it again (empty: it keeps no data) and refill it from Postgres.
    try:
        subprocess.run(["redis-server", str(conf)], check=True, timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: port_open(port), timeout=10):
            warnings.warn("the routing primary did not come back")
            return
        binary = cluster.mailnode_bin
        if binary and os.path.exists(binary):
            rebuilt = subprocess.run(
                [binary, "routing", "rebuild", "--config", str(cluster.regions["us"]["path"])],
                capture_output=True, text=True, timeout=120)
            if rebuilt.returncode != 0:
                warnings.warn(f"mailnode routing rebuild failed: {rebuilt.stderr[-2000:]}")
    except (OSError, subprocess.SubprocessError) as error:
        warnings.warn(f"could not restart the routing primary: {error}")


def get_with_patience(node, path, seconds=15):
    """The first request after the crash may meet a broken connection: allow a short recovery."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            response = node.get(path, timeout=10)
            if response.status_code == 200 or time.monotonic() >= deadline:
                return response
        except requests.RequestException:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.5)


@pytest.mark.last
def test_grants_are_read_through_any_node_with_the_routing_primary_down(cluster, create_grant, request):
    us1, eu1 = cluster.node("us-1"), cluster.node("eu-1")
    grants = [create_grant(us1), create_grant(eu1)]
    replica = cluster.routing_replica_port("eu")
    for grant in grants:
        wait_for(lambda: cluster.redis_get(replica, f"route:email:{grant['email'].lower()}") == grant["id"])

    request.getfixturevalue("routing_primary_down")

    for grant in grants:
        for node in (us1, eu1):
            response = get_with_patience(node, f"/v3/grants/{grant['id']}")
            assert response.status_code == 200, (node.id, grant["region"], response.text)
            assert response.json()["data"] == grant
            served_by = response.headers.get("X-Mailnode-Node", "?")
            assert cluster.region_of(served_by) == grant["region"], (node.id, served_by)

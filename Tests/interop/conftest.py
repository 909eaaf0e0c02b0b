"""Fixtures for the interop tests: a booted cluster found through $CLUSTER_RUN_DIR.

The cluster is the one `cluster/up` started (cluster/test starts a throwaway one and sets
CLUSTER_RUN_DIR). Its run folder holds nodes.json (every node's endpoints), api-key, the rendered
region files (regions/*.yaml: Redis ports) and pids/ (what runs).
"""
import json
import os
import pathlib
import subprocess
import warnings

import pytest
import requests
import yaml

from helpers import Account, connect_body, unique_email, valid_password

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT = 30


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "last: runs after every other test (it breaks part of the cluster on purpose)")


def pytest_collection_modifyitems(session, config, items):
    # Stable sort: tests marked `last` move to the end, the others keep their order.
    items.sort(key=lambda item: 1 if item.get_closest_marker("last") else 0)


class Node:
    """One node's REST API, with the cluster's key unless told otherwise."""

    def __init__(self, entry, api_key):
        self.id = entry["node"]
        self.region = entry["region"]
        self.entry = entry
        self.api = f"http://{entry['api']}"
        self.admin = f"http://{entry['admin']}"
        self.api_key = api_key
        self.session = requests.Session()

    def request(self, method, path, key=..., **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        key = self.api_key if key is ... else key
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.api + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def admin_get(self, path):
        return requests.get(self.admin + path, timeout=TIMEOUT)

    def __repr__(self):
        return f"<node {self.id}>"


class Cluster:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.api_key = (run_dir / "api-key").read_text().strip()
        entries = json.loads((run_dir / "nodes.json").read_text())
        self.nodes = {e["node"]: Node(e, self.api_key) for e in entries}
        self.regions = {}
        for path in sorted((run_dir / "regions").glob("*.yaml")):
            doc = yaml.safe_load(path.read_text())
            self.regions[doc["region"]] = {"path": path, "doc": doc}

    def node(self, node_id):
        return self.nodes[node_id]

    def nodes_in(self, region):
        return [n for n in self.nodes.values() if n.region == region]

    def region_of(self, node_id):
        return self.nodes[node_id].region

    @staticmethod
    def _port(url):
        return int(url.rsplit(":", 1)[1].split("/")[0])

    @property
    def routing_primary_port(self):
        doc = next(iter(self.regions.values()))["doc"]
        return self._port(doc["routing"]["primary"])

    def routing_replica_port(self, region):
        return self._port(self.regions[region]["doc"]["routing"]["replica"])

    def redis(self, port, *args):
        """Run one redis-cli command (raw output) and return its lines."""
        result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--raw", *args],
                                capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"redis-cli -p {port} {' '.join(args)}: {result.stderr.strip()}")
        out = result.stdout
        if out.endswith("\n"):
            out = out[:-1]
        return out.split("\n") if out else []

    def redis_get(self, port, key):
        lines = self.redis(port, "GET", key)
        return lines[0] if lines and lines[0] != "" else None

    def redis_hash(self, port, key):
        lines = self.redis(port, "HGETALL", key)
        return dict(zip(lines[0::2], lines[1::2]))

    @property
    def mailnode_bin(self):
        path = self.run_dir / "mailnode-bin"
        return path.read_text().strip() if path.exists() else None


def cluster_run_dir():
    return pathlib.Path(os.environ.get("CLUSTER_RUN_DIR") or REPO / "cluster" / "run").resolve()


@pytest.fixture(scope="session")
def cluster():
    run_dir = cluster_run_dir()
    missing = [name for name in ("nodes.json", "api-key", "regions") if not (run_dir / name).exists()]
    if missing:
        pytest.fail(f"no running cluster in {run_dir} (missing {', '.join(missing)}): "
                    "start one with cluster/up, or run everything with cluster/test", pytrace=False)
    c = Cluster(run_dir)
    for node in c.nodes.values():
        try:
            ready = node.admin_get("/readyz").status_code
        except requests.RequestException as error:
            ready = error
        if ready != 200:
            pytest.fail(f"{node.id} is not ready ({node.admin}/readyz: {ready})", pytrace=False)
    return c


@pytest.fixture(scope="session")
def us1(cluster):
    return cluster.node("us-1")


@pytest.fixture(scope="session")
def us2(cluster):
    return cluster.node("us-2")


@pytest.fixture(scope="session")
def eu1(cluster):
    return cluster.node("eu-1")


@pytest.fixture(scope="session")
def eu2(cluster):
    return cluster.node("eu-2")


@pytest.fixture
def create_grant(cluster):
    """create_grant(node, email=None, password=None) -> grant; deleted again after the test."""
    created = []

    def create(node, email=None, password=None):
        email = email or unique_email()
        response = node.post("/v3/connect/custom", json=connect_body(email, password))
        assert response.status_code == 200, (node.id, response.status_code, response.text)
        grant = response.json()["data"]
        created.append(grant["id"])
        return grant

    yield create
    any_node = next(iter(cluster.nodes.values()))
    for grant_id in created:
        try:
            any_node.delete(f"/v3/grants/{grant_id}", timeout=10)
        except requests.RequestException:
            pass


@pytest.fixture
def account(cluster, create_grant):
    """account(node) -> Account (helpers.py) for a fresh grant homed in node's region."""
    made = []

    def make(node):
        password = valid_password()
        grant = create_grant(node, unique_email("imap"), password)
        acct = Account(cluster, grant, password)
        made.append(acct)
        return acct

    yield make
    for acct in made:
        acct.close()


# --- webhooks (webhook_receiver.py) ----------------------------------------------------------------

@pytest.fixture
def make_webhook(cluster):
    """make_webhook(node=us-1, trigger_types=every type, receiver=None, **fields) -> Webhook: a real
    HTTP receiver on 127.0.0.1 and a webhook made through the API pointing at it.
    make_webhook.receiver(**options) makes a bare receiver. All are deleted/stopped after the test."""
    from webhook_receiver import WebhookFactory
    factory = WebhookFactory(cluster)
    yield factory
    factory.close()


@pytest.fixture
def webhook(make_webhook):
    """A webhook for every trigger type, made through us-1. Webhooks are application-wide: it gets
    the events of every grant, so tests filter deliveries by their own grant id."""
    return make_webhook()


# --- the DNS blocklist of spam detection (dns_server.py) ------------------------------------------

@pytest.fixture(scope="session")
def dnsbl(cluster):
    """The DNS server the region files name in spam.resolvers, serving spam.dnsbl_zones[0]."""
    from dns_server import BlocklistServer
    spam = cluster.regions["us"]["doc"]["spam"]
    server = BlocklistServer(Cluster._port(spam["resolvers"][0]), spam["dnsbl_zones"][0])
    yield server
    server.close()


# --- the SMTP smart host (smtp_smarthost.py) -------------------------------------------------------

@pytest.fixture(scope="session")
def smart_host():
    """The aiosmtpd server the nodes relay outbound mail to (smtp.smart_host of the rendered region
    files: 127.0.0.1:17300 + port offset, plain SMTP), up for the rest of the session. Shared by every
    test: each refuses (smart_host.refuse) and looks only at recipient domains of its own, and starts
    it again if it stopped it."""
    from smtp_smarthost import SmartHost, configured_smart_hosts
    try:
        host = SmartHost(configured_smart_hosts(cluster_run_dir()))
        host.start()
    except (OSError, ValueError, TimeoutError, RuntimeError) as error:
        pytest.fail(f"cannot start the SMTP smart host: {error}", pytrace=False)
    yield host
    host.close()


@pytest.fixture(scope="session", autouse=True)
def _smart_host_all_session(request):
    """When the region files name a smart host, it is up from the first test on, so that what any
    test sends outside the cluster (the API's messages/send too) is relayed instead of retried and
    bounced. A smart host that cannot start only fails the tests that ask for `smart_host`."""
    from smtp_smarthost import names_smart_host
    if not names_smart_host(cluster_run_dir()):
        return
    try:
        request.getfixturevalue("smart_host")
    except pytest.fail.Exception as error:
        warnings.warn(f"outbound mail of this session has no smart host: {error}")

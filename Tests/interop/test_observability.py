"""The operator's view through Prometheus (cluster/up --observability, which cluster/test uses):
every node is a target that is up, the alert rules pass promtool and are loaded, and every
expression of the Grafana dashboard evaluates and returns series."""
import json
import shutil
import subprocess

import pytest
import requests

from conftest import REPO
from helpers import message, wait_for

OBSERVABILITY = REPO / "cluster" / "observability"


@pytest.fixture(scope="module")
def prometheus(cluster):
    config = cluster.run_dir / "prometheus" / "prometheus.yml"
    if not config.exists():
        pytest.skip("this cluster was started without --observability (cluster/test starts it with)")
    base = "http://" + (cluster.run_dir / "prometheus" / "address").read_text().strip()
    assert requests.get(f"{base}/-/ready", timeout=10).status_code == 200, f"no Prometheus at {base}"
    return base


def query(prometheus, expr):
    response = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def test_the_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (Debian package prometheus; cluster/up --observability installs it)"
    result = subprocess.run([promtool, "check", "rules", str(OBSERVABILITY / "rules.yml")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_node_is_scraped_and_the_rules_are_loaded(cluster, prometheus):
    def targets():
        active = requests.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        return {t["labels"]["node"]: t["health"] for t in active if t["labels"].get("job") == "mailnode"}

    assert wait_for(lambda: targets() == {n: "up" for n in cluster.nodes}, timeout=30), targets()
    groups = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert {"MailnodeNodeDown", "MailnodeRegionDegraded", "MailnodeOutboundBacklogGrowing", "MailnodeWebhookFailing"} <= set(rules)
    assert all(r["health"] == "ok" for r in rules.values()), [(n, r.get("lastError")) for n, r in rules.items()]


def test_every_dashboard_expression_returns_series(cluster, prometheus, account):
    dashboard = json.loads((OBSERVABILITY / "dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 10
    # Traffic on every surface, so that the rates have something to show.
    for node in cluster.nodes.values():
        acct = account(node)
        conn = acct.imaplib(node)
        conn.select("INBOX")
        conn.append("INBOX", None, None, message("observed"))
        smtp = acct.smtp(node)
        smtp.sendmail(acct.email, [acct.email], message("observed", sender=acct.email, to=acct.email))
        node.get(f"/v3/grants/{acct.grant['id']}/messages")
    empty = {}
    for expr in expressions:
        if not wait_for(lambda: bool(query(prometheus, expr)), timeout=45, interval=1):
            empty[expr] = query(prometheus, expr)
    assert not empty, f"dashboard expressions without series: {list(empty)}"

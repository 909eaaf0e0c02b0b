"""The admin endpoints of every node: /healthz, /readyz, /metrics."""
import pytest

NODES = ["us-1", "us-2", "eu-1", "eu-2"]


@pytest.mark.parametrize("node_id", NODES)
def test_healthz_and_readyz(cluster, node_id):
    node = cluster.node(node_id)
    assert node.admin_get("/healthz").status_code == 200
    assert node.admin_get("/readyz").status_code == 200


@pytest.mark.parametrize("node_id", NODES)
def test_metrics_are_prometheus_text(cluster, node_id):
    response = cluster.node(node_id).admin_get("/metrics")
    assert response.status_code == 200
    assert "# TYPE" in response.text


def test_nodes_json_lists_every_endpoint(cluster):
    for node in cluster.nodes.values():
        for key in ("imaps", "imap", "smtps", "submission", "smtp", "api", "admin"):
            host, port = node.entry[key].rsplit(":", 1)
            assert host and 0 < int(port) < 65536
    assert {n.region for n in cluster.nodes.values()} == {"us", "eu"}

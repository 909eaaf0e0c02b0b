#!/usr/bin/env python3
"""Region-file helper for the cluster scripts (cluster/up, cluster/test, cluster/status).

Subcommands:
  render     --src DIR --out DIR --offset N --tls-dir DIR [--postgres-sockets DIR]
             Copy every DIR/*.yaml region file to --out, adding N to every port (in URLs and in
             `listen` entries) and pointing tls.certificate/tls.key and cluster_tls at absolute paths
             in --tls-dir. With --postgres-sockets, each Postgres on loopback is reached through its
             Unix socket in that folder (`?host=DIR`, as libpq reads it); the URL keeps its port.
             A file without `event_loop_threads` gets the cores this process may run on shared among
             every node of every file (at least 1 each), since all of them run here.
  plan       --dir DIR
             Print, one per line, what a local cluster built from the region files in DIR runs:
               postgres NAME HOST PORT USER DATABASE
               redis NAME HOST PORT [REPLICAOF_HOST REPLICAOF_PORT]
               tls REGION HOSTNAME CERT KEY
               cluster-tls REGION AUTHORITY_CERT CERT KEY
               node REGION NODE CONFIG ADMIN_HOST ADMIN_PORT
  ports      --src DIR [--offset N]
             Print every TCP port the cluster listens on (servers and nodes), shifted by N.
  nodes-json --dir DIR --out FILE
             Write nodes.json (one entry per node with every endpoint as host:port) and print
             the same as a table.
"""
import argparse
import json
import os
import re
import sys
from urllib.parse import quote, urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - reported to the operator
    sys.stderr.write("PyYAML is missing: run `python3 -m pip install pyyaml` "
                     "(or `apt-get install -y python3-yaml` for Debian's python3)\n")
    sys.exit(3)

ENDPOINTS = ["imaps", "imap", "smtps", "submission", "smtp", "api", "admin", "cluster_imap", "cluster_api"]
URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def region_files(directory):
    """Region files of DIR, ordered as the `regions` mapping of the first one lists them."""
    files = sorted(f for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))
    docs = {}
    for f in files:
        doc = load(os.path.join(directory, f))
        if isinstance(doc, dict) and "region" in doc:
            docs[doc["region"]] = (os.path.join(directory, f), doc)
    if not docs:
        sys.exit(f"no region files in {directory}")
    order = []
    first = docs[sorted(docs)[0]][1]
    for name in (first.get("regions") or {}):
        if name in docs:
            order.append(name)
    order += [r for r in sorted(docs) if r not in order]
    return [(r, docs[r][0], docs[r][1]) for r in order]


def shift_port(port, offset):
    shifted = int(port) + offset
    if not 0 < shifted < 65536:
        sys.exit(f"port {port} + offset {offset} is outside 1..65535")
    return shifted


def shift_url(url, offset):
    parts = urlsplit(url)
    if parts.port is None:
        return url
    netloc = re.sub(r":\d+$", ":%d" % shift_port(parts.port, offset), parts.netloc)
    return parts._replace(netloc=netloc).geturl()


def shift(node, offset, in_listen=False):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if in_listen and key != "host" and isinstance(value, int) and not isinstance(value, bool):
                out[key] = shift_port(value, offset)
            else:
                out[key] = shift(value, offset, in_listen=(key == "listen"))
        return out
    if isinstance(node, list):
        return [shift(v, offset) for v in node]
    if isinstance(node, str) and URL_RE.match(node):
        return shift_url(node, offset)
    return node


def through_socket(url, folder):
    """The Postgres URL `url` reaching its server through the Unix socket in `folder`, when that
    server is on loopback and the URL says nothing else already."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.query:
        return url
    # Escaped, so that a space, '#', '%' or ':' in the folder neither breaks the URL nor the port
    # readers that split on ':'.
    return parts._replace(query="host=" + quote(folder, safe="/")).geturl()


def cmd_render(args):
    os.makedirs(args.out, exist_ok=True)
    tls_dir = os.path.abspath(args.tls_dir)
    files = region_files(args.src)
    local_nodes = sum(len(doc.get("nodes") or {}) for _, _, doc in files)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads_per_node = max(1, cores // max(1, local_nodes))
    for region, path, doc in files:
        doc = shift(doc, args.offset)
        if doc.get("event_loop_threads") is None:
            doc["event_loop_threads"] = threads_per_node
        if args.postgres_sockets:
            for entry in (doc.get("regions") or {}).values():
                if isinstance(entry, dict) and entry.get("postgres"):
                    entry["postgres"] = through_socket(entry["postgres"], os.path.abspath(args.postgres_sockets))
        tls = doc.get("tls") or {}
        for key in ("certificate", "key"):
            if tls.get(key):
                tls[key] = os.path.join(tls_dir, os.path.basename(tls[key]))
        if not tls:
            tls = {"certificate": os.path.join(tls_dir, doc["hostname"] + ".crt"),
                   "key": os.path.join(tls_dir, doc["hostname"] + ".key")}
        doc["tls"] = tls
        # The cluster's authority and each region's node certificate (cluster/up makes them in
        # the same folder).
        doc["cluster_tls"] = cluster_tls_files(doc, tls_dir)
        target = os.path.join(args.out, os.path.basename(path))
        tmp = target + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"# Rendered by cluster/up from {os.path.abspath(path)} "
                    f"(port offset {args.offset}). Edit the source, not this file.\n")
            yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=False)
        os.replace(tmp, target)


def cluster_tls_files(doc, tls_dir):
    given = doc.get("cluster_tls") or {}
    names = {"authority": "cluster-ca.crt", "certificate": f"cluster-{doc['region']}.crt",
             "key": f"cluster-{doc['region']}.key"}
    return {key: os.path.join(tls_dir, os.path.basename(given.get(key) or default)) for key, default in names.items()}


def node_listens(doc):
    defaults = doc.get("listen") or {}
    for node_id, node in (doc.get("nodes") or {}).items():
        listen = dict(defaults)
        listen.update((node or {}).get("listen") or {})
        yield node_id, listen


def url_host_port(url):
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port, parts.username, (parts.path or "/").lstrip("/")


def plan(directory):
    regions = region_files(directory)
    lines, seen_pg, seen_redis = [], set(), set()
    # Every region file lists every region: take the servers from each region's own file.
    for region, _, doc in regions:
        entry = (doc.get("regions") or {}).get(region) or {}
        if entry.get("postgres"):
            host, port, user, db = url_host_port(entry["postgres"])
            if (host, port) not in seen_pg:
                seen_pg.add((host, port))
                lines.append(["postgres", f"postgres-{region}", host, port, user or "mailnode", db or "mail"])
        if entry.get("redis"):
            host, port, _, _ = url_host_port(entry["redis"])
            if (host, port) not in seen_redis:
                seen_redis.add((host, port))
                lines.append(["redis", f"redis-{region}", host, port])
    primary = None
    for region, _, doc in regions:
        routing = doc.get("routing") or {}
        if routing.get("primary"):
            host, port, _, _ = url_host_port(routing["primary"])
            primary = (host, port)
            if primary not in seen_redis:
                seen_redis.add(primary)
                lines.append(["redis", "routing-primary", host, port])
            break
    for region, _, doc in regions:
        routing = doc.get("routing") or {}
        if routing.get("replica") and primary:
            host, port, _, _ = url_host_port(routing["replica"])
            if (host, port) not in seen_redis:
                seen_redis.add((host, port))
                lines.append(["redis", f"routing-replica-{region}", host, port, primary[0], primary[1]])
    for region, path, doc in regions:
        tls = doc.get("tls") or {}
        base = os.path.dirname(os.path.abspath(path))
        cert = os.path.normpath(os.path.join(base, tls.get("certificate", doc["hostname"] + ".crt")))
        key = os.path.normpath(os.path.join(base, tls.get("key", doc["hostname"] + ".key")))
        lines.append(["tls", region, doc["hostname"], cert, key])
        given = doc.get("cluster_tls") or {}
        files = [os.path.normpath(os.path.join(base, given.get(key) or default)) for key, default in
                 (("authority", "cluster-ca.crt"), ("certificate", f"cluster-{region}.crt"), ("key", f"cluster-{region}.key"))]
        lines.append(["cluster-tls", region] + files)
    for region, path, doc in regions:
        for node_id, listen in node_listens(doc):
            lines.append(["node", region, node_id, os.path.abspath(path),
                          listen.get("host", "127.0.0.1"), listen["admin"]])
    return lines


def cmd_plan(args):
    for line in plan(args.dir):
        print(" ".join(str(x) for x in line))


def cmd_ports(args):
    ports = []
    for region, _, doc in region_files(args.src):
        doc = shift(doc, args.offset)
        for entry in (doc.get("regions") or {}).values():
            for key in ("postgres", "redis"):
                if entry.get(key):
                    ports.append(url_host_port(entry[key])[1])
        for key in ("primary", "replica"):
            url = (doc.get("routing") or {}).get(key)
            if url:
                ports.append(url_host_port(url)[1])
        for _, listen in node_listens(doc):
            ports += [listen[k] for k in ENDPOINTS if k in listen]
        # The smart host the interop tests run must be free too.
        smart_host = (doc.get("smtp") or {}).get("smart_host")
        if smart_host:
            ports.append(url_host_port(smart_host)[1])
    for port in sorted(set(p for p in ports if p)):
        print(port)


def cmd_nodes_json(args):
    entries = []
    for region, _, doc in region_files(args.dir):
        for node_id, listen in node_listens(doc):
            host = listen.get("host", "127.0.0.1")
            entry = {"region": region, "node": node_id}
            for key in ENDPOINTS:
                entry[key] = f"{host}:{listen[key]}"
            entries.append(entry)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(entries, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    columns = ["region", "node"] + ENDPOINTS
    widths = {c: max(len(c), *(len(e[c]) for e in entries)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for e in entries:
        print("  ".join(e[c].ljust(widths[c]) for c in columns).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("render")
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--tls-dir", required=True)
    p.add_argument("--postgres-sockets")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("plan")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("ports")
    p.add_argument("--src", required=True)
    p.add_argument("--offset", type=int, default=0)
    p.set_defaults(func=cmd_ports)
    p = sub.add_parser("nodes-json")
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_nodes_json)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

# Shared by cluster/up, cluster/down, cluster/status and cluster/test. Source it; do not run it.
# shellcheck shell=bash

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$CLUSTER_DIR/.." && pwd)
LIB_DIR="$CLUSTER_DIR/lib"
RUN_DIR=${CLUSTER_RUN_DIR:-$CLUSTER_DIR/run}
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$PWD/$RUN_DIR" ;; esac
RUN_DIR=${RUN_DIR%/}
if [ -d "$RUN_DIR" ]; then RUN_DIR=$(cd "$RUN_DIR" && pwd); fi
PORT_OFFSET=${CLUSTER_PORT_OFFSET:-0}
PG_OS_USER=mailnode          # the unprivileged OS user Postgres runs as when we are root

say()  { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the Postgres OS user (itself when not root).
as_pg_user() {
    if is_root; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

# Folder holding initdb/pg_ctl/postgres: the PATH first, then Debian's versioned folders.
pg_bin_dir() {
    local p
    if p=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1 \
        && command -v postgres >/dev/null 2>&1; then
        dirname "$(readlink -f "$p")"
        return 0
    fi
    for p in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$p/pg_ctl" ] && [ -x "$p/initdb" ] && [ -x "$p/postgres" ]; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# pid_alive PID [EXPECTED_NAME]: the process exists (and its command line mentions the name).
pid_alive() {
    local pid=$1 name=${2:-}
    [ -n "$pid" ] && [ "$pid" -gt 0 ] 2>/dev/null || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie (exited, not yet reaped) is not alive.
    [ "$( { sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f1; } 2>/dev/null)" != Z ] || return 1
    [ -z "$name" ] && return 0
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$name"
}

read_pid() { [ -f "$1" ] && tr -dc '0-9' <"$1"; }

# Postgres data lives in $RUN_DIR/postgres unless the Postgres OS user cannot reach the run folder
# (say, a checkout under /root); then in a folder of its own under /var/tmp, recorded in the run folder.
pg_root() {
    if [ -f "$RUN_DIR/postgres-root" ]; then
        cat "$RUN_DIR/postgres-root"
    else
        printf '%s\n' "$RUN_DIR/postgres"
    fi
}

http_status() { python3 "$LIB_DIR/probe.py" http "$1" "${2:-2}"; }

# The plan of the rendered region files (see cluster/lib/regions.py plan).
cluster_plan() { python3 "$LIB_DIR/regions.py" plan --dir "$RUN_DIR/regions"; }

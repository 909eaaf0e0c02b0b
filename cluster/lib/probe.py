#!/usr/bin/env python3
"""Tiny network probes for the cluster scripts, so they need neither curl nor ss.

  probe.py http URL [TIMEOUT]      print the HTTP status (000 when unreachable)
  probe.py free PORT...            exit 0 when every port can be bound on 127.0.0.1
"""
import socket
import sys
import urllib.error
import urllib.request


def http(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception:
        return 0


def free(ports):
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # As the servers do: a port in TIME_WAIT is usable, a listening one is not.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "http":
        timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
        print("%03d" % http(sys.argv[2], timeout))
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "free":
        return 0 if free([int(p) for p in sys.argv[2:]]) else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

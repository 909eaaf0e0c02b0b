"""COMPRESS=DEFLATE (RFC 4978) from a client of our own making on Python's zlib (no IMAP library
here speaks it): raw DEFLATE both ways after the OK, on a grant's home node and through the
cross-region relay, with a large APPEND and FETCH through the compressed stream."""
import re
import uuid
import zlib

import pytest

from helpers import message, tls_socket


class CompressingClient:
    """Line and literal reading over a TLS socket, with DEFLATE turned on by `compress()`."""

    def __init__(self, sock):
        self.sock, self.buffer, self.inflater, self.deflater, self.tags = sock, b"", None, None, 0

    def send(self, data):
        if self.deflater:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += self.inflater.decompress(chunk) if self.inflater else chunk

    def line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def command(self, text, literal=None):
        """Sends a command (with one LITERAL+ literal when given); returns (untagged items, tagged line).
        An untagged item is its line, or (line, literal bytes) when the line announces a literal."""
        self.tags += 1
        tag = f"c{self.tags}"
        if literal is None:
            self.send(f"{tag} {text}\r\n".encode())
        else:
            self.send(f"{tag} {text} {{{len(literal)}+}}\r\n".encode() + literal + b"\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            size = re.search(rb"\{(\d+)\}$", line)
            if size:
                data = self.exactly(int(size.group(1)))
                untagged.append((line, data + self.line()))
            else:
                untagged.append(line)

    def compress(self):
        untagged, done = self.command("COMPRESS DEFLATE")
        assert done.endswith(b"OK DEFLATE active") and not untagged, (untagged, done)
        assert self.buffer == b""
        self.deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflater = zlib.decompressobj(-15)


def session(acct, node):
    client = CompressingClient(tls_socket(acct.cluster, node))
    assert client.line().startswith(b"* OK")
    _, done = client.command(f"LOGIN {acct.email} {acct.password}")
    assert b" OK " in done, done
    untagged, done = client.command("CAPABILITY")
    assert b"COMPRESS=DEFLATE" in untagged[0], untagged
    return client


@pytest.mark.parametrize("home", ["us", "eu"])
def test_compressed_session_appends_and_fetches(account, us1, eu1, home):
    """A US node serves a US grant itself and relays an EU grant to its region; either way the
    compressed stream carries a large APPEND and FETCH intact."""
    acct = account(us1 if home == "us" else eu1)
    client = session(acct, us1)
    client.compress()
    body = "".join(f"line {i} {uuid.uuid4().hex}\r\n" for i in range(4000))
    data = message("compressed", body=body)
    _, done = client.command("APPEND INBOX", literal=data)
    assert b"OK [APPENDUID" in done, done
    untagged, done = client.command("SELECT INBOX")
    assert b"OK [READ-WRITE]" in done and b"* 1 EXISTS" in untagged, untagged
    untagged, done = client.command("UID FETCH 1 (BODY.PEEK[])")
    assert b"OK" in done
    fetched = [item for item in untagged if isinstance(item, tuple)]
    assert fetched and fetched[0][1] == data + b")", fetched[0][0]
    _, done = client.command("COMPRESS DEFLATE")
    assert done.endswith(b"BAD Compression is already active"), done
    untagged, done = client.command("LOGOUT")
    assert untagged and untagged[0].startswith(b"* BYE") and b"OK" in done
    client.sock.close()


def test_compress_refused_before_login_and_for_other_mechanisms(account, us1):
    acct = account(us1)
    client = CompressingClient(tls_socket(acct.cluster, us1))
    client.line()
    _, done = client.command("COMPRESS DEFLATE")
    assert b"BAD" in done, done
    _, done = client.command(f"LOGIN {acct.email} {acct.password}")
    assert b"OK" in done
    _, done = client.command("COMPRESS X-LZ4")
    assert b"BAD" in done, done
    # The connection still works uncompressed.
    _, done = client.command("NOOP")
    assert b"OK" in done
    client.sock.close()

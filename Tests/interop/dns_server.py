"""A DNS server on loopback for spam detection's DNSBL lookups: it serves one blocklist zone over
UDP with dnspython's message codec. A test lists an address (the zone then answers 127.0.0.2 with
a TXT reason, as RFC 5782 zones do), leaves it out (NXDOMAIN), or makes the server ignore queries
about it (a resolver that does not answer). Every query is recorded."""
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class BlocklistServer:
    def __init__(self, port, zone, host="127.0.0.1"):
        self.zone = zone.rstrip(".").lower()
        self.listed = {}       # query name -> answer address
        self.silent = set()    # query names not answered at all
        self.queries = []      # (name, type)
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dnsbl", daemon=True)
        self._thread.start()

    def name_for(self, address):
        return ".".join(reversed(address.split("."))) + "." + self.zone

    def list(self, address, answer="127.0.0.2"):
        with self._lock:
            self.listed[self.name_for(address)] = answer

    def ignore(self, address):
        with self._lock:
            self.silent.add(self.name_for(address))

    def asked_about(self, address):
        name = self.name_for(address)
        with self._lock:
            return [q for q in self.queries if q[0] == name]

    def _serve(self):
        self._socket.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            with self._lock:
                self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
                if name in self.silent:
                    continue
                answer_address = self.listed.get(name)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA | dns.flags.RA
            if answer_address and question.rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "A", answer_address))
            elif answer_address and question.rdtype == dns.rdatatype.TXT:
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "TXT", '"listed by the interop tests"'))
            elif not answer_address:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._socket.sendto(response.to_wire(), peer)

    def close(self):
        self._stopped.set()
        self._socket.close()
        self._thread.join(timeout=2)

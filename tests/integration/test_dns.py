"""resolve_ip against a real DNS server (dnsmasq on 127.0.0.1 started here):
forward-confirmed names only, IPv6 included, and an unreachable resolver
bounded by the per-report deadline (once per run, not per report)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from tapp import SRCDIR, main, make_report, run, write

DNSMASQ_SH = os.path.join(SRCDIR, "tests", "lib", "dnsmasq.sh")
RECORDS = """\
ptr-record=1.2.0.192.in-addr.arpa,mail.example.test
host-record=mail.example.test,192.0.2.1
ptr-record=2.2.0.192.in-addr.arpa,liar.example.test
host-record=liar.example.test,198.51.100.1
ptr-record=4.2.0.192.in-addr.arpa,multi.example.test
address=/multi.example.test/198.51.100.9
address=/multi.example.test/192.0.2.4
ptr-record=5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,v6.example.test
host-record=v6.example.test,2001:db8::25
"""


class Blackhole:
    """A UDP socket on 127.0.0.1 that reads queries and never answers."""
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                self.sock.recvfrom(4096)
                self.queries += 1
            except socket.timeout:
                pass

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


class DnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dmarc-dns-")
        cls.dns_dir = os.path.join(cls.tmp, "dns")
        os.mkdir(cls.dns_dir)
        with open(os.path.join(cls.dns_dir, "records.conf"), "w") as f:
            f.write(RECORDS)
        out = subprocess.run(["sh", DNSMASQ_SH, "start", cls.dns_dir], check=True,
                             capture_output=True, text=True, timeout=30).stdout
        env = dict(l.split("=", 1) for l in out.split() if "=" in l)
        cls.server = "127.0.0.1:%s" % env["DNS_PORT"]

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["sh", DNSMASQ_SH, "stop", cls.dns_dir], timeout=30)
        shutil.rmtree(cls.tmp)

    def ingest(self, reports, server, extra=()):
        d = tempfile.mkdtemp(dir=self.tmp)
        for i, data in enumerate(reports):
            write(os.path.join(d, "r%03d.xml" % i), data)
        try:
            return run("dmarc_directory", ["--dir", d, "--quiet-time", "0", "--no-validate-xml",
                                           "--dns-server", server] + list(extra), timeout=120)
        finally:
            shutil.rmtree(d)

    def test_forward_confirmed(self):
        ips = ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "2001:DB8:0::25")
        r = self.ingest([make_report(ips=ips)], self.server)
        self.assertEqual(r.rc, 0, r)
        got = {e["feedback"][2]["record"]["row"]["source_ip"]:
               e["feedback"][2]["record"]["row"].get("ip_resolution") for e in r.events()}
        self.assertEqual(got, {
            "192.0.2.1": "mail.example.test",     # PTR + A agree
            "192.0.2.2": None,                    # PTR name points elsewhere
            "192.0.2.3": None,                    # no PTR
            "192.0.2.4": "multi.example.test",    # matches the second A record
            "2001:db8:0::25": "v6.example.test",  # IPv6, another spelling
        })

    def test_kv_src_only_when_confirmed(self):
        r = self.ingest([make_report(ips=("192.0.2.1", "192.0.2.2"))], self.server,
                        ["--output", "kv"])
        self.assertEqual(r.out.count(b'src="mail.example.test",\n'), 1, r.out)
        self.assertNotIn(b"liar.example.test", r.out)

    def test_unreachable_resolver_costs_one_deadline_per_run(self):
        hole = Blackhole()
        try:
            reports = [make_report(report_id="r%d" % n,
                                   ips=["10.%d.0.%d" % (n, i) for i in range(40)])
                       for n in range(5)]
            r = self.ingest(reports, "127.0.0.1:%d" % hole.port, ["--dns-deadline-ms", "1500"])
        finally:
            hole.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.events()), 200)
        self.assertTrue(all("ip_resolution" not in e["feedback"][2]["record"]["row"]
                            for e in r.events()))
        self.assertGreater(hole.queries, 0)
        # Five reports, one 1.5 s deadline: the resolver is given up once.
        self.assertLess(r.seconds, 4.0, r)
        self.assertIn(b"WARN", r.err)


if __name__ == "__main__":
    main()

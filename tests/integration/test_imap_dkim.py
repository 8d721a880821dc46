"""validate_dkim end to end: report mails signed here (dkim_sign, libopendkim)
with keys made by opendkim-genkey and served by a private dnsmasq, read by
dmarc_imap and dmarc_pop3 from a real Dovecot.  Each event carries the DKIM
results of its mail in vendor_rua_mail.dkim (JSON) or
vendor_rua_mail_dkim_* lines (KV): pass, fail (body altered after
signing), permerror (no key), temperror (DNS server down), [] (unsigned)."""
import collections
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from mailtest import Dovecot, non_reports, shapes
from tapp import SRCDIR, input_xml, main, run

DNSMASQ_SH = os.path.join(SRCDIR, "tests", "lib", "dnsmasq.sh")
GENKEY = os.environ.get("OPENDKIM_GENKEY", "/usr/sbin/opendkim-genkey")
DOMAIN = "example.test"


def signer():
    b = os.environ.get("BUILDDIR")
    cands = [os.path.join(b, "tests", "integration", "dkim_sign")] if b else []
    cands.append(os.path.join(SRCDIR, "build", "tests", "integration", "dkim_sign"))
    for c in cands:
        if os.path.exists(c):
            return c
    raise FileNotFoundError("dkim_sign (build tests/integration/dkim_sign.c)")


def txt_record(name, path):
    """A dnsmasq txt-record line with opendkim-genkey's TXT data, cut into
    255-byte strings (the most one TXT string holds)."""
    import re
    value = "".join(re.findall(r'"([^"]*)"', open(path).read()))
    parts = [value[i:i + 255] for i in range(0, len(value), 255)]
    return "txt-record=%s,%s\n" % (name, ",".join('"%s"' % p for p in parts))


def orgs(events):
    return collections.Counter(e["feedback"][0]["report_metadata"]["org_name"] for e in events)


def dkim_by_org(events):
    """org -> the dkim value of its events (all of one org's events must agree);
    None when absent."""
    out = {}
    for e in events:
        org = e["feedback"][0]["report_metadata"]["org_name"]
        v = e["vendor_rua_mail"].get("dkim")
        if org in out:
            assert out[org] == v, (org, out[org], v)
        out[org] = v
    return out


PASS = [{"domain": DOMAIN, "selector": "sel1", "result": "pass"}]
FAIL = [{"domain": DOMAIN, "selector": "sel1", "result": "fail", "reason": "body hash mismatch"}]
NOKEY = [{"domain": DOMAIN, "selector": "nokey", "result": "permerror", "reason": "no key"}]
# a mail with two signatures: both are reported, in order
TWO = [{"domain": DOMAIN, "selector": "sel1", "result": "pass"},
       {"domain": DOMAIN, "selector": "nokey", "result": "permerror", "reason": "no key"}]
WANT = {"org-zip": PASS, "org-gz": FAIL, "org-xml": NOKEY, "org-inline": [], "org-octet": TWO}
COUNTS = {"org-zip": 2, "org-gz": 3, "org-xml": 1, "org-inline": 1, "org-octet": 2}


class DkimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="dkim-it-")
        cls.dns_started = False
        cls.d = None
        try:
            cls._setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        w = cls.work
        subprocess.run([GENKEY, "-D", w, "-d", DOMAIN, "-s", "sel1"], check=True)
        with open(os.path.join(w, "records.conf"), "w") as f:
            f.write(txt_record("sel1._domainkey." + DOMAIN, os.path.join(w, "sel1.txt")))
        out = subprocess.run([DNSMASQ_SH, "start", w], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        cls.dns_started = True
        cls.dns = "127.0.0.1:" + dict(l.split("=", 1) for l in out.split())["DNS_PORT"]
        key = os.path.join(w, "sel1.private")
        sign = signer()

        def signed(msg, selector="sel1"):
            return subprocess.run([sign, key, selector, DOMAIN], input=msg, check=True,
                                  stdout=subprocess.PIPE).stdout

        by = {name: m for name, m, _ in shapes()}
        zip_ok = signed(by["zip"])
        gz = signed(by["gz"])
        altered = gz.replace(b"This is an aggregate report", b"This is an altered report")
        assert altered != gz
        xml_nokey = signed(by["xml"], "nokey")
        octet_two = signed(signed(by["octet"], "nokey"))   # sel1 on top
        plain_signed = signed(non_reports()[0][1])
        cls.d = Dovecot()
        cls.d.add("INBOX", [zip_ok, altered, xml_nokey, by["inline"], octet_two, plain_signed])

    @classmethod
    def tearDownClass(cls):
        if cls.d:
            cls.d.stop()
        if cls.dns_started:
            subprocess.run([DNSMASQ_SH, "stop", cls.work], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.ck = tempfile.mkdtemp(prefix="dkim-ck-")

    def tearDown(self):
        shutil.rmtree(self.ck)

    def args(self, pop3=False, dkim=True, dns=None, extra=()):
        a = ["--server", "127.0.0.1", "--port", str(self.d.pop3s if pop3 else self.d.imaps),
             "--username", self.d.user, "--password-file", self.d.pwfile, "--ca-file", self.d.ca,
             "--checkpoint-dir", self.ck, "--no-resolve-ip"]
        if dkim:
            a += ["--validate-dkim", "--dns-server", dns or self.dns]
        return a + list(extra)

    def check_json(self, r):
        self.assertEqual(r.rc, 0, r)
        ev = r.events()
        self.assertEqual(orgs(ev), COUNTS, r)
        self.assertEqual(dkim_by_org(ev), WANT, r)

    def test_imap_json(self):
        self.check_json(run("dmarc_imap", self.args()))
        # the keys really came from dnsmasq
        with open(os.path.join(self.work, "dnsmasq.log")) as f:
            log = f.read()
        self.assertIn("query[TXT] sel1._domainkey.example.test", log)
        self.assertIn("query[TXT] nokey._domainkey.example.test", log)

    def test_pop3_json(self):
        self.check_json(run("dmarc_pop3", self.args(pop3=True)))

    def test_off_by_default(self):
        r = run("dmarc_imap", self.args(dkim=False))
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(orgs(r.events()), COUNTS, r)
        self.assertEqual(set(dkim_by_org(r.events()).values()), {None})

    def test_kv(self):
        r = run("dmarc_imap", self.args(extra=["--output", "kv"]))
        self.assertEqual(r.rc, 0, r)
        out = r.out.decode()
        self.assertEqual(out.count("RUA BEGIN"), sum(COUNTS.values()), r)
        # one result line per signature and event (none: one line per event)
        self.assertEqual(out.count('vendor_rua_mail_dkim_result="pass"'), 2 + 2, out)
        self.assertEqual(out.count('vendor_rua_mail_dkim_result="fail"'), 3, out)
        self.assertEqual(out.count('vendor_rua_mail_dkim_result="permerror"'), 1 + 2, out)
        self.assertEqual(out.count('vendor_rua_mail_dkim_result="none"'), 1, out)
        self.assertEqual(out.count('vendor_rua_mail_dkim_selector="nokey"'), 1 + 2, out)
        self.assertEqual(out.count('vendor_rua_mail_dkim_domain="example.test"'), 2 + 3 + 1 + 4, out)

    def test_dns_down_is_temperror(self):
        # a port where nothing listens: the lookup is refused at once
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        r = run("dmarc_imap", self.args(dns="127.0.0.1:%d" % port), timeout=90)
        self.assertEqual(r.rc, 0, r)
        got = dkim_by_org(r.events())
        self.assertEqual(got["org-inline"], [], r)
        for org in ("org-zip", "org-gz", "org-xml", "org-octet"):
            self.assertTrue(got[org], (org, got))
            self.assertEqual({x["result"] for x in got[org]}, {"temperror"}, (org, got))

    def test_bad_dns_server_is_a_usage_error(self):
        r = run("dmarc_imap", self.args(dns="not-an-address"))
        self.assertEqual(r.rc, 2, r)
        self.assertIn(b"--validate-dkim", r.err)

    def test_splunk_run_and_validation(self):
        params = {"server": "127.0.0.1", "port": str(self.d.imaps), "ca_file": self.d.ca,
                  "username": self.d.user, "password": self.d.v["DOVETEST_PASS"],
                  "resolve_ip": "0", "validate_dkim": "true", "dns_server": self.dns}
        r = run("dmarc_imap", ["--validate-arguments"],
                stdin=input_xml("dmarc_imap://x", params, self.ck, validation=True))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        bad = dict(params, dns_server="nowhere")
        r = run("dmarc_imap", ["--validate-arguments"],
                stdin=input_xml("dmarc_imap://x", bad, self.ck, validation=True))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("DKIM", ET.fromstring(r.out).findtext("message"))
        r = run("dmarc_imap", [], stdin=input_xml("dmarc_imap://mail", params, self.ck))
        self.assertEqual(r.rc, 0, r)
        import json
        ev = [json.loads(e.findtext("data")) for e in ET.fromstring(r.out).findall("event")]
        self.assertEqual(dkim_by_org(ev), WANT, r)


if __name__ == "__main__":
    main()

"""dmarc_pop3 against a real Dovecot on 127.0.0.1: POP3S and STLS, every
report shape, non-report mail checkpointed too (never downloaded twice),
nothing deleted, a cut connection, and the refusals."""
import collections
import re
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from mailtest import CutRelay, Dovecot, non_reports, shapes
from tapp import input_xml, main, run


def orgs(events):
    return collections.Counter(e["feedback"][0]["report_metadata"]["org_name"] for e in events)


def fetched(r):
    m = re.findall(rb"fetched (\d+) bytes", r.err)
    return int(m[-1]) if m else None


class Pop3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Dovecot()
        cls.shapes = shapes()
        msgs = [m for _, m, _ in cls.shapes] + [m for _, m in non_reports()]
        cls.d.add("INBOX", msgs)
        cls.want = collections.Counter()
        for name, _, n in cls.shapes:
            if name == "deep":
                cls.want["org-deep-a"] += 1
                cls.want["org-deep-b"] += 2
            else:
                cls.want["org-" + {"rfc822": "fwd", "wholebody": "whole"}.get(name, name)] += n

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.ck = tempfile.mkdtemp(prefix="pop-ck-")

    def tearDown(self):
        shutil.rmtree(self.ck)

    def args(self, port=None, ca=True, extra=()):
        a = ["--server", "127.0.0.1", "--port", str(port or self.d.pop3s),
             "--username", self.d.user, "--password-file", self.d.pwfile,
             "--checkpoint-dir", self.ck, "--no-resolve-ip"]
        if ca:
            a += ["--ca-file", self.d.ca]
        return a + list(extra)

    def test_pop3s_every_shape_once(self):
        r = run("dmarc_pop3", self.args())
        self.assertEqual(r.rc, 0, r)
        ev = r.events()
        self.assertEqual(orgs(ev), self.want, r)
        v = [e["vendor_rua_mail"] for e in ev if e["feedback"][0]["report_metadata"]["org_name"] == "org-zip"][0]
        self.assertEqual((v["protocol"], v["message_id"]), ("pop3", "<zip@r>"))
        self.assertRegex(v["uidl"], r"^[0-9a-f]{16}$")
        self.assertNotIn("uid", v)
        # second run: non-report mail is not downloaded again either
        r2 = run("dmarc_pop3", self.args())
        self.assertEqual((r2.rc, r2.out), (0, b""), r2)
        self.assertEqual(fetched(r2), 0, r2)
        # nothing was deleted
        st = self.d.doveadm("mailbox", "status", "-u", self.d.user, "messages", "INBOX")
        self.assertEqual(st.split()[-1], "messages=%d" % (len(self.shapes) + len(non_reports())))

    def test_stls(self):
        r = run("dmarc_pop3", self.args(port=self.d.pop3, extra=["--starttls"]))
        self.assertEqual((r.rc, orgs(r.events())), (0, self.want), r)

    def test_no_ca_and_wrong_password(self):
        r = run("dmarc_pop3", self.args(ca=False))
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"certificate verify failed", r.err)
        pw = self.ck + "/bad"
        with open(pw, "w") as f:
            f.write("nope\n")
        a = self.args()
        a[a.index("--password-file") + 1] = pw
        r = run("dmarc_pop3", a)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"login as testuser failed", r.err)
        r = run("dmarc_pop3", self.args(extra=["--folder", "X"]))
        self.assertEqual(r.rc, 2, r)

    def test_new_message_and_cut(self):
        d = Dovecot()
        try:
            d.add("INBOX", [m for _, m, _ in self.shapes[:4]])
            relay = CutRelay(d.pop3s, after=6000, cuts=1)
            a = ["--server", "127.0.0.1", "--port", str(relay.port), "--ca-file", d.ca,
                 "--username", d.user, "--password-file", d.pwfile,
                 "--checkpoint-dir", self.ck, "--no-resolve-ip", "--batch-size", "2"]
            try:
                r = run("dmarc_pop3", a)
            finally:
                relay.close()
            self.assertEqual(r.rc, 0, r)
            self.assertIn(b"reconnecting", r.err)
            self.assertEqual(orgs(r.events()), {"org-zip": 2, "org-gz": 3, "org-xml": 1, "org-qp": 1}, r)
            d.add("INBOX", [self.shapes[4][1]])
            a[a.index("--port") + 1] = str(d.pop3s)
            r = run("dmarc_pop3", a)
            self.assertEqual(orgs(r.events()), {"org-fwd": 2}, r)
        finally:
            d.stop()

    def test_scheme_and_splunk_run(self):
        r = run("dmarc_pop3", ["--scheme"])
        names = sorted(a.get("name") for a in ET.fromstring(r.out).iter("arg"))
        self.assertNotIn("mailbox", names)
        self.assertIn("security", names)
        params = {"pop3_server": "127.0.0.1", "port": str(self.d.pop3s), "ca_file": self.d.ca,
                  "username": self.d.user, "password": self.d.v["DOVETEST_PASS"],
                  "resolve_ip": "false", "output_format": "json"}
        r = run("dmarc_pop3", [], stdin=input_xml("dmarc_pop3://p", params, self.ck))
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(ET.fromstring(r.out).findall("event")), sum(self.want.values()), r)


if __name__ == "__main__":
    main()

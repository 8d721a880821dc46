"""dmarc_imap against a real Dovecot on 127.0.0.1: reports in every shape,
exact event counts, checkpoints, UIDVALIDITY, a cut connection, and the
refusals (no CA, wrong password, no TLS, password on the command line)."""
import collections
import os
import re
import shutil
import socket
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET

from mailtest import CutRelay, Dovecot, non_reports, shapes
from tapp import input_xml, main, run


def orgs(events):
    return collections.Counter(e["feedback"][0]["report_metadata"]["org_name"] for e in events)


def fetched(r):
    m = re.findall(rb"fetched (\d+) bytes", r.err)
    return int(m[-1]) if m else None


class ImapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Dovecot()
        cls.shapes = shapes()
        msgs = []
        extra = non_reports()
        for i, (name, m, n) in enumerate(cls.shapes):
            msgs.append(m)
            if i < len(extra):
                msgs.append(extra[i][1])
        cls.d.add("INBOX", msgs)
        # the same zip report in a folder with a non-ASCII name
        cls.d.add("Rapports/F&AOk-vrier", [cls.shapes[0][1], extra[0][1]])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.ck = tempfile.mkdtemp(prefix="mbx-ck-")

    def tearDown(self):
        shutil.rmtree(self.ck)

    def args(self, port=None, ca=True, extra=()):
        a = ["--server", "127.0.0.1", "--port", str(port or self.d.imaps),
             "--username", self.d.user, "--password-file", self.d.pwfile,
             "--checkpoint-dir", self.ck, "--no-resolve-ip"]
        if ca:
            a += ["--ca-file", self.d.ca]
        return a + list(extra)

    def expected_orgs(self):
        want = collections.Counter()
        for name, m, n in self.shapes:
            if name == "deep":
                want["org-deep-a"] += 1
                want["org-deep-b"] += 2
            else:
                want["org-" + {"rfc822": "fwd", "wholebody": "whole"}.get(name, name)] += n
        return want

    def test_every_shape_once_then_nothing(self):
        r = run("dmarc_imap", self.args())
        self.assertEqual(r.rc, 0, r)
        ev = r.events()
        self.assertEqual(orgs(ev), self.expected_orgs(), r)
        self.assertEqual(len(ev), sum(n for _, _, n in self.shapes))
        # vendor_rua_mail says where each event came from
        by_org = {e["feedback"][0]["report_metadata"]["org_name"]: e["vendor_rua_mail"] for e in ev}
        z = by_org["org-zip"]
        self.assertEqual((z["protocol"], z["folder"], z["uid"], z["message_id"], z["part"]),
                         ("imap", "INBOX", 1, "<zip@r>", "2"))
        self.assertEqual(z["from"], "DMARC Reporter <noreply-dmarc@reporter.example>")
        self.assertEqual(z["subject"], "Report domain: example.com Submitter: zip")
        self.assertEqual(z["date"], "Tue, 14 Nov 2023 22:13:20 +0000")
        self.assertGreater(z["uidvalidity"], 0)
        self.assertEqual(by_org["org-fwd"]["message_id"], "<fwd@r>")   # the mail in the box
        self.assertEqual(by_org["org-inline"]["part"], "1")
        # the 200 kB PDF and the text bodies were never downloaded
        self.assertLess(fetched(r), 40000, r)
        self.assertIn(b"without report", r.err)
        # second run: nothing new, nothing fetched
        r2 = run("dmarc_imap", self.args())
        self.assertEqual((r2.rc, r2.out), (0, b""), r2)
        self.assertEqual(fetched(r2), 0, r2)

    def test_new_message_picked_up(self):
        d = Dovecot()
        try:
            d.add("INBOX", [self.shapes[1][1], non_reports()[0][1]])
            a = ["--server", "127.0.0.1", "--port", str(d.imaps), "--ca-file", d.ca,
                 "--username", d.user, "--password-file", d.pwfile,
                 "--checkpoint-dir", self.ck, "--no-resolve-ip"]
            r = run("dmarc_imap", a)
            self.assertEqual(orgs(r.events()), {"org-gz": 3}, r)
            d.add("INBOX", [self.shapes[0][1]])
            r = run("dmarc_imap", a)
            self.assertEqual(orgs(r.events()), {"org-zip": 2}, r)
            self.assertIn(b"1 new message(s)", r.err)
        finally:
            d.stop()

    def test_non_ascii_folder_and_kv(self):
        r = run("dmarc_imap", self.args(extra=["--folder", "Rapports/Février", "--output", "kv"]))
        self.assertEqual(r.rc, 0, r)
        out = r.out.decode()
        self.assertEqual(out.count("RUA BEGIN"), 2, r)
        self.assertIn('vendor_rua_mail_folder="Rapports/Février"', out)
        self.assertIn('vendor_rua_mail_uid="1"', out)
        r = run("dmarc_imap", self.args(extra=["--folder", "Nope"]))
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b'folder "Nope" cannot be opened', r.err)

    def test_search_criteria(self):
        r = run("dmarc_imap", self.args(extra=["--search", 'SUBJECT "Submitter: gz"']))
        self.assertEqual(orgs(r.events()), {"org-gz": 3}, r)
        self.assertIn(b"1 message(s) match", r.err)

    def test_starttls(self):
        r = run("dmarc_imap", self.args(port=self.d.imap, extra=["--starttls", "--search", "UID 1"]))
        self.assertEqual((r.rc, orgs(r.events())), (0, {"org-zip": 2}), r)

    def test_no_ca_refused_clearly(self):
        r = run("dmarc_imap", self.args(ca=False))
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertIn(b"certificate verify failed", r.err)
        self.assertIn(b"--ca-file", r.err)

    def test_wrong_password(self):
        pw = os.path.join(self.ck, "bad")
        with open(pw, "w") as f:
            f.write("wrong\n")
        a = self.args()
        a[a.index("--password-file") + 1] = pw
        r = run("dmarc_imap", a)
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertIn(b"login as testuser failed", r.err)
        self.assertIn(b"AUTHENTICATIONFAILED", r.err)

    def test_password_never_on_command_line(self):
        r = run("dmarc_imap", ["--server", "x", "--username", "u", "--password", "secret"])
        self.assertEqual(r.rc, 2)
        self.assertIn(b"never accepted on the command line", r.err)
        r = run("dmarc_imap", ["--server", "x", "--username", "u"])
        self.assertEqual(r.rc, 2)
        self.assertIn(b"--password-file", r.err)

    def test_plain_server_gets_no_password(self):
        """A server without STARTTLS: the input stops before LOGIN."""
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        got = []

        def serve():
            c, _ = ls.accept()
            c.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] plain only\r\n")
            f = c.makefile("rb")
            for line in f:
                got.append(line)
                tag = line.split(b" ")[0]
                if b"CAPABILITY" in line.upper():
                    c.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK\r\n")
                elif b"LOGOUT" in line.upper():
                    c.sendall(b"* BYE\r\n" + tag + b" OK\r\n")
                    break
                else:
                    c.sendall(tag + b" BAD no\r\n")
            c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        r = run("dmarc_imap", self.args(port=ls.getsockname()[1], extra=["--starttls"]))
        ls.close()
        t.join(5)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"does not offer STARTTLS", r.err)
        self.assertFalse([l for l in got if b"LOGIN" in l.upper() or b"AUTHENTICATE" in l.upper()], got)

    def test_uidvalidity_change_emits_nothing_twice(self):
        d = Dovecot()
        try:
            d.add("Reports", [s[1] for s in self.shapes[:3]])
            a = ["--server", "127.0.0.1", "--port", str(d.imaps), "--ca-file", d.ca,
                 "--username", d.user, "--password-file", d.pwfile, "--folder", "Reports",
                 "--checkpoint-dir", self.ck, "--no-resolve-ip"]
            r = run("dmarc_imap", a)
            self.assertEqual(len(r.events()), 2 + 3 + 1, r)
            # re-create the folder: same mails, new UIDVALIDITY, one new report
            d.doveadm("mailbox", "delete", "-u", d.user, "Reports")
            d.add("Reports", [s[1] for s in self.shapes[:3]] + [self.shapes[3][1]])
            d.doveadm("mailbox", "update", "-u", d.user, "--uid-validity", "12345", "Reports")
            r = run("dmarc_imap", a)
            self.assertEqual(r.rc, 0, r)
            self.assertIn(b"WARN UIDVALIDITY", r.err)
            self.assertIn(b"changed from", r.err)
            self.assertEqual(orgs(r.events()), {"org-qp": 1}, r)
            self.assertIn(b"3 report(s) already ingested", r.err)
            r = run("dmarc_imap", a)
            self.assertEqual((r.rc, r.out), (0, b""), r)
        finally:
            d.stop()

    def test_cut_connection_resumes(self):
        total = sum(n for _, _, n in self.shapes)
        # cut at several points (structures, headers, report parts); the run
        # reconnects itself and emits every report once
        where = set()
        for after in (2500, 9000, 12000, 15000):
            shutil.rmtree(self.ck, ignore_errors=True)
            relay = CutRelay(self.d.imaps, after=after, cuts=1)
            try:
                r = run("dmarc_imap", self.args(port=relay.port, extra=["--batch-size", "50"]))
            finally:
                relay.close()
            self.assertEqual(r.rc, 0, r)
            self.assertIn(b"reconnecting", r.err)
            where.update(re.findall(rb"WARN (fetching [a-zA-Z ]+):", r.err))
            self.assertEqual(orgs(r.events()), self.expected_orgs(), r)
        self.assertIn(b"fetching report parts", where)
        # every connection cut before a message is done: the run gives up,
        # the next one finishes
        shutil.rmtree(self.ck)
        relay = CutRelay(self.d.imaps, after=4000, cuts=100)
        try:
            r1 = run("dmarc_imap", self.args(port=relay.port, extra=["--batch-size", "50"]))
        finally:
            relay.close()
        self.assertEqual(r1.rc, 1, r1)
        self.assertIn(b"giving up", r1.err)
        r2 = run("dmarc_imap", self.args())
        self.assertEqual(r2.rc, 0, r2)
        both = r1.events() + r2.events()
        self.assertEqual(orgs(both), self.expected_orgs(), (r1, r2))
        self.assertLess(len(r1.events()), total)

    def test_ingest_threads_change_nothing_but_speed(self):
        """Reports parsed on 0, 1 or 4 threads: the same events, in the same
        order, and the same checkpoints (a second run emits nothing)."""
        outs = []
        for n in ("0", "1", "4"):
            shutil.rmtree(self.ck, ignore_errors=True)
            r = run("dmarc_imap", self.args(extra=["--ingest-threads", n, "--batch-size", "3"]))
            self.assertEqual(r.rc, 0, r)
            outs.append(r.out)
            again = run("dmarc_imap", self.args(extra=["--ingest-threads", n]))
            self.assertEqual((again.rc, again.events()), (0, []), again)
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])
        self.assertEqual(len(outs[0].splitlines()), sum(n for _, _, n in self.shapes))
        for bad in ("9", "-1", "x"):
            r = run("dmarc_imap", self.args(extra=["--ingest-threads", bad]))
            self.assertEqual(r.rc, 2, r)
            self.assertIn(b"--ingest-threads", r.err)

    def test_scheme_and_validation(self):
        r = run("dmarc_imap", ["--scheme"])
        self.assertEqual(r.rc, 0, r)
        s = ET.fromstring(r.out)
        names = sorted(a.get("name") for a in s.iter("arg"))
        self.assertEqual(names, sorted(["server", "port", "security", "ca_file", "username",
                                        "password", "mailbox", "search", "batch_size", "resolve_ip",
                                        "validate_xml", "validate_dkim", "dns_server",
                                        "output_format"]))

        def validate(params):
            return run("dmarc_imap", ["--validate-arguments"],
                       stdin=input_xml("dmarc_imap://x", params, self.ck, validation=True))
        ok = {"server": "127.0.0.1", "username": "u", "password": "p"}
        r = validate(ok)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        for bad, needle in [({"security": "none"}, "security must be tls or starttls"),
                            ({"batch_size": "0"}, "batch_size must be a number from 1 to 500"),
                            ({"port": "99999"}, "port must be a number"),
                            ({"ca_file": "/nonexistent.pem"}, "ca_file /nonexistent.pem cannot be read"),
                            ({"password": ""}, "password is required")]:
            p = dict(ok)
            p.update(bad)
            r = validate(p)
            self.assertEqual(r.rc, 1, r)
            self.assertIn(needle, ET.fromstring(r.out).findtext("message"))

    def test_splunk_run(self):
        params = {"server": "127.0.0.1", "port": str(self.d.imaps), "ca_file": self.d.ca,
                  "username": self.d.user, "password": self.d.v["DOVETEST_PASS"],
                  "mailbox": "INBOX", "search": "UID 1:3", "resolve_ip": "0"}
        r = run("dmarc_imap", [], stdin=input_xml("dmarc_imap://mail", params, self.ck))
        self.assertEqual(r.rc, 0, r)
        stream = ET.fromstring(r.out)
        evs = stream.findall("event")
        self.assertEqual(len(evs), 2 + 3, r)
        self.assertEqual(evs[0].get("stanza"), "dmarc_imap://mail")
        self.assertEqual(evs[0].findtext("sourcetype"), "dmarc")
        self.assertEqual(evs[0].findtext("index"), "dmarc")
        r = run("dmarc_imap", [], stdin=input_xml("dmarc_imap://mail", params, self.ck))
        self.assertEqual((r.rc, r.out.count(b"<event")), (0, 0), r)


if __name__ == "__main__":
    main()

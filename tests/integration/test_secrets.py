"""Secrets (issue 5): every input runs at DEBUG with credentials of
recognisable values, and none of them turns up in stdout, stderr, the
events, the checkpoint files or /proc/<pid>/cmdline (sampled while the
process runs against a slow server).  Splunk mode too: the password and
splunkd's session key come in the stanza on stdin.

Inputs covered: dmarc_directory (no credential of its own; splunkd's
session key), dmarc_imap and dmarc_pop3 (password).  dmarc_imap_oauth2
(refresh token, client secret) is not in this tree yet."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from mailtest import Dovecot, shapes
from tapp import SRCDIR, exe_path, input_xml, main, make_report, run, write

sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
from hostile_server import HostileServer  # noqa: E402
from test_hostile_servers import make_certs  # noqa: E402

PASSWORD = "Secret-Pw-9d2b71e4c0"
SESSION_KEY = "SessionKey-4c8e1a99f3d2"
SECRETS = [PASSWORD, SESSION_KEY]


def variants(s):
    """The secret as it could leak: itself, and base64 of what carries it
    (AUTHENTICATE PLAIN's \\0user\\0pass)."""
    import base64
    out = [s.encode()]
    for pre in (b"", b"\0testuser\0", b"testuser\0testuser\0"):
        out.append(base64.b64encode(pre + s.encode()).rstrip(b"="))
    return out


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="secrets-")
        cls.ca, cls.certs = make_certs(cls.tmp)
        cls.d = Dovecot({"DOVETEST_PASS": PASSWORD})
        cls.d.add("INBOX", [m for name, m, _ in shapes() if name in ("zip", "gz", "xml")])

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        shutil.rmtree(cls.tmp)

    def assert_clean(self, what, blob):
        for s in SECRETS:
            for v in variants(s):
                self.assertNotIn(v, blob, "%s leaks %r" % (what, v))

    def checkpoint_blob(self, ck):
        out = b""
        for root, _, files in os.walk(ck):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    out += fh.read()
        return out

    def mail_args(self, proto, ck, port=None, ca=None, extra=()):
        port = port or (self.d.imaps if proto == "imap" else self.d.pop3s)
        return ["--server", "127.0.0.1", "--port", str(port), "--username", self.d.user,
                "--password-file", self.d.pwfile, "--checkpoint-dir", ck, "--no-resolve-ip",
                "--ca-file", ca or self.d.ca, "--log-level", "debug"] + list(extra)

    def test_mail_inputs_cli_debug(self):
        for proto in ("imap", "pop3"):
            ck = tempfile.mkdtemp(dir=self.tmp)
            r = run("dmarc_" + proto, self.mail_args(proto, ck))
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(len(r.events()), 2 + 3 + 1, r)
            self.assertIn(b"DEBUG", r.err)          # it did run at debug
            self.assert_clean(proto + " stdout", r.out)
            self.assert_clean(proto + " stderr", r.err)
            self.assert_clean(proto + " checkpoints", self.checkpoint_blob(ck))
            # and a failed login does not echo what was tried
            bad = os.path.join(self.tmp, "badpw")
            with open(bad, "w") as f:
                f.write(PASSWORD + "-wrong\n")
            a = self.mail_args(proto, ck)
            a[a.index("--password-file") + 1] = bad
            r = run("dmarc_" + proto, a)
            self.assertEqual(r.rc, 1, r)
            self.assert_clean(proto + " failed-login stderr", r.err)

    def test_mail_inputs_splunk_mode(self):
        for proto in ("imap", "pop3"):
            ck = tempfile.mkdtemp(dir=self.tmp)
            params = {"server": "127.0.0.1", "username": self.d.user, "password": PASSWORD,
                      "port": str(self.d.imaps if proto == "imap" else self.d.pop3s),
                      "ca_file": self.d.ca, "resolve_ip": "0"}
            stdin = input_xml("dmarc_%s://s" % proto, params, ck)
            r = run("dmarc_" + proto, [], stdin=stdin)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.out.count(b"<event"), 2 + 3 + 1, r)
            self.assertIn(SESSION_KEY.encode(), stdin.replace(b"123102983109283019283",
                                                             SESSION_KEY.encode()))
            stdin = stdin.replace(b"123102983109283019283", SESSION_KEY.encode())
            ck2 = tempfile.mkdtemp(dir=self.tmp)
            stdin = stdin.replace(ck.encode(), ck2.encode())
            r = run("dmarc_" + proto, [], stdin=stdin)
            self.assertEqual(r.rc, 0, r)
            for what, blob in (("stdout", r.out), ("stderr", r.err),
                               ("checkpoints", self.checkpoint_blob(ck2))):
                self.assert_clean("splunk-mode %s %s" % (proto, what), blob)
            # --validate-arguments answers about the password without quoting it
            r = run("dmarc_" + proto, ["--validate-arguments"],
                    stdin=input_xml("dmarc_%s://s" % proto, dict(params, port="99999"), ck, validation=True))
            self.assertEqual(r.rc, 1, r)
            self.assert_clean("validation " + proto, r.out + r.err)

    def test_directory_splunk_mode(self):
        d = os.path.join(self.tmp, "reports")
        os.mkdir(d)
        write(os.path.join(d, "a.xml"), make_report(report_id="a"))
        ck = tempfile.mkdtemp(dir=self.tmp)
        stdin = input_xml("dmarc_directory://d", {"dmarc_directory": d, "quiet_time": "0",
                                                  "resolve_ip": "0"}, ck)
        stdin = stdin.replace(b"123102983109283019283", SESSION_KEY.encode())
        r = run("dmarc_directory", [], stdin=stdin)
        self.assertEqual((r.rc, r.out.count(b"<event")), (0, 1), r)
        for what, blob in (("stdout", r.out), ("stderr", r.err),
                           ("checkpoints", self.checkpoint_blob(ck))):
            self.assert_clean("dmarc_directory " + what, blob)

    def test_cmdline_while_running(self):
        """/proc/<pid>/cmdline and environ, sampled while each mail input
        waits on a server that answers one byte a second."""
        for proto in ("imap", "pop3"):
            srv = HostileServer(proto, "trickle", self.d.imap if proto == "imap" else self.d.pop3,
                                cert=self.certs["good"][0], key=self.certs["good"][1])
            ck = tempfile.mkdtemp(dir=self.tmp)
            cmd = [exe_path("dmarc_" + proto)] + self.mail_args(
                proto, ck, port=srv.port, ca=self.ca, extra=["--timeout-ms", "1500"])
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            samples = []

            def sample():
                while p.poll() is None:
                    try:
                        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                            samples.append(f.read())
                        with open("/proc/%d/environ" % p.pid, "rb") as f:
                            samples.append(f.read())
                    except OSError:
                        pass
                    time.sleep(0.05)
            t = threading.Thread(target=sample)
            t.start()
            out, err = p.communicate(timeout=60)
            t.join()
            srv.close()
            self.assertGreater(len(samples), 20, "the process ended too soon to be sampled")
            self.assertTrue(any(b"--password-file" in s for s in samples))
            # the password did go to the server (over verified TLS): the
            # process held it while it was sampled
            self.assertIn(PASSWORD.encode(), srv.all_received())
            for s in samples:
                self.assert_clean(proto + " /proc", s)
            self.assert_clean(proto + " stderr", err)
            self.assert_clean(proto + " stdout", out)


if __name__ == "__main__":
    main()

"""Secrets (issue 5): every input runs at DEBUG with credentials of
recognisable values, and none of them turns up in stdout, stderr, the
events, the checkpoint files or /proc/<pid>/cmdline (sampled while the
process runs against a slow server).  Splunk mode too: the password and
splunkd's session key come in the stanza on stdin.

Inputs covered: dmarc_directory (no credential of its own; splunkd's
session key), dmarc_imap and dmarc_pop3 (password), dmarc_imap_oauth2
(client secret, refresh token, and the access tokens it gets)."""
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


OAUTH_SERVER = os.path.join(SRCDIR, "tests", "lib", "oauth_server.py")
CLIENT_ID = "secrets-client"
CLIENT_SECRET = "ClientSecret-b7e2f05a91"
REFRESH = "RefreshTok-3f6c0d8e27"


class OAuth2SecretsTest(SecretsTest):
    """dmarc_imap_oauth2 with both grants at DEBUG, in CLI and Splunk mode."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="secrets-oa-")
        cls.ca, cls.certs = make_certs(cls.tmp)
        cls.srvlog = open(os.path.join(cls.tmp, "server.log"), "wb")
        cls.srv = subprocess.Popen(
            [sys.executable, OAUTH_SERVER, "--client", "%s:%s" % (CLIENT_ID, CLIENT_SECRET),
             "--refresh-token", "%s:%s" % (CLIENT_ID, REFRESH), "--user", "testuser"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=cls.srvlog)
        line = cls.srv.stdout.readline().decode()
        assert line.startswith("OAUTH_PORT="), line
        cls.base = "http://127.0.0.1:%d" % int(line.split("=", 1)[1])
        cls.d = Dovecot({"DOVETEST_OAUTH": "introspect",
                         "DOVETEST_INTROSPECT_URL": cls.base + "/introspect",
                         "DOVETEST_USER": "testuser"})
        cls.d.add("INBOX", [m for name, m, _ in shapes() if name in ("zip", "gz")])
        cls.files = {}
        for name, v in (("secret", CLIENT_SECRET), ("refresh", REFRESH)):
            cls.files[name] = os.path.join(cls.tmp, name)
            with open(cls.files[name], "w") as f:
                f.write(v + "\n")
            os.chmod(cls.files[name], 0o600)
        global SECRETS
        cls.saved = list(SECRETS)
        SECRETS[:] = [CLIENT_SECRET, REFRESH, SESSION_KEY]

    @classmethod
    def tearDownClass(cls):
        SECRETS[:] = cls.saved
        cls.d.stop()
        cls.srv.kill()
        cls.srv.wait()
        cls.srv.stdout.close()
        cls.srvlog.close()
        shutil.rmtree(cls.tmp)

    def setUp(self):
        import json
        import urllib.request
        # the endpoint rotates refresh tokens: each test starts from REFRESH
        req = urllib.request.Request(self.base + "/control", data=json.dumps({"reset": True}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def oauth_args(self, ck, grant, port=None, ca=None):
        a = ["--server", "127.0.0.1", "--port", str(port or self.d.imaps),
             "--ca-file", ca or self.d.ca, "--username", "testuser", "--client-id", CLIENT_ID,
             "--checkpoint-dir", ck, "--no-resolve-ip", "--log-level", "debug",
             "--client-secret-file", self.files["secret"]]
        if grant == "cc":
            return a + ["--authority", self.base + "/tenant-1234"]
        return a + ["--token-url", self.base + "/token", "--refresh-token-file", self.files["refresh"]]

    def access_tokens(self, ck):
        """The access tokens the run was given (from its 0600 cache): they
        are secrets too, everywhere but in that cache."""
        import json
        out = []
        for f in os.listdir(ck):
            if f.startswith("oauth2-token-") and f.endswith(".json"):
                p = os.path.join(ck, f)
                self.assertEqual(os.stat(p).st_mode & 0o077, 0, "token cache not 0600")
                with open(p) as fh:
                    doc = json.load(fh)
                out += [v for k, v in doc.items() if k in ("access_token", "refresh_token", "token")
                        and isinstance(v, str) and len(v) > 8]
                with open(p, "rb") as fh:
                    body = fh.read()
                self.assertNotIn(CLIENT_SECRET.encode(), body)
        return out

    def checkpoint_blob(self, ck):
        out = b""
        for root, _, files in os.walk(ck):
            for f in files:
                if f.startswith("oauth2-token-"):
                    continue     # the token cache: checked in access_tokens
                with open(os.path.join(root, f), "rb") as fh:
                    out += fh.read()
        return out

    def test_mail_inputs_cli_debug(self):
        for grant in ("cc", "refresh"):
            ck = tempfile.mkdtemp(dir=self.tmp)
            r = run("dmarc_imap_oauth2", self.oauth_args(ck, grant))
            self.assertEqual((r.rc, len(r.events())), (0, 5), r)
            self.assertIn(b"DEBUG", r.err)
            toks = self.access_tokens(ck)
            self.assertTrue(toks, "no token cached")
            for what, blob in (("stdout", r.out), ("stderr", r.err),
                               ("checkpoints", self.checkpoint_blob(ck))):
                self.assert_clean("oauth2 %s %s" % (grant, what), blob)
                for t in toks:
                    self.assertNotIn(t.encode(), blob, "access token in %s" % what)

    def test_mail_inputs_splunk_mode(self):
        ck = tempfile.mkdtemp(dir=self.tmp)
        params = {"server": "127.0.0.1", "port": str(self.d.imaps), "ca_file": self.d.ca,
                  "username": "testuser", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                  "refresh_token": REFRESH, "token_url": self.base + "/token", "resolve_ip": "0"}
        stdin = input_xml("dmarc_imap_oauth2://o", params, ck).replace(
            b"123102983109283019283", SESSION_KEY.encode())
        r = run("dmarc_imap_oauth2", [], stdin=stdin)
        self.assertEqual((r.rc, r.out.count(b"<event")), (0, 5), r)
        for what, blob in (("stdout", r.out), ("stderr", r.err),
                           ("checkpoints", self.checkpoint_blob(ck))):
            self.assert_clean("oauth2 splunk-mode " + what, blob)

    def test_directory_splunk_mode(self):
        pass     # covered by SecretsTest

    def test_cmdline_while_running(self):
        srv = HostileServer("imap", "trickle", self.d.imap, cert=self.certs["good"][0],
                            key=self.certs["good"][1])
        ck = tempfile.mkdtemp(dir=self.tmp)
        cmd = [exe_path("dmarc_imap_oauth2")] + self.oauth_args(
            ck, "refresh", port=srv.port, ca=self.ca) + ["--timeout-ms", "1500"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        samples = []

        def sample():
            while p.poll() is None:
                for f in ("cmdline", "environ"):
                    try:
                        with open("/proc/%d/%s" % (p.pid, f), "rb") as fh:
                            samples.append(fh.read())
                    except OSError:
                        pass
                time.sleep(0.05)
        t = threading.Thread(target=sample)
        t.start()
        out, err = p.communicate(timeout=60)
        t.join()
        srv.close()
        self.assertGreater(len(samples), 20)
        self.assertIn(b"AUTHENTICATE XOAUTH2", srv.all_received())
        toks = self.access_tokens(ck)
        for s in samples + [out, err]:
            self.assert_clean("oauth2 /proc or output", s)
            for tk in toks:
                self.assertNotIn(tk.encode(), s)


if __name__ == "__main__":
    main()

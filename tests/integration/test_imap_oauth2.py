"""dmarc_imap_oauth2 end to end: a local token endpoint (tests/lib/
oauth_server.py) and a Dovecot whose oauth2 passdb introspects every token
at that endpoint.  Client credentials (Microsoft style authority) and
refresh token (Gmail style token URL); the token cache (0600, reused while
valid, not past its margin); a bad, an expired and a revoked token refused
by the server and replaced once; a token refused twice; a wrong client
secret; secrets never on the command line nor in any output."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import xml.etree.ElementTree as ET

from mailtest import Dovecot, shapes
from tapp import SRCDIR, input_xml, main, run

OAUTH_SERVER = os.path.join(SRCDIR, "tests", "lib", "oauth_server.py")
CLIENT_ID = "dmarc-it-client"
SECRET = "Cl13nt-S3cret-IT-7d1e"
REFRESH = "RT-IT-refresh-99ab"
SCOPE = "https://outlook.office365.com/.default"
SECRETS = (SECRET.encode(), REFRESH.encode())


class OAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="oa-it-")
        cls.srv = None
        cls.d = None
        try:
            cls._setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        cls.srvlog = open(os.path.join(cls.tmp, "server.log"), "wb")
        cls.srv = subprocess.Popen(
            [sys.executable, OAUTH_SERVER, "--client", "%s:%s" % (CLIENT_ID, SECRET),
             "--refresh-token", "%s:%s" % (CLIENT_ID, REFRESH), "--user", "testuser"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=cls.srvlog)
        line = cls.srv.stdout.readline().decode()
        assert line.startswith("OAUTH_PORT="), line
        cls.port = int(line.split("=", 1)[1])
        cls.base = "http://127.0.0.1:%d" % cls.port
        cls.d = Dovecot({"DOVETEST_OAUTH": "introspect",
                         "DOVETEST_INTROSPECT_URL": cls.base + "/introspect",
                         "DOVETEST_USER": "testuser"})
        by = {name: m for name, m, _ in shapes()}
        cls.d.add("INBOX", [by["zip"], by["gz"]])   # 2 + 3 events
        cls.secret_file = os.path.join(cls.tmp, "secret")
        cls.rt_file = os.path.join(cls.tmp, "refresh")
        for p, v in ((cls.secret_file, SECRET), (cls.rt_file, REFRESH)):
            with open(p, "w") as f:
                f.write(v + "\n")
            os.chmod(p, 0o600)

    @classmethod
    def tearDownClass(cls):
        if cls.d:
            cls.d.stop()
        if cls.srv:
            cls.srv.kill()
            cls.srv.wait()
            cls.srv.stdout.close()
            cls.srvlog.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ck = tempfile.mkdtemp(prefix="oa-ck-")
        self.control({"reset": True})
        self.outputs = []

    def tearDown(self):
        # no secret in anything the input printed, whatever the test did
        for out in self.outputs:
            for s in SECRETS:
                self.assertNotIn(s, out)
        shutil.rmtree(self.ck)

    def control(self, d):
        req = urllib.request.Request(self.base + "/control", data=json.dumps(d).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def stats(self):
        return json.loads(urllib.request.urlopen(self.base + "/stats", timeout=10).read())

    def run_oauth(self, extra=(), grant="cc", user="testuser"):
        a = ["--server", "127.0.0.1", "--port", str(self.d.imaps), "--ca-file", self.d.ca,
             "--username", user, "--client-id", CLIENT_ID, "--checkpoint-dir", self.ck,
             "--no-resolve-ip"]
        if grant == "cc":
            a += ["--authority", self.base + "/tenant-1234", "--client-secret-file",
                  self.secret_file]
        else:
            # Gmail style: a confidential client refreshing a user's grant
            a += ["--token-url", self.base + "/token", "--refresh-token-file", self.rt_file,
                  "--client-secret-file", self.secret_file]
        r = run("dmarc_imap_oauth2", a + list(extra))
        self.outputs += [r.out, r.err]
        return r

    def cache_file(self):
        files = [f for f in os.listdir(self.ck)
                 if f.startswith("oauth2-token-") and f.endswith(".json")]
        self.assertEqual(len(files), 1, os.listdir(self.ck))
        return os.path.join(self.ck, files[0])

    def edit_cache(self, **kv):
        p = self.cache_file()
        with open(p) as f:
            doc = json.load(f)
        doc.update(kv)
        with open(p, "w") as f:   # in place: owner and mode 0600 stay
            json.dump(doc, f)

    def test_client_credentials_and_cache(self):
        r = self.run_oauth()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.events()), 5, r)
        st = self.stats()
        self.assertEqual(st["token_requests"], 1, st)
        self.assertEqual(st["by_grant"], {"client_credentials": 1}, st)
        self.assertEqual(st["last_scope"], SCOPE)       # the M365 default
        self.assertEqual(st["last_client_id"], CLIENT_ID)
        self.assertGreaterEqual(st["introspect_active"], 1, st)
        # cached, 0600, and holding no client secret
        p = self.cache_file()
        self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600)
        with open(p, "rb") as f:
            self.assertNotIn(SECRET.encode(), f.read())
        # second run: nothing new, and the cached token is used
        r = self.run_oauth()
        self.assertEqual((r.rc, r.events()), (0, []), r)
        self.assertIn(b"from the cache", r.err)
        self.assertEqual(self.stats()["token_requests"], 1)

    def test_short_lived_token_is_not_reused(self):
        # valid for 200 s: inside the 300 s margin, so each run gets a new one
        self.control({"expires_in": 200})
        for i in (1, 2):
            r = self.run_oauth()
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(self.stats()["token_requests"], i)

    def test_bad_token_is_replaced_once(self):
        self.assertEqual(self.run_oauth().rc, 0)
        self.edit_cache(access_token="not-a-token-this-server-issued")
        r = self.run_oauth(extra=["--search", "UID 1"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"getting a new token", r.err)
        self.assertEqual(self.stats()["token_requests"], 2)

    def test_expired_token_is_replaced(self):
        # the server's token expires in 2 s but our cache believes an hour
        # (clock skew, early expiry): Dovecot refuses it, a new one is fetched
        self.control({"expires_in": 2})
        self.assertEqual(self.run_oauth().rc, 0)
        self.edit_cache(expires_at=int(time.time()) + 3600)
        time.sleep(2.5)
        r = self.run_oauth()
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"refused", r.err)
        self.assertEqual(self.stats()["token_requests"], 2)

    def test_revoked_token_is_replaced(self):
        self.assertEqual(self.run_oauth().rc, 0)
        self.control({"revoke": True})
        r = self.run_oauth()
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"getting a new token", r.err)
        self.assertEqual(self.stats()["token_requests"], 2)

    def test_refused_twice_fails(self):
        # tokens are for testuser: logging in as someone else never works,
        # and exactly one new token is tried
        r = self.run_oauth(user="someoneelse")
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"XOAUTH2 login as someoneelse failed", r.err)
        self.assertEqual(self.stats()["token_requests"], 2)

    def test_wrong_client_secret(self):
        bad = os.path.join(self.tmp, "badsecret")
        with open(bad, "w") as f:
            f.write("wrong-secret\n")
        r = self.run_oauth(extra=["--client-secret-file", bad])
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"no OAuth2 access token", r.err)
        self.assertIn(b"HTTP 401", r.err)
        self.assertIn(b"invalid_client", r.err)
        self.assertNotIn(b"wrong-secret", r.err)

    def test_refresh_token_grant_with_rotation(self):
        r = self.run_oauth(grant="rt")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.events()), 5, r)
        st = self.stats()
        self.assertEqual(st["by_grant"], {"refresh_token": 1}, st)
        self.assertIsNone(st["last_scope"])   # none sent: the grant's own
        # the server rotated the refresh token and voided the first one: a
        # forced refresh only works with the rotated one from the cache
        self.edit_cache(access_token="stale")
        r = self.run_oauth(grant="rt")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.stats()["by_grant"], {"refresh_token": 2})
        with open(self.cache_file(), "rb") as f:
            self.assertNotIn(REFRESH.encode(), f.read())

    def test_secrets_never_on_the_command_line(self):
        for opt in ("--client-secret", "--refresh-token", "--password"):
            r = run("dmarc_imap_oauth2", ["--server", "x", "--username", "u", opt, "s3cr3t-xyz"])
            self.assertEqual(r.rc, 2, r)
            self.assertIn(b"never accepted on the command line", r.err)
            self.assertNotIn(b"s3cr3t-xyz", r.err)

    def test_usage_errors(self):
        base = ["--server", "127.0.0.1", "--username", "u", "--checkpoint-dir", self.ck]
        for extra, needle in [
                ([], b"client id is required"),
                (["--client-id", "c"], b"client secret"),
                (["--client-id", "c", "--client-secret-file", self.secret_file],
                 b"needs an authority"),
                (["--client-id", "c", "--refresh-token-file", self.rt_file],
                 b"needs the token URL"),
                (["--client-id", "c", "--client-secret-file", "/nonexistent",
                  "--authority", self.base + "/t"], b"cannot read the client secret file"),
                (["--client-id", "c", "--client-secret-file", self.secret_file,
                  "--authority", "http://login.example.com/t"], b"http")]:
            r = run("dmarc_imap_oauth2", base + extra)
            self.outputs.append(r.err)
            self.assertEqual(r.rc, 2, (extra, r))
            self.assertIn(needle, r.err)

    def test_no_tls_no_token(self):
        # a token is never sent over a connection that is not TLS
        r = self.run_oauth(extra=["--port", str(self.d.imap)])
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(self.stats()["introspect_requests"], 0)

    def test_scheme_validation_and_splunk_run(self):
        r = run("dmarc_imap_oauth2", ["--scheme"])
        self.assertEqual(r.rc, 0, r)
        names = {a.get("name") for a in ET.fromstring(r.out).iter("arg")}
        self.assertTrue({"imap_server", "imap_username", "oauth2_authority", "oauth2_scope",
                         "client_id", "client_secret", "refresh_token", "token_url",
                         "validate_dkim", "dns_server"} <= names, names)
        params = {"imap_server": "127.0.0.1", "port": str(self.d.imaps), "ca_file": self.d.ca,
                  "imap_username": "testuser", "oauth2_authority": self.base + "/tenant-1234",
                  "client_id": CLIENT_ID, "client_secret": SECRET, "resolve_ip": "0"}

        def validate(p):
            return run("dmarc_imap_oauth2", ["--validate-arguments"],
                       stdin=input_xml("dmarc_imap_oauth2://x", p, self.ck, validation=True))
        r = validate(params)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = validate({k: v for k, v in params.items() if k != "client_id"})
        self.assertEqual(r.rc, 1, r)
        self.assertIn("client id is required", ET.fromstring(r.out).findtext("message"))
        # imap_server defaults to Microsoft's, on the command line too
        r = validate({k: v for k, v in params.items() if k != "imap_server"})
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = run("dmarc_imap_oauth2", ["--help"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"[--server HOST]", r.out)
        self.assertIn(b"--server HOST             the IMAP server (default "
                      b"outlook.office365.com)", r.out)
        r = run("dmarc_imap", ["--help"])
        self.assertIn(b"Usage: dmarc_imap --server HOST", r.out)
        r = run("dmarc_imap_oauth2", [],
                stdin=input_xml("dmarc_imap_oauth2://m365", params, self.ck))
        self.outputs += [r.out, r.err]
        self.assertEqual(r.rc, 0, r)
        evs = ET.fromstring(r.out).findall("event")
        self.assertEqual(len(evs), 5, r)
        self.assertEqual(evs[0].get("stanza"), "dmarc_imap_oauth2://m365")
        self.assertEqual(self.stats()["by_grant"], {"client_credentials": 1})
        self.cache_file()   # the cache went to the checkpoint directory


if __name__ == "__main__":
    main()

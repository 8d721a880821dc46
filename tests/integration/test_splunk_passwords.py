"""Secrets kept in splunkd's storage/passwords instead of inputs.conf: a
stanza whose password (client_secret, refresh_token) is a mask ("****")
has it read, with the session key splunkd gave the input, from
storage/passwords (realm TA-dmarc-c, user = the input's stanza name),
through a stand-in for splunkd's REST API (tests/lib/splunkd_stub.py,
HTTPS with a self-signed certificate on 127.0.0.1).  Checked: dmarc_imap
and dmarc_pop3 log in with it (the secret as such, or a JSON object),
dmarc_imap_oauth2 gets its client secret the same way, --validate-arguments
reads it too, a wrong session key and a missing entry end the run with a
clear error, and neither the secret nor the session key shows in any
output."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from mailtest import Dovecot, shapes
from tapp import SRCDIR, input_xml, main, run

STUB = os.path.join(SRCDIR, "tests", "lib", "splunkd_stub.py")
OAUTH_SERVER = os.path.join(SRCDIR, "tests", "lib", "oauth_server.py")
SESSION_KEY = "Sk-4f1d2e9a7b3c-session"
PASSWORD = "StoredPw-91d0c3e7"
CLIENT_ID = "pw-client"
CLIENT_SECRET = "Stored-Client-Secret-5a2e"
MASK = "********"


def start(cmd, tmp, name):
    log = open(os.path.join(tmp, name + ".log"), "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    line = p.stdout.readline().decode()
    assert "=" in line, line
    return p, int(line.split("=", 1)[1]), log


class SplunkPasswords(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="splunkpw-")
        cls.procs = []
        cls.d = cls.od = None
        try:
            cls._setup()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _setup(cls):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", "k.pem", "-out", "c.pem", "-days", "2",
                        "-subj", "/CN=SplunkServerDefaultCert"],
                       cwd=cls.tmp, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        entries = [
            {"realm": "TA-dmarc-c", "username": "dmarc_imap://plain", "clear_password": PASSWORD},
            {"realm": "TA-dmarc-c", "username": "dmarc_pop3://json",
             "clear_password": json.dumps({"password": PASSWORD})},
            {"realm": "TA-dmarc-c", "username": "dmarc_imap_oauth2://m365",
             "clear_password": json.dumps({"client_secret": CLIENT_SECRET})},
            # same user, another realm: must not be taken
            {"realm": "other-app", "username": "dmarc_imap://other", "clear_password": "nope"},
        ]
        with open(os.path.join(cls.tmp, "entries.json"), "w") as f:
            json.dump(entries, f)
        p, cls.port, log = start([sys.executable, STUB, "--cert", os.path.join(cls.tmp, "c.pem"),
                                  "--key", os.path.join(cls.tmp, "k.pem"),
                                  "--session-key", SESSION_KEY,
                                  "--entries", os.path.join(cls.tmp, "entries.json")],
                                 cls.tmp, "splunkd")
        cls.procs.append((p, log))
        cls.uri = "https://127.0.0.1:%d" % cls.port
        cls.d = Dovecot({"DOVETEST_PASS": PASSWORD})
        by = {name: m for name, m, _ in shapes()}
        cls.d.add("INBOX", [by["zip"], by["gz"]])          # 2 + 3 events
        p, oport, log = start([sys.executable, OAUTH_SERVER, "--client",
                               "%s:%s" % (CLIENT_ID, CLIENT_SECRET), "--user", "testuser"],
                              cls.tmp, "oauth")
        cls.procs.append((p, log))
        cls.obase = "http://127.0.0.1:%d" % oport
        cls.od = Dovecot({"DOVETEST_OAUTH": "introspect",
                          "DOVETEST_INTROSPECT_URL": cls.obase + "/introspect",
                          "DOVETEST_USER": "testuser"})
        cls.od.add("INBOX", [by["zip"]])                   # 2 events

    @classmethod
    def tearDownClass(cls):
        for d in (cls.d, cls.od):
            if d:
                d.stop()
        for p, log in cls.procs:
            p.kill()
            p.wait()
            p.stdout.close()
            log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.ck = tempfile.mkdtemp(prefix="ck-", dir=self.tmp)

    def modinput(self, exe, stanza, params, key=SESSION_KEY, validation=False):
        args = ["--validate-arguments"] if validation else []
        r = run(exe, args, stdin=input_xml(stanza, params, self.ck, validation=validation,
                                          server_uri=self.uri, session_key=key))
        blob = r.out + r.err
        for secret in (PASSWORD, CLIENT_SECRET, SESSION_KEY):
            self.assertNotIn(secret.encode(), blob, "%s leaked by %s" % (secret, exe))
        return r

    def imap_params(self, **kw):
        p = {"server": "127.0.0.1", "port": str(self.d.imaps), "ca_file": self.d.ca,
             "username": self.d.user, "password": MASK, "resolve_ip": "0"}
        p.update(kw)
        return p

    def test_imap_password_from_storage(self):
        r = self.modinput("dmarc_imap", "dmarc_imap://plain", self.imap_params())
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(ET.fromstring(r.out).findall("event")), 5, r)

    def test_pop3_password_as_json(self):
        p = {"server": "127.0.0.1", "port": str(self.d.pop3s), "ca_file": self.d.ca,
             "username": self.d.user, "password": "*", "resolve_ip": "0"}
        r = self.modinput("dmarc_pop3", "dmarc_pop3://json", p)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(ET.fromstring(r.out).findall("event")), 5, r)

    def test_validation_reads_it_too(self):
        r = self.modinput("dmarc_imap", "dmarc_imap://plain", self.imap_params(), validation=True)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = self.modinput("dmarc_imap", "dmarc_imap://missing", self.imap_params(),
                          validation=True)
        self.assertEqual(r.rc, 1, r)
        msg = ET.fromstring(r.out).findtext("message")
        self.assertIn('storage/passwords has no password for it: store it as user '
                      '"dmarc_imap://missing" in realm TA-dmarc-c', msg)

    def test_wrong_session_key(self):
        r = self.modinput("dmarc_imap", "dmarc_imap://plain", self.imap_params(),
                          key="not-the-key")
        self.assertEqual(r.rc, 2, r)
        self.assertIn(b"refused the session key for storage/passwords (HTTP 401)", r.err)
        self.assertEqual(r.out.count(b"<event"), 0)

    def test_other_realm_not_taken(self):
        r = self.modinput("dmarc_imap", "dmarc_imap://other", self.imap_params())
        self.assertEqual(r.rc, 2, r)
        self.assertIn(b"storage/passwords has no password for it", r.err)

    def test_clear_password_still_works(self):
        # a password written in the stanza is used as is: splunkd is not asked
        r = self.modinput("dmarc_imap", "dmarc_imap://plain",
                          self.imap_params(password=PASSWORD), key="not-the-key")
        self.assertEqual(r.rc, 0, r)

    def test_oauth2_client_secret_from_storage(self):
        p = {"server": "127.0.0.1", "port": str(self.od.imaps), "ca_file": self.od.ca,
             "username": "testuser", "client_id": CLIENT_ID, "client_secret": MASK,
             "oauth2_authority": self.obase + "/tenant-1", "resolve_ip": "0"}
        r = self.modinput("dmarc_imap_oauth2", "dmarc_imap_oauth2://m365", p)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(ET.fromstring(r.out).findall("event")), 2, r)


if __name__ == "__main__":
    main()

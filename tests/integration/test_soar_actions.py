"""soar_imap action mode: the SOAR JSON protocol, the local store, get email
by container_id, and (under tests/lib/dovecot.sh run) test connectivity and
get email by id against a throwaway Dovecot on 127.0.0.1."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import unittest

import soar_ref
from tapp import SRCDIR, main, run

DOVE = os.environ.get("DOVETEST_DIR")
DOVESH = os.path.join(SRCDIR, "tests", "lib", "dovecot.sh")
PDF = b"%PDF-1.4\n" + b"x" * 3000

MAIL1 = ("From: Alice <alice@sender.example.com>\r\n"
         "To: Bob <bob@rcpt.example.org>\r\n"
         "Subject: =?utf-8?Q?Quarterly_r=C3=A9sults?=\r\n"
         "Message-ID: <one@sender.example.com>\r\n"
         "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
         "MIME-Version: 1.0\r\n"
         'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
         "--b\r\nContent-Type: text/plain\r\n\r\n"
         "Report at https://reports.example.com/q1 from 192.0.2.44\r\n"
         "--b\r\nContent-Type: application/pdf\r\n"
         'Content-Disposition: attachment; filename="q1.pdf"\r\n'
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         base64.encodebytes(PDF).decode().replace("\n", "\r\n") +
         "--b--\r\n").encode()
MAIL2 = (b"From: Carol <carol@other.example.net>\r\nTo: Bob <bob@rcpt.example.org>\r\n"
         b"Subject: second\r\nMessage-ID: <two@x>\r\n\r\nplain 198.51.100.7\r\n")


def action(identifier, config, params, store, raw_input=None):
    doc = {"action": identifier.replace("_", " "), "identifier": identifier,
           "asset_id": "3", "config": config, "parameters": params}
    stdin = raw_input if raw_input is not None else json.dumps(doc).encode()
    r = run("soar_imap", ["--store", store], stdin=stdin)
    out = json.loads(r.out.decode())
    return r, out


class Protocol(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.store = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_bad_json(self):
        r, out = action("get_email", {}, [], self.store, raw_input=b'{"identifier": "get_email", ')
        self.assertEqual(r.rc, 1)
        self.assertEqual(out["status"], "failed")
        self.assertTrue(out["message"].startswith("Invalid action JSON: parse error"), out)
        self.assertEqual(out["result_summary"], {"total_objects": 1, "total_objects_successful": 0})
        r, out = action("x", {}, [], self.store, raw_input=b'[1, 2]')
        self.assertIn("not an object", out["message"])
        r, out = action("x", {}, [], self.store, raw_input=b'{"config": {}}')
        self.assertIn('"identifier" is missing', out["message"])

    def test_config_validation(self):
        cases = [
            ({"username": "u", "password": "p"}, "ERROR: server is a required parameter, please specify one."),
            ({"server": "h", "username": "u"}, "ERROR: password is a required parameter for Basic Authentication, please specify one."),
            ({"server": "h", "auth_type": "OAuth", "username": "u"}, "ERROR: client_id is a required parameter for OAuth Authentication, please specify one."),
            ({"server": "h", "auth_type": "Kerberos", "username": "u"}, "Please provide a valid authentication mechanism to use"),
            ({"server": "h:99999", "username": "u", "password": "p"}, "Please provide a valid port in server: h:99999"),
        ]
        for cfg, msg in cases:
            r, out = action("test_asset_connectivity", cfg, [{}], self.store)
            self.assertEqual(r.rc, 1)
            self.assertEqual(out["status"], "failed")
            self.assertEqual(out["result_data"][0]["message"], msg)
            self.assertEqual(out["message"], msg)

    def test_get_email_params(self):
        cfg = {"server": "127.0.0.1:1", "username": "u", "password": "p"}
        r, out = action("get_email", cfg, [{}, {"container_id": "abc"}, {"container_id": 99}], self.store)
        msgs = [x["message"] for x in out["result_data"]]
        self.assertEqual(msgs, ["Please specify either id or container_id to get the email",
                                "Please provide a valid integer value in the container_id parameter",
                                "Container 99 not found"])
        self.assertEqual(out["result_summary"], {"total_objects": 3, "total_objects_successful": 0})
        self.assertEqual(out["result_data"][1]["parameter"], {"container_id": "abc"})

    def test_unsupported_action(self):
        cfg = {"server": "h", "username": "u", "password": "p"}
        r, out = action("on_poll", cfg, [{}], self.store)
        self.assertEqual(out["message"], "Unsupported action: on_poll")


@unittest.skipUnless(DOVE, "needs tests/lib/dovecot.sh run")
class Dovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        files = []
        for i, m in enumerate([MAIL1, MAIL2]):
            p = os.path.join(cls.tmp.name, "m%d.eml" % i)
            with open(p, "wb") as f:
                f.write(m)
            files.append(p)
        subprocess.run([DOVESH, "add", DOVE, "INBOX", files[0]], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([DOVESH, "add", DOVE, "Work", files[1]], check=True, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.store = tempfile.mkdtemp(dir=self.tmp.name)

    def cfg(self, **kw):
        c = {"server": "127.0.0.1:%s" % os.environ["DOVETEST_IMAPS_PORT"],
             "username": os.environ["DOVETEST_USER"], "password": os.environ["DOVETEST_PASS"],
             "ca_file": os.environ["DOVETEST_CA"], "folder": "inbox",
             "app_version": "1.0", "directory": "/x", "main_module": "x.py",
             "ingest": {"container_label": "email"}}
        c.update(kw)
        return c

    def test_connectivity(self):
        r, out = action("test_asset_connectivity", self.cfg(), [{}], self.store)
        self.assertEqual(out["status"], "success", r)
        self.assertEqual(out["result_data"][0]["message"], "Connectivity test passed")
        self.assertIn("Selected folder 'inbox'", r.err.decode())
        # STARTTLS on the plain port
        r, out = action("test_asset_connectivity", self.cfg(
            server="127.0.0.1:%s" % os.environ["DOVETEST_IMAP_PORT"], use_ssl=False), [{}], self.store)
        self.assertEqual(out["status"], "success", r)
        # wrong password, unknown folder, untrusted certificate
        r, out = action("test_asset_connectivity", self.cfg(password="nope"), [{}], self.store)
        self.assertTrue(out["message"].startswith("Error logging in to server. Details:"), out)
        r, out = action("test_asset_connectivity", self.cfg(folder="Nope"), [{}], self.store)
        self.assertTrue(out["message"].startswith("Error selecting folder 'Nope'. Details:"), out)
        c = self.cfg()
        del c["ca_file"]
        r, out = action("test_asset_connectivity", c, [{}], self.store)
        self.assertTrue(out["message"].startswith("Error connecting to server. Details:"), out)
        self.assertIn("certificate", out["message"])

    def test_get_email_by_id_and_container(self):
        r, out = action("get_email", self.cfg(), [{"id": "1"}], self.store)
        self.assertEqual(out["status"], "success", r)
        res = out["result_data"][0]
        self.assertEqual(res["message"], "Email not ingested.")
        self.assertEqual(res["summary"], {})
        self.assertEqual(res["data"][0]["Subject"], "Quarterly r\u00e9sults")
        self.assertEqual(res["data"][0]["Message-ID"], "<one@sender.example.com>")
        self.assertFalse(os.path.exists(os.path.join(self.store, "containers", "1.json")))

        r, out = action("get_email", self.cfg(), [{"id": "1", "ingest_email": True}], self.store)
        res = out["result_data"][0]
        self.assertEqual(res["status"], "success", r)
        self.assertEqual(res["summary"], {"container_id": 1})
        self.assertEqual(res["message"], "Container id: 1")
        with open(os.path.join(self.store, "containers", "1.json")) as f:
            c = json.load(f)
        self.assertEqual(c["source_data_identifier"], soar_ref.folder_sdi("inbox", "1"))
        self.assertEqual(c["name"], "Quarterly r\u00e9sults")
        self.assertEqual(c["data"]["raw_email"], MAIL1.decode())
        names = [a["name"] for a in c["artifacts"]]
        self.assertEqual(names, ["IP Artifact", "URL Artifact", "Domain Artifact",
                                 "Email Artifact", "Vault Artifact"])
        email_art = c["artifacts"][3]
        self.assertEqual(email_art["cef"]["emailId"], "1")      # a string, as get email passes it
        py = soar_ref.walk_email_artifacts(MAIL1, "1")[0]
        self.assertEqual(email_art["source_data_identifier"], soar_ref.sdi(py))
        vault = c["artifacts"][4]
        self.assertEqual(vault["container_id"], 1)
        sha1 = hashlib.sha1(PDF).hexdigest()
        with open(os.path.join(self.store, "vault", sha1), "rb") as f:
            self.assertEqual(f.read(), PDF)
        # written a buffer at a time under a temporary name: none is left
        self.assertEqual(os.listdir(os.path.join(self.store, "vault")), [sha1])
        self.assertEqual(vault["source_data_identifier"], soar_ref.sdi(vault))

        # by container_id: headers from the stored raw_email, no IMAP at all
        bad = self.cfg(server="127.0.0.1:1")
        r, out = action("get_email", bad, [{"container_id": 1}], self.store)
        res = out["result_data"][0]
        self.assertEqual(res["status"], "success", r)
        self.assertEqual(res["data"][0]["From"], "Alice <alice@sender.example.com>")
        # re-ingesting finds the same container and adds nothing
        r, out = action("get_email", bad, [{"container_id": 1, "ingest_email": True}], self.store)
        self.assertEqual(out["result_data"][0]["summary"], {"container_id": 1}, r)
        with open(os.path.join(self.store, "containers", "1.json")) as f:
            self.assertEqual(len(json.load(f)["artifacts"]), 5)
        self.assertEqual(sorted(os.listdir(os.path.join(self.store, "containers"))), ["1.json"])

        # another folder through the parameter; the SDI hashes it as typed
        r, out = action("get_email", self.cfg(), [{"id": "1", "folder": "Work", "ingest_email": True}], self.store)
        self.assertEqual(out["result_data"][0]["summary"], {"container_id": 2}, r)
        with open(os.path.join(self.store, "containers", "2.json")) as f:
            c = json.load(f)
        self.assertEqual(c["source_data_identifier"], soar_ref.folder_sdi("Work", "1"))
        self.assertEqual([a["cef"].get("sourceAddress") for a in c["artifacts"]][:1], ["198.51.100.7"])

        # a UID that does not exist
        r, out = action("get_email", self.cfg(), [{"id": "77"}], self.store)
        self.assertEqual(out["status"], "failed")
        self.assertTrue(out["message"].startswith("Fetch for uuid: 77 failed"), out)


if __name__ == "__main__":
    main()

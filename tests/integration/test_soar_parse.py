"""soar_imap parse: emails written here, exact artifact sets expected.

Each email is built byte for byte in this file, so what it contains is
visible next to what must come out.  Email Artifacts, container names and
every source_data_identifier are also recomputed with soar_ref (Python's
own email package and json.dumps), so they are checked to be what the
Python connector makes."""
import base64
import hashlib
import json
import os
import tempfile
import unittest

import soar_ref
from tapp import main, run

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA512 = ("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
          "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
PDF = b"%PDF-1.4\n% test pdf\n" + bytes(range(256)) * 4
ZIP = b"PK\x03\x04" + b"\x00" * 60 + b"zip payload" * 10
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02" * 50


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def headers(subject="Test", extra=""):
    return ("From: Alice Sender <alice@sender.example.com>\n"
            "To: Bob <bob@rcpt.example.org>\n"
            "Subject: %s\n"
            "Date: Mon, 2 Mar 2026 10:00:00 +0000\n"
            "Message-ID: <m1@sender.example.com>\n"
            "Received: from mx1.example.net by mx2.example.net\n"
            "\tfor <bob@rcpt.example.org>; Mon, 2 Mar 2026 10:00:01 +0000\n"
            "Received: from client by mx1.example.net\n"
            "MIME-Version: 1.0\n%s" % (subject, extra))


def parse(raw, uid="42", folder=None):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.eml")
        with open(p, "wb") as f:
            f.write(raw)
        args = ["parse", "--uid", uid] + (["--folder", folder] if folder else []) + [p]
        r = run("soar_imap", args, timeout=300)
    if r.rc != 0:
        raise AssertionError("soar_imap parse failed: %r" % r)
    return json.loads(r.out.decode()), r


MAIL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mail")


def fixture(name):
    with open(os.path.join(MAIL, name), "rb") as f:
        return f.read()


def values(c, name, key):
    return [a["cef"][key] for a in c["artifacts"] if a["name"] == name]


class SoarParse(unittest.TestCase):
    def check_common(self, c, raw, uid="42", folder="inbox", name=None):
        """What every container must satisfy, whatever the email.  name:
        where the container name differs from Python's on purpose."""
        self.assertEqual(c["source_data_identifier"], soar_ref.folder_sdi(folder, uid))
        self.assertEqual(c["name"], name if name is not None
                         else soar_ref.container_name(raw, uid))
        self.assertFalse(c["run_automation"])
        try:                  # as the Python connector reads the bytes
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        self.assertEqual(c["data"]["raw_email"], text)
        arts = c["artifacts"]
        order = ["IP Artifact", "Hash Artifact", "URL Artifact", "Domain Artifact",
                 "Email Artifact", "External Body Artifact", "Email Limits Artifact",
                 "Vault Artifact"]
        ranks = [order.index(a["name"]) for a in arts]
        self.assertEqual(ranks, sorted(ranks), "artifact order")
        # run_automation: only the last artifact, or the last vault artifact
        flags = [a["run_automation"] for a in arts]
        self.assertEqual(flags, [False] * (len(arts) - 1) + [True])
        nvault = sum(a["name"] == "Vault Artifact" for a in arts)
        for i, a in enumerate(arts):
            b = dict(a)
            if a["name"] != "Vault Artifact":
                b["run_automation"] = False   # the SDI is made before the flag
            self.assertEqual(a["source_data_identifier"], soar_ref.sdi(b), a)
        # Email Artifacts of the MIME walk: exactly the Python connector's
        py = soar_ref.walk_email_artifacts(raw, int(uid))
        mine = [a for a in arts if a["name"] == "Email Artifact"][:len(py)]
        for p, m in zip(py, mine):
            p["source_data_identifier"] = soar_ref.sdi(p)
            m = {k: v for k, v in m.items() if k != "run_automation"}
            p.pop("run_automation")
            self.assertEqual(m, p)
        return nvault

    def test_alternative_html_and_text_urls(self):
        raw = crlf(headers(extra='Content-Type: multipart/alternative; boundary="alt"\n') +
                   "\n--alt\nContent-Type: text/plain; charset=utf-8\n\n"
                   "Click http://link.example.com/a?x=1 now. Server 192.0.2.10.\n"
                   "--alt\nContent-Type: text/html; charset=utf-8\n\n"
                   '<html><body><p>Click <a href="http://link.example.com/a?x=1">here</a>'
                   ' or see http://texturl.example.net/page.</p>'
                   '<img src="https://img.example.org/t.gif">'
                   '<a href="mailto:help@support.example.com?subject=x">mail</a>'
                   "</body></html>\n--alt--\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["192.0.2.10"])
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://link.example.com/a?x=1", "https://img.example.org/t.gif",
                          "http://texturl.example.net/page"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["link.example.com", "img.example.org", "support.example.com",
                          "texturl.example.net"])
        self.assertEqual(values(c, "Hash Artifact", "fileHash"), [])
        self.assertEqual(len(values(c, "Email Artifact", "emailHeaders")), 1)
        self.assertEqual(values(c, "Vault Artifact", "fileName"), [])
        ea = [a for a in c["artifacts"] if a["name"] == "Email Artifact"][0]
        self.assertEqual(ea["cef"]["emailId"], 42)
        self.assertEqual(ea["cef"]["emailHeaders"]["Received"][0],
                         "from mx1.example.net by mx2.example.net\r\n"
                         "\tfor <bob@rcpt.example.org>; Mon, 2 Mar 2026 10:00:01 +0000")

    def test_nested_with_attached_message(self):
        inner = ("From: Mallory <mallory@inner.example.net>\n"
                 "To: Bob <bob@rcpt.example.org>\n"
                 "Subject: inner\nMessage-ID: <inner@x>\nMIME-Version: 1.0\n"
                 'Content-Type: multipart/mixed; boundary="in"\n\n'
                 "--in\nContent-Type: text/plain\n\ninner body 203.0.113.5\n"
                 "--in\nContent-Type: application/zip; name=\"inner.zip\"\n"
                 "Content-Disposition: attachment; filename=\"inner.zip\"\n"
                 "Content-Transfer-Encoding: base64\n\n" + b64(ZIP) + "\n--in--\n")
        raw = crlf(headers(extra='Content-Type: multipart/mixed; boundary="mix"\n') +
                   "\n--mix\nContent-Type: multipart/related; boundary=\"rel\"\n\n"
                   "--rel\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n"
                   "--alt\nContent-Type: text/plain\n\nouter text " + MD5 + "\n"
                   "--alt\nContent-Type: text/html\n\n<p>outer html</p>\n--alt--\n"
                   "--rel\nContent-Type: image/png\nContent-ID: <logo@x>\n"
                   "Content-Transfer-Encoding: base64\n\n" + b64(PNG) + "\n--rel--\n"
                   "--mix\nContent-Type: application/pdf; name=\"r.pdf\"\n"
                   "Content-Disposition: attachment; filename=\"r.pdf\"\n"
                   "Content-Transfer-Encoding: base64\n\n" + b64(PDF) + "\n"
                   "--mix\nContent-Type: message/rfc822\n\n" + inner + "\n--mix--\n")
        c, _ = parse(raw)
        self.assertEqual(self.check_common(c, raw), 3)
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["203.0.113.5"])
        self.assertEqual(values(c, "Hash Artifact", "fileHash"), [MD5])
        emails = values(c, "Email Artifact", "fromEmail")
        self.assertEqual(emails, ["Alice Sender <alice@sender.example.com>",
                                  "Mallory <mallory@inner.example.net>"])
        inner_art = [a for a in c["artifacts"] if a["name"] == "Email Artifact"][1]
        self.assertNotIn("emailId", inner_art["cef"])
        vault = [a for a in c["artifacts"] if a["name"] == "Vault Artifact"]
        self.assertEqual([a["cef"]["fileName"] for a in vault],
                         ["logo@x.png", "r.pdf", "inner.zip"])
        for a, data in zip(vault, [PNG, PDF, ZIP]):
            self.assertEqual(a["cef"]["vaultId"], hashlib.sha1(data).hexdigest())
            self.assertEqual(a["cef"]["cs6"], hashlib.sha1(data).hexdigest())
            self.assertEqual(a["cef"]["cs6Label"], "Vault ID")
            self.assertEqual(a["cef"]["fileHashMd5"], hashlib.md5(data).hexdigest())
            self.assertEqual(a["cef"]["fileHashSha256"], hashlib.sha256(data).hexdigest())
            self.assertIsNone(a["container_id"])
        self.assertEqual(vault[1]["cef_types"], {"vaultId": ["pdf"], "cs6": ["pdf"]})
        self.assertNotIn("cef_types", vault[0])
        self.assertEqual(vault[1]["cef"]["headers"]["Content-Disposition"],
                         'attachment; filename="r.pdf"')

    def test_forwarded_block(self):
        raw = crlf(headers(subject="Fwd: invoice", extra="Content-Type: text/plain\n") +
                   "\nFYI, see below.\n\n"
                   "---------- Forwarded message ---------\n"
                   "From: Eve Phisher <eve@phish.example.net>\n"
                   "Date: Sun, 1 Mar 2026 at 09:00\n"
                   "Subject: Invoice overdue\n"
                   "To: Alice <alice@sender.example.com>\n\n"
                   "Pay at https://pay.phish.example.net/now\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        arts = [a for a in c["artifacts"] if a["name"] == "Email Artifact"]
        self.assertEqual(len(arts), 2)
        fwd = arts[1]["cef"]
        self.assertEqual(fwd["fromEmail"], "Eve Phisher <eve@phish.example.net>")
        self.assertEqual(fwd["toEmail"], "Alice <alice@sender.example.com>")
        self.assertEqual(fwd["emailId"], 42)
        self.assertEqual(fwd["emailHeaders"]["decodedSubject"], "Invoice overdue")
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["https://pay.phish.example.net/now"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["pay.phish.example.net", "phish.example.net",
                          "sender.example.com"])

    def test_charsets_and_encodings(self):
        latin1 = "caf\xe9 10.9.8.7 http://latin.example.com/caf\xe9".encode("iso-8859-1")
        qp = latin1.replace(b"\xe9", b"=E9")
        w1252 = "\u20ac price http://w1252.example.com/eur".encode("cp1252")
        sjis = "\u65e5\u672c\u8a9e http://sjis.example.jp/\u30da\u30fc\u30b8".encode("shift_jis")
        utf8 = "\u00fcber https://b\u00fccher.de/angebot \u2713".encode("utf-8")
        raw = (crlf(headers(subject="=?iso-8859-1?Q?Caf=E9?= =?utf-8?B?4pyT?=",
                            extra='Content-Type: multipart/mixed; boundary="cs"\n') +
                    "\n--cs\nContent-Type: text/plain; charset=iso-8859-1\n"
                    "Content-Transfer-Encoding: quoted-printable\n\n") + qp +
               b"\r\n--cs\r\nContent-Type: text/plain; charset=windows-1252\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + w1252 +
               b"\r\n--cs\r\nContent-Type: text/plain; charset=shift_jis\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(sjis).encode() +
               b"\r\n--cs\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(utf8).encode() +
               b"\r\n--cs\r\nContent-Type: application/pdf\r\n"
               b"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF).encode() +
               b"\r\n--cs--\r\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(c["name"], "Caf\u00e9\u2713")
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["10.9.8.7"])
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://latin.example.com/caf\u00e9", "http://w1252.example.com/eur",
                          "http://sjis.example.jp/\u30da\u30fc\u30b8",
                          "https://b\u00fccher.de/angebot"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["latin.example.com", "w1252.example.com", "sjis.example.jp",
                          "b\u00fccher.de", "xn--bcher-kva.de"])
        self.assertEqual(values(c, "Vault Artifact", "fileName"), ["\u20ac rates.pdf"])

    def test_tricky_ips_and_hashes(self):
        body = ("bad 1234.5.6.7 v1.2.3.4.5 192.168.0.300 Note::Foo std::vector\n"
                "good ::ffff:10.1.2.3 and fe80::1%eth0 and 2001:db8::7.\n"
                "md5 " + MD5 + " sha1 " + SHA1.upper() + "\nsha256 " + SHA256 +
                "\nsha512 " + SHA512 + "\nnot " + MD5 + "ff\n")
        raw = crlf(headers(extra="Content-Type: text/plain\n") + "\n" + body)
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"),
                         ["::ffff:10.1.2.3", "fe80::1", "2001:db8::7"])
        self.assertEqual(values(c, "Hash Artifact", "fileHash"),
                         [MD5, SHA1.upper(), SHA256, SHA512])

    def test_duplicate_and_nameless_attachments(self):
        def att(ctype, data, disp):
            return ("--d\nContent-Type: %s\n%sContent-Transfer-Encoding: base64\n\n%s\n"
                    % (ctype, disp, b64(data)))
        raw = crlf(headers(subject="", extra='Content-Type: multipart/mixed; boundary="d"\n') +
                   "\n--d\nContent-Type: text/plain\n\nsee attachments\n" +
                   att("application/pdf", PDF, 'Content-Disposition: attachment; filename="a.pdf"\n') +
                   att("application/pdf", PDF, 'Content-Disposition: attachment; filename="a.pdf"\n') +
                   att("application/pdf", PDF, 'Content-Disposition: attachment; filename="copy.pdf"\n') +
                   att("application/octet-stream", ZIP, "") +
                   att("image/png", PNG, "Content-Disposition: inline\n") + "--d--\n")
        c, _ = parse(raw, uid="7")
        self.check_common(c, raw, uid="7")
        self.assertEqual(c["name"], "Email ID: 7")
        vault = [a for a in c["artifacts"] if a["name"] == "Vault Artifact"]
        self.assertEqual([a["cef"]["fileName"] for a in vault],
                         ["a.pdf", "copy.pdf", "part_5.bin", "part_6.png"])
        self.assertEqual(vault[0]["cef"]["vaultId"], vault[1]["cef"]["vaultId"])

    def test_single_part_html(self):
        raw = crlf(headers(extra="Content-Type: text/html; charset=utf-8\n") +
                   '\n<p>Login at <a href="https://login.example.com/x">https://login.example.com/x</a>'
                   " from 198.51.100.1 &mdash; ok</p>\n")
        c, _ = parse(raw, folder="INBOX")
        self.check_common(c, raw, folder="INBOX")
        self.assertEqual(values(c, "URL Artifact", "requestURL"), ["https://login.example.com/x"])
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["198.51.100.1"])
        self.assertEqual(c["artifacts"][-1]["name"], "Email Artifact")

    def test_message_size_limit(self):
        big = os.urandom(50 * 1024 * 1024)
        raw = crlf(headers(subject="big", extra='Content-Type: multipart/mixed; boundary="b"\n') +
                   "\n--b\nContent-Type: text/plain\n\nbig one 192.0.2.99\n"
                   "--b\nContent-Type: application/octet-stream\n"
                   "Content-Disposition: attachment; filename=\"big.bin\"\n"
                   "Content-Transfer-Encoding: base64\n\n") + b64(big).encode() + b"\r\n--b--\r\n"
        self.assertGreater(len(raw), 64 * 1024 * 1024)
        c, r = parse(raw)
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["192.0.2.99"])
        lim = values(c, "Email Limits Artifact", "emailLimits")
        self.assertEqual(len(lim), 1)
        self.assertIn("over the limit of 67108864", lim[0])
        self.assertEqual(len(c["data"]["raw_email"]), 64 * 1024 * 1024)
        vault = values(c, "Vault Artifact", "fileName")
        self.assertEqual(vault, ["big.bin"])     # what could be read of it
        # memory: the input, one decoded part and the output stream
        self.assertLess(r.maxrss_mb, 3 * len(raw) / 2**20 + 16, r)

    def test_quoted_printable_and_plain_attachments(self):
        """Attachments not in base64 are hashed from their decoded bytes as
        base64 ones are (one code path since they are streamed)."""
        import binascii
        data = bytes(range(256)) * 300 + b"tail=end\n"
        raw = crlf(headers(extra='Content-Type: multipart/mixed; boundary="b"\n') +
                   "\n--b\nContent-Type: text/plain\n\nhi\n"
                   "--b\nContent-Type: application/octet-stream\n"
                   'Content-Disposition: attachment; filename="q.bin"\n'
                   "Content-Transfer-Encoding: quoted-printable\n\n") + \
            binascii.b2a_qp(data, istext=False).replace(b"\n", b"\r\n") + \
            crlf("\n--b\nContent-Type: text/csv\n"
                 'Content-Disposition: attachment; filename="t.csv"\n\na,b\n1,2\n--b--\n')
        c, _ = parse(raw)
        vault = {a["cef"]["fileName"]: a["cef"] for a in c["artifacts"]
                 if a["name"] == "Vault Artifact"}
        self.assertEqual(sorted(vault), ["q.bin", "t.csv"])
        q = vault["q.bin"]
        self.assertEqual((q["fileHashMd5"], q["fileHashSha1"], q["fileHashSha256"]),
                         (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
                          hashlib.sha256(data).hexdigest()))
        self.assertEqual(vault["t.csv"]["fileHashSha1"],
                         hashlib.sha1(b"a,b\r\n1,2").hexdigest())

    def test_many_files_in_order(self):
        """Parse mode works on several files at once but prints them in
        the order given, each as it would come alone; a file that cannot be
        read is named, the others still printed, and the exit status is 1."""
        with tempfile.TemporaryDirectory() as d:
            paths, alone = [], []
            for i in range(40):
                # mostly small, some with a 1-3 MB attachment
                size = (1 + i % 3) * 1024 * 1024 if i % 9 == 4 else 200 * i
                raw = crlf(headers(subject="m%d" % i,
                                   extra='Content-Type: multipart/mixed; boundary="b"\n') +
                           "\n--b\nContent-Type: text/plain\n\nhost%d.example.com 192.0.2.%d\n"
                           "--b\nContent-Type: application/octet-stream\n"
                           "Content-Disposition: attachment; filename=\"f%d.bin\"\n"
                           "Content-Transfer-Encoding: base64\n\n" % (i, i, i)) + \
                    b64(os.urandom(size)).encode() + b"\r\n--b--\r\n"
                p = os.path.join(d, "m%02d.eml" % i)
                with open(p, "wb") as f:
                    f.write(raw)
                paths.append(p)
            for p in paths:
                r = run("soar_imap", ["parse", "--uid", "7", p], timeout=300)
                self.assertEqual(r.rc, 0, r)
                alone.append(r.out)
            missing = os.path.join(d, "missing.eml")
            args = ["parse", "--uid", "7"] + paths[:20] + [missing] + paths[20:]
            r = run("soar_imap", args, timeout=300)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"cannot read " + missing.encode(), r.err)
        self.assertEqual(r.out, b"".join(alone))
        self.assertEqual([json.loads(l)["name"] for l in r.out.splitlines()],
                         ["m%d" % i for i in range(40)])

    def vault_of(self, c):
        return [a["cef"] for a in c["artifacts"] if a["name"] == "Vault Artifact"]

    def assert_file(self, cef, name, data):
        self.assertEqual(cef["fileName"], name)
        self.assertEqual((cef["fileHashMd5"], cef["fileHashSha1"], cef["fileHashSha256"]),
                         (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
                          hashlib.sha256(data).hexdigest()))
        self.assertEqual(cef["vaultId"], hashlib.sha1(data).hexdigest())

    def test_uuencode(self):
        """tests/data/mail/uuencode-blocks.eml: a bare "begin 644 tool.exe" block
        in a text body and two x-uuencode parts are vaulted decoded, under
        the begin line's name (the header's when it has one); the encoded
        lines are not scanned, the text around them is."""
        raw = fixture("uuencode-blocks.eml")
        c, _ = parse(raw)
        self.check_common(c, raw)
        exe = b"MZ" + bytes(range(256)) * 2
        zip_ = b"PK\x03\x04" + b"\x00" * 60 + b"zip payload" * 10
        vault = self.vault_of(c)
        self.assertEqual(len(vault), 3)
        self.assert_file(vault[0], "tool.exe", exe)
        self.assertNotIn("headers", vault[0])
        self.assert_file(vault[1], "dropper.zip", zip_)
        self.assert_file(vault[2], "notes.bin", b"uue payload\n" * 3)
        tool = [a for a in c["artifacts"] if a["name"] == "Vault Artifact"][0]
        self.assertEqual(tool["cef_types"]["vaultId"], ["pe file", "hash"])
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://before.example.com/x"])
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["192.0.2.7"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["before.example.com"])
        self.assertEqual(values(c, "Hash Artifact", "fileHash"), [])

    def test_unusable_types_read_as_text(self):
        """bad-type.eml (Content-Type: text), bad-multipart.eml (a tab
        instead of ';' before boundary=) and lost-boundary.eml (a boundary
        cut short, never in the body) are text/plain bodies, RFC 2045 5.2:
        scanned, nothing vaulted (it was part_0.bin, never scanned)."""
        for name, n, host in (("bad-type", 21, "bad-type.example.com"),
                              ("bad-multipart", 22, "bad-multipart.example.net"),
                              ("lost-boundary", 23, "lost-boundary.example.org")):
            raw = fixture(name + ".eml")
            c, _ = parse(raw)
            self.check_common(c, raw)
            self.assertEqual(self.vault_of(c), [], name)
            self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["192.0.2.%d" % n])
            self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"), [host])
            url = values(c, "URL Artifact", "requestURL")
            self.assertEqual(len(url), 1, name)
            self.assertTrue(url[0].startswith("http://" + host + "/"), url)

    def test_text_subtypes(self):
        """text-subtypes.eml: text/enriched (commands and their <param>
        dropped) and text/csv without a name are bodies, scanned and not
        vaulted; a named inline text/plain and a text/calendar attachment
        are vaulted and scanned too."""
        raw = fixture("text-subtypes.eml")
        c, _ = parse(raw)
        self.check_common(c, raw)
        vault = self.vault_of(c)
        self.assertEqual(len(vault), 2)
        self.assert_file(vault[0], "notes.txt",
                         b"inline but named http://inline-named.example.com/")
        self.assert_file(vault[1], "invite.ics", b"LOCATION:https://meet.example.org/j/1")
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://enriched.example.com/a", "http://inline-named.example.com/",
                          "https://meet.example.org/j/1"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["enriched.example.com", "inline-named.example.com",
                          "meet.example.org"])
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), ["192.0.2.31"])

    def test_folded_subject(self):
        """folded-subject.eml: "Subject:" then the text on folded lines.
        The name is unfolded and trimmed (RFC 5322 2.2.3); Python's keeps
        the fold ("\\n  Quarterly\\n report ")."""
        for raw in (fixture("folded-subject.eml"),
                    fixture("folded-subject.eml").replace(b"\n", b"\r\n")):
            c, _ = parse(raw)
            self.check_common(c, raw, name="Quarterly report")
            self.assertTrue(soar_ref.container_name(raw, "42").startswith(("\n", "\r\n")))
            self.assertEqual(values(c, "URL Artifact", "requestURL"),
                             ["http://folded.example.com/q"])
        raw = crlf(headers(subject="\n =?utf-8?q?caf=C3=A9?=\n\t=?utf-8?q?_au_lait?=",
                           extra="Content-Type: text/plain\n") + "\nhi\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(c["name"], "caf\u00e9 au lait")

    def test_bounce_returned_headers(self):
        """bounce-headers.eml: the message/rfc822-headers of a bounce (RFC
        6522) gives an Email Artifact with the bounced message's From, To
        and Subject, as Python's does (check_common compares it)."""
        raw = fixture("bounce-headers.eml")
        c, _ = parse(raw)
        self.check_common(c, raw)
        arts = [a["cef"] for a in c["artifacts"] if a["name"] == "Email Artifact"]
        self.assertEqual(len(arts), 2)
        self.assertEqual(arts[1]["fromEmail"], "Phisher <phisher@phish.example.net>")
        self.assertEqual(arts[1]["toEmail"], "nobody@rcpt.example")
        self.assertEqual(arts[1]["emailHeaders"]["decodedSubject"], "Your invoice")
        self.assertEqual(arts[1]["emailHeaders"]["Message-ID"], "<orig-7@phish.example.net>")
        self.assertNotIn("emailId", arts[1])
        self.assertEqual([v["fileName"] for v in self.vault_of(c)], ["part_2.bin"])

    def test_external_body_and_path_names(self):
        """external-body.eml: a message/external-body is a reference, not a
        file: an External Body Artifact each, nothing vaulted, and its URL
        (access-type URL) a URL Artifact.  File names that are paths keep
        their last component, without control characters."""
        raw = fixture("external-body.eml")
        c, _ = parse(raw)
        self.check_common(c, raw)
        ext = values(c, "External Body Artifact", "externalAccessType")
        self.assertEqual(ext, ["anon-ftp", "URL"])
        arts = [a for a in c["artifacts"] if a["name"] == "External Body Artifact"]
        self.assertEqual(arts[0]["cef"], {"externalAccessType": "anon-ftp",
                                          "externalName": "/u/nsb/writing/rfcs/RFC-MIME.ps",
                                          "externalSite": "thumper.bellcore.com"})
        self.assertEqual(arts[1]["cef"], {"externalAccessType": "URL",
                                          "requestURL": "http://files.example.com/big/report.pdf"})
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://files.example.com/big/report.pdf"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["files.example.com"])
        vault = self.vault_of(c)
        self.assertEqual(len(vault), 2)
        self.assert_file(vault[0], "evil.exe", b"MZevil")
        self.assert_file(vault[1], "xy.sh", b"#!/bin/sh")

    def test_encoded_words_next_to_raw_8bit(self):
        """mixed-8bit-header.eml (not UTF-8 as a whole): a subject with a raw
        UTF-8 run, an encoded word and a raw Latin-1 run.  The word is
        decoded from its bytes and each raw run converted once; it was
        "J\u00c3\u00bcrgen" (UTF-8 read again as Latin-1)."""
        raw = fixture("mixed-8bit-header.eml")
        c, _ = parse(raw)
        self.assertEqual(c["name"], "J\u00fcrgen M\u00fcller Stra\u00dfe")
        ea = [a for a in c["artifacts"] if a["name"] == "Email Artifact"][0]["cef"]
        self.assertEqual(ea["emailHeaders"]["decodedSubject"],
                         "J\u00fcrgen M\u00fcller Stra\u00dfe")
        self.assertEqual(ea["emailHeaders"]["decodedTo"], "M\u00fcller")  # Python's quirk
        self.assertEqual(ea["toEmail"], "Heinz =?iso-8859-1?Q?M=FCller?= <heinz@rcpt.example>")
        self.assertEqual(c["data"]["raw_email"], raw.decode("latin-1"))
        self.assertEqual(values(c, "URL Artifact", "requestURL"), ["http://mixed.example.com/a"])

    # ---- what we do better than Python and must keep ----------------------

    def test_keep_container_without_from_to_id(self):
        """No From, To or Message-ID: still a container, with its IOCs."""
        raw = crlf("Subject: bare\nContent-Type: text/plain\n\n"
                   "go http://bare.example.com/x\n")
        c, _ = parse(raw)
        self.assertEqual(c["name"], "bare")
        self.assertEqual(values(c, "URL Artifact", "requestURL"), ["http://bare.example.com/x"])
        self.assertEqual(values(c, "Email Artifact", "fromEmail"), [])

    def test_keep_binary_without_disposition_is_vaulted(self):
        """A GIF without Content-Disposition is vaulted, not read as text:
        no "::" IPv6 or dotted quads out of its bytes."""
        gif = b"GIF89a\x01\x00::1 ::ffff:1.2.3.4 10.0.0.1 fe80::\x00\x3b"
        raw = crlf(headers(extra='Content-Type: multipart/related; boundary="r"\n') +
                   "\n--r\nContent-Type: text/plain\n\nhi\n"
                   "--r\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n" +
                   b64(gif) + "\n--r--\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(values(c, "IP Artifact", "sourceAddress"), [])
        vault = self.vault_of(c)
        self.assertEqual(len(vault), 1)
        self.assert_file(vault[0], "part_2.gif", gif)

    def test_keep_gbk_under_gb2312_label(self):
        """A GBK-only character under a gb2312 label decodes (read as GBK)."""
        body = "\u9555 http://gbk.example.com/\u9555\n".encode("gbk")
        raw = crlf(headers(extra="Content-Type: text/plain; charset=gb2312\n"
                           "Content-Transfer-Encoding: base64\n") + "\n") + \
            b64(body).encode() + b"\r\n"
        c, _ = parse(raw)
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://gbk.example.com/\u9555"])

    def test_keep_long_encoded_attachment_name(self):
        """A 300-character RFC 2231 name in 30 continuations is kept whole."""
        name = "".join("r\u00e9sum\u00e9-%02d" % i for i in range(30)) + ".pdf"
        enc = "".join("%%%02X" % b for b in name.encode("utf-8"))
        chunks = [enc[i:i + 60] for i in range(0, len(enc), 60)]
        params = "".join(";\n filename*%d*=%s%s" % (i, "utf-8''" if i == 0 else "", ch)
                         for i, ch in enumerate(chunks))
        raw = crlf(headers(extra='Content-Type: multipart/mixed; boundary="n"\n') +
                   "\n--n\nContent-Type: text/plain\n\nhi\n"
                   "--n\nContent-Type: application/pdf\nContent-Disposition: attachment" +
                   params + "\nContent-Transfer-Encoding: base64\n\n" + b64(PDF) +
                   "\n--n--\n")
        c, _ = parse(raw)
        self.assertEqual(values(c, "Vault Artifact", "fileName"), [name])

    def test_keep_boundary_folded_inside_quotes(self):
        """A quoted boundary with a blank in it that a mailer folded at that
        blank is unfolded (RFC 5322 2.2.3) and found; Python keeps the line
        break inside and finds no part."""
        raw = crlf(headers(extra='Content-Type: multipart/mixed; boundary="----=_Part_12\n'
                           ' _34"\n') +
                   "\n------=_Part_12 _34\nContent-Type: text/plain\n\n"
                   "see http://folded-boundary.example.com/\n"
                   "------=_Part_12 _34\nContent-Type: application/pdf\n"
                   "Content-Disposition: attachment; filename=\"f.pdf\"\n"
                   "Content-Transfer-Encoding: base64\n\n" + b64(PDF) +
                   "\n------=_Part_12 _34--\n")
        c, _ = parse(raw)
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["http://folded-boundary.example.com/"])
        self.assertEqual(values(c, "Vault Artifact", "fileName"), ["f.pdf"])

    def test_keep_no_hash_from_tracking_tokens(self):
        """32-hex tracking tokens in the links of an HTML body are not MD5
        Hash Artifacts (Python runs its hash pattern over the HTML source)."""
        raw = crlf(headers(extra="Content-Type: text/html\n") +
                   '\n<p><a href="https://t.example.com/o/' + MD5 + "?u=" + SHA1 +
                   '">open</a><img src="https://t.example.com/p/' + MD5 + '.gif"></p>\n')
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(values(c, "Hash Artifact", "fileHash"), [])
        self.assertEqual(values(c, "URL Artifact", "requestURL"),
                         ["https://t.example.com/o/" + MD5 + "?u=" + SHA1,
                          "https://t.example.com/p/" + MD5 + ".gif"])
    def test_domains_in_attached_message_body(self):
        """An attached message/rfc822 (Content-Disposition: attachment, a
        name) is entered: the domains and URLs of its text and HTML bodies
        are reported, and nothing of it is vaulted."""
        inner = ("From: x@inner.example\nSubject: inner\n"
                 "Content-Type: multipart/alternative; boundary=i\n\n"
                 "--i\nContent-Type: text/plain; charset=utf-8\n"
                 "Content-Transfer-Encoding: quoted-printable\n\n"
                 "write to bob@inner-domain.com or http://inner-url.com/x\n"
                 "--i\nContent-Type: text/html\n\n<p>bob@inner-html.com</p>\n--i--\n")
        raw = crlf(headers(extra='Content-Type: multipart/mixed; boundary="b"\n') +
                   "\n--b\nContent-Type: text/plain\n\nsee attached\n"
                   '--b\nContent-Type: message/rfc822; name="fwd.eml"\n'
                   'Content-Disposition: attachment; filename="fwd.eml"\n\n' + inner +
                   "--b--\n")
        c, _ = parse(raw)
        self.check_common(c, raw)
        self.assertEqual(values(c, "URL Artifact", "requestURL"), ["http://inner-url.com/x"])
        self.assertEqual(values(c, "Domain Artifact", "destinationDnsDomain"),
                         ["inner-url.com", "inner-domain.com", "inner-html.com"])
        self.assertEqual(self.vault_of(c), [])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the seed corpora in tests/data/fuzz-corpora/<harness>/ from the project's
own fixtures (tests/data/reports, TA-dmarc-c/samples, tests/data/mail, the
BODYSTRUCTURE strings of tests/unit/imap/test_imap_parse.c) and a few small
archives, documents, mails and server transcripts built here; token answers,
storage/passwords listings, DNS answers and DKIM-signed mails in the shapes
tests/lib/oauth_server.py, tests/lib/splunkd_stub.py, tests/unit/dns and
tests/unit/dkim use.  Deterministic (gzip/zip times fixed), so
re-running it only changes seeds when the fixtures change.  Inputs that came
from fuzzing are kept: regress-* (once crashed) and found-* (a minimised
set of what earlier runs reached, so a short run starts deeper).

    python3 tests/fuzz/gen_corpus.py
"""
import base64
import glob
import gzip
import io
import os
import re
import shutil
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "..", "data", "fuzz-corpora")
LIMIT = 64 * 1024          # per seed


def fixtures():
    """(name, bytes) of every report fixture, small ones only."""
    paths = sorted(glob.glob(os.path.join(ROOT, "tests/data/reports/*.xml")))
    paths += sorted(glob.glob(os.path.join(ROOT, "TA-dmarc-c/samples/*.xml")))
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        if len(data) <= LIMIT:
            yield os.path.basename(p).split("!")[0].replace(".xml", ""), data


def sample_archives():
    for p in sorted(glob.glob(os.path.join(ROOT, "TA-dmarc-c/samples/*"))):
        if p.endswith((".gz", ".zip")):
            with open(p, "rb") as f:
                yield "sample-" + os.path.basename(p).split("!")[0] + \
                      os.path.splitext(p)[1], f.read()


def gz(data, name=None):
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", fileobj=buf,
                       mtime=0, compresslevel=9) as g:
        g.write(data)
    return buf.getvalue()


def zipped(members, stored=False, stream=False):
    """members: [(name, bytes)].  stream: written to an unseekable file, so
    every member has a data descriptor."""
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.b = bytearray()

        def writable(self):
            return True

        def write(self, d):
            self.b += d
            return len(d)

    out = Unseekable() if stream else io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return bytes(out.b) if stream else out.getvalue()


def archives(rep, rep2):
    """Small archives covering what archive.h promises to handle."""
    yield "plain.xml", rep
    yield "empty", b""
    yield "report.xml.gz", gz(rep, "report.xml")
    yield "two-members.gz", gz(rep) + gz(rep2)
    yield "trailing-garbage.gz", gz(rep) + b"\0\0\0garbage"
    yield "gz-in-gz.gz", gz(gz(rep))
    yield "truncated.gz", gz(rep)[:-9]
    yield "two.zip", zipped([("a.xml", rep), ("b.xml", rep2)])
    yield "stored.zip", zipped([("dir/", b""), ("dir/r.xml", rep)], stored=True)
    yield "descriptor.zip", zipped([("r.xml", rep), ("", rep2)], stream=True)
    yield "gz-in-zip.zip", zipped([("r.xml.gz", gz(rep))])
    yield "zip-in-gz.zip.gz", gz(zipped([("r.xml", rep)]))
    yield "zip-in-zip.zip", zipped([("inner.zip", zipped([("r.xml", rep)]))])
    yield "not-a-report.txt", b"%PDF-1.4 not a report\n"


SPLUNK = [
    ("input", b'<input><server_host>sh1</server_host>'
              b'<server_uri>https://127.0.0.1:8089</server_uri>'
              b'<session_key>123102983109283019283</session_key>'
              b'<checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs</checkpoint_dir>'
              b'<configuration><stanza name="dmarc_directory://reports" app="TA-dmarc-c">'
              b'<param name="directory">/data/dmarc</param>'
              b'<param name="quiet_time">10</param>'
              b'<param name="do_rua_xsd_validation">true</param>'
              b'<param name="index">dmarc</param><param name="disabled">0</param>'
              b'</stanza></configuration></input>'),
    ("items", b'<items><server_host>sh1</server_host>'
              b'<server_uri>https://127.0.0.1:8089</server_uri>'
              b'<session_key>abc</session_key><checkpoint_dir>/tmp/x</checkpoint_dir>'
              b'<item name="reports"><param name="directory">/data</param>'
              b'<param_list name="hosts"><value>a</value><value>b</value></param_list>'
              b'</item></items>'),
    ("escapes", b'<?xml version="1.0" encoding="utf-8"?>\n<input>\n'
                b'  <configuration>\n    <stanza name="a&amp;b &#x4e2d;">\n'
                b'      <param name="directory">  /d&lt;x&gt;  </param>\n'
                b'      <param name="x"><![CDATA[raw <text>]]></param>\n'
                b'    </stanza>\n  </configuration>\n</input>\n'),
    ("doctype", b'<!DOCTYPE input [<!ENTITY a "aaaa">]><input>&a;</input>'),
    ("not-xml", b'directory=/data\n'),
]


# ---- mail: fuzz_mime, fuzz_mime_header, fuzz_soar_action, fuzz_ioc ------

def mail_fixtures():
    """(name, bytes) of tests/data/mail/*.eml (all a few KB)."""
    for p in sorted(glob.glob(os.path.join(ROOT, "tests/data/mail/*.eml"))):
        with open(p, "rb") as f:
            data = f.read()
        if len(data) <= LIMIT:
            yield os.path.basename(p)[:-4], data


def b64lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


HDRS = ("From: Alice Sender <alice@sender.example.com>\r\n"
        "To: Bob <bob@rcpt.example.org>, =?utf-8?B?w4lsaXNl?= <elise@x.example>\r\n"
        "Subject: =?utf-8?Q?Quarterly_r=C3=A9sults?= =?iso-8859-1?q?_caf=E9?=\r\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
        "Message-ID: <m1@sender.example.com>\r\n"
        "Received: from mx1.example.net by mx2.example.net\r\n"
        "\tfor <bob@rcpt.example.org>; Mon, 2 Mar 2026 10:00:01 +0000\r\n"
        "MIME-Version: 1.0\r\n")

IOC_TEXT = ("See https://reports.example.com/q1?a=1&b=2 (and http://[2001:db8::1]/x).\r\n"
            "From 192.0.2.44 and 2001:db8::7 and ::ffff:10.1.2.3, not 1234.5.6.7.\r\n"
            "md5 d41d8cd98f00b204e9800998ecf8427e sha1 "
            "da39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"
            "mail carol@other.example.net, www.example.co.uk, xn--bcher-kva.example\r\n")
IOC_HTML = ('<html><head><style>p{color:red}</style></head><body>'
            '<p>Visit <a href="https://evil.example.org/login?x=1&amp;y=2">here</a>'
            ' or <a href="mailto:boss@corp.example.com">boss</a>.</p>'
            '<img src="http://198.51.100.7/pixel.gif"><!-- 203.0.113.9 -->'
            '<div>sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
            '</div><p>&lt;http://b\xc3\xbccher.example/&gt; &#x68;ttp://entity.example/</p>'
            '</body></html>\r\n')


def own_mails():
    """Small mails covering what the fixtures do not: SOAR-style bodies
    with IOCs, attachments, encodings, digest, encoded message/rfc822."""
    pdf = b"%PDF-1.4\n" + bytes(range(256))
    yield "soar-mixed", (HDRS + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + IOC_TEXT.replace("=", "=3D") + "caf=C3=A9 soft=\r\nbreak\r\n"
        "--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n" + IOC_HTML +
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64lines(pdf) + "\r\n"
        "--b--\r\n").encode("latin-1")
    yield "soar-forwarded", (HDRS + "Content-Type: text/plain\r\n\r\n"
        "FYI\r\n\r\n---------- Forwarded message ---------\r\n"
        "From: Mallory <mallory@phish.example.net>\r\nDate: Sun, 1 Mar 2026\r\n"
        "Subject: invoice\r\nTo: Alice <alice@sender.example.com>\r\n\r\n"
        "pay at http://phish.example.net/pay from 203.0.113.5\r\n").encode()
    inner = ("From: inner@example.org\r\nSubject: inner\r\n"
             "Content-Type: text/plain\r\n\r\nhello 192.0.2.1\r\n")
    yield "encoded-rfc822", (HDRS + 'Content-Type: multipart/mixed; boundary=x\r\n\r\n'
        "--x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64lines(inner.encode()) + "\r\n--x--\r\n").encode()
    yield "digest", (HDRS + 'Content-Type: multipart/digest; boundary="d"\r\n\r\n'
        "preamble\r\n--d\r\n\r\n" + inner + "--d\r\n\r\nSubject: two\r\n\r\nx\r\n"
        "--d--\r\nepilogue\r\n").encode()
    yield "lf-only-8bit", ("From: =?koi8-r?B?8NLJ18XU?= <a@b.example>\n"
        "Subject: caf\xe9 raw latin-1\nContent-Type: text/plain; charset=\"shift_jis\"\n"
        "Content-Transfer-Encoding: 8bit\n\n\x82\xa0\x82\xa2 http://jp.example.jp/\n"
        ).encode("latin-1")
    yield "no-header-end", b"Subject: x\r\nnot a header line\r\nbody\r\n"
    yield "uuencode", (HDRS + "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
        "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a.bin\r\n#86)C\r\n`\r\nend\r\n"
        ).encode()


MIME_HEADER = [
    # mode 0: RFC 2047
    ("words", b"\0=?utf-8?Q?caf=C3=A9?= =?UTF-8?B?w6k=?=\t=?iso-8859-1?q?_x?= plain"),
    ("split-char", b"\0=?utf-8?B?4oK=?= =?utf-8?B?rA==?= end"),
    ("unknown-charset", b"\0=?x-unknown?Q?abc?= =?utf-8*en?Q?lang?= raw \xe9\xff"),
    ("bad-words", b"\0=?utf-8?X?abc?= =?utf-8?B?!!!?= =?=?utf-8?Q?=ZZ?="),
    # mode 1: Content-Type \n Content-Disposition
    ("rfc2231", b"\x01application/pdf; name*0*=utf-8'en'r%C3%A9; name*1*=sum%C3%A9;"
                b" name*2=\".pdf\"; charset=\"utf-8\"\nattachment; filename*=iso-8859-1''caf%E9.txt;"
                b" size=10 (comment); creation-date=\"Mon, 2 Mar 2026 10:00:00 +0000\""),
    ("quoted", b"\x01text/plain; charset=\"iso-8859-1\"; name=\"a \\\"b\\\" c\"\n"
               b"inline; filename==?utf-8?B?w6kudHh0?="),
    ("multipart", b"\x01multipart/mixed; boundary=\"==b==\"\nform-data; name=x"),
    # mode 2: dates
    ("date", b"\x02Tue, 1 Jul 2003 10:52:37 +0200"),
    ("date-obs", b"\x021 Jan 99 23:59 EST (comment)"),
    ("date-odd", b"\x02Mon, 31 Dec 9999 23:59:60 -2359"),
    # mode 3: name length, cap, name, text
    ("cs-sjis", b"\x03\x09\x04shift_jis\x82\xa0\x82\xa2\x82\xa4"),
    ("cs-latin1", b"\x03\x0a\xffISO-8859-1caf\xe9 \x80\x9f"),
    ("cs-utf16", b"\x03\x06\x02UTF-16\xff\xfeh\x00i\x00\x00\xd8"),
    ("cs-none", b"\x03\x00\x03valid \xc3\xa9 and bad \xc3"),
]


# ---- protocol transcripts: fuzz_imap_response, fuzz_pop3_response -------

def imap_sessions(eml):
    """(name, flags byte, server script).  Tags are the client's: A0001 up,
    one per command in the harness's order."""
    caps = b"IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN AUTH=XOAUTH2 IDLE"
    bs1 = (b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)')
    lit = b"{%d}\r\n" % len(eml) + eml
    list_ = (b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
             b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"\r\n'
             b'* LIST () "/" {20}\r\nRapports/F&AOk-vrier\r\n')
    examine = (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
               b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n* 3 EXISTS\r\n* 0 RECENT\r\n"
               b"* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
               b"* OK [UIDNEXT 4] Predicted next UID\r\n")
    fetch = (b'* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE "14-Nov-2023 22:13:20 +0000"'
             b" RFC822.SIZE 12 BODYSTRUCTURE " + bs1 + b" BODY[] {12}\r\nHello world!)\r\n"
             b"* 2 FETCH (UID 2 FLAGS () INTERNALDATE \" 4-Jan-2024 01:02:03 -0800\""
             b" RFC822.SIZE %d BODYSTRUCTURE " % len(eml) + COMPLEX_BS + b" BODY[] " + lit +
             b")\r\n* 3 FETCH (FLAGS (\\Flagged))\r\n")

    def session(greet, auth, tail_fetch, n0=1):
        t = n0
        out = greet + auth(t)
        t += 1
        out += list_ + b"A%04d OK List completed\r\n" % t
        t += 1
        out += examine + b"A%04d OK [READ-ONLY] Examine completed\r\n" % t
        t += 1
        out += b"* SEARCH 1 2 3\r\nA%04d OK Search completed\r\n" % t
        t += 1
        out += tail_fetch(t)
        t += 1
        out += b"* BYE Logging out\r\nA%04d OK Logout completed\r\n" % t
        return out

    greet = b"* OK [CAPABILITY " + caps + b"] Dovecot ready.\r\n"
    one = lambda t: fetch + b"A%04d OK Fetch completed\r\n" % t
    yield "login", 0x00, session(greet, lambda t: b"A%04d OK [CAPABILITY %s] Logged in\r\n" % (t, caps), one)
    # no capabilities in the greeting: CAPABILITY is A0001
    yield "capability-cmd", 0x00, session(
        b"* OK ready\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA0001 OK done\r\n",
        lambda t: b"A%04d NO [AUTHENTICATIONFAILED] bad\r\n" % t, one, 2)
    # LOGIN with a literal user name, no LITERAL+: wait for "+"
    yield "login-literal", 0x01, session(
        b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
        lambda t: b"+ OK\r\nA%04d OK Logged in\r\n" % t, one)
    yield "auth-plain", 0x02, session(
        b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n",
        lambda t: b"+ \r\nA%04d OK Logged in\r\n" % t, one)
    yield "xoauth2-fail", 0x03, (
        greet + b"+ " + base64.b64encode(b'{"status":"400","schemes":"Bearer"}') +
        b"\r\nA0001 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
    # pipelined fetch of three sets (flags 8), section 1.2, utf-7 mailbox
    three = lambda t: (b"* 1 FETCH (UID 1 BODY[1.2] {5}\r\nhello BODYSTRUCTURE " + bs1 + b")\r\n"
                       b"A%04d OK a\r\n* 2 FETCH (BODY[1.2] \"quoted body\" UID 2)\r\n"
                       b"A%04d OK b\r\nA%04d NO c\r\n" % (t, t + 1, t + 2))
    s = session(greet, lambda t: b"A%04d OK in\r\n" % t, three)
    yield "pipelined", 0x08, s.replace(b"A0006 OK Logout", b"A0008 OK Logout")
    # small limits (flags 4): a body over max_body, a long response
    big = (lambda t: b"* 1 FETCH (UID 1 BODY[] {300}\r\n" + b"x" * 300 + b")\r\n"
           b"* 2 FETCH (UID 2 FLAGS (" + b"\\Seen " * 400 + b"))\r\nA%04d OK\r\n" % t)
    yield "limits", 0x04, session(greet, lambda t: b"A%04d OK in\r\n" % t, big)
    # PREAUTH, search by callback (flags 0x10), no LIST (0x80), take tree (0x20)
    # (LOGIN is refused in that state without being sent: EXAMINE is A0001)
    yield "preauth", 0xb0, (b"* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n" + examine +
        b"A0001 OK [READ-ONLY] done\r\n* SEARCH\r\n* SEARCH 5 6 7 8\r\nA0002 OK\r\n" +
        fetch + b"A0003 OK\r\nA0004 OK\r\n")
    yield "bye", 0x00, b"* BYE go away\r\n"
    yield "read-write", 0x80, (greet + b"A0001 OK in\r\n* 1 EXISTS\r\n"
        b"A0002 OK [READ-WRITE] Select completed\r\n")


def imap_bodystructures():
    """The BODYSTRUCTURE strings of test_imap_parse.c, as the C compiler
    would read them (adjacent literals joined)."""
    path = os.path.join(ROOT, "tests/unit/imap/test_imap_parse.c")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    esc = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", '"': b'"', "\\": b"\\"}
    out = []
    # one statement's worth of adjacent string literals
    for m in re.finditer(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)', src):
        data = b""
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1)):
            data += re.sub(rb"\\(.)", lambda e: esc.get(e.group(1).decode(), e.group(1)),
                           lit.encode())
        if data.startswith(b"(") and len(data) > 8:
            out.append(data)
    return out


COMPLEX_BS = (b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 26 1 NIL NIL NIL NIL)'
              b'("application" "zip" ("name" "report.zip") NIL NIL "base64" 310 NIL'
              b' ("attachment" ("filename" "report.zip")) NIL NIL) "mixed"'
              b' ("boundary" "outer-b") NIL NIL NIL)')


def pop3_sessions(eml):
    """(name, flags byte, server script) in the harness's command order:
    greeting, CAPA, USER, PASS (or AUTH XOAUTH2), STAT, UIDL, LIST, RETR 1,
    RETR 2, QUIT."""
    stuffed = re.sub(rb"(?m)^\.", b"..", eml.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    capa = b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n"
    rest = (b"+OK 2 400\r\n+OK\r\n1 000001a1.67890\r\n2 zz!~\r\n.\r\n"
            b"+OK 2 messages\r\n1 120\r\n2 280\r\n.\r\n"
            b"+OK 120 octets\r\n" + stuffed + b".\r\n"
            b"+OK\r\n..leading dot\r\nlast line\r\n.\r\n+OK Logging out.\r\n")
    yield "user-pass", 0x00, b"+OK Dovecot ready.\r\n" + capa + b"+OK\r\n+OK Logged in.\r\n" + rest
    yield "no-capa", 0x04, b"+OK hi\r\n-ERR unknown command\r\n+OK\r\n+OK in\r\n" + rest
    yield "xoauth2", 0x01, (b"+OK hi\r\n" + capa + b"+ " +
        base64.b64encode(b'{"status":"401","schemes":"bearer"}') +
        b"\r\n-ERR [AUTH] Authentication failed.\r\n")
    yield "xoauth2-ok", 0x03, b"+OK hi\r\n" + capa + b"+OK welcome\r\n" + rest
    yield "small-max", 0x02, b"+OK hi\r\n" + capa + b"+OK\r\n+OK\r\n" + rest
    yield "bad-pass", 0x08, b"+OK hi\r\n" + capa + b"+OK\r\n-ERR [AUTH] nope\r\n+OK bye\r\n"
    yield "refused", 0x00, b"-ERR [SYS/TEMP] too busy\r\n"


# ---- SOAR action documents ---------------------------------------------

SOAR_ACTIONS = [
    ("get-email-id", b'{"action": "get email", "identifier": "get_email", "asset_id": "3",'
     b' "config": {"server": "127.0.0.1:10993", "username": "testuser", "password": "pw",'
     b' "use_ssl": true, "verify_server_cert": false, "folder": "INBOX",'
     b' "extract_urls": "true", "extract_ips": 0},'
     b' "parameters": [{"id": "42", "folder": "Sent", "ingest_email": true},'
     b' {"id": 7}, {"id": "0"}, {"id": 1.5}, {"id": "99999999999"}]}'),
    ("get-email-cid", b'{"identifier": "get_email", "config": {"server": "[::1]:993",'
     b' "username": "u", "password": "p", "auth_type": "Basic"},'
     b' "parameters": [{"container_id": 12}, {"container_id": "12"}, {"container_id": null},'
     b' {"container_id": "x"}, {}, 5]}'),
    ("test-connectivity", b'{"identifier": "test_asset_connectivity", "config": {"server":'
     b' "imap.example.com", "username": "u", "password": "p", "use_ssl": false},'
     b' "parameters": [{}]}'),
    ("oauth", b'{"identifier": "get_email", "config": {"server": "h:1", "auth_type": "OAuth",'
     b' "username": "u", "client_id": "c", "client_secret": "s"}, "parameters": [{"id": "1"}]}'),
    ("bad-config", b'{"identifier": "on_poll", "config": {"server": "h:70000", "username": "u",'
     b' "password": "p"}, "parameters": [{"a": "\\u00e9\\ud83d\\ude00"}]}'),
    ("not-object", b'[1, 2]'),
    ("no-identifier", b'{"identifier": "", "parameters": {}}'),
    ("truncated", b'{"identifier": "get_email", '),
]


# fuzz_oauth_token: byte 0 the HTTP status (0: 200, 1: 400, 2: 401, 3: 302,
# 4: 500), byte 1 the clock (0: 2025, 2: INT64_MAX, 5: INT64_MIN, 7: 9999),
# then the body: the answers tests/lib/oauth_server.py gives and the shapes
# test_oauth.c's bad-answer tests send.
OAUTH = [
    ("cc-ok", 0, 0, b'{"access_token": "eyJ0eXAiOiJKV1Qi.eyJhdWQi.c2ln", "token_type": "Bearer",'
                    b' "expires_in": 3599, "ext_expires_in": 3599}'),
    ("refresh-rotated", 0, 0, b'{"access_token": "ya29.a0AfH6SM", "token_type": "bearer",'
                              b' "expires_in": 3600, "refresh_token": "1//0g-new",'
                              b' "scope": "https://mail.google.com/"}'),
    ("refresh-null", 0, 6, b'{"access_token": "t", "token_type": "Bearer", "refresh_token": null}'),
    ("expires-string", 0, 0, b'{"access_token": "t", "token_type": "Bearer", "expires_in": "3599"}'),
    ("expires-huge", 0, 7, b'{"access_token": "t", "expires_in": 1e308}'),
    ("expires-negative", 0, 0, b'{"access_token": "t", "expires_in": -5}'),
    ("expires-u64", 0, 3, b'{"access_token": "t", "expires_in": "18446744073709551615"}'),
    ("no-lifetime", 0, 5, b'{"access_token": "t", "token_type": "Bearer"}'),
    ("mac-type", 0, 0, b'{"access_token": "t", "token_type": "MAC\\u0000\\n"}'),
    ("type-number", 0, 0, b'{"access_token": "t", "token_type": 7}'),
    ("token-space", 0, 0, b'{"access_token": "a b", "token_type": "Bearer"}'),
    ("token-array", 0, 0, b'{"access_token": ["t"], "token_type": "Bearer"}'),
    ("no-token", 0, 0, b'{"token_type": "Bearer", "expires_in": 1}'),
    ("error-200", 0, 0, b'{"error": "invalid_grant", "access_token": "t"}'),
    ("invalid-client", 2, 0, b'{"error": "invalid_client", "error_description":'
                             b' "AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: x",'
                             b' "error_codes": [7000215]}'),
    ("invalid-grant", 1, 0, b'{"error": "invalid_grant", "error_description": "Bad Request"}'),
    ("error-not-string", 1, 0, b'{"error": {"code": 1}}'),
    ("html-502", 4, 0, b'<html><body><h1>502 Bad Gateway</h1></body></html>'),
    ("redirect", 3, 0, b''),
    ("array", 0, 0, b'[{"access_token": "t"}]'),
    ("nested", 0, 0, b'{"access_token": "t", "x": ' + b'[' * 200 + b']' * 200 + b'}'),
    ("duplicate", 0, 0, b'{"access_token": "a", "access_token": "b", "expires_in": 1, "expires_in": "x"}'),
    ("long-token", 0, 0, b'{"access_token": "' + b'A' * 16385 + b'"}'),
]


# fuzz_splunk_rest: byte 0 bit 0 raw HTTP, bits 1-2 the secret field, bit
# 3 the other input name, bits 4-7 the chunk size (log2); byte 1 the chunk
# seed.  Bodies as tests/lib/splunkd_stub.py writes them.
def splunkd_listing(entries):
    import json
    out = [{"name": "%s:%s:" % (r, u),
            "content": {"realm": r, "username": u, "clear_password": c,
                        "password": "********", "encr_password": "$7$bm90IHJlYWxseQ=="}}
           for r, u, c in entries]
    return json.dumps({"entry": out, "paging": {"total": len(out)}}).encode()


def splunk_rest():
    imap, pop = "dmarc_imap://corp", "dmarc_pop3://b"
    plain = splunkd_listing([("TA-dmarc-c", imap, "s3cret")])
    oauth = splunkd_listing([("other", imap, "x"),
                             ("TA-dmarc-c", imap,
                              '{"client_secret": "cs", "refresh_token": "1//rt"}'),
                             ("TA-dmarc-c", pop, '{"password": "pw"}')])
    yield "plain-password", bytes([0xd0, 1]) + plain
    yield "plain-split-1", bytes([0x00, 2]) + plain
    yield "plain-split-16", bytes([0x40, 3]) + plain
    yield "oauth-client-secret", bytes([0x72, 4]) + oauth
    yield "oauth-refresh-token", bytes([0x34, 5]) + oauth
    yield "pop-password", bytes([0xd8, 6]) + oauth
    yield "no-member", bytes([0x56, 7]) + oauth
    yield "empty-listing", bytes([0xd0, 0]) + splunkd_listing([])
    yield "wrong-types", bytes([0x30, 0]) + \
        b'{"entry": [{"content": {"realm": 1, "username": null}}, 7, {"content": []},' \
        b' {"content": {"realm": "TA-dmarc-c", "username": "dmarc_imap://corp",' \
        b' "clear_password": "{not json"}}]}'
    yield "not-json", bytes([0xd0, 0]) + b"<html>splunkd</html>"
    yield "entry-object", bytes([0xd0, 0]) + b'{"entry": {"content": {}}}'

    def raw(name, status, body, extra=b""):
        return name, b"\x01\x00" + b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + \
            extra + b"Content-Length: %d\r\n\r\n" % len(body) + body
    yield raw("raw-200", b"200 OK", plain)
    yield raw("raw-401", b"401 Unauthorized",
              b'{"messages": [{"type": "WARN", "text": "call not properly authenticated"}]}')
    yield raw("raw-404", b"404 Not Found", b'{"messages": [{"type": "ERROR", "text": "not found"}]}')
    yield raw("raw-short", b"200 OK", plain[:40], b"Connection: close\r\n")
    yield "raw-eof-body", b"\x01\x00HTTP/1.0 200 OK\r\n\r\n" + plain
    yield "raw-bad-chunk", b"\x01\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"


# fuzz_dns: byte 0 (count, family, twice), then answers: 2-byte length,
# rcode, AN/NS/AR counts, records.  The records of tests/unit/dns/records.conf.
def dns_name(n):
    return b"".join(bytes([len(l)]) + l for l in n.encode().split(b".")) + b"\0"


def dns_rr(rtype, rdata, owner=b"\xc0\x0c"):
    import struct
    return owner + struct.pack(">HHIH", rtype, 1, 3600, len(rdata)) + rdata


def dns_answer(records, rcode=0, ns=b"", nns=0):
    import struct
    body = bytes([rcode, len(records), nns, 0]) + b"".join(records) + ns
    return struct.pack(">H", len(body)) + body


def dns_seeds():
    import ipaddress
    ptr = lambda n: dns_rr(12, dns_name(n))
    a = lambda ip: dns_rr(1, ipaddress.IPv4Address(ip).packed)
    aaaa = lambda ip: dns_rr(28, ipaddress.IPv6Address(ip).packed)
    nx = dns_answer([], 3)
    yield "good", b"\0" + dns_answer([ptr("good.test")]) + dns_answer([a("192.0.2.1")])
    yield "liar", b"\0" + dns_answer([ptr("liar.test")]) + dns_answer([a("198.51.100.2")])
    yield "ghost", b"\0" + dns_answer([ptr("ghost.test")]) + nx
    yield "multi", b"\0" + dns_answer([ptr("multi.test")]) + dns_answer(
        [a("198.51.100.10"), a("198.51.100.11"), a("192.0.2.1"), a("198.51.100.12")])
    yield "two-names", b"\1" + dns_answer([ptr("first.test"), ptr("second.test")]) + \
        dns_answer([ptr("five.test")]) + dns_answer([a("198.51.100.5")]) + \
        dns_answer([a("192.0.2.1")]) + dns_answer([a("192.0.2.5")])
    yield "v6", b"\4" + dns_answer([ptr("v6.test")]) + dns_answer([aaaa("2001:db8::1")])
    yield "v6-mapped", b"\5" + dns_answer([ptr("v6.test")]) + dns_answer([ptr("m.test")]) + \
        dns_answer([aaaa("2001:db8::1")]) + dns_answer([a("192.0.2.1")])
    yield "v4only", b"\4" + dns_answer([ptr("v4only.test")]) + dns_answer([a("192.0.2.1")])
    yield "cname", b"\0" + dns_answer([dns_rr(5, dns_name("alias.test")),
                                      dns_rr(12, dns_name("good.test"), dns_name("alias.test"))]) + \
        dns_answer([a("192.0.2.1")])
    yield "bad-names", b"\0" + dns_answer([ptr("bad name.test"), dns_rr(12, b"\x03a.b\x04test\x00"),
                                          ptr("x" * 63 + ".test"),
                                          ptr("under_score.test")]) + \
        dns_answer([a("192.0.2.1")]) + dns_answer([a("192.0.2.1")])
    yield "nine-names", b"\0" + dns_answer([ptr("n%d.test" % i) for i in range(9)]) + \
        b"".join(dns_answer([a("192.0.2.%d" % (i + 2))]) for i in range(9))
    yield "servfail", b"\x08" + dns_answer([], 2) + dns_answer([], 2) + dns_answer([], 5)
    yield "four-cached", b"\x0b" + dns_answer([ptr("good.test")]) + nx + nx + nx + \
        dns_answer([a("192.0.2.1")])
    yield "wrong-type", b"\0" + dns_answer([a("192.0.2.1")]) + nx
    yield "truncated-rr", b"\0" + dns_answer([ptr("good.test")[:9]])
    yield "pointer-loop", b"\0" + dns_answer([dns_rr(12, b"\xc0\x1e", b"\xc0\x0c")])


# fuzz_dkim: byte 0 mode, 2-byte key length, key record, message.  Signed
# here with an Ed25519 key from a fixed seed (RFC 8463, so the seeds do not
# change), relaxed/relaxed as opendkim signs by default.
DKIM_MSG = (b"From: DMARC Reporter <noreply-dmarc@example.test>\r\n"
            b"To: dmarc-rua@example.org\r\n"
            b"Subject: Report Domain: example.org Submitter: example.test\r\n"
            b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <report-1@example.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain\r\n"
            b"\r\n"
            b"This is an aggregate report.\r\n"
            b"It has two lines of body.\r\n")


def dkim_relaxed_header(line):
    name, value = line.split(b":", 1)
    value = re.sub(rb"[ \t]+", b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value


def dkim_relaxed_body(body):
    lines = body.split(b"\r\n")
    lines = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    return b"".join(l + b"\r\n" for l in lines)


def dkim_sign(msg, key, d="example.test", s="sel1", h=("from", "to", "subject", "date"),
              extra=""):
    import hashlib
    head, body = msg.split(b"\r\n\r\n", 1)
    fields = re.split(rb"\r\n(?![ \t])", head)
    bh = base64.b64encode(hashlib.sha256(dkim_relaxed_body(body)).digest()).decode()
    sig = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=%s; s=%s;%s h=%s; bh=%s; b=" % (
        d, s, extra, ":".join(h), bh)
    used = set()
    data = b""
    for name in h:
        for i in range(len(fields) - 1, -1, -1):
            if i not in used and fields[i].split(b":", 1)[0].strip().lower() == name.encode():
                used.add(i)
                data += dkim_relaxed_header(fields[i]) + b"\r\n"
                break
    data += dkim_relaxed_header(b"DKIM-Signature: " + sig.encode())
    b = base64.b64encode(key.sign(hashlib.sha256(data).digest())).decode()
    return b"DKIM-Signature: " + (sig + b).encode() + b"\r\n" + msg


def dkim_seeds():
    import struct
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        print("fuzz_dkim: python3-cryptography missing, no signed seeds")
        return
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    other = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    pub = lambda k: base64.b64encode(k.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
    rec = ("v=DKIM1; k=ed25519; p=%s" % pub(key)).encode()

    def seed(mode, record, msg):
        return bytes([mode]) + struct.pack(">H", len(record)) + record + msg
    signed = dkim_sign(DKIM_MSG, key)
    yield "pass", seed(0, rec, signed)
    yield "pass-split", seed(0x54, rec, signed)
    yield "pass-lf", seed(0, rec, signed.replace(b"\r\n", b"\n"))
    yield "body-changed", seed(0, rec, signed.replace(b"two lines", b"2 lines"))
    yield "header-changed", seed(0, rec, signed.replace(b"Submitter: ", b"Submitter:  x"))
    yield "other-key", seed(0, ("v=DKIM1; k=ed25519; p=%s" % pub(other)).encode(), signed)
    yield "two-records", seed(8, rec, signed)
    yield "nxdomain", seed(1, rec, signed)
    yield "servfail", seed(2, rec, signed)
    yield "nodata", seed(3, rec, signed)
    yield "revoked", seed(0, b"v=DKIM1; k=ed25519; p=", signed)
    yield "rsa-key", seed(0, b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB", signed)
    yield "bad-key-tags", seed(0, b"v=DKIM2; k=dsa; h=md5; s=other; t=y:s; p=!!!", signed)
    yield "expired", seed(0, rec, dkim_sign(DKIM_MSG, key, extra=" t=1000; x=2000;"))
    yield "future", seed(0, rec, dkim_sign(DKIM_MSG, key, extra=" t=9999999999;"))
    yield "long-name", seed(0, rec, dkim_sign(DKIM_MSG, key, d="a" * 64 + ".test"))
    two = dkim_sign(dkim_sign(DKIM_MSG, key), key, s="sel2", h=("from", "subject"))
    yield "two-signatures", seed(0, rec, two)
    many = DKIM_MSG
    for i in range(12):
        many = dkim_sign(many, key, s="s%d" % i, h=("from",))
    yield "twelve-signatures", seed(0, rec, many)
    yield "malformed", seed(0, rec, b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel1; garbage\r\n"
                                    + DKIM_MSG)
    yield "empty-field", seed(0, rec, b"DKIM-Signature: \r\nFrom: a@b.test\r\n\r\nbody\r\n")
    yield "unsigned", seed(0, rec, DKIM_MSG)
    big = DKIM_MSG + b"".join(b"line %05d of a long report body\n" % i for i in range(3000))
    yield "gap-big-body-lf", seed(0, rec, dkim_sign(big.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"), key).replace(b"\r\n", b"\n"))



# Seeds for the biggest gaps the coverage table (FUZZING.md) showed in
# product files: the parser limits of report.c (nesting, attributes,
# children, text), a document with no element, a gzip bomb over the 8 MB
# archive limit, a DKIM-signed message larger than dkim.c's feed buffer,
# PTR names dns.c must refuse.  (A mail with more indicators than ioc.c
# keeps, IOC_MAX_PER_KIND, takes half a second per run: left out.)
def gap_reports():
    yield "gap-deep", b"<feedback>" + b"<a>" * 40 + b"</a>" * 40 + b"</feedback>"
    yield "gap-attrs", b"<feedback><record " + \
        b" ".join(b'a%d="%d"' % (i, i) for i in range(20)) + b"/></feedback>"
    yield "gap-children", b"<feedback><record><row>" + b"<x/>" * 1001 + \
        b"</row></record></feedback>"
    yield "gap-long-text", b"<feedback><report_metadata><org_name>" + b"A" * 66000 + \
        b"</org_name></report_metadata></feedback>"
    yield "gap-no-element", b'<?xml version="1.0"?>\n<!-- no report here -->\n'


def gap_dns():
    long_label = bytes([63]) + b"a" * 63
    too_long = b"".join([long_label] * 4) + b"\x04test\x00"       # 260 bytes
    yield "gap-name-too-long", b"\0" + dns_answer([dns_rr(12, too_long)]) + \
        dns_answer([dns_rr(1, bytes([192, 0, 2, 1]))])
    yield "gap-label-64", b"\0" + dns_answer([dns_rr(12, bytes([64]) + b"b" * 64 + b"\x04test\x00")])
    yield "gap-space", b"\0" + dns_answer([dns_rr(12, b"\x05a b c\x04test\x00"),
                                           dns_rr(12, b"\x04good\x04test\x00")]) + \
        dns_answer([dns_rr(1, bytes([192, 0, 2, 1]))])


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for h in ("fuzz_report", "fuzz_archive", "fuzz_ingest", "fuzz_xsd",
              "fuzz_splunk_config", "fuzz_mime", "fuzz_mime_header",
              "fuzz_imap_response", "fuzz_pop3_response", "fuzz_soar_action",
              "fuzz_ioc", "fuzz_oauth_token", "fuzz_splunk_rest", "fuzz_dns",
              "fuzz_dkim"):
        d = os.path.join(OUT, h)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if not f.startswith(("crash-", "regress-", "found-")):
                    os.unlink(os.path.join(d, f))

    reports = list(fixtures())
    byname = dict(reports)
    rep, rep2 = byname["rua"], byname["rua_multiple_records"]

    # fuzz_report / fuzz_xsd: a 2-byte header (see the harnesses) then the
    # document.  Report: JSON in big chunks with annotation and resolver,
    # KV in chunks of 1..8 bytes.  XSD: big chunks, and 1..4 bytes.
    for name, data in reports:
        write("fuzz_report", name + ".json", bytes([(13 << 3) | 6, 1]) + data)
        write("fuzz_report", name + ".kv", bytes([(3 << 3) | 7, 2]) + data)
        write("fuzz_xsd", name, bytes([13, 1]) + data)
        write("fuzz_xsd", name + ".small", bytes([2, 3]) + data)
    attacks = {
        "doctype": b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x "y">]>'
                   b'<feedback>&x;</feedback>',
        "latin1": b'<?xml version="1.0" encoding="ISO-8859-1"?><feedback>'
                  b'<report_metadata><org_name>\xe9</org_name></report_metadata>'
                  b'</feedback>',
        "ebcdic": b'<?xml version="1.0" encoding="IBM037"?><feedback/>',
        "other-root": b'<html><body>hi</body></html>',
    }
    for name, data in attacks.items():
        write("fuzz_report", name, bytes([(6 << 3) | 1, 7]) + data)
        write("fuzz_xsd", name, bytes([6, 7]) + data)

    # fuzz_archive / fuzz_ingest: the source as it arrives.
    for name, data in list(archives(rep, rep2)) + list(sample_archives()):
        write("fuzz_archive", name, data)
        write("fuzz_ingest", name, data)
    for name, data in reports[:6]:
        write("fuzz_ingest", name + ".xml", data)

    for name, data in SPLUNK:
        write("fuzz_splunk_config", name, data)

    # fuzz_mime: 2-byte limits header (see the harness), then the mail;
    # roomy limits, and tight ones (depth 2, 4 parts, 512 B headers, 8
    # fields, 256 B decoded) for a few.
    mails = list(mail_fixtures()) + list(own_mails())
    for i, (name, data) in enumerate(mails):
        write("fuzz_mime", name, bytes([0x3f, 10]) + data)
        if i % 3 == 0:
            write("fuzz_mime", name + ".tight", bytes([0xc9, 2]) + data)
        # fuzz_soar_action mode 1: byte 0 odd, then its limits byte
        write("fuzz_soar_action", "mail-" + name, bytes([1, 0x3f]) + data)
    for name, data in MIME_HEADER:
        write("fuzz_mime_header", name, data)
    hdr_lines = set()
    for _, data in mails:
        for m in re.finditer(rb"(?im)^(subject|from|to): (.*)$", data):
            hdr_lines.add(m.group(2).strip())
    for i, v in enumerate(sorted(hdr_lines)[:24]):
        write("fuzz_mime_header", "hdr-%02d" % i, b"\0" + v)

    # fuzz_imap_response: sessions (mode byte 0), the test BODYSTRUCTUREs
    # (mode 5), UTF-7 names (6), INTERNALDATEs (7).
    eml = dict(mails)["nested"]
    for name, flags, script in imap_sessions(eml):
        write("fuzz_imap_response", "session-" + name, bytes([0, flags]) + script)
    for i, bs in enumerate(imap_bodystructures()):
        write("fuzz_imap_response", "bs-%02d" % i, b"\5" + bs)
    for i, n in enumerate([b"Rapports/F&AOk-vrier", b"&ZeVnLIqe-", b"a&-b", b"&AGE-",
                           b"&Jjo-!", b"\xc3\xa9t\xc3\xa9 &", b"INBOX"]):
        write("fuzz_imap_response", "utf7-%d" % i, b"\6" + n)
    for i, d in enumerate([b"14-Nov-2023 22:13:20 +0000", b" 4-Jan-2024 01:02:03 -0800",
                           b"31-Dec-1969 23:59:60 +2359"]):
        write("fuzz_imap_response", "date-%d" % i, b"\7" + d)

    for name, flags, script in pop3_sessions(eml):
        write("fuzz_pop3_response", name, bytes([flags]) + script)

    for name, data in SOAR_ACTIONS:
        write("fuzz_soar_action", "action-" + name, b"\0" + data)

    # fuzz_ioc: byte 0 bit 0 HTML, bit 5 visible text, bit 6 scan twice
    write("fuzz_ioc", "text", b"\x40" + IOC_TEXT.encode())
    write("fuzz_ioc", "html", b"\x61" + IOC_HTML.encode("latin-1"))
    write("fuzz_ioc", "html-urls-only", b"\x17" + IOC_HTML.encode("latin-1"))
    write("fuzz_ioc", "ipv6", b"\0fe80::1%eth0 ::1 1::2::3 [2001:db8::]:80 "
                              b"Note::Foo std::vector 2001:db8:0:0:0:0:2:1.\n")

    for name, status, clock, body in OAUTH:
        write("fuzz_oauth_token", name, bytes([status, clock]) + body)
    for name, data in splunk_rest():
        write("fuzz_splunk_rest", name, data)
    for name, data in dns_seeds():
        write("fuzz_dns", name, data)
    for name, data in dkim_seeds():
        write("fuzz_dkim", name, data)

    for name, doc in gap_reports():
        write("fuzz_report", name, bytes([(13 << 3) | 6, 1]) + doc)
        write("fuzz_xsd", name, bytes([13, 1]) + doc)
        write("fuzz_ingest", name + ".xml", doc)
    bomb = gz(b"\0" * (9 << 20), "bomb.xml")
    write("fuzz_archive", "gap-gzip-over-8mb.gz", bomb)
    write("fuzz_ingest", "gap-gzip-over-8mb.gz", bomb)
    for name, data in gap_dns():
        write("fuzz_dns", name, data)

    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(OUT) for f in fs)
    print("corpus: %d bytes" % total)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the .eml fixtures of tests/unit/mime into this folder.

The fixtures are committed; this script documents how the binary payloads
(zip, gzip, Shift_JIS text...) inside them were made and regenerates them
byte for byte (fixed timestamps).  All files are written with LF line ends;
the tests derive the CRLF variants themselves.

Every mail here was written for this project.  The shapes copy what real
report senders and mail gateways produce (see the notes in the test file).
"""
import base64
import binascii
import gzip
import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

REPORT_XML = b"""<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>reporter.example</org_name>
    <email>noreply-dmarc@reporter.example</email>
    <report_id>4217713390021645</report_id>
    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>example.com</domain><p>none</p></policy_published>
  <record>
    <row><source_ip>192.0.2.10</source_ip><count>3</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>
    </row>
    <identifiers><header_from>example.com</header_from></identifiers>
    <auth_results><dkim><domain>example.com</domain><result>pass</result></dkim></auth_results>
  </record>
</feedback>
"""


def make_zip(member):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(member, date_time=(2023, 11, 15, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, REPORT_XML)
    return bio.getvalue()


def make_gzip(name):
    bio = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=bio, mtime=1700000000) as g:
        g.write(REPORT_XML)
    return bio.getvalue()


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def write(name, text):
    data = text.encode("latin-1") if isinstance(text, str) else text
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


ZIP = make_zip("reporter.example!example.com!1700000000!1700086399.xml")
GZ = make_gzip("reporter.example!example.com!1700000000!1700086399.xml")

def uu(data, name, mode="644"):
    """uuencode as uuencode(1) writes it: 45 bytes a line, '`' for 0."""
    out = "begin %s %s\n" % (mode, name)
    for i in range(0, len(data), 45):
        out += binascii.b2a_uu(data[i:i + 45], backtick=True).decode()
    return out + "`\nend\n"


UU_EXE = b"MZ" + bytes(range(256)) * 2
UU_ZIP = b"PK\x03\x04" + b"\x00" * 60 + b"zip payload" * 10
UU_BIN = b"uue payload\n" * 3

HDR = """From: DMARC Reporter <noreply-dmarc@reporter.example>
To: dmarc-rua@example.com
Date: Wed, 15 Nov 2023 08:30:00 +0000
MIME-Version: 1.0
"""


def report(name, msgid, subject, part_headers, payload, body_text=True):
    text = HDR + "Message-ID: <%s@reporter.example>\nSubject: %s\n" % (msgid, subject)
    text += 'Content-Type: multipart/mixed; boundary="==rpt=="\n\n'
    if body_text:
        text += "--==rpt==\nContent-Type: text/plain; charset=us-ascii\n\n"
        text += "This is an aggregate report from reporter.example.\n"
    text += "--==rpt==\n" + part_headers + "\n" + b64(payload) + "\n--==rpt==--\n"
    write(name, text)


def main():
    # -- plain multipart/alternative with QP soft breaks ------------------
    write("alternative.eml", """From: "Alice Example" <alice@example.org>
To: bob@example.net
Subject: Lunch?
Date: Tue, 1 Jul 2025 10:52:37 +0200
Message-ID: <alt-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-b"

This is a multi-part message in MIME format.
--alt-b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 at noon? This line is long and uses a soft break here =
to continue.
Second line.
--alt-b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Caf=C3=A9 at <b>noon</b>?</p>
--alt-b--
This epilogue is ignored.
""")

    # -- mixed > related > alternative; boundaries prefix each other -------
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    write("nested.eml", """From: Carol <carol@example.org>
To: dave@example.net
Subject: Nested
Message-ID: <nested-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: multipart/related; boundary="b-rel"

--b-rel
Content-Type: multipart/alternative; boundary="b-rel-alt"

--b-rel-alt
Content-Type: text/plain; charset=utf-8

plain body
--b-rel-alt\t 
Content-Type: text/html; charset=utf-8

<p>html body <img src="cid:dot@x"></p>
--b-rel-alt--
--b-rel
Content-Type: image/png
Content-ID: <dot@x>
Content-Disposition: inline
Content-Transfer-Encoding: base64

""" + b64(png) + """
--b-rel--
--bogus
--b  
Content-Type: application/pdf; name="minutes.pdf"
Content-Disposition: attachment; filename="minutes.pdf"
Content-Transfer-Encoding: base64

""" + b64(b"%PDF-1.4\n%minimal\n") + """
--b--
""")

    # -- attached message/rfc822 with its own attachment ------------------
    write("attached-message.eml", """From: Eve <eve@example.org>
To: soc@example.net
Subject: Fwd: suspicious
Message-ID: <outer-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

See the attached mail.
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

From: =?utf-8?q?Mallory_M=C3=BCller?= <mallory@bad.example>
To: eve@example.org
Subject: =?utf-8?b?UmVjaG51bmc=?= 42
Message-ID: <inner-1@bad.example>
Received: from a.bad.example by mx.example.org; Mon, 3 Mar 2025 10:00:00 +0000
Received: from b.bad.example by a.bad.example; Mon, 3 Mar 2025 09:59:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/html; charset=utf-8

<a href="http://bad.example/pay">pay now</a>
--inner
Content-Type: application/octet-stream; name="invoice.exe"
Content-Disposition: attachment; filename="invoice.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AAA==
--inner--

--outer--
""")

    # -- DMARC report shapes ----------------------------------------------
    zname = "reporter.example!example.com!1700000000!1700086399.zip"
    gname = "reporter.example!example.com!1700000000!1700086399.xml.gz"
    report("dmarc-zip.eml", "zip", "Report domain: example.com Submitter: reporter.example Report-ID: <4217713390021645>",
           'Content-Type: application/zip; \n\tname="%s"\nContent-Disposition: attachment; \n\tfilename="%s"\nContent-Transfer-Encoding: base64\n' % (zname, zname), ZIP)
    report("dmarc-xzip.eml", "xzip", "Report Domain: example.com Submitter: yahoo.example Report-ID: <1700000000.123456>",
           'Content-Type: application/x-zip-compressed; name="%s"\nContent-Disposition: attachment; filename="%s"\nContent-Transfer-Encoding: base64\n' % (zname, zname), ZIP)
    report("dmarc-comcast.eml", "comcast", "Report Domain: example.com Submitter: comcast.example",
           'Content-Type: application-x-gzip; name="%s"\nContent-Disposition: attachment; filename="%s"\nContent-Transfer-Encoding: base64\n' % (gname, gname), GZ)
    sname = "amazonses.com!example.com!1700000000!1700086400.xml.gz"
    report("dmarc-ses.eml", "ses", "Dmarc Aggregate Report Domain: {example.com} Submitter: {amazonses.com}",
           "Content-Type: application/octet-stream; name=%s\nContent-Disposition: attachment; filename=%s\nContent-Transfer-Encoding: base64\n" % (sname, sname), GZ, body_text=False)
    report("dmarc-gzip-noname.eml", "noname", "Report domain: example.com Submitter: mimecast.example",
           "Content-Type: application/gzip\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n", GZ)

    write("dmarc-textxml.eml", HDR + """Message-ID: <textxml@reporter.example>
Subject: Report Domain: example.com Submitter: rspamd.example
Content-Type: multipart/mixed; boundary="x"

--x
Content-Type: text/plain; charset=utf-8

Report attached inline.
--x
Content-Type: text/xml; charset=utf-8
Content-Disposition: inline

""" + REPORT_XML.decode() + """
--x--
""")

    # whole body is the zip, base64 with uneven lines, blanks and junk
    raw = base64.b64encode(ZIP).decode()
    lines, i, widths = [], 0, [60, 100, 13, 76, 200]
    while i < len(raw):
        w = widths[len(lines) % len(widths)]
        lines.append(raw[i:i + w] + ("  " if len(lines) % 2 else ""))
        i += w
    lines.insert(2, "\t")
    write("dmarc-wholebody.eml", HDR + """Message-ID: <whole@reporter.example>
Subject: Report domain: example.com Submitter: google.example Report-ID: 13190401177475355109
Content-Type: application/zip; name="%s"
Content-Disposition: attachment; filename="%s"
Content-Transfer-Encoding: base64

""" % (zname, zname) + "\n".join(lines) + "\n")

    # report forwarded as an attached message
    inner = HDR + """Message-ID: <fwdinner@reporter.example>
Subject: Report domain: example.com Submitter: reporter.example
Content-Type: multipart/mixed; boundary="inner-rpt"

--inner-rpt
Content-Type: text/plain

report
--inner-rpt
Content-Type: application/gzip; name="%s"
Content-Transfer-Encoding: base64

%s
--inner-rpt--
""" % (gname, b64(GZ))
    write("dmarc-forwarded.eml", """From: Admin <admin@example.com>
To: dmarc-rua@example.com
Subject: Fwd: Report domain: example.com
Message-ID: <fwd@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-outer"

--fwd-outer
Content-Type: text/plain

Forwarding the report below.
--fwd-outer
Content-Type: message/rfc822

""" + inner + """--fwd-outer--
""")

    # Exchange/gateway quirks: encoded split subject, lowercase Content-type,
    # stray folded line, charset="utf8", ContentType typo, gateway footer,
    # nested related, final boundary missing
    write("dmarc-exchange.eml", """Received: from mx.reporter.example by mx.example.com; Wed, 15 Nov 2023 08:30:01 +0000
From: "=?utf-8?B?RE1BUkMg?= =?utf-8?B?UmVwb3J0ZXI=?=" <dmarc@reporter.example>
To: dmarc-rua@example.com, dmarc-copy@example.com,
dmarc-third@example.com
Subject: =?utf-8?B?UmVwb3J0IGRvbWFpbjogZXhhbXBsZS5jb20g?=
 =?utf-8?B?U3VibWl0dGVyOiBwcm90ZWN0aW9uLm91dGxvb2suZXhhbXBsZQ==?=
Thread-Topic: Report domain: example.com
Date: Wed, 15 Nov 2023 08:30:00 +0000
Message-ID: <exch@reporter.example>
MIME-Version: 1.0
Content-type: multipart/mixed;
\tboundary="_004_exch_"

--_004_exch_
Content-type: multipart/related;
\tboundary="_003_exch_";
\ttype="text/html"

--_003_exch_
Content-type: text/html; charset="utf8"
Content-Transfer-Encoding: quoted-printable

<p>This is a DMARC aggregate report =E2=80=94 see attachment.</p>
--_003_exch_--

--_004_exch_
ContentType: application/zip
Content-Disposition: attachment; filename="%s"
Content-Transfer-Encoding: base64

%s
--_004_exch_
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline

-- Scanned by the gateway. No threats found. --
""" % (zname, b64(ZIP)))

    # -- charsets ---------------------------------------------------------
    parts = [
        ("text/plain; charset=iso-8859-1", "8bit", "Grüße aus Köln".encode("latin-1")),
        ("text/plain; charset=windows-1252", "quoted-printable",
         b"=93Quoted=94 =80 price =96 caf=E9"),
        ("text/plain; charset=Shift_JIS", "base64",
         b64("日本語のテキスト\\です".encode("cp932")).encode()),
        ("text/plain; charset=UTF-8", "8bit", "Ελληνικά ✓".encode()),
        ("text/plain", "8bit", "no charset but UTF-8 ✓".encode()),
        ("text/plain; charset=x-nonsense", "8bit", "unknown label caf\xe9".encode("latin-1")),
        ("text/plain; charset=\"utf8\"", "8bit", "quoted utf8 label ✓".encode()),
        ("text/plain; charset=iso-2022-jp", "7bit", "日本".encode("iso-2022-jp")),
    ]
    body = b"""From: i18n@example.org
To: soc@example.net
Subject: =?iso-8859-1?q?Gr=FC=DFe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cs"

"""
    for ct, cte, data in parts:
        body += b"--cs\nContent-Type: " + ct.encode() + b"\nContent-Transfer-Encoding: " + cte.encode() + b"\n\n" + data + b"\n"
    body += b"--cs--\n"
    write("charsets.eml", body)

    # -- RFC 2231 / RFC 2047 file names -----------------------------------
    write("rfc2231.eml", """From: files@example.org
To: soc@example.net
Subject: names
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="n"

--n
Content-Type: application/gzip
Content-Disposition: attachment;
 filename*0*=UTF-8''%E2%82%AC%20rates;
 filename*1*=%20for%20Q1;
 filename*2=".xml.gz"

x
--n
Content-Type: application/pdf; name*=iso-8859-1'de'Gr%FC%DFe.pdf

x
--n
Content-Type: application/pdf; name="=?UTF-8?B?0J7RgtGH0ZHRgi5wZGY=?="

x
--n
Content-Type: text/plain
Content-Disposition: attachment; filename*1="b.txt"; filename*0="a-"; filename="ignored.txt"

x
--n
Content-Type: text/plain
Content-Disposition: attachment; filename="we\\"ird; name.txt"; size=3

x
--n
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''evil.exe%00.txt

x
--n--
""")

    # -- missing end boundary, preamble, trailing blanks ------------------
    write("missing-end.eml", """From: x@example.org
Subject: cut short
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=simple

preamble line one
preamble line two
--simple   
Content-Type: text/plain

first
--simple
Content-Type: text/plain

second, and the mail ends without a close delimiter
""")

    # -- uuencode: a bare block in a text body, x-uuencode parts ----------
    write("uuencode-blocks.eml", """From: Old Mailer <old@mailer.example>
To: victim@example.org
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="uu"

--uu
Content-Type: text/plain

see http://before.example.com/x

""" + uu(UU_EXE, "tool.exe") + """after 192.0.2.7
--uu
Content-Type: application/zip
Content-Transfer-Encoding: x-uuencode

""" + uu(UU_ZIP, "dropper.zip") + """--uu
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="notes.bin"
Content-Transfer-Encoding: x-uue

""" + uu(UU_BIN, "other.bin", "0600") + """--uu--
""")

    # -- unusable Content-Type / multipart: read as text/plain -------------
    write("bad-type.eml", """From: a@sender.example
To: b@rcpt.example
Subject: bad type
MIME-Version: 1.0
Content-Type: text

Log in at http://bad-type.example.com/login from 192.0.2.21
""")
    write("bad-multipart.eml", """From: a@sender.example
To: b@rcpt.example
Subject: bad multipart
MIME-Version: 1.0
Content-Type: multipart/mixed\tboundary="tab"

--tab
Content-Type: text/plain

Pay at http://bad-multipart.example.net/pay from 192.0.2.22
--tab--
""")
    write("lost-boundary.eml", """From: a@sender.example
To: b@rcpt.example
Subject: lost boundary
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="cut

--cut-short-by-a-gateway
Content-Type: text/plain

See http://lost-boundary.example.org/x and 192.0.2.23
--cut-short-by-a-gateway--
""")

    # -- text subtypes: all scanned, vaulted only when named/attached -----
    write("text-subtypes.eml", """From: a@sender.example
To: b@rcpt.example
Subject: text subtypes
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="ts"

--ts
Content-Type: text/enriched

<bold>Visit</bold> <underline>http://enriched.example.com/a</underline><<now
<color><param>http://param.example.net/</param>in red</color>
--ts
Content-Type: text/csv

host,ip
csv.example.org,192.0.2.31
--ts
Content-Type: text/plain; name="notes.txt"
Content-Disposition: inline

inline but named http://inline-named.example.com/
--ts
Content-Type: text/calendar
Content-Disposition: attachment; filename="invite.ics"

LOCATION:https://meet.example.org/j/1
--ts--
""")

    # -- a subject folded right after the colon ----------------------------
    write("folded-subject.eml", """From: a@sender.example
To: b@rcpt.example
Subject:
  Quarterly
 report\x20
Message-ID: <folded@sender.example>

Body http://folded.example.com/q
""")

    # -- a bounce (RFC 6522 report, RFC 3464 status, returned headers) -----
    write("bounce-headers.eml", """From: Mail Delivery System <mailer-daemon@mx.rcpt.example>
To: sender@sender.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.rcpt.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

--dsn
Content-Type: text/plain

Your message could not be delivered to nobody@rcpt.example.
--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.rcpt.example

Final-Recipient: rfc822; nobody@rcpt.example
Action: failed
Status: 5.1.1
--dsn
Content-Type: message/rfc822-headers

From: Phisher <phisher@phish.example.net>
To: nobody@rcpt.example
Subject: Your invoice
Message-ID: <orig-7@phish.example.net>
Date: Mon, 2 Mar 2026 10:00:00 +0000
--dsn--
""")

    # -- message/external-body; names that are paths ------------------------
    write("external-body.eml", """From: a@sender.example
To: b@rcpt.example
Subject: external
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="ext"

--ext
Content-Type: text/plain

The spec is on the FTP server.
--ext
Content-Type: message/external-body; access-type=anon-ftp;
 site="thumper.bellcore.com"; name="/u/nsb/writing/rfcs/RFC-MIME.ps"

Content-Type: application/postscript

--ext
Content-Type: message/external-body; access-type=URL;
 URL="http://files.example.com/big/report.pdf"

Content-Type: application/pdf

--ext
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="..\\\\..\\\\windows\\\\evil.exe"
Content-Transfer-Encoding: base64

TVpldmls
--ext
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''%2Fetc%2Fcron.d%2Fx%01y.sh
Content-Transfer-Encoding: base64

IyEvYmluL3No
--ext--
""")

    # -- encoded words next to raw 8-bit text (UTF-8 and Latin-1 runs) -----
    write("mixed-8bit-header.eml",
          b"From: a@sender.example\n"
          b"To: Heinz =?iso-8859-1?Q?M=FCller?= <heinz@rcpt.example>\n"
          b"Subject: J\xc3\xbcrgen =?iso-8859-1?Q?M=FCller?= Stra\xdfe\n"
          b"MIME-Version: 1.0\n"
          b"Content-Type: text/plain; charset=iso-8859-1\n"
          b"Content-Transfer-Encoding: 8bit\n\n"
          b"Gr\xfc\xdfe http://mixed.example.com/a\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the test messages and the exact bytes the tests expect.

make_messages.py OUTDIR writes:
  multipart.eml  multipart/mixed: 1 text/plain, 2 application/zip
                 (report.zip, base64), 3 message/rfc822 whose body is a
                 multipart/alternative (3.1 text/plain, 3.2 text/html)
  part2.expected the exact bytes of BODY[2] (the base64 text of the zip)
  dots.eml       a message with lines that start with "." and ".."
"""
import base64
import io
import os
import sys
import zipfile

out = sys.argv[1]
CRLF = "\r\n"

z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("report.xml", "<feedback><report_metadata/></feedback>\n" * 20)
b64 = base64.encodebytes(z.getvalue()).decode().replace("\n", CRLF)
part2 = b64  # ends with CRLF; the CRLF before the boundary belongs to it?

inner = CRLF.join([
    "From: Inner <inner@example.org>",
    "To: testuser@example.org",
    "Subject: Inner message",
    "MIME-Version: 1.0",
    'Content-Type: multipart/alternative; boundary="inner-b"',
    "",
    "--inner-b",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "inner plain",
    "--inner-b",
    "Content-Type: text/html; charset=utf-8",
    "",
    "<p>inner html</p>",
    "--inner-b--",
    "",
])

msg = CRLF.join([
    "From: Sender <sender@example.org>",
    "To: testuser@example.org",
    "Subject: Report with attachment",
    "Date: Tue, 14 Nov 2023 22:13:20 +0000",
    "Message-ID: <multipart-1@example.org>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="outer-b"',
    "",
    "--outer-b",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "See the attached report.",
    "--outer-b",
    'Content-Type: application/zip; name="report.zip"',
    "Content-Transfer-Encoding: base64",
    'Content-Disposition: attachment; filename="report.zip"',
    "",
]) + CRLF + b64 + CRLF.join([
    "--outer-b",
    "Content-Type: message/rfc822",
    'Content-Disposition: attachment; filename="fwd.eml"',
    "",
]) + CRLF + inner + CRLF.join([
    "--outer-b--",
    "",
])

# RFC 2046: the CRLF before "--boundary" belongs to the boundary, so the
# part's body is the base64 text without its last CRLF.
with open(os.path.join(out, "multipart.eml"), "wb") as f:
    f.write(msg.encode())
with open(os.path.join(out, "part2.expected"), "wb") as f:
    f.write(part2[:-2].encode())

dots = CRLF.join([
    "From: Sender <sender@example.org>",
    "To: testuser@example.org",
    "Subject: dots",
    "",
    ".leading dot",
    "..two dots",
    ".",
    " .space then dot",
    "...",
    "end",
    "",
])
with open(os.path.join(out, "dots.eml"), "wb") as f:
    f.write(dots.encode())

#!/usr/bin/env python3
"""Write the seed corpora in tests/fuzz/corpus/<harness>/ from the project's
own fixtures (tests/data/reports, TA-dmarc-c/samples) and a few small
archives and documents built here.  Deterministic (gzip/zip times fixed), so
re-running it only changes seeds when the fixtures change.  Inputs that came
from fuzzing are kept: regress-* (once crashed) and found-* (a minimised
set of what earlier runs reached, so a short run starts deeper).

    python3 tests/fuzz/gen_corpus.py
"""
import glob
import gzip
import io
import os
import shutil
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")
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


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for h in ("fuzz_report", "fuzz_archive", "fuzz_ingest", "fuzz_xsd",
              "fuzz_splunk_config"):
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

    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(OUT) for f in fs)
    print("corpus: %d bytes" % total)


if __name__ == "__main__":
    main()

"""The real-world corpus in ../shared/corpus/dmarc (when present): no crash
or sanitizer report on any file; every well-formed aggregate report yields
exactly one event per record; malformed ones are logged with their reason.

The expected counts come from an independent oracle (Python's own gzip,
zipfile and ElementTree), not from our output."""
import gzip
import io
import os
import shutil
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
import zipfile
import zlib

from tapp import SHARED, main, run, write

CORPUS = os.path.join(SHARED, "corpus", "dmarc")


def local(tag):
    return tag.rsplit("}", 1)[-1]


def leaves(data, depth=0):
    """Decompressed payloads of a file, like a careful reader would."""
    if depth > 3:
        return
    if data[:2] == b"\x1f\x8b":
        out, rest = b"", data
        while rest[:2] == b"\x1f\x8b":   # concatenated members, trailing junk ignored
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(rest)
            rest = d.unused_data
        yield from leaves(out, depth + 1)
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if not info.filename.endswith("/"):
                    yield from leaves(z.read(info), depth + 1)
    else:
        yield data


def expected_records(path):
    """(records, malformed) for a file."""
    records, malformed = 0, False
    with open(path, "rb") as f:
        data = f.read()
    for leaf in leaves(data):
        if not leaf.strip():
            continue
        try:
            root = ET.fromstring(leaf)
        except ET.ParseError:
            malformed = True
            continue
        if local(root.tag) == "feedback":
            records += sum(1 for c in root if local(c.tag) == "record")
    return records, malformed


@unittest.skipUnless(os.path.isdir(CORPUS), "no ../shared/corpus/dmarc")
class CorpusTest(unittest.TestCase):
    def test_every_file(self):
        tmp = tempfile.mkdtemp(prefix="dmarc-corpus-")
        files = []
        for dp, _, fns in os.walk(CORPUS):
            for fn in sorted(fns):
                if fn.endswith((".md", ".eml", ".json", ".msg")):
                    continue   # mail and TLS reports are not folder-input material
                files.append(os.path.join(dp, fn))
        total_events = reports = malformed_seen = 0
        try:
            for path in sorted(files):
                name = os.path.relpath(path, CORPUS)
                with self.subTest(file=name):
                    d = tempfile.mkdtemp(dir=tmp)
                    with open(path, "rb") as f:
                        write(os.path.join(d, os.path.basename(path)), f.read())
                    r = run("dmarc_directory", ["--dir", d, "--quiet-time", "0",
                                                "--no-resolve-ip"], timeout=60)
                    self.assertEqual(r.rc, 0, r)
                    self.assertNotIn(b"runtime error", r.err)       # UBSan
                    self.assertNotIn(b"AddressSanitizer", r.err)
                    want, bad = expected_records(path)
                    got = len(r.events())
                    self.assertEqual(got, want, "%s: %r" % (name, r))
                    if bad and want == 0:
                        self.assertRegex(r.err.decode(), r"WARN .*%s.*(not well-formed|rejected|not a DMARC aggregate report|not XML)"
                                         % re.escape(os.path.basename(path)))
                        malformed_seen += 1
                    total_events += got
                    reports += 1 if got else 0
        finally:
            shutil.rmtree(tmp)
        print("corpus: %d files, %d with events, %d events, %d malformed rejected"
              % (len(files), reports, total_events, malformed_seen))
        self.assertGreater(total_events, 2000)


import re  # noqa: E402  (used in the assertion above)

if __name__ == "__main__":
    main()

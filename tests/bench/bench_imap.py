#!/usr/bin/env python3
"""Benchmark of dmarc_imap on a local Dovecot over TLS, against a reference
measured in the same run on the same mailbox:

  A. N report mails (default 5,000; each a small zipped report):
     dmarc_imap (whole ingestion, XSD on, no DNS, fresh checkpoints) vs
     bare_fetch (one UID FETCH 1:* BODY.PEEK[], bytes discarded).
     Targets: <= 3x the reference, >= 2,000 messages/s, peak RSS <= 64 MB.
  B. A folder of M messages (default 2,000) of which 10% are report mails
     and the rest carry a 1 MB PDF: bytes of message data fetched (the
     literals) vs the report mails' size.  Target <= 1.2x.  Peak RSS too.

Usage: bench_imap.py [--reports N] [--mixed M] [--repeat R] [--out FILE]"""
import argparse
import base64
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tapp import exe_path, make_report  # noqa: E402
from mailtest import Dovecot  # noqa: E402


def report_mail(i):
    rep = make_report(org="bench-%d" % (i % 50), report_id="b%d" % i,
                      ips=("192.0.2.%d" % (i % 250 + 1),))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("r%d.xml" % i, rep)
    b = base64.encodebytes(buf.getvalue()).decode().replace("\n", "\r\n")
    return ("From: noreply-dmarc@reporter.example\r\nTo: rua@example.com\r\n"
            "Subject: Report domain: sender.example Submitter: reporter.example Report-ID: b%d\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <b%d@reporter.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nA DMARC aggregate report.\r\n"
            "--b\r\nContent-Type: application/zip; name=\"r%d.zip\"\r\n"
            "Content-Disposition: attachment; filename=\"r%d.zip\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--b--\r\n" % (i, i, i, i, b)).encode()


def pdf_mail():
    pdf = b"%PDF-1.4\n" + os.urandom(1 << 20)
    b = base64.encodebytes(pdf).decode().replace("\n", "\r\n")
    return ("From: shop@shop.example\r\nTo: rua@example.com\r\nSubject: Your invoice\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <inv@shop.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n"
            "--b\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s--b--\r\n" % b).encode()


class Maildir:
    """Writes messages straight into a Dovecot Maildir folder (UIDs follow
    the file name's time stamp); big identical ones are hard links."""

    def __init__(self, d, folder):
        md = d.v["DOVETEST_MAILDIR"]
        if folder != "INBOX":
            md = os.path.join(md, "." + folder.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        if folder != "INBOX":
            open(os.path.join(md, "maildirfolder"), "w").close()
        self.md, self.d, self.n = md, d, 0

    def add(self, data, link_to=None):
        self.n += 1
        size = os.path.getsize(link_to) if link_to else len(data)
        name = os.path.join(self.md, "cur", "%d.M%dP1.bench,S=%d:2," % (1700000000 + self.n, self.n, size))
        if link_to:
            os.link(link_to, name)
        else:
            with open(name, "wb") as f:
                f.write(data)
        return name

    def done(self):
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", self.d.v["DOVETEST_MAIL_OWNER"],
                            os.path.dirname(self.d.v["DOVETEST_MAILDIR"])], check=True)


def measure(cmd, repeat, setup=None):
    """Best wall time; its peak RSS (MB) and stderr."""
    best = None
    for _ in range(repeat):
        if setup:
            setup()
        # stdout to a file, read back after the clock stops (through a
        # pipe this script would compete for the cores while measuring)
        with tempfile.TemporaryFile() as o:
            start = time.monotonic()
            p = subprocess.run([exe_path("peakrss")] + cmd, stdout=o,
                               stderr=subprocess.PIPE)
            secs = time.monotonic() - start
            o.seek(0)
            out = o.read()
        err = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (cmd, err[-3000:]))
        rss = int(err.rsplit("peakrss_kb=", 1)[1].split()[0]) / 1024.0
        if best is None or secs < best[0]:
            best = (secs, rss, err, out)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=5000)
    ap.add_argument("--mixed", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()

    d = Dovecot()
    tmp = tempfile.mkdtemp(prefix="imap-bench-")
    try:
        box = Maildir(d, "INBOX")
        for i in range(a.reports):
            box.add(report_mail(i))
        mixed = Maildir(d, "Mixed")
        report_bytes = 0
        big = None
        nrep = 0
        for i in range(a.mixed):
            if i % 10 == 0:
                m = report_mail(100000 + i)
                # Dovecot serves CRLF mail as is; its RFC822.SIZE is len(m)
                report_bytes += len(m)
                nrep += 1
                mixed.add(m)
            elif big is None:
                big = mixed.add(pdf_mail())
            else:
                mixed.add(None, link_to=big)
        box.done()
        mixed.done()

        ck = os.path.join(tmp, "ck")
        base = ["--server", "127.0.0.1", "--port", str(d.imaps), "--ca-file", d.ca,
                "--username", d.user, "--password-file", d.pwfile, "--no-resolve-ip",
                "--checkpoint-dir", ck, "--log-level", "warn"]

        def fresh():
            shutil.rmtree(ck, ignore_errors=True)

        # warm Dovecot's index and the page cache once
        subprocess.run([exe_path("bare_fetch"), "127.0.0.1", str(d.imaps), d.ca, d.user,
                        d.pwfile, "INBOX"], check=True, stdout=subprocess.DEVNULL)
        ref = measure([exe_path("bare_fetch"), "127.0.0.1", str(d.imaps), d.ca, d.user,
                       d.pwfile, "INBOX"], a.repeat)
        ref_bytes = int(re.search(rb"bytes=(\d+)", ref[3]).group(1))
        ours = measure([exe_path("dmarc_imap")] + base, a.repeat, fresh)
        ours500 = measure([exe_path("dmarc_imap")] + base + ["--batch-size", "500"], a.repeat, fresh)
        events = ours[3].count(b"\n")
        assert events == a.reports, (events, a.reports)
        fresh()
        info = base[:-2] + ["--log-level", "info"]
        mix = measure([exe_path("dmarc_imap")] + info + ["--folder", "Mixed"], 1, fresh)
        mix_events = mix[3].count(b"\n")
        assert mix_events == nrep, (mix_events, nrep)
        mix_fetched = int(re.findall(r"fetched (\d+) bytes", mix[2])[-1])
        again = measure([exe_path("dmarc_imap")] + info + ["--folder", "Mixed"], 1)
        again_fetched = int(re.findall(r"fetched (\d+) bytes", again[2])[-1])

        lines = ["Mailbox A: %d report mails (%.1f MB), local Dovecot over TLS, best of %d.\n"
                 % (a.reports, ref_bytes / 1e6, a.repeat),
                 "| run | seconds | messages/s | peak RSS MB | vs reference |",
                 "|---|---:|---:|---:|---:|",
                 "| bare UID FETCH 1:* BODY.PEEK[] (reference) | %.3f | %.0f | %.1f | |"
                 % (ref[0], a.reports / ref[0], ref[1]),
                 "| dmarc_imap, batch 100 (default), XSD on | %.3f | %.0f | %.1f | %.2fx |"
                 % (ours[0], a.reports / ours[0], ours[1], ours[0] / ref[0]),
                 "| dmarc_imap, batch 500, XSD on | %.3f | %.0f | %.1f | %.2fx |"
                 % (ours500[0], a.reports / ours500[0], ours500[1], ours500[0] / ref[0]),
                 "",
                 "Folder B: %d messages, %d report mails (%d bytes), the rest with a 1 MB PDF."
                 % (a.mixed, nrep, report_bytes),
                 "dmarc_imap fetched %d bytes of message data (%.2fx the report mails), "
                 "%.3f s, peak RSS %.1f MB; a second run fetched %d bytes."
                 % (mix_fetched, mix_fetched / report_bytes, mix[0], mix[1], again_fetched),
                 ""]
        targets = [
            ("whole ingestion <= 3x the bare fetch", ours[0] <= 3 * ref[0]),
            (">= 2,000 messages/s", a.reports / ours[0] >= 2000),
            ("bytes fetched <= 1.2x the report mails (10% folder)", mix_fetched <= 1.2 * report_bytes),
            ("peak RSS <= 64 MB", max(ours[1], ours500[1], mix[1]) <= 64),
        ]
        for t, ok in targets:
            lines.append("- %s: %s" % (t, "met" if ok else "NOT met"))
        text = "\n".join(lines)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text + "\n")
        return 0 if all(ok for _, ok in targets) else 1
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

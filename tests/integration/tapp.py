"""Shared helpers for the integration tests: run the real executables and
measure them (exit code, output, wall time, peak RSS of that process)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(SRCDIR, "bin")
# Under meson the executables of this very build are used (the plain and
# the sanitizer build each test their own); by hand, those in bin/.
BINDIRS = [d for d in os.environ.get("BINDIRS", "").split(":") if d] + [BIN]


def exe_path(name):
    for d in BINDIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)
DATA = os.path.join(SRCDIR, "tests", "data")
SHARED = os.environ.get("SHARED_DIR", os.path.join(SRCDIR, "..", "shared"))


class Result:
    def __init__(self, rc, out, err, seconds, maxrss_kb):
        self.rc, self.out, self.err = rc, out, err
        self.seconds, self.maxrss_mb = seconds, maxrss_kb / 1024.0

    def events(self):
        """CLI mode: one JSON event per line."""
        return [json.loads(l) for l in self.out.decode().splitlines() if l.strip()]

    def __repr__(self):
        return "rc=%d %.2fs %.1fMB\nstderr:\n%s" % (
            self.rc, self.seconds, self.maxrss_mb, self.err.decode(errors="replace")[-4000:])


def run(exe, args=(), stdin=b"", timeout=120, env=None):
    """Run bin/<exe> and return a Result with its own peak RSS, measured by
    the small peakrss launcher (a child forked from this Python process
    would inherit our high-water mark)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    cmd = [exe_path(exe)] + list(args)
    try:
        cmd = [exe_path("peakrss")] + cmd
    except FileNotFoundError:
        pass
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, env=e)
        try:
            p.stdin.write(stdin)
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        errb = err.read()
        rss_kb = 0
        if b"peakrss_kb=" in errb:
            head, _, tail = errb.rpartition(b"peakrss_kb=")
            rss_kb = int(tail.split()[0])
            errb = head
        return Result(p.returncode, out.read(), errb, seconds, rss_kb)


def input_xml(stanza, params, checkpoint_dir, validation=False,
              server_uri="https://127.0.0.1:8089", session_key="123102983109283019283"):
    """The document splunkd writes on stdin (run or --validate-arguments)."""
    from xml.sax.saxutils import escape, quoteattr
    ps = "".join("<param name=%s>%s</param>" % (quoteattr(k), escape(str(v)))
                 for k, v in params.items())
    head = ("<server_host>tiny</server_host><server_uri>%s</server_uri>"
            "<session_key>%s</session_key>"
            "<checkpoint_dir>%s</checkpoint_dir>"
            % (escape(server_uri), escape(session_key), escape(checkpoint_dir)))
    if validation:
        return ("<items>%s<item name=%s>%s</item></items>" % (head, quoteattr(stanza), ps)).encode()
    return ("<input>%s<configuration><stanza name=%s app=\"TA-dmarc-c\">%s"
            "<param name=\"index\">dmarc</param><param name=\"disabled\">0</param>"
            "</stanza></configuration></input>" % (head, quoteattr(stanza), ps)).encode()


def main():
    unittest.main(verbosity=2)


def make_report(org="Example Receiver", report_id="r1", domain="sender.example",
                ips=("192.0.2.1",), end=1767311999, ns=None):
    """A small, valid aggregate report with one record per address."""
    recs = "".join(
        "<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
        "</row><identifiers><header_from>%s</header_from></identifiers><auth_results>"
        "<dkim><domain>%s</domain><result>pass</result></dkim><spf><domain>%s</domain>"
        "<result>pass</result></spf></auth_results></record>" % (ip, i + 1, domain, domain, domain)
        for i, ip in enumerate(ips))
    xmlns = ' xmlns="%s"' % ns if ns else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<feedback%s><report_metadata>'
            "<org_name>%s</org_name><email>dmarc@receiver.example</email><report_id>%s</report_id>"
            "<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>"
            "<policy_published><domain>%s</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>"
            "<sp>none</sp><pct>100</pct></policy_published>%s</feedback>\n"
            % (xmlns, org, report_id, end - 86399, end, domain, recs)).encode()


def write(path, data, age=3600):
    """Write a file and date it `age` seconds back (past any quiet time)."""
    with open(path, "wb") as f:
        f.write(data)
    t = time.time() - age
    os.utime(path, (t, t))

"""Shared pieces of the mail input tests: report mails in every shape we know
reporters to send, non-report mail to put beside them, a throwaway Dovecot
(tests/lib/dovecot.sh) and a TCP relay that can cut a connection."""
import base64
import gzip
import io
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import zipfile

from tapp import SRCDIR, make_report

DOVECOT_SH = os.path.join(SRCDIR, "tests", "lib", "dovecot.sh")

HDR = ("From: DMARC Reporter <noreply-dmarc@%s>\r\nTo: rua@example.com\r\n"
       "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMIME-Version: 1.0\r\n")


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def zipped(*members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def mail(msgid, subject, body_headers, body, org="reporter.example"):
    return ((HDR % org) + "Message-ID: <%s>\r\nSubject: %s\r\n" % (msgid, subject)
            + body_headers + "\r\n" + body).encode()


def multipart(msgid, subject, parts, boundary="==b==", org="reporter.example"):
    """parts: (headers, body) pairs; a text/plain first part is usual."""
    out = "This is a multi-part message in MIME format.\r\n"
    for h, b in parts:
        out += "--%s\r\n%s\r\n%s\r\n" % (boundary, h, b)
    out += "--%s--\r\n" % boundary
    return mail(msgid, subject, 'Content-Type: multipart/mixed; boundary="%s"\r\n' % boundary,
                out, org)


TEXT = ("Content-Type: text/plain; charset=us-ascii\r\n",
        "This is an aggregate report from reporter.example.\r\n")


def shapes():
    """[(name, mail bytes, records)] - one entry per report shape, each
    report with its own org/id so events can be told apart."""
    out = []

    def rep(tag, n=1):
        ips = tuple("192.0.2.%d" % (i + 1) for i in range(n))
        return make_report(org="org-" + tag, report_id="id-" + tag, ips=ips)

    z = zipped(("reporter.example!example.com!1!2.xml", rep("zip", 2)))
    out.append(("zip", multipart("zip@r", "Report domain: example.com Submitter: zip", [
        TEXT, ('Content-Type: application/zip;\r\n\tname="r.zip"\r\n'
               'Content-Disposition: attachment; filename="r.zip"\r\n'
               "Content-Transfer-Encoding: base64\r\n", b64(z))]), 2))
    g = gzip.compress(rep("gz", 3))
    out.append(("gz", multipart("gz@r", "Report domain: example.com Submitter: gz", [
        TEXT, ('Content-Type: application/gzip; name="r.xml.gz"\r\n'
               "Content-Transfer-Encoding: base64\r\n", b64(g))]), 3))
    out.append(("xml", multipart("xml@r", "Report domain: example.com Submitter: xml", [
        TEXT, ('Content-Type: text/xml; charset=utf-8\r\nContent-Disposition: inline\r\n', rep("xml").decode())]), 1))
    # quoted-printable XML attachment named .xml, typed application/xml
    import quopri
    qp = quopri.encodestring(rep("qp").replace(b"\n", b"\r\n")).decode()
    out.append(("qp", multipart("qp@r", "Report: qp", [
        TEXT, ('Content-Type: application/xml; name="r.xml"\r\n'
               "Content-Transfer-Encoding: quoted-printable\r\n", qp)]), 1))
    # a report mail forwarded as an attached message
    inner = multipart("inner@r", "Report domain: example.com Submitter: fwd", [
        TEXT, ('Content-Type: application/gzip; name="f.xml.gz"\r\n'
               "Content-Transfer-Encoding: base64\r\n", b64(gzip.compress(rep("fwd", 2))))],
        boundary="==inner==").decode()
    out.append(("rfc822", multipart("fwd@r", "Fwd: DMARC report", [
        ("Content-Type: text/plain\r\n", "See the attached report.\r\n"),
        ("Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n", inner)],
        boundary="==outer=="), 2))
    # the whole mail body is the report (XML inline, no multipart)
    out.append(("inline", mail("inline@r", "Report domain: example.com Submitter: inline",
                               "Content-Type: text/xml; charset=utf-8\r\n",
                               rep("inline").decode()), 1))
    # whole body is a gzip, single part
    out.append(("wholebody", mail("whole@r", "Report domain: example.com Submitter: whole",
                                  'Content-Type: application/gzip; name="w.xml.gz"\r\n'
                                  "Content-Transfer-Encoding: base64\r\n",
                                  b64(gzip.compress(rep("whole"))) + "\r\n"), 1))
    out.append(("octet", multipart("octet@r", "Dmarc Aggregate Report Domain: {example.com}", [
        ('Content-Type: application/octet-stream; name=amazonses.com!example.com!1!2.xml.gz\r\n'
         "Content-Disposition: attachment; filename=amazonses.com!example.com!1!2.xml.gz\r\n"
         "Content-Transfer-Encoding: base64\r\n", b64(gzip.compress(rep("octet", 2))))]), 2))
    out.append(("noname", multipart("noname@r", "Report domain: example.com Submitter: noname", [
        TEXT, ("Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n"
               "Content-Transfer-Encoding: base64\r\n", b64(zipped(("x.xml", rep("noname")))))]), 1))
    # deep nesting: mixed > alternative + mixed > zip with two reports
    z2 = zipped(("a.xml", rep("deep-a")), ("b.xml", rep("deep-b", 2)))
    body = ("--o\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
            "--a\r\nContent-Type: text/plain\r\n\r\nhi\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--a--\r\n"
            "--o\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
            "--m\r\nContent-Type: application/x-zip-compressed; name=\"y.zip\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64(z2) + "\r\n--m--\r\n--o--\r\n")
    out.append(("deep", mail("deep@r", "Report: deep", 'Content-Type: multipart/mixed; boundary="o"\r\n', body), 3))
    return out


def non_reports(pdf_bytes=200 * 1024):
    """Mail that holds no report: plain text, HTML, a PDF attachment, a zip
    of something else."""
    pdf = b"%PDF-1.4\n" + os.urandom(pdf_bytes)
    return [
        ("plain", mail("plain@x", "Lunch?", "Content-Type: text/plain\r\n", "Shall we?\r\n", "friend.example")),
        ("pdf", multipart("pdf@x", "Invoice", [
            TEXT, ('Content-Type: application/pdf; name="invoice.pdf"\r\n'
                   "Content-Transfer-Encoding: base64\r\n", b64(pdf))], org="shop.example")),
        ("html", mail("html@x", "News", "Content-Type: text/html\r\n", "<p>news</p>\r\n", "news.example")),
        ("otherzip", multipart("oz@x", "Photos", [
            TEXT, ('Content-Type: application/zip; name="photos.zip"\r\n'
                   "Content-Transfer-Encoding: base64\r\n", b64(zipped(("a.txt", b"hello"))))],
            org="friend.example")),
    ]


class Dovecot:
    """A private Dovecot on 127.0.0.1 (random ports, own CA)."""

    def __init__(self, extra_env=None):
        env = dict(os.environ)
        env.update(extra_env or {})
        self.env_extra = env
        p = subprocess.run(["bash", DOVECOT_SH, "start"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode:
            raise RuntimeError("dovecot.sh start failed (%d): %s" % (
                p.returncode, p.stderr.decode(errors="replace")[-3000:]))
        out = p.stdout.decode()
        self.v = {}
        for line in out.splitlines():
            k, _, val = line.partition("=")
            self.v[k] = val.strip("'")
        self.dir = self.v["DOVETEST_DIR"]
        self.ca = self.v["DOVETEST_CA"]
        self.user = self.v["DOVETEST_USER"]
        self.imaps = int(self.v["DOVETEST_IMAPS_PORT"])
        self.imap = int(self.v["DOVETEST_IMAP_PORT"])
        self.pop3s = int(self.v["DOVETEST_POP3S_PORT"])
        self.pop3 = int(self.v["DOVETEST_POP3_PORT"])
        self.tmp = tempfile.mkdtemp(prefix="mbx-")
        self.pwfile = os.path.join(self.tmp, "pw")
        with open(self.pwfile, "w") as f:
            f.write(self.v["DOVETEST_PASS"] + "\n")
        os.chmod(self.pwfile, 0o600)

    def add(self, mailbox, messages):
        """Append messages (bytes) to MAILBOX (modified UTF-7 name)."""
        paths = []
        for i, m in enumerate(messages):
            p = os.path.join(self.tmp, "m%d.eml" % i)
            with open(p, "wb") as f:
                f.write(m)
            paths.append(p)
        subprocess.run(["bash", DOVECOT_SH, "add", self.dir, mailbox] + paths, check=True,
                       stdout=subprocess.DEVNULL, env=self.env_extra)
        for p in paths:
            os.unlink(p)

    def doveadm(self, *args):
        return subprocess.run(["doveadm", "-c", self.v["DOVETEST_CONF"]] + list(args),
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()

    def stop(self):
        subprocess.run(["bash", DOVECOT_SH, "stop", self.dir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


class CutRelay:
    """Relay 127.0.0.1:port -> target that cuts each of the first `cuts`
    connections after `after` bytes from the server; later ones pass."""

    def __init__(self, target_port, after, cuts=1):
        self.target, self.after, self.cuts = target_port, after, cuts
        self.conns = 0
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stopped:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns += 1
            limit = self.after if self.conns <= self.cuts else None
            threading.Thread(target=self.pump, args=(c, limit), daemon=True).start()

    def pump(self, c, limit):
        s = socket.create_connection(("127.0.0.1", self.target))
        done = threading.Event()

        def up():
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    s.sendall(d)
            except OSError:
                pass
            done.set()

        threading.Thread(target=up, daemon=True).start()
        sent = 0
        try:
            while not done.is_set():
                d = s.recv(65536)
                if not d:
                    break
                if limit is not None and sent + len(d) >= limit:
                    c.sendall(d[:max(0, limit - sent)])
                    break
                c.sendall(d)
                sent += len(d)
        except OSError:
            pass
        for x in (c, s):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def close(self):
        self.stopped = True
        self.ls.close()

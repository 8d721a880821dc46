"""Hostile files in the folder input: each is rejected with a clear message
naming the file within 5 s, peak RSS stays under 64 MB, nothing is fetched,
and a good report in the same folder is still ingested."""
import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

from tapp import DATA, main, make_report, run, write

RSS_LIMIT_MB = 64
# The 5 s is for a real build; ASan+UBSan builds run ~3x slower.
TIME_LIMIT_S = 5 * (3 if os.environ.get("SANITIZED") == "1" else 1)


def billion_laughs():
    ents = ['<!ENTITY lol0 "lol">'] + [
        '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10) for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE feedback [%s]>\n<feedback><report_metadata>'
            "<org_name>&lol9;</org_name></report_metadata></feedback>" % "".join(ents)).encode()


def quadratic_blowup():
    big = "A" * 100000
    return ('<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY a "%s">]>\n<feedback>'
            "<report_metadata><org_name>%s</org_name></report_metadata></feedback>"
            % (big, "&a;" * 10000)).encode()


def whitespace_bomb():
    """A gzip that starts like a report and then inflates to 10 GB of white
    space: it passes every content check, only the byte limit stops it."""
    import zlib
    head = gzip.compress(b"<?xml version=\"1.0\"?><feedback>")
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    member = b"".join(c.compress(chunk) for _ in range(100)) + c.flush()   # 100 MB each
    return head + member * 100


class Listener:
    """A TCP listener on 127.0.0.1 that records whether anyone connected."""
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.connections += 1
                c.close()
            except socket.timeout:
                pass

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dmarc-hostile-")
        cls.gen = os.path.join(cls.tmp, "gen")
        os.mkdir(cls.gen)
        subprocess.run([sys.executable, os.path.join(DATA, "gen_hostile.py"), cls.gen],
                       check=True, timeout=120)
        cls.listener = Listener()
        secret = os.path.join(cls.tmp, "secret.txt")
        with open(secret, "w") as f:
            f.write("TOPSECRET-XXE-CONTENT")
        cls.files = {
            "billion_laughs.xml": billion_laughs(),
            "quadratic_blowup.xml": quadratic_blowup(),
            "xxe_file.xml": ('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM '
                             '"file://%s">]><feedback><report_metadata><org_name>&x;</org_name>'
                             "</report_metadata></feedback>" % secret).encode(),
            "xxe_listener.xml": ('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM '
                                 '"http://127.0.0.1:%d/x">]><feedback><report_metadata><org_name>'
                                 "&x;</org_name></report_metadata></feedback>"
                                 % cls.listener.port).encode(),
            "xxe_external_dtd.xml": ('<?xml version="1.0"?><!DOCTYPE feedback SYSTEM '
                                     '"http://127.0.0.1:%d/dtd"><feedback/>' % cls.listener.port).encode(),
            "xxe_parameter.xml": ('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY %% p SYSTEM '
                                  '"http://127.0.0.1:%d/p"> %%p;]><feedback/>' % cls.listener.port).encode(),
            "not_a_report.xml": b"<?xml version=\"1.0\"?><rss><channel/></rss>",
            "malformed.xml": b"<feedback><report_metadata><org_name>x</org_name>",
            "whitespace_bomb.xml.gz": whitespace_bomb(),
        }
        for name in sorted(os.listdir(cls.gen)):
            if name != "good.xml":
                with open(os.path.join(cls.gen, name), "rb") as f:
                    cls.files[name] = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.listener.close()
        shutil.rmtree(cls.tmp)

    def check_one(self, name, data):
        d = tempfile.mkdtemp(dir=self.tmp)
        try:
            write(os.path.join(d, name), data)
            write(os.path.join(d, "zz-good.xml"), make_report(org="Good Org"))
            r = run("dmarc_directory", ["--dir", d, "--quiet-time", "0", "--no-resolve-ip",
                                        "--checkpoint-dir", os.path.join(d, ".ck")], timeout=60)
            self.assertEqual(r.rc, 0, r)
            self.assertLess(r.seconds, TIME_LIMIT_S, r)
            self.assertLess(r.maxrss_mb, RSS_LIMIT_MB, r)
            evs = r.events()
            self.assertEqual([e["feedback"][0]["report_metadata"]["org_name"] for e in evs],
                             ["Good Org"], "%s: %r" % (name, r))
            line = [l for l in r.err.decode().splitlines() if name in l and "WARN" in l]
            self.assertTrue(line, "%s: no WARN naming it: %r" % (name, r))
            self.assertNotIn("TOPSECRET", r.out.decode() + r.err.decode())
            return line[0], r
        finally:
            shutil.rmtree(d)

    def test_each_hostile_file(self):
        expect = {
            "billion_laughs.xml": "DOCTYPE",
            "quadratic_blowup.xml": "DOCTYPE",
            "xxe_file.xml": "DOCTYPE",
            "xxe_listener.xml": "DOCTYPE",
            "xxe_external_dtd.xml": "DOCTYPE",
            "xxe_parameter.xml": "DOCTYPE",
            "not_a_report.xml": "root element is <rss>",
            "malformed.xml": "not well-formed",
            "gzip_bomb.xml.gz": "not XML",          # zeros: refused at the 4th byte
            "whitespace_bomb.xml.gz": "max_bytes",  # looks like XML: the byte limit
            "empty.xml": "empty",
        }
        for name, data in sorted(self.files.items()):
            with self.subTest(file=name):
                line, r = self.check_one(name, data)
                if name in expect:
                    self.assertIn(expect[name], line)
                print("%-34s %.2fs %5.1f MB  %s" % (name, r.seconds, r.maxrss_mb, line[:150]))
        self.assertEqual(self.listener.connections, 0, "an XML file made us connect out")

    def test_all_together_and_checkpointed_once(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        ck = os.path.join(d, ".ck")
        for name, data in self.files.items():
            write(os.path.join(d, name), data)
        write(os.path.join(d, "good.xml"), make_report(org="Good Org"))
        r = run("dmarc_directory", ["--dir", d, "--quiet-time", "0", "--no-resolve-ip",
                                    "--checkpoint-dir", ck], timeout=120)
        self.assertEqual(r.rc, 0, r)
        self.assertLess(r.maxrss_mb, RSS_LIMIT_MB, r)
        self.assertEqual(len(r.events()), 1, r)
        # Permanent rejections are checkpointed: the next run reads nothing.
        r = run("dmarc_directory", ["--dir", d, "--quiet-time", "0", "--no-resolve-ip",
                                    "--checkpoint-dir", ck], timeout=60)
        self.assertEqual(r.events(), [])
        self.assertIn("%d already seen" % (len(self.files) + 1), r.err.decode(), r)
        self.assertLess(r.seconds, 2, r)


if __name__ == "__main__":
    main()

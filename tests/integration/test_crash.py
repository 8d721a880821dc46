"""Crashes and a full disk during folder ingestion (hostile-environment
suite): kill -9 at random moments, then finish; every report's events
appear, and a report appears twice only if it was in flight at a kill.
A full checkpoint disk fails the run clearly and keeps the old checkpoint.
SOAK=1 runs 100 kill iterations instead of 10."""
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from tapp import exe_path, main, make_report, run, write

ITERATIONS = 100 if os.environ.get("SOAK") == "1" else 10
RECORDS = 1500   # per report: a run over the folder takes long enough to hit


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dmarc-crash-")
        self.dir = os.path.join(self.tmp, "in")
        self.ck = os.path.join(self.tmp, "ck")
        os.mkdir(self.dir)

    def tearDown(self):
        subprocess.run(["umount", os.path.join(self.tmp, "small")], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp)

    def test_kill9_at_random_moments(self):
        rnd = random.Random(int(os.environ.get("CRASH_SEED", "4242")))
        n_reports = 24
        for i in range(n_reports):
            ips = ["10.%d.%d.%d" % (i, r // 256, r % 256) for r in range(RECORDS)]
            data = make_report(report_id="rep-%02d" % i, ips=ips)
            name = "r%02d.xml" % i
            if i % 3 == 1:
                data, name = gzip.compress(data), name + ".gz"
            write(os.path.join(self.dir, name), data)
        args = [exe_path("dmarc_directory"), "--dir", self.dir, "--quiet-time", "0",
                "--no-resolve-ip", "--no-validate-xml", "--checkpoint-dir", self.ck]
        # How long a whole run takes, to aim the kills inside it.
        t = time.monotonic()
        subprocess.run(args + ["--checkpoint-dir", os.path.join(self.tmp, "probe")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        full = time.monotonic() - t
        outputs, kills = [], 0
        for it in range(ITERATIONS):
            out = os.path.join(self.tmp, "out%03d" % it)
            with open(out, "wb") as f:
                p = subprocess.Popen(args, stdout=f, stderr=subprocess.DEVNULL)
                time.sleep(rnd.uniform(0, full / 2))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                p.wait()
            outputs.append(out)
        final = os.path.join(self.tmp, "final")
        with open(final, "wb") as f:
            self.assertEqual(subprocess.run(args, stdout=f, stderr=subprocess.DEVNULL).returncode, 0)
        outputs.append(final)

        per_report, torn = {}, 0
        for out in outputs:
            for line in open(out, "rb").read().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    torn += 1        # the event being written when killed
                    continue
                rid = ev["feedback"][0]["report_metadata"]["report_id"]
                per_report[rid] = per_report.get(rid, 0) + 1
        self.assertEqual(sorted(per_report), ["rep-%02d" % i for i in range(n_reports)])
        for rid, n in per_report.items():
            self.assertGreaterEqual(n, RECORDS, rid)
        twice = [rid for rid, n in per_report.items() if n > RECORDS]
        self.assertLessEqual(len(twice), kills, (twice, kills))
        self.assertLessEqual(torn, kills)
        print("kills %d of %d runs, reports re-emitted after a kill: %d, torn lines: %d"
              % (kills, ITERATIONS, len(twice), torn))
        # And a run after everything was done reads nothing.
        r = run("dmarc_directory", args[1:])
        self.assertEqual(r.out, b"")

    def test_full_checkpoint_disk(self):
        small = os.path.join(self.tmp, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small],
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        ck = os.path.join(small, "ck")
        write(os.path.join(self.dir, "a.xml"), make_report(report_id="a"))
        base = ["--dir", self.dir, "--quiet-time", "0", "--no-resolve-ip", "--checkpoint-dir", ck]
        r = run("dmarc_directory", base)
        self.assertEqual((r.rc, len(r.events())), (0, 1), r)
        before = {f: open(os.path.join(ck, f), "rb").read() for f in os.listdir(ck)}
        # Fill the file system to the last byte.
        fd = os.open(os.path.join(small, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass
        os.close(fd)
        write(os.path.join(self.dir, "b.xml"), make_report(report_id="b"))
        write(os.path.join(self.dir, "c.xml"), make_report(report_id="c"))
        r = run("dmarc_directory", base)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"cannot write checkpoint", r.err)
        self.assertIn(b"No space left on device", r.err)
        # It stopped at the first file it could not checkpoint.
        self.assertEqual([e["feedback"][0]["report_metadata"]["report_id"] for e in r.events()], ["b"])
        after = {f: open(os.path.join(ck, f), "rb").read() for f in os.listdir(ck)}
        self.assertEqual(after, before)          # old checkpoint intact, nothing half-written
        # Space again: b is read again (its checkpoint never landed), then c.
        os.unlink(os.path.join(small, "filler"))
        r = run("dmarc_directory", base)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(sorted(e["feedback"][0]["report_metadata"]["report_id"]
                                for e in r.events()), ["b", "c"])


if __name__ == "__main__":
    main()

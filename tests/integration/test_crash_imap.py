"""kill -9 during an IMAP ingestion (issue 5, crashes and restarts), like
test_crash.py for the folder input: dmarc_imap against a throwaway Dovecot
is killed at random moments, then a last run finishes.  Across all runs
every report's events appear, and a report appears twice only if it was in
flight at a kill.  SOAK=1 runs 100 kill iterations instead of 10."""
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

from mailtest import Dovecot, b64, multipart, TEXT
from tapp import exe_path, main, make_report, run

ITERATIONS = 100 if os.environ.get("SOAK") == "1" else 10
RECORDS = 400     # per report: enough work per message to be killed in it
N_REPORTS = 30


class ImapCrashTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dmarc-crash-imap-")
        self.ck = os.path.join(self.tmp, "ck")
        self.d = Dovecot()
        msgs = []
        for i in range(N_REPORTS):
            ips = ["10.%d.%d.%d" % (i, r // 256, r % 256) for r in range(RECORDS)]
            rep = make_report(report_id="rep-%02d" % i, org="org-%02d" % i, ips=ips)
            msgs.append(multipart("m%d@r" % i, "Report domain: example.com id %d" % i, [
                TEXT, ('Content-Type: application/gzip; name="r%d.xml.gz"\r\n'
                       "Content-Transfer-Encoding: base64\r\n" % i, b64(gzip.compress(rep)))]))
        self.d.add("INBOX", msgs)

    def tearDown(self):
        self.d.stop()
        shutil.rmtree(self.tmp)

    def test_kill9_at_random_moments(self):
        rnd = random.Random(int(os.environ.get("CRASH_SEED", "5151")))
        args = [exe_path("dmarc_imap"), "--server", "127.0.0.1", "--port", str(self.d.imaps),
                "--ca-file", self.d.ca, "--username", self.d.user,
                "--password-file", self.d.pwfile, "--no-resolve-ip", "--no-validate-xml",
                "--batch-size", "3"]
        # How long a whole run takes, to aim the kills inside it.
        t = time.monotonic()
        subprocess.run(args + ["--checkpoint-dir", os.path.join(self.tmp, "probe")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        full = time.monotonic() - t
        args += ["--checkpoint-dir", self.ck]
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
            with open(out, "rb") as f:
                lines = f.read().splitlines()
            for line in lines:
                try:
                    ev = json.loads(line)
                except ValueError:
                    torn += 1        # the event being written when killed
                    continue
                rid = ev["feedback"][0]["report_metadata"]["report_id"]
                per_report[rid] = per_report.get(rid, 0) + 1
        self.assertEqual(sorted(per_report), ["rep-%02d" % i for i in range(N_REPORTS)])
        for rid, n in per_report.items():
            self.assertGreaterEqual(n, RECORDS, rid)
        twice = [rid for rid, n in per_report.items() if n > RECORDS]
        # a batch of 3 messages is checkpointed together: a kill can catch
        # all three in flight
        self.assertLessEqual(len(twice), 3 * kills, (twice, kills))
        self.assertLessEqual(torn, kills)
        print("full run %.2fs; kills %d of %d runs, reports re-emitted after a kill: %d, "
              "torn lines: %d" % (full, kills, ITERATIONS, len(twice), torn))
        # And a run after everything was done reads nothing.
        r = run("dmarc_imap", args[1:])
        self.assertEqual((r.rc, r.out), (0, b""), r)


if __name__ == "__main__":
    main()

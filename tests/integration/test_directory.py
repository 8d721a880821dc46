"""dmarc_directory through the real executable: --scheme, --validate-arguments,
a splunkd-style run with the input XML on stdin, and the CLI mode."""
import gzip
import io
import os
import shutil
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
import zipfile

from tapp import input_xml, main, make_report, run, write


class DirectoryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dmarc-dir-")
        self.dir = os.path.join(self.tmp, "reports")
        self.ckpt = os.path.join(self.tmp, "ckpt")
        os.mkdir(self.dir)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_scheme(self):
        r = run("dmarc_directory", ["--scheme"])
        self.assertEqual(r.rc, 0, r)
        s = ET.fromstring(r.out)
        self.assertEqual(s.findtext("use_external_validation"), "true")
        self.assertEqual(s.findtext("streaming_mode"), "xml")
        args = {a.get("name"): a for a in s.iter("arg")}
        self.assertEqual(sorted(args), ["dmarc_directory", "output_format", "quiet_time",
                                        "resolve_ip", "validate_xml"])
        self.assertEqual(args["dmarc_directory"].findtext("required_on_create"), "true")
        self.assertEqual(args["resolve_ip"].findtext("data_type"), "boolean")
        self.assertIn("default 10", args["quiet_time"].findtext("description"))

    def validate(self, params):
        return run("dmarc_directory", ["--validate-arguments"],
                   stdin=input_xml("dmarc_directory://x", params, self.ckpt, validation=True))

    def test_validate_arguments(self):
        r = self.validate({"dmarc_directory": self.dir, "quiet_time": "10"})
        self.assertEqual((r.rc, r.out), (0, b""), r)
        for params, needle in [
                ({"dmarc_directory": self.dir + "/missing"}, b"cannot be read"),
                ({"dmarc_directory": self.dir, "quiet_time": "ten"}, b"quiet_time must be a whole number"),
                ({"dmarc_directory": self.dir, "output_format": "csv"}, b"output_format must be json or kv"),
                ({"dmarc_directory": self.dir, "resolve_ip": "maybe"}, b"resolve_ip must be true or false"),
                ({}, b"dmarc_directory is required")]:
            r = self.validate(params)
            self.assertEqual(r.rc, 1, r)
            err = ET.fromstring(r.out)
            self.assertEqual(err.tag, "error")
            self.assertIn(needle.decode(), err.findtext("message"))

    def modinput(self, **params):
        p = {"dmarc_directory": self.dir, "quiet_time": "0", "resolve_ip": "0",
             "validate_xml": "1", "output_format": "json"}
        p.update(params)
        return run("dmarc_directory", [], stdin=input_xml("dmarc_directory://rep", p, self.ckpt))

    def test_modinput_stream_and_checkpoints(self):
        write(os.path.join(self.dir, "a.xml"), make_report(ips=("192.0.2.1", "192.0.2.2")))
        gz = gzip.compress(make_report(org="Gz Org", report_id="g1"))
        write(os.path.join(self.dir, "b.xml.gz"), gz)
        zbuf = io.BytesIO()
        with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("one.xml", make_report(org="Zip Org", report_id="z1"))
            z.writestr("sub/two.xml", make_report(org="Zip Org", report_id="z2"))
            z.writestr("README.txt", b"not a report")
        write(os.path.join(self.dir, "c.zip"), zbuf.getvalue())
        write(os.path.join(self.dir, "notes.txt"), b"hello")

        r = self.modinput()
        self.assertEqual(r.rc, 0, r)
        stream = ET.fromstring(r.out)
        self.assertEqual(stream.tag, "stream")
        evs = stream.findall("event")
        self.assertEqual(len(evs), 5, r)
        sources = sorted(e.findtext("source") for e in evs)
        self.assertEqual(sources, ["a.xml", "a.xml", "b.xml", "one.xml", "two.xml"])
        for e in evs:
            self.assertEqual(e.get("stanza"), "dmarc_directory://rep")
            self.assertEqual(e.findtext("sourcetype"), "dmarc")
            self.assertEqual(e.findtext("index"), "dmarc")
            self.assertEqual(e.findtext("time"), "1767311999")
            import json
            d = json.loads(e.findtext("data"))
            self.assertIn("report_metadata", d["feedback"][0])
            self.assertEqual(sorted(d["vendor_rua_xsd_validations"]),
                             ["rua_draft-dmarc-base-00-02.xsd", "rua_rfc7489.xsd",
                              "rua_rfc9990.xsd", "rua_ta_dmarc_relaxed_v01.xsd"])
        self.assertIn(b"notes.txt: skipped, no DMARC aggregate report in it: not XML", r.err)
        # Checkpoints are 0600 files in checkpoint_dir.
        for f in os.listdir(self.ckpt):
            self.assertEqual(os.stat(os.path.join(self.ckpt, f)).st_mode & 0o777, 0o600)

        # Second run: everything was checkpointed, nothing is emitted.
        r = self.modinput()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.strip(), b"", r)
        self.assertIn(b"4 already seen", r.err)

        # A file rewritten under the same name is read again; a new one too.
        write(os.path.join(self.dir, "a.xml"), make_report(ips=("192.0.2.9",)), age=1800)
        write(os.path.join(self.dir, "d.xml"), make_report(report_id="d"))
        r = self.modinput()
        evs = ET.fromstring(r.out).findall("event")
        self.assertEqual(sorted(e.findtext("source") for e in evs), ["a.xml", "d.xml"])

    def test_quiet_time(self):
        write(os.path.join(self.dir, "new.xml"), make_report(), age=0)
        r = self.modinput(quiet_time="60")
        self.assertEqual(r.out.strip(), b"")
        self.assertIn(b"1 too recent", r.err)
        r = self.modinput(quiet_time="0")
        self.assertEqual(len(ET.fromstring(r.out).findall("event")), 1)

    def test_kv_output(self):
        write(os.path.join(self.dir, "a.xml"), make_report())
        r = run("dmarc_directory", ["--dir", self.dir, "--quiet-time", "0", "--output", "kv",
                                    "--no-resolve-ip"])
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.out.startswith(b"RUA BEGIN\nrpt_metadata_org_name=\"Example Receiver\",\n"), r.out)
        self.assertIn(b'vendor_rua_xsd_validation="success"\n', r.out)

    def test_cli(self):
        write(os.path.join(self.dir, "a.xml"), make_report(ips=("192.0.2.1", "192.0.2.2", "192.0.2.3")))
        r = run("dmarc_directory", ["--dir", self.dir, "--quiet-time", "0", "--no-resolve-ip",
                                    "--no-validate-xml"])
        self.assertEqual(r.rc, 0, r)
        evs = r.events()
        self.assertEqual(len(evs), 3)
        self.assertEqual(evs[0]["vendor_rua_xsd_validations"], "None")
        self.assertEqual([e["feedback"][2]["record"]["row"]["source_ip"] for e in evs],
                         ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        self.assertTrue(all(l.startswith((b"DEBUG ", b"INFO ", b"WARN ", b"ERROR "))
                            for l in r.err.splitlines()), r.err)
        # Without --checkpoint-dir nothing is remembered: same events again.
        self.assertEqual(len(run("dmarc_directory", ["--dir", self.dir, "--quiet-time", "0",
                                                     "--no-resolve-ip"]).events()), 3)

    def test_cli_usage(self):
        r = run("dmarc_directory", ["--help"])
        self.assertEqual(r.rc, 0)
        self.assertIn(b"--checkpoint-dir", r.out)
        self.assertEqual(run("dmarc_directory", ["--bogus"]).rc, 2)
        self.assertEqual(run("dmarc_directory", ["--quiet-time", "1"]).rc, 2)
        r = run("dmarc_directory", ["--dir", self.dir + "/nope"])
        self.assertEqual(r.rc, 2)
        self.assertIn(b"cannot be read", r.err)
        self.assertEqual(run("dmarc_directory", ["--dir", self.dir, "--output", "csv"]).rc, 2)

    def test_bad_stdin(self):
        r = run("dmarc_directory", [], stdin=b"this is not xml")
        self.assertEqual(r.rc, 2)
        self.assertIn(b"ERROR ", r.err)
        self.assertIn(b"not valid XML", r.err)


if __name__ == "__main__":
    main()

"""Every shipped executable answers --help and --version the way people and
packagers expect: text on stdout, nothing on stderr, exit 0; a usage error
goes to stderr with exit 2."""
import re
import unittest

from tapp import run

SHIPPED = ["dmarc_directory", "dmarc_imap", "dmarc_pop3", "dmarc_imap_oauth2",
           "soar_imap"]


class Cli(unittest.TestCase):
    def check_help(self, argv):
        r = run(argv[0], argv[1:])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, b"", r)
        out = r.out.decode()
        self.assertRegex(out, r"(?i)^usage: ")
        self.assertIn("--help", out)
        self.assertIn("--version", out)

    def test_help(self):
        for name in SHIPPED:
            with self.subTest(name):
                self.check_help([name, "--help"])

    def test_soar_parse_help(self):
        # once read as a file name: "ERROR cannot read --help"
        self.check_help(["soar_imap", "parse", "--help"])

    def test_version(self):
        for name in SHIPPED:
            with self.subTest(name):
                r = run(name, ["--version"])
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.err, b"", r)
                self.assertRegex(r.out.decode(),
                                 r"^%s \d+\.\d+\.\d+\n$" % re.escape(name))

    def test_unknown_option(self):
        for argv in [[n, "--no-such-flag"] for n in SHIPPED] + \
                    [["soar_imap", "parse", "--no-such-flag"]]:
            with self.subTest(" ".join(argv)):
                r = run(argv[0], argv[1:])
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, b"", r)
                self.assertIn(b"usage", r.err.lower())


if __name__ == "__main__":
    unittest.main()

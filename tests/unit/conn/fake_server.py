#!/usr/bin/env python3
"""Misbehaving servers on 127.0.0.1 for the conn and imap client tests.

Usage: fake_server.py PORTFILE
Opens one listener per scenario on a random port, writes "NAME PORT" lines
to PORTFILE (then renames it into place, so readers never see half a file)
and serves until killed.  Each scenario plays one fixed script against
every connection; the IMAP ones echo the client's tag where a real server
would, or deliberately get it wrong.
"""
import os
import socket
import sys
import threading
import time

GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN STARTTLS] fake ready\r\n"


def readline(f):
    line = f.readline()
    if not line:
        raise EOFError
    return line


def tag_of(line):
    return line.split(b" ", 1)[0]


def imap_login_examine(s, f, exists=b"5"):
    """Greeting, LOGIN -> OK, EXAMINE -> OK [READ-ONLY]."""
    s.sendall(GREETING)
    t = tag_of(readline(f))
    s.sendall(t + b" OK logged in\r\n")
    t = tag_of(readline(f))
    s.sendall(b"* " + exists + b" EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
              + t + b" OK [READ-ONLY] examined\r\n")


def silent(s, f):
    time.sleep(30)


def longline(s, f):
    s.sendall(b"A" * 100000)
    time.sleep(30)


def chunks(s, f):
    # a line split in tiny writes, a CRLF split across writes, then 10 bytes
    for part in (b"hel", b"lo wor", b"ld\r", b"\nsecond\r\n", b"0123456789"):
        s.sendall(part)
        time.sleep(0.05)
    time.sleep(30)


def imap_badtag(s, f):
    s.sendall(GREETING)
    readline(f)
    s.sendall(b"X999 OK done\r\n")
    time.sleep(5)


def imap_garbage(s, f):
    s.sendall(GREETING)
    readline(f)
    s.sendall(b"garbage!!\r\n")
    time.sleep(5)


def imap_no_login(s, f):
    s.sendall(GREETING)
    t = tag_of(readline(f))
    s.sendall(t + b" NO [AUTHENTICATIONFAILED] go away\r\n")
    t = tag_of(readline(f))
    s.sendall(t + b" OK second try ok\r\n")
    time.sleep(5)


def imap_bigsearch(s, f):
    imap_login_examine(s, f, b"1000000")
    for _ in range(2):      # two searches: streamed callback, capped array
        t = tag_of(readline(f))
        s.sendall(b"* SEARCH")
        step = 10000
        for base in range(1, 1000001, step):
            s.sendall(b"".join(b" %d" % u for u in range(base, base + step)))
        s.sendall(b"\r\n" + t + b" OK search done\r\n")
    t = tag_of(readline(f))
    s.sendall(b"* SEARCH 1 2 x3\r\n" + t + b" OK\r\n")
    time.sleep(5)


def imap_hugeliteral(s, f):
    imap_login_examine(s, f)
    # 1: a body over max_body (drained, flagged), then a normal one
    t = tag_of(readline(f))
    s.sendall(b"* 1 FETCH (UID 11 BODY[] {3000}\r\n" + b"x" * 3000 + b")\r\n"
              + b"* 2 FETCH (BODY[] {5}\r\nhello UID 12)\r\n"
              + t + b" OK fetched\r\n")
    # 2: a literal no limit allows
    t = tag_of(readline(f))
    s.sendall(b"* 3 FETCH (UID 13 BODY[] {99999999999}\r\nxxx")
    time.sleep(5)


def imap_two_bodies(s, f):
    # one FETCH, a body over max_body then one under it
    imap_login_examine(s, f)
    t = tag_of(readline(f))
    s.sendall(b"* 1 FETCH (UID 11 BODY[1] {3000}\r\n" + b"x" * 3000 +
              b" BODY[2] {5}\r\nhello)\r\n" + t + b" OK fetched\r\n")
    time.sleep(5)


def imap_two_bodystructures(s, f):
    # a good BODYSTRUCTURE, then a malformed one (and the same for
    # INTERNALDATE) in one FETCH: the last one counts
    imap_login_examine(s, f)
    t = tag_of(readline(f))
    s.sendall(b'* 1 FETCH (UID 11 BODYSTRUCTURE ("text" "plain" NIL NIL NIL'
              b' "7bit" 5 1 NIL NIL NIL NIL) INTERNALDATE'
              b' "01-Jan-2024 00:00:00 +0000" BODYSTRUCTURE ("text" 5)'
              b' INTERNALDATE "not a date")\r\n' + t + b" OK fetched\r\n")
    time.sleep(5)


def imap_bye(s, f):
    s.sendall(GREETING)
    readline(f)
    s.sendall(b"* BYE shutting down for maintenance\r\n")
    s.close()


def imap_search_greeting(s, f):
    # streamed by the client instead of assembled: nothing to check a
    # greeting against (fuzz_imap_response found the NULL buffer this hit)
    s.sendall(b"* SEARCH 1 2\r\n")
    time.sleep(5)


def starttls_inject(s, f):
    s.sendall(GREETING)
    t = tag_of(readline(f))
    s.sendall(t + b" OK begin TLS now\r\n* OK injected before TLS\r\n")
    time.sleep(5)


SCENARIOS = {name: fn for name, fn in globals().items()
             if callable(fn) and name in (
                 "silent", "longline", "chunks", "imap_badtag", "imap_garbage",
                 "imap_no_login", "imap_bigsearch", "imap_hugeliteral",
                 "imap_bye", "imap_two_bodies", "imap_two_bodystructures", "imap_search_greeting", "starttls_inject")}


def serve(lsock, fn):
    while True:
        c, _ = lsock.accept()

        def run(c=c):
            try:
                with c, c.makefile("rb") as f:
                    fn(c, f)
            except (OSError, EOFError):
                pass
        threading.Thread(target=run, daemon=True).start()


def main():
    portfile = sys.argv[1]
    lines = []
    for name, fn in SCENARIOS.items():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        lines.append("%s %d\n" % (name, ls.getsockname()[1]))
        threading.Thread(target=serve, args=(ls, fn), daemon=True).start()
    with open(portfile + ".tmp", "w") as out:
        out.writelines(lines)
    os.rename(portfile + ".tmp", portfile)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

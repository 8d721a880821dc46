"""A hostile IMAP / POP3 server on 127.0.0.1 for the client tests.

HostileServer sits in front of a real server (a throwaway Dovecot's plain
port, tests/lib/dovecot.sh) and relays a session faithfully until its
scenario's cue, then misbehaves: it rewrites, cuts, stalls or floods the
server's answers.  Scenarios that act before login need no real server at
all.  Because the mailbox behind it is real, a client run that fails
against it can be followed by a run against the real server with the same
checkpoints, and the two together must emit every report.

It terminates the client's TLS itself (implicit, or after STARTTLS / STLS),
with whatever certificate the test hands it: one for another host name, an
expired one, or a good one.  Everything the client sends is recorded per
connection, with whether TLS was up at the time, so a test can check that
a password never crossed a plain or unverified connection.

One thread per connection, one select loop per thread; TLS runs over
memory BIOs so reading and writing never share an SSL object across
threads.  Nothing here ever listens on anything but 127.0.0.1.
"""
import re
import select
import socket
import ssl
import threading
import time

GB10 = 10 * 1024 ** 3
LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")


class Session:
    """One client connection: what the client sent, as the server saw it."""

    def __init__(self):
        self.sent_plain = bytearray()    # client bytes before any TLS
        self.sent_tls = bytearray()      # client bytes over TLS
        self.tls_error = None            # the handshake failed (client refused us)
        self.closed_by_client = False

    def received(self):
        return bytes(self.sent_plain + self.sent_tls)


class HostileServer:
    """proto: "imap" or "pop3".  scenario: a name from SCENARIOS (or None:
    an honest relay).  backend_port: the real server's plain port (None for
    scenarios that never reach it).  tls: "implicit" or "starttls".
    cert/key: the PEM pair presented to the client."""

    def __init__(self, proto, scenario, backend_port=None, tls="implicit",
                 cert=None, key=None):
        self.proto, self.scenario, self.backend_port = proto, scenario, backend_port
        self.tls = tls
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.sessions = []
        self.fired_once = False
        self.events = []                 # what the scenario did, for messages
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.stopped = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def close(self):
        self.stopped = True
        try:
            self.ls.close()
        except OSError:
            pass
        for t in self.threads:
            t.join(2)

    def all_received(self):
        return b"".join(s.received() for s in self.sessions)

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = Session()
            self.sessions.append(s)
            t = threading.Thread(target=self._serve, args=(c, s), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, c, sess):
        conn = _Conn(self, c, sess)
        try:
            conn.run()
        except (OSError, ssl.SSLError, EOFError):
            pass
        finally:
            conn.close()


class _Conn:
    """The relay loop of one connection."""

    def __init__(self, srv, c, sess):
        self.srv, self.c, self.sess = srv, c, sess
        self.proto, self.sc = srv.proto, srv.scenario
        self.b = None                      # backend socket
        self.sslobj = None
        self.inbio = self.outbio = None
        self.cin = bytearray()             # client plaintext not yet parsed
        self.bin = bytearray()             # backend bytes not yet parsed
        self.out = bytearray()             # plaintext queued for the client
        self.raw_out = bytearray()         # TLS records queued for the client
        self.trickle = False               # one byte per second from now on
        self.flood = None                  # endless bytes generator (bytes chunk)
        self.close_after_out = False
        self.last_trickle = 0.0
        self.pending = []                  # POP3: commands waiting for answers
        self.fired = False                 # the scenario's cue has passed
        self.done = False
        self.handshaking = False
        self.cmd = b""

    # ------------------------------------------------------------ plumbing
    def close(self):
        for s in (self.c, self.b):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def start_tls(self):
        self.inbio, self.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.sslobj = self.srv.ctx.wrap_bio(self.inbio, self.outbio, server_side=True)

    def send_client(self, data):
        self.out += data

    def note(self, what):
        self.srv.events.append(what)

    def _pump_tls_in(self, raw):
        """Feed raw client bytes; returns the plaintext now readable."""
        self.inbio.write(raw)
        plain = bytearray()
        while True:
            try:
                d = self.sslobj.read(65536)
                if not d:
                    raise EOFError
                plain += d
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError as e:
                self.sess.tls_error = str(e)
                raise EOFError
        self._drain_outbio()
        return bytes(plain)

    def _drain_outbio(self):
        d = self.outbio.read()
        if d:
            self.raw_out += d

    def _handshake(self):
        try:
            self.sslobj.do_handshake()
            return True
        except ssl.SSLWantReadError:
            return False
        finally:
            self._drain_outbio()

    # --------------------------------------------------------------- loop
    def run(self):
        self.c.setblocking(False)
        self.handshaking = False
        if self.srv.tls == "implicit":
            self.start_tls()
            self.handshaking = True
        if self.sc in PRELOGIN:
            PRELOGIN[self.sc](self)
        else:
            self.b = socket.create_connection(("127.0.0.1", self.srv.backend_port))
            self.b.setblocking(False)
        while not self.done and not self.srv.stopped:
            self._fill_out()
            want_w = [self.c] if self._client_has_output() else []
            rl = [self.c] + ([self.b] if self.b is not None else [])
            r, w, _ = select.select(rl, want_w, [], 0.05)
            if self.c in r:
                try:
                    raw = self.c.recv(65536)
                except BlockingIOError:
                    raw = None
                if raw == b"":
                    self.sess.closed_by_client = True
                    return
                if raw:
                    if self.sslobj is not None:
                        if self.handshaking:
                            self.inbio.write(raw)
                            try:
                                if self._handshake():
                                    self.handshaking = False
                            except ssl.SSLError as e:
                                self.sess.tls_error = str(e)
                                self._flush_raw()
                                return
                            if not self.handshaking and self.inbio.pending:
                                self._client_plain(self._pump_tls_in(b""), True)
                        else:
                            self._client_plain(self._pump_tls_in(raw), True)
                    else:
                        self._client_plain(raw, False)
            if self.b is not None and self.b in r:
                try:
                    d = self.b.recv(65536)
                except BlockingIOError:
                    d = None
                if d == b"":
                    self.b.close()
                    self.b = None
                    self.close_after_out = True
                elif d:
                    self.bin += d
                    self._backend_units()
            if self._client_has_output():
                self._write_client()
            elif self.close_after_out:
                return

    def _client_has_output(self):
        if self.handshaking:
            return bool(self.raw_out)
        return bool(self.raw_out) or (bool(self.out) and (
            not self.trickle or time.monotonic() - self.last_trickle >= 1.0))

    def _fill_out(self):
        if self.flood is not None and len(self.out) < 65536:
            self.out += self.flood

    def _write_client(self):
        if self.out and not self.raw_out and not self.handshaking:
            if self.trickle:
                if time.monotonic() - self.last_trickle < 1.0:
                    return
                chunk = bytes(self.out[:1])
                self.last_trickle = time.monotonic()
            else:
                chunk = bytes(self.out[:16384])
            del self.out[:len(chunk)]
            if self.sslobj is not None:
                self.sslobj.write(chunk)
                self._drain_outbio()
            else:
                self.raw_out += chunk
        self._flush_raw()

    def _flush_raw(self):
        while self.raw_out:
            try:
                n = self.c.send(self.raw_out)
            except BlockingIOError:
                return
            del self.raw_out[:n]

    # -------------------------------------------------- client -> server
    def _client_plain(self, data, tls):
        (self.sess.sent_tls if tls else self.sess.sent_plain).extend(data)
        self.cin += data
        while b"\n" in self.cin:
            i = self.cin.index(b"\n") + 1
            line = bytes(self.cin[:i])
            del self.cin[:i]
            self._client_line(line)

    def _client_line(self, line):
        words = line.strip().split(b" ")
        if self.proto == "imap":
            verb = words[1].upper() if len(words) > 1 else b""
            if verb == b"STARTTLS":
                return self._starttls(words[0] + b" OK Begin TLS now\r\n",
                                      words[0] + b" NO [UNAVAILABLE] TLS is not available today\r\n")
            if verb == b"LOGOUT" and self.b is None:
                self.send_client(b"* BYE\r\n" + words[0] + b" OK bye\r\n")
                self.close_after_out = True
                return
        else:
            verb = words[0].upper()
            if verb == b"STLS":
                return self._starttls(b"+OK Begin TLS now\r\n", b"-ERR TLS is not available today\r\n")
            self.pending.append(verb + (b" " + words[1] if len(words) > 1 else b""))
        hook = COMMAND_HOOKS.get(self.sc)
        if hook and hook(self, line):
            return
        if self.b is not None:
            self.b.setblocking(True)
            self.b.sendall(line)
            self.b.setblocking(False)

    def _starttls(self, ok, refused):
        if self.sc == "starttls_refused":
            self.note("refused STARTTLS")
            self.send_client(refused)
            return
        self.send_client(ok)
        # the reply goes out in clear before the handshake starts
        self._write_client()
        while self.out or self.raw_out:
            select.select([], [self.c], [], 0.05)
            self._write_client()
        self.start_tls()
        self.c.setblocking(True)
        self.c.settimeout(10)
        try:
            while not self._handshake():
                raw = self.c.recv(65536)
                if not raw:
                    raise EOFError
                self.inbio.write(raw)
        except ssl.SSLError as e:
            self.sess.tls_error = str(e)
            self._flush_raw()
            raise EOFError
        finally:
            self._flush_raw()
            self.c.setblocking(False)

    # -------------------------------------------------- server -> client
    def _backend_units(self):
        """Cut the backend stream into whole responses (IMAP: a line plus
        its literals; POP3: a status line plus its multi-line body) and
        hand each to the scenario."""
        while True:
            unit = self._take_imap() if self.proto == "imap" else self._take_pop3()
            if unit is None:
                return
            if self.flood is not None or self.close_after_out:
                continue
            hook = RESPONSE_HOOKS.get(self.sc)
            if hook is None or not hook(self, unit):
                self.send_client(unit)

    def _take_imap(self):
        pos = 0
        while True:
            nl = self.bin.find(b"\n", pos)
            if nl < 0:
                return None
            line = bytes(self.bin[pos:nl + 1])
            m = LITERAL.search(line)
            if not m:
                unit = bytes(self.bin[:nl + 1])
                del self.bin[:nl + 1]
                return unit
            n = int(m.group(1))
            if len(self.bin) < nl + 1 + n:
                return None
            pos = nl + 1 + n

    def _take_pop3(self):
        nl = self.bin.find(b"\n")
        if nl < 0:
            return None
        status = bytes(self.bin[:nl + 1])
        cmd = self.pending[0] if self.pending else b""
        multi = status.startswith(b"+OK") and (
            cmd in (b"CAPA", b"UIDL", b"LIST") or cmd.startswith(b"RETR") or cmd.startswith(b"TOP"))
        if multi:
            end = self.bin.find(b"\r\n.\r\n", nl - 1)
            if end < 0:
                return None
            n = end + 5
        else:
            n = nl + 1
        unit = bytes(self.bin[:n])
        del self.bin[:n]
        if self.pending:
            self.pending.pop(0)
        self.cmd = cmd
        return unit


# ------------------------------------------------------------ scenarios
# Pre-login scenarios script the whole conversation; no real server.

GREET_IMAP = b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] hostile ready\r\n"
GREET_POP3 = b"+OK hostile ready\r\n"


def _greet(conn):
    conn.send_client(GREET_IMAP if conn.proto == "imap" else GREET_POP3)


def _pre_garbage(conn):
    """Greeting, then garbage where the tagged reply should be."""
    _greet(conn)


def _pre_nothing(conn):
    _greet(conn)


PRELOGIN = {
    "starttls_refused": _pre_nothing,
}


def _capability_reply(conn, line):
    """Answer CAPABILITY / CAPA ourselves (pre-login scenarios)."""
    if conn.proto == "imap":
        tag = line.split(b" ")[0]
        conn.send_client(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
    else:
        conn.send_client(b"+OK\r\nUIDL\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n")


def _cmd_starttls_refused(conn, line):
    u = line.upper()
    if b"CAPA" in u:
        _capability_reply(conn, line)
    elif conn.proto == "imap":
        conn.send_client(line.split(b" ")[0] + b" BAD not now\r\n")
    else:
        conn.send_client(b"-ERR not now\r\n")
    return True


def _cmd_million(conn, line):
    """UID FETCH of UIDs only the lie knows of: answered here at once (the
    real server would answer the same, with nothing, only slower)."""
    m = re.match(rb"(\S+) UID FETCH ([\d:,]+) ", line)
    if conn.proto == "imap" and m and min(int(x) for x in re.findall(rb"\d+", m.group(2))) > 1000:
        conn.send_client(m.group(1) + b" OK Fetch completed (hostile)\r\n")
        return True
    return False


COMMAND_HOOKS = {
    "starttls_refused": _cmd_starttls_refused,
    "million_uids": _cmd_million,
}


def _is_body_section(unit):
    """An IMAP FETCH response carrying BODY[n] (a report part) or BODY[]
    (a whole message, as soar_imap's get email fetches it)."""
    return re.search(rb"BODY\[(\d[\d.]*)?\] \{\d+\}\r\n", unit) is not None


def _is_retr(conn, unit):
    return conn.proto == "pop3" and conn.cmd.startswith(b"RETR") and unit.startswith(b"+OK")


# Scenarios that replace what one message is (its size, its content) do
# it once per server, not per connection: the client rightly reads such a
# message as what it was given and goes on with the rest.
ONCE_PER_SERVER = {("pop3", "huge_literal"), ("pop3", "deep_bodystructure")}


def _first(conn, cond):
    """True once per connection (or per server), at the first unit meeting cond."""
    once = (conn.proto, conn.sc) in ONCE_PER_SERVER
    if conn.fired or not cond or (once and conn.srv.fired_once):
        return False
    conn.fired = True
    conn.srv.fired_once = True
    return True


def _r_huge_literal(conn, unit):
    if conn.proto == "imap" and _first(conn, _is_body_section(unit)):
        m = re.search(rb"\{(\d+)\}\r\n", unit)
        conn.note("declared a 10 GB literal")
        conn.send_client(unit[:m.start()] + b"{%d}\r\n" % GB10)
        conn.flood = b"PK\x03\x04" * 16384
        return True
    if _first(conn, _is_retr(conn, unit)):
        conn.note("RETR without end")
        conn.send_client(b"+OK %d octets\r\n" % GB10)
        conn.flood = (b"X" * 76 + b"\r\n") * 800
        return True
    return False


def _r_endless_line(conn, unit):
    # after login, at the answer to the folder / the listing
    if _first(conn, (conn.proto == "imap" and b"UIDVALIDITY" in unit) or
              (conn.proto == "pop3" and conn.cmd == b"UIDL")):
        conn.note("endless line")
        conn.send_client(b"* OK " if conn.proto == "imap" else b"+OK ")
        conn.flood = b"A" * 65536
        return True
    return False


def _r_trickle(conn, unit):
    if _first(conn, _is_body_section(unit) or _is_retr(conn, unit)):
        conn.note("one byte per second")
        conn.trickle = True
    return False


def _r_garbage(conn, unit):
    # the tagged answer of the first UID FETCH / the answer to UIDL
    if _first(conn, (conn.proto == "imap" and re.match(rb"[A-Za-z0-9]+ OK .*(Fetch|FETCH)", unit)
                     is not None) or (conn.proto == "pop3" and conn.cmd == b"UIDL")):
        conn.note("garbage reply")
        conn.send_client(b"\x00\xff\xfe%garbage%\x01\x02 {no reply here]]\r\n")
        return True
    return False


def _r_cut_literal(conn, unit):
    if _first(conn, _is_body_section(unit) or _is_retr(conn, unit)):
        conn.note("cut in a literal")
        conn.send_client(unit[:len(unit) // 2])
        conn.close_after_out = True
        if conn.b is not None:
            conn.b.close()
            conn.b = None
        return True
    return False


def _r_wrong_tag(conn, unit):
    m = re.match(rb"([A-Za-z0-9]+) (OK .*(Fetch|FETCH).*)", unit, re.S)
    if conn.proto == "imap" and _first(conn, m is not None):
        conn.note("wrong tag")
        conn.send_client(b"Z" + m.group(1)[1:] + b"9 " + m.group(2))
        return True
    return False


def deep_bodystructure(depth):
    leaf = b'("application" "gzip" ("name" "r.xml.gz") NIL NIL "base64" 100)'
    return b"(" * depth + leaf + b' "mixed")' * depth


def deep_mime(depth):
    """A message with multipart nested `depth` deep around a gzip part."""
    out = [b"From: deep@reporter.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for i in range(1, depth):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i))
    out.append(b"--b%d\r\nContent-Type: application/gzip; name=r.xml.gz\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAAwMAAAAAAAAAAAA=\r\n" % (depth - 1))
    for i in range(depth - 1, -1, -1):
        out.append(b"--b%d--\r\n" % i)
    return b"".join(out)


def _r_deep(conn, unit):
    if conn.proto == "imap" and _first(conn, b"BODYSTRUCTURE" in unit and unit.startswith(b"* ")):
        conn.note("BODYSTRUCTURE 1000 deep")
        m = re.match(rb"\* (\d+) FETCH \(UID (\d+)", unit)
        conn.send_client(b"* %s FETCH (UID %s BODYSTRUCTURE %s)\r\n"
                         % (m.group(1), m.group(2), deep_bodystructure(1000)))
        return True
    if _first(conn, _is_retr(conn, unit)):
        conn.note("MIME 1000 deep")
        body = deep_mime(1000)
        conn.send_client(b"+OK %d octets\r\n" % len(body) + body + b".\r\n")
        return True
    return False


_MILLION = {}


def _million_pop3(cmd, first):
    """UIDL or LIST lines for messages first..1,000,000 (made once)."""
    key = (cmd, first)
    if key not in _MILLION:
        fmt = b"%d hostile-%07d\r\n" if cmd == b"UIDL" else b"%d 10737418240\r\n"
        _MILLION[key] = b"".join((fmt % (n, n)) if cmd == b"UIDL" else (fmt % n)
                                 for n in range(first, 1000001))
    return _MILLION[key]


def _million_search():
    if "search" not in _MILLION:
        _MILLION["search"] = (b"* SEARCH " + b" ".join(b"%d" % u for u in range(1, 1000001))
                              + b"\r\n")
    return _MILLION["search"]


def _r_million(conn, unit):
    if conn.proto == "imap" and _first(conn, unit.startswith(b"* SEARCH")):
        conn.note("a million UIDs")
        conn.send_client(_million_search())
        return True
    if conn.proto == "pop3" and conn.cmd in (b"UIDL", b"LIST") and not conn.fired:
        if conn.cmd == b"LIST":
            conn.fired = True
        conn.note("a million messages in " + conn.cmd.decode())
        real = unit.split(b"\r\n")[1:-2]
        conn.send_client(unit.split(b"\r\n")[0] + b"\r\n" + b"".join(l + b"\r\n" for l in real)
                         + _million_pop3(conn.cmd, len(real) + 1) + b".\r\n")
        return True
    return False


RESPONSE_HOOKS = {
    "huge_literal": _r_huge_literal,
    "endless_line": _r_endless_line,
    "trickle": _r_trickle,
    "garbage": _r_garbage,
    "cut_literal": _r_cut_literal,
    "wrong_tag": _r_wrong_tag,
    "deep_bodystructure": _r_deep,
    "million_uids": _r_million,
}

SCENARIOS = sorted(set(PRELOGIN) | set(RESPONSE_HOOKS) | {"wrong_host_cert", "expired_cert", None} - {None})

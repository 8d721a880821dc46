#!/usr/bin/env python3
"""oauth_server.py - a local OAuth 2.0 token endpoint stand-in for tests.

Python 3 standard library only.  Listens on 127.0.0.1 only, on a free port
(or --port), and prints "OAUTH_PORT=N" (and "OAUTH_TLS_PORT=N" with
--tls-cert/--tls-key) on stdout once it accepts connections.

Endpoints
  POST <any path ending in /token>   token endpoint (RFC 6749), form body:
        grant_type=client_credentials  client_id, client_secret, [scope]
        grant_type=refresh_token       client_id, [client_secret], refresh_token
      Client authentication by client_secret_post or HTTP Basic.  Answers
      {"access_token","token_type":"Bearer","expires_in"[,"refresh_token"]}
      or an RFC 6749 5.2 error: 401 invalid_client (unknown client, wrong
      or missing secret), 400 invalid_grant (unknown/used refresh token),
      400 unsupported_grant_type, 400 invalid_request.
      The path "/<tenant>/oauth2/v2.0/token" (Microsoft's form) works too.
  POST /introspect   RFC 7662 introspection as Dovecot's oauth2 passdb calls
      it (introspection_mode = post, body token=<t>; GET ?token= and
      "Authorization: Bearer" also work): {"active": true, "username": U,
      ...} for a token this server issued that is not expired or revoked,
      {"active": false} otherwise.
  GET  /stats        counters: {"token_requests", "by_grant", "errors",
      "introspect_requests", "introspect_active", "last_scope",
      "last_client_id", "last_auth", "issued"} (never a secret).
  POST /control      JSON object changing the behaviour; keys:
      reset: true          counters zeroed, behaviour back to defaults, the
                           configured refresh tokens valid again
      expires_in: N        lifetime of issued tokens (default --expires-in)
      expires_in_string: b send expires_in as a JSON string ("3600")
      omit_expires_in: b   leave expires_in out
      rotate: b            refresh grant issues a new refresh token and
                           invalidates the used one (default true)
      oversize: N          add a "padding" member of N bytes to answers
      chunked: b           send answers chunked (no Content-Length)
      fail: {"status": S, "error": E, "description": D}  answer every
                           token request with this error
      echo_secret: b       error descriptions repeat the client_secret and
                           refresh_token received (a careless server)
      not_json: b          token requests get a 502 HTML page
      token_type: T        token_type in answers (default "Bearer")
      delay_ms: N          wait N ms before answering a token request
      revoke: true         every token issued so far becomes inactive
Test secrets are given on the command line (this is a test stand-in):
  --client ID:SECRET (repeatable; default test-client:test-secret)
  --refresh-token ID:TOKEN (repeatable; a valid refresh token for ID)
  --user NAME  username reported by introspection (default testuser)
"""
import argparse
import base64
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024

DEFAULT_MODE = {
    "expires_in": 3600, "expires_in_string": False, "omit_expires_in": False,
    "rotate": True, "oversize": 0, "chunked": False, "fail": None,
    "echo_secret": False, "not_json": False, "token_type": "Bearer",
    "delay_ms": 0,
}


class State:
    def __init__(self, clients, refresh_tokens, user, expires_in):
        self.lock = threading.Lock()
        self.clients = clients                  # id -> secret
        self.initial_rts = dict(refresh_tokens)  # token -> client id
        self.user = user
        self.default_expires = expires_in
        self.issued = {}                        # access token -> record
        self.reset()

    def reset(self):
        self.mode = dict(DEFAULT_MODE)
        self.mode["expires_in"] = self.default_expires
        self.refresh = dict(self.initial_rts)
        self.stats = {"token_requests": 0, "by_grant": {}, "errors": 0,
                      "introspect_requests": 0, "introspect_active": 0,
                      "last_scope": None, "last_client_id": None,
                      "last_auth": None, "issued": 0}


STATE = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oauth-test-server/1"

    # ------------------------------------------------------------ plumbing
    def log_message(self, fmt, *args):
        # Request lines only (paths and status); bodies hold secrets.
        sys.stderr.write("oauth_server: %s\n" % (fmt % args))
        sys.stderr.flush()

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", chunked=False,
              extra_headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        for k, v in extra_headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 8192):
                part = body[i:i + 8192]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    # ------------------------------------------------------------- routing
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/stats":
            with STATE.lock:
                body = json.dumps(STATE.stats)
            self._send(200, body)
        elif path == "/introspect":
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            self._introspect((q.get("token") or [""])[0])
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            self._send(413, {"error": "invalid_request",
                             "error_description": "body too large"})
            return
        if path == "/control":
            self._control(body)
        elif path == "/introspect":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            tok = (form.get("token") or [""])[0]
            auth = self.headers.get("Authorization", "")
            if not tok and auth.lower().startswith("bearer "):
                tok = auth[7:].strip()
            self._introspect(tok)
        elif path.endswith("/token"):
            self._token(body)
        else:
            self._send(404, {"error": "not_found"})

    # ------------------------------------------------------------ handlers
    def _control(self, body):
        try:
            req = json.loads(body or b"{}")
            assert isinstance(req, dict)
        except Exception:
            self._send(400, {"error": "bad control request"})
            return
        with STATE.lock:
            if req.pop("reset", False):
                STATE.reset()
            if req.pop("revoke", False):
                for rec in STATE.issued.values():
                    rec["revoked"] = True
            for k, v in req.items():
                if k not in DEFAULT_MODE:
                    self._send(400, {"error": "unknown control key " + k})
                    return
                STATE.mode[k] = v
            mode = dict(STATE.mode)
        self._send(200, mode)

    def _introspect(self, tok):
        with STATE.lock:
            STATE.stats["introspect_requests"] += 1
            rec = STATE.issued.get(tok)
            ok = bool(rec) and not rec["revoked"] and time.time() < rec["exp"]
            if ok:
                STATE.stats["introspect_active"] += 1
                ans = {"active": True, "username": STATE.user,
                       "email": STATE.user, "client_id": rec["client"],
                       "scope": rec["scope"], "token_type": "Bearer",
                       "exp": int(rec["exp"])}
            else:
                ans = {"active": False}
        self._send(200, ans)

    def _error(self, status, code, desc, mode, extra=()):
        with STATE.lock:
            STATE.stats["errors"] += 1
        ans = {"error": code, "error_description": desc}
        if mode["echo_secret"]:
            ans["error_description"] = desc + " (received: " + " ".join(extra) + ")"
        hdrs = ()
        if status == 401:
            hdrs = (("WWW-Authenticate", 'Basic realm="token"'),)
        self._send(status, ans, chunked=mode["chunked"], extra_headers=hdrs)

    def _token(self, body):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                     keep_blank_values=True)
        f = {k: v[0] for k, v in form.items()}
        grant = f.get("grant_type", "")
        cid, secret, how = f.get("client_id"), f.get("client_secret"), "post"
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:]).decode()
                u, _, p = raw.partition(":")
                cid, secret = urllib.parse.unquote(u), urllib.parse.unquote(p)
                how = "basic"
            except Exception:
                pass
        with STATE.lock:
            STATE.stats["token_requests"] += 1
            bg = STATE.stats["by_grant"]
            bg[grant] = bg.get(grant, 0) + 1
            STATE.stats["last_scope"] = f.get("scope")
            STATE.stats["last_client_id"] = cid
            STATE.stats["last_auth"] = how if secret is not None else "none"
            mode = dict(STATE.mode)
        echoed = [x for x in (secret, f.get("refresh_token")) if x]
        if mode["delay_ms"]:
            time.sleep(int(mode["delay_ms"]) / 1000.0)

        if mode["not_json"]:
            self._send(502, "<html><body>Bad gateway</body></html>",
                       ctype="text/html", chunked=mode["chunked"])
            return
        if mode["fail"]:
            fl = mode["fail"]
            self._error(int(fl.get("status", 400)), fl.get("error", "invalid_request"),
                        fl.get("description", "forced failure"), mode, echoed)
            return
        if grant not in ("client_credentials", "refresh_token"):
            self._error(400, "unsupported_grant_type" if grant else "invalid_request",
                        "grant_type %r is not supported" % grant, mode, echoed)
            return
        with STATE.lock:
            known = cid in STATE.clients
            want = STATE.clients.get(cid)
        if not known:
            self._error(401, "invalid_client", "Unknown client id.", mode, echoed)
            return
        if grant == "client_credentials" or secret is not None or want:
            if secret != want:
                self._error(401, "invalid_client",
                            "Invalid client secret provided.", mode, echoed)
                return
        new_rt = None
        scope = f.get("scope") or ""
        if grant == "refresh_token":
            rt = f.get("refresh_token", "")
            with STATE.lock:
                owner = STATE.refresh.get(rt)
                if owner != cid:
                    bad = True
                else:
                    bad = False
                    if mode["rotate"]:
                        del STATE.refresh[rt]
                        new_rt = "rt-" + secrets.token_hex(16)
                        STATE.refresh[new_rt] = cid
            if bad:
                self._error(400, "invalid_grant",
                            "The refresh token is invalid or expired.", mode, echoed)
                return
        at = "at-" + secrets.token_hex(20)
        exp_in = int(mode["expires_in"])
        with STATE.lock:
            STATE.issued[at] = {"exp": time.time() + exp_in, "client": cid,
                                "scope": scope, "revoked": False}
            STATE.stats["issued"] += 1
        ans = {"access_token": at, "token_type": mode["token_type"]}
        if not mode["omit_expires_in"]:
            ans["expires_in"] = str(exp_in) if mode["expires_in_string"] else exp_in
        if scope:
            ans["scope"] = scope
        if new_rt:
            ans["refresh_token"] = new_rt
        if mode["oversize"]:
            ans["padding"] = "x" * int(mode["oversize"])
        self._send(200, ans, chunked=mode["chunked"])


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client", action="append", default=[])
    ap.add_argument("--refresh-token", action="append", default=[])
    ap.add_argument("--user", default="testuser")
    ap.add_argument("--expires-in", type=int, default=3600)
    a = ap.parse_args()

    clients = dict(c.split(":", 1) for c in (a.client or ["test-client:test-secret"]))
    rts = {}
    for r in a.refresh_token:
        cid, tok = r.split(":", 1)
        rts[tok] = cid
    STATE = State(clients, rts, a.user, a.expires_in)

    servers = [ThreadingHTTPServer(("127.0.0.1", a.port), Handler)]
    lines = ["OAUTH_PORT=%d" % servers[0].server_address[1]]
    if a.tls_cert:
        tls = ThreadingHTTPServer(("127.0.0.1", a.tls_port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
        lines.append("OAUTH_TLS_PORT=%d" % tls.server_address[1])
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("\n".join(lines), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

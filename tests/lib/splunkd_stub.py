#!/usr/bin/env python3
"""A stand-in for splunkd's REST API, only what the inputs ask of it:
GET /servicesNS/nobody/<app>/storage/passwords?output_mode=json&... with
`Authorization: Splunk <session key>`.  HTTPS on 127.0.0.1 with the given
certificate (splunkd's own is self-signed too).

    splunkd_stub.py --cert C --key K --session-key KEY --entries FILE

FILE: a JSON list of {"realm", "username", "clear_password"}.  Prints
SPLUNKD_PORT=<port> once listening.  Every request is logged to stderr as
"GET <path> auth=<ok|bad|none>"."""
import argparse
import json
import ssl
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--session-key", required=True)
    ap.add_argument("--entries", required=True)
    a = ap.parse_args()
    with open(a.entries) as f:
        entries = json.load(f)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, doc):
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            auth = self.headers.get("Authorization")
            ok = auth == "Splunk " + a.session_key
            sys.stderr.write("GET %s auth=%s\n" % (self.path, "ok" if ok else "bad" if auth else "none"))
            sys.stderr.flush()
            if not ok:
                return self.reply(401, {"messages": [{"type": "WARN", "text": "call not properly authenticated"}]})
            u = urllib.parse.urlsplit(self.path)
            parts = u.path.strip("/").split("/")
            if parts[:2] != ["servicesNS", "nobody"] or parts[3:] != ["storage", "passwords"]:
                return self.reply(404, {"messages": [{"type": "ERROR", "text": "not found"}]})
            q = urllib.parse.parse_qs(u.query)
            realm = None
            for s in q.get("search", []):
                if s.startswith("realm="):
                    realm = s[len("realm="):]
            out = []
            for e in entries:
                if realm is not None and e["realm"] != realm:
                    continue
                out.append({"name": "%s:%s:" % (e["realm"], e["username"]),
                            "content": {"realm": e["realm"], "username": e["username"],
                                        "clear_password": e["clear_password"],
                                        "password": "********",
                                        "encr_password": "$7$bm90IHJlYWxseQ=="}})
            self.reply(200, {"entry": out, "paging": {"total": len(out)}})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("SPLUNKD_PORT=%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

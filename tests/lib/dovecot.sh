#!/usr/bin/env bash
# dovecot.sh - throwaway Dovecot 2.3 IMAP/POP3 server for the client tests.
# Adapted from the shared dovecot-test-server.sh (see its notes in
# shared/notes/test-servers.md for why each setting is there).
#
# Installs nothing. Needs dovecot-imapd dovecot-pop3d (Debian 12: Dovecot
# 2.3.19.1) and openssl; python3 only for DOVETEST_OAUTH=introspect.
# Binds ONLY 127.0.0.1, on random free ports. Works as root (mail files
# owned by `nobody`) and as an unprivileged user.
#
# Usage:
#   eval "$(dovecot.sh start [DIR])"        # prints KEY=VALUE lines, also in DIR/env
#   dovecot.sh seed   DIR N [MAILBOX]       # N generated messages
#   dovecot.sh add    DIR MAILBOX FILE...   # add .eml files byte for byte
#   dovecot.sh status DIR
#   dovecot.sh jwt    DIR [SUB] [LIFETIME_S] # DOVETEST_OAUTH=jwt: print a JWT
#   dovecot.sh stop   DIR                   # stop this instance only, rm -rf DIR
#   dovecot.sh run CMD [ARG...]             # start, export DOVETEST_*, run CMD,
#                                           # stop; exits with CMD's status
# MAILBOX is the IMAP name as stored, i.e. in modified UTF-7 with "/" as
# separator ("Rapports/F&AOk-vrier" for Rapports/Février). Messages get UIDs
# in the order they are added, across seed and add calls.
#
# Environment knobs (all optional):
#   DOVETEST_USER / DOVETEST_PASS   login (default testuser / testpass)
#   DOVETEST_TOKEN                  OAuth bearer token accepted for DOVETEST_USER
#   DOVETEST_OAUTH=static|introspect|jwt|none
#        static     (default) XOAUTH2/OAUTHBEARER token checked by a passwd-file
#                   passdb restricted to those mechanisms (token acts as password)
#        introspect oauth2 passdb; token POSTed to a local python http.server
#                   introspection endpoint (RFC 7662 style JSON reply)
#   DOVETEST_INTROSPECT_URL         introspect mode: use this (loopback) endpoint
#                                   instead of starting the built-in one
#        jwt        oauth2 passdb with introspection_mode=local: the token is a
#                   HS256 JWT (sub=user) checked against a key file in DIR
#        none       no OAuth mechanisms
#   DOVETEST_IMAP_PORT DOVETEST_IMAPS_PORT DOVETEST_POP3_PORT DOVETEST_POP3S_PORT
#        fixed ports; default: random free ports (retries on "Address already in use")
#   DOVETEST_MAIL_USER              mail file owner when started as root (default nobody)
#   DOVETEST_CERT_KEY=rsa|ec        self-signed cert key type (default ec: instant)
#   DOVETEST_DEBUG=1                auth_debug + mail_debug in the log
#   DOVETEST_EXTRA_CONF='...'       text appended to dovecot.conf (later settings win)
#   DOVETEST_KEEP=1                 `stop` leaves DIR in place
#   DOVETEST_SEED_BODY_BYTES=N      `seed` pads each body with ~N bytes
#   DOVETEST_FAST_STOP=0|1          1 (default): `stop` SIGKILLs this instance's
#                                   processes (~0.2 s); 0: graceful TERM (~1.1 s)
set -euo pipefail

die() { echo "dovecot-test-server: $*" >&2; exit 1; }

DOVECOT_BIN=${DOVECOT_BIN:-$(command -v dovecot || echo /usr/sbin/dovecot)}

port_free() { # true if nothing accepts on 127.0.0.1:$1
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_base_port() { # 5 consecutive free ports in 20000..59999
  local base i ok
  for _ in $(seq 1 50); do
    base=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    ok=1
    for i in 0 1 2 3 4; do port_free $((base + i)) || { ok=0; break; }; done
    [ $ok = 1 ] && { echo $base; return 0; }
  done
  die "no free ports found"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

mint_jwt() { # mint_jwt KEY SUB LIFETIME_S -> HS256 JWT as Dovecot's local validator wants it
  local key=$1 sub=$2 life=$3 now h b sig
  now=$(date +%s)
  h=$(printf '{"typ":"JWT","alg":"HS256"}' | b64url)      # "typ":"JWT" is mandatory
  if [ "$life" -lt 0 ]; then   # expired token: keep iat <= exp
    b=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$sub" $((now + life - 60)) $((now + life)) | b64url)
  else
    b=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$sub" "$now" $((now + life)) | b64url)
  fi
  sig=$(printf '%s.%s' "$h" "$b" | openssl dgst -sha256 -hmac "$key" -binary | b64url)
  printf '%s.%s.%s\n' "$h" "$b" "$sig"
}

write_introspect_py() {
  cat > "$1" <<'PY'
# Minimal OAuth2 token introspection endpoint for Dovecot's oauth2 passdb.
# Accepts POST token=<t> (introspection_mode=post), GET ...?token=<t> / path suffix
# (mode=get) or "Authorization: Bearer <t>" (mode=auth).
import json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
port, good_token, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _reply(self, token):
        ok = token == good_token
        body = json.dumps({"active": True, "username": user, "email": user,
                           "scope": "mail"} if ok else {"active": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def _tok(self, extra=b""):
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        q = urllib.parse.urlsplit(self.path).query + "&" + extra.decode()
        t = urllib.parse.parse_qs(q).get("token") or urllib.parse.parse_qs(q).get("access_token")
        if t:
            return t[0]
        return urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
    def do_GET(self):
        self._reply(self._tok())
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self._reply(self._tok(self.rfile.read(n)))
    def log_message(self, fmt, *a):
        sys.stderr.write("introspect: " + (fmt % a) + "\n"); sys.stderr.flush()
HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
}

cmd_start() {
  local D=${1:-}
  if [ -z "$D" ]; then D=$(mktemp -d "${TMPDIR:-/tmp}/dvt.XXXXXX"); else mkdir -p "$D"; fi
  D=$(cd "$D" && pwd)
  # unix socket paths live in $D/run and must stay < ~100 chars
  [ ${#D} -le 70 ] || die "DIR path too long for unix sockets: $D"
  chmod 755 "$D"     # mktemp -d is 0700; auth/mail processes (dovecot/nobody) must traverse it
  mkdir -p "$D/run" "$D/state" "$D/log" "$D/ssl" "$D/home"

  local user=${DOVETEST_USER:-testuser} pass=${DOVETEST_PASS:-testpass}
  local token=${DOVETEST_TOKEN:-dvt-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
  local oauth=${DOVETEST_OAUTH:-static}
  local iuser igroup luser muser mgroup
  if [ "$(id -u)" = 0 ]; then
    iuser=dovecot; igroup=dovecot; luser=dovenull
    muser=${DOVETEST_MAIL_USER:-nobody}; mgroup=$(id -gn "$muser")
  else
    iuser=$(id -un); igroup=$(id -gn); luser=$iuser; muser=$iuser; mgroup=$igroup
  fi

  # --- TLS: throwaway self-signed cert (CN/SAN localhost + 127.0.0.1) ---
  local keyopt=(-newkey rsa:2048)       # ~0.1-0.25 s; DOVETEST_CERT_KEY=ec is ~instant
  [ "${DOVETEST_CERT_KEY:-ec}" = ec ] && keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
  openssl req -x509 "${keyopt[@]}" -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$D/ssl/key.pem" -out "$D/ssl/cert.pem" >/dev/null 2>&1 \
    || die "openssl req failed"
  chmod 644 "$D/ssl/cert.pem"; chmod 600 "$D/ssl/key.pem"  # master (root/user) reads both

  # --- users: passwd-file (passdb AND userdb), plaintext scheme so
  # CRAM-MD5/SCRAM also work. Format: user:{PLAIN}pass:uid:gid::home:: ---
  local muid mgid
  muid=$(id -u "$muser"); mgid=$(id -g "$muser")
  printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$user" "$pass" "$muid" "$mgid" "$D/home/$user" > "$D/passwd"
  if [ "$oauth" = jwt ]; then
    # key file: <prefix>/<azp|default>/<alg>/<kid|default>, content = base64(raw key)
    local jwtkey; jwtkey=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    mkdir -p "$D/jwt-keys/default/HS256"
    printf '%s' "$jwtkey" | openssl base64 -A > "$D/jwt-keys/default/HS256/default"
    printf '%s\n' "$jwtkey" > "$D/jwt-key.txt"
    chmod -R a+rX "$D/jwt-keys"
    [ -n "${DOVETEST_TOKEN:-}" ] || token=$(mint_jwt "$jwtkey" "$user" 86400)
  fi
  printf '%s:{PLAIN}%s::::::\n' "$user" "$token" > "$D/oauth-tokens"
  chmod 644 "$D/passwd" "$D/oauth-tokens"   # auth runs as $iuser

  # --- empty Maildir owned by the mail user ---
  mkdir -p "$D/home/$user/Maildir/"{cur,new,tmp}
  [ "$(id -u)" = 0 ] && chown -R "$muser:$mgroup" "$D/home"

  local mechs="plain login cram-md5 scram-sha-1 scram-sha-256"
  local pass_mechs="$mechs"
  [ "$oauth" = none ] || mechs="$mechs xoauth2 oauthbearer"
  local debug=no; [ "${DOVETEST_DEBUG:-0}" = 1 ] && debug=yes

  local base imap imaps pop3 pop3s oport rc=1 out=""
  for _ in 1 2 3 4 5; do   # retry with new random ports on EADDRINUSE
    base=$(pick_base_port)
    imap=${DOVETEST_IMAP_PORT:-$base}; imaps=${DOVETEST_IMAPS_PORT:-$((base+1))}
    pop3=${DOVETEST_POP3_PORT:-$((base+2))}; pop3s=${DOVETEST_POP3S_PORT:-$((base+3))}
    oport=${DOVETEST_OAUTH_PORT:-$((base+4))}

    local oauth_passdb=""
    case "$oauth" in
      static) oauth_passdb="
passdb {
  driver = passwd-file
  mechanisms = xoauth2 oauthbearer
  args = scheme=PLAIN username_format=%u $D/oauth-tokens
}" ;;
      introspect)
        cat > "$D/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = ${DOVETEST_INTROSPECT_URL:-http://127.0.0.1:$oport/introspect}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
debug = $debug
EOF
        chmod 644 "$D/oauth2.conf.ext"
        oauth_passdb="
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/oauth2.conf.ext
}" ;;
      jwt)
        cat > "$D/oauth2.conf.ext" <<EOF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$D/jwt-keys/
username_attribute = sub
debug = $debug
EOF
        chmod 644 "$D/oauth2.conf.ext"
        oauth_passdb="
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/oauth2.conf.ext
}" ;;
      none) ;;
      *) die "DOVETEST_OAUTH must be static|introspect|jwt|none" ;;
    esac

    cat > "$D/dovecot.conf" <<EOF
# generated by dovecot-test-server.sh
instance_name = dvt-$(basename "$D")
base_dir = $D/run
state_dir = $D/state
protocols = imap pop3
listen = 127.0.0.1
log_path = $D/log/dovecot.log
auth_verbose = yes
auth_debug = $debug
mail_debug = $debug
verbose_ssl = $debug

default_internal_user = $iuser
default_internal_group = $igroup
default_login_user = $luser
first_valid_uid = 1
first_valid_gid = 1

ssl = yes
ssl_cert = <$D/ssl/cert.pem
ssl_key = <$D/ssl/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
# allow LOGIN/AUTH PLAIN on the non-TLS ports too (127.0.0.1 counts as secure anyway)
disable_plaintext_auth = no
auth_mechanisms = $mechs
# failed logins: reply after ~0.5 s (2.3.19 flushes its failure queue every
# 500 ms) instead of 2 s
auth_failure_delay = 0
auth_cache_size = 0

mail_location = maildir:~/Maildir
mail_fsync = never
pop3_uidl_format = %08Xu%08Xv
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
protocol imap {
  mail_max_userip_connections = 200
}
protocol pop3 {
  mail_max_userip_connections = 200
}

passdb {
  driver = passwd-file
  mechanisms = $pass_mechs
  args = scheme=PLAIN username_format=%u $D/passwd
}
$oauth_passdb
userdb {
  driver = passwd-file
  args = username_format=%u $D/passwd
}

# no per-IP brute-force penalty (else every failed login makes the next auth
# from 127.0.0.1 wait 2, 4, 8.. s): the auth process can't reach anvil's
# penalty socket and silently skips the check
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# no chroot anywhere: needed when running as non-root (chroot() -> EPERM),
# harmless as root
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $pop3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $pop3s
    ssl = yes
  }
}
EOF
    if [ -n "${DOVETEST_EXTRA_CONF:-}" ]; then printf '%s\n' "$DOVETEST_EXTRA_CONF" >> "$D/dovecot.conf"; fi
    chmod 644 "$D/dovecot.conf"
    rm -f "$D/run/master.pid"
    # NB: the daemonized master keeps the stderr it was started with open for
    # its whole life, so never start it with stdout/stderr on a pipe (e.g.
    # $(...) or a harness capturing output) - the reader would never see EOF.
    set +e
    "$DOVECOT_BIN" -c "$D/dovecot.conf" </dev/null >"$D/log/start.out" 2>&1; rc=$?
    set -e
    out=$(cat "$D/log/start.out")
    [ $rc = 0 ] && break
    case "$out" in
      *"Address already in use"*)
        [ -n "${DOVETEST_IMAP_PORT:-}" ] && break   # fixed ports: don't retry
        continue ;;
      *) break ;;
    esac
  done
  [ $rc = 0 ] || { echo "$out" >&2; die "dovecot failed to start (rc=$rc), see $D/log/dovecot.log"; }

  local i pid=""
  for i in $(seq 1 200); do
    [ -s "$D/run/master.pid" ] && { pid=$(cat "$D/run/master.pid"); break; }
    sleep 0.01
  done
  [ -n "$pid" ] || die "no master.pid"
  echo "$pid" > "$D/dovecot.pid"

  local opid=""
  if [ "$oauth" = introspect ] && [ -z "${DOVETEST_INTROSPECT_URL:-}" ]; then
    command -v python3 >/dev/null || die "python3 needed for DOVETEST_OAUTH=introspect"
    write_introspect_py "$D/introspect.py"
    setsid python3 "$D/introspect.py" "$oport" "$token" "$user" \
      >"$D/log/introspect.log" 2>&1 < /dev/null &
    opid=$!
    echo "$opid" > "$D/introspect.pid"
    for i in $(seq 1 300); do port_free "$oport" || break; sleep 0.01; done
  fi

  # wait until IMAP answers with a greeting (auth process up)
  local greet=""
  for i in $(seq 1 300); do
    greet=$( (exec 3<>"/dev/tcp/127.0.0.1/$imap" && read -r -t 2 l <&3 && echo "$l") 2>/dev/null || true)
    case "$greet" in "* OK"*) break ;; esac
    sleep 0.01
  done
  case "$greet" in "* OK"*) ;; *) die "no IMAP greeting on port $imap, see $D/log/dovecot.log" ;; esac

  local self; self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
  {
    echo "DOVETEST_DIR=$D"
    echo "DOVETEST_PID=$pid"
    echo "DOVETEST_HOST=127.0.0.1"
    echo "DOVETEST_IMAP_PORT=$imap"
    echo "DOVETEST_IMAPS_PORT=$imaps"
    echo "DOVETEST_POP3_PORT=$pop3"
    echo "DOVETEST_POP3S_PORT=$pop3s"
    echo "DOVETEST_USER=$user"
    echo "DOVETEST_PASS=$pass"
    echo "DOVETEST_OAUTH=$oauth"
    [ "$oauth" != none ] && echo "DOVETEST_TOKEN=$token"
    [ -n "$opid" ] && echo "DOVETEST_OAUTH_URL=http://127.0.0.1:$oport/introspect"
    [ "$oauth" = introspect ] && [ -z "$opid" ] && echo "DOVETEST_OAUTH_URL=$DOVETEST_INTROSPECT_URL"
    [ -n "$opid" ] && echo "DOVETEST_OAUTH_PID=$opid"
    [ "$oauth" = jwt ] && echo "DOVETEST_JWT_KEY=$(cat "$D/jwt-key.txt")"
    echo "DOVETEST_CA=$D/ssl/cert.pem"
    echo "DOVETEST_MAILDIR=$D/home/$user/Maildir"
    echo "DOVETEST_MAIL_OWNER=$muser:$mgroup"
    echo "DOVETEST_LOG=$D/log/dovecot.log"
    echo "DOVETEST_CONF=$D/dovecot.conf"
    echo "DOVETEST_STOP='$self stop $D'"
  } | tee "$D/env"
}

mailbox_dir() { # mailbox_dir MAILBOX -> Maildir++ folder (created)
  local md=$DOVETEST_MAILDIR
  if [ "$1" != INBOX ]; then md="$md/.${1//\//.}"; fi
  mkdir -p "$md/cur" "$md/new" "$md/tmp"
  if [ "$1" != INBOX ]; then : > "$md/maildirfolder"; fi
  echo "$md"
}

next_stamp() { # increasing timestamps across calls: Dovecot gives UIDs in this order
  local n=0
  [ -f "$DOVETEST_DIR/seq" ] && n=$(cat "$DOVETEST_DIR/seq")
  n=$((n + 1)); echo "$n" > "$DOVETEST_DIR/seq"
  echo $((1700000000 + n))
}

# seed DIR N [MAILBOX]: write N RFC 5322 messages as Maildir files (cur/, unseen).
cmd_seed() {
  local D=${1:?DIR}; local n=${2:?N}; local mbox=${3:-INBOX}
  # shellcheck disable=SC1091
  . "$D/env"
  local md i f size msg pad="" line host=dvt
  md=$(mailbox_dir "$mbox")
  # optional body padding (DOVETEST_SEED_BODY_BYTES), 78-byte CRLF lines
  if [ "${DOVETEST_SEED_BODY_BYTES:-0}" -gt 0 ]; then
    printf -v line '%076d\r\n' 0; line=${line//0/x}
    for ((i = 0; i < DOVETEST_SEED_BODY_BYTES / 78 + 1; i++)); do pad+=$line; done
  fi
  local base n0=0
  [ -f "$D/seq" ] && n0=$(cat "$D/seq")
  base=$((1700000000 + n0))
  for ((i = 1; i <= n; i++)); do
    printf -v msg 'Return-Path: <sender@example.org>\r\nFrom: Sender <sender@example.org>\r\nTo: %s <%s@example.org>\r\nSubject: Test message %d\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <seed-%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is test message number %d.\r\nSecond line of the body.\r\n%s' \
      "$DOVETEST_USER" "$DOVETEST_USER" "$i" "$i" "$i" "$pad"
    size=${#msg}
    f="$md/cur/$((base + i)).M${i}P$$.$host,S=$size:2,"
    printf '%s' "$msg" > "$f"
  done
  echo $((n0 + n)) > "$D/seq"
  [ "$(id -u)" = 0 ] && chown -R "$DOVETEST_MAIL_OWNER" "$DOVETEST_DIR/home"
  echo "seeded $n messages into $mbox ($md)"
}

# add DIR MAILBOX FILE...: copy messages in byte for byte (unseen).
cmd_add() {
  local D=${1:?DIR}; local mbox=${2:?MAILBOX}; shift 2
  # shellcheck disable=SC1091
  . "$D/env"
  local md f t
  md=$(mailbox_dir "$mbox")
  for f in "$@"; do
    t=$(next_stamp)
    cp "$f" "$md/cur/$t.M${t}P$$.dvt,S=$(stat -c %s "$f"):2,"
  done
  [ "$(id -u)" = 0 ] && chown -R "$DOVETEST_MAIL_OWNER" "$DOVETEST_DIR/home"
  echo "added $# messages to $mbox ($md)"
}

# run CMD...: start an instance, export its DOVETEST_* variables, run CMD,
# always stop the instance, exit with CMD's status.
cmd_run() {
  local out rc
  out=$(cmd_start) || return 1
  while IFS= read -r line; do
    case "$line" in
      DOVETEST_STOP=*) ;;                 # quoted value; not needed by CMD
      DOVETEST_*=*) export "${line?}" ;;
    esac
  done <<< "$out"
  # stop the instance however CMD ends (meson kills timed-out tests with TERM)
  trap 'cmd_stop "$DOVETEST_DIR"' EXIT
  trap 'exit 143' TERM INT
  set +e
  "$@"; rc=$?
  set -e
  return $rc
}

cmd_jwt() {
  local D=${1:?DIR}
  # shellcheck disable=SC1091
  . "$D/env"
  [ -n "${DOVETEST_JWT_KEY:-}" ] || die "instance not started with DOVETEST_OAUTH=jwt"
  mint_jwt "$DOVETEST_JWT_KEY" "${2:-$DOVETEST_USER}" "${3:-3600}"
}

cmd_status() {
  local D=${1:?DIR}; local pid
  pid=$(cat "$D/dovecot.pid" 2>/dev/null) || die "no pid file in $D"
  if alive "$pid"; then echo "running pid=$pid"; else echo "not running"; return 1; fi
}

proc_field() { # proc_field PID N -> Nth field of /proc/PID/stat after "(comm)"
  local st rest
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${st##*) }                      # drop "pid (comm) "
  read -r -a f <<< "$rest"             # f[0]=state f[1]=ppid f[2]=pgrp
  echo "${f[$2]}"
}

alive() { # pid exists and is not a zombie. The daemonized master is
  # reparented to PID 1; if PID 1 reaps slowly (or never: containers whose
  # PID 1 is not an init) `kill -0` keeps succeeding on the zombie.
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(proc_field "$1" 0 || ps -o stat= -p "$1" 2>/dev/null || true)
  case "$st" in Z*|"") return 1 ;; esac
  return 0
}

ours() { # ours PID DIR: does PID belong to the instance in DIR (by its cmdline)?
  local cmd inst
  inst="dvt-$(basename "$2")"
  cmd=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
  case "$cmd" in *"$2/dovecot.conf"*|*"$inst/"*|*"$2/introspect.py"*) return 0 ;; esac
  return 1
}

instance_pids() { # master pid + members of its process group, verified by cmdline
  local pid=$1 D=$2 f p
  for f in /proc/[0-9]*/stat; do
    p=${f#/proc/}; p=${p%/stat}
    if [ "$p" = "$pid" ] || [ "$(proc_field "$p" 2 2>/dev/null)" = "$pid" ]; then
      ours "$p" "$D" && echo "$p"
    fi
  done
  return 0
}

stop_pid() { # stop_pid PID TIMEOUT_TENTHS
  local pid=$1 n=$2 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < n * 2; i++)); do alive "$pid" || return 0; sleep 0.05; done
  echo "dovecot-test-server: pid $pid did not exit, sending KILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
  local D=${1:?DIR}; local pid opid p
  D=$(cd "$D" 2>/dev/null && pwd) || { echo "dovecot-test-server: no such dir $1" >&2; return 0; }
  if [ -f "$D/introspect.pid" ]; then
    opid=$(cat "$D/introspect.pid")
    if ours "$opid" "$D"; then stop_pid "$opid" 30; fi
  fi
  if [ -f "$D/dovecot.pid" ]; then
    pid=$(cat "$D/dovecot.pid")
    if [ "${DOVETEST_FAST_STOP:-1}" != 1 ] && ours "$pid" "$D"; then
      # graceful: master exits ~1.1 s after TERM (it sleeps 1 s for its log child)
      stop_pid "$pid" 100
    fi
    # fast mode / leftovers: SIGKILL this instance's processes only - the
    # master called setsid(), so they share pgid == master pid; each one is
    # also checked by cmdline (never by name, never other instances)
    for p in $(instance_pids "$pid" "$D"); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  if [ "${DOVETEST_KEEP:-0}" != 1 ]; then
    case "$D" in /|"") die "refusing to remove '$D'";; esac
    rm -rf -- "$D"
  fi
}

case "${1:-}" in
  start)  shift; cmd_start "$@" ;;
  seed)   shift; cmd_seed "$@" ;;
  add)    shift; cmd_add "$@" ;;
  run)    shift; cmd_run "$@" ;;
  status) shift; cmd_status "$@" ;;
  jwt)    shift; cmd_jwt "$@" ;;
  stop)   shift; cmd_stop "$@" ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;p}' "$0"; exit 2 ;;
esac

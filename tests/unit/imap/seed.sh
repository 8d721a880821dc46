#!/usr/bin/env bash
# seed.sh DIR: the mailbox the imap and pop3 tests expect.
#   INBOX UIDs 1-100  generated text messages ("This is test message number N.")
#   INBOX UID 101     multipart/mixed: text, a zip attachment, a message/rfc822
#                     holding a multipart/alternative (make_messages.py)
#   INBOX UID 102     lines starting with "." (POP3 dot-stuffing)
#   Rapports/Février  2 messages (stored as Rapports/F&AOk-vrier)
# Expected bytes go to DIR/expected/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SRCDIR:-$(cd "$here/../../.." && pwd)}
D=$1
dv="$src/tests/lib/dovecot.sh"
mkdir -p "$D/expected"
python3 "$here/make_messages.py" "$D/expected"
"$dv" seed "$D" 100
"$dv" add "$D" INBOX "$D/expected/multipart.eml" "$D/expected/dots.eml"
"$dv" seed "$D" 2 'Rapports/F&AOk-vrier'

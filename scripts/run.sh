#!/usr/bin/env bash
# make run: start the private stack (scripts/stack.sh), load demo data, print
# what to open, wait for Ctrl-C, then stop everything that was started.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PORT=${REFX_HTTP_PORT:-8080}
VAR=${REFX_VAR_DIR:-$ROOT/var}

# Without a configured relay, mail goes to a local catcher (aiosmtpd) that
# writes every message into the maildir $VAR/mail.
CATCHER=""
if [[ -z ${REFX_MAIL_SMTP_URL:-} ]]; then
    mkdir -p "$VAR/mail/new" "$VAR/mail/cur" "$VAR/mail/tmp"
    chmod 0700 "$VAR"
    MAIL_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$VAR/mail" \
        </dev/null >>"$VAR/mail.log" 2>&1 &
    CATCHER=$!
    export REFX_MAIL_SMTP_URL=smtp://127.0.0.1:$MAIL_PORT
    MAIL_NOTE="caught locally in the maildir $VAR/mail (one file per message in new/)"
else
    MAIL_NOTE="sent to $REFX_MAIL_SMTP_URL"
fi
stopped=0
stop() {
    ((stopped)) && return
    stopped=1
    echo
    "$ROOT/scripts/stack.sh" stop
    [[ -z $CATCHER ]] || kill "$CATCHER" 2>/dev/null || true
    [[ -z ${SLEEPER:-} ]] || kill "$SLEEPER" 2>/dev/null || true
}
trap stop EXIT
"$ROOT/scripts/stack.sh" start
"$ROOT/scripts/demo.sh"
trap 'exit 0' INT TERM

cat <<MSG

  refx is running.

    Server URL (Nextcloud clients):  http://127.0.0.1:$PORT/
    Status:        curl -s http://127.0.0.1:$PORT/status.php
    Capabilities:  curl -s -H 'OCS-APIRequest: true' \\
                     'http://127.0.0.1:$PORT/ocs/v2.php/cloud/capabilities?format=json'

    Log in:        http://127.0.0.1:$PORT/login
    Referrers:     http://127.0.0.1:$PORT/portal      (e.g. dr.weber)
    Practice:      http://127.0.0.1:$PORT/dashboard   (praxis.manager, mfa.schmidt)
    Admin:         login "admin", password in $VAR/admin-password
                   (or REFX_ADMIN_PASSWORD when it was set at the first start)

    Mail:          $MAIL_NOTE

  State (configuration, master key, logs) is in $VAR.
  Press Ctrl-C to stop the stack.

MSG
SLEEPER=""
while :; do
    sleep 3600 &
    SLEEPER=$!
    wait "$SLEEPER"
done

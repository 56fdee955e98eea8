#!/usr/bin/env bash
# make run: start the private stack (scripts/stack.sh), load demo data, print
# what to open, wait for Ctrl-C, then stop everything that was started.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PORT=${REFX_HTTP_PORT:-8080}
VAR=${REFX_VAR_DIR:-$ROOT/var}

"$ROOT/scripts/stack.sh" start
"$ROOT/scripts/demo.sh"
stopped=0
stop() {
    ((stopped)) && return
    stopped=1
    echo
    "$ROOT/scripts/stack.sh" stop
}
trap stop EXIT
trap 'exit 0' INT TERM

cat <<MSG

  refx is running.

    Server URL (Nextcloud clients):  http://127.0.0.1:$PORT/
    Status:        curl -s http://127.0.0.1:$PORT/status.php
    Capabilities:  curl -s -H 'OCS-APIRequest: true' \\
                     'http://127.0.0.1:$PORT/ocs/v2.php/cloud/capabilities?format=json'

    Log in:        http://127.0.0.1:$PORT/login
    Admin:         login "admin", password in $VAR/admin-password
                   (or REFX_ADMIN_PASSWORD when it was set at the first start)

  State (configuration, master key, logs) is in $VAR.
  Press Ctrl-C to stop the stack.

MSG
while :; do sleep 3600 & wait $!; done

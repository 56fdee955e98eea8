#!/usr/bin/env bash
# Demo data for `make run`: a practice manager, two staff accounts and three
# referrer clinics with two accounts each (the first one is the clinic's
# lead, its sub-admin).  Runs once per state dir; passwords are printed that
# one time and never stored.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VAR=${REFX_VAR_DIR:-$ROOT/var}
BIN=${REFX_BIN_DIR:-$ROOT/build}
ADMIN=("$BIN/refx-admin" -c "$VAR/refx.conf")

if [[ -e $VAR/demo-loaded ]]; then
    echo "Demo data was loaded before; its passwords were shown then."
    exit 0
fi

declare -a LINES=()
add_user() { # uid display email role...
    local uid=$1 display=$2 email=$3
    shift 3
    local args=(user add "$uid" --display "$display" --email "$email")
    for r in "$@"; do args+=(--role "$r"); done
    local pw
    pw=$("${ADMIN[@]}" "${args[@]}")
    LINES+=("$(printf '  %-22s %-22s %s' "$uid" "$pw" "$display")")
}

add_user praxis.manager "Petra Manager" manager@praxis.example manager
add_user mfa.schmidt "Sabine Schmidt (MFA)" schmidt@praxis.example staff
add_user mfa.yilmaz "Deniz Yilmaz (MFA)" yilmaz@praxis.example staff

clinic() { # gid name bsnr address email
    "${ADMIN[@]}" clinic add "$1" --name "$2" --bsnr "$3" --address "$4" --email "$5"
}
clinic hausarzt-mitte "Hausarztpraxis Mitte" 721234500 "Invalidenstr. 10, 10115 Berlin" praxis@hausarzt-mitte.example
clinic ortho-nord "Orthopädie Nord" 723456700 "Müllerstr. 44, 13353 Berlin" info@ortho-nord.example
clinic kardio-west "Kardiologie West" 725678900 "Kantstr. 7, 10623 Berlin" team@kardio-west.example

member() { # gid uid display email [lead]
    add_user "$2" "$3" "$4"
    "${ADMIN[@]}" group adduser "$1" "$2"
    if [[ ${5:-} == lead ]]; then "${ADMIN[@]}" group subadmin "$1" "$2"; fi
}
member hausarzt-mitte dr.weber "Dr. Anna Weber" weber@hausarzt-mitte.example lead
member hausarzt-mitte mfa.koch "Jonas Koch (MFA)" koch@hausarzt-mitte.example
member ortho-nord dr.becker "Dr. Lukas Becker" becker@ortho-nord.example lead
member ortho-nord dr.wolf "Dr. Miriam Wolf" wolf@ortho-nord.example
member kardio-west dr.schulz "Dr. Eva Schulz" schulz@kardio-west.example lead
member kardio-west mfa.braun "Tim Braun (MFA)" braun@kardio-west.example

: >"$VAR/demo-loaded"
echo
echo "  Demo accounts (shown once; staff and the manager set up two-factor at first login):"
printf '  %-22s %-22s %s\n' LOGIN PASSWORD NAME
printf '%s\n' "${LINES[@]}"

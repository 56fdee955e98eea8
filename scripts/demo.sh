#!/usr/bin/env bash
# Demo data for `make run`: a practice manager, two staff accounts and three
# referrer clinics with two accounts each (the first one is the clinic's
# lead, its sub-admin); then, through the running server's API, patients,
# orders, report PDFs (one corrected), a consent with a share and a
# withdrawn consent whose link ended.  Runs once per state dir; passwords
# are printed that one time and never stored.
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

# ---------------------------------------------------------------- referrals
# Patients, orders and report PDFs go in the way a practice system sends
# them: through the ingest API, as staff member mfa.schmidt, with an app
# password made for this run and revoked at the end.
PORT=$(cat "$VAR/http-port" 2>/dev/null || echo "${REFX_HTTP_PORT:-8080}")
URL=http://127.0.0.1:$PORT
API=$URL/ocs/v2.php/apps/referrals/api/v1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
AP=$("${ADMIN[@]}" user apppassword mfa.schmidt "demo data")
api() { # method path [curl args...]: prints the OCS data as JSON
    local m=$1 p=$2 out
    shift 2
    out=$(curl -sS --fail-with-body -u "mfa.schmidt:$AP" -H 'OCS-APIRequest: true' \
        -X "$m" "$API$p?format=json" "$@") || { echo "demo: $m $p failed: $out" >&2; exit 1; }
    printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["ocs"]["data"]))'
}
field() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1"; }
# ingest PPID FAMILY GIVEN BIRTH SEX KVNR ORDER CLINIC CC STATUS TITLE: prints the report id
ingest() {
    local pdf=$TMP/$7.pdf cc=""
    [[ -z $9 ]] || cc="\"$9\""
    /usr/bin/python3 "$ROOT/scripts/mkpdf.py" "$pdf" "Radiologie am Park - Befund" "Auftrag $7" \
        "Patient: $3 $2, geb. $4" "${11}" "Status: ${10}" \
        "Beurteilung: Demo-Befund, keine echten Patientendaten."
    api POST /reports -F "metadata={\"patient\": {\"id\": \"$1\", \"family_name\": \"$2\",
        \"given_name\": \"$3\", \"birth_date\": \"$4\", \"sex\": \"$5\", \"kvnr\": \"$6\",
        \"insurer\": \"AOK Nordost\"}, \"order\": {\"number\": \"$7\", \"clinic\": \"$8\",
        \"cc\": [$cc], \"physician\": \"Dr. Anna Weber\", \"referral_date\": \"2026-11-20\"},
        \"status\": \"${10}\", \"title\": \"${11}\", \"exam_date\": \"2026-11-24\"};type=application/json" \
        -F "file=@$pdf;type=application/pdf" | field id
}
R1=$(ingest P-1001 Muster Erika 1964-08-12 female A123456780 A-2026-0001 hausarzt-mitte "" final "MRT Knie rechts")
R2=$(ingest P-1002 Beispiel Max 1958-02-03 male B987654320 A-2026-0002 ortho-nord hausarzt-mitte final "Roentgen LWS in 2 Ebenen")
R3=$(ingest P-1003 Schmitz Hanna 1990-11-30 female C555000110 A-2026-0003 kardio-west "" preliminary "CT Thorax")
R4=$(ingest P-1001 Muster Erika 1964-08-12 female A123456780 A-2026-0004 hausarzt-mitte "" final "Sonographie Abdomen")
# a corrected version of the CT report (the earlier readers are notified)
/usr/bin/python3 "$ROOT/scripts/mkpdf.py" "$TMP/r3v2.pdf" "Radiologie am Park - Befund" "Auftrag A-2026-0003" \
    "CT Thorax - korrigierte Fassung" "Beurteilung: Demo-Befund, keine echten Patientendaten."
api POST "/reports/$R3/versions" -F 'metadata={"status": "corrected", "title": "CT Thorax", "exam_date": "2026-11-24"};type=application/json' \
    -F "file=@$TMP/r3v2.pdf;type=application/pdf" >/dev/null
P1=$(api GET "/reports/$R1" | field patient.id)
P2=$(api GET "/reports/$R2" | field patient.id)
# consent: Erika Muster lets Kardiologie West see her knee MRI (shared)
K1=$(api POST /consents -d patient="$P1" -d clinic=kardio-west -d report="$R1" \
    -d purpose="Mitbehandlung" -d text_version=2026-01 -d text_sha256="$(printf 'Einwilligung 2026-01' | sha256sum | cut -c1-64)" \
    -d channel=reception | field id)
api POST "/reports/$R1/shares" -d shareType=1 -d shareWith=kardio-west >/dev/null
# consent for a password link, then withdrawn: the link ends with it
K2=$(api POST /consents -d patient="$P2" -d links=true -d report="$R2" \
    -d purpose="Zweitmeinung" -d text_version=2026-01 -d text_sha256="$(printf 'Einwilligung 2026-01' | sha256sum | cut -c1-64)" \
    -d channel=paper | field id)
LINK_PW="Demo-Link-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
api POST "/reports/$R2/shares" -d shareType=3 -d password="$LINK_PW" >/dev/null
api POST "/consents/$K2/withdraw" -d channel=reception -d note="Widerruf am Empfang" >/dev/null
curl -sS -u "mfa.schmidt:$AP" -H 'OCS-APIRequest: true' -X DELETE "$URL/ocs/v2.php/core/apppassword" >/dev/null
LINES+=("")
LINES+=("  Demo referrals: 4 reports for 3 patients (one corrected), consent $K1 active")
LINES+=("  (report $R1 also shared with kardio-west), consent $K2 withdrawn (its link ended).")

: >"$VAR/demo-loaded"
echo
echo "  Demo accounts (shown once; staff and the manager set up two-factor at first login):"
printf '  %-22s %-22s %s\n' LOGIN PASSWORD NAME
printf '%s\n' "${LINES[@]}"

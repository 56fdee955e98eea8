#!/usr/bin/env bash
# make lint: banned functions, SQL discipline, layering (docs/style.md §2.1,
# §2.3).  Prints every finding; exits 1 if there is any.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rc=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|atoi|atol|atof|strtok|system|popen|rand)[[:space:]]*\('
if grep -nE "$banned" app/*.c lib/*/*.c lib/*/*.h; then
    echo "lint: banned function (use the bounded helpers in lib/core)" >&2
    rc=1
fi
if grep -n 'PQexec(' app/*.c lib/*/*.c | grep -v '^lib/db/migrate.c:'; then
    echo "lint: PQexec outside the migration runner (use db_query)" >&2
    rc=1
fi
if grep -n 'FCGX_FPrintF' app/*.c lib/*/*.c; then
    echo "lint: FCGX_FPrintF ignores %zu/%lld (fastcgi-notes.md)" >&2
    rc=1
fi
# Layering: a module may include only modules of its own or a lower layer.
layer() {
    case $1 in
        core) echo 0 ;;
        jx | crypto | tmpl | xml | i18n) echo 1 ;;
        db | http | router | keys | auth | blob | audit | ocs | dav | settings) echo 2 ;;
        account | files | share | patient | report | consent | notify | gdpr) echo 3 ;;
        *) echo 4 ;;
    esac
}
for f in lib/*/*.[ch]; do
    mod=$(basename "$(dirname "$f")")
    mine=$(layer "$mod")
    while read -r inc; do
        dep=${inc%%/*}
        [[ $dep == "$mod" ]] && continue
        if (($(layer "$dep") > mine)) || { ((mine == 2 || mine == 1)) && (($(layer "$dep") == mine)) && [[ $mine == 1 ]]; }; then
            echo "lint: $f includes $inc (layer of $dep above $mod)" >&2
            rc=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | grep / || true)
done
if ((rc == 0)); then echo "lint: ok"; fi
exit $rc

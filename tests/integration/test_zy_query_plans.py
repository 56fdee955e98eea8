# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hot paths use indexes (issue 9): with 20,000 reports loaded
by bench/gen.py, PostgreSQL's auto_explain logs the plan of every statement
the worker runs for the referrer's inbox, the files_sharing list, a
PROPFIND and a download - the real plans, with the real parameters - and no
plan may read a large table sequentially.  (Latency growth is measured by
make bench; this test fails the build when a change loses an index.)"""
import json
import os
import re
import sys

import requests

from test_referrals import User

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "bench"))
from gen import Gen  # noqa: E402
from mkpdf import pdf  # noqa: E402

PLAN = re.compile(r"LOG:  duration: [0-9.]+ ms  plan:$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d ")


def seq_scans(plan, big, out):
    """Sequential scans of tables in big found in plan."""
    if plan.get("Node Type") == "Seq Scan" and \
            plan.get("Relation Name") in big:
        out.append(plan["Relation Name"])
    for sub in plan.get("Plans", []):
        seq_scans(sub, big, out)
    return out


def plans(log):
    """The JSON plans auto_explain wrote (each spans several lines)."""
    out, cur = [], None
    for line in log.splitlines():
        if cur is not None:
            if STAMP.match(line):
                out.append(json.loads("\n".join(cur)))
                cur = None
            else:
                cur.append(line)
                continue
        if PLAN.search(line):
            cur = []
    if cur:
        out.append(json.loads("\n".join(cur)))
    return out


def reconnect_workers(stack):
    """End the workers' sessions: they reconnect by themselves (issue 2),
    and new sessions load what session_preload_libraries says now."""
    stack.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE usename = 'refx_app'")


SETTINGS = (("session_preload_libraries", "'auto_explain'"),
            ("auto_explain.log_min_duration", "0"),
            ("auto_explain.log_format", "json"))


def configure(stack, on):
    """auto_explain for the workers' role only (ALTER ROLE: the stack's
    command-line settings stay as they are)."""
    for k, v in SETTINGS:
        stack.psql("ALTER ROLE refx_app %s %s" % (
            "SET" if on else "RESET", "%s = %s" % (k, v) if on else k))
    reconnect_workers(stack)


def test_hot_paths_use_indexes(stack, accounts):
    staff = User(stack, accounts, "qps", roles=["staff"])
    ingest = User(stack, accounts, "qpi", roles=["staff"])
    api = requests.Session()
    api.auth = (ingest.uid, ingest.ap)
    api.headers["OCS-APIRequest"] = "true"
    api.base = stack.url + "/ocs/v2.php/apps/referrals/api/v1"
    gen = Gen(stack.psql, api, pdf)
    gen.setup()
    gen.grow(20000)
    ref = User(stack, accounts, "qpr", groups=["bench-inbox"])
    # the staff account's own files and shares
    for i in range(5):
        assert staff.dav("PUT", "q%d.txt" % i, data=b"x").status_code == 201
        r, _ = staff.files_share(path="/q%d.txt" % i, shareType="0",
                                 shareWith=ref.uid)
        assert r.status_code == 200
    stack.psql("ANALYZE")
    # large tables: a sequential scan of a small one is the right plan
    big = set(stack.psql("SELECT relname FROM pg_class WHERE relkind = 'r' "
                         "AND relnamespace = 'public'::regnamespace AND "
                         "reltuples >= 1000").split())
    assert {"shares", "reports", "report_versions", "files", "patients",
            "orders"} <= big
    log = os.path.join(stack.rt, "pg.log")
    configure(stack, True)
    start = os.path.getsize(log)
    try:
        for _ in range(2):      # each worker, whichever nginx picks
            inbox = ref.ok("GET", "/reports")
            assert len(inbox) == 50
            r = staff.s.get(stack.url + "/ocs/v2.php/apps/files_sharing/"
                            "api/v1/shares", params={"format": "json"})
            assert len(r.json()["ocs"]["data"]) == 5
            r = staff.dav("PROPFIND", "", headers={"Depth": "1"})
            assert r.status_code == 207
            r = ref.api("GET", "/reports/%s/versions/0/download" %
                        inbox[0]["id"])
            assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    finally:
        configure(stack, False)
    with open(log, errors="replace") as f:
        f.seek(start)
        found = plans(f.read())
    texts = [p.get("Query Text", "") for p in found]
    for marker in ("WITH recv AS", "FROM shares s JOIN files sf",
                   "FROM blob_chunks", "FROM files f WHERE f.parent_id"):
        assert any(marker in t for t in texts), marker
    bad = [(seq_scans(p["Plan"], big, []), p.get("Query Text", "")[:160])
           for p in found if seq_scans(p["Plan"], big, [])]
    assert len(found) >= 20
    assert bad == []

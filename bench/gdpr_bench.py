#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""GDPR benchmark (issue 7's budgets), against a private stack started here
from the release build:

  * the Art. 15 access export for one patient with 100 reports and 10,000
    audit events (budget: under 2 s);
  * the per-patient audit query (GET .../audit?patient=) with 1,000,000
    audit rows in the table (budget: under 50 ms).

Scale data goes in with SQL through the same tables and the audit chain
trigger (rows keep their hash chain).  Usage:

  make BUILD=release && bench/gdpr_bench.py [--audit-rows N]

Prints medians of several runs and writes bench/results/gdpr.json."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from mkpdf import pdf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--audit-rows", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=100)
    ap.add_argument("--patient-events", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()

    bin_dir = os.environ.get("REFX_BIN_DIR", os.path.join(ROOT, "build",
                                                          "release"))
    var = tempfile.mkdtemp(prefix="refx-bench-")
    port = 18000 + os.getpid() % 1000
    env = dict(os.environ, REFX_VAR_DIR=var, REFX_HTTP_PORT=str(port),
               REFX_BIN_DIR=bin_dir, REFX_ADMIN_PASSWORD="Bench-Admin-Pw-1",
               REFX_LOG_LEVEL="warn")
    stack = os.path.join(ROOT, "scripts", "stack.sh")
    subprocess.run([stack, "start"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    try:
        run(a, var, port, bin_dir)
    finally:
        subprocess.run([stack, "destroy"], env=env, stdout=subprocess.DEVNULL)


def run(a, var, port, bin_dir):
    url = "http://127.0.0.1:%d" % port
    conf = os.path.join(var, "refx.conf")
    rt = open(os.path.join(var, "runtime-dir")).read().strip()

    def admin(*args, stdin=None):
        return subprocess.run([os.path.join(bin_dir, "refx-admin"), "-c",
                               conf] + list(args), input=stdin, text=True,
                              capture_output=True, check=True).stdout.strip()

    def psql(sql):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A",
             "-t", "-v", "ON_ERROR_STOP=1", "-h", os.path.join(rt, "pg"),
             "-p", str(20000 + port % 10000), "-U", "postgres", "-d", "refx",
             "-c", sql], cwd="/", capture_output=True, text=True,
            check=True).stdout.strip()

    admin("user", "add", "bstaff", "--role", "staff", "--password-stdin",
          stdin="Bench-Staff-Pw-1\n")
    admin("user", "add", "bmgr", "--role", "manager", "--password-stdin",
          stdin="Bench-Mgr-Pw-1\n")
    admin("clinic", "add", "bclinic", "--name", "Bench", "--bsnr",
          "123456789")
    staff = requests.Session()
    staff.auth = ("bstaff", admin("user", "apppassword", "bstaff", "b"))
    staff.headers["OCS-APIRequest"] = "true"
    mgr = requests.Session()
    mgr.auth = ("bmgr", admin("user", "apppassword", "bmgr", "b"))
    mgr.headers["OCS-APIRequest"] = "true"
    api = url + "/ocs/v2.php/apps/referrals/api/v1"

    t0 = time.time()
    pid = None
    for i in range(a.reports):
        meta = {"patient": {"id": "BENCH-1", "family_name": "Bench",
                            "given_name": "Mark", "birth_date": "1970-01-01"},
                "order": {"number": "B-%d" % i, "clinic": "bclinic"},
                "status": "final", "title": "Report %d" % i,
                "exam_date": "2026-11-01"}
        r = staff.post(api + "/reports?format=json", files={
            "metadata": (None, json.dumps(meta)),
            "file": ("r.pdf", pdf(["bench %d" % i]), "application/pdf")})
        r.raise_for_status()
        pid = r.json()["ocs"]["data"]["patient"]["id"]
    t_ingest = time.time() - t0
    # the patient's access events, then the rest of the table
    t0 = time.time()
    have = int(psql("SELECT count(*) FROM audit_events WHERE patient_id = %s"
                    % pid))
    psql("INSERT INTO audit_events (actor_type, actor_user_id, client_addr, "
         "action, object_type, object_id, patient_id, details) SELECT "
         "'user', 2, '10.1.2.3', 'report.download', 'report_version', "
         "(1 + g %% %d)::text, %s, '{}' FROM generate_series(1, %d) g"
         % (a.reports, pid, max(0, a.patient_events - have)))
    other = max(0, a.audit_rows - int(psql("SELECT count(*) FROM "
                                           "audit_events")))
    batch = 100_000
    while other > 0:
        n = min(batch, other)
        psql("INSERT INTO audit_events (actor_type, actor_user_id, "
             "client_addr, action, object_type, object_id, patient_id, "
             "details) SELECT 'user', 2, '10.9.0.1', 'report.download', "
             "'report_version', g::text, 1000000 + g %% 100000, '{}' FROM "
             "generate_series(1, %d) g" % n)
        other -= n
    psql("ANALYZE")
    t_seed = time.time() - t0
    total = int(psql("SELECT count(*) FROM audit_events"))
    mine = int(psql("SELECT count(*) FROM audit_events WHERE patient_id = %s"
                    % pid))

    def timed(fn):
        fn()  # warm
        out = []
        for _ in range(a.runs):
            t = time.perf_counter()
            r = fn()
            out.append(time.perf_counter() - t)
            r.raise_for_status()
        return out

    exp = timed(lambda: mgr.post(api + "/patients/%s/access-export"
                                 "?format=json" % pid))
    q = timed(lambda: mgr.get(api + "/audit", params={
        "format": "json", "patient": pid, "limit": "100"}))
    doc = mgr.post(api + "/patients/%s/access-export?format=json" %
                   pid).json()["ocs"]["data"]
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": os.uname().nodename + ", %d cores" % os.cpu_count(),
        "build": bin_dir, "audit_rows": total, "patient_audit_rows": mine,
        "reports": len(doc["reports"]), "accesses_in_export":
        len(doc["accesses"]), "export_bytes": len(json.dumps(doc)),
        "ingest_s": round(t_ingest, 1), "seed_s": round(t_seed, 1),
        "export_s_median": round(statistics.median(exp), 3),
        "export_s_max": round(max(exp), 3),
        "audit_query_ms_median": round(statistics.median(q) * 1000, 1),
        "audit_query_ms_max": round(max(q) * 1000, 1),
        "budgets": {"export_s": 2.0, "audit_query_ms": 50},
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "gdpr.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("%-34s %s" % ("audit rows (patient's)", "%d (%d)" % (total, mine)))
    print("%-34s %d reports, %d accesses, %d bytes" % (
        "export content", res["reports"], res["accesses_in_export"],
        res["export_bytes"]))
    print("%-34s median %.3f s, max %.3f s (budget 2 s)" % (
        "Art. 15 export", res["export_s_median"], res["export_s_max"]))
    print("%-34s median %.1f ms, max %.1f ms (budget 50 ms)" % (
        "per-patient audit query", res["audit_query_ms_median"],
        res["audit_query_ms_max"]))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Soak (issue 10): 32 connections of mixed traffic (bench/wrk/soak.lua:
app-password and session calls, shares list, PROPFIND, 5 MiB downloads by
WebDAV and public link, link pages, the referrer inbox, status.php and a
report ingest every 20th request) for --seconds (600) against the release
build, on the stack and data of bench/bench.py.  Prints the status
histogram (zero 5xx wanted), p50/p99, worker RSS every 10 s (flat over the
second half wanted) and PostgreSQL connections before and after (no
leak).  Usage: make BUILD=release && bench/soak.py [--seconds N]"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench as B  # noqa: E402
from mkpdf import pdf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    opts = argparse.Namespace(scale=0.01, duration=5, runs=1,
                              connections=a.connections, threads=2,
                              only=None, perf=None, hold=0)
    st = B.Stack(os.environ.get("REFX_BIN_DIR",
                                os.path.join(ROOT, "build", "release")))
    st.start()
    try:
        run(a, opts, st)
    finally:
        st.destroy()


def run(a, opts, st):
    b = B.Bench(opts, st)
    b.setup()
    b.gen.grow(1000)
    var = st.var
    meta = {"patient": {"id": "SOAK-1", "family_name": "Soak",
                        "given_name": "Test", "birth_date": "1970-01-01"},
            "order": {"number": "SOAK-O-1", "clinic": "bench-inbox"},
            "status": "final", "title": "Soak", "exam_date": "2026-11-01"}
    bd = b"--soakboundary\r\n"
    body = (bd + b'Content-Disposition: form-data; name="metadata"\r\n\r\n' +
            json.dumps(meta).encode() + b"\r\n" + bd +
            b'Content-Disposition: form-data; name="file"; filename="r.pdf"'
            b"\r\nContent-Type: application/pdf\r\n\r\n" + pdf(["soak"]) +
            b"\r\n--soakboundary--\r\n")
    with open(os.path.join(var, "ingest.bin"), "wb") as f:
        f.write(body)
    with open(os.path.join(var, "propfind.xml"), "wb") as f:
        f.write(B.PROPFIND)
    env = dict(os.environ,
               REFX_SOAK_BASIC="Basic " + B.b64("bstaff:" + b.staff_ap),
               REFX_SOAK_REF="Basic " + B.b64("bref:" + b.ref_ap),
               REFX_SOAK_COOKIE=b.cookie, REFX_SOAK_LINK=b.link,
               REFX_SOAK_DAV="/remote.php/dav/files/bstaff",
               REFX_SOAK_INGEST_BODY=os.path.join(var, "ingest.bin"),
               REFX_SOAK_PROPFIND_BODY=os.path.join(var, "propfind.xml"))
    conns = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'refx_app'"
    before = int(st.psql(conns))
    pids = st.worker_pids()
    samples, stop = [], threading.Event()

    def sample():
        t0 = time.time()
        while not stop.is_set():
            samples.append((round(time.time() - t0), round(
                B.rss_mib(pids, "VmRSS"), 1)))
            stop.wait(10)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    r = subprocess.run(["wrk", "-t", "2", "-c", str(a.connections), "-d",
                        "%ds" % a.seconds, "--timeout", "30s", "-s",
                        os.path.join(ROOT, "bench", "wrk", "soak.lua"),
                        st.url], env=env, capture_output=True, text=True)
    stop.set()
    t.join()
    res = None
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if res is None:
        raise SystemExit("wrk failed: " + r.stdout[-500:] + r.stderr[-500:])
    time.sleep(2)
    after = int(st.psql(conns))
    half = [m for s, m in samples if s >= a.seconds / 2]
    fivexx = sum(v for k, v in res["statuses"].items() if int(k) >= 500)
    out = {"seconds": a.seconds, "connections": a.connections,
           "requests": res["requests"],
           "req_per_s": round(res["requests"] / (res["duration_us"] / 1e6),
                              1),
           "p50_ms": res["p50_us"] / 1000, "p99_ms": res["p99_us"] / 1000,
           "statuses": res["statuses"], "5xx": fivexx,
           "socket_errors": res["socket_errors"],
           "timeouts": res["timeouts"],
           "rss_mib_every_10s": samples,
           "rss_second_half_min_max": [min(half), max(half)] if half else [],
           "pg_connections_before_after": [before, after],
           "same_workers": st.worker_pids() == pids}
    print(json.dumps(out, indent=1))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "soak.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

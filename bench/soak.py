#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Soak (issue 10): 32 connections of mixed traffic (bench/wrk/soak.lua:
app-password and session calls, shares list, PROPFIND, 5 MiB downloads by
WebDAV and public link, link pages, the referrer inbox, status.php and a
report ingest every 20th request) for --seconds (600) against the release
build, on the stack and data of bench/bench.py.  Prints the status
histogram (zero 5xx wanted), p50/p99, the larger worker's RSS (sampled
every 2 s: min/median/max per minute, and the trend over the second half -
flat wanted), the RSS each worker keeps once the load stops (settled:
before, after five and after ten minutes - equal wanted) and PostgreSQL
connections before and after (no leak).
Usage: make BUILD=release && bench/soak.py [--seconds N] [--segments N]
[--hold N]"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench as B  # noqa: E402
from mkpdf import pdf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--segments", type=int, default=2,
                    help="run wrk in this many parts and measure the "
                    "settled RSS after each (default 2: after 5 and 10 "
                    "minutes)")
    ap.add_argument("--hold", type=int, default=0, metavar="SECONDS",
                    help="keep the stack up this long after the run (to "
                    "inspect the workers, e.g. malloc_info through gdb)")
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
    # Reports are ingested by another staff account than the one whose
    # shares list the mix reads: ingest shares each report with the clinic,
    # and as bstaff's own shares the list grew from 51 to ~2,000 entries
    # in ten minutes - a growing answer, not a steady load for the RSS.
    ingest_ap = st.admin("user", "apppassword", "bingest", "soak")
    env = dict(os.environ,
               REFX_SOAK_BASIC="Basic " + B.b64("bstaff:" + b.staff_ap),
               REFX_SOAK_INGEST="Basic " + B.b64("bingest:" + ingest_ap),
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
            stop.wait(2)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    segs, settled = [], [settle(st, pids)]
    for i in range(a.segments):
        r = subprocess.run(["wrk", "-t", "2", "-c", str(a.connections),
                            "-d", "%ds" % (a.seconds // a.segments),
                            "--timeout", "30s", "-s",
                            os.path.join(ROOT, "bench", "wrk", "soak.lua"),
                            st.url], env=env, capture_output=True, text=True)
        res = None
        for line in r.stdout.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[7:])
        if res is None:
            raise SystemExit("wrk failed: " + r.stdout[-500:] +
                             r.stderr[-500:])
        segs.append(res)
        settled.append(settle(st, pids))
    stop.set()
    t.join()
    after = int(st.psql(conns))
    half = [m for s, m in samples if s >= a.seconds / 2]
    trend = rss_trend(samples, a.seconds)
    statuses = {}
    for res in segs:
        for k, v in res["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    fivexx = sum(v for k, v in statuses.items() if int(k) >= 500)
    requests = sum(res["requests"] for res in segs)
    out = {"seconds": a.seconds, "connections": a.connections,
           "requests": requests,
           "req_per_s": round(requests / sum(res["duration_us"] / 1e6
                                             for res in segs), 1),
           "p50_ms_per_segment": [res["p50_us"] / 1000 for res in segs],
           "p99_ms_per_segment": [res["p99_us"] / 1000 for res in segs],
           "statuses": statuses, "5xx": fivexx,
           "socket_errors": sum(res["socket_errors"] for res in segs),
           "timeouts": sum(res["timeouts"] for res in segs),
           "rss_mib_per_minute_min_median_max": per_minute(samples),
           "rss_second_half_min_max": [min(half), max(half)] if half else [],
           "rss_second_half_trend": trend,
           "settled_rss_mib_per_worker": settled,
           "pg_connections_before_after": [before, after],
           "same_workers": st.worker_pids() == pids}
    print(json.dumps(out, indent=1))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "soak.json"), "w") as f:
        json.dump(out, f, indent=1)
    if a.hold:
        print("holding the stack for %d s: workers %s" % (a.hold, pids),
              flush=True)
        time.sleep(a.hold)


def settle(st, pids):
    """Each worker's RSS (MiB) once the load has stopped: requests in flight
    finish, then a few status.php calls over three seconds let both workers
    run their once-a-second heap trim.  What is left is what the workers
    keep, so settled values that do not grow from segment to segment mean
    no memory is retained over the run."""
    time.sleep(3)
    for _ in range(30):
        urllib.request.urlopen(st.url + "/status.php").read()
        time.sleep(0.1)
    time.sleep(1)
    return [round(B.rss_mib([p], "VmRSS"), 1) for p in pids]


def per_minute(samples):
    """[minute, min, median, max] of the RSS samples (every 2 s)."""
    out = []
    for m in range(0, max(s for s, _ in samples) // 60 + 1):
        v = sorted(x for s, x in samples if m * 60 <= s < (m + 1) * 60)
        if v:
            out.append([m, v[0], v[len(v) // 2], v[-1]])
    return out


def rss_trend(samples, seconds):
    """Whether RSS still grows in the second half: the medians of its two
    quarters and the least-squares slope over it (MiB per minute).  Single
    samples swing with the requests in flight (a 5 MiB download maps its
    chunk results), so the medians and the slope are what to compare."""
    half = [(s, m) for s, m in samples if s >= seconds / 2]
    if len(half) < 4:
        return {}
    q3 = sorted(m for s, m in half if s < seconds * 3 / 4)
    q4 = sorted(m for s, m in half if s >= seconds * 3 / 4)
    n = len(half)
    mx = sum(s for s, _ in half) / n
    my = sum(m for _, m in half) / n
    var = sum((s - mx) ** 2 for s, _ in half)
    slope = sum((s - mx) * (m - my) for s, m in half) / var if var else 0.0
    return {"third_quarter_median": q3[len(q3) // 2] if q3 else None,
            "fourth_quarter_median": q4[len(q4) // 2] if q4 else None,
            "slope_mib_per_min": round(slope * 60, 2)}


if __name__ == "__main__":
    main()

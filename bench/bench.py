#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""make bench: wrk against a private stack from the release build with
production settings (PostgreSQL with fsync on, no sanitizers), scale data
from bench/gen.py, and the scenarios of issue 9, each run --runs times for
--duration seconds at --connections connections.  Prints a table (req/s
median, p50 and p99 latency, errors, ratio to nginx's own ceiling measured
in the same run) and writes bench/results/latest.json.

  make bench                       quick scale (--scale 0.1)
  make bench BENCH_SCALE=1         the full data set (100 clinics, 1,000
                                   referrers, 100,000 patients, 200,000
                                   report versions, 1,000,000 audit events)

The machines are shared and noisy: compare ratios from one run, and the
medians of several runs, never single numbers across days."""
import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from mkpdf import pdf  # noqa: E402
from gen import Gen  # noqa: E402

LUA = os.path.join(ROOT, "bench", "wrk", "refx.lua")
MIB = 1024 * 1024

# The desktop client's PROPFIND (nextcloud/desktop, discovery phase).
PROPFIND = (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
            b'xmlns:nc="http://nextcloud.org/ns"><d:prop>'
            b'<d:resourcetype/><d:getlastmodified/><d:getcontentlength/>'
            b'<d:getetag/><oc:size/><oc:id/><oc:fileid/><oc:downloadURL/>'
            b'<oc:dDC/><oc:permissions/><oc:checksums/><nc:is-encrypted/>'
            b'<nc:metadata-files-live-photo/><oc:share-types/>'
            b'<nc:lock/><nc:has-preview/>'
            b'</d:prop></d:propfind>')


class Stack:
    def __init__(self, bin_dir):
        self.var = tempfile.mkdtemp(prefix="refx-bench-")
        self.port = 18000 + os.getpid() % 1000
        self.bin = bin_dir
        self.env = dict(os.environ, REFX_VAR_DIR=self.var,
                        REFX_HTTP_PORT=str(self.port), REFX_BIN_DIR=bin_dir,
                        REFX_ADMIN_PASSWORD="Bench-Admin-Pw-1",
                        REFX_LOG_LEVEL="warn")
        self.env.pop("REFX_TEST_FAST", None)     # fsync stays on
        self.script = os.path.join(ROOT, "scripts", "stack.sh")
        self.url = "http://127.0.0.1:%d" % self.port

    def start(self):
        subprocess.run([self.script, "start"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        self.conf = os.path.join(self.var, "refx.conf")
        self.rt = open(os.path.join(self.var, "runtime-dir")).read().strip()

    def destroy(self):
        subprocess.run([self.script, "destroy"], env=self.env,
                       stdout=subprocess.DEVNULL)

    def admin(self, *args, stdin=None):
        return subprocess.run([os.path.join(self.bin, "refx-admin"), "-c",
                               self.conf] + list(args), input=stdin,
                              text=True, capture_output=True,
                              check=True).stdout.strip()

    def psql(self, sql):
        r = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A",
             "-t", "-v", "ON_ERROR_STOP=1", "-h", os.path.join(self.rt, "pg"),
             "-p", str(20000 + self.port % 10000), "-U", "postgres", "-d",
             "refx"], input=sql, cwd="/", capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr[-2000:])
        return r.stdout.strip()

    def worker_pids(self):
        run = os.path.join(self.var, "run")
        return [int(open(os.path.join(run, n)).read()) for n in
                sorted(os.listdir(run)) if n.startswith("refx-fcgi-") and
                n.endswith(".pid")]


def rss_mib(pids, field):
    """The largest VmRSS (now) or VmHWM (peak since start) of pids, MiB."""
    top = 0
    for pid in pids:
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field + ":"):
                top = max(top, int(line.split()[1]))
    return top / 1024.0


class RssSampler:
    """VmRSS of the workers every 0.1 s while a transfer runs."""

    def __init__(self, pids):
        import threading
        self.pids, self.peak, self.stop = pids, 0.0, threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pids, "VmRSS"))
            self.stop.wait(0.1)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join()


class Perf:
    """`perf record -a -g` (the whole machine: workers, PostgreSQL, nginx,
    wrk) while a scenario runs (--perf DIR): DIR/<scenario>.data, read with
    `perf report -i … --sort comm,dso,symbol`."""

    def __init__(self, outdir, name, pids):
        self.cmd = None
        if outdir:
            os.makedirs(outdir, exist_ok=True)
            self.cmd = ["perf", "record", "-q", "-F", "999", "-g", "-o",
                        os.path.join(outdir, name + ".data"), "-a"]

    def __enter__(self):
        if self.cmd:
            self.p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
            time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        if self.cmd:
            self.p.send_signal(2)
            self.p.wait(timeout=60)


def wrk(url, path, a, duration, method="GET", headers=(), body=None):
    env = dict(os.environ, REFX_METHOD=method, REFX_PATH=path,
               REFX_HEADERS="\n".join(headers), REFX_BODY_FILE=body or "",
               REFX_CYCLE="64")
    r = subprocess.run(["wrk", "-t", str(a.threads), "-c", str(a.connections),
                        "-d", "%ds" % duration, "--timeout", "10s", "-s", LUA,
                        url], env=env, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            x = json.loads(line[7:])
            x["rps"] = x["requests"] / (x["duration_us"] / 1e6)
            return x
    raise RuntimeError("wrk failed: " + r.stdout[-500:] + r.stderr[-500:])


class Bench:
    def __init__(self, a, stack):
        self.a = a
        self.s = stack
        self.results = {}

    # ------------------------------------------------------------ setup
    def session(self, uid, secret):
        s = requests.Session()
        s.auth = (uid, secret)
        s.headers["OCS-APIRequest"] = "true"
        return s

    def setup(self):
        s, url = self.s, self.s.url
        s.admin("settings", "set", "sharing.link.password_enforced", "0")
        for uid, role in (("bingest", "staff"), ("bstaff", "staff")):
            s.admin("user", "add", uid, "--role", role, "--password-stdin",
                    stdin="Bench-Pw-%s-1\n" % uid)
        ingest = self.session("bingest", s.admin("user", "apppassword",
                                                 "bingest", "bench"))
        ingest.base = url + "/ocs/v2.php/apps/referrals/api/v1"
        self.gen = Gen(s.psql, ingest, pdf)
        t0 = time.time()
        self.gen.setup()
        self.t_setup = time.time() - t0
        # the referrer: a clinic with exactly 50 reports, no 2FA (so the
        # account password and a web session work without a second step)
        s.admin("user", "add", "bref", "--password-stdin",
                stdin="Bench-Ref-Pw-1\n")
        s.admin("group", "adduser", "bench-inbox", "bref")
        s.admin("user", "add", "bref2", "--password-stdin",
                stdin="Bench-Ref-Pw-2\n")
        s.admin("group", "adduser", "bench-c001", "bref2")
        self.ref_ap = s.admin("user", "apppassword", "bref", "bench")
        self.staff_ap = s.admin("user", "apppassword", "bstaff", "bench")
        staff = self.session("bstaff", self.staff_ap)
        dav = url + "/remote.php/dav/files/bstaff"
        for folder in ("S", "P200", "up"):
            staff.request("MKCOL", dav + "/" + folder).raise_for_status()
        # 50 shares of the staff account's own files
        for i in range(50):
            staff.put(dav + "/S/f%02d.txt" % i, data=b"shared %d\n" % i
                      ).raise_for_status()
            r = staff.post(url + "/ocs/v2.php/apps/files_sharing/api/v1/"
                           "shares", params={"format": "json"},
                           data={"path": "/S/f%02d.txt" % i, "shareType": "0",
                                 "shareWith": "bref2"})
            r.raise_for_status()
        # a folder of 200 files for PROPFIND
        for i in range(200):
            staff.put(dav + "/P200/file-%03d.pdf" % i,
                      data=pdf(["propfind %d" % i])).raise_for_status()
        # 5 MiB, encrypted, by WebDAV and by a public link
        self.big = os.path.join(self.s.var, "bench-5m.bin")
        with open(self.big, "wb") as f:
            f.write(os.urandom(5 * MIB))
        with open(self.big, "rb") as f:
            staff.put(dav + "/big.bin", data=f).raise_for_status()
        r = staff.post(url + "/ocs/v2.php/apps/files_sharing/api/v1/shares",
                       params={"format": "json"},
                       data={"path": "/big.bin", "shareType": "3"})
        r.raise_for_status()
        self.link = r.json()["ocs"]["data"]["url"].split("/s/", 1)[1]
        # nginx's static ceiling: the same 5 MiB as a plain file
        subprocess.run(["cp", self.big, os.path.join(self.s.rt, "static",
                                                     "bench-5m.bin")],
                       check=True)
        os.chmod(os.path.join(self.s.rt, "static", "bench-5m.bin"), 0o644)
        # the referrer's web session
        web = requests.Session()
        page = web.get(url + "/login")
        tok = page.text.split('name="requesttoken" value="', 1)[1].split(
            '"', 1)[0]
        r = web.post(url + "/login", data={"user": "bref",
                                           "password": "Bench-Ref-Pw-1",
                                           "requesttoken": tok},
                     allow_redirects=False)
        assert r.status_code == 303, r.text
        self.cookie = "; ".join("%s=%s" % (c.name, c.value)
                                for c in web.cookies)

    # -------------------------------------------------------- scenarios
    def scenarios(self):
        basic_staff = "Authorization: Basic " + b64("bstaff:" + self.staff_ap)
        basic_ref = "Authorization: Basic " + b64("bref:" + self.ref_ap)
        basic_pw = "Authorization: Basic " + b64("bref:Bench-Ref-Pw-1")
        ocs = "OCS-APIRequest: true"
        dav = "/remote.php/dav/files/bstaff"
        propfind = os.path.join(self.s.var, "propfind.xml")
        with open(propfind, "wb") as f:
            f.write(PROPFIND)
        return [
            # name, ratio base, path, method, headers, body
            ("nginx-ping", None, "/nginx-ping", "GET", [], None),
            ("nginx-static-5m", None, "/static/bench-5m.bin", "GET", [],
             None),
            ("status", "nginx-ping", "/status.php", "GET", [], None),
            ("capabilities", "nginx-ping",
             "/ocs/v2.php/cloud/capabilities?format=json", "GET",
             [basic_staff, ocs], None),
            ("shares-list", "nginx-ping",
             "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json",
             "GET", [basic_staff, ocs], None),
            ("propfind", "nginx-ping", dav + "/P200/", "PROPFIND",
             [basic_staff, "Depth: 1",
              "Content-Type: application/xml; charset=utf-8"], propfind),
            ("download-5m", "nginx-static-5m", dav + "/big.bin", "GET",
             [basic_staff], None),
            ("download-5m-link", "nginx-static-5m",
             "/s/%s/download" % self.link, "GET", [], None),
            ("upload-5m", "nginx-static-5m", dav + "/up/{n}.bin", "PUT",
             [basic_staff, "Content-Type: application/octet-stream"],
             self.big),
            ("referrer-inbox", "nginx-ping",
             "/ocs/v2.php/apps/referrals/api/v1/reports?format=json", "GET",
             [basic_ref, ocs], None),
            ("login-apppassword", "nginx-ping",
             "/ocs/v2.php/cloud/user?format=json", "GET", [basic_ref, ocs],
             None),
            ("login-session", "nginx-ping",
             "/ocs/v2.php/cloud/user?format=json", "GET",
             ["Cookie: " + self.cookie, ocs], None),
            ("login-password", "nginx-ping",
             "/ocs/v2.php/cloud/user?format=json", "GET", [basic_pw, ocs],
             None),
        ]

    def run_one(self, sc, runs, duration):
        name, _, path, method, headers, body = sc
        wrk(self.s.url, path, self.a, 1, method, headers, body)  # warm-up
        out = []
        with Perf(self.a.perf, name, self.s.worker_pids()):
            for _ in range(runs):
                out.append(wrk(self.s.url, path, self.a, duration, method,
                               headers, body))
        return {
            "rps": statistics.median(x["rps"] for x in out),
            "p50_ms": statistics.median(x["p50_us"] for x in out) / 1000,
            "p99_ms": statistics.median(x["p99_us"] for x in out) / 1000,
            "errors": sum(x["socket_errors"] + x["status_errors"] +
                          x["timeouts"] for x in out),
            "requests": sum(x["requests"] for x in out),
            "runs": out,
        }

    # ------------------------------------------------------------- main
    def growth_points(self, final):
        if self.a.only:
            return [final]
        pts = [p for p in (1000, 10000, 100000) if p < final]
        return pts + [final]

    def run(self):
        a = self.a
        self.setup()
        final = max(1000, int(100_000 * a.scale))
        scen = {sc[0]: sc for sc in self.scenarios()}
        growth = []
        t_gen = 0.0
        for pt in self.growth_points(final):
            t_gen += self.gen.grow(pt)
            row = {"reports": pt, "versions": int(self.s.psql(
                "SELECT count(*) FROM report_versions"))}
            for name in ("shares-list", "referrer-inbox", "propfind"):
                r = self.run_one(scen[name], 1, a.duration)
                row[name] = {"p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                             "errors": r["errors"]}
            growth.append(row)
            print("growth: %7d reports  p50 ms (errors): shares-list %.2f "
                  "(%d)  inbox %.2f (%d)  propfind %.2f (%d)" % (
                      pt, row["shares-list"]["p50_ms"],
                      row["shares-list"]["errors"],
                      row["referrer-inbox"]["p50_ms"],
                      row["referrer-inbox"]["errors"],
                      row["propfind"]["p50_ms"], row["propfind"]["errors"]),
                  flush=True)
        t_audit = self.gen.audit(int(1_000_000 * a.scale))
        data = {k: int(self.s.psql("SELECT count(*) FROM " + k)) for k in (
            "patients", "reports", "report_versions", "shares",
            "audit_events")}
        data["clinics"] = int(self.s.psql(
            "SELECT count(*) FROM groups WHERE kind = 'referrer'"))
        data["referrer_accounts"] = int(self.s.psql(
            "SELECT count(*) FROM user_roles WHERE role = 'referrer'"))
        data["seconds"] = {"setup_and_templates": round(self.t_setup, 1),
                           "reports": round(t_gen, 1),
                           "audit_events": round(t_audit, 1)}
        print("data: %s" % json.dumps(data), flush=True)
        if a.only:
            keep = set(a.only.split(",")) | {"nginx-ping", "nginx-static-5m"}
            scen = {k: v for k, v in scen.items() if k in keep}
        res = {}
        for name, sc in scen.items():
            res[name] = self.run_one(sc, a.runs, a.duration)
            print("  %-18s %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors "
                  "%d" % (name, res[name]["rps"], res[name]["p50_ms"],
                          res[name]["p99_ms"], res[name]["errors"]),
                  flush=True)
        for name, sc in scen.items():
            base = sc[1]
            res[name]["ratio"] = (res[name]["rps"] / res[base]["rps"]
                                  if base else 1.0)
            res[name]["ratio_to"] = base
        rss = self.big_transfer() if not a.only else None
        if a.hold:
            print("holding the stack for %d s: %s (var %s; psql: runuser -u "
                  "postgres -- psql -h %s -p %d refx)" % (
                      a.hold, self.s.url, self.s.var,
                      os.path.join(self.s.rt, "pg"),
                      20000 + self.s.port % 10000), flush=True)
            with open(os.path.join(self.s.var, "bench-credentials"), "w") as f:
                f.write("bstaff %s\nbref %s\n" % (self.staff_ap, self.ref_ap))
            time.sleep(a.hold)
        return {"scale": a.scale, "data": data, "growth": growth,
                "scenarios": res, "rss": rss}

    def big_transfer(self):
        """Worker RSS sampled during one large PUT and GET (1 GiB at full
        scale, 256 MiB below) through nginx, and the peak over the whole
        run (VmHWM: includes argon2's 64 MiB per concurrent password
        check in the login-password scenario)."""
        size = 1024 * MIB if self.a.scale >= 1 else 256 * MIB
        path = os.path.join(self.s.var, "big-transfer.bin")
        with open(path, "wb") as f:
            for _ in range(size // (16 * MIB)):
                f.write(os.urandom(16 * MIB))
        url = self.s.url + "/remote.php/dav/files/bstaff/transfer.bin"
        auth = "bstaff:" + self.staff_ap
        pids = self.s.worker_pids()
        # requests of the last scenario still running (argon2 checks take
        # seconds each and outlive wrk's connections) would count here
        quiesce(pids)
        with RssSampler(pids) as rs:
            t0 = time.time()
            subprocess.run(["curl", "-sf", "-u", auth, "-T", path, url],
                           check=True)
            t_up = time.time() - t0
            t0 = time.time()
            subprocess.run(["curl", "-sf", "-u", auth, "-o", "/dev/null",
                            url], check=True)
            t_down = time.time() - t0
        os.unlink(path)
        return {"bytes": size, "upload_s": round(t_up, 1),
                "download_s": round(t_down, 1),
                "worker_rss_during_transfer_mib": round(rs.peak, 1),
                "worker_peak_rss_whole_run_mib": round(rss_mib(
                    pids, "VmHWM"), 1)}


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])          # utime + stime


def quiesce(pids, timeout=120):
    """Wait until the workers use no CPU for a second (idle)."""
    end = time.time() + timeout
    while time.time() < end:
        before = [cpu_ticks(p) for p in pids]
        time.sleep(1)
        if all(cpu_ticks(p) - b <= 2 for p, b in zip(pids, before)):
            return
    raise RuntimeError("the workers stayed busy for %d s" % timeout)


def b64(s):
    import base64
    return base64.b64encode(s.encode()).decode()


# ------------------------------------------------------------------ report

SMALL = ("capabilities", "shares-list", "referrer-inbox", "login-apppassword",
         "login-session")
API = ("status", "capabilities", "shares-list", "propfind", "referrer-inbox",
       "login-apppassword", "login-session")


def budgets(r):
    s = r["scenarios"]
    out = []
    for n in SMALL:
        out.append(("%s >= 0.05x nginx-ping" % n, s[n]["ratio"] >= 0.05,
                    "%.3fx" % s[n]["ratio"]))
    out.append(("status >= 0.1x nginx-ping", s["status"]["ratio"] >= 0.1,
                "%.3fx" % s["status"]["ratio"]))
    out.append(("download-5m >= 0.3x nginx static",
                s["download-5m"]["ratio"] >= 0.3,
                "%.3fx" % s["download-5m"]["ratio"]))
    for n in API:
        out.append(("%s p99 < 20 ms" % n, s[n]["p99_ms"] < 20,
                    "%.2f ms" % s[n]["p99_ms"]))
    out.append(("worker RSS during the large transfer < 64 MiB",
                r["rss"]["worker_rss_during_transfer_mib"] < 64,
                "%.1f MiB" % r["rss"]["worker_rss_during_transfer_mib"]))
    g = r["growth"]
    if len(g) >= 2:
        lo, hi = g[0], g[-1]
        # logarithmic growth: at most log(hi)/log(lo) of the smallest p50,
        # plus 1 ms of noise
        allow = math.log(hi["reports"]) / math.log(lo["reports"])
        for n in ("shares-list", "referrer-inbox", "propfind"):
            ok = hi[n]["p50_ms"] <= lo[n]["p50_ms"] * allow + 1.0
            out.append(("%s p50 %d -> %d reports grows at most "
                        "logarithmically" % (n, lo["reports"], hi["reports"]),
                        ok, "%.2f -> %.2f ms" % (lo[n]["p50_ms"],
                                                 hi[n]["p50_ms"])))
    return out


def print_table(r):
    print()
    print("%-18s %11s %9s %9s %7s %9s" % ("scenario", "req/s", "p50 ms",
                                          "p99 ms", "errors", "ratio"))
    for name, x in r["scenarios"].items():
        ratio = ("%.3fx %s" % (x["ratio"], x["ratio_to"])
                 if x["ratio_to"] else "ceiling")
        print("%-18s %11.1f %9.2f %9.2f %7d  %s" % (
            name, x["rps"], x["p50_ms"], x["p99_ms"], x["errors"], ratio))
    print()
    print("cost growth (p50 ms):")
    for g in r["growth"]:
        print("  %7d reports: shares-list %.2f  referrer-inbox %.2f  "
              "propfind %.2f" % (g["reports"], g["shares-list"]["p50_ms"],
                                 g["referrer-inbox"]["p50_ms"],
                                 g["propfind"]["p50_ms"]))
    t = r["rss"]
    if t is None:
        return
    print("large transfer: %d MiB up %.1f s, down %.1f s; worker RSS during "
          "it %.1f MiB (peak of the whole run %.1f MiB)" % (
              t["bytes"] // MIB, t["upload_s"], t["download_s"],
              t["worker_rss_during_transfer_mib"],
              t["worker_peak_rss_whole_run_mib"]))
    print()
    print("budgets:")
    for what, ok, val in r["budgets"]:
        print("  %-6s %-60s %s" % ("ok" if ok else "MISSED", what, val))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=int, default=5, help="seconds")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--only", help="comma-separated scenarios (profiling; "
                    "no growth points, no large transfer, no budgets)")
    ap.add_argument("--perf", metavar="DIR", help="record a perf profile "
                    "of the workers per scenario into DIR (profiling)")
    ap.add_argument("--hold", type=int, default=0, metavar="SECONDS",
                    help="keep the stack up this long after the runs "
                    "(profiling by hand)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "latest.json"))
    a = ap.parse_args()
    bin_dir = os.environ.get("REFX_BIN_DIR",
                             os.path.join(ROOT, "build", "release"))
    t0 = time.time()
    # SIGTERM (e.g. the end of --hold) still stops the private stack
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack(bin_dir)
    stack.start()
    try:
        r = Bench(a, stack).run()
    finally:
        stack.destroy()
    r["budgets"] = budgets(r) if not a.only else []
    r["machine"] = {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                          time.gmtime())}
    r["settings"] = {"duration_s": a.duration, "runs": a.runs,
                     "connections": a.connections, "wrk_threads": a.threads}
    r["total_s"] = round(time.time() - t0, 1)
    print_table(r)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(r, f, indent=1)
    print("\nwrote %s (%.0f s in all)" % (a.out, r["total_s"]))


if __name__ == "__main__":
    main()

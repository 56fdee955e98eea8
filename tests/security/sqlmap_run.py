#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""sqlmap (Debian's) against the OCS parameters of the main routes,
authenticated (issue 10).  Starts a private stack from the debug build
(`make` first), seeds one report and one share, runs sqlmap at level 3,
risk 1, techniques B, E, U, S on each target, prints the verdicts; full
outputs in /tmp/refx-sqlmap/.  Usage: tests/security/sqlmap_run.py"""
import os, sys, subprocess, json, base64, time
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench")); sys.path.insert(0, os.path.join(ROOT, "scripts"))
OUT = "/tmp/refx-sqlmap"
os.makedirs(OUT, exist_ok=True)
import bench as B
from mkpdf import pdf
st = B.Stack(os.environ.get("REFX_BIN_DIR", os.path.join(ROOT, "build"))); st.start()
try:
    st.admin("user", "add", "sqstaff", "--role", "staff", "--password-stdin", stdin="Sq-Staff-Pw-1\n")
    st.admin("clinic", "add", "sqclinic", "--name", "Sq", "--bsnr", "123456789")
    st.admin("user", "add", "sqref", "--password-stdin", stdin="Sq-Ref-Pw-12\n")
    st.admin("group", "adduser", "sqclinic", "sqref")
    ap = st.admin("user", "apppassword", "sqstaff", "sq")
    rap = st.admin("user", "apppassword", "sqref", "sq")
    import requests
    s = requests.Session(); s.auth = ("sqstaff", ap); s.headers["OCS-APIRequest"] = "true"
    api = st.url + "/ocs/v2.php/apps/referrals/api/v1"
    meta = {"patient": {"id": "SQ-1", "family_name": "Sql", "given_name": "Map", "birth_date": "1970-01-01"},
            "order": {"number": "SQ-O-1", "clinic": "sqclinic"}, "status": "final", "title": "T", "exam_date": "2026-11-01"}
    r = s.post(api + "/reports?format=json", files={"metadata": (None, json.dumps(meta)), "file": ("r.pdf", pdf(["x"]), "application/pdf")})
    r.raise_for_status()
    s.put(st.url + "/remote.php/dav/files/sqstaff/a.txt", data=b"x").raise_for_status()
    s.post(st.url + "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json", data={"path": "/a.txt", "shareType": "0", "shareWith": "sqref"}).raise_for_status()
    staff_h = "Authorization: Basic " + base64.b64encode(("sqstaff:" + ap).encode()).decode()
    ref_h = "Authorization: Basic " + base64.b64encode(("sqref:" + rap).encode()).decode()
    targets = [
        (staff_h, api + "/reports?format=json&patient=SQ-1&status=final&from=2026-01-01&to=2026-12-31&clinic=sqclinic", None),
        (ref_h, api + "/reports?format=json&patient=Sql&status=final&from=2026-01-01&unread=true", None),
        (staff_h, api + "/patients?format=json&search=Sql", None),
        (staff_h, st.url + "/ocs/v2.php/apps/files_sharing/api/v1/shares?format=json&path=/a.txt&reshares=true", None),
        (staff_h, st.url + "/ocs/v2.php/cloud/users?format=json&search=sq&limit=10&offset=0", None),
        (staff_h, api + "/consents?format=json", "patient=1&links=true&report=1&purpose=x&text_version=1&text_sha256=" + "a"*64 + "&channel=paper"),
    ]
    for h, url, data in targets:
        cmd = ["sqlmap", "-u", url, "--batch", "--level", "3", "--risk", "1", "--dbms", "postgresql",
               "--technique", "BEUS", "-H", h, "-H", "OCS-APIRequest: true", "--skip", "format",
               "--threads", "2", "--disable-coloring", "--output-dir", OUT]
        if data:
            cmd += ["--data", data]
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        open(os.path.join(OUT, "target-%d.txt" % targets.index((h, url, data))), "w").write(r.stdout + r.stderr)
        verdict = [l for l in r.stdout.splitlines() if "injectable" in l or "appears to be" in l or "all tested" in l]
        reqs = [l for l in r.stdout.splitlines() if "HTTP requests" in l]
        print("TARGET", url.split("?")[0].replace(st.url, ""), "data" if data else "query", round(time.time() - t0), "s")
        for v in verdict[-3:]: print("   ", v.strip()[:200])
        sys.stdout.flush()
finally:
    st.destroy()

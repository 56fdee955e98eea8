# SPDX-License-Identifier: AGPL-3.0-or-later
"""PostgreSQL restarted under the workers (issue 10): while it is down,
requests fail with 503 and a clear body (no hang, no 500); when it is
back - after a fast shutdown or an immediate one (crash recovery) - the
same worker processes serve again by themselves, and the audit chain
verifies.  Named test_zx_ so it runs near the end of the suite."""
import os
import shlex
import subprocess
import time

import requests

from conftest import fresh_ip, wait_for

PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_ctl(stack, *args):
    return subprocess.run(["runuser", "-u", "postgres", "--",
                           os.path.join(PG_BIN, "pg_ctl"), "-D",
                           os.path.join(stack.rt, "pgdata")] + list(args),
                          cwd="/", capture_output=True, text=True)


def options(stack):
    """The server's command-line options, to start it the same way."""
    with open(os.path.join(stack.rt, "pgdata", "postmaster.opts")) as f:
        argv = shlex.split(f.read())
    out, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a == "-D":
            skip = True
            continue
        out.append(a)
    return shlex.join(out)


def test_postgresql_restart_fast_and_immediate(stack, accounts):
    uid, pw, ap = accounts.user("pgr", roles=["referrer"])
    s = requests.Session()
    s.auth = (uid, ap)
    s.headers.update({"OCS-APIRequest": "true",
                      "X-Forwarded-For": fresh_ip()})
    url = stack.url + "/ocs/v2.php/cloud/user?format=json"
    assert s.get(url).status_code == 200
    workers = stack.worker_pids()
    opts = options(stack)
    log = os.path.join(stack.rt, "pg.log")
    for mode in ("fast", "immediate"):
        r = pg_ctl(stack, "stop", "-m", mode, "-w")
        assert r.returncode == 0, r.stderr
        for _ in range(3):
            t0 = time.monotonic()
            r = s.get(url, timeout=30)
            assert r.status_code == 503, r.text
            assert r.json()["ocs"]["meta"]["message"] == \
                "database unavailable"
            assert time.monotonic() - t0 < 10
            # every worker's status.php says so (load balancers)
            r = requests.get(stack.url + "/status.php", timeout=30)
            assert r.status_code == 503
        r = pg_ctl(stack, "start", "-w", "-t", "60", "-l", log, "-o", opts)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: s.get(url).status_code == 200, 20), mode
        # every thread's connection is back, not only the first one
        for _ in range(40):
            assert s.get(url).status_code == 200
    assert stack.worker_pids() == workers          # no worker restarted
    r = accounts.admin("audit", "verify")
    assert r.returncode == 0, r.stderr

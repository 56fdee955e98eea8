# SPDX-License-Identifier: AGPL-3.0-or-later
"""Integration fixtures: one private stack (PostgreSQL, two workers, nginx)
per test session, started on a free port in a temporary directory with
scripts/stack.sh and destroyed at the end, also after failures."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = os.path.join(ROOT, "scripts", "stack.sh")
BIN = os.environ.get("REFX_BIN_DIR", os.path.join(ROOT, "build"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """A running stack: base URL, state dir and helpers to reach its parts."""

    def __init__(self, var, port, env):
        self.var = var
        self.port = port
        self.env = env
        self.url = "http://127.0.0.1:%d" % port
        with open(os.path.join(var, "runtime-dir")) as f:
            self.rt = f.read().strip()
        self.conf = os.path.join(var, "refx.conf")

    def pg_socket_dir(self):
        return os.path.join(self.rt, "pg")

    def pg_port(self):
        return 20000 + self.port % 10000

    def psql(self, sql, db="refx", user="postgres"):
        """Run SQL as a PostgreSQL role through the unix socket; stdout."""
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-h", self.pg_socket_dir(),
             "-p", str(self.pg_port()), "-U", user, "-d", db, "-c", sql],
            cwd="/", capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def conninfo(self, db="refx", user="refx_owner"):
        return "host=%s port=%d dbname=%s user=%s" % (
            self.pg_socket_dir(), self.pg_port(), db, user)

    def admin(self, *args, env=None, check=False):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([os.path.join(BIN, "refx-admin"), "-c", self.conf]
                              + list(args), capture_output=True, text=True,
                              env=e, check=check)

    def worker_pids(self):
        pids = []
        for i in (1, 2):
            with open(os.path.join(self.var, "run", "refx-fcgi-%d.pid" % i)) as f:
                pids.append(int(f.read().strip()))
        return pids

    def worker_logs(self):
        text = ""
        for i in (1, 2):
            p = os.path.join(self.var, "log", "refx-fcgi-%d.log" % i)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text


@pytest.fixture(scope="session")
def stack():
    var = tempfile.mkdtemp(prefix="refx-test-")
    port = free_port()
    env = dict(os.environ)
    env.update({
        "REFX_VAR_DIR": var,
        "REFX_HTTP_PORT": str(port),
        "REFX_BIN_DIR": BIN,
        "REFX_TEST_FAST": "1",
        "REFX_THREADS": "4",
        "REFX_EXTRA_CONF": "[testing]\nroutes = 1\n",
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    })
    try:
        subprocess.run([STACK, "start"], env=env, check=True, timeout=180)
        yield Stack(var, port, env)
    finally:
        subprocess.run([STACK, "destroy"], env=env, timeout=120)
        shutil.rmtree(var, ignore_errors=True)


@pytest.fixture
def ocs(stack):
    """GET/POST helper with the OCS-APIRequest header."""
    s = requests.Session()
    s.headers["OCS-APIRequest"] = "true"
    s.base = stack.url
    return s


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False

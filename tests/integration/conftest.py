# SPDX-License-Identifier: AGPL-3.0-or-later
"""Integration fixtures: one private stack (PostgreSQL, two workers, nginx)
per test session, started on a free port in a temporary directory with
scripts/stack.sh and destroyed at the end, also after failures."""
import json
import os
import shutil
import signal
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

    def stop_workers(self, sig=signal.SIGTERM, timeout=60):
        """Signal both workers (SIGTERM drains them; SIGKILL is a crash) and
        wait until they are gone."""
        pids = self.worker_pids()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

        def gone(pid):
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        assert wait_for(lambda: all(gone(p) for p in pids), timeout)

    def start_workers(self, env=None):
        """stack.sh start (it writes refx.conf from env, default the
        stack's) and wait until both workers answer status.php."""
        from fcgi_client import fcgi_raw
        subprocess.run([STACK, "start"], env=env or self.env, check=True,
                       timeout=180, stdout=subprocess.DEVNULL)

        def up(i):
            try:
                return fcgi_raw(os.path.join(self.rt, "fcgi", "w%d.sock" % i),
                                "/status.php", "GET", {}, [])[0] == 200
            except OSError:
                return False
        assert wait_for(lambda: up(1) and up(2), 30)

    def worker_pids(self):
        pids = []
        for i in (1, 2):
            with open(os.path.join(self.var, "run", "refx-fcgi-%d.pid" % i)) as f:
                pids.append(int(f.read().strip()))
        return pids

    def failing_insert(self, table, when="true"):
        """Context manager: inserting a row into table for which the SQL
        condition when (on NEW) holds fails - a BEFORE INSERT trigger
        raises - until the block ends: a failure half-way through a
        request's writes."""
        import contextlib

        @contextlib.contextmanager
        def cm():
            self.psql("CREATE OR REPLACE FUNCTION test_fail_insert() RETURNS "
                      "trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                      "'test: insert fails'; END $$; CREATE TRIGGER "
                      "zz_test_fail BEFORE INSERT ON %s FOR EACH ROW WHEN "
                      "(%s) EXECUTE FUNCTION test_fail_insert()" %
                      (table, when))
            try:
                yield
            finally:
                self.psql("DROP TRIGGER zz_test_fail ON %s; DROP FUNCTION "
                          "test_fail_insert()" % table)
        return cm()

    def failing_audit(self, action):
        """failing_insert for audit rows with this action."""
        return self.failing_insert("audit_events",
                                   "NEW.action = '%s'" % action)

    def holding(self, sql):
        """Context manager: another session runs sql (a locking SELECT) in
        an open transaction and keeps its locks until the block ends, then
        rolls back.  Yields that session's backend pid, for waiting_on()."""
        import contextlib

        @contextlib.contextmanager
        def cm():
            p = subprocess.Popen(
                ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-A",
                 "-t", "-v", "ON_ERROR_STOP=1", "-h", self.pg_socket_dir(),
                 "-p", str(self.pg_port()), "-d", "refx"],
                cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, bufsize=1)
            try:
                p.stdin.write("BEGIN;\n%s;\nSELECT 'held', pg_backend_pid();"
                              "\n" % sql)
                line = ""
                while not line.startswith("held|"):
                    line = p.stdout.readline()
                    assert line, "the holding session ended"
                yield int(line.split("|")[1])
            finally:
                if p.poll() is None:
                    p.stdin.write("ROLLBACK;\n\\q\n")
                    p.stdin.close()
                p.wait(timeout=30)
        return cm()

    def waiting_on(self, pid):
        """How many sessions wait for a lock that backend pid holds."""
        return int(self.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                             "%d = ANY(pg_blocking_pids(pid))" % pid))

    def lock_waits(self):
        """How many sessions wait for a lock at all."""
        return int(self.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                             "cardinality(pg_blocking_pids(pid)) > 0"))

    def worker_logs(self):
        text = ""
        for i in (1, 2):
            p = os.path.join(self.var, "log", "refx-fcgi-%d.log" % i)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text


class Mailbox:
    """A real SMTP server (aiosmtpd) on a free port; keeps every message
    it receives as (envelope recipients, raw bytes)."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        import threading
        self.messages = []
        self.lock = threading.Lock()
        box = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                # a mailbox that never exists: the sender's failure path
                if address.startswith("reject-"):
                    return "550 5.1.1 No such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                with box.lock:
                    box.messages.append((list(envelope.rcpt_tos),
                                         bytes(envelope.original_content or
                                               envelope.content)))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1",
                                     port=self.port)
        self.controller.start()

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def to(self, address):
        """Raw messages delivered to address so far."""
        with self.lock:
            return [raw for rcpt, raw in self.messages if address in rcpt]

    def wait_for(self, address, n=1, timeout=15.0):
        assert wait_for(lambda: len(self.to(address)) >= n, timeout), \
            "no mail for %s after %.0f s" % (address, timeout)
        return self.to(address)

    def stop(self):
        self.controller.stop()


@pytest.fixture(scope="session")
def mailbox():
    box = Mailbox()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def stack(mailbox):
    var = tempfile.mkdtemp(prefix="refx-test-")
    port = free_port()
    env = dict(os.environ)
    env.update({

        "REFX_VAR_DIR": var,
        "REFX_HTTP_PORT": str(port),
        "REFX_BIN_DIR": BIN,
        "REFX_TEST_FAST": "1",
        "REFX_THREADS": "4",
        "REFX_EXTRA_CONF": "[testing]\nroutes = 1\nthrottle_sleep = 0\n"
                           "[mail]\nsmtp_url = %s\nfrom = refx@practice.test\n"
                           % mailbox.url(),
        # nginx is the trusted proxy: each test picks its client address
        # with X-Forwarded-For, which keeps throttling state apart.
        "REFX_SERVER_TRUSTED_PROXIES": "127.0.0.1",
        # OWASP's argon2id minimum (m=19 MiB, t=2) keeps the suite fast.
        "REFX_SECURITY_ARGON2_MEMORY_KIB": "19456",
        "REFX_SECURITY_ARGON2_ITERATIONS": "2",
        "REFX_ADMIN_PASSWORD": "Admin-Passw0rd-Test",
        "ASAN_OPTIONS": os.environ.get(
            "REFX_TEST_ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=23"),
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


import base64
import hashlib
import hmac
import html
import itertools
import re
import struct
import urllib.parse

_ip_counter = itertools.count(1)


def fresh_ip():
    """A client address of its own for a test (TEST-NET-2, via XFF)."""
    n = next(_ip_counter)
    return "198.51.%d.%d" % (100 + n // 250, 1 + n % 250)


def totp(secret_b32, t, digits=6):
    """RFC 6238 TOTP (SHA-1, 30 s steps) of a base32 secret at unix time t."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[-1] & 15
    code = struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff
    return str(code % 10 ** digits).zfill(digits)


def hidden(page, name):
    """Value of a hidden form input in an HTML page."""
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    assert m, "no %s in page" % name
    return html.unescape(m.group(1))


class Accounts:
    """Creates accounts through refx-admin and logs in like a browser."""

    def __init__(self, stack):
        self.stack = stack
        self.n = 0
        self.clock = 0

    def admin(self, *args, stdin=None, ok=True):
        r = subprocess.run([os.path.join(BIN, "refx-admin"), "-c",
                            self.stack.conf] + list(args), input=stdin,
                           capture_output=True, text=True)
        if ok:
            assert r.returncode == 0, r.stderr
        return r

    def uid(self, prefix):
        self.n += 1
        return "%s%d_%d" % (prefix, self.n, os.getpid() % 1000)

    def user(self, prefix="u", roles=(), groups=(), password=None,
             email=None):
        """(uid, password, app password) of a new account."""
        uid = self.uid(prefix)
        password = password or "Pw-" + uid + "-long!"
        args = ["user", "add", uid, "--password-stdin"]
        for r in roles:
            args += ["--role", r]
        if email:
            args += ["--email", email]
        self.admin(*args, stdin=password + "\n")
        for g in groups:
            self.admin("group", "adduser", g, uid)
        ap = self.admin("user", "apppassword", uid, "tests").stdout.strip()
        return uid, password, ap

    def clinic(self, prefix="clinic", email=True):
        """A referrer clinic; email=False: no notification address, so
        mail goes to each member."""
        gid = self.uid(prefix)
        args = ["clinic", "add", gid, "--name", "Praxis " + gid,
                "--bsnr", "123456789"]
        if email:
            args += ["--email", gid + "@clinic.test"]
        self.admin(*args)
        return gid

    def set_clock(self, offset_s):
        r = requests.post(self.stack.url + "/ocs/v2.php/apps/refx_testing/"
                          "clock", data={"offset_s": str(offset_s)},
                          headers={"OCS-APIRequest": "true"})
        assert r.status_code == 200, r.text
        self.clock = offset_s

    def now(self):
        return time.time() + self.clock

    def browser(self, ip=None):
        s = requests.Session()
        s.headers["X-Forwarded-For"] = ip or fresh_ip()
        s.base = self.stack.url
        return s

    def web_login(self, s, login, password, secret=None, target=None):
        """Log in through /login (and the 2FA step when secret is given).
        Returns the final response (redirects followed)."""
        url = s.base + "/login"
        if target:
            url += "?redirect_url=" + urllib.parse.quote(target, safe="")
        page = s.get(url)
        assert page.status_code == 200
        r = s.post(s.base + "/login", data={
            "user": login, "password": password,
            "requesttoken": hidden(page.text, "requesttoken"),
            "redirect_url": hidden(page.text, "redirect_url")},
            allow_redirects=False)
        if r.status_code != 303:
            return r
        loc = r.headers["Location"]
        if loc.startswith("/login/2fa?") and secret is not None:
            page = s.get(s.base + loc)
            r = s.post(s.base + "/login/2fa", data={
                "code": totp(secret, self.now()),
                "requesttoken": hidden(page.text, "requesttoken"),
                "redirect_url": hidden(page.text, "redirect_url")},
                allow_redirects=False)
            assert r.status_code == 303, r.text
            loc = r.headers["Location"]
        return s.get(s.base + loc)

    def enrol(self, s, page):
        """Finish TOTP enrolment from the setup page; returns the secret."""
        secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>',
                           page.text).group(1)
        r = s.post(s.base + "/login/2fa/setup", data={
            "code": totp(secret, self.now()),
            "requesttoken": hidden(page.text, "requesttoken"),
            "redirect_url": hidden(page.text, "redirect_url")})
        assert r.status_code == 200, r.text
        assert 'id="backup-codes"' in r.text
        return secret, re.findall(r"<li><code>([a-z0-9]{10})</code></li>",
                                  r.text)


@pytest.fixture(scope="session")
def accounts(stack):
    return Accounts(stack)


def ocs_session(stack, uid, secret, ip=None):
    s = requests.Session()
    s.auth = (uid, secret)
    s.headers["OCS-APIRequest"] = "true"
    s.headers["X-Forwarded-For"] = ip or fresh_ip()
    s.base = stack.url
    return s

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 2: status.php, the OCS envelope, CSRF, capabilities, bad input,
workers, signals and migrations, against the real stack."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import BIN, ROOT, wait_for
from fcgi_client import fcgi_raw

STATUS_BODY = ('{"installed":true,"maintenance":false,"needsDbUpgrade":false,'
               '"version":"34.0.1.2","versionstring":"34.0.1","edition":"",'
               '"productname":"refx","extendedSupport":false}')
MSG_998 = ("Invalid query, please check the syntax. API specifications are "
           "here: http://www.freedesktop.org/wiki/Specifications/"
           "open-collaboration-services.\n")


def test_status_exact(stack):
    r = requests.get(stack.url + "/status.php")
    assert r.status_code == 200
    assert r.text == STATUS_BODY
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]


def test_status_head(stack):
    r = requests.head(stack.url + "/status.php")
    assert r.status_code == 200
    assert r.text == ""
    assert r.headers["Content-Length"] == str(len(STATUS_BODY))


# (path, v1 HTTP, v2 HTTP, statuscode v1, statuscode v2, message)
CASES = {
    "success": ("/cloud/capabilities", 200, 200, 100, 200, "OK"),
    "404": ("/apps/refx_testing/error/notfound", 200, 404, 404, 404,
            "test resource not found"),
    "997": ("/apps/refx_testing/error/unauth", 401, 401, 997, 997,
            "Current user is not logged in"),
    "998": ("/no/such/route", 200, 404, 998, 998, MSG_998),
    "996": ("/apps/refx_testing/error/db", 200, 500, 996, 996,
            "Internal Server Error\n"),
}


def parse(fmt, r):
    """meta dict and data of an OCS body in either format."""
    if fmt == "json":
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        body = r.json()["ocs"]
        return body["meta"], body["data"]
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert r.text.startswith('<?xml version="1.0"?>\n<ocs>\n <meta>\n')
    root = ET.fromstring(r.content)
    meta = {e.tag: (e.text or "") for e in root.find("meta")}
    meta["statuscode"] = int(meta["statuscode"])
    return meta, root.find("data")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("version", [1, 2])
def test_envelope_matrix(ocs, version, fmt, case):
    path, h1, h2, c1, c2, msg = CASES[case]
    r = ocs.get("%s/ocs/v%d.php%s" % (ocs.base, version, path),
                params={"format": fmt})
    assert r.status_code == (h1 if version == 1 else h2)
    meta, data = parse(fmt, r)
    code = c1 if version == 1 else c2
    assert meta["statuscode"] == code
    assert meta["message"] == msg
    ok = (code == 100) if version == 1 else (r.status_code == 200)
    assert meta["status"] == ("ok" if ok else "failure")
    if version == 1:
        assert meta["totalitems"] == "" and meta["itemsperpage"] == ""
        assert list(meta) == ["status", "statuscode", "message",
                              "totalitems", "itemsperpage"]
    else:
        assert list(meta) == ["status", "statuscode", "message"]
    if case != "success":
        if fmt == "json":
            assert data == []
        else:
            assert len(data) == 0 and (data.text or "") == ""


def test_error_xml_exact(ocs):
    r = ocs.get(ocs.base + "/ocs/v1.php/apps/refx_testing/error/notfound")
    assert r.text == ('<?xml version="1.0"?>\n<ocs>\n <meta>\n'
                      '  <status>failure</status>\n'
                      '  <statuscode>404</statuscode>\n'
                      '  <message>test resource not found</message>\n'
                      '  <totalitems></totalitems>\n'
                      '  <itemsperpage></itemsperpage>\n'
                      ' </meta>\n <data/>\n</ocs>\n')


def test_internal_error_detail_only_in_log(stack, ocs):
    r = ocs.get(ocs.base + "/ocs/v2.php/apps/refx_testing/error/db?format=json")
    assert r.status_code == 500
    assert "refx_no_such_table" not in r.text
    rid = r.headers["X-Request-Id"]
    assert wait_for(lambda: rid in stack.worker_logs())
    lines = [json.loads(l) for l in stack.worker_logs().splitlines()
             if rid in l]
    errors = [l for l in lines if l["level"] == "error"]
    assert len(errors) == 1
    assert "refx_no_such_table" in errors[0]["msg"]
    access = [l for l in lines if "route" in l]
    assert len(access) == 1
    assert access[0]["route"] == "/ocs/v2.php/apps/refx_testing/error/{kind}"
    assert access[0]["status"] == 500
    assert access[0]["method"] == "GET"
    assert isinstance(access[0]["dur_us"], int)


@pytest.mark.parametrize("accept,fmt", [
    ("application/json", "json"),
    ("application/xml", "xml"),
    ("text/html, application/json;q=0.9", "json"),
    ("text/html", "xml"),
    (None, "xml"),
])
def test_format_negotiation(ocs, accept, fmt):
    headers = {"Accept": accept} if accept else {}
    r = ocs.get(ocs.base + "/ocs/v2.php/cloud/capabilities", headers=headers)
    assert r.status_code == 200
    parse(fmt, r)


def test_format_param_wins_over_accept(ocs):
    r = ocs.get(ocs.base + "/ocs/v2.php/cloud/capabilities?format=xml",
                headers={"Accept": "application/json"})
    parse("xml", r)


@pytest.mark.parametrize("headers,status", [
    ({}, 412),
    ({"OCS-APIRequest": ""}, 412),
    ({"OCS-APIRequest": "true"}, 200),
    ({"OCS-APIREQUEST": "true"}, 200),
    ({"ocs-apirequest": "1"}, 200),
])
def test_csrf_gate(stack, headers, status):
    r = requests.get(stack.url + "/ocs/v2.php/cloud/capabilities?format=json",
                     headers=headers)
    assert r.status_code == status
    if status == 412:
        assert r.text == '{"message":"CSRF check failed"}'
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"


def test_csrf_on_v1_and_unknown_route_first(stack):
    # v1 also answers 412 (not an envelope); unknown routes are 998 first.
    r = requests.get(stack.url + "/ocs/v1.php/cloud/capabilities")
    assert (r.status_code, r.text) == (412, '{"message":"CSRF check failed"}')
    r = requests.get(stack.url + "/ocs/v2.php/nothing?format=json")
    assert r.status_code == 404
    assert r.json()["ocs"]["meta"]["statuscode"] == 998


def test_capabilities_content_and_etag(ocs):
    r = ocs.get(ocs.base + "/ocs/v1.php/cloud/capabilities?format=json")
    data = r.json()["ocs"]["data"]
    assert data["version"] == {"major": 34, "minor": 0, "micro": 1,
                               "string": "34.0.1", "edition": "",
                               "extendedSupport": False}
    caps = data["capabilities"]
    assert caps["core"]["pollinterval"] == 60
    assert caps["core"]["webdav-root"] == "remote.php/webdav"
    assert "bulkupload" not in json.dumps(caps)
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    r2 = ocs.get(ocs.base + "/ocs/v1.php/cloud/capabilities?format=json",
                 headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert r2.content == b""
    assert r2.headers["ETag"] == etag
    r3 = ocs.get(ocs.base + "/ocs/v1.php/cloud/capabilities?format=json",
                 headers={"If-None-Match": '"0000"'})
    assert r3.status_code == 200


def test_wrong_method_405(ocs):
    r = ocs.post(ocs.base + "/ocs/v2.php/cloud/capabilities?format=json")
    assert r.status_code == 405
    assert r.content == b""
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    r = requests.delete(ocs.base + "/status.php")
    assert r.status_code == 405


@pytest.mark.parametrize("path", ["/ocs/v2.php/a%zz", "/ocs/v2.php/a%00b",
                                  "/ocs/v2.php/%"])
def test_malformed_path_400_through_nginx(stack, path):
    # requests would re-quote the path; send the bytes as they are.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.putheader("OCS-APIRequest", "true")
    conn.endheaders()
    assert conn.getresponse().status == 400
    conn.close()


def fcgi(sock, uri, method="GET", extra=None, body=b""):
    """Drive a worker socket directly with cgi-fcgi; (status, headers, body)."""
    env = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
           "SCRIPT_NAME": uri.split("?")[0], "QUERY_STRING":
           uri.split("?", 1)[1] if "?" in uri else "",
           "CONTENT_LENGTH": str(len(body)), "REQUEST_ID": "t" * 16}
    env.update(extra or {})
    out = subprocess.run(["cgi-fcgi", "-bind", "-connect", sock], env=env,
                         input=body, capture_output=True, timeout=30).stdout
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(l.split(": ", 1) for l in lines[1:])
    return status, headers, payload


def worker_sock(stack):
    return os.path.join(stack.rt, "fcgi", "w1.sock")


@pytest.mark.parametrize("uri", [
    "/ocs/v2.php/a%zzb", "/ocs/v2.php/a%00b", "/remote.php/dav/../x",
    "/remote.php/dav/%2e%2e/x", "/status.php?x=%zz", "/ocs/v2.php/a%2",
])
def test_malformed_uri_400_in_worker(stack, uri):
    status, headers, body = fcgi(worker_sock(stack), uri)
    assert status == 400
    assert headers["Content-Type"] == "text/plain; charset=utf-8"


def test_request_body_limits_413(ocs):
    url = ocs.base + "/ocs/v2.php/apps/refx_testing/echo?format=json"
    r = ocs.post(url, data=b"x" * 1024,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200
    assert r.json()["ocs"]["data"] == {"bytes": 1024}
    r = ocs.post(url, data=b"x" * 1025,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    assert r.json()["ocs"]["meta"]["statuscode"] == 413

    def chunks():
        for _ in range(10):
            yield b"y" * 500
    r = ocs.post(url, data=chunks(),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    # a route without a body
    r = ocs.get(ocs.base + "/ocs/v2.php/cloud/capabilities", data=b"abc")
    assert r.status_code == 413


def test_body_without_content_length_in_worker(stack):
    # No CONTENT_LENGTH (nginx with request buffering off): the reader
    # stops at the end of the FastCGI stdin stream, and the limit holds.
    url = "/ocs/v2.php/apps/refx_testing/echo?format=json"
    hdr = {"HTTP_OCS_APIREQUEST": "true"}
    status, _, body = fcgi_raw(worker_sock(stack), url, "POST", hdr,
                               [b"z" * 100] * 3)
    assert status == 200
    assert json.loads(body)["ocs"]["data"] == {"bytes": 300}
    status, _, body = fcgi_raw(worker_sock(stack), url, "POST", hdr,
                               [b"z" * 500] * 3)
    assert status == 413


@pytest.mark.parametrize("size,ok", [(12000, True), (20000, False),
                                     (70000, False)])
def test_oversized_headers(stack, size, ok):
    r = requests.get(stack.url + "/status.php",
                     headers={"X-Big": "a" * size})
    if ok:
        assert r.status_code == 200
    else:
        assert r.status_code in (400, 431)
    assert requests.get(stack.url + "/status.php").status_code == 200


def test_oversized_header_in_worker(stack):
    status, _, _ = fcgi(worker_sock(stack), "/status.php",
                        extra={"HTTP_X_BIG": "b" * 20000})
    assert status == 431


def test_unknown_query_parameters_ignored(stack, ocs):
    marker = "<script>zq'--"
    r = ocs.get(ocs.base + "/ocs/v2.php/cloud/capabilities",
                params={"format": "json", "evil": marker})
    assert r.status_code == 200
    assert marker not in r.text and "zq" not in r.text
    time.sleep(0.2)
    assert "zq" not in stack.worker_logs()


def test_two_workers_alternate(stack, ocs):
    pids = set()
    for _ in range(12):
        r = ocs.get(ocs.base + "/ocs/v2.php/apps/refx_testing/worker?"
                    "format=json")
        assert r.status_code == 200
        pids.add(r.json()["ocs"]["data"]["pid"])
    assert pids == set(stack.worker_pids())


def test_request_id_and_access_log(stack):
    r = requests.get(stack.url + "/status.php")
    rid = r.headers["X-Request-Id"]
    assert wait_for(lambda: rid in stack.worker_logs())
    line = [json.loads(l) for l in stack.worker_logs().splitlines()
            if rid in l][0]
    assert line["route"] == "/status.php"
    assert line["status"] == 200
    assert line["level"] == "info"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])


class ExtraWorker:
    """A third refx-fcgi on its own socket, for tests that kill or
    misconfigure a worker without touching the shared stack."""

    def __init__(self, stack, env=None):
        self.dir = tempfile.mkdtemp(prefix="refx-w-")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "w.sock")
        e = dict(os.environ)
        e.update({"REFX_SERVER_LISTEN": self.sock, "REFX_SERVER_THREADS": "2",
                  "ASAN_OPTIONS": "detect_leaks=1:exitcode=23"})
        e.update(env or {})
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([os.path.join(BIN, "refx-fcgi"), "-c",
                                      stack.conf], env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        assert wait_for(lambda: os.path.exists(self.sock)), self.logtext()

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_sigterm_finishes_inflight_request(stack):
    w = ExtraWorker(stack)
    try:
        result = {}

        def slow():
            result["r"] = fcgi(w.sock, "/ocs/v2.php/apps/refx_testing/sleep/"
                               "1500?format=json",
                               extra={"HTTP_OCS_APIREQUEST": "true"})
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        w.proc.send_signal(signal.SIGTERM)
        t.join(timeout=20)
        status, headers, body = result["r"]
        assert status == 200
        assert json.loads(body)["ocs"]["data"] == {"slept_ms": 1500}
        assert w.proc.wait(timeout=20) == 0
        assert not os.path.exists(w.sock)
        assert "finishing in-flight requests" in w.logtext()
    finally:
        w.close()


def test_config_check_flag(stack):
    r = subprocess.run([os.path.join(BIN, "refx-fcgi"), "-n", "-c",
                        stack.conf], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout == "configuration OK: %s\n" % stack.conf
    r = subprocess.run([os.path.join(BIN, "refx-fcgi"), "-n", "-c",
                        stack.conf], capture_output=True, text=True,
                       env=dict(os.environ, REFX_SERVER_THREADS="0"))
    assert r.returncode == 1
    assert r.stderr == ('refx-fcgi: [server] threads: "0" is not an integer '
                        'between 1 and 256\n')


def make_db(stack, name):
    stack.psql("DROP DATABASE IF EXISTS %s" % name)
    stack.psql("CREATE DATABASE %s OWNER refx_owner" % name)
    stack.psql("REVOKE ALL ON SCHEMA public FROM PUBLIC; "
               "ALTER SCHEMA public OWNER TO refx_owner", db=name)


def test_migrations_idempotent_and_checksummed(stack, tmp_path):
    make_db(stack, "refx_mig")
    env = {"REFX_DATABASE_CONNINFO": stack.conninfo("refx_mig")}
    r = stack.admin("migrate", "--status", env=env)
    assert (r.returncode, r.stdout) == (3, "1 pending migration\n") or \
        r.returncode == 3
    r = stack.admin("migrate", env=env)
    assert r.returncode == 0, r.stderr
    names = sorted(os.listdir(os.path.join(ROOT, "migrations")))
    assert r.stdout == "".join("applied %s\n" % n for n in names) + \
        "created the root secret of the key hierarchy\n"
    # a new database: a random root secret (lib/keys)
    assert stack.psql("SELECT legacy FROM key_material",
                      db="refx_mig") == "f"
    r = stack.admin("migrate", env=env)
    assert (r.returncode, r.stdout) == (0, "schema is up to date\n")
    # A database from before the root secret, with keyed values in it,
    # keeps the master key as its root (so they stay valid).
    stack.psql("DELETE FROM key_material; INSERT INTO users (uid, "
               "password_hash, totp_secret) VALUES ('legacy', '!', "
               "'\\x00')", db="refx_mig")
    r = stack.admin("migrate", env=env)
    assert (r.returncode, r.stdout) == (
        0, "schema is up to date\ncreated the root secret of the key "
        "hierarchy\n")
    assert stack.psql("SELECT legacy FROM key_material",
                      db="refx_mig") == "t"
    r = stack.admin("migrate", "--status", env=env)
    assert (r.returncode, r.stdout) == (0, "0 pending migrations\n")
    rows = stack.psql("SELECT name, sha256 FROM schema_migrations ORDER BY "
                      "name", db="refx_mig").splitlines()
    assert [row.split("|")[0] for row in rows] == names

    # An applied file that changed stops the runner and names the file.
    mdir = tmp_path / "migrations"
    shutil.copytree(os.path.join(ROOT, "migrations"), mdir)
    first = mdir / names[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    env["REFX_PATHS_MIGRATIONS"] = str(mdir)
    r = stack.admin("migrate", env=env)
    assert r.returncode == 1
    assert r.stderr.startswith("refx-admin: migration %s was changed after "
                               "it was applied" % names[0])
    stack.psql("DROP DATABASE refx_mig")


def test_pending_migrations_mean_maintenance(stack):
    make_db(stack, "refx_pending")
    w = ExtraWorker(stack, env={"REFX_DATABASE_CONNINFO":
                                stack.conninfo("refx_pending", "refx_app")})
    try:
        status, headers, body = fcgi(w.sock, "/status.php")
        assert status == 200, w.logtext()
        assert json.loads(body)["needsDbUpgrade"] is True
        for v in (1, 2):
            status, headers, body = fcgi(
                w.sock, "/ocs/v%d.php/cloud/capabilities?format=json" % v,
                extra={"HTTP_OCS_APIREQUEST": "true"})
            assert status == 503
            assert headers["X-Nextcloud-Maintenance-Mode"] == "1"
            meta = json.loads(body)["ocs"]["meta"]
            assert meta["statuscode"] == 503
            assert meta["message"] == "Service unavailable"
        r = stack.admin("migrate", env={"REFX_DATABASE_CONNINFO":
                                        stack.conninfo("refx_pending")})
        assert r.returncode == 0, r.stderr
        status, _, body = fcgi(w.sock, "/status.php")
        assert json.loads(body)["needsDbUpgrade"] is False
        status, _, _ = fcgi(w.sock, "/ocs/v2.php/cloud/capabilities",
                            extra={"HTTP_OCS_APIREQUEST": "true"})
        assert status == 200
    finally:
        w.close()
        stack.psql("DROP DATABASE refx_pending")


def test_workers_clean_under_asan(stack):
    # Any sanitizer report in the shared workers' logs is a failure.
    assert "ERROR: AddressSanitizer" not in stack.worker_logs()
    assert "runtime error:" not in stack.worker_logs()


def test_workers_reconnect_after_backends_are_terminated(stack, ocs):
    # Warm every thread's connection, then kill all of refx_app's backends.
    for _ in range(16):
        assert ocs.get(ocs.base + "/ocs/v2.php/apps/refx_testing/worker"
                       ).status_code == 200
    killed = stack.psql("SELECT count(*) FROM (SELECT pg_terminate_backend"
                        "(pid) FROM pg_stat_activity WHERE usename = "
                        "'refx_app') t")
    assert int(killed) >= 1
    for _ in range(16):
        r = ocs.get(ocs.base + "/ocs/v2.php/apps/refx_testing/sleep/0"
                    "?format=json")
        assert r.status_code == 200


def test_metrics_loopback_only_and_counting(stack):
    """/metrics: Prometheus text from loopback (nginx allows 127.0.0.1 and
    the worker checks REMOTE_ADDR again); requests by route and status,
    the latency histogram, DB time, threads and RSS of that worker."""
    sock = worker_sock(stack)

    def scrape(addr):
        return fcgi_raw(sock, "/metrics", "GET", {"REMOTE_ADDR": addr}, [])

    for addr in ("10.1.2.3", "127.evil", "::2", "::ffff:10.0.0.1", ""):
        status, _, body = scrape(addr)
        assert status == 404, addr
    status, _, body = scrape("127.0.0.1")
    assert status == 200
    text = body.decode()

    def value(line_start):
        hits = [ln for ln in text.splitlines() if ln.startswith(line_start)]
        return int(float(hits[0].rsplit(" ", 1)[1])) if hits else 0
    # one more status.php through the same worker socket moves exactly
    # the counters of that route
    key = 'route="/status.php",status="200"}'
    worker = re.search(r'refx_worker_threads\{worker="(\d+)"', text).group(1)
    before = value('refx_http_requests_total{worker="%s",%s' % (worker, key))
    st, _, _ = fcgi_raw(sock, "/status.php", "GET", {}, [])
    assert st == 200
    status, _, body = scrape("::1")
    assert status == 200
    text = body.decode()
    assert value('refx_http_requests_total{worker="%s",%s'
                 % (worker, key)) == before + 1
    count = value('refx_http_request_duration_seconds_count{worker="%s",'
                  'route="/status.php"}' % worker)
    inf = value('refx_http_request_duration_seconds_bucket{worker="%s",'
                'route="/status.php",le="+Inf"}' % worker)
    assert count == inf == before + 1
    # the scrape itself is busy; a request an earlier test abandoned may
    # still be finishing on this worker under load, so ask until it is done
    busy = 'refx_worker_threads{worker="%s",state="busy"} 1' % worker
    for _ in range(50):
        if busy in text:
            break
        time.sleep(0.1)
        text = scrape("::1")[2].decode()
    assert busy in text
    assert value('refx_process_resident_memory_bytes{worker="%s"}'
                 % worker) > 1_000_000
    assert "# TYPE refx_http_request_duration_seconds histogram" in text
    # through nginx: only from loopback, which the test client is
    r = requests.get(stack.url + "/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == \
        "text/plain; version=0.0.4; charset=utf-8"

# SPDX-License-Identifier: AGPL-3.0-or-later
"""kill -9 of the workers in the middle of a write (issue 10): a 200 MB PUT
and the final MOVE of a chunked upload.  Afterwards the database holds the
whole change or none of it (no partial file, the chunks intact when the
MOVE did not finish), `refx-admin files verify` and `audit verify` pass,
and the client's retry succeeds with the exact bytes.  The workers are
started again by `stack.sh start` (systemd's Restart= in production)."""
import hashlib
import signal
import threading
import time

import requests

from conftest import fresh_ip

MB = 1024 * 1024


def kill_workers(stack):
    stack.stop_workers(signal.SIGKILL)


def restart_workers(stack):
    stack.start_workers()


def body(seed, size):
    """size bytes of deterministic data, streamed in 1 MiB pieces."""
    block = hashlib.sha256(seed).digest() * (MB // 32)
    for _ in range(size // MB):
        yield block


def digest(seed, size):
    h = hashlib.sha256()
    for b in body(seed, size):
        h.update(b)
    return h.hexdigest()


def in_background(fn):
    out = {}

    def run():
        try:
            out["r"] = fn()
        except requests.RequestException as e:
            out["e"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_kill9_during_put_and_chunked_move(stack, accounts):
    uid, pw, ap = accounts.user("k9", roles=["referrer"])
    s = requests.Session()
    s.auth = (uid, ap)
    s.headers["X-Forwarded-For"] = fresh_ip()
    dav = stack.url + "/remote.php/dav/files/%s/" % uid
    size = 200 * MB

    # a 200 MB PUT, killed while the body streams
    t, out = in_background(lambda: s.put(dav + "big.bin",
                                         data=body(b"put", size),
                                         timeout=300))
    time.sleep(1.5)
    kill_workers(stack)
    t.join(300)
    assert "e" in out or out["r"].status_code >= 500
    restart_workers(stack)
    assert s.request("PROPFIND", dav + "big.bin",
                     headers={"Depth": "0"}).status_code == 404
    r = s.put(dav + "big.bin", data=body(b"put", size), timeout=600)
    assert r.status_code == 201, r.text
    h = hashlib.sha256()
    for chunk in s.get(dav + "big.bin", stream=True,
                       timeout=600).iter_content(MB):
        h.update(chunk)
    assert h.hexdigest() == digest(b"put", size)

    # a chunked upload, killed during the final MOVE
    up = stack.url + "/remote.php/dav/uploads/%s/web-file-upload-k9" % uid
    assert s.request("MKCOL", up).status_code == 201
    for i in range(20):
        r = s.put(up + "/%05d" % (i + 1), data=b"".join(
            body(b"chunk%d" % i, 10 * MB)))
        assert r.status_code == 201
    want = hashlib.sha256(b"".join(b"".join(body(b"chunk%d" % i, 10 * MB))
                                   for i in range(20))).hexdigest()

    def move():
        return s.request("MOVE", up + "/.file", headers={
            "Destination": dav + "assembled.bin",
            "OC-Total-Length": str(size)}, timeout=300)
    t, out = in_background(move)
    time.sleep(0.5)
    kill_workers(stack)
    t.join(300)
    restart_workers(stack)
    done = "r" in out and out["r"].status_code in (201, 204)
    got = s.request("PROPFIND", dav + "assembled.bin", headers={"Depth": "0"})
    if not done:
        # none of it: no file, every chunk still there for the retry
        assert got.status_code == 404
        assert s.request("PROPFIND", up, headers={
            "Depth": "1"}).text.count("<d:response>") == 21
        r = move()
        assert r.status_code in (201, 204), r.text
    h = hashlib.sha256()
    for chunk in s.get(dav + "assembled.bin", stream=True,
                       timeout=600).iter_content(MB):
        h.update(chunk)
    assert h.hexdigest() == want
    assert accounts.admin("files", "verify").returncode == 0
    assert accounts.admin("audit", "verify").returncode == 0


def test_kill9_before_commit_of_share_withdrawal_and_erasure(stack, accounts):
    """Each of these is one transaction: killed with everything done but
    the COMMIT (testing.commit_delay_ms holds it), none of it is in the
    database; the retry does it whole."""
    from test_referrals import User, Patient, ingest
    staff = User(stack, accounts, "k9s", roles=["staff"])
    mgr = User(stack, accounts, "k9m", roles=["manager"])
    gid = accounts.clinic("k9c", email=False)
    r, _ = ingest(staff, Patient(), gid)
    rep = r.json()["ocs"]["data"]
    rid, pid = rep["id"], rep["patient"]["id"]
    k = staff.ok("POST", "/consents", data={
        "patient": pid, "links": "true", "report": rid,
        "purpose": "Zweitmeinung", "text_version": "2026-01",
        "text_sha256": "e" * 64, "channel": "paper"})
    r, _ = ingest(staff, Patient(), gid)
    victim = r.json()["ocs"]["data"]["patient"]["id"]
    staff.ok("GET", "/reports")         # credentials used once already:
    mgr.ok("GET", "/patients")          # no first-use write in the window

    def count(sql):
        return stack.psql(sql)
    ops = [
        ("link share", lambda: staff.api("POST", "/reports/%s/shares" % rid,
                                         data={"shareType": "3",
                                               "password": "Link-pw-12345"}),
         "SELECT count(*) FROM shares WHERE share_type = 3 AND "
         "report_version_id IN (SELECT id FROM report_versions WHERE "
         "report_id = %s)" % int(rid), "0", "1"),
        ("withdrawal", lambda: staff.api("POST", "/consents/%s/withdraw" %
                                         k["id"], data={"channel": "paper"}),
         "SELECT count(*) FROM consents WHERE id = %s AND withdrawn_at IS "
         "NOT NULL" % int(k["id"]), "0", "1"),
        ("erasure", lambda: mgr.api("POST", "/patients/%s/erasure" % victim,
                                    data={"reason": "Art. 17",
                                          "channel": "letter"}),
         "SELECT count(*) FROM patients WHERE id = %s AND erased_at IS NOT "
         "NULL" % int(victim), "0", "1"),
    ]
    chain = count("SELECT count(*) FROM audit_events")
    for name, op, sql, before, after in ops:
        assert count(sql) == before, name
        accounts.admin("settings", "set", "testing.commit_delay_ms", "3000")
        try:
            t, out = in_background(op)
            time.sleep(1.5)
            kill_workers(stack)
            t.join(60)
        finally:
            accounts.admin("settings", "set", "testing.commit_delay_ms", "0")
        restart_workers(stack)
        assert count(sql) == before, name      # nothing committed
        for u in (staff, mgr):      # no keep-alive connection from before
            u.s.close()             # the kill (a reset once in a clone)
        r = op()
        assert r.status_code == 200, (name, r.text)
        assert count(sql) == after, name
    assert int(count("SELECT count(*) FROM audit_events")) > int(chain)
    assert accounts.admin("audit", "verify").returncode == 0
    assert accounts.admin("files", "verify").returncode == 0

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Master key rotation (issue 10, lib/keys): `refx-admin key rotate`
re-wraps the root secret and every data key under a new master key in
batches, while clients download; an interrupted run (SIGKILL) is continued
by the next one; afterwards the old key file is gone and everything still
reads: content byte for byte, `files verify`, the app password, the public
link and the file ids clients know (their instance suffix is keyed)."""
import hashlib
import os
import re
import signal
import subprocess
import threading

import requests

from conftest import BIN, fresh_ip, wait_for

MB = 1024 * 1024
PROPFIND = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
            'xmlns:oc="http://owncloud.org/ns"><d:prop><oc:id/><oc:fileid/>'
            '</d:prop></d:propfind>')


def restart(stack, env):
    """Stop the workers and start them with env (written into refx.conf)."""
    stack.stop_workers()
    stack.start_workers(env)


def admin(stack, env, *args):
    return subprocess.run([os.path.join(BIN, "refx-admin"), "-c",
                           os.path.join(stack.var, "refx.conf")] +
                          list(args), env=env, capture_output=True,
                          text=True, timeout=300)


def status_lines(stack, env):
    r = admin(stack, env, "key", "status")
    return r.returncode, r.stdout + r.stderr


def oc_ids(s, dav):
    r = s.request("PROPFIND", dav, data=PROPFIND, headers={"Depth": "1"})
    assert r.status_code == 207
    return sorted(re.findall(r"<oc:id>([^<]+)</oc:id>", r.text))


def test_key_rotate_during_downloads(stack, accounts):
    uid, pw, ap = accounts.user("keyrot", roles=["staff"])
    s = requests.Session()
    s.auth = (uid, ap)
    s.headers["X-Forwarded-For"] = fresh_ip()
    dav = stack.url + "/remote.php/dav/files/%s/" % uid
    files = {"small.txt": b"kleiner Befund\n",
             "three.bin": hashlib.sha256(b"k").digest() * (3 * MB // 32 + 7)}
    for name, data in files.items():
        assert s.put(dav + name, data=data).status_code == 201
    r = s.post(stack.url + "/ocs/v2.php/apps/files_sharing/api/v1/shares"
               "?format=json", headers={"OCS-APIRequest": "true"},
               data={"path": "/three.bin", "shareType": 3,
                     "password": "Link-password-2"})
    assert r.status_code == 200, r.text
    token = r.json()["ocs"]["data"]["token"]
    ids_before = oc_ids(s, dav)
    assert len(ids_before) == 3

    # a new database got a random root secret, not the master key
    assert stack.psql("SELECT legacy FROM key_material") == "f"
    var = stack.var
    key, old = os.path.join(var, "master.key"), os.path.join(var,
                                                             "master.key.old")
    env = dict(stack.env)
    code, out = status_lines(stack, env)
    assert code == 0, out
    assert re.search(r"\(current\): [1-9][0-9]* data keys?, the root secret",
                     out), out
    cur_before = re.search(r"master key ([0-9a-f]{16}) \(current\)",
                           out).group(1)

    # The operator's steps (README): a new key file, the old one as
    # previous_master_key_file, workers restarted.
    os.rename(key, old)
    r = admin(stack, env, "key", "generate", key)
    assert r.returncode == 0, r.stderr
    assert os.stat(key).st_mode & 0o777 == 0o600
    r = admin(stack, env, "key", "generate", key)      # never overwritten
    assert r.returncode == 1 and "File exists" in r.stderr
    rot_env = dict(env)
    rot_env["REFX_EXTRA_CONF"] = (env.get("REFX_EXTRA_CONF", "") +
                                  "\n[security]\nprevious_master_key_file"
                                  " = %s\n" % old)
    restart(stack, rot_env)
    code, out = status_lines(stack, rot_env)
    assert code == 3, out
    assert re.search(r"%s \(previous\): [1-9][0-9]* data keys?, the root "
                     r"secret" % cur_before, out), out
    assert re.search(r"\(current\): 0 data keys\n", out), out

    # Clients download all along.
    stop, seen, bad = threading.Event(), [], []

    def downloader(name):
        c = requests.Session()
        c.auth = (uid, ap)
        c.headers["X-Forwarded-For"] = s.headers["X-Forwarded-For"]
        while not stop.is_set():
            r = c.get(dav + name)
            seen.append(name)
            if r.status_code != 200 or r.content != files[name]:
                bad.append((name, r.status_code, len(r.content)))
    threads = [threading.Thread(target=downloader, args=(n,))
               for n in files]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: len(seen) >= 2, 30)
        during = len(seen)
        # interrupted: SIGKILL after its first batch
        p = subprocess.Popen([os.path.join(BIN, "refx-admin"), "-c",
                              os.path.join(var, "refx.conf"), "key",
                              "rotate", "--batch", "1"], env=rot_env,
                             stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        assert first in ("root secret re-wrapped\n",
                         "re-wrapped 1 data keys (1 in all)\n"), first
        code, out = status_lines(stack, rot_env)
        assert code == 3, out                    # not finished
        # a bounded run stops with exit 3 and says how to go on
        r = admin(stack, rot_env, "key", "rotate", "--batch", "2",
                  "--max-batches", "1")
        assert r.returncode == 3, r.stdout + r.stderr
        assert "run it again to continue" in r.stdout
        # the rerun finishes the work
        r = admin(stack, rot_env, "key", "rotate", "--batch", "50")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.rstrip().endswith("re-wrapped now)"), r.stdout
        assert len(seen) > during        # downloads ran during the rotation
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert bad == []
    code, out = status_lines(stack, rot_env)
    assert code == 0, out
    assert re.search(r"%s \(previous\): 0 data keys\n" % cur_before, out), out
    assert "destroy %s" % old in out

    # The old key is removed from the configuration and destroyed.
    restart(stack, env)
    os.remove(old)
    for name, data in files.items():
        r = s.get(dav + name)
        assert (r.status_code, r.content) == (200, data)
    assert oc_ids(s, dav) == ids_before
    link = requests.Session()
    link.headers["X-Forwarded-For"] = fresh_ip()
    r = link.get(stack.url + "/public.php/dav/files/%s/" % token,
                 auth=("anonymous", "Link-password-2"))
    assert (r.status_code, r.content) == (200, files["three.bin"])
    r = admin(stack, env, "files", "verify")
    assert r.returncode == 0, r.stderr
    r = admin(stack, env, "audit", "verify")
    assert r.returncode == 0, r.stderr
    code, out = status_lines(stack, env)
    assert code == 0, out
    assert "(previous)" not in out and "(not configured)" not in out, out

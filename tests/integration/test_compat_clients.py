# SPDX-License-Identifier: AGPL-3.0-or-later
"""Real WebDAV clients against the real stack: litmus (basic, copymove,
props, http), the Nextcloud desktop client's nextcloudcmd (first sync with
chunked upload, local edits, server edits, an idempotent run) and rclone's
nextcloud backend (chunked copy, check, sync, moveto).  Trees are compared
by the sha256 of every file."""
import hashlib
import os
import re
import shutil
import subprocess
import time
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import fresh_ip

BIG = 60 * 1024 * 1024
DAV_NS = "{DAV:}"
# Files nextcloudcmd keeps in the sync folder for itself.
CLIENT_FILES = re.compile(r"^(\._?sync_.*|\.nextcloudsync\.log|"
                          r"\.owncloudsync\.log|\.sync-exclude\.lst)$")


def need(binary):
    """The client binary (scripts/deps.sh installs it)."""
    path = shutil.which(binary)
    assert path, "%s is not installed (scripts/deps.sh installs it)" % binary
    return path


def run(args, timeout, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def out(r, tail=6000):
    """stdout/stderr of a finished process for assertion messages."""
    return "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (
        r.returncode, r.stdout[-tail:], r.stderr[-tail:])


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def local_tree(root, mtimes=False):
    """{NFC relative path: sha256 (or (sha256, mtime_ns))} of every file,
    {NFC relative path: "dir"} of every folder, without the client's own
    files.  Fails when two local names are the same after NFC."""
    tree = {}
    for d, dirs, files in os.walk(root):
        rel_d = os.path.relpath(d, root)
        for name in dirs + files:
            if d == root and CLIENT_FILES.match(name):
                continue
            rel = os.path.normpath(os.path.join(rel_d, name))
            key = unicodedata.normalize("NFC", rel)
            assert key not in tree, "two local names for %r" % key
            p = os.path.join(d, name)
            if name in dirs:
                tree[key] = "dir"
            elif mtimes:
                tree[key] = (sha256_file(p), os.stat(p).st_mtime_ns)
            else:
                tree[key] = sha256_file(p)
    return tree


def files_only(tree):
    return {k: v for k, v in tree.items() if v != "dir"}


class Dav:
    """WebDAV access to one account's files with its app password."""

    def __init__(self, stack, uid, app_password):
        self.stack = stack
        self.uid = uid
        self.prefix = "/remote.php/dav/files/%s/" % urllib.parse.quote(uid)
        self.s = requests.Session()
        self.s.auth = (uid, app_password)
        self.s.headers["X-Forwarded-For"] = fresh_ip()

    def url(self, rel=""):
        return self.stack.url + self.prefix + urllib.parse.quote(rel)

    def propfind(self, rel="", depth="infinity"):
        """[(relative path, is_dir, etag)] of a PROPFIND; folders end in /."""
        body = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>'
                '<d:resourcetype/><d:getetag/></d:prop></d:propfind>')
        r = self.s.request("PROPFIND", self.url(rel), data=body,
                           headers={"Depth": depth,
                                    "Content-Type": "application/xml"})
        assert r.status_code == 207, (r.status_code, r.text[:2000])
        res = []
        for resp in ET.fromstring(r.content).iter(DAV_NS + "response"):
            href = urllib.parse.unquote(resp.find(DAV_NS + "href").text)
            assert href.startswith(self.prefix), href
            is_dir = etag = None
            for ps in resp.iter(DAV_NS + "propstat"):
                if "200" not in ps.find(DAV_NS + "status").text:
                    continue
                prop = ps.find(DAV_NS + "prop")
                rt = prop.find(DAV_NS + "resourcetype")
                if rt is not None:
                    is_dir = rt.find(DAV_NS + "collection") is not None
                e = prop.find(DAV_NS + "getetag")
                if e is not None:
                    etag = e.text
            res.append((href[len(self.prefix):], is_dir, etag))
        return res

    def root_etag(self):
        ((rel, is_dir, etag),) = self.propfind("", depth="0")
        assert rel == "" and is_dir and etag
        return etag

    def get(self, rel):
        return self.s.get(self.url(rel))

    def tree(self, under=""):
        """{path: sha256 or "dir"} of the server's tree below `under`,
        every file fetched with GET; paths relative to `under`."""
        tree = {}
        base = under.rstrip("/") + "/" if under else ""
        for rel, is_dir, etag in self.propfind(under):
            assert is_dir is not None and etag, rel
            assert rel.startswith(base) or rel + "/" == base, rel
            sub = rel[len(base):].rstrip("/")
            if not sub:
                continue
            assert unicodedata.is_normalized("NFC", sub), \
                "server name not NFC: %r" % sub
            if is_dir:
                tree[sub] = "dir"
            else:
                r = self.get(rel)
                assert r.status_code == 200, (rel, r.status_code, r.text)
                tree[sub] = sha256(r.content)
        return tree


def logs_since(stack, mark):
    return stack.worker_logs()[mark:]


def access_log(stack):
    p = os.path.join(stack.var, "log", "nginx-access.log")
    with open(p, errors="replace") as f:
        return f.read()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """One 60 MB random file for the module (copied where needed)."""
    p = tmp_path_factory.mktemp("big") / "big.bin"
    with open(p, "wb") as f:
        for _ in range(BIG // (4 << 20)):
            f.write(os.urandom(4 << 20))
    return str(p)


# ------------------------------------------------------------------ litmus

def test_litmus(stack, accounts, tmp_path):
    need("litmus")
    uid, pw, ap = accounts.user("litmus", roles=["referrer"])
    url = stack.url + "/remote.php/dav/files/%s/" % uid
    env = dict(os.environ, TESTS="basic copymove props http")
    mark = len(stack.worker_logs())
    r = run(["litmus", url, uid, ap], 300, cwd=str(tmp_path), env=env)
    summary = {m.group(1): tuple(map(int, m.group(2, 3, 4))) for m in
               re.finditer(r"<- summary for [`']?(\w+)'?: of (\d+) tests "
                           r"run: (\d+) passed, (\d+) failed", r.stdout)}
    msg = out(r) + "\n--- worker log\n" + logs_since(stack, mark)[-6000:]
    assert sorted(summary) == ["basic", "copymove", "http", "props"], msg
    for suite, (n, passed, failed) in summary.items():
        assert failed == 0 and passed == n, (suite, msg)
    assert r.returncode == 0, msg


# ------------------------------------------------------------ nextcloudcmd

def ncc_files():
    """{relative path: content} of the 29 small files of the sync test
    (the 60 MB file makes 30)."""
    nfd = unicodedata.normalize("NFD", "Bericht_Mu\u0308ller.txt")
    assert nfd != unicodedata.normalize("NFC", nfd)
    files = {
        "README.txt": b"refx sync test\n",
        "\u00c4rztebrief \u00fc.txt": "Ärztebrief für Frau Özdemir\n".encode(),
        "Befund #12.txt": b"hash in the name\n",
        "50% Rabatt.txt": b"percent in the name\n",
        nfd: b"name stored in NFD on disk\n",
        "leer.txt": b"",
        "Patienten/M\u00fcller, Hans/Befund 2024-01-02.txt": b"A" * 5000,
        "Patienten/M\u00fcller, Hans/R\u00f6ntgen Thorax.txt": os.urandom(70000),
        "Patienten/Stra\u00dfe & Co/Labor (neu).txt": b"lab\n" * 300,
        "Patienten/Stra\u00dfe & Co/Notiz #1 100%.txt": b"note\n",
        "Archiv/2023/Q1/a.txt": b"q1\n",
        "Archiv/2023/Q2/b c.txt": b"q2\n",
        "Archiv/2023/Q3/\u00e9t\u00e9.txt": b"q3\n",
        "Archiv/2024/tief/tiefer/am tiefsten.txt": b"deep\n",
    }
    for i in range(len(files), 29):
        files["Serie/Datei %02d \u00df.txt" % i] = os.urandom(100 + 37 * i)
    assert len(files) == 29
    return files


def nextcloudcmd(stack, home, uid, ap, local, timeout=120):
    env = dict(os.environ, HOME=str(home), LANG="C.UTF-8", LC_ALL="C.UTF-8")
    env.pop("http_proxy", None)
    env.pop("HTTP_PROXY", None)
    return run(["nextcloudcmd", "-u", uid, "-p", ap, "--non-interactive",
                str(local), stack.url], timeout, env=env)


def test_nextcloudcmd(stack, accounts, tmp_path, big_file):
    need("nextcloudcmd")
    uid, pw, ap = accounts.user("ncc", roles=["referrer"])
    dav = Dav(stack, uid, ap)
    home = tmp_path / "home"
    home.mkdir()
    local = tmp_path / "sync"
    local.mkdir()
    for rel, data in ncc_files().items():
        write(os.path.join(str(local), rel), data)
    shutil.copy(big_file, str(local / "Patienten" / "Bildgebung gro\u00df.bin"))
    os.makedirs(str(local / "Leerer Ordner"))

    def sync(what):
        mark = len(stack.worker_logs())
        t0 = time.time()
        r = nextcloudcmd(stack, home, uid, ap, local)
        assert r.returncode == 0, "%s: %s\n--- worker log\n%s" % (
            what, out(r), logs_since(stack, mark)[-6000:])
        return time.time() - t0

    def assert_same(what):
        lt, st = local_tree(str(local)), dav.tree()
        missing = sorted(set(lt) - set(st))
        extra = sorted(set(st) - set(lt))
        differ = sorted(k for k in set(lt) & set(st) if lt[k] != st[k])
        assert (missing, extra, differ) == ([], [], []), \
            "%s: local-only %r, server-only %r, different %r" % (
                what, missing, extra, differ)
        return lt

    # 1. First sync from a clean local folder: everything goes up (the
    #    60 MB file through the chunked upload API), names arrive in NFC.
    alog = len(access_log(stack))
    sync("first sync")
    first = local_tree(str(local))
    assert len(files_only(first)) == 30
    server = dav.tree()
    assert server == first
    assert "\u00c4rztebrief \u00fc.txt" in server
    assert "Bericht_M\u00fcller.txt" in server
    uploads = [l for l in access_log(stack)[alog:].splitlines()
               if "/remote.php/dav/uploads/%s/" % uid in l]
    assert any(re.search(r'"MOVE [^"]*" 20[14] ', l) for l in uploads), \
        "no chunked upload in the access log:\n" + "\n".join(uploads)
    assert sum(1 for l in uploads if '"PUT ' in l) >= 2, "\n".join(uploads)

    # 2. Local edits: two modified files, a delete, a rename.
    time.sleep(1.1)
    write(str(local / "README.txt"), b"refx sync test, edited\n")
    p = local / "Patienten" / "M\u00fcller, Hans" / "R\u00f6ntgen Thorax.txt"
    write(str(p), os.urandom(80000))
    os.remove(str(local / "Befund #12.txt"))
    os.rename(str(local / "Archiv" / "2023" / "Q2" / "b c.txt"),
              str(local / "Archiv" / "2023" / "Q2" / "umbenannt \u00e4.txt"))
    alog = len(access_log(stack))
    sync("sync after local edits")
    log = access_log(stack)[alog:]
    # The rename is a server-side MOVE, the delete a DELETE.
    assert re.search(r'"MOVE /remote\.php/dav/files/%s/Archiv/2023/Q2/'
                     r'b%%20c\.txt HTTP/1\.1" 201 ' % uid, log), log
    assert re.search(r'"DELETE /remote\.php/dav/files/%s/Befund%%20%%2312'
                     r'\.txt HTTP/1\.1" 204 ' % uid, log), log
    lt = assert_same("after local edits")
    assert "Befund #12.txt" not in lt
    assert "Archiv/2023/Q2/umbenannt \u00e4.txt" in lt
    assert dav.get("Befund #12.txt").status_code == 404
    assert dav.get("Archiv/2023/Q2/b c.txt").status_code == 404

    # 3. Server-side changes: a new file and a modified file.
    new = "Vom Server \u00f6 #1.txt"
    r = dav.s.put(dav.url(new), data="neu vom Server\n".encode())
    assert r.status_code == 201, r.text
    changed = "Patienten/Stra\u00dfe & Co/Labor (neu).txt"
    r = dav.s.put(dav.url(changed), data=b"changed on the server\n")
    assert r.status_code == 204, r.text
    sync("sync after server edits")
    lt = assert_same("after server edits")
    assert lt[new] == sha256("neu vom Server\n".encode())
    assert lt[changed] == sha256(b"changed on the server\n")

    # 4. Nothing changed: another run touches neither side.
    before = local_tree(str(local), mtimes=True)
    etag = dav.root_etag()
    alog = len(access_log(stack))
    sync("idempotent sync")
    assert local_tree(str(local), mtimes=True) == before
    assert dav.root_etag() == etag
    writes = [l for l in access_log(stack)[alog:].splitlines()
              if re.search(r'"(PUT|DELETE|MOVE|MKCOL|COPY|PROPPATCH) ', l)]
    assert writes == []


# ------------------------------------------------------------------ rclone

def rclone(conf, *args, timeout=120):
    return run(["rclone", "--config", str(conf), "--low-level-retries", "1",
                "--retries", "1"] + list(args), timeout,
               env=dict(os.environ, HOME=os.path.dirname(str(conf))))


def test_rclone(stack, accounts, tmp_path, big_file):
    need("rclone")
    uid, pw, ap = accounts.user("rcl", roles=["referrer"])
    dav = Dav(stack, uid, ap)
    r = run(["rclone", "obscure", ap], 30)
    assert r.returncode == 0, out(r)
    conf = tmp_path / "rclone.conf"
    conf.write_text("[refx]\ntype = webdav\nurl = %s/remote.php/dav/files/%s\n"
                    "vendor = nextcloud\nuser = %s\npass = %s\n" % (
                        stack.url, uid, uid, r.stdout.strip()))
    src = tmp_path / "src"
    files = {
        "Brief \u00e4.txt": "Befund für Herrn Groß\n".encode(),
        "50% #3.txt": b"percent and hash\n",
        "l\u00f6schen.txt": b"to be deleted\n",
        "verschieben.txt": os.urandom(12345),
        "Ordner A/Unter B/tief.txt": b"deep\n" * 1000,
        "Ordner A/x.bin": os.urandom(300000),
    }
    for rel, data in files.items():
        write(os.path.join(str(src), rel), data)
    shutil.copy(big_file, str(src / "Ordner A" / "gro\u00df.bin"))
    remote = "refx:Klinik"

    def ok(r, what):
        assert r.returncode == 0, "%s: %s\n--- worker log\n%s" % (
            what, out(r), stack.worker_logs()[-6000:])

    def check(what):
        r = rclone(conf, "check", "--download", str(src), remote)
        ok(r, what)
        assert "0 differences found" in r.stdout + r.stderr, out(r)

    # copy: rclone >= 1.63 sends the 60 MB file through the chunked
    # upload API in 10 MiB chunks; older versions (Debian 12 ships 1.60)
    # have no nextcloud chunking and send one 60 MB PUT.
    r = run(["rclone", "help", "backend", "webdav"], 30)
    chunking = "nextcloud_chunk_size" in r.stdout
    alog = len(access_log(stack))
    r = rclone(conf, "copy", str(src), remote)
    ok(r, "copy")
    log = access_log(stack)[alog:].splitlines()
    uploads = [l for l in log if "/remote.php/dav/uploads/%s/" % uid in l]
    if chunking:
        assert sum(1 for l in uploads if '"PUT ' in l) == 6, \
            "\n".join(uploads)
        assert any(re.search(r'"MOVE [^"]*" 20[14] ', l) for l in uploads), \
            "\n".join(uploads)
    else:
        assert uploads == []
        big = [l for l in log if re.search(
            r'"PUT [^"]*/Klinik/Ordner%20A/gro%C3%9F\.bin HTTP/1\.1" 201 ', l)]
        assert len(big) == 1, "\n".join(log)
    check("check after copy")
    assert files_only(dav.tree("Klinik")) == files_only(local_tree(str(src)))

    # sync after a local delete removes the remote file.
    os.remove(str(src / "l\u00f6schen.txt"))
    ok(rclone(conf, "sync", str(src), remote), "sync")
    assert dav.get("Klinik/l\u00f6schen.txt").status_code == 404
    assert files_only(dav.tree("Klinik")) == files_only(local_tree(str(src)))

    # moveto renames on the server.
    alog = len(access_log(stack))
    ok(rclone(conf, "moveto", remote + "/verschieben.txt",
              remote + "/Ordner A/verschoben \u00fc.txt"), "moveto")
    log = access_log(stack)[alog:]
    assert re.search(r'"MOVE /remote\.php/dav/files/%s/Klinik/'
                     r'verschieben\.txt HTTP/1\.1" 201 ' % uid, log), log
    assert dav.get("Klinik/verschieben.txt").status_code == 404
    r = dav.get("Klinik/Ordner A/verschoben \u00fc.txt")
    assert r.status_code == 200
    assert sha256(r.content) == sha256(files["verschieben.txt"])
    os.rename(str(src / "verschieben.txt"),
              str(src / "Ordner A" / "verschoben \u00fc.txt"))
    check("check after moveto")
    assert files_only(dav.tree("Klinik")) == files_only(local_tree(str(src)))

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 4: the encrypted file store and WebDAV, driven with plain HTTP
(the cases of nextcloud-api.md §5.5, tricky names, bad input)."""
import concurrent.futures
import hashlib
import os
import re
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import fresh_ip

NS = {"d": "DAV:", "oc": "http://owncloud.org/ns",
      "nc": "http://nextcloud.org/ns", "s": "http://sabredav.org/ns"}


class Dav:
    def __init__(self, stack, uid, secret):
        self.s = requests.Session()
        self.s.auth = (uid, secret)
        self.s.headers["X-Forwarded-For"] = fresh_ip()
        self.uid = uid
        self.root = "/remote.php/dav/files/%s" % uid
        self.base = stack.url + self.root

    def url(self, path):
        return self.base + "/" + "/".join(
            urllib.parse.quote(p, safe="") for p in path.split("/") if p)

    def req(self, method, path, **kw):
        return self.s.request(method, self.url(path), **kw)

    def propfind(self, path, depth="1", body=None, **kw):
        h = {"Depth": depth}
        h.update(kw.pop("headers", {}))
        return self.req("PROPFIND", path, headers=h, data=body, **kw)

    def tree(self):
        """{href: element} of a Depth infinity PROPFIND."""
        r = self.propfind("", "infinity")
        assert r.status_code == 207
        return {e.find("d:href", NS).text: e
                for e in ET.fromstring(r.content).findall("d:response", NS)}


@pytest.fixture
def dav(stack, accounts):
    uid, pw, ap = accounts.user("dav", roles=["staff"])
    return Dav(stack, uid, ap)


def prop(resp, name):
    for ps in resp.findall("d:propstat", NS):
        if ps.find("d:status", NS).text == "HTTP/1.1 200 OK":
            el = ps.find("d:prop/" + name, NS)
            if el is not None:
                return el
    return None


def test_put_get_headers(dav, stack):
    r = dav.req("PUT", "report.pdf", data=b"%PDF-1.4 test",
                headers={"X-OC-MTime": "1700000000"})
    assert r.status_code == 201
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag)
    assert r.headers["OC-ETag"] == etag
    assert re.fullmatch(r"\d{8}oc[0-9a-f]{10}", r.headers["OC-FileId"])
    assert r.headers["X-OC-MTime"] == "accepted"
    assert r.headers["X-NC-Permissions"] == "RGDNVW"
    g = dav.req("GET", "report.pdf")
    assert g.status_code == 200 and g.content == b"%PDF-1.4 test"
    assert g.headers["ETag"] == etag
    assert g.headers["Content-Type"] == "application/pdf"
    assert g.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert g.headers["Content-Disposition"] == \
        "attachment; filename*=UTF-8''report.pdf; filename=\"report.pdf\""
    sha1 = hashlib.sha1(b"%PDF-1.4 test").hexdigest()
    assert g.headers["OC-Checksum"] == "SHA1:" + sha1
    # overwrite: 204 and a new etag
    r = dav.req("PUT", "report.pdf", data=b"%PDF-1.4 v2")
    assert r.status_code == 204 and r.headers["ETag"] != etag
    h = dav.req("HEAD", "report.pdf")
    assert (h.status_code, h.content, h.headers["Content-Length"]) == \
        (200, b"", "11")
    assert dav.req("GET", "report.pdf",
                   headers={"If-None-Match": r.headers["ETag"]}
                   ).status_code == 304


def test_range_requests(dav):
    body = bytes(range(256)) * 8
    assert dav.req("PUT", "r.bin", data=body).status_code == 201
    r = dav.req("GET", "r.bin", headers={"Range": "bytes=10-19"})
    assert (r.status_code, r.content) == (206, body[10:20])
    assert r.headers["Content-Range"] == "bytes 10-19/2048"
    r = dav.req("GET", "r.bin", headers={"Range": "bytes=-5"})
    assert (r.status_code, r.content) == (206, body[-5:])
    r = dav.req("GET", "r.bin", headers={"Range": "bytes=2040-"})
    assert r.content == body[2040:]
    r = dav.req("GET", "r.bin", headers={"Range": "bytes=5000-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */2048"
    r = dav.req("GET", "r.bin", headers={"Range": "bytes=0-1,5-6"})
    assert (r.status_code, r.content) == (200, body)


def test_large_file_spans_chunks(dav, stack):
    body = os.urandom(3 * 1024 * 1024 + 12345)
    assert dav.req("PUT", "big.bin", data=body).status_code == 201
    assert dav.req("GET", "big.bin").content == body
    r = dav.req("GET", "big.bin", headers={"Range": "bytes=1048570-2097160"})
    assert r.content == body[1048570:2097161]
    # content at rest is ciphertext: no plaintext run in the chunk table
    fid = dav.propfind("big.bin", "0", headers={"Content-Type":
                                                "application/xml"})
    n = stack.psql("SELECT count(*) FROM blob_chunks k JOIN files f ON "
                   "f.blob_id = k.blob_id WHERE f.name = 'big.bin' AND "
                   "position(decode('%s', 'hex') IN k.data) > 0" %
                   body[2000000:2000032].hex())
    assert n == "0"


TRICKY = ["a#b.txt", "100%.txt", "c+d.txt", "q?.txt", "with space.txt",
          "trailing space .txt", "ümlaut Ärztebrief.txt",
          "x" * 251 + ".txt"]


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_names(dav, name):
    assert dav.req("PUT", name, data=name.encode()).status_code == 201
    assert dav.req("GET", name).content == name.encode()
    hrefs = dav.tree()
    want = dav.root + "/" + urllib.parse.quote(name, safe="")
    assert want in hrefs
    r = dav.req("MOVE", name, headers={"Destination": dav.url("m " + name
                                                              [:200])})
    assert r.status_code == 201
    assert dav.req("GET", "m " + name[:200]).content == name.encode()


def test_name_limits_and_refusals(dav):
    assert dav.req("PUT", "y" * 256, data=b"x").status_code == 400
    assert dav.req("PUT", ".htaccess", data=b"x").status_code == 400
    s = dav.s
    # invalid UTF-8, NUL, backslash, dot segments
    for raw in ("%ff%fe.txt", "a%00b.txt", "a%5Cb.txt"):
        r = s.put(dav.base + "/" + raw, data=b"x")
        assert r.status_code == 400, raw
    # dot segments, sent as they are (requests would remove them)
    import http.client
    port = int(dav.base.split(":")[2].split("/")[0])
    for raw in ("..%2Fescape.txt", "%2e%2e/x.txt", "../x", "sub/../../x",
                "%2E%2E"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("PUT", dav.root + "/" + raw, skip_accept_encoding=True)
        conn.putheader("Authorization", requests.auth._basic_auth_str(
            *dav.s.auth))
        conn.putheader("Content-Length", "1")
        conn.endheaders()
        conn.send(b"x")
        assert conn.getresponse().status in (400, 404), raw
        conn.close()
    assert [h for h in dav.tree() if "escape" in h or h.endswith("/x")] == []


def test_nfd_and_nfc_reach_one_file(dav):
    nfc = unicodedata.normalize("NFC", "Müller Befund.txt")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    assert dav.req("PUT", nfd, data=b"one").status_code == 201
    assert dav.req("PUT", nfc, data=b"two").status_code == 204
    assert dav.req("GET", nfd).content == b"two"
    hrefs = [h for h in dav.tree() if "Befund" in h]
    assert hrefs == [dav.root + "/" + urllib.parse.quote(nfc, safe="")]


def test_put_conditions_and_conflicts(dav):
    assert dav.req("PUT", "missing/x.txt", data=b"x").status_code == 409
    assert dav.s.put(dav.base.replace("/dav/files/" + dav.uid,
                                      "/webdav") + "/missing/y.txt",
                     data=b"x").status_code == 409
    r = dav.req("PUT", "c.txt", data=b"1")
    et = r.headers["ETag"]
    assert dav.req("PUT", "c.txt", data=b"2", headers={
        "If-Match": '"nope"'}).status_code == 412
    assert dav.req("PUT", "c.txt", data=b"2", headers={
        "If-None-Match": "*"}).status_code == 412
    assert dav.req("PUT", "c.txt", data=b"2", headers={
        "If-Match": et}).status_code == 204
    assert dav.req("PUT", "new.txt", data=b"2", headers={
        "If-Match": "*"}).status_code == 412
    assert dav.req("GET", "c.txt").content == b"2"
    r = dav.req("PUT", "ck.txt", data=b"abc", headers={
        "OC-Checksum": "SHA1:0000000000000000000000000000000000000000"})
    assert r.status_code == 400
    assert dav.req("GET", "ck.txt").status_code == 404
    r = dav.req("PUT", "ck.txt", data=b"abc", headers={
        "OC-Checksum": "SHA1:" + hashlib.sha1(b"abc").hexdigest()})
    assert r.status_code == 201
    assert dav.req("PUT", "m.txt", data=b"x", headers={
        "X-OC-MTime": "0x10"}).status_code == 400


def test_mkcol_delete_move_copy_statuses(dav, stack):
    assert dav.req("MKCOL", "f").status_code == 201
    assert dav.req("MKCOL", "f").status_code == 405
    assert dav.req("MKCOL", "no/parent").status_code == 409
    assert dav.req("MKCOL", "g", data=b"<x/>").status_code == 415
    assert dav.req("PUT", "f/a.txt", data=b"a").status_code == 201
    assert dav.req("MKCOL", "f/sub").status_code == 201
    assert dav.req("PUT", "f/sub/b.txt", data=b"b").status_code == 201
    r = dav.req("COPY", "f", headers={"Destination": dav.url("f2")})
    assert r.status_code == 201
    assert dav.req("GET", "f2/sub/b.txt").content == b"b"
    r = dav.req("COPY", "f/a.txt", headers={"Destination": dav.url("f2/a.txt"),
                                            "Overwrite": "F"})
    assert r.status_code == 412
    r = dav.req("COPY", "f/a.txt", headers={"Destination":
                                            dav.url("f2/a.txt")})
    assert r.status_code == 204
    # folder moves carry their subtree; moving into itself is refused
    r = dav.req("MOVE", "f", headers={"Destination": dav.url("f/sub/f")})
    assert r.status_code == 409
    r = dav.req("MOVE", "f", headers={"Destination": dav.url("moved")})
    assert r.status_code == 201
    assert dav.req("GET", "moved/sub/b.txt").content == b"b"
    assert dav.req("GET", "f/a.txt").status_code == 404
    # Destination: absolute path form, other host, outside the tree
    r = dav.req("MOVE", "moved/a.txt", headers={
        "Destination": dav.root + "/moved/a2.txt"})
    assert r.status_code == 201
    r = dav.req("MOVE", "moved/a2.txt", headers={
        "Destination": "http://other.example" + dav.root + "/x.txt"})
    assert r.status_code == 502
    r = dav.req("MOVE", "moved/a2.txt", headers={
        "Destination": stack.url + "/remote.php/dav/files/someoneelse/x"})
    assert r.status_code == 403
    assert dav.req("MOVE", "moved/a2.txt").status_code == 400
    assert dav.req("DELETE", "moved").status_code == 204
    assert dav.req("DELETE", "moved").status_code == 404
    assert dav.req("GET", "moved/sub/b.txt").status_code == 404
    err = dav.req("GET", "moved/sub/b.txt")
    root = ET.fromstring(err.content)
    assert root.tag == "{DAV:}error"
    assert root.find("s:exception", NS).text == \
        "Sabre\\DAV\\Exception\\NotFound"


def test_propfind_properties_and_depths(dav):
    dav.req("MKCOL", "p")
    dav.req("PUT", "p/x.txt", data=b"hello")
    body = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
            'xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">'
            '<d:prop><d:getetag/><d:getlastmodified/><d:getcontentlength/>'
            '<d:resourcetype/><oc:id/><oc:fileid/><oc:permissions/><oc:size/>'
            '<oc:checksums/><oc:dDC/><oc:share-types/><nc:is-encrypted/>'
            '<d:quota-available-bytes/><x:custom xmlns:x="urn:x"/>'
            '</d:prop></d:propfind>')
    r = dav.propfind("p", "1", body)
    assert r.status_code == 207
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    rs = ET.fromstring(r.content).findall("d:response", NS)
    assert [x.find("d:href", NS).text for x in rs] == [
        dav.root + "/p/", dav.root + "/p/x.txt"]
    folder, f = rs
    assert prop(folder, "oc:permissions").text == "RGDNVCK"
    assert prop(folder, "d:resourcetype/d:collection") is not None
    assert prop(folder, "oc:size").text == "5"
    assert prop(f, "oc:permissions").text == "RGDNVW"
    assert prop(f, "d:getcontentlength").text == "5"
    fid = prop(f, "oc:fileid").text
    assert prop(f, "oc:id").text.startswith("%08d" % int(fid))
    assert prop(f, "oc:checksums/oc:checksum").text == \
        "SHA1:" + hashlib.sha1(b"hello").hexdigest()
    missing = [ps for ps in f.findall("d:propstat", NS)
               if ps.find("d:status", NS).text == "HTTP/1.1 404 Not Found"]
    names = sorted(e.tag for e in missing[0].find("d:prop", NS))
    assert names == sorted(["{http://owncloud.org/ns}dDC",
                            "{http://nextcloud.org/ns}is-encrypted",
                            "{DAV:}quota-available-bytes", "{urn:x}custom"])
    assert len(dav.propfind("p", "0").content) > 0
    assert len(ET.fromstring(dav.propfind("p", "0").content)) == 1
    assert dav.propfind("p", "2").status_code == 400
    assert dav.propfind("p", "infinity").status_code == 207
    # etags and sizes propagate to the parent and root
    before = prop(ET.fromstring(dav.propfind("", "0").content)
                  .find("d:response", NS), "d:getetag").text
    dav.req("PUT", "p/x.txt", data=b"hello world")
    after = ET.fromstring(dav.propfind("", "0").content).find("d:response", NS)
    assert prop(after, "d:getetag").text != before
    r = dav.propfind("p", "0")
    assert prop(ET.fromstring(r.content).find("d:response", NS),
                "oc:size").text == "11"


def test_proppatch_mtime_favorite_and_xxe(dav):
    dav.req("PUT", "pp.txt", data=b"x")
    body = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" '
            'xmlns:oc="http://owncloud.org/ns"><d:set><d:prop>'
            '<d:lastmodified>1600000000</d:lastmodified><oc:favorite>1'
            '</oc:favorite></d:prop></d:set></d:propertyupdate>')
    r = dav.req("PROPPATCH", "pp.txt", data=body)
    assert r.status_code == 207
    q = ('<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
         '<d:prop><d:getlastmodified/><oc:favorite/></d:prop></d:propfind>')
    f = ET.fromstring(dav.propfind("pp.txt", "0", q).content).find(
        "d:response", NS)
    assert prop(f, "d:getlastmodified").text == "Sun, 13 Sep 2020 12:26:40 GMT"
    assert prop(f, "oc:favorite").text == "1"
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
           '"file:///etc/passwd">]><d:propfind xmlns:d="DAV:"><d:prop>'
           '<d:getetag>&x;</d:getetag></d:prop></d:propfind>')
    r = dav.propfind("pp.txt", "0", xxe)
    assert r.status_code == 400
    assert "root:" not in r.text
    assert dav.propfind("pp.txt", "0", "<d:propfind").status_code == 400
    big = "<a>" + "x" * (1024 * 1024 + 10) + "</a>"
    assert dav.propfind("pp.txt", "0", big).status_code == 413


def test_proppatch_oversized_value_changes_nothing(dav):
    """A dead property of more than 64 KiB is refused with 413, and the
    request's other changes (applied before it) are rolled back."""
    dav.req("PUT", "pbig.txt", data=b"x")
    q = ('<d:propfind xmlns:d="DAV:" xmlns:x="urn:x"><d:prop>'
         '<d:getlastmodified/><x:small/><x:big/></d:prop></d:propfind>')

    def state():
        return dav.propfind("pbig.txt", "0", q).text

    before = state()
    body = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" '
            'xmlns:x="urn:x"><d:set><d:prop><d:lastmodified>1600000000'
            '</d:lastmodified><x:small>s</x:small><x:big>%s</x:big>'
            '</d:prop></d:set></d:propertyupdate>' % ("b" * 65536))
    r = dav.req("PROPPATCH", "pbig.txt", data=body)
    assert r.status_code == 413
    assert ET.fromstring(r.content).find(
        "{http://sabredav.org/ns}message").text == "property value too large"
    assert state() == before
    r = dav.req("PROPPATCH", "pbig.txt", data=body.replace(
        "b" * 65536, "b" * 65000))
    assert r.status_code == 207
    assert state() != before


def test_another_users_tree_is_empty(stack, accounts, dav):
    other, opw, oap = accounts.user("other", roles=["staff"])
    o = Dav(stack, other, oap)
    o.req("PUT", "secret.txt", data=b"secret")
    r = dav.s.request("PROPFIND", stack.url + "/remote.php/dav/files/%s/" %
                      other, headers={"Depth": "1"})
    assert r.status_code == 207
    rs = ET.fromstring(r.content).findall("d:response", NS)
    assert [x.find("d:href", NS).text for x in rs] == \
        ["/remote.php/dav/files/%s/" % other]
    r = dav.s.get(stack.url + "/remote.php/dav/files/%s/secret.txt" % other)
    assert r.status_code == 404 and b"secret" not in r.content
    r = dav.s.put(stack.url + "/remote.php/dav/files/%s/x.txt" % other,
                  data=b"x")
    assert r.status_code == 403
    assert o.req("GET", "secret.txt").content == b"secret"


def test_dav_auth_challenge(stack):
    r = requests.request("PROPFIND", stack.url + "/remote.php/dav/files/x/")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == \
        'Basic realm="refx", charset="UTF-8"'
    assert ET.fromstring(r.content).find("s:exception", NS).text == \
        "Sabre\\DAV\\Exception\\NotAuthenticated"


def test_quota_507(stack, accounts):
    uid, pw, ap = accounts.user("quota", roles=["referrer"])
    accounts.admin("settings", "set", "twofactor.enforced_roles",
                   '"admin,manager,staff"')
    admin_uid, apw, aap = accounts.user("qadm", roles=["admin"])
    r = requests.put(stack.url + "/ocs/v2.php/cloud/users/%s?format=json" %
                     uid, auth=(admin_uid, aap), data={"key": "quota",
                                                       "value": "100"},
                     headers={"OCS-APIRequest": "true"})
    assert r.status_code == 200
    d = Dav(stack, uid, ap)
    assert d.req("PUT", "a.bin", data=b"x" * 60).status_code == 201
    assert d.req("PUT", "b.bin", data=b"x" * 60).status_code == 507
    assert d.req("GET", "b.bin").status_code == 404
    q = ('<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/>'
         '<d:quota-available-bytes/></d:prop></d:propfind>')
    f = ET.fromstring(d.propfind("", "0", q).content).find("d:response", NS)
    assert prop(f, "d:quota-used-bytes").text == "60"
    assert prop(f, "d:quota-available-bytes").text == "40"


def test_chunked_upload_counts_against_quota(stack, accounts):
    """Chunks were stored without any quota check and counted nowhere: an
    account could fill the server's disk with chunks it never assembled
    (MKCOL, PUT, PUT, ... and no MOVE).  Chunks not yet assembled now
    count against the quota (a chunk sent again only once), 507 like a
    PUT; the assembling MOVE checks before it writes the file."""
    uid, pw, ap = accounts.user("cquota", roles=["referrer"])
    admin_uid, apw, aap = accounts.user("cqadm", roles=["admin"])
    r = requests.put(stack.url + "/ocs/v2.php/cloud/users/%s?format=json" %
                     uid, auth=(admin_uid, aap), data={"key": "quota",
                                                       "value": "100"},
                     headers={"OCS-APIRequest": "true"})
    assert r.status_code == 200
    d = Dav(stack, uid, ap)
    up = stack.url + "/remote.php/dav/uploads/%s/" % uid
    assert d.req("PUT", "a.bin", data=b"a" * 30).status_code == 201
    assert d.s.request("MKCOL", up + "u1").status_code == 201
    assert d.s.put(up + "u1/1", data=b"1" * 40).status_code == 201
    r = d.s.put(up + "u1/2", data=b"2" * 40)
    assert r.status_code == 507 and "Insufficient space" in r.text
    # without Content-Length: checked once the body is in
    r = d.s.put(up + "u1/2", data=iter([b"2" * 20, b"2" * 20]))
    assert r.status_code == 507
    assert d.s.put(up + "u1/2", data=b"2" * 30).status_code == 201
    # a chunk sent again replaces the first (it was a 409: the INSERT
    # did not see the old row deleted in its own WITH)
    assert d.s.put(up + "u1/1", data=b"3" * 40).status_code == 204
    assert d.s.request("MKCOL", up + "u2").status_code == 201
    assert d.s.put(up + "u2/1", data=b"x").status_code == 507
    assert stack.psql("SELECT count(*) FROM upload_chunks c JOIN uploads u "
                      "ON u.id = c.upload_id JOIN users s ON s.id = "
                      "u.owner_id WHERE s.uid = '%s'" % uid) == "2"
    # a plain PUT meanwhile: the assembled file no longer fits
    assert d.req("PUT", "b.bin", data=b"b" * 20).status_code == 201
    r = d.s.request("MOVE", up + "u1/.file",
                    headers={"Destination": d.url("c.bin")})
    assert r.status_code == 507
    assert d.req("GET", "c.bin").status_code == 404
    assert d.req("DELETE", "b.bin").status_code == 204
    r = d.s.request("MOVE", up + "u1/.file",
                    headers={"Destination": d.url("c.bin")})
    assert r.status_code == 201
    assert d.req("GET", "c.bin").content == b"3" * 40 + b"2" * 30
    assert d.s.put(up + "u2/1", data=b"x").status_code == 507


def test_copy_counts_against_quota(stack, accounts):
    """A COPY adds its bytes to the owner's files like a PUT does; before,
    COPY never looked at the quota and one 60-byte file could be copied
    past a 100-byte quota.  A replaced target gives its bytes back first."""
    uid, pw, ap = accounts.user("cquota", roles=["referrer"])
    stack.psql("UPDATE users SET quota_bytes = 100 WHERE uid = '%s'" % uid)
    d = Dav(stack, uid, ap)
    dest = stack.url + "/remote.php/dav/files/%s/" % uid
    assert d.req("MKCOL", "F").status_code == 201
    assert d.req("PUT", "F/a.bin", data=b"x" * 60).status_code == 201
    r = d.req("COPY", "F/a.bin", headers={"Destination": dest + "b.bin"})
    assert r.status_code == 507
    assert ET.fromstring(r.content).find("s:exception", NS).text == \
        "Sabre\\DAV\\Exception\\InsufficientStorage"
    r = d.req("COPY", "F", headers={"Destination": dest + "G"})
    assert r.status_code == 507
    assert d.req("GET", "b.bin").status_code == 404
    assert d.req("PROPFIND", "G", headers={"Depth": "0"}).status_code == 404
    assert d.req("PUT", "small.bin", data=b"y" * 10).status_code == 201
    r = d.req("COPY", "small.bin", headers={"Destination": dest + "F/a.bin"})
    assert r.status_code == 204
    assert d.req("GET", "F/a.bin").content == b"y" * 10
    r = d.req("COPY", "F", headers={"Destination": dest + "G"})
    assert r.status_code == 201
    q = ('<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/>'
         '</d:prop></d:propfind>')
    f = ET.fromstring(d.propfind("", "0", q).content).find("d:response", NS)
    assert prop(f, "d:quota-used-bytes").text == "30"
    # replacing a folder by something inside it would delete the source
    for m in ("COPY", "MOVE"):
        r = d.req(m, "F/a.bin", headers={"Destination": dest + "F",
                                         "Overwrite": "T"})
        assert (m, r.status_code) == (m, 409)
        assert d.req("GET", "F/a.bin").content == b"y" * 10
    # over a lowered quota, what adds nothing still works (as MKCOL)
    stack.psql("UPDATE users SET quota_bytes = 20 WHERE uid = '%s'" % uid)
    assert d.req("MKCOL", "E").status_code == 201
    assert d.req("COPY", "E", headers={"Destination": dest + "E2"}) \
        .status_code == 201
    assert d.req("PUT", "empty.txt", data=b"").status_code == 201
    assert d.req("PUT", "one.txt", data=b"1").status_code == 507


def test_parallel_puts_cannot_overrun_the_quota(stack, accounts):
    """The quota was checked before the upload and not again under the
    tree's lock: parallel PUTs each saw room for themselves and together
    went over it.  Now exactly as many fit as there is room for."""
    uid, pw, ap = accounts.user("pquota", roles=["referrer"])
    stack.psql("UPDATE users SET quota_bytes = 100 WHERE uid = '%s'" % uid)
    d = Dav(stack, uid, ap)

    def put(i):
        s = requests.Session()
        s.auth = d.s.auth
        return s.put(d.url("p%d.bin" % i), data=b"p" * 30).status_code
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = sorted(ex.map(put, range(8)))
    assert codes == [201] * 3 + [507] * 5
    assert stack.psql("SELECT f.size FROM files f JOIN users u ON u.id = "
                      "f.owner_id WHERE u.uid = '%s' AND f.parent_id IS "
                      "NULL" % uid) == "90"


def folder_sizes_add_up(stack, uid):
    """Folders of uid whose size is not the sum of their children."""
    return stack.psql(
        "SELECT string_agg(p.id || ':' || p.name, ',') FROM files p JOIN "
        "users u ON u.id = p.owner_id WHERE u.uid = '%s' AND p.is_dir AND "
        "p.size <> (SELECT coalesce(sum(k.size), 0) FROM files k WHERE "
        "k.parent_id = p.id)" % uid)


def test_copies_and_moves_while_the_source_changes(dav, stack):
    """COPY and MOVE used the source's size as resolved before the trees'
    locks: an upload into the source folder committing in between left the
    copy's and the root's sizes wrong for good.  They now read the source
    again under the locks of both trees."""
    assert dav.req("MKCOL", "S").status_code == 201
    dest = dav.base + "/"

    def puts(t):
        s = requests.Session()
        s.auth = dav.s.auth
        return [s.put(dav.url("S/t%d-%d.bin" % (t, i)),
                      data=b"s" * (i + 1)).status_code for i in range(15)]

    def copies(t):
        s = requests.Session()
        s.auth = dav.s.auth
        out = []
        for i in range(8):
            out.append(s.request("COPY", dav.url("S"), headers={
                "Destination": dest + "C%d-%d" % (t, i)}).status_code)
            out.append(s.request("MOVE", dav.url("C%d-%d" % (t, i)),
                                 headers={"Destination": dest + "M%d-%d" %
                                          (t, i)}).status_code)
        return out
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        p = [ex.submit(puts, t) for t in range(2)]
        c = [ex.submit(copies, t) for t in range(2)]
        assert sorted({x for f in p for x in f.result()}) == [201]
        assert sorted({x for f in c for x in f.result()}) == [201]
    assert folder_sizes_add_up(stack, dav.uid) == ""


def test_proppatch_while_the_file_comes_and_goes(dav, stack):
    """PROPPATCH stored a dead property (a row that references the file)
    before it took the tree's lock for lastmodified; a DELETE holding the
    tree's lock and waiting for that row deadlocked against it.  PROPPATCH
    now takes the tree's lock first."""
    body = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" '
            'xmlns:x="urn:x"><d:set><d:prop><x:tag>t</x:tag>'
            '<d:lastmodified>Tue, 01 Dec 2026 10:00:00 GMT</d:lastmodified>'
            '</d:prop></d:set></d:propertyupdate>')

    def churn(_):
        s = requests.Session()
        s.auth = dav.s.auth
        out = []
        for i in range(25):
            out.append(s.put(dav.url("x.txt"), data=b"x").status_code)
            out.append(s.delete(dav.url("x.txt")).status_code)
        return out

    def patch(_):
        s = requests.Session()
        s.auth = dav.s.auth
        out = []
        for _ in range(50):
            r = s.request("PROPPATCH", dav.url("x.txt"), data=body)
            out.append(r.status_code)
        return out
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        fs = [ex.submit(churn, 0), ex.submit(churn, 1),
              ex.submit(patch, 0), ex.submit(patch, 1)]
        codes = {x for f in fs for x in f.result()}
    assert codes <= {201, 204, 207, 404}, (codes, [
        line for line in stack.worker_logs().splitlines()
        if '"level":"error"' in line][-3:])


def test_first_requests_of_a_new_account(stack, accounts):
    """A sync client's first parallel requests of a new account: the
    file tree's root was created on first use inside a request, and the
    requests racing for it deadlocked (a 500 from PostgreSQL's detector).
    The root now comes with the account (migrations/0011)."""
    for _ in range(3):
        uid, pw, ap = accounts.user("fresh", roles=["referrer"])
        d = Dav(stack, uid, ap)

        def put(i):
            s = requests.Session()
            s.auth = d.s.auth
            return s.put(d.url("f%d.txt" % i), data=b"f" * i).status_code
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            assert sorted(ex.map(put, range(6))) == [201] * 6
        assert folder_sizes_add_up(stack, uid) == ""


def test_chunked_upload_v1(dav, stack):
    up = stack.url + "/remote.php/dav/uploads/%s/web-file-upload-1" % dav.uid
    parts = [os.urandom(700000) for _ in range(3)]
    assert dav.s.request("MKCOL", up).status_code == 201
    # arbitrary names, natural sort order: 2 before 10
    for name, data in (("10", parts[2]), ("2", parts[1]), ("1", parts[0])):
        assert dav.s.put(up + "/" + name, data=data).status_code == 201
    total = sum(len(p) for p in parts)
    r = dav.s.request("MOVE", up + "/.file", headers={
        "Destination": dav.url("assembled.bin"),
        "OC-Total-Length": str(total + 1)})
    assert r.status_code == 400
    assert r.text.count("Chunks on server do not sum up to %d but to %d "
                        "bytes" % (total + 1, total)) == 1
    assert dav.req("GET", "assembled.bin").status_code == 404
    r = dav.s.request("MOVE", up + "/.file", headers={
        "Destination": dav.url("assembled.bin"),
        "OC-Total-Length": str(total), "X-OC-MTime": "1700000000"})
    assert r.status_code == 201
    assert r.headers["X-OC-MTime"] == "accepted"
    assert re.fullmatch(r"\d{8}oc[0-9a-f]{10}", r.headers["OC-FileId"])
    assert dav.req("GET", "assembled.bin").content == b"".join(parts)
    assert dav.s.request("PROPFIND", up).status_code == 404
    # onto an existing folder: refused, the folder is intact
    dav.req("MKCOL", "afolder")
    dav.req("PUT", "afolder/keep.txt", data=b"keep")
    assert dav.s.request("MKCOL", up).status_code == 201
    dav.s.put(up + "/1", data=b"xx")
    r = dav.s.request("MOVE", up + "/.file", headers={
        "Destination": dav.url("afolder")})
    assert r.status_code == 400
    assert dav.req("GET", "afolder/keep.txt").content == b"keep"
    assert dav.s.delete(up).status_code == 204
    assert dav.s.request("PROPFIND", up).status_code == 404
    # someone else's upload folder
    assert dav.s.request("MKCOL", stack.url + "/remote.php/dav/uploads/"
                         "someone/x").status_code == 403


def test_concurrent_puts_in_one_tree(dav, stack):
    """A sync client uploads several files at once; every PUT updates the
    etag and size of all folders above it.  Two uploads whose folders share
    ancestors locked them row by row and could deadlock (the nextcloudcmd
    test saw a 500 with 'deadlock detected'); propagations into one tree
    now take turns.  Every PUT succeeds and the folder sizes add up."""
    folders = ["", "a", "a/b", "a/b/c", "a/b/c/d", "s1", "s2", "a/s3"]
    for f in folders[1:]:
        assert dav.req("MKCOL", f).status_code == 201

    def worker(t):
        s = requests.Session()
        s.auth = dav.s.auth
        s.headers.update(dav.s.headers)
        out = []
        for i in range(12):
            f = folders[(t * 5 + i * 3) % len(folders)]
            path = (f + "/" if f else "") + "t%02d-%02d.txt" % (t, i)
            data = b"x" * (t * 100 + i + 1)
            r = s.put(dav.url(path), data=data)
            out.append((r.status_code, len(data), f))
        return out

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = [x for r in ex.map(worker, range(16)) for x in r]
    assert sorted({st for st, _, _ in results}) == [201], [
        line for line in stack.worker_logs().splitlines()
        if '"level":"error"' in line][-3:]
    assert len(results) == 192
    body = ('<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
            'xmlns:oc="http://owncloud.org/ns"><d:prop><oc:size/>'
            '</d:prop></d:propfind>')
    for f in folders:
        want = sum(n for _, n, g in results if g == f or g.startswith(
            f + "/") or f == "")
        r = dav.propfind(f, "0", body)
        assert r.status_code == 207
        got = prop(ET.fromstring(r.content).find("d:response", NS),
                   "oc:size").text
        assert (f, got) == (f, str(want))


def test_patch_recalculate_hash(dav):
    dav.req("PUT", "h.txt", data=b"hash me",
            headers={"OC-Checksum": "MD5:" + hashlib.md5(b"hash me")
                     .hexdigest()})
    r = dav.req("PATCH", "h.txt", headers={"X-Recalculate-Hash": "sha1"})
    assert r.status_code == 204
    assert r.headers["OC-Checksum"] == \
        "SHA1:" + hashlib.sha1(b"hash me").hexdigest()
    g = dav.req("GET", "h.txt")
    assert g.headers["OC-Checksum"] == r.headers["OC-Checksum"]


def test_audit_and_store_verify(dav, stack, accounts):
    dav.req("PUT", "aud.txt", data=b"a")
    dav.req("GET", "aud.txt")
    dav.req("DELETE", "aud.txt")
    uid = stack.psql("SELECT id FROM users WHERE uid = '%s'" % dav.uid)
    acts = stack.psql("SELECT string_agg(action, ',' ORDER BY id) FROM "
                      "audit_events WHERE actor_user_id = %s AND action LIKE "
                      "'file.%%'" % uid)
    assert acts == "file.create,file.download,file.delete"
    r = accounts.admin("files", "verify")
    assert re.fullmatch(r"file store intact: \d+ blobs checked\n", r.stdout)


def test_store_verify_detects_damage(dav, stack, accounts):
    dav.req("PUT", "dmg.txt", data=b"damage me")
    bid = stack.psql("SELECT blob_id FROM files f WHERE f.name = 'dmg.txt' "
                     "AND owner_id = (SELECT id FROM users WHERE uid = '%s')"
                     % dav.uid)
    old = stack.psql("SELECT encode(data, 'hex') FROM blob_chunks WHERE "
                     "blob_id = %s" % bid)
    stack.psql("UPDATE blob_chunks SET data = set_byte(data, 20, "
               "get_byte(data, 20) # 1) WHERE blob_id = %s" % bid)
    try:
        r = accounts.admin("files", "verify", ok=False)
        assert r.returncode == 1
        assert "blob %s chunk 0 does not authenticate" % bid in r.stderr
        assert dav.req("GET", "dmg.txt").status_code in (200, 500)
    finally:
        stack.psql("UPDATE blob_chunks SET data = decode('%s', 'hex') WHERE "
                   "blob_id = %s" % (old, bid))
    assert accounts.admin("files", "verify").returncode == 0

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 5: the files_sharing API, group shares to clinics, links with
passwords and expiry, public WebDAV, access at request time."""
import calendar
import concurrent.futures
import json
import re
import time
import urllib.parse

import pytest
import requests

from conftest import fresh_ip, hidden

API = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
FIELDS = ["id", "share_type", "uid_owner", "displayname_owner", "permissions",
          "can_edit", "can_delete", "stime", "parent", "expiration", "token",
          "uid_file_owner", "note", "label", "displayname_file_owner", "path",
          "item_type", "item_permissions", "is-mount-root", "mount-type",
          "mimetype", "has_preview", "storage_id", "storage", "item_source",
          "file_source", "file_parent", "file_target", "item_size",
          "item_mtime"]


class User:
    def __init__(self, stack, accounts, prefix, roles=(), groups=()):
        self.stack = stack
        self.uid, self.pw, self.ap = accounts.user(prefix, roles=roles,
                                                   groups=groups)
        self.s = requests.Session()
        self.s.auth = (self.uid, self.ap)
        self.s.headers["OCS-APIRequest"] = "true"
        self.s.headers["X-Forwarded-For"] = fresh_ip()

    def dav(self, method, path, **kw):
        return self.s.request(method, self.stack.url + "/remote.php/dav/files/"
                              + self.uid + "/" + urllib.parse.quote(path),
                              **kw)

    def ocs(self, method, path="", v=2, **kw):
        return self.s.request(method, self.stack.url +
                              "/ocs/v%d.php/apps/files_sharing/api/v1/shares"
                              % v + path, params={"format": "json"}, **kw)

    def share(self, **form):
        r = self.ocs("POST", data=form)
        return r, r.json()["ocs"]


def at(accounts, utc):
    """Move every worker's clock to a UTC instant 'YYYY-MM-DD HH:MM:SS'."""
    target = calendar.timegm(time.strptime(utc, "%Y-%m-%d %H:%M:%S"))
    accounts.set_clock(int(target - time.time()))


@pytest.fixture
def clock(accounts):
    yield accounts
    accounts.set_clock(0)


@pytest.fixture
def staff(stack, accounts):
    u = User(stack, accounts, "stf", roles=["staff"])
    u.dav("MKCOL", "Reports")
    assert u.dav("PUT", "Reports/report.pdf", data=b"%PDF-1.4 report").\
        status_code == 201
    u.dav("MKCOL", "Reports/folder")
    return u


@pytest.fixture
def clinic(stack, accounts):
    gid = accounts.clinic("kl")
    members = [User(stack, accounts, "m", groups=[gid]) for _ in range(2)]
    return gid, members


def link(staff, **extra):
    form = {"path": "/Reports/report.pdf", "shareType": "3",
            "password": "Link-password-1"}
    form.update(extra)
    r, o = staff.share(**form)
    assert r.status_code == 200, o
    return o["data"]


def public_get(stack, token, pw="Link-password-1"):
    """GET through public WebDAV with the password as Basic credentials:
    an unknown, expired, revoked or used-up link is then a 401, like a
    wrong password (Nextcloud 34, PublicAuth), the same for all four."""
    return requests.get(stack.url + "/public.php/dav/files/%s/" % token,
                        auth=("anonymous", pw),
                        headers={"X-Forwarded-For": fresh_ip()})


# ------------------------------------------------------------ done-when

def test_group_share_link_and_listing(stack, staff, clinic, clock):
    gid, (m1, m2) = clinic
    r, o = staff.share(path="/Reports/report.pdf", shareType="1",
                       shareWith=gid, permissions="1")
    assert r.status_code == 200
    g = o["data"]
    assert (g["share_type"], g["permissions"], g["share_with"]) == (1, 1, gid)
    assert g["item_permissions"] == 27 and g["mail_send"] == 1
    # a clinic member reads it over WebDAV, mounted in their root
    r = m1.dav("GET", "report.pdf")
    assert (r.status_code, r.content) == (200, b"%PDF-1.4 report")
    r = m1.dav("PROPFIND", "", headers={"Depth": "1"})
    assert "<oc:permissions>SGDNV</oc:permissions>" in r.text
    # a link with password, expiring today
    at(clock, "2026-06-10 10:00:00")
    l = link(staff, expireDate="2026-06-10")
    assert l["expiration"] == "2026-06-10 23:59:59"
    assert len(l["token"]) == 24 and l["url"] == stack.url + "/s/" + \
        l["token"]
    assert (l["password"], l["share_with"]) == ("redacted", "redacted")
    assert public_get(stack, l["token"]).content == b"%PDF-1.4 report"
    at(clock, "2026-06-10 21:59:00")   # 23:59 in Berlin (CEST)
    assert public_get(stack, l["token"]).status_code == 200
    at(clock, "2026-06-10 22:00:30")   # past midnight in Berlin
    assert public_get(stack, l["token"]).status_code == 401
    clock.set_clock(0)
    # the client's listing: every §3.9 field with its type
    r = staff.ocs("GET")
    lst = r.json()["ocs"]["data"]
    mine = [x for x in lst if x["id"] == g["id"]]
    assert len(mine) == 1
    for x in mine:
        assert list(x)[:len(FIELDS)] == FIELDS
        assert isinstance(x["id"], str) and isinstance(x["stime"], int)
        assert x["attributes"] is None and x["hide_download"] == 0
        assert x["mail_send"] == 0
    g2 = staff.ocs("GET", "/%s" % g["id"]).json()["ocs"]["data"]
    assert isinstance(g2, list) and len(g2) == 1 and g2[0]["id"] == g["id"]


def test_shared_with_me_and_recipient_rules(stack, staff, clinic):
    gid, (m1, m2) = clinic
    r, o = staff.share(path="/Reports/report.pdf", shareType="1",
                       shareWith=gid)
    sid = o["data"]["id"]
    mine = m1.ocs("GET", params=None) if False else None
    r = m1.s.get(stack.url + API, params={"format": "json",
                                          "shared_with_me": "true"})
    d = [x for x in r.json()["ocs"]["data"] if x["id"] == sid]
    assert len(d) == 1
    x = d[0]
    assert (x["path"], x["is-mount-root"], x["mount-type"],
            x["can_edit"], x["item_permissions"]) == \
        ("/report.pdf", True, "shared", False, 27 | 8 if False else
         x["permissions"] | 8)
    assert x["storage_id"] == "shared::/report.pdf"
    r = m1.ocs("GET", "/" + sid)
    assert r.status_code == 200
    r = m1.ocs("PUT", "/" + sid, data={"note": "x"})
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (403, "You are not allowed to edit incoming shares")
    r = staff.ocs("PUT", "/" + sid, data={})
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (400, "Wrong or no update parameter given")
    # duplicate group share: the existing one comes back
    r, o = staff.share(path="/Reports/report.pdf", shareType="1",
                       shareWith=gid)
    assert (r.status_code, o["data"]["id"]) == (200, sid)


def test_create_failure_matrix(stack, staff, accounts):
    other = User(stack, accounts, "oth", roles=["staff"])
    other.dav("PUT", "theirs.pdf", data=b"x")
    cases = [
        ({"path": "/Reports/report.pdf", "shareType": "2",
          "shareWith": "x"}, 400, 400, "Unknown share type"),
        ({"path": "/Reports/report.pdf", "shareType": "4",
          "shareWith": "a@b.c"}, 403, 403, None),
        ({"shareType": "3"}, 404, 404,
         "Please specify a file or folder path"),
        ({"path": "/nope.pdf", "shareType": "3"}, 404, 404,
         "Wrong path, file/folder does not exist"),
        ({"path": "/theirs.pdf", "shareType": "3"}, 404, 404,
         "Wrong path, file/folder does not exist"),
        ({"path": "/../%s/theirs.pdf" % other.uid, "shareType": "3"}, 404,
         404, "Wrong path, file/folder does not exist"),
        ({"path": "/Reports/report.pdf", "shareType": "0",
          "shareWith": "nobody-here"}, 404, 404,
         "Please specify a valid account to share with"),
        ({"path": "/Reports/report.pdf", "shareType": "0",
          "shareWith": staff.uid}, 403, 403, "Cannot share with yourself"),
        ({"path": "/Reports/report.pdf", "shareType": "1",
          "shareWith": "no-group"}, 404, 404, "Please specify a valid group"),
        ({"path": "/Reports/report.pdf", "shareType": "3"}, 403, 403,
         "Passwords are enforced for link and mail shares"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "short"}, 400, 400,
         "Password needs to be at least 10 characters long"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "Link-password-1", "label": "x" * 256}, 400, 400,
         "Maximum label length is 255"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "Link-password-1", "attributes": "{bad"}, 400, 400,
         'Invalid share attributes provided: "{bad"'),
        ({"path": "/Reports/report.pdf", "shareType": "0",
          "shareWith": other.uid, "permissions": "32"}, 400, 400,
         "Invalid permissions"),
        ({"path": "/Reports/report.pdf", "shareType": "0",
          "shareWith": other.uid, "permissions": "-1"}, 400, 400,
         "Invalid permissions"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "Link-password-1", "permissions": "0"}, 400, 400,
         "Share must at least have READ or CREATE permissions"),
        ({"path": "/Reports/folder", "shareType": "3",
          "password": "Link-password-1", "permissions": "4"}, 403, 403,
         "Public upload disabled by the administrator"),
        ({"path": "/", "shareType": "3", "password": "Link-password-1"},
         403, 403, "You cannot share your root folder"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "Link-password-1", "expireDate": "2000-01-01"},
         404, 404, "Expiration date is in the past"),
        ({"path": "/Reports/report.pdf", "shareType": "3",
          "password": "Link-password-1", "expireDate": "tomorrowish"},
         404, 404, "Invalid date. Format must be YYYY-MM-DD"),
    ]
    for form, h2, code, msg in cases:
        for v in (2, 1):
            r = staff.ocs("POST", v=v, data=form)
            meta = r.json()["ocs"]["meta"]
            assert meta["statuscode"] == code, (form, meta)
            assert r.status_code == (h2 if v == 2 else 200), form
            if msg:
                assert meta["message"] == msg


def test_permission_rules(stack, staff, accounts, clock):
    other = User(stack, accounts, "rcp", roles=["staff"])
    r, o = staff.share(path="/Reports/report.pdf", shareType="0",
                       shareWith=other.uid, permissions="31")
    assert o["data"]["permissions"] == 19     # file: no CREATE/DELETE
    r, o = staff.share(path="/Reports/folder", shareType="0",
                       shareWith=other.uid, permissions="0")
    assert o["data"]["permissions"] == 1      # READ forced
    l = link(staff)
    assert l["permissions"] == 17
    accounts.admin("settings", "set", "sharing.link.upload_allowed", "1")
    try:
        r, o = staff.share(path="/Reports/folder", shareType="3",
                           password="Link-password-1", publicUpload="true")
        assert o["data"]["permissions"] == 31
        r, o = staff.share(path="/Reports/folder", shareType="3",
                           password="Link-password-1", permissions="4")
        drop = o["data"]
        assert drop["permissions"] == 4
        pub = stack.url + "/public.php/dav/files/%s/" % drop["token"]
        a = ("anonymous", "Link-password-1")
        assert requests.put(pub + "in.pdf", data=b"up", auth=a).\
            status_code == 201
        r = requests.request("PROPFIND", pub, auth=a)
        assert r.status_code == 405
        assert staff.dav("GET", "Reports/folder/in.pdf").content == b"up"
    finally:
        accounts.admin("settings", "set", "sharing.link.upload_allowed", "0")
    # resharing never grants more than the resharer has
    staff.dav("MKCOL", "Reports/folder2")
    r, o = staff.share(path="/Reports/folder2", shareType="0",
                       shareWith=other.uid, permissions="17")
    assert o["data"]["permissions"] == 17
    r, o = other.share(path="/folder2", shareType="3",
                       password="Link-password-1", permissions="1")
    assert r.status_code == 200 and o["data"]["permissions"] == 17
    r, o = other.share(path="/folder2", shareType="0", shareWith=staff.uid,
                       permissions="3")
    assert (r.status_code, o["meta"]["message"]) == \
        (404, "Cannot increase permissions of folder2")
    # without the SHARE bit there is nothing to reshare
    r, o = other.share(path="/folder", shareType="3",
                       password="Link-password-1")
    assert (r.status_code, o["meta"]["message"]) == \
        (404, "You are not allowed to share folder")


def test_expiry_policy_defaults_and_max(stack, staff, clock):
    at(clock, "2026-01-15 09:00:00")
    l = link(staff)
    assert l["expiration"] == "2026-01-22 23:59:59"       # default 7 days
    l = link(staff, expireDate="")
    assert l["expiration"] == "2026-01-22 23:59:59"       # enforced
    r, o = staff.share(path="/Reports/report.pdf", shareType="3",
                       password="Link-password-1", expireDate="2026-02-15")
    assert (r.status_code, o["meta"]["message"]) == \
        (404, "Cannot set expiration date more than 30 days in the future")
    l = link(staff, expireDate="2026-02-14")
    sid = l["id"]
    # removing or breaking the date on update
    r = staff.ocs("PUT", "/" + sid, data={"expireDate": ""})
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (400, "Failed to update share.")
    r = staff.ocs("PUT", "/" + sid, data={"expireDate": "2026-13-01"})
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (400, "Invalid date. Format must be YYYY-MM-DD")
    # the maximum counts from creation, not from today
    at(clock, "2026-02-04 09:00:00")
    r = staff.ocs("PUT", "/" + sid, data={"expireDate": "2026-02-15"})
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (404, "Cannot set expiration date more than 30 days in the future")
    r = staff.ocs("PUT", "/" + sid, data={"expireDate": "2026-02-10"})
    assert r.json()["ocs"]["data"]["expiration"] == "2026-02-10 23:59:59"
    # internal shares: default 90 days
    at(clock, "2026-01-15 09:00:00")
    r, o = staff.share(path="/Reports/folder", shareType="1",
                       shareWith=stack.psql("SELECT gid FROM groups WHERE "
                                            "kind = 'referrer' LIMIT 1"))
    assert o["data"]["expiration"] == "2026-04-15 23:59:59"


EXPIRY = [
    # (zone of the caller, clock UTC, expireDate, accepted?, still valid at,
    #  gone at)
    ("Europe/Berlin", "2026-01-14 23:30:00", "2026-01-15", True,
     "2026-01-15 22:59:00", "2026-01-15 23:00:30"),      # 00:30 winter
    ("Europe/Berlin", "2026-01-14 23:30:00", "2026-01-14", False, None, None),
    ("Europe/Berlin", "2026-01-15 22:30:00", "2026-01-15", True,
     "2026-01-15 22:59:00", "2026-01-15 23:00:30"),      # 23:30 winter
    ("Europe/Berlin", "2026-07-14 22:30:00", "2026-07-15", True,
     "2026-07-15 21:59:00", "2026-07-15 22:00:30"),      # 00:30 summer
    ("Europe/Berlin", "2026-07-15 21:30:00", "2026-07-15", True,
     "2026-07-15 21:59:00", "2026-07-15 22:00:30"),      # 23:30 summer
    ("America/New_York", "2026-01-15 03:00:00", "2026-01-14", True,
     "2026-01-15 04:59:00", "2026-01-15 05:00:30"),      # UTC-5
    ("Etc/GMT-12", "2026-01-15 11:30:00", "2026-01-15", True,
     "2026-01-15 11:59:00", "2026-01-15 12:00:30"),      # UTC+12
    ("Etc/GMT-12", "2026-01-15 12:30:00", "2026-01-15", False, None, None),
    ("Europe/Berlin", "2026-03-29 00:30:00", "2026-03-29", True,
     "2026-03-29 21:59:00", "2026-03-29 22:00:30"),      # DST begins
    ("Europe/Berlin", "2026-10-25 00:30:00", "2026-10-25", True,
     "2026-10-25 22:59:00", "2026-10-25 23:00:30"),      # DST ends
    ("Europe/Berlin", "2028-02-28 11:00:00", "2028-02-29", True,
     "2028-02-29 22:59:00", "2028-02-29 23:00:30"),      # Feb 29
]


@pytest.mark.parametrize("zone,now,date,ok,valid,gone", EXPIRY)
def test_expiry_matrix(stack, staff, clock, accounts, zone, now, date, ok,
                       valid, gone):
    if zone != "Europe/Berlin":
        adm_uid, _, adm_ap = accounts.user("tzadm", roles=["admin"])
        r = requests.put(stack.url + "/ocs/v2.php/cloud/users/%s?format=json"
                         % staff.uid, auth=(adm_uid, adm_ap),
                         data={"key": "timezone", "value": zone},
                         headers={"OCS-APIRequest": "true"})
        assert r.status_code == 200, r.text
    at(clock, now)
    r, o = staff.share(path="/Reports/report.pdf", shareType="3",
                       password="Link-password-1", expireDate=date)
    if not ok:
        assert (r.status_code, o["meta"]["message"]) == \
            (404, "Expiration date is in the past")
        return
    assert r.status_code == 200, o
    assert o["data"]["expiration"] == date + " 23:59:59"
    tok = o["data"]["token"]
    at(clock, valid)
    assert public_get(stack, tok).status_code == 200
    at(clock, gone)
    assert public_get(stack, tok).status_code == 401
    assert requests.get(stack.url + "/s/" + tok).status_code == 404
    assert staff.ocs("GET", "/" + o["data"]["id"]).status_code == 404
    # the sweeper marks it; the row stays as evidence
    r = accounts.admin("shares", "expire")
    assert re.fullmatch(r"\d+ expired shares? ended\n", r.stdout)
    assert stack.psql("SELECT end_reason FROM shares WHERE id = %s" %
                      o["data"]["id"]) == "expired"


def test_feb29_invalid_in_common_year(staff, clock):
    at(clock, "2027-02-20 10:00:00")
    r, o = staff.share(path="/Reports/report.pdf", shareType="3",
                       password="Link-password-1", expireDate="2027-02-29")
    assert (r.status_code, o["meta"]["message"]) == \
        (404, "Invalid date. Format must be YYYY-MM-DD")


def test_links_password_flow_sessions_and_revocation(stack, staff):
    l = link(staff)
    tok, sid = l["token"], l["id"]
    b = requests.Session()
    r = b.get(stack.url + "/s/" + tok)
    assert r.url == stack.url + "/s/%s/authenticate/showShare" % tok
    assert "report.pdf" not in r.text           # nothing before the password
    r = b.post(r.url, data={"password": "wrong-password!",
                            "requesttoken": hidden(r.text, "requesttoken")})
    assert r.status_code == 200 and "The password is wrong" in r.text
    r = b.post(r.url, data={"password": "Link-password-1",
                            "requesttoken": hidden(r.text, "requesttoken")})
    assert r.url == stack.url + "/s/" + tok
    assert 'id="file-name">report.pdf<' in r.text
    d = b.get(stack.url + "/s/%s/download" % tok)
    assert d.content == b"%PDF-1.4 report"
    assert d.headers["Cache-Control"] == "no-store"
    # a new password ends the session
    staff.ocs("PUT", "/" + sid, data={"password": "Another-password-2"})
    r = b.get(stack.url + "/s/" + tok, allow_redirects=False)
    assert r.status_code == 303
    assert public_get(stack, tok, "Another-password-2").status_code == 200
    # revocation: the next request fails, whatever the session
    r = b.post(stack.url + "/s/%s/authenticate/showShare" % tok, data={
        "password": "Another-password-2", "requesttoken": hidden(
            b.get(stack.url + "/s/%s/authenticate/showShare" % tok).text,
            "requesttoken")})
    assert r.status_code == 200
    assert staff.ocs("DELETE", "/" + sid).status_code == 200
    gone = b.get(stack.url + "/s/" + tok)
    unknown = b.get(stack.url + "/s/" + "Q" * 24)
    assert gone.status_code == unknown.status_code == 404
    assert gone.text == unknown.text
    assert public_get(stack, tok, "Another-password-2").status_code == 401
    assert stack.psql("SELECT end_reason FROM shares WHERE id = %s" % sid) \
        == "deleted"


def test_legacy_public_webdav_and_challenge(stack, staff):
    l = link(staff)
    r = requests.get(stack.url + "/public.php/webdav/",
                     auth=(l["token"], "Link-password-1"))
    assert r.content == b"%PDF-1.4 report"
    r = requests.get(stack.url + "/public.php/dav/files/%s/" % l["token"])
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="refx", charset="UTF-8"'
    r = requests.request("PROPFIND", stack.url + "/public.php/dav/files/%s/"
                         % l["token"], auth=("x", "Link-password-1"),
                         headers={"Depth": "0"})
    assert r.status_code == 207
    assert "<oc:permissions>G</oc:permissions>" in r.text  # no S, no R


def test_wrong_link_password_throttled_per_link(stack, staff):
    l = link(staff)
    url = stack.url + "/public.php/dav/files/%s/" % l["token"]
    for i in range(11):
        r = requests.get(url, auth=("a", "wrong-%d" % i),
                         headers={"X-Forwarded-For": fresh_ip()})
        assert r.status_code == 401
    r = requests.get(url, auth=("a", "Link-password-1"),
                     headers={"X-Forwarded-For": fresh_ip()})
    assert r.status_code == 429
    n = stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                   "'auth.link.failed' AND object_id = '%s'" % l["id"])
    assert n == "11"


def test_wrong_link_password_throttled_on_writes_too(stack, staff):
    """Public WebDAV writes ran in the request's transaction, so the 401 of
    a wrong password rolled back its throttle record and audit row:
    guessing a link's password by PUT, MKCOL or DELETE was never
    throttled.  The password is now checked before the write begins."""
    l = link(staff)
    url = stack.url + "/public.php/dav/files/%s/" % l["token"]
    for i in range(11):
        method = ("PUT", "MKCOL", "DELETE", "MOVE")[i % 4]
        r = requests.request(method, url + "x%d" % i,
                             auth=("a", "wrong-%d" % i), data=b"guess",
                             headers={"X-Forwarded-For": fresh_ip()})
        assert r.status_code == 401, (method, r.status_code)
    r = requests.get(url, auth=("a", "Link-password-1"),
                     headers={"X-Forwarded-For": fresh_ip()})
    assert r.status_code == 429
    n = stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                   "'auth.link.failed' AND object_id = '%s'" % l["id"])
    assert n == "11"


def test_public_dav_writes_stay_inside_the_link(stack, staff, accounts):
    """MOVE and COPY through a public link read the Destination as a path
    in the caller's own files - with no caller: the worker dereferenced a
    null account and the whole process died (502 for every request it
    was serving).  A link's MOVE/COPY now stays inside the link; the
    shared node itself cannot be deleted, moved or copied through it;
    its writes are audited as the link's; PATCH X-Recalculate-Hash needs
    the UPDATE permission."""
    pids = stack.worker_pids()
    staff.dav("MKCOL", "Reports/pub")
    assert staff.dav("PUT", "Reports/pub/a.txt", data=b"a").status_code == 201
    accounts.admin("settings", "set", "sharing.link.upload_allowed", "1")
    try:
        r, o = staff.share(path="/Reports/pub", shareType="3",
                           password="Link-password-1", publicUpload="true")
    finally:
        accounts.admin("settings", "set", "sharing.link.upload_allowed", "0")
    rw = o["data"]
    assert rw["permissions"] == 31
    ro = link(staff, path="/Reports/pub")
    assert ro["permissions"] == 17
    a = ("anonymous", "Link-password-1")
    ip = {"X-Forwarded-For": fresh_ip()}
    pub = stack.url + "/public.php/dav/files/%s/" % rw["token"]

    def req(method, url, dest=None, auth=a, **kw):
        h = dict(ip)
        if dest is not None:
            h["Destination"] = dest
        return requests.request(method, url, auth=auth, headers=h, **kw)

    # inside the link, new and legacy addressing
    assert req("MOVE", pub + "a.txt", pub + "b.txt").status_code == 201
    legacy = stack.url + "/public.php/webdav/"
    assert req("COPY", legacy + "b.txt", legacy + "c.txt",
               auth=(rw["token"], "Link-password-1")).status_code == 201
    assert req("COPY", pub + "b.txt", "/public.php/dav/files/%s/d.txt"
               % rw["token"]).status_code == 201
    # out of it: the owner's files, another link, the other addressing
    for dest in (stack.url + "/remote.php/dav/files/%s/stolen.txt"
                 % staff.uid, "/remote.php/webdav/stolen.txt",
                 "/public.php/dav/files/%s/x.txt" % ro["token"],
                 legacy + "x.txt"):
        r = req("MOVE", pub + "b.txt", dest)
        assert r.status_code == 403, (dest, r.status_code)
        assert "The destination is outside the shared files" in r.text
    # the shared folder itself
    assert req("DELETE", pub).status_code == 403
    assert req("MOVE", pub, pub + "sub/").status_code == 403
    assert req("COPY", pub, pub + "sub/").status_code == 403
    r = staff.dav("PROPFIND", "Reports/pub", headers={"Depth": "1"})
    assert sorted(re.findall(r"<d:href>[^<]*/Reports/pub/([^<]*)</d:href>",
                             r.text)) == ["", "b.txt", "c.txt", "d.txt"]
    r = staff.ocs("GET", "/%s" % rw["id"])
    assert r.status_code == 200
    assert stack.psql(
        "SELECT string_agg(action || ' ' || actor_type || ' ' || "
        "actor_credential_id, ', ' ORDER BY id) FROM audit_events WHERE "
        "action IN ('file.move', 'file.copy') AND actor_credential_id = %s"
        % rw["id"]) == "file.move link %s, file.copy link %s, " \
        "file.copy link %s" % (rw["id"], rw["id"], rw["id"])
    # a read-only link: no MOVE, no checksum rewrite
    ropub = stack.url + "/public.php/dav/files/%s/" % ro["token"]
    r = req("MOVE", ropub + "b.txt", ropub + "x.txt")
    assert r.status_code == 403
    assert "You do not have permission to do this" in r.text
    r = requests.request("PATCH", ropub + "b.txt", auth=a, headers=dict(
        ip, **{"X-Recalculate-Hash": "md5"}))
    assert r.status_code == 403
    assert req("GET", ropub + "b.txt").content == b"a"
    assert stack.worker_pids() == pids


def test_unknown_link_tokens_are_throttled(stack):
    """The password form of an unknown token recorded a failed attempt
    and an audit row but never checked the throttle: anyone could append
    rows to the append-only audit trail without limit.  Unknown tokens
    now count like wrong passwords: 429 after ten from one address."""
    ip = fresh_ip()
    codes = []
    for i in range(12):
        r = requests.post(stack.url + "/s/Unknown%017d/authenticate/"
                          "showShare" % i, data={"password": "x"},
                          headers={"X-Forwarded-For": ip},
                          allow_redirects=False)
        codes.append(r.status_code)
    assert codes == [404] * 11 + [429]
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'auth.link.failed' AND client_addr = '%s' AND "
                      "details->>'reason' = 'unknown_link'" % ip) == "11"


def test_unknown_token_on_public_dav(stack):
    """Nextcloud 34 (§4.5): an unknown token is a 404 on the new endpoint
    without credentials, a 401 with them (refx said 404) and a 401 on the
    legacy one; each attempt counts like a wrong password (refx counted
    none), 429 after ten from one address."""
    ip = fresh_ip()
    h = {"X-Forwarded-For": ip}
    new = stack.url + "/public.php/dav/files/Unknown%017d/"
    r = requests.get(new % 1, headers=h)
    assert r.status_code == 404
    r = requests.request("PROPFIND", new % 2, headers=h, auth=("a", "b"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == \
        'Basic realm="refx", charset="UTF-8"'
    assert "Username or password was incorrect" in r.text
    legacy = stack.url + "/public.php/webdav/"
    r = requests.get(legacy, headers=h, auth=("Unknown%017d" % 3, ""))
    assert r.status_code == 401
    codes = [requests.get(new % i, headers=h).status_code
             for i in range(4, 13)]
    assert codes == [404] * 8 + [429]
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'auth.link.failed' AND client_addr = '%s' AND "
                      "details->>'reason' = 'unknown_link'" % ip) == "11"
    # no token at all on the legacy endpoint: a challenge, nothing counted
    r = requests.get(legacy, headers={"X-Forwarded-For": fresh_ip()})
    assert r.status_code == 401
    assert "No 'Authorization: Basic' header found" in r.text


def test_password_form_of_a_link_without_password(stack, staff, accounts):
    """Submitting the password form of a link that has no password was
    refused as a CSRF failure (412) without the form's cookie and a 500
    with it (a session row without a password hash); Nextcloud answers
    303 to the share: there is nothing to enter."""
    accounts.admin("settings", "set", "sharing.link.password_enforced", "0")
    try:
        r, o = staff.share(path="/Reports/report.pdf", shareType="3")
    finally:
        accounts.admin("settings", "set", "sharing.link.password_enforced",
                       "1")
    assert r.status_code == 200, o
    token = o["data"]["token"]
    for redirect, target in (("showShare", "/s/%s" % token),
                             ("downloadShare", "/s/%s/download" % token)):
        r = requests.post(stack.url + "/s/%s/authenticate/%s" % (
            token, redirect), data={"password": ""}, headers={
            "X-Forwarded-For": fresh_ip()}, allow_redirects=False)
        assert (r.status_code, r.headers.get("Location")) == (303, target)


def test_file_drop_renames_and_reveals_no_names(stack, staff, accounts):
    """A file drop (link without READ) answered 403 for a name that exists
    and 201 for a new one, and 409 or 201 for nested paths depending on
    whether the folder exists: an uploader could confirm guessed file
    names (which often carry patient names).  As Nextcloud's
    FilesDropPlugin: uploads go straight into the folder, renamed instead
    of replacing anything; subfolders are refused alike."""
    staff.dav("MKCOL", "Reports/drop")
    staff.dav("MKCOL", "Reports/drop/sub")
    assert staff.dav("PUT", "Reports/drop/in.pdf", data=b"owner").\
        status_code == 201
    accounts.admin("settings", "set", "sharing.link.upload_allowed", "1")
    try:
        r, o = staff.share(path="/Reports/drop", shareType="3",
                           password="Link-password-1", permissions="4")
    finally:
        accounts.admin("settings", "set", "sharing.link.upload_allowed", "0")
    assert o["data"]["permissions"] == 4
    pub = stack.url + "/public.php/dav/files/%s/" % o["data"]["token"]
    a = ("anonymous", "Link-password-1")
    h = {"X-Forwarded-For": fresh_ip()}
    for name, body in (("in.pdf", b"d1"), ("in.pdf", b"d2"),
                       ("in (3).pdf", b"d3"), ("new.pdf", b"d4"),
                       ("sub", b"d5")):
        r = requests.put(pub + urllib.parse.quote(name), data=body, auth=a,
                         headers=h)
        assert r.status_code == 201, (name, r.status_code, r.text)
    for name in ("sub/x.pdf", "nosuch/x.pdf"):
        r = requests.put(pub + name, data=b"x", auth=a, headers=h)
        assert r.status_code == 405
        assert "A nickname header is required when uploading subfolders" \
            in r.text
    r = staff.dav("PROPFIND", "Reports/drop", headers={"Depth": "1"})
    names = sorted(urllib.parse.unquote(n) for n in re.findall(
        r"<d:href>[^<]*/Reports/drop/([^<]+)</d:href>", r.text))
    assert names == ["in (2).pdf", "in (3).pdf", "in (4).pdf", "in.pdf",
                     "new.pdf", "sub (2)", "sub/"]
    got = {n: staff.dav("GET", "Reports/drop/" + n).content
           for n in names if n != "sub/"}
    assert got == {"in.pdf": b"owner", "in (2).pdf": b"d1",
                   "in (3).pdf": b"d2", "in (4).pdf": b"d3",
                   "new.pdf": b"d4", "sub (2)": b"d5"}
    # the download page of a drop answers as Nextcloud's (§4.4)
    b = requests.Session()
    b.headers["X-Forwarded-For"] = fresh_ip()
    page = stack.url + "/s/%s/authenticate/downloadShare" % \
        o["data"]["token"]
    r = b.post(page, data={"password": "Link-password-1", "requesttoken":
                           hidden(b.get(page).text, "requesttoken")})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.text == '"Share has no read permission"'


def test_reshare_update_never_exceeds_the_resharer(stack, accounts):
    """Creating a reshare caps it at the resharer's rights; updating it did
    not: a recipient with read+share could give a second account write and
    delete in the owner's folder.  Update now caps like create (Nextcloud:
    "Cannot increase permissions"), and checks a link's READ rule."""
    a = User(stack, accounts, "rsa", roles=["staff"])
    b = User(stack, accounts, "rsb", roles=["staff"])
    c = User(stack, accounts, "rsc", roles=["staff"])
    assert a.dav("MKCOL", "F").status_code == 201
    assert a.dav("PUT", "F/x.txt", data=b"x").status_code == 201
    r, o = a.share(path="/F", shareType="0", shareWith=b.uid,
                   permissions="17")
    assert r.status_code == 200, o
    bid = o["data"]["id"]
    r, o = b.share(path="/F", shareType="0", shareWith=c.uid,
                   permissions="17")
    assert r.status_code == 200, o
    rid = o["data"]["id"]
    for perms in ("31", "19", "25"):
        r = b.ocs("PUT", "/%s" % rid, data={"permissions": perms})
        assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
            (404, "Cannot increase permissions of F"), perms
    assert c.dav("PUT", "F/new.txt", data=b"n").status_code == 403
    assert c.dav("DELETE", "F/x.txt").status_code == 403
    assert a.dav("GET", "F/x.txt").content == b"x"
    # once the owner gives the resharer more, the reshare may have it
    assert a.ocs("PUT", "/%s" % bid, data={"permissions": "31"}).\
        status_code == 200
    r = b.ocs("PUT", "/%s" % rid, data={"permissions": "19"})
    assert (r.status_code, r.json()["ocs"]["data"]["permissions"]) == \
        (200, 19)
    # reshares of a node: an empty path is no path, not every share
    r = b.ocs("GET", "?reshares=true&path=")
    ids = {x["id"] for x in r.json()["ocs"]["data"]}
    assert ids == {rid}


def test_reshare_ends_with_the_resharers_access(stack, accounts):
    """A reshare stayed readable after the resharer lost the share it was
    made from (ended, expired, or the group membership gone).  A reshare
    now lives only while its resharer still receives the node with the
    SHARE right."""
    a = User(stack, accounts, "rea", roles=["staff"])
    b = User(stack, accounts, "reb", roles=["staff"])
    c = User(stack, accounts, "rec", roles=["staff"])
    assert a.dav("MKCOL", "G").status_code == 201
    assert a.dav("PUT", "G/x.txt", data=b"secret").status_code == 201
    r, o = a.share(path="/G", shareType="0", shareWith=b.uid,
                   permissions="17")
    bid = o["data"]["id"]
    r, o = b.share(path="/G/x.txt", shareType="0", shareWith=c.uid,
                   permissions="17")
    assert r.status_code == 200, o
    r, o = b.share(path="/G", shareType="3", password="Link-password-1")
    assert r.status_code == 200, o
    token = o["data"]["token"]
    pub = stack.url + "/public.php/dav/files/%s/x.txt" % token

    def link_get():
        return requests.get(pub, auth=("anonymous", "Link-password-1"),
                            headers={"X-Forwarded-For": fresh_ip()})
    assert c.dav("GET", "x.txt").content == b"secret"
    assert link_get().content == b"secret"
    assert a.ocs("DELETE", "/%s" % bid).status_code == 200
    assert c.dav("GET", "x.txt").status_code == 404
    assert link_get().status_code == 401
    assert c.dav("PROPFIND", "", headers={"Depth": "1"}).text.count(
        "x.txt") == 0


def test_download_limit_race(stack, staff):
    l = link(staff, download_limit="1")

    def get(_):
        return public_get(stack, l["token"]).status_code
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        codes = sorted(ex.map(get, range(6)))
    assert codes == [200, 404, 404, 404, 404, 404]
    assert stack.psql("SELECT end_reason FROM shares WHERE id = %s" %
                      l["id"]) == "download_limit"


def test_failed_download_does_not_use_up_the_link(stack, staff):
    """A link's download count, and the download's audit row, are one
    transaction: when the audit row cannot be written the answer is 500,
    no byte goes out and the download is not counted (before, the count
    was committed first and the only download of a limit-1 link was
    gone)."""
    l = link(staff, download_limit="1")
    with stack.failing_audit("link.download"):
        assert public_get(stack, l["token"]).status_code == 500
    r = public_get(stack, l["token"])
    assert (r.status_code, r.content) == (200, b"%PDF-1.4 report")
    assert public_get(stack, l["token"]).status_code == 401
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'link.download' AND actor_type = 'link' AND "
                      "actor_credential_id = %s" % l["id"]) == "1"


def test_membership_checked_at_access_time(stack, staff, clinic, accounts):
    gid, (m1, m2) = clinic
    staff.share(path="/Reports/report.pdf", shareType="1", shareWith=gid)
    assert m1.dav("PROPFIND", "", headers={"Depth": "1"}).text.count(
        "report.pdf") == 1
    assert m2.dav("GET", "report.pdf").status_code == 200
    adm_uid, _, adm_ap = accounts.user("gadm", roles=["admin"])
    r = requests.delete(stack.url + "/ocs/v2.php/cloud/users/%s/groups"
                        "?format=json" % m1.uid, auth=(adm_uid, adm_ap),
                        data={"groupid": gid},
                        headers={"OCS-APIRequest": "true"})
    assert r.status_code == 200
    assert m1.dav("GET", "report.pdf").status_code == 404
    assert "report.pdf" not in m1.dav("PROPFIND", "",
                                      headers={"Depth": "1"}).text
    assert m2.dav("GET", "report.pdf").status_code == 200
    # deleting the group ends it for everyone; a new group of that name
    # inherits nothing
    requests.delete(stack.url + "/ocs/v2.php/cloud/groups/%s?format=json" %
                    gid, auth=(adm_uid, adm_ap),
                    headers={"OCS-APIRequest": "true"})
    assert m2.dav("GET", "report.pdf").status_code == 404
    accounts.admin("clinic", "add", gid, "--name", "Neu", "--bsnr",
                   "555555555")
    accounts.admin("group", "adduser", gid, m2.uid)
    assert m2.dav("GET", "report.pdf").status_code == 404


def test_share_audit_rows(stack, staff, clinic):
    gid, _ = clinic
    r, o = staff.share(path="/Reports/report.pdf", shareType="1",
                       shareWith=gid, permissions="1")
    sid = o["data"]["id"]
    staff.ocs("PUT", "/" + sid, data={"permissions": "3"})
    staff.ocs("DELETE", "/" + sid)
    rows = stack.psql("SELECT action || ' ' || details::text FROM "
                      "audit_events WHERE object_type = 'share' AND "
                      "object_id = '%s' ORDER BY id" % sid).splitlines()
    assert [x.split(" ")[0] for x in rows] == ["share.create", "share.update",
                                             "share.delete"]
    created = json.loads(rows[0].split(" ", 1)[1])
    assert created["share_type"] == 1 and created["permissions"] == 1
    assert created["password"] is False
    upd = json.loads(rows[1].split(" ", 1)[1])
    assert (upd["old"]["permissions"], upd["new"]["permissions"]) == (1, 3)


def shared_folder_with_link(stack, accounts, prefix, name, data):
    """Staff a shares /F (with F/sub/name holding data) with staff b, all
    rights, and has a password link on F/sub/name: (a, b, link token)."""
    a = User(stack, accounts, prefix + "a", roles=["staff"])
    b = User(stack, accounts, prefix + "b", roles=["staff"])
    for d in ("F", "F/sub"):
        assert a.dav("MKCOL", d).status_code == 201
    assert a.dav("PUT", "F/sub/" + name, data=data).status_code == 201
    r, o = a.share(path="/F", shareType="0", shareWith=b.uid,
                   permissions="31")
    assert r.status_code == 200, o
    r, o = a.share(path="/F/sub/" + name, shareType="3",
                   password="Link-password-1")
    assert r.status_code == 200, o
    return a, b, o["data"]["token"]


def test_move_out_of_a_share_changes_owner(stack, accounts):
    """A recipient moves a folder out of a share into their own files:
    like Nextcloud's move across storages, the folder and everything in it
    become theirs (owner, quota, later uploads) and the sharer's own shares
    inside it end.  Before, only the moved folder changed owner: its files
    stayed the sharer's, new uploads below it too, and the sharer's link
    on a moved file still served it from the recipient's files."""
    a, b, token = shared_folder_with_link(stack, accounts, "mv", "x.txt",
                                          b"moved")
    assert public_get(stack, token).status_code == 200
    r = b.dav("MOVE", "F/sub", headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/sub" % b.uid})
    assert r.status_code == 201, r.text
    assert b.dav("PUT", "sub/new.txt", data=b"new").status_code == 201
    owners = stack.psql(
        "SELECT string_agg(f.name || '=' || u.uid, ',' ORDER BY f.name) "
        "FROM files f JOIN users u ON u.id = f.owner_id WHERE f.id IN "
        "(SELECT id FROM files WHERE name = 'sub' AND owner_id = (SELECT "
        "id FROM users WHERE uid = '%s') UNION SELECT c.id FROM files c "
        "JOIN files p ON p.id = c.parent_id WHERE p.name = 'sub' AND "
        "c.name IN ('x.txt', 'new.txt'))" % b.uid)
    assert owners == "new.txt=%s,sub=%s,x.txt=%s" % (b.uid, b.uid, b.uid)
    assert public_get(stack, token).status_code == 401
    assert b.dav("GET", "sub/x.txt").content == b"moved"
    assert a.dav("GET", "F/sub/x.txt").status_code == 404


def test_move_out_of_a_share_needs_room_in_the_recipients_quota(
        stack, accounts):
    """What moves out of a share becomes the recipient's, so it must fit
    their quota (507 otherwise, and nothing changes: the folder stays in
    the share, owned by the sharer, and the sharer's link still works).
    Before, the move went through and left the recipient over quota."""
    a, b, token = shared_folder_with_link(stack, accounts, "mq", "x.bin",
                                          b"x" * 80)
    stack.psql("UPDATE users SET quota_bytes = 100 WHERE uid = '%s'" % b.uid)
    assert b.dav("PUT", "own.bin", data=b"o" * 30).status_code == 201
    r = b.dav("MOVE", "F/sub", headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/sub" % b.uid})
    assert r.status_code == 507, r.text
    assert a.dav("GET", "F/sub/x.bin").content == b"x" * 80
    assert b.dav("PROPFIND", "sub", headers={"Depth": "0"}).status_code == 404
    assert public_get(stack, token).status_code == 200
    assert stack.psql(
        "SELECT count(*) FROM files f JOIN users u ON u.id = f.owner_id "
        "WHERE u.uid = '%s' AND f.name IN ('sub', 'x.bin')" % a.uid) == "2"
    # within the sharer's own tree the quota of the sharer applies: fine
    r = b.dav("MOVE", "F/sub", headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/F/moved" %
        b.uid})
    assert r.status_code == 201, r.text
    assert b.dav("DELETE", "own.bin").status_code == 204
    r = b.dav("MOVE", "F/moved", headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/sub" % b.uid})
    assert r.status_code == 201, r.text


def test_capabilities_advertise_policy(stack):
    r = requests.get(stack.url + "/ocs/v2.php/cloud/capabilities?format=json",
                     headers={"OCS-APIRequest": "true"})
    fs = r.json()["ocs"]["data"]["capabilities"]["files_sharing"]
    assert fs["public"]["password"]["enforced"] is True
    assert fs["public"]["expire_date"] == {"enabled": True, "days": 7,
                                           "enforced": True}
    assert fs["public"]["expire_date_internal"] == {"enabled": True,
                                                    "days": 90,
                                                    "enforced": True}
    assert fs["public"]["upload"] is False

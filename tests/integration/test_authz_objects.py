# SPDX-License-Identifier: AGPL-3.0-or-later
"""The object-level authorization matrix (issue 10): the routes that
disclose a report - detail, download, read receipt, the inbox, WebDAV,
files_sharing and the public link routes - called by every kind of
principal on three objects: a report of clinic A (shared with it, with a
link), a report of clinic B, and a report id that does not exist.  Each
cell is the exact status; another clinic's report must answer exactly like
a nonexistent one (status and body), and the administrator never reads
report content (domain.md §4, § 203 StGB).  The route-level rule for every
route is test_authz_matrix.py."""
import requests

from conftest import fresh_ip
from test_referrals import Patient, User, ingest

OK, UNAUTH, FORBIDDEN, NOTFOUND = 200, 401, 403, 404


def call(stack, who, method, path, **kw):
    """An OCS call of the referral API as who (None: anonymous)."""
    s = who.s if who is not None else requests.Session()
    headers = {"OCS-APIRequest": "true", "X-Forwarded-For": fresh_ip()}
    return s.request(method, stack.url + "/ocs/v2.php/apps/referrals/api/v1"
                     + path, params={"format": "json"}, headers=headers, **kw)


def test_report_objects_by_every_principal(stack, accounts):
    ga = accounts.clinic("oa", email=False)
    gb = accounts.clinic("ob", email=False)
    ref_a = User(stack, accounts, "oref", groups=[ga])
    lead_a = User(stack, accounts, "olead", groups=[ga])
    accounts.admin("group", "subadmin", ga, lead_a.uid)
    ref_b = User(stack, accounts, "orefb", groups=[gb])
    staff = User(stack, accounts, "ostf", roles=["staff"])
    mgr = User(stack, accounts, "omgr", roles=["manager"])
    adm = User(stack, accounts, "oadm", roles=["admin"])
    gone = User(stack, accounts, "ogone", groups=[ga])
    accounts.admin("user", "disable", gone.uid)

    pa, pb = Patient(), Patient()
    r, content_a = ingest(staff, pa, ga)
    rep_a = r.json()["ocs"]["data"]
    r, content_b = ingest(staff, pb, gb)
    rep_b = r.json()["ocs"]["data"]
    ra, rb = rep_a["id"], rep_b["id"]
    missing = str(int(max(ra, rb, key=int)) + 100000)

    # links on A's report: live, revoked, expired (consent for links first)
    staff.ok("POST", "/consents", data={
        "patient": rep_a["patient"]["id"], "links": "true", "report": ra,
        "purpose": "Zweitmeinung", "text_version": "2026-01",
        "text_sha256": "c" * 64, "channel": "paper"})
    links = {}
    for k in ("live", "revoked", "expired"):
        links[k] = staff.ok("POST", "/reports/%s/shares" % ra, data={
            "shareType": "3", "password": "Link-password-1"})
    fs = staff.s.delete(stack.url + "/ocs/v2.php/apps/files_sharing/api/v1/"
                        "shares/%s" % links["revoked"]["id"],
                        params={"format": "json"})
    assert fs.status_code == 200, fs.text
    stack.psql("UPDATE shares SET expires_at = now() - interval '1 day' "
               "WHERE id = %d" % int(links["expired"]["id"]))

    principals = {"anonymous": None, "referrer A": ref_a, "lead A": lead_a,
                  "referrer B": ref_b, "staff": staff, "manager": mgr,
                  "admin": adm, "disabled": gone}
    # expected status per principal for (A's report, B's report, missing)
    expect = {
        "anonymous": (UNAUTH, UNAUTH, UNAUTH),
        "referrer A": (OK, NOTFOUND, NOTFOUND),
        "lead A": (OK, NOTFOUND, NOTFOUND),
        "referrer B": (NOTFOUND, OK, NOTFOUND),
        "staff": (OK, OK, NOTFOUND),
        "manager": (OK, OK, NOTFOUND),
        "admin": (NOTFOUND, NOTFOUND, NOTFOUND),
        "disabled": (UNAUTH, UNAUTH, UNAUTH),
    }
    routes = [("GET", "/reports/%s"), ("GET", "/reports/%s/versions/0/"
              "download"), ("GET", "/reports/%s/versions/1/download"),
              ("POST", "/reports/%s/read")]
    got, want = {}, {}
    for name, who in principals.items():
        for method, pattern in routes:
            bodies = []
            for obj, status in zip((ra, rb, missing), expect[name]):
                # the practice reads every report but confirms none:
                # receipts are the recipients'
                if pattern.endswith("/read") and status == OK and name in (
                        "staff", "manager"):
                    status = FORBIDDEN
                x = call(stack, who, method, pattern % obj)
                got[(name, method, pattern, obj)] = x.status_code
                want[(name, method, pattern, obj)] = status
                bodies.append((x.status_code, x.content))
                if x.status_code == OK and "download" in pattern:
                    assert x.content == (content_a if obj == ra else
                                         content_b)
                    # once (nginx's), not doubled by the worker
                    assert x.headers["X-Content-Type-Options"] == "nosniff"
            # a report out of reach answers exactly like a missing one
            for i in (0, 1):
                if expect[name][i] == NOTFOUND:
                    assert bodies[i] == bodies[2], (name, pattern)
    assert got == want

    # the inbox lists exactly what the principal may read
    inbox = {"referrer A": {ra}, "lead A": {ra}, "referrer B": {rb},
             "admin": set()}
    for name, ids in inbox.items():
        listed = {x["id"] for x in principals[name].ok("GET", "/reports")}
        assert listed & {ra, rb} == ids, name
    for name in ("staff", "manager"):
        listed = {x["id"] for x in principals[name].ok(
            "GET", "/reports", params={"limit": "500"})}
        assert {ra, rb} <= listed, name

    # WebDAV: the report file appears in the clinic members' roots only
    def dav_names(user):
        x = user.dav("PROPFIND", "", headers={"Depth": "1"})
        assert x.status_code == 207
        return x.text
    name_a = "r-%06d-v1.pdf" % int(ra)
    name_b = "r-%06d-v1.pdf" % int(rb)
    for user, sees, not_sees in ((ref_a, name_a, name_b),
                                 (lead_a, name_a, name_b),
                                 (ref_b, name_b, name_a)):
        text = dav_names(user)
        assert sees in text and not_sees not in text, user.uid
        x = user.dav("GET", sees)
        assert x.content == (content_a if sees == name_a else content_b)
        assert x.headers["X-Content-Type-Options"] == "nosniff"
        assert user.dav("GET", not_sees).status_code == NOTFOUND
    # nobody reaches another account's tree
    x = ref_b.s.get(stack.url + "/remote.php/dav/files/%s/%s" % (
        ref_a.uid, name_a))
    assert x.status_code in (FORBIDDEN, NOTFOUND)
    assert content_a not in x.content

    # link holders: the live link works; revoked, expired and unknown
    # tokens answer the same 404, page and download alike
    def link_get(token, path=""):
        return requests.get(stack.url + "/s/%s%s" % (token, path),
                            headers={"X-Forwarded-For": fresh_ip()},
                            allow_redirects=False)

    def link_dav(token, pw="Link-password-1"):
        return requests.get(stack.url + "/public.php/dav/files/%s/" % token,
                            auth=("anonymous", pw),
                            headers={"X-Forwarded-For": fresh_ip()})
    live = links["live"]["token"]
    x = link_get(live)           # password first: to the form
    assert x.status_code == 303
    assert x.headers["Location"].startswith("/s/%s/authenticate/" % live)
    assert link_dav(live).content == content_a
    assert link_dav(live, "wrong-password").status_code == UNAUTH
    unknown = "x" * len(live)
    dead = [links["revoked"]["token"], links["expired"]["token"], unknown]
    pages = [link_get(t) for t in dead]
    downloads = [link_get(t, "/download") for t in dead]
    davs = [link_dav(t) for t in dead]
    for group in (pages, downloads, davs):
        assert {(g.status_code, g.content) for g in group} == \
            {(group[-1].status_code, group[-1].content)}
    assert pages[-1].status_code == NOTFOUND
    assert downloads[-1].status_code == NOTFOUND
    assert davs[-1].status_code == UNAUTH    # credentials sent (PublicAuth)
    # a link token is no account credential: not for the API, not for DAV
    x = requests.get(stack.url + "/ocs/v2.php/apps/referrals/api/v1/reports",
                     auth=(live, "Link-password-1"),
                     headers={"OCS-APIRequest": "true",
                              "X-Forwarded-For": fresh_ip()})
    assert x.status_code == UNAUTH
    x = requests.get(stack.url + "/remote.php/dav/files/%s/%s" % (
        staff.uid, name_a), auth=(live, "Link-password-1"),
        headers={"X-Forwarded-For": fresh_ip()})
    assert x.status_code == UNAUTH

# SPDX-License-Identifier: AGPL-3.0-or-later
"""Adversarial tests for the referral and notifications APIs (written by
an attacking review, kept as regression tests): IDOR, administrators and
report content, restriction, bad multipart and metadata input, races,
patient data in logs."""
import json
import uuid

import pytest
import requests

from conftest import fresh_ip
from test_referrals import (API, User, Patient, ingest, received_name,  # noqa
                            staff, clinic, pdf)

TABLES = ("patients", "orders", "reports", "report_versions", "files",
          "shares", "blobs", "ingest_keys", "notifications", "mail_queue",
          "order_cc")


def counts(stack):
    q = " || '/' || ".join("(SELECT count(*) FROM %s)" % t for t in TABLES)
    return stack.psql("SELECT " + q)


def raw_post(user, body, ctype, headers=None):
    h = {"Content-Type": ctype}
    h.update(headers or {})
    return user.s.post(user.stack.url + API + "/reports",
                       params={"format": "json"}, data=body, headers=h)


def mp(parts, boundary="XbOuNd", close=True):
    out = b""
    for hdrs, body in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        out += hdrs.encode() + b"\r\n\r\n" + body + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out


def meta_for(p, gid, **kw):
    m = {"patient": p.json(),
         "order": {"number": "A-" + uuid.uuid4().hex[:10], "clinic": gid,
                   "cc": []},
         "status": "final", "title": "MRT", "exam_date": "2026-11-25"}
    m.update(kw)
    return m


MD = 'Content-Disposition: form-data; name="metadata"'
FD = 'Content-Disposition: form-data; name="file"; filename="x.pdf"\r\n' \
     'Content-Type: application/pdf'


# ---------------------------------------------------------------- admin

def test_admin_self_adds_to_clinic_and_reads(stack, staff, clinic, accounts):
    gid, _ = clinic
    p = Patient()
    r, content = ingest(staff, p, gid)
    rid = r.json()["ocs"]["data"]["id"]
    adm = User(stack, accounts, "xadm", roles=["admin"])
    # not yet a member: nothing
    assert adm.api("GET", "/reports/%s/versions/0/download" % rid) \
        .status_code == 404
    r = adm.s.post(stack.url + "/ocs/v2.php/cloud/users/%s/groups" % adm.uid,
                   params={"format": "json"}, data={"groupid": gid})
    assert r.status_code == 403
    assert r.json()["ocs"]["meta"]["message"] == \
        "Administrators cannot be members of a referrer clinic"
    # nor through refx-admin, nor by making a member an administrator
    out = accounts.admin("group", "adduser", gid, adm.uid, ok=False)
    assert out.returncode != 0
    _, m = clinic
    out = accounts.admin("user", "role", m[0].uid, "admin", ok=False)
    assert out.returncode != 0
    leaks = []
    lst = adm.api("GET", "/reports")
    if p.family in lst.text:
        leaks.append("list shows patient name")
    d = adm.api("GET", "/reports/%s/versions/0/download" % rid)
    if d.status_code == 200 and d.content == content:
        leaks.append("API download")
    g = adm.api("GET", "/reports/%s" % rid)
    if g.status_code == 200:
        leaks.append("report json")
    names = received_name(adm)
    if names:
        dv = adm.dav("GET", names[0])
        if dv.status_code == 200 and dv.content == content:
            leaks.append("DAV GET")
    print("ADMIN LEAKS", leaks)
    assert leaks == []


def test_admin_only_role_via_consented_user_share(stack, staff, clinic,
                                                  accounts):
    """Staff shares a report with the admin account on a consent: the admin
    then reads it through WebDAV although the API refuses."""
    gid, _ = clinic
    p = Patient()
    r, content = ingest(staff, p, gid)
    rep = r.json()["ocs"]["data"]
    adm = User(stack, accounts, "yadm", roles=["admin"])
    k = staff.api("POST", "/consents", data={
        "patient": rep["patient"]["id"], "user": adm.uid, "report": rep["id"],
        "purpose": "x", "text_version": "1", "text_sha256": "c" * 64,
        "channel": "paper"})
    assert k.status_code == 400
    assert k.json()["ocs"]["meta"]["message"] == \
        "user does not exist or cannot receive reports"
    s = staff.api("POST", "/reports/%s/shares" % rep["id"],
                  data={"shareType": "0", "shareWith": adm.uid})
    print("share with admin", s.status_code, s.text[:200])
    names = received_name(adm)
    got = adm.dav("GET", names[0]).status_code if names else None
    api = adm.api("GET", "/reports/%s/versions/0/download" % rep["id"])
    assert s.status_code == 403
    assert s.json()["ocs"]["meta"]["message"] == \
        "No legal basis to share this report with this recipient"
    assert got is None
    assert api.status_code == 404


# ---------------------------------------------------------------- restricted

def test_restricted_patient_hidden_from_staff(stack, staff, clinic, accounts):
    gid, _ = clinic
    p = Patient()
    r, _ = ingest(staff, p, gid)
    rep = r.json()["ocs"]["data"]
    kid = staff.ok("POST", "/consents", data={
        "patient": rep["patient"]["id"], "clinic": gid, "report": rep["id"],
        "purpose": "Mitbehandlung", "text_version": "2026-01",
        "text_sha256": "d" * 64, "channel": "paper"})["id"]
    stack.psql("UPDATE patients SET restricted_at = now() WHERE id = %d" %
               int(rep["patient"]["id"]))
    s2 = User(stack, accounts, "rst2", roles=["staff"])
    # a restricted patient's consent is out of staff's reach: withdrawing
    # it by id answers like a missing one and changes nothing (API and form)
    missing = s2.api("POST", "/consents/999999999/withdraw",
                     data={"channel": "paper"})
    w = s2.api("POST", "/consents/%s/withdraw" % kid,
               data={"channel": "paper"})
    assert (w.status_code, w.content) == (missing.status_code,
                                          missing.content)
    assert w.status_code == 404
    b = accounts.browser()
    accounts.enrol(b, accounts.web_login(b, s2.uid, s2.pw))
    page = b.get(b.base + "/dashboard/patients")
    tok = page.text.split('name="requesttoken" value="', 1)[1].split('"')[0]
    f = b.post(b.base + "/dashboard/consents/%s/withdraw" % kid,
               data={"requesttoken": tok, "channel": "paper"},
               allow_redirects=False)
    assert f.status_code == 404
    assert stack.psql("SELECT withdrawn_at IS NULL FROM consents WHERE id = "
                      "%d" % int(kid)) == "t"
    assert s2.api("GET", "/patients/%s" % rep["patient"]["id"]) \
        .status_code == 404
    assert rep["id"] not in [x["id"] for x in s2.ok("GET", "/reports")]
    assert s2.api("GET", "/reports/%s/versions/0/download" % rep["id"]) \
        .status_code == 404
    g = s2.api("GET", "/reports/%s" % rep["id"])
    print("restricted report json", g.status_code, g.text[:300])
    assert g.status_code == 404 and p.family not in g.text


# ---------------------------------------------------------------- IDOR

def test_foreign_referrer_idor(stack, staff, clinic, accounts):
    gid, (m1, _) = clinic
    other = accounts.clinic("atk", email=False)
    o = User(stack, accounts, "atko", groups=[other])
    p = Patient()
    r, content = ingest(staff, p, gid)
    rep = r.json()["ocs"]["data"]
    rid = rep["id"]
    bad = []
    for v in ("0", "1", "2", "-1", "00", "+1", "1.0", "0x1", "2147483647",
              "2147483648", "9223372036854775807", "99999999999999999999",
              "%20"):
        x = o.api("GET", "/reports/%s/versions/%s/download" % (rid, v))
        if x.status_code != 404 or p.family in x.text:
            bad.append(("dl", v, x.status_code))
        if x.status_code >= 500:
            bad.append(("500", v))
    for path in ("/reports/%s" % rid, "/reports/0%s" % rid,
                 "/reports/%s/" % rid, "/reports/%s%%2F" % rid):
        x = o.api("GET", path)
        if x.status_code == 200 or p.family in x.text:
            bad.append(("get", path, x.status_code))
    x = o.api("POST", "/reports/%s/read" % rid)
    if x.status_code != 404:
        bad.append(("read", x.status_code))
    for q in ({"patient": p.family[:5]}, {"patient": p.ppid},
              {"clinic": gid}, {"status": "final"}, {"from": "2000-01-01"},
              {"patient": "%"}, {"patient": "_"}, {"limit": "500"},
              {"offset": "-5"}, {"limit": "0"}):
        x = o.api("POST", "/reports/search", data=q)
        if p.family in x.text or rid in [y["id"] for y in
                                          x.json()["ocs"]["data"]]:
            bad.append(("list", q))
    # staff-only endpoints
    for method, path in (("GET", "/patients"), ("GET", "/patients/%s" %
                         rep["patient"]["id"]), ("GET", "/consents?patient=%s"
                         % rep["patient"]["id"]), ("GET", "/consents/1"),
                         ("POST", "/consents"), ("POST", "/reports/%s/versions"
                         % rid), ("POST", "/consents/1/withdraw"),
                         ("GET", "/mail")):
        x = o.api(method, path)
        if x.status_code != 403:
            bad.append((method, path, x.status_code))
    page = o.s.get(stack.url + "/dashboard/consents/1/confirmation",
                   allow_redirects=False)
    print("confirmation", page.status_code, page.headers.get("Location"))
    if page.status_code == 200:
        bad.append(("confirmation", 200))
    # notifications of m1
    notes = m1.notifications()
    nid = notes[0]["notification_id"]
    n = o.s.get(stack.url + "/ocs/v2.php/apps/notifications/api/v2/"
                "notifications/%s" % nid, params={"format": "json"})
    if n.status_code != 404:
        bad.append(("note get", n.status_code))
    o.s.delete(stack.url + "/ocs/v2.php/apps/notifications/api/v2/"
               "notifications/%s" % nid)
    ex = o.s.post(stack.url + "/ocs/v2.php/apps/notifications/api/v2/"
                  "notifications/exists", params={"format": "json"},
                  data={"ids[]": [str(nid)]})
    if ex.json()["ocs"]["data"]:
        bad.append(("exists", ex.text))
    if nid not in [x["notification_id"] for x in m1.notifications()]:
        bad.append("foreign delete worked")
    # self-add to the other clinic
    x = o.s.post(stack.url + "/ocs/v2.php/cloud/users/%s/groups" % o.uid,
                 params={"format": "json"}, data={"groupid": gid})
    if x.status_code == 200:
        bad.append(("self add group", x.text[:200]))
    # DAV: m1's files
    x = o.s.request("PROPFIND", stack.url + "/remote.php/dav/files/%s/"
                    % m1.uid, headers={"Depth": "1"})
    # Nextcloud answers another user's tree with an empty root: fine as
    # long as nothing of theirs is listed
    if x.status_code == 207 and x.text.count("<d:response>") > 1:
        bad.append(("dav other user lists", x.text[:300]))
    x = o.s.get(stack.url + "/remote.php/dav/files/%s/%s" % (m1.uid,
                received_name(m1)[0]))
    print("GET other user's mount", x.status_code)
    if x.status_code == 200:
        bad.append(("dav get other", 200))
    assert received_name(o) == []
    print("IDOR", bad)
    assert bad == []


def test_referrer_onward_sharing(stack, staff, clinic, accounts):
    gid, (m1, m2) = clinic
    other = accounts.clinic("onw", email=False)
    o = User(stack, accounts, "onwo", groups=[other])
    p = Patient()
    r, content = ingest(staff, p, gid)
    rid = r.json()["ocs"]["data"]["id"]
    name = received_name(m1)
    name = [n for n in name if n.startswith("r-%06d" % int(rid))][0]
    res = []
    # reshare the received mount
    for st, sw in (("1", other), ("0", o.uid), ("3", None)):
        form = {"path": "/" + name, "shareType": st}
        if sw:
            form["shareWith"] = sw
        else:
            form["password"] = "Link-password-1x"
        rr, ocs = m1.files_share(**form)
        res.append(("reshare", st, rr.status_code))
    # MOVE of the mount into own folder shared with other
    m1.dav("MKCOL", "Fwd")
    rr, ocs = m1.files_share(path="/Fwd", shareType="1", shareWith=other,
                             permissions="31")
    res.append(("fwd share", rr.status_code))
    mv = m1.dav("MOVE", name, headers={"Destination": stack.url +
                "/remote.php/dav/files/%s/Fwd/z.pdf" % m1.uid})
    res.append(("move", mv.status_code))
    # chunked upload into the shared folder
    up = stack.url + "/remote.php/dav/uploads/%s/up%s" % (m1.uid,
                                                         uuid.uuid4().hex[:6])
    m1.s.request("MKCOL", up)
    m1.s.put(up + "/00001", data=content)
    mv2 = m1.s.request("MOVE", up + "/.file", headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/Fwd/c.pdf"
        % m1.uid})
    res.append(("chunked", mv2.status_code))
    # modified bytes (1 trailing byte) are not recognised as report content
    md = m1.dav("PUT", "Fwd/m.pdf", data=content + b"\n")
    res.append(("modified put", md.status_code))
    got = {}
    for f in ("Fwd/z.pdf", "Fwd/c.pdf", "Fwd/m.pdf"):
        got[f] = o.dav("GET", f).status_code
    print("ONWARD", res, got)
    assert got["Fwd/z.pdf"] != 200 and got["Fwd/c.pdf"] != 200


# ---------------------------------------------------------------- ingest

def test_bad_multipart(stack, staff, clinic):
    gid, _ = clinic
    p = Patient()
    good_pdf = pdf(["bad input " + uuid.uuid4().hex])
    m = json.dumps(meta_for(p, gid)).encode()
    before = counts(stack)
    cases = {
        "no ctype": (mp([(MD, m), (FD, good_pdf)]), None),
        "text/plain": (mp([(MD, m), (FD, good_pdf)]), "text/plain"),
        "no boundary": (mp([(MD, m), (FD, good_pdf)]), "multipart/form-data"),
        "empty boundary": (mp([(MD, m), (FD, good_pdf)]),
                           "multipart/form-data; boundary="),
        "quoted only": (mp([(MD, m), (FD, good_pdf)]),
                        'multipart/form-data; boundary="'),
        "long boundary": (mp([(MD, m), (FD, good_pdf)], "B" * 200),
                          "multipart/form-data; boundary=" + "B" * 200),
        "wrong boundary": (mp([(MD, m), (FD, good_pdf)]),
                           "multipart/form-data; boundary=other"),
        "empty body": (b"", "multipart/form-data; boundary=XbOuNd"),
        "only close": (b"--XbOuNd--\r\n",
                       "multipart/form-data; boundary=XbOuNd"),
        "no close": (mp([(MD, m), (FD, good_pdf)], close=False),
                     "multipart/form-data; boundary=XbOuNd"),
        "truncated file": (mp([(MD, m), (FD, good_pdf)])[:-60],
                           "multipart/form-data; boundary=XbOuNd"),
        "no header end": (b"--XbOuNd\r\n" + MD.encode() + b"\r\n" + m,
                          "multipart/form-data; boundary=XbOuNd"),
        "huge headers": (mp([(MD + "\r\nX-A: " + "a" * 9000, m),
                             (FD, good_pdf)]),
                         "multipart/form-data; boundary=XbOuNd"),
        "preamble": (b"junk\r\n" + mp([(MD, m), (FD, good_pdf)]),
                     "multipart/form-data; boundary=XbOuNd"),
        "meta array": (mp([(MD, b"[1,2]"), (FD, good_pdf)]),
                       "multipart/form-data; boundary=XbOuNd"),
        "meta null": (mp([(MD, b"null"), (FD, good_pdf)]),
                      "multipart/form-data; boundary=XbOuNd"),
        "meta string": (mp([(MD, b'"x"'), (FD, good_pdf)]),
                        "multipart/form-data; boundary=XbOuNd"),
        "meta empty": (mp([(MD, b""), (FD, good_pdf)]),
                       "multipart/form-data; boundary=XbOuNd"),
        "meta huge": (mp([(MD, b'{"a":"' + b"x" * 70000 + b'"}'),
                          (FD, good_pdf)]),
                      "multipart/form-data; boundary=XbOuNd"),
        "meta bad utf8": (mp([(MD, b'{"a":"\xff\xfe"}'), (FD, good_pdf)]),
                          "multipart/form-data; boundary=XbOuNd"),
        "meta nul": (mp([(MD, b'{"a":"\\u0000"}'), (FD, good_pdf)]),
                     "multipart/form-data; boundary=XbOuNd"),
        "file no meta": (mp([(FD, good_pdf)]),
                         "multipart/form-data; boundary=XbOuNd"),
        "meta no file": (mp([(MD, m)]),
                         "multipart/form-data; boundary=XbOuNd"),
        "no name": (mp([("Content-Disposition: form-data", m),
                        (FD, good_pdf)]),
                    "multipart/form-data; boundary=XbOuNd"),
        "deep nesting": (mp([(MD, b"[" * 5000 + b"]" * 5000),
                             (FD, good_pdf)]),
                         "multipart/form-data; boundary=XbOuNd"),
        "not pdf": (mp([(MD, m), (FD, b"%PDF")]),
                    "multipart/form-data; boundary=XbOuNd"),
    }
    bad = []
    for k, (body, ct) in cases.items():
        h = {}
        if ct is None:
            r = staff.s.post(stack.url + API + "/reports",
                             params={"format": "json"}, data=body,
                             headers={"Content-Type": ""})
        else:
            r = raw_post(staff, body, ct)
        ok = 400 <= r.status_code < 500
        try:
            msg = r.json()["ocs"]["meta"]["message"]
        except Exception:
            msg = r.text[:80]
            ok = False
        print(k, r.status_code, msg)
        if not ok:
            bad.append((k, r.status_code, msg))
    assert counts(stack) == before
    assert bad == []


def test_bad_metadata(stack, staff, clinic):
    gid, _ = clinic
    bad = []
    before = counts(stack)

    def go(label, meta, expect=400):
        p = Patient()
        mm = meta(p)
        r = raw_post(staff, mp([(MD, json.dumps(mm).encode()),
                                (FD, pdf(["m " + uuid.uuid4().hex]))]),
                     "multipart/form-data; boundary=XbOuNd")
        try:
            msg = r.json()["ocs"]["meta"]["message"]
        except Exception:
            msg = r.text[:100]
        print(label, r.status_code, msg)
        if r.status_code != expect:
            bad.append((label, r.status_code, msg))
        for s in (p.family, p.given, p.birth):
            if s in (msg or ""):
                bad.append((label, "echo", s))

    def pat(**kw):
        def f(p):
            m = meta_for(p, gid)
            m["patient"].update(kw)
            return m
        return f

    def order(**kw):
        def f(p):
            m = meta_for(p, gid)
            m["order"].update(kw)
            return m
        return f

    def top(**kw):
        def f(p):
            return meta_for(p, gid, **kw)
        return f

    go("ppid number", pat(id=12345))
    go("ppid null", pat(id=None))
    go("ppid long", pat(id="x" * 65))
    go("family number", pat(family_name=5))
    go("family array", pat(family_name=["a"]))
    go("family long", pat(family_name="x" * 201))
    go("birth 02-30", pat(birth_date="2026-02-30"))
    go("birth 13-01", pat(birth_date="2026-13-01"))
    go("birth ----", pat(birth_date="----------"))
    go("birth 0000", pat(birth_date="0000-01-01"))
    go("birth future", pat(birth_date="2999-01-01"))
    go("birth num", pat(birth_date=19610713))
    go("sex bad", pat(sex="x"))
    go("insurer long", pat(insurer="I" * 100000), 413)
    go("insurer nested", pat(insurer={"a": [1]}))
    go("patient array", top(patient=[1]))
    go("order null", top(order=None))
    go("order number long", order(number="n" * 65))
    go("order number int", order(number=7))
    go("clinic int", order(clinic=1))
    go("clinic wildcard", order(clinic="%"))
    go("cc not array", order(cc="abc"))
    go("cc bogus", order(cc=["nope-" + uuid.uuid4().hex[:4]]))
    go("cc nested", order(cc=[["x"]]))
    go("lanr bad", order(lanr="12345678x"))
    go("refdate 02-30", order(referral_date="2026-02-30"))
    go("physician long", order(physician="D" * 100000), 413)
    go("exam 02-30", top(exam_date="2026-02-30"))
    go("exam 2026-1-1x", top(exam_date="2026-1-1xx"))
    go("status int", top(status=1))
    go("title long", top(title="t" * 301))
    go("title unicode", top(title="Knie \u00fc\U0001F600 \u202e"), 200)
    go("phys long", top(reporting_physician="p" * 201))
    after = counts(stack)
    assert bad == []
    # only the ones expected to succeed added rows
    assert before != after


def test_birthdate_invalid_no_partial_and_messages(stack, staff, clinic):
    """2026-02-30 in each date field: 400, nothing stored."""
    gid, _ = clinic
    for where in ("birth", "referral", "exam"):
        p = Patient()
        m = meta_for(p, gid)
        if where == "birth":
            m["patient"]["birth_date"] = "2026-02-30"
        elif where == "referral":
            m["order"]["referral_date"] = "2026-02-30"
        else:
            m["exam_date"] = "2026-02-30"
        before = counts(stack)
        r = raw_post(staff, mp([(MD, json.dumps(m).encode()),
                                (FD, pdf(["d"]))]),
                     "multipart/form-data; boundary=XbOuNd")
        print(where, r.status_code, r.text[:200])
        assert r.status_code == 400
        assert counts(stack) == before


def test_duplicate_parts(stack, staff, clinic):
    gid, (m1, _) = clinic
    p1, p2 = Patient(), Patient()
    a, b = pdf(["first"]), pdf(["second " + uuid.uuid4().hex])
    body = mp([(MD, json.dumps(meta_for(p1, gid)).encode()),
               (FD, a), (FD, b),
               (MD, json.dumps(meta_for(p2, gid)).encode())])
    before = counts(stack)
    r = raw_post(staff, body, "multipart/form-data; boundary=XbOuNd")
    assert r.status_code == 400
    assert r.json()["ocs"]["meta"]["message"] == \
        "The request has more than one metadata or file part"
    assert counts(stack) == before
    # file first, then metadata
    body = mp([(FD, b), (MD, json.dumps(meta_for(Patient(), gid)).encode())])
    r2 = raw_post(staff, body, "multipart/form-data; boundary=XbOuNd")
    print("file first", r2.status_code)
    assert r2.status_code == 200


def test_size_and_idempotency(stack, staff, clinic, accounts):
    gid, _ = clinic
    before = counts(stack)
    accounts.admin("settings", "set", "ingest.max_bytes", "4096")
    try:
        big = b"%PDF-1.4\n" + b"0" * 200000
        r, _ = ingest(staff, Patient(), gid, body=big)
        print("big", r.status_code, r.text[:200])
        assert r.status_code == 413
    finally:
        accounts.admin("settings", "set", "ingest.max_bytes", "52428800")
    assert counts(stack) == before
    # idempotency: a failing first attempt does not burn the key
    key = uuid.uuid4().hex
    p = Patient()
    r, _ = ingest(staff, p, gid, key=key, status="bogus")
    assert r.status_code == 400
    r, _ = ingest(staff, p, gid, key=key)
    assert r.status_code == 200, r.text
    rid = r.json()["ocs"]["data"]["id"]
    # another staff user with the same key gets a new report
    s2 = User(stack, accounts, "idm", roles=["staff"])
    r2, _ = ingest(s2, Patient(), gid, key=key)
    assert r2.status_code == 200 and r2.json()["ocs"]["data"]["id"] != rid
    # key with odd characters
    for k in ("\t", " ", "ä" * 10, "a\x7f"):
        try:
            r3, _ = ingest(staff, Patient(), gid, key=k)
            print("key", repr(k), r3.status_code)
            assert r3.status_code < 500
        except (ValueError, requests.exceptions.InvalidHeader) as ex:
            print("client refused", repr(k), ex)


# ---------------------------------------------------------------- leaks

def test_zz_logs_have_no_patient_data(stack, staff, clinic, mailbox):
    gid, _ = clinic
    p = Patient()
    p.birth = "1950-02-30"
    m = meta_for(p, gid)
    m["patient"]["birth_date"] = "1950-02-30"
    r = raw_post(staff, mp([(MD, json.dumps(m).encode()), (FD, pdf(["x"]))]),
                 "multipart/form-data; boundary=XbOuNd")
    print(r.status_code, r.text[:200])
    # long value into a column that may have a limit
    p2 = Patient()
    m2 = meta_for(p2, gid)
    m2["patient"]["insurer"] = p2.family * 1000
    r = raw_post(staff, mp([(MD, json.dumps(m2).encode()), (FD, pdf(["x"]))]),
                 "multipart/form-data; boundary=XbOuNd")
    print(r.status_code, r.text[:200])
    logs = stack.worker_logs()
    import glob
    import os
    pglogs = ""
    for f in glob.glob(os.path.join(stack.var, "**", "*.log"),
                       recursive=True):
        with open(f, errors="replace") as fh:
            pglogs += fh.read()
    hits = []
    for s in ("1950-02-30", p2.family, "Zyxmann", "Befund_", "Quirina"):
        if s in logs:
            hits.append(("worker", s))
        if s in pglogs:
            hits.append(("any log", s))
    for f in glob.glob(os.path.join(stack.var, "**", "*.log"),
                       recursive=True):
        with open(f, errors="replace") as fh:
            for line in fh:
                if any(s in line for s in ("1950-02-30", "Zyxmann")):
                    print("LEAK", f, line[:400])
    for line in logs.splitlines():
        if "ERROR" in line or "AddressSanitizer" in line or \
                "\"status\":500" in line:
            print("LOG", line[:300])
    print("HITS", hits)
    assert "AddressSanitizer" not in logs
    assert hits == []


def test_long_field_messages(stack, staff, clinic):
    """Values over a column CHECK limit that the C code does not check."""
    gid, _ = clinic
    out = {}
    for label, f in (("insurer", lambda m: m["patient"].update(
            insurer="I" * 201)),
            ("physician", lambda m: m["order"].update(physician="D" * 201))):
        p = Patient()
        m = meta_for(p, gid)
        f(m)
        before = counts(stack)
        r = raw_post(staff, mp([(MD, json.dumps(m).encode()),
                                (FD, pdf(["l"]))]),
                     "multipart/form-data; boundary=XbOuNd")
        out[label] = (r.status_code, r.json()["ocs"]["meta"]["message"])
        assert counts(stack) == before
    assert out == {
        "insurer": (400, "patient.insurer is too long (at most 200 "
                    "characters)"),
        "physician": (400, "order.physician is too long (at most 200 "
                      "characters)")}


def test_concurrent_new_patient(stack, staff, clinic):
    import threading
    gid, _ = clinic
    p = Patient()
    res = []

    def go():
        r, _ = ingest(staff, p, gid)
        res.append((r.status_code, r.json()["ocs"]["meta"]["message"]))
    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert [s for s, _ in res] == [200, 200, 200, 200]
    assert stack.psql("SELECT count(*) FROM patients WHERE "
                      "practice_patient_id = '%s'" % p.ppid) == "1"


def test_existing_order_other_clinic(stack, staff, clinic, accounts):
    """Same order number, metadata names another clinic: where does it go?"""
    gid, (m1, _) = clinic
    other = accounts.clinic("reo", email=False)
    o = User(stack, accounts, "reoo", groups=[other])
    p = Patient()
    order = "RE-" + uuid.uuid4().hex[:8]
    r1, _ = ingest(staff, p, gid, order=order)
    assert r1.status_code == 200
    before = counts(stack)
    r2, c2 = ingest(staff, p, other, order=order)
    assert r2.status_code == 409
    assert r2.json()["ocs"]["meta"]["message"] == \
        "order.number belongs to another clinic"
    assert counts(stack) == before


def test_practice_system_account_never_signs_in(stack, accounts):
    """The account that owns report files is enabled (its links follow the
    ordinary owner rules) but no path authenticates as it."""
    assert stack.psql("SELECT enabled AND system FROM users WHERE uid = "
                      "'practice'") == "t"
    out = accounts.admin("user", "apppassword", "practice", "x", ok=False)
    assert out.returncode != 0
    out = accounts.admin("user", "passwd", "practice", "--password-stdin",
                         stdin="Some-Long-Passw0rd\n", ok=False)
    assert out.returncode != 0
    r = requests.get(stack.url + "/ocs/v2.php/cloud/user?format=json",
                     auth=("practice", "!"),
                     headers={"OCS-APIRequest": "true",
                              "X-Forwarded-For": fresh_ip()})
    assert r.status_code == 401

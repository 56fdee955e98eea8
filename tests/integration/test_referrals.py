# SPDX-License-Identifier: AGPL-3.0-or-later
"""The referral workflow end to end through nginx: ingest, notifications
(OCS and SMTP), downloads, read receipts, new versions, the legal basis of
every share (referral API, files_sharing, WebDAV), consents and their
withdrawal, membership at access time, retention purge and idempotency."""
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid

import pytest
import requests

from conftest import fresh_ip, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "scripts"))
from mkpdf import pdf  # noqa: E402

API = "/ocs/v2.php/apps/referrals/api/v1"
NO_BASIS = "No legal basis to share this report with this recipient"


class User:
    def __init__(self, stack, accounts, prefix, roles=(), groups=(),
                 email=None):
        self.stack = stack
        self.uid, self.pw, self.ap = accounts.user(prefix, roles=roles,
                                                   groups=groups, email=email)
        self.email = email
        self.s = requests.Session()
        self.s.auth = (self.uid, self.ap)
        self.s.headers["OCS-APIRequest"] = "true"
        self.s.headers["X-Forwarded-For"] = fresh_ip()

    def api(self, method, path, **kw):
        kw.setdefault("params", {})["format"] = "json"
        return self.s.request(method, self.stack.url + API + path, **kw)

    def ok(self, method, path, **kw):
        r = self.api(method, path, **kw)
        assert r.status_code == 200, r.text
        return r.json()["ocs"]["data"]

    def dav(self, method, path, **kw):
        return self.s.request(method, self.stack.url + "/remote.php/dav/files/"
                              + self.uid + "/" + urllib.parse.quote(path),
                              **kw)

    def notifications(self):
        r = self.s.get(self.stack.url + "/ocs/v2.php/apps/notifications/api/"
                       "v2/notifications", params={"format": "json"})
        assert r.status_code == 200, r.text
        return r.json()["ocs"]["data"]

    def files_share(self, **form):
        r = self.s.post(self.stack.url + "/ocs/v2.php/apps/files_sharing/api/"
                        "v1/shares", params={"format": "json"}, data=form)
        return r, r.json()["ocs"]


class Patient:
    """A seeded data subject with unique, searchable identifying data."""

    def __init__(self):
        tag = uuid.uuid4().hex[:8]
        self.ppid = "P-" + tag
        self.family = "Zyxmann" + tag
        self.given = "Quirina" + tag[:3]
        self.birth = "1961-07-13"
        self.fname = "Befund_%s_%s.pdf" % (self.family, self.given)

    def json(self):
        return {"id": self.ppid, "family_name": self.family,
                "given_name": self.given, "birth_date": self.birth,
                "sex": "female", "kvnr": "A123456780", "insurer": "AOK"}

    def secrets(self):
        """Byte strings that must never leave the practice in a notice."""
        return [self.family.encode(), self.given.encode(), b"1961-07-13",
                b"13.07.1961", self.fname.encode(), self.ppid.encode(),
                b"A123456780"]


def ingest(staff, patient, clinic, order=None, cc=(), title="MRT Knie",
           status="final", key=None, body=None, extra=None):
    order = order or "A-" + uuid.uuid4().hex[:10]
    meta = {"patient": patient.json(),
            "order": {"number": order, "clinic": clinic, "cc": list(cc),
                      "physician": "Dr. Berg", "lanr": "123456789",
                      "referral_date": "2026-11-20"},
            "status": status, "title": title, "exam_date": "2026-11-25"}
    meta.update(extra or {})
    content = body if body is not None else pdf(
        ["Befund " + uuid.uuid4().hex, patient.family])
    headers = {"Idempotency-Key": key} if key else {}
    r = staff.api("POST", "/reports", headers=headers, files={
        "metadata": (None, json.dumps(meta), "application/json"),
        "file": (patient.fname, content, "application/pdf")})
    return r, content


@pytest.fixture
def staff(stack, accounts):
    return User(stack, accounts, "rstf", roles=["staff"])


@pytest.fixture
def clinic(stack, accounts):
    """A clinic without a notification address: each member gets mail."""
    gid = accounts.clinic("zw", email=False)
    members = []
    for _ in range(2):
        m = User(stack, accounts, "ref", groups=[gid])
        members.append(m)
    return gid, members


@pytest.fixture
def mailed_clinic(stack, accounts):
    gid = accounts.clinic("zwm", email=False)
    u = User(stack, accounts, "mref", groups=[gid],
             email="mref-%s@clinic.test" % uuid.uuid4().hex[:8])
    return gid, u


def received_name(user):
    """The report file name the user sees in their DAV root."""
    r = user.dav("PROPFIND", "", headers={"Depth": "1"})
    assert r.status_code == 207
    import re
    names = re.findall(r"<d:href>/remote.php/dav/files/[^/]+/(r-[0-9]+-v[0-9]+"
                       r"\.pdf)</d:href>", r.text)
    return names


# ------------------------------------------------------------ the main flow

def test_ingest_notify_download_receipt(stack, staff, mailed_clinic, mailbox):
    gid, ref = mailed_clinic
    p = Patient()
    r, content = ingest(staff, p, gid)
    assert r.status_code == 200, r.text
    rep = r.json()["ocs"]["data"]
    rid = rep["id"]
    assert rep["clinic"] == gid
    assert rep["patient"]["practice_patient_id"] == p.ppid
    v1 = rep["versions"][0]
    assert (v1["version"], v1["status"], v1["current"], v1["size"]) == \
        (1, "final", True, len(content))
    assert [(x["recipient"], x["basis"]) for x in v1["recipients"]] == \
        [(gid, "order")]
    assert v1["read_by"] == []

    # the clinic member is notified: OCS notification and e-mail
    notes = [n for n in ref.notifications()
             if n["object_type"] == "report" and n["object_id"] == rid]
    assert len(notes) == 1
    n = notes[0]
    assert n["app"] == "referrals"
    # rendered in the reader's language: the account's (German default) ...
    assert (n["subject"], n["subjectRich"]) == ("Neuer Befund verfügbar",
                                                "Neuer Befund verfügbar")
    assert n["link"] == stack.url + "/portal/reports/" + rid
    r = ref.s.put(stack.url + "/ocs/v2.php/cloud/users/" + ref.uid,
                  params={"format": "json"},
                  data={"key": "language", "value": "en"})
    assert r.status_code == 200, r.text
    # ... English once the account says so; the stored row is unchanged
    (en,) = [x for x in ref.notifications()
             if x["notification_id"] == n["notification_id"]]
    assert (en["subject"], en["subjectRich"]) == ("New report available",
                                                  "New report available")
    n = en
    raw_note = json.dumps(n).encode()
    mails = mailbox.wait_for(ref.email)
    assert len(mails) == 1
    mail = mails[0]
    assert (stack.url + "/portal/reports/" + rid).encode() in mail
    assert b"Subject: New report available" in mail
    for secret in p.secrets():
        assert secret not in mail, secret
        assert secret not in raw_note, secret

    # the report is in the referrer's list, unread
    lst = ref.ok("GET", "/reports")
    assert [(x["id"], x["read"], x["version"]) for x in lst] == \
        [(rid, False, 1)]

    # download: exact bytes, pseudonymous file name, no caching
    d = ref.api("GET", "/reports/%s/versions/0/download" % rid)
    assert d.status_code == 200
    assert d.content == content
    assert d.headers["Content-Type"] == "application/pdf"
    assert d.headers["Cache-Control"] == "no-store"
    assert d.headers["Content-Disposition"] == \
        'attachment; filename="r-%06d-v1.pdf"' % int(rid)
    assert p.family not in d.headers["Content-Disposition"]

    # a read receipt, once, visible to staff
    ref.api("GET", "/reports/%s/versions/1/download" % rid)
    rep = staff.ok("GET", "/reports/%s" % rid)
    reads = rep["versions"][0]["read_by"]
    assert [(x["user"], x["how"]) for x in reads] == [(ref.uid, "download")]
    assert ref.ok("GET", "/reports")[0]["read"] is True

    # audit rows carry the patient id
    pid = rep["patient"]["id"]
    rows = stack.psql("SELECT action FROM audit_events WHERE patient_id = %s "
                      "ORDER BY id" % int(pid)).split("\n")
    for a in ("patient.create", "order.create", "report.ingest",
              "share.create", "report.download", "report.read"):
        assert a in rows, (a, rows)
    assert rows.count("report.read") == 1
    assert rows.count("report.download") == 2


def test_mark_read_without_download(staff, clinic):
    gid, (m1, m2) = clinic
    r, _ = ingest(staff, Patient(), gid)
    rid = r.json()["ocs"]["data"]["id"]
    # receipts are the recipients': staff marking a report as read made it
    # "read" in the practice's views
    r = staff.api("POST", "/reports/%s/read" % rid)
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (403, "Only recipients confirm reading a report")
    assert staff.ok("GET", "/reports/%s" % rid)["versions"][0][
        "read_by"] == []
    assert m2.api("POST", "/reports/%s/read" % rid).status_code == 200
    assert m2.api("POST", "/reports/%s/read" % rid).status_code == 200
    reads = staff.ok("GET", "/reports/%s" % rid)["versions"][0]["read_by"]
    assert [(x["user"], x["how"]) for x in reads] == [(m2.uid, "marked")]
    # unread filter for staff: this report is read now
    ids = [x["id"] for x in staff.ok("GET", "/reports", params={
        "clinic": gid, "unread": "true"})]
    assert rid not in ids


def test_each_member_mailed_without_clinic_address(staff, clinic, mailbox,
                                                    stack, accounts):
    gid = accounts.clinic("zwe", email=False)
    a = User(stack, accounts, "ea", groups=[gid],
             email="ea-%s@clinic.test" % uuid.uuid4().hex[:6])
    b = User(stack, accounts, "eb", groups=[gid],
             email="eb-%s@clinic.test" % uuid.uuid4().hex[:6])
    r, _ = ingest(staff, Patient(), gid)
    assert r.status_code == 200
    assert len(mailbox.wait_for(a.email)) == 1
    assert len(mailbox.wait_for(b.email)) == 1


def test_clinic_address_gets_one_mail(staff, mailbox, stack, accounts):
    gid = accounts.clinic("zwa")  # notification address gid@clinic.test
    User(stack, accounts, "ca", groups=[gid],
         email="ca-%s@clinic.test" % uuid.uuid4().hex[:6])
    p = Patient()
    r, _ = ingest(staff, p, gid)
    assert r.status_code == 200
    mails = mailbox.wait_for(gid + "@clinic.test")
    assert len(mails) == 1
    for secret in p.secrets():
        assert secret not in mails[0]


def test_new_version_notifies_prior_readers(staff, clinic):
    gid, (m1, m2) = clinic
    r, c1 = ingest(staff, Patient(), gid, status="preliminary")
    rid = r.json()["ocs"]["data"]["id"]
    assert m1.api("GET", "/reports/%s/versions/0/download" % rid).content == c1
    before = len(m1.notifications())
    c2 = pdf(["corrected " + uuid.uuid4().hex])
    r = staff.api("POST", "/reports/%s/versions" % rid, files={
        "metadata": (None, json.dumps({"status": "corrected",
                                       "title": "MRT Knie (korrigiert)",
                                       "exam_date": "2026-11-25"})),
        "file": ("x.pdf", c2, "application/pdf")})
    assert r.status_code == 200, r.text
    vers = r.json()["ocs"]["data"]["versions"]
    assert [(v["version"], v["status"], v["current"], v["superseded"])
            for v in vers] == [(1, "preliminary", False, True),
                               (2, "corrected", True, False)]
    notes = m1.notifications()
    assert len(notes) == before + 1
    assert notes[0]["subject"] == "Ein Befund wurde aktualisiert"
    assert notes[0]["object_id"] == rid
    # current is v2; v1 stays readable, marked superseded
    assert m1.api("GET", "/reports/%s/versions/0/download" % rid).content == c2
    assert m1.api("GET", "/reports/%s/versions/1/download" % rid).content == c1
    mine = m1.ok("GET", "/reports/%s" % rid)
    assert [(v["version"], v["superseded"]) for v in mine["versions"]] == \
        [(1, True), (2, False)]
    assert "recipients" not in mine["versions"][0]
    # the new version went to the same clinic with basis "order"
    rec = staff.ok("GET", "/reports/%s" % rid)["versions"][1]["recipients"]
    assert [(x["recipient"], x["basis"]) for x in rec] == [(gid, "order")]


def test_cc_clinic_gets_report(staff, clinic, accounts, stack):
    gid, (m1, _) = clinic
    cc = accounts.clinic("cc", email=False)
    c = User(stack, accounts, "ccm", groups=[cc])
    r, content = ingest(staff, Patient(), gid, cc=[cc])
    assert r.status_code == 200, r.text
    rid = r.json()["ocs"]["data"]["id"]
    rec = r.json()["ocs"]["data"]["versions"][0]["recipients"]
    assert sorted((x["recipient"], x["basis"]) for x in rec) == \
        sorted([(gid, "order"), (cc, "order")])
    assert c.api("GET", "/reports/%s/versions/0/download" % rid).content == \
        content


def test_mail_failures_retried_and_visible_to_manager(stack, staff, accounts,
                                                     mailbox):
    gid = accounts.clinic("zwf", email=False)
    bad = "reject-%s@clinic.test" % uuid.uuid4().hex[:6]
    User(stack, accounts, "fm", groups=[gid], email=bad)
    mgr = User(stack, accounts, "mgr", roles=["manager"])
    r, _ = ingest(staff, Patient(), gid)
    assert r.status_code == 200

    def pending():
        return [m for m in mgr.ok("GET", "/mail", params={"state": "pending"})
                if m["recipient"] == bad]
    assert wait_for(lambda: pending() and pending()[0]["attempts"] >= 1, 15)
    m = pending()[0]
    assert m["subject"] == "New report available"
    assert "550" in m["last_error"]
    assert m["next_attempt"] > m["created"]
    assert "body" not in m
    # retried with backoff until it is given up after 8 attempts
    try:
        for i in range(1, 12):
            accounts.set_clock(i * 5 * 3600)
            accounts.admin("mail", "send")
    finally:
        accounts.set_clock(0)
    failed = [m for m in mgr.ok("GET", "/mail", params={"state": "failed"})
              if m["recipient"] == bad]
    assert len(failed) == 1
    assert failed[0]["attempts"] == 8
    assert mailbox.to(bad) == []
    # staff and referrers do not see the queue
    assert staff.api("GET", "/mail").status_code == 403


# ------------------------------------------------------------ legal basis

def test_share_without_basis_refused_everywhere(stack, staff, clinic,
                                                accounts):
    gid, (m1, _) = clinic
    other = accounts.clinic("oth", email=False)
    o = User(stack, accounts, "oref", groups=[other])
    p = Patient()
    r, content = ingest(staff, p, gid)
    rid = r.json()["ocs"]["data"]["id"]
    shares_before = stack.psql("SELECT count(*) FROM shares")

    # 1. the referral API
    r = staff.api("POST", "/reports/%s/shares" % rid,
                  data={"shareType": "1", "shareWith": other})
    assert r.status_code == 403
    assert r.json()["ocs"]["meta"]["message"] == NO_BASIS
    r = staff.api("POST", "/reports/%s/shares" % rid,
                  data={"shareType": "0", "shareWith": o.uid})
    assert r.status_code == 403
    r = staff.api("POST", "/reports/%s/shares" % rid,
                  data={"shareType": "3", "password": "Link-password-1"})
    assert r.status_code == 403
    assert r.json()["ocs"]["meta"]["message"] == NO_BASIS

    # 2. files_sharing: a referrer's own copy of the report is report content
    assert m1.dav("PUT", "copy.pdf", data=content).status_code == 201
    r, ocs = m1.files_share(path="/copy.pdf", shareType="1",
                            shareWith=other)
    assert r.status_code == 403, ocs
    assert ocs["meta"]["message"] == NO_BASIS
    r, ocs = m1.files_share(path="/copy.pdf", shareType="3",
                            password="Link-password-1")
    assert r.status_code == 403
    # ... also inside a folder
    m1.dav("MKCOL", "Out")
    assert m1.dav("PUT", "Out/a.pdf", data=content).status_code == 201
    r, ocs = m1.files_share(path="/Out", shareType="1", shareWith=other)
    assert r.status_code == 403
    assert ocs["meta"]["message"] == NO_BASIS

    # 3. WebDAV: copying the received report into a folder shared with
    #    the other clinic is refused and leaves nothing behind
    m1.dav("DELETE", "Out/a.pdf")
    r, ocs = m1.files_share(path="/Out", shareType="1", shareWith=other,
                            permissions="1")
    assert r.status_code == 200, ocs
    name = received_name(m1)[0]
    r = m1.dav("COPY", name, headers={
        "Destination": stack.url + "/remote.php/dav/files/%s/Out/x.pdf"
        % m1.uid})
    assert r.status_code == 403
    assert NO_BASIS in r.text
    assert m1.dav("GET", "Out/x.pdf").status_code == 404
    # uploading the same bytes there is refused as well
    r = m1.dav("PUT", "Out/y.pdf", data=content)
    assert r.status_code == 403
    assert m1.dav("GET", "Out/y.pdf").status_code == 404
    assert o.dav("GET", "Out/x.pdf").status_code == 404
    # the only new shares are the Out folder share
    assert int(stack.psql("SELECT count(*) FROM shares")) == \
        int(shares_before) + 1


def test_consent_allows_then_withdrawal_ends(stack, staff, clinic, accounts,
                                             mailbox):
    gid, _ = clinic
    other = accounts.clinic("sec", email=False)
    o = User(stack, accounts, "sref", groups=[other],
             email="sref-%s@clinic.test" % uuid.uuid4().hex[:6])
    p = Patient()
    r, content = ingest(staff, p, gid)
    rep = r.json()["ocs"]["data"]
    rid, pid = rep["id"], rep["patient"]["id"]

    k = staff.ok("POST", "/consents", data={
        "patient": pid, "clinic": other, "report": rid,
        "purpose": "Mitbehandlung", "text_version": "2026-01",
        "text_sha256": "a" * 64, "channel": "reception"})
    assert k["withdrawn_at"] is None
    kl = staff.ok("POST", "/consents", data={
        "patient": pid, "links": "true", "report": rid,
        "purpose": "Zweitmeinung", "text_version": "2026-01",
        "text_sha256": "b" * 64, "channel": "paper"})

    s = staff.ok("POST", "/reports/%s/shares" % rid,
                 data={"shareType": "1", "shareWith": other})
    assert (s["basis"], s["consent_id"]) == ("consent", k["id"])
    link = staff.ok("POST", "/reports/%s/shares" % rid,
                    data={"shareType": "3", "password": "Link-password-1"})
    assert (link["basis"], link["consent_id"]) == ("consent", kl["id"])
    assert o.api("GET", "/reports/%s/versions/0/download" % rid).content == \
        content
    lk = requests.get(link["url"], headers={"X-Forwarded-For": fresh_ip()})
    assert lk.status_code == 200
    assert mailbox.wait_for(o.email)

    # withdrawal ends the clinic share in the same transaction ...
    w = staff.ok("POST", "/consents/%s/withdraw" % k["id"],
                 data={"channel": "reception", "note": "at the desk"})
    assert w["ended_shares"] == 1
    assert w["withdrawn_at"] is not None
    assert o.api("GET", "/reports/%s/versions/0/download" % rid).status_code \
        == 404
    assert o.api("GET", "/reports/%s" % rid).status_code == 404
    assert [x for x in o.ok("GET", "/reports") if x["id"] == rid] == []
    assert received_name(o) == []
    notes = [n for n in o.notifications() if n["object_type"] == "consent"]
    assert len(notes) == 1
    for secret in p.secrets():
        assert secret not in json.dumps(notes).encode()
    # ... and the link ends with its own consent
    w2 = staff.ok("POST", "/consents/%s/withdraw" % kl["id"],
                  data={"channel": "portal"})
    assert w2["ended_shares"] == 1
    lk = requests.get(link["url"], headers={"X-Forwarded-For": fresh_ip()})
    assert lk.status_code == 404
    ends = stack.psql("SELECT end_reason FROM shares WHERE consent_id IN "
                      "(%s, %s)" % (int(k["id"]), int(kl["id"])))
    assert ends.split("\n") == ["consent_withdrawn", "consent_withdrawn"]
    # a withdrawn consent stays withdrawn and cannot be reused
    r = staff.api("POST", "/consents/%s/withdraw" % k["id"],
                  data={"channel": "reception"})
    assert r.status_code == 409
    r = staff.api("POST", "/reports/%s/shares" % rid,
                  data={"shareType": "1", "shareWith": other})
    assert r.status_code == 403
    # the printable confirmation for the data subject
    b = accounts.browser()
    accounts.enrol(b, accounts.web_login(b, staff.uid, staff.pw))
    page = b.get(w["confirmation"])
    assert page.status_code == 200
    assert p.family in page.text
    assert "reception" in page.text
    # consents cannot be deleted: no route, and the row is kept
    r = staff.api("DELETE", "/consents/%s" % k["id"])
    assert r.status_code in (404, 405)
    assert staff.ok("GET", "/consents", params={"patient": pid})[0]["id"] \
        in (k["id"], kl["id"])


def test_removed_member_loses_access(stack, staff, clinic, accounts):
    gid, (m1, m2) = clinic
    r, content = ingest(staff, Patient(), gid)
    rid = r.json()["ocs"]["data"]["id"]
    assert m1.api("GET", "/reports/%s/versions/0/download" % rid).content == \
        content
    adm_uid, _, adm_ap = accounts.user("radm", roles=["admin"])
    r = requests.delete(stack.url + "/ocs/v2.php/cloud/users/%s/groups"
                        "?format=json" % m1.uid, auth=(adm_uid, adm_ap),
                        data={"groupid": gid},
                        headers={"OCS-APIRequest": "true"})
    assert r.status_code == 200, r.text
    assert m1.api("GET", "/reports/%s/versions/0/download" % rid).status_code \
        == 404
    assert m1.ok("GET", "/reports") == []
    assert received_name(m1) == []
    assert m2.api("GET", "/reports/%s/versions/0/download" % rid).content == \
        content
    # an administrator operates the system but reads no report content
    a = requests.get(stack.url + API + "/reports/%s/versions/0/download" % rid,
                     auth=(adm_uid, adm_ap),
                     headers={"OCS-APIRequest": "true"})
    assert a.status_code == 404


def test_referrer_cannot_read_foreign_or_staff_apis(stack, staff, clinic,
                                                    accounts):
    gid, (m1, _) = clinic
    other = accounts.clinic("frn", email=False)
    o = User(stack, accounts, "fref", groups=[other])
    r, _ = ingest(staff, Patient(), gid)
    rep = r.json()["ocs"]["data"]
    assert o.api("GET", "/reports/%s" % rep["id"]).status_code == 404
    assert o.api("GET", "/reports/%s/versions/0/download" %
                 rep["id"]).status_code == 404
    assert o.api("POST", "/reports/%s/read" % rep["id"]).status_code == 404
    for method, path in (("GET", "/patients"), ("GET", "/consents?patient=1"),
                         ("POST", "/reports/%s/shares" % rep["id"]),
                         ("GET", "/patients/%s" % rep["patient"]["id"])):
        assert m1.api(method, path).status_code == 403, path
    r, _ = ingest(m1, Patient(), gid)
    assert r.status_code == 403


# ------------------------------------------------------------ ingest rules

def test_ingest_is_idempotent(stack, staff, clinic):
    gid, (m1, _) = clinic
    p = Patient()
    key = uuid.uuid4().hex
    body = pdf(["idempotent " + key])
    n0 = int(stack.psql("SELECT count(*) FROM reports"))
    ids = [ingest(staff, p, gid, order="IDEM-" + key, key=key, body=body)[0]
           for _ in range(3)]
    assert [r.status_code for r in ids] == [200, 200, 200]
    assert len({r.json()["ocs"]["data"]["id"] for r in ids}) == 1
    assert int(stack.psql("SELECT count(*) FROM reports")) == n0 + 1
    assert len([n for n in m1.notifications() if n["object_id"] ==
                ids[0].json()["ocs"]["data"]["id"]]) == 1

    # concurrent retries: still one report
    key2 = uuid.uuid4().hex
    res = []

    def go():
        res.append(ingest(staff, p, gid, order="IDEM-" + key2, key=key2,
                          body=body)[0])
    ts = [threading.Thread(target=go) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert [r.status_code for r in res] == [200, 200, 200]
    assert len({r.json()["ocs"]["data"]["id"] for r in res}) == 1
    assert int(stack.psql("SELECT count(*) FROM reports")) == n0 + 2


def test_ingests_and_new_versions_in_parallel(staff, clinic):
    """An ingest of a new patient audits the patient and the order before
    it stores the report file; a new version stores the file, then audits.
    In opposite lock orders (audit trail, practice file tree) the two
    deadlocked and one got a 500; the ingest now takes the tree first."""
    gid, _ = clinic
    rids = [ingest(staff, Patient(), gid)[0].json()["ocs"]["data"]["id"]
            for _ in range(4)]
    res = []

    def new_patients():
        for _ in range(3):
            res.append(ingest(staff, Patient(), gid)[0].status_code)

    def new_versions(rid):
        for i in range(3):
            r = staff.api("POST", "/reports/%s/versions" % rid, files={
                "metadata": (None, json.dumps({
                    "status": "corrected", "title": "MRT Knie v%d" % i,
                    "exam_date": "2026-11-25"})),
                "file": ("x.pdf", pdf(["v %d %s" % (i, uuid.uuid4().hex)]),
                         "application/pdf")})
            res.append(r.status_code)
    ts = [threading.Thread(target=new_patients) for _ in range(4)] + [
        threading.Thread(target=new_versions, args=(rid,)) for rid in rids]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert res == [200] * 24
    for rid in rids:
        vers = staff.ok("GET", "/reports/%s" % rid)["versions"]
        assert [v["version"] for v in vers] == [1, 2, 3, 4]


def test_ingest_rejects_bad_input_and_changes_nothing(stack, staff, clinic):
    gid, _ = clinic
    p = Patient()
    n0 = stack.psql("SELECT (SELECT count(*) FROM reports) || '/' || (SELECT "
                    "count(*) FROM patients) || '/' || (SELECT count(*) FROM "
                    "orders)")
    r, _ = ingest(staff, p, gid, body=b"GIF89a not a pdf")
    assert r.status_code == 415
    assert r.json()["ocs"]["meta"]["message"] == \
        "Only PDF reports are accepted"
    r, _ = ingest(staff, p, gid, body=b"")
    assert r.status_code == 415
    r, _ = ingest(staff, p, gid, status="done")
    assert r.status_code == 400
    r, _ = ingest(staff, p, gid, title="")
    assert r.status_code == 400
    r, _ = ingest(staff, p, "no-such-clinic")
    assert r.status_code == 400
    bad = Patient()
    bad_json = bad.json()
    bad_json["kvnr"] = "A123456781"
    r, _ = ingest(staff, bad, gid, extra={"patient": bad_json})
    assert r.status_code == 400
    assert r.json()["ocs"]["meta"]["message"] == \
        "patient.kvnr is not a valid insurance number"
    r = staff.api("POST", "/reports", files={
        "file": ("a.pdf", pdf(["x"]), "application/pdf")})
    assert r.status_code == 400
    r = staff.api("POST", "/reports", files={
        "metadata": (None, "{not json"), "file": ("a.pdf", pdf(["x"]))})
    assert r.status_code == 400
    r = staff.api("POST", "/reports", headers={"Idempotency-Key": "x" * 300},
                  files={"metadata": (None, "{}"), "file": ("a", b"%PDF-")})
    assert r.status_code == 400
    assert stack.psql("SELECT (SELECT count(*) FROM reports) || '/' || "
                      "(SELECT count(*) FROM patients) || '/' || (SELECT "
                      "count(*) FROM orders)") == n0


def test_ingest_size_limit(stack, staff, clinic, accounts):
    gid, _ = clinic
    accounts.admin("settings", "set", "ingest.max_bytes", "2048")
    try:
        r, _ = ingest(staff, Patient(), gid, body=b"%PDF-1.4\n" + b"0" * 4096)
        assert r.status_code == 413
        r, _ = ingest(staff, Patient(), gid, body=b"%PDF-1.4\n" + b"0" * 1000)
        assert r.status_code == 200
    finally:
        accounts.admin("settings", "set", "ingest.max_bytes", "52428800")


def test_existing_patient_and_order_matched(stack, staff, clinic):
    gid, _ = clinic
    p = Patient()
    r1, _ = ingest(staff, p, gid, order="ORD-" + p.ppid)
    r2, _ = ingest(staff, p, gid, order="ORD-" + p.ppid, title="Röntgen")
    a, b = r1.json()["ocs"]["data"], r2.json()["ocs"]["data"]
    assert a["id"] != b["id"]
    assert a["patient"]["id"] == b["patient"]["id"]
    assert stack.psql("SELECT count(*) FROM orders WHERE order_number = "
                      "'ORD-%s'" % p.ppid) == "1"
    # patient search: name prefix, id, KVNR, birth date
    for q in (p.family[:9], p.ppid, p.birth, "A123456780"):
        ids = [x["id"] for x in staff.ok("POST", "/patients/search",
                                          data={"q": q})]
        assert a["patient"]["id"] in ids, q
    # never in the URL (no patient data in URLs: proxies and browsers
    # keep them)
    for path, q in (("/patients", {"q": p.ppid}),
                    ("/reports", {"patient": p.ppid})):
        r = staff.api("GET", path, params=q)
        assert r.status_code == 400
        assert "patient data stays out of URLs" in \
            r.json()["ocs"]["meta"]["message"]
    # LIKE's wildcards are text in a name search: "Zyxmann_" and
    # "Zyxmann%" find no one (every seeded name is "Zyxmann" + hex)
    for q in ("Zyxmann_", "Zyxmann%", "_", "%", "\\"):
        assert staff.ok("POST", "/patients/search", data={"q": q}) == [], q
    # the referrer's inbox filter too: a wildcard is no name
    ref = clinic[1][0]
    assert ref.ok("POST", "/reports/search", data={"patient": "_"}) == []
    assert [x["id"] for x in ref.ok("POST", "/reports/search", data={
        "patient": p.family[:9]})] == [b["id"], a["id"]]
    lst = staff.ok("POST", "/reports/search", data={"patient": p.ppid})
    assert [x["id"] for x in lst] == [b["id"], a["id"]]


def test_report_file_is_pseudonymous(stack, staff, clinic):
    gid, _ = clinic
    p = Patient()
    r, _ = ingest(staff, p, gid)
    rid = int(r.json()["ocs"]["data"]["id"])
    path = stack.psql("SELECT name FROM files WHERE id = (SELECT file_id FROM "
                      "report_versions WHERE report_id = %d)" % rid)
    assert path == "r-%06d-v1.pdf" % rid


def test_failed_webdav_download_leaves_no_receipt(stack, staff, clinic):
    """A referrer's WebDAV download writes the read receipt, report.read
    and file.download; they were three separate commits, so a failure at
    the last left a receipt of a report nobody received, and report.read
    (written only with the first receipt) was never written again.  Now
    all or nothing."""
    gid, (m1, _) = clinic
    r, content = ingest(staff, Patient(), gid)
    rid = r.json()["ocs"]["data"]["id"]
    name = "r-%06d-v1.pdf" % int(rid)
    receipts = ("SELECT count(*) FROM read_receipts rr JOIN report_versions "
                "v ON v.id = rr.report_version_id WHERE v.report_id = %s" %
                rid)
    with stack.failing_audit("file.download"):
        assert m1.dav("GET", name).status_code == 500
    assert stack.psql(receipts) == "0"
    assert m1.dav("GET", name).content == content
    assert stack.psql(receipts) == "1"
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'report.read' AND object_type = 'report_version' AND "
                      "object_id IN (SELECT id::text FROM report_versions "
                      "WHERE report_id = %s)" % rid) == "1"


# ------------------------------------------------------------ retention

def test_purge_leaves_tombstone(stack, staff, clinic, accounts):
    gid, (m1, _) = clinic
    held, gone = Patient(), Patient()
    rh, _ = ingest(staff, held, gid)
    rg, content = ingest(staff, gone, gid)
    hid, gid_ = rh.json()["ocs"]["data"], rg.json()["ocs"]["data"]
    stack.psql("UPDATE patients SET legal_hold = true WHERE id = %d" %
               int(hid["patient"]["id"]))
    sha = gid_["versions"][0]["sha256"]
    try:
        accounts.set_clock(91 * 86400)
        out = accounts.admin("purge")
        assert "purged" in out.stdout
    finally:
        accounts.set_clock(0)
    assert m1.api("GET", "/reports/%s/versions/0/download" %
                  gid_["id"]).status_code == 404
    assert m1.api("GET", "/reports/%s/versions/0/download" %
                  hid["id"]).status_code == 200
    # tombstone: ids, hash, dates; no content, no file, shares ended
    row = stack.psql("SELECT v.file_id IS NULL, v.sha256, v.content_deleted_at "
                     "IS NOT NULL, r.purged_at IS NOT NULL FROM "
                     "report_versions v JOIN reports r ON r.id = v.report_id "
                     "WHERE r.id = %d" % int(gid_["id"]))
    assert row == "t|%s|t|t" % sha
    assert stack.psql("SELECT DISTINCT end_reason FROM shares WHERE "
                      "report_version_id IN (SELECT id FROM report_versions "
                      "WHERE report_id = %d)" % int(gid_["id"])) == "purged"
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'report.purge' AND patient_id = %d" %
                      int(gid_["patient"]["id"])) == "1"
    rep = staff.ok("GET", "/reports/%s" % gid_["id"])
    assert rep["versions"][0]["available"] is False
    assert staff.api("GET", "/reports/%s/versions/0/download" %
                     gid_["id"]).status_code == 404
    # running it again changes nothing
    out = accounts.admin("purge")
    assert out.stdout.startswith("0 reports")


def test_purge_while_reports_are_read(stack, staff, clinic, accounts):
    """The purge runs as one transaction over every report past retention;
    it audited each report as it went and so held the audit trail's lock
    while it went on to the next reports' rows.  A download reads its
    version row (FOR SHARE) and then audits: the two deadlocked.  The
    purge now writes its audit rows after the last report."""
    import threading
    gid, _ = clinic
    rids = [ingest(staff, Patient(), gid)[0].json()["ocs"]["data"]["id"]
            for _ in range(6)]
    for rid in rids:
        staff.ok("GET", "/reports/%s" % rid)
    res, done = [], threading.Event()

    def reads():
        while not done.is_set():
            for rid in rids:
                res.append(staff.api("GET", "/reports/%s/versions/0/download"
                                     % rid).status_code)
    try:
        accounts.set_clock(91 * 86400)
        ts = [threading.Thread(target=reads) for _ in range(2)]
        for t in ts:
            t.start()
        out = accounts.admin("purge", ok=False)
        done.set()
        for t in ts:
            t.join()
    finally:
        done.set()
        accounts.set_clock(0)
    assert out.returncode == 0, out.stderr
    assert set(res) <= {200, 404}, res
    assert stack.psql("SELECT count(*) FROM reports WHERE id IN (%s) AND "
                      "purged_at IS NULL" % ",".join(map(str, rids))) == "0"
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'report.purge' AND object_id IN (%s)" % ",".join(
                          "'%s'" % r for r in rids)) == "6"


def test_recipients_that_left_get_nothing_more(stack, accounts, staff):
    """A report shared with one clinic member personally (basis: the
    order, through the membership) stayed readable after the member left
    the clinic - and a new version then failed with 403 for everyone
    (re-sharing needs a basis).  A deleted clinic made every new version
    and every new report on its orders fail (404), and a new clinic that
    took the deleted one's name would have received them.  Now: the
    personal share needs the membership at access time, new versions and
    reports skip recipients that left or are gone."""
    mgr = User(stack, accounts, "lmgr", roles=["manager"])
    gid = accounts.clinic("lva", email=False)
    cc = accounts.clinic("lvb", email=False)
    m = User(stack, accounts, "lvm", groups=[gid])
    other = User(stack, accounts, "lvo", groups=[gid])
    order = "A-" + uuid.uuid4().hex[:10]
    p = Patient()
    r, c1 = ingest(staff, p, gid, order=order, cc=[cc])
    assert r.status_code == 200, r.text
    rid = r.json()["ocs"]["data"]["id"]
    r = staff.api("POST", "/reports/%s/shares" % rid,
                  data={"shareType": "0", "shareWith": m.uid})
    assert r.status_code == 200, r.text
    dl = "/reports/%s/versions/0/download" % rid
    assert m.api("GET", dl).content == c1
    # the member leaves the clinic
    prov = requests.Session()
    prov.auth = (mgr.uid, mgr.ap)
    prov.headers.update({"OCS-APIRequest": "true",
                         "X-Forwarded-For": fresh_ip()})
    r = prov.delete(stack.url + "/ocs/v2.php/cloud/users/%s/groups" % m.uid,
                    params={"format": "json"}, data={"groupid": gid})
    assert r.status_code == 200, r.text
    assert m.api("GET", dl).status_code == 404
    assert m.api("GET", "/reports/%s" % rid).status_code == 404
    # the CC clinic is deleted, a new one takes its name
    r = prov.delete(stack.url + "/ocs/v2.php/cloud/groups/%s" % cc,
                    params={"format": "json"})
    assert r.status_code == 200, r.text
    r = prov.post(stack.url + API + "/clinics", params={"format": "json"},
                  data={"id": cc, "name": "Neue Praxis", "bsnr": "987654321"})
    assert r.status_code == 200, r.text
    newcomer = User(stack, accounts, "lvn", groups=[cc])
    # a new version and a new report on the order reach who is left
    c2 = pdf(["corrected " + uuid.uuid4().hex])
    r = staff.api("POST", "/reports/%s/versions" % rid, files={
        "metadata": (None, json.dumps({"status": "corrected",
                                       "title": "MRT Knie (korrigiert)",
                                       "exam_date": "2026-11-25"})),
        "file": ("x.pdf", c2, "application/pdf")})
    assert r.status_code == 200, r.text
    r, c3 = ingest(staff, p, gid, order=order, title="MRT Hüfte")
    assert r.status_code == 200, r.text
    rid3 = r.json()["ocs"]["data"]["id"]
    assert other.api("GET", dl).content == c2
    assert other.api("GET", "/reports/%s/versions/0/download" %
                     rid3).content == c3
    for r_id in (rid, rid3):
        assert m.api("GET", "/reports/%s/versions/0/download" %
                     r_id).status_code == 404
        assert newcomer.api("GET", "/reports/%s/versions/0/download" %
                            r_id).status_code == 404
    assert stack.psql("SELECT count(*) FROM shares s JOIN groups g ON g.id = "
                      "s.share_with_group WHERE g.gid = '%s' AND "
                      "g.deleted_at IS NULL" % cc) == "0"


def test_report_details_read_through_the_api_are_audited(stack, accounts,
                                                         staff, clinic):
    """The portal audited its report page, the API did not: a stolen app
    password could list and read every patient's name and birth date and
    leave nothing behind.  GET /reports/{id} is now report.view (with the
    patient, so the Art. 15 export lists it), GET /reports one report.list
    row naming the reports it returned."""
    gid, (m1, _) = clinic
    mgr = User(stack, accounts, "amgr", roles=["manager"])
    r, _ = ingest(staff, Patient(), gid)
    rep = r.json()["ocs"]["data"]
    rid, pid = rep["id"], rep["patient"]["id"]
    assert m1.api("GET", "/reports/%s" % rid).status_code == 200
    assert m1.api("GET", "/reports/%s" % (int(rid) + 100000)).\
        status_code == 404
    assert stack.psql(
        "SELECT string_agg(e.object_id || ' ' || e.patient_id || ' ' || "
        "u.uid, ',') FROM audit_events e JOIN users u ON u.id = "
        "e.actor_user_id WHERE e.action = 'report.view' AND u.uid = '%s'"
        % m1.uid) == "%s %s %s" % (rid, pid, m1.uid)
    ids = [x["id"] for x in m1.ok("GET", "/reports")]
    assert rid in ids
    assert json.loads(stack.psql(
        "SELECT details FROM audit_events e JOIN users u ON u.id = "
        "e.actor_user_id WHERE e.action = 'report.list' AND u.uid = '%s' "
        "ORDER BY e.id DESC LIMIT 1" % m1.uid)) == {"report_ids": ids}
    out = mgr.ok("POST", "/patients/%s/access-export" % pid)
    assert [(a["event"], a["what"], a["by"]["uid"]) for a in out["accesses"]
            if a["event"] == "report.view"] == \
        [("report.view", "details_viewed", m1.uid)]


def test_share_and_withdrawal_at_once(stack, staff, clinic, accounts):
    """A share made on a consent while the consent was being withdrawn:
    the share read the consent as valid, the withdrawal did not see the
    share yet (uncommitted), and the share stayed un-ended - missing from
    the withdrawal's confirmation, its recipient told of a new report.
    The share now takes the practice tree's lock first, as the withdrawal
    does.  The audit trail's lock is held by the test until both requests
    wait, so they truly overlap."""
    gid, _ = clinic
    other = accounts.clinic("swc", email=False)
    p = Patient()
    r, _ = ingest(staff, p, gid)
    rep = r.json()["ocs"]["data"]
    rid, pid = rep["id"], rep["patient"]["id"]
    k = staff.ok("POST", "/consents", data={
        "patient": pid, "clinic": other, "report": rid,
        "purpose": "Mitbehandlung", "text_version": "2026-01",
        "text_sha256": "c" * 64, "channel": "reception"})
    out = {}

    def share():
        out["share"] = staff.api("POST", "/reports/%s/shares" % rid, data={
            "shareType": "1", "shareWith": other}).status_code

    def withdraw():
        out["withdraw"] = staff.api("POST", "/consents/%s/withdraw" %
                                    k["id"], data={"channel": "paper"})
    # the mailer writes audit rows too: nothing of it may wait with ours
    assert wait_for(lambda: stack.psql(
        "SELECT count(*) FROM mail_queue WHERE sent_at IS NULL AND "
        "failed_at IS NULL") == "0", 60)
    with stack.holding("SELECT pg_advisory_xact_lock(7263788202)"):
        t1 = threading.Thread(target=share)
        t1.start()
        assert wait_for(lambda: stack.lock_waits() == 1, 30)
        t2 = threading.Thread(target=withdraw)
        t2.start()
        assert wait_for(lambda: stack.lock_waits() == 2, 30)
    t1.join()
    t2.join()
    assert out["withdraw"].status_code == 200, out["withdraw"].text
    assert stack.psql("SELECT count(*) FROM shares WHERE consent_id = %s AND "
                      "ended_at IS NULL" % k["id"]) == "0"
    if out["share"] == 200:     # it came first: the withdrawal ended it
        assert out["withdraw"].json()["ocs"]["data"]["ended_shares"] == 1
    else:
        assert out["share"] == 403


def test_new_version_keeps_the_recipients_end_date(stack, staff, clinic):
    """A new version re-shared with everyone who had the report under
    today's default expiry (90 days): a personal share meant to end
    tomorrow gave the new version three months.  The new share now ends
    when the recipient's access to the earlier version ends."""
    gid, (m1, _) = clinic
    r, _ = ingest(staff, Patient(), gid)
    rid = r.json()["ocs"]["data"]["id"]
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    r = staff.api("POST", "/reports/%s/shares" % rid, data={
        "shareType": "0", "shareWith": m1.uid, "expireDate": tomorrow})
    assert r.status_code == 200, r.text
    r = staff.api("POST", "/reports/%s/versions" % rid, files={
        "metadata": (None, json.dumps({"status": "corrected",
                                       "title": "MRT Knie (korrigiert)",
                                       "exam_date": "2026-11-25"})),
        "file": ("x.pdf", pdf(["v2 " + uuid.uuid4().hex]),
                 "application/pdf")})
    assert r.status_code == 200, r.text
    ends = stack.psql(
        "SELECT string_agg(s.expires_at::text, ',' ORDER BY v.version) FROM "
        "shares s JOIN report_versions v ON v.id = s.report_version_id JOIN "
        "users u ON u.id = s.share_with_user WHERE v.report_id = %s AND "
        "u.uid = '%s'" % (rid, m1.uid)).split(",")
    assert len(ends) == 2 and ends[0] == ends[1], ends

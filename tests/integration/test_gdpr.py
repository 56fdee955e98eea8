# SPDX-License-Identifier: AGPL-3.0-or-later
"""GDPR proof end to end: the Art. 15 access export lists exactly what
happened to a seeded patient, erasure is blocked by a legal hold or a
retention duty, restriction hides the patient, erasure removes the content
on every path, notifies the recipients (OCS and SMTP) and issues a signed
confirmation; audit search, incident query and the Art. 30 record."""
import csv
import io
import json
import os
import tempfile
import uuid

import pytest
import requests

from conftest import fresh_ip
from test_referrals import API, NO_BASIS, User, Patient, ingest, pdf, \
    received_name


def public_get(stack, token, pw):
    return requests.get(stack.url + "/public.php/dav/files/%s/" % token,
                        auth=("anonymous", pw),
                        headers={"X-Forwarded-For": fresh_ip()})


class World:
    """One patient with 3 clinic shares, 1 link, 2 downloads, 1 failed link
    password, 1 consent withdrawal and 1 correction (issue 7's seed)."""

    def __init__(self, stack, accounts):
        self.stack = stack
        self.staff = User(stack, accounts, "gstf", roles=["staff"])
        self.mgr = User(stack, accounts, "gmgr", roles=["manager"])
        self.a = accounts.clinic("ga", email=False)
        self.b = accounts.clinic("gb", email=False)
        self.c = accounts.clinic("gc", email=False)
        self.ma = User(stack, accounts, "gma", groups=[self.a],
                       email="gma-%s@clinic.test" % uuid.uuid4().hex[:6])
        self.mb = User(stack, accounts, "gmb", groups=[self.b])
        self.mc = User(stack, accounts, "gmc", groups=[self.c])
        self.p = Patient()
        r, self.v1 = ingest(self.staff, self.p, self.a, cc=[self.b])
        assert r.status_code == 200, r.text
        rep = r.json()["ocs"]["data"]
        self.rid, self.pid = rep["id"], rep["patient"]["id"]
        k = self.staff.ok("POST", "/consents", data={
            "patient": self.pid, "clinic": self.c, "report": self.rid,
            "purpose": "Mitbehandlung", "text_version": "2026-01",
            "text_sha256": "d" * 64, "channel": "reception"})
        self.kc = k["id"]
        self.kl = self.staff.ok("POST", "/consents", data={
            "patient": self.pid, "links": "true", "report": self.rid,
            "purpose": "Zweitmeinung", "text_version": "2026-01",
            "text_sha256": "e" * 64, "channel": "paper"})["id"]
        self.staff.ok("POST", "/reports/%s/shares" % self.rid,
                      data={"shareType": "1", "shareWith": self.c})
        self.link = self.staff.ok("POST", "/reports/%s/shares" % self.rid,
                                  data={"shareType": "3",
                                        "password": "Link-password-1"})
        # 2 downloads: a clinic member through the API, the link
        d = self.ma.api("GET", "/reports/%s/versions/0/download" % self.rid)
        assert d.content == self.v1
        assert public_get(stack, self.link["token"],
                          "Link-password-1").content == self.v1
        # 1 failed link password
        assert public_get(stack, self.link["token"],
                          "Wrong-password-9").status_code == 401
        # 1 correction (v2 goes to A, B and C)
        self.v2 = pdf(["corrected " + uuid.uuid4().hex])
        r = self.staff.api("POST", "/reports/%s/versions" % self.rid, files={
            "metadata": (None, json.dumps({"status": "corrected",
                                           "title": "MRT Knie",
                                           "exam_date": "2026-11-25"})),
            "file": ("x.pdf", self.v2, "application/pdf")})
        assert r.status_code == 200, r.text
        # 1 consent withdrawal (C's two shares end)
        w = self.staff.ok("POST", "/consents/%s/withdraw" % self.kc,
                          data={"channel": "reception"})
        assert w["ended_shares"] == 2


@pytest.fixture(scope="module")
def world(stack, accounts):
    return World(stack, accounts)


def export(w, pid=None):
    return w.mgr.ok("POST", "/patients/%s/access-export" % (pid or w.pid))


# ------------------------------------------------------------ Art. 15

def test_export_lists_everything_exactly(stack, world):
    w = world
    x = export(w)
    assert x["schema"] == "refx.access-export.v1"
    assert x["reference"].startswith("AX-")
    assert x["patient"]["family_name"] == w.p.family
    assert x["patient"]["birth_date"] == "1961-07-13"
    assert [(o["referring_clinic"]["gid"], [c["gid"] for c in o["cc_clinics"]])
            for o in x["orders"]] == [(w.a, [w.b])]
    assert [o["referring_clinic"]["bsnr"] for o in x["orders"]] == \
        ["123456789"]
    (rep,) = x["reports"]
    assert rep["id"] == int(w.rid)
    assert [(v["version"], v["status"]) for v in rep["versions"]] == \
        [(1, "final"), (2, "corrected")]
    import hashlib
    assert [v["sha256"] for v in rep["versions"]] == \
        [hashlib.sha256(w.v1).hexdigest(), hashlib.sha256(w.v2).hexdigest()]
    # consents with their history
    ks = {k["id"]: k for k in x["consents"]}
    assert sorted(ks) == sorted([int(w.kc), int(w.kl)])
    assert ks[int(w.kc)]["recipient"]["clinic"]["gid"] == w.c
    assert ks[int(w.kc)]["withdrawn_channel"] == "reception"
    assert ks[int(w.kc)]["withdrawn_at"] is not None
    assert ks[int(w.kl)]["recipient"]["type"] == "link"
    assert ks[int(w.kl)]["withdrawn_at"] is None
    assert ks[int(w.kl)]["text_sha256"] == "e" * 64
    # recipients by name: v1 to A, B, C and the link; v2 to A, B, C
    rec = sorted((r["version"], r["type"], (r["clinic"] or {}).get("gid"),
                  r["basis"], r["end_reason"]) for r in x["recipients"])
    assert rec == sorted([
        (1, "clinic", w.a, "order", None), (1, "clinic", w.b, "order", None),
        (1, "clinic", w.c, "consent", "consent_withdrawn"),
        (1, "link", None, "consent", None),
        (2, "clinic", w.a, "order", None), (2, "clinic", w.b, "order", None),
        (2, "clinic", w.c, "consent", "consent_withdrawn")])
    for r in x["recipients"]:
        assert r["from"] is not None
        if r["type"] == "clinic":
            assert r["clinic"]["name"] == "Praxis " + r["clinic"]["gid"]
        if r["end_reason"] == "consent_withdrawn":
            assert r["until"] is not None
    link = [r for r in x["recipients"] if r["type"] == "link"][0]
    assert link["link_id"] == int(w.link["id"])
    assert link["consent_id"] == int(w.kl)
    # views and downloads, and the failed link password
    acc = [(a["what"], a["by"]["type"], a["by"]["uid"] or a["by"]["link_id"])
           for a in x["accesses"]]
    assert acc.count(("download", "person", w.ma.uid)) == 1
    assert acc.count(("read_receipt", "person", w.ma.uid)) == 1
    assert acc.count(("download", "link", int(w.link["id"]))) == 1
    assert acc.count(("failed_link_password", "link",
                      int(w.link["id"]))) == 1
    assert len([a for a in acc if a[0] == "download"]) == 2
    assert all(a["client_addr"] for a in x["accesses"])
    # notifications about this patient's report: recipient ids only
    notes = x["notifications"]
    assert len(notes) >= 6
    assert {n["channel"] for n in notes} == {"ocs", "email"}
    assert all(set(n) == {"at", "channel", "recipient_user_id",
                          "recipient_group_id", "about"} for n in notes)
    assert x["retention"]["report_content_days"] == 90
    assert rep["retention_until"] is not None
    # the export is audited with the patient id
    n = stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                   "'gdpr.access_export' AND patient_id = %d" % int(w.pid))
    assert int(n) >= 1


def test_export_of_another_patient_contains_none_of_it(stack, world):
    w = world
    r, _ = ingest(w.staff, Patient(), w.b)
    other = r.json()["ocs"]["data"]["patient"]["id"]
    x = export(w, other)
    mine = export(w)
    assert x["patient"]["family_name"] != w.p.family
    assert {r["share_id"] for r in x["recipients"]}.isdisjoint(
        {r["share_id"] for r in mine["recipients"]})
    assert x["consents"] == []
    assert x["accesses"] == []
    assert [rp["id"] for rp in x["reports"]] != [int(w.rid)]
    blob = json.dumps(x)
    assert w.p.family not in blob and str(w.link["id"]) not in \
        [str(r["link_id"]) for r in x["recipients"]]


def test_export_page_and_permissions(stack, world, accounts):
    w = world
    b = w.browser = accounts.browser()
    accounts.enrol(b, accounts.web_login(b, w.mgr.uid, w.mgr.pw))
    page = b.get(stack.url + "/dashboard/patients/%s/access-export" % w.pid)
    assert page.status_code == 200
    assert "Auskunft nach Art. 15 DSGVO / Access report" in page.text
    assert w.p.family in page.text
    assert w.c in page.text or "Praxis " + w.c in page.text
    # staff, referrers and admins may not
    adm = User(stack, accounts, "gadm", roles=["admin"])
    for u in (w.staff, w.ma, adm):
        assert u.api("POST", "/patients/%s/access-export" % w.pid) \
            .status_code == 403
        assert u.api("GET", "/audit").status_code == 403
        assert u.api("POST", "/patients/%s/erasure" % w.pid,
                     data={"reason": "x", "channel": "paper"}) \
            .status_code == 403
    assert w.mgr.api("POST", "/patients/999999/access-export") \
        .status_code == 404


# ------------------------------------------------------------ audit, incident

def test_audit_search_and_csv(stack, world):
    w = world
    rows = w.mgr.ok("GET", "/audit", params={"patient": w.pid,
                                             "action": "report.",
                                             "limit": "500"})
    acts = sorted({r["action"] for r in rows})
    assert acts == ["report.download", "report.ingest", "report.read",
                    "report.version"]
    assert all(r["patient_id"] == int(w.pid) for r in rows)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows),
                                             reverse=True)
    by_link = w.mgr.ok("GET", "/audit", params={"link": w.link["token"]})
    assert {r["action"] for r in by_link} >= {"link.download",
                                             "auth.link.failed"}
    assert by_link == w.mgr.ok("GET", "/audit",
                               params={"link": "#" + w.link["id"]})
    by_actor = w.mgr.ok("GET", "/audit", params={"actor": w.ma.uid,
                                                 "patient": w.pid})
    assert {r["action"] for r in by_actor} == {"report.download",
                                               "report.read"}
    r = w.mgr.api("GET", "/audit", params={"patient": w.pid,
                                           "output": "csv", "limit": "500"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == ["id", "at", "action", "actor_type", "actor",
                        "link_id", "client_addr", "object_type",
                        "object_id", "patient_id", "request_id", "details"]
    full = w.mgr.ok("GET", "/audit", params={"patient": w.pid,
                                             "limit": "500"})
    assert len(table) - 1 == len(full)
    assert [int(t[0]) for t in table[1:]] == [x["id"] for x in full]
    for bad in ({"from": "yesterday"}, {"address": "'; drop"},
                {"link": "nope"}):
        assert w.mgr.api("GET", "/audit", params=bad).status_code == 400


def test_incident_query_for_link_lists_exactly_its_patients(stack, world):
    w = world
    x = w.mgr.ok("GET", "/incident", params={"link": w.link["token"]})
    assert [p["patient_id"] for p in x["patients"]] == [int(w.pid)]
    assert x["patients"][0]["reports"] == [int(w.rid)]
    assert x["query"]["link_id"] == int(w.link["id"])
    y = w.mgr.ok("GET", "/incident", params={"actor": w.ma.uid})
    assert int(w.pid) in [p["patient_id"] for p in y["patients"]]
    z = w.mgr.ok("GET", "/incident", params={"actor": w.mb.uid})
    assert z["patients"] == [] and z["events"] >= 0
    assert w.mgr.api("GET", "/incident").status_code == 400


def test_incident_by_a_login_name_taken_again(stack, world, accounts):
    """An account leaks, is deleted and its login name is taken again:
    the incident query by that name looked at the new account only, and
    the leaked account's downloads dropped out.  A name now means every
    account that ever had it."""
    w = world
    uid = accounts.uid("leak")
    pw = "Pw-" + uid + "-long!"
    accounts.admin("user", "add", uid, "--password-stdin", stdin=pw + "\n")
    accounts.admin("group", "adduser", w.a, uid)
    ap = accounts.admin("user", "apppassword", uid, "t").stdout.strip()
    r = requests.get(stack.url + API + "/reports/%s/versions/0/download" %
                     w.rid, auth=(uid, ap), headers={
                         "OCS-APIRequest": "true",
                         "X-Forwarded-For": fresh_ip()})
    assert r.status_code == 200
    r = w.mgr.s.delete(stack.url + "/ocs/v2.php/cloud/users/" + uid,
                       params={"format": "json"})
    assert r.status_code == 200, r.text
    accounts.admin("user", "add", uid, "--password-stdin", stdin=pw + "\n")
    x = w.mgr.ok("GET", "/incident", params={"actor": uid})
    assert int(w.pid) in [p["patient_id"] for p in x["patients"]]


def test_processing_record(stack, world):
    w = world
    x = w.mgr.ok("GET", "/processing-record")
    assert x["settings"]["retention.report_days"] == 90
    assert x["settings"]["twofactor.enforced_roles"] == \
        "admin,manager,staff"
    assert x["settings"]["sharing.link.password_enforced"] == 1
    assert x["security"]["encryption_at_rest"] is True
    gids = [c["gid"] for c in x["recipient_clinics"]]
    assert w.a in gids and w.c in gids
    page = w.browser.get(stack.url + "/dashboard/processing-record")
    assert page.status_code == 200
    assert "Record of processing (GDPR Art. 30)" in page.text
    assert "<td>retention.report_days</td><td>90</td>" in page.text
    page = w.browser.get(stack.url + "/dashboard/incident",
                         params={"link": "#" + w.link["id"]})
    assert page.status_code == 200
    assert "<tr><td>%s</td>" % w.pid in page.text


# ------------------------------------------------------------ Art. 17/18

def test_erasure_blocked_by_legal_hold(stack, world):
    w = world
    stack.psql("UPDATE patients SET legal_hold = true WHERE id = %d" %
               int(w.pid))
    try:
        before = stack.psql("SELECT count(*) FROM gdpr_requests")
        r = w.mgr.api("POST", "/patients/%s/erasure" % w.pid,
                      data={"reason": "Art. 17 request", "channel": "letter"})
        assert r.status_code == 409
        assert r.json()["ocs"]["data"] == {"blocking": [{"type":
                                                         "legal_hold"}]}
        assert stack.psql("SELECT count(*) FROM gdpr_requests") == before
        assert w.ma.api("GET", "/reports/%s/versions/0/download" %
                        w.rid).content == w.v2
    finally:
        stack.psql("UPDATE patients SET legal_hold = false WHERE id = %d" %
                   int(w.pid))


def test_retention_duty_blocks_then_restriction(stack, accounts, world):
    w = world
    r, content = ingest(w.staff, Patient(), w.a)
    rep = r.json()["ocs"]["data"]
    accounts.admin("settings", "set", "retention.duty_days", "3650")
    try:
        r = w.mgr.api("POST", "/patients/%s/erasure" % rep["patient"]["id"],
                      data={"reason": "please delete", "channel": "email"})
        assert r.status_code == 409
        (item,) = r.json()["ocs"]["data"]["blocking"]
        assert (item["type"], item["report_id"], item["version"]) == \
            ("retention_duty", int(rep["id"]), 1)
        # restriction instead
        r = w.mgr.api("POST", "/patients/%s/erasure" % rep["patient"]["id"],
                      data={"reason": "please delete", "channel": "email",
                            "restrict": "true"})
        assert r.status_code == 200, r.text
        assert r.json()["ocs"]["data"]["reference"].startswith("RS-")
    finally:
        accounts.admin("settings", "set", "retention.duty_days", "0")
    url = "/reports/%s/versions/0/download" % rep["id"]
    assert w.ma.api("GET", url).status_code == 404
    assert w.staff.api("GET", url).status_code == 404
    assert w.staff.api("GET", "/reports/%s" % rep["id"]).status_code == 404
    assert w.mgr.api("GET", url).content == content
    notes = [n for n in w.ma.notifications()
             if n["subject"] == "Der Zugriff auf einen Befund wurde "
             "eingeschränkt"]
    assert len(notes) == 1
    # lifting it restores access
    r = w.mgr.api("DELETE", "/patients/%s/restriction" % rep["patient"]["id"])
    assert r.status_code == 200
    assert w.ma.api("GET", url).content == content


def test_restriction_stops_processing(stack, accounts, world):
    """GDPR Art. 18: a restricted patient's data is only stored.  Staff
    could still share a restricted patient's report (it became live when
    the restriction was lifted) and add versions and reports to it, and
    the clinic was told "New report available" for a report nobody could
    open.  Now staff get the 404 of a report they cannot see, managers a
    409 saying why, and nothing is written."""
    w = world
    p = Patient()
    r, content = ingest(w.staff, p, w.a)
    rep = r.json()["ocs"]["data"]
    rid, pid = rep["id"], rep["patient"]["id"]
    r = w.mgr.api("POST", "/patients/%s/erasure" % pid, data={
        "reason": "objection pending", "channel": "letter",
        "restrict": "true"})
    assert r.status_code == 200, r.text

    def counts():
        return stack.psql(
            "SELECT (SELECT count(*) FROM shares WHERE patient_id = %s), "
            "(SELECT count(*) FROM reports WHERE patient_id = %s), "
            "(SELECT count(*) FROM report_versions v JOIN reports r ON "
            "r.id = v.report_id WHERE r.patient_id = %s), (SELECT count(*) "
            "FROM notifications)" % (pid, pid, pid))
    before = counts()
    version = {"metadata": (None, json.dumps({
        "status": "corrected", "title": "MRT Knie (korrigiert)",
        "exam_date": "2026-11-25"})),
        "file": ("x.pdf", pdf(["corrected"]), "application/pdf")}
    msg = "The patient's data is restricted (GDPR Art. 18): nothing is " \
        "added or shared until a manager lifts the restriction"
    for who, code in ((w.staff, 404), (w.mgr, 409)):
        r = who.api("POST", "/reports/%s/shares" % rid,
                    data={"shareType": "1", "shareWith": w.a})
        assert r.status_code == code, r.text
        r = who.api("POST", "/reports/%s/versions" % rid, files=version)
        assert r.status_code == code, r.text
        if code == 409:
            assert r.json()["ocs"]["meta"]["message"] == msg
    r, _ = ingest(w.staff, p, w.a)
    assert r.status_code == 409
    assert r.json()["ocs"]["meta"]["message"] == msg
    # staff do not see the patient: no consent recorded for it either
    # (consent_create, which the dashboard form calls too and which
    # committed one there)
    form = {"patient": pid, "clinic": w.c, "report": rid,
            "purpose": "Mitbehandlung", "text_version": "2026-01",
            "text_sha256": "f" * 64, "channel": "paper"}
    r = w.staff.api("POST", "/consents", data=form)
    assert (r.status_code, r.json()["ocs"]["meta"]["message"]) == \
        (404, "Patient not found")
    assert counts() == before
    assert stack.psql("SELECT count(*) FROM consents WHERE patient_id = %s"
                      % pid) == "0"
    # lifted: processing goes on
    assert w.mgr.api("DELETE", "/patients/%s/restriction" % pid).\
        status_code == 200
    r = w.mgr.api("POST", "/reports/%s/versions" % rid, files=version)
    assert r.status_code == 200, r.text


def test_zz_erasure_end_to_end(stack, world, accounts, mailbox):
    w = world
    name = received_name(w.ma)[0]
    assert w.ma.dav("GET", name).status_code == 200
    r = w.mgr.api("POST", "/patients/%s/erasure" % w.pid,
                  data={"reason": "Art. 17 request of the data subject",
                        "channel": "letter"})
    assert r.status_code == 200, r.text
    out = r.json()["ocs"]["data"]
    conf = out["confirmation"]
    assert conf["reference"] == out["reference"]
    assert conf["reference"].startswith("ER-")
    assert conf["deleted"]["reports"] == [int(w.rid)]
    assert conf["deleted"]["report_versions"] == 2
    assert conf["deleted"]["files"] == 2
    assert conf["deleted"]["links_ended"] == 1
    assert conf["deleted"]["shares_ended"] == 4   # A, B for v1 and v2
    told = sorted((t["type"], t.get("gid")) for t in
                  conf["recipients_notified"])
    assert told == sorted([("clinic", w.a), ("clinic", w.b),
                           ("clinic", w.c)])
    assert [(u["type"], u["link_id"]) for u in
            conf["recipients_unreachable"]] == [("link", int(w.link["id"]))]
    # content gone through every path
    for ver in (0, 1, 2):
        for u in (w.ma, w.mb, w.mgr, w.staff):
            assert u.api("GET", "/reports/%s/versions/%d/download" %
                         (w.rid, ver)).status_code == 404
    assert w.ma.dav("GET", name).status_code == 404
    assert name not in received_name(w.ma)
    assert public_get(stack, w.link["token"],   # an ended link (§4.5)
                      "Link-password-1").status_code == 401
    lk = requests.get(w.link["url"], headers={"X-Forwarded-For": fresh_ip()})
    assert lk.status_code == 404
    s = requests.get(stack.url + "/ocs/v2.php/apps/files_sharing/api/v1/"
                     "shares?shared_with_me=true&format=json",
                     auth=(w.ma.uid, w.ma.ap),
                     headers={"OCS-APIRequest": "true"})
    assert [x for x in s.json()["ocs"]["data"]
            if x["file_target"].lstrip("/") == name] == []
    assert w.rid not in [x["id"] for x in w.ma.ok("GET", "/reports")]
    # identifying fields gone, tombstone left
    row = stack.psql("SELECT coalesce(family_name, '-'), coalesce(birth_date::"
                     "text, '-'), coalesce(kvnr, '-'), practice_patient_id, "
                     "erased_at IS NOT NULL FROM patients WHERE id = %d" %
                     int(w.pid))
    assert row == "-|-|-|erased-%d|t" % int(w.pid)
    assert stack.psql("SELECT count(*) FROM report_versions WHERE report_id "
                      "= %d AND file_id IS NULL AND sha256 <> ''" %
                      int(w.rid)) == "2"
    assert stack.psql("SELECT count(*) FROM blobs b WHERE b.sha256 IN "
                      "(SELECT sha256 FROM report_versions WHERE report_id = "
                      "%d)" % int(w.rid)) == "0"
    # recipients notified (OCS and SMTP), without patient data
    notes = [n for n in w.mb.notifications()
             if n["subject"] == "Ein Befund wurde gelöscht"]
    assert len(notes) == 1
    from conftest import wait_for

    def deleted_mails():
        return [m for m in mailbox.to(w.ma.email)
                if b"Subject: A report was deleted" in m]
    assert wait_for(lambda: len(deleted_mails()) == 1, 15)
    last = deleted_mails()[0]
    assert b"Subject: A report was deleted" in last
    assert out["reference"].encode() in last
    for secret in w.p.secrets():
        assert secret not in last
        assert secret not in json.dumps(notes).encode()
    # the confirmation verifies, and fails after one changed byte
    r = w.mgr.api("GET", "/gdpr/requests/%s/confirmation" % out["request_id"])
    assert r.status_code == 200
    assert r.content == out["file"].encode()
    d = tempfile.mkdtemp()
    good = os.path.join(d, "c.json")
    with open(good, "wb") as f:
        f.write(r.content)
    v = accounts.admin("confirmation", "verify", good)
    assert v.stdout == "valid: confirmation %s was signed by this instance " \
        "and is unchanged\n" % out["reference"]
    i = r.content.index(b'"links_ended":1') + len(b'"links_ended":')
    bad = r.content[:i] + b"0" + r.content[i + 1:]
    with open(good, "wb") as f:
        f.write(bad)
    v = accounts.admin("confirmation", "verify", good, ok=False)
    assert v.returncode == 1
    assert v.stdout.startswith("INVALID")
    # printable confirmation
    b = w.browser   # the manager's web session (test_export_page...)
    page = b.get(stack.url + "/dashboard/gdpr/%s/confirmation" %
                 out["request_id"])
    assert page.status_code == 200
    assert out["reference"] in page.text and out["signature"] in page.text
    # integrity still holds
    assert accounts.admin("files", "verify").returncode == 0
    assert accounts.admin("audit", "verify").returncode == 0
    # the export still proves what happened (tombstone), no names
    assert w.mgr.api("POST", "/patients/%s/access-export" %
                     w.pid).status_code == 404
    # a second erasure is a conflict
    r = w.mgr.api("POST", "/patients/%s/erasure" % w.pid,
                  data={"reason": "again", "channel": "letter"})
    assert r.status_code == 409


def test_erasure_input_errors(stack, world):
    w = world
    for data in ({"channel": "letter"}, {"reason": "x"},
                 {"reason": "x", "channel": "pigeon"}):
        r = w.mgr.api("POST", "/patients/%s/erasure" % w.pid, data=data)
        assert r.status_code == 400
    assert w.mgr.api("POST", "/patients/999999/erasure",
                     data={"reason": "x", "channel": "letter"}) \
        .status_code == 404


def test_erasures_new_versions_and_uploads_in_parallel(stack, world):
    """An erasure deletes files in the practice tree and in referrers'
    trees (copies) and updates the patient's reports; a new version locks
    its report and then the practice tree.  In opposite orders the two
    deadlocked (one answered 500); an erasure now takes every tree it will
    change before any row, and a new version the practice tree before its
    report."""
    import re
    import threading
    w = world
    rids, pids = [], []
    for _ in range(4):
        r, _ = ingest(w.staff, Patient(), w.a)
        assert r.status_code == 200, r.text
        rep = r.json()["ocs"]["data"]
        rids.append(rep["id"])
        pids.append(rep["patient"]["id"])
        name = "r-%06d-v1.pdf" % int(rep["id"])
        assert name in received_name(w.ma)
        r = w.ma.dav("COPY", name, headers={
            "Destination": stack.url + "/remote.php/dav/files/%s/copy-%s" %
            (w.ma.uid, name)})
        assert r.status_code == 201, r.text
    res = {"erase": [], "version": [], "put": []}

    def erase(pid):
        r = w.mgr.api("POST", "/patients/%s/erasure" % pid,
                      data={"reason": "Art. 17", "channel": "letter"})
        res["erase"].append(r.status_code)

    def versions(rid):
        for i in range(4):
            r = w.staff.api("POST", "/reports/%s/versions" % rid, files={
                "metadata": (None, json.dumps({
                    "status": "corrected", "title": "MRT Knie v%d" % i,
                    "exam_date": "2026-11-25"})),
                "file": ("x.pdf", pdf(["v %d %s" % (i, uuid.uuid4().hex)]),
                         "application/pdf")})
            res["version"].append(r.status_code)

    def puts(k):
        for i in range(6):
            res["put"].append(w.ma.dav("PUT", "own-%d-%d.txt" % (k, i),
                                       data=b"x" * i).status_code)
    ts = [threading.Thread(target=erase, args=(p,)) for p in pids] + [
        threading.Thread(target=versions, args=(r,)) for r in rids] + [
        threading.Thread(target=puts, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert res["erase"] == [200] * 4
    assert sorted(set(res["version"]) | {200, 404}) == [200, 404]
    assert res["put"] == [201] * 12
    # every version and copy is gone, whatever ran first
    left = re.findall(r"copy-r-[0-9]+-v1\.pdf|r-[0-9]+-v[0-9]+\.pdf",
                      w.ma.dav("PROPFIND", "", headers={"Depth": "1"}).text)
    assert [n for n in left if any("%06d" % int(r) in n for r in rids)] == []
    assert stack.psql(
        "SELECT count(*) FROM report_versions WHERE report_id IN (%s) AND "
        "content_deleted_at IS NULL" % ",".join(map(str, rids))) == "0"

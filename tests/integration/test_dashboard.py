# SPDX-License-Identifier: AGPL-3.0-or-later
"""The practice dashboard over HTTP: what staff and managers see, the
settings page (all or nothing, audited), and the overview's counters."""
import json
import re
import uuid

from conftest import hidden
from test_referrals import User, Patient, ingest, pdf


def web(accounts, user):
    b = accounts.browser()
    accounts.enrol(b, accounts.web_login(b, user.uid, user.pw))
    return b


def test_staff_and_manager_views(stack, accounts):
    staff = User(stack, accounts, "dsf", roles=["staff"])
    mgr = User(stack, accounts, "dmg", roles=["manager"])
    gid = accounts.clinic("dz", email=False)
    r, _ = ingest(staff, Patient(), gid)
    pid = r.json()["ocs"]["data"]["patient"]["id"]
    sb, mb = web(accounts, staff), web(accounts, mgr)
    home = sb.get(stack.url + "/", allow_redirects=False)
    assert home.headers["Location"] == "/dashboard"
    d = sb.get(stack.url + "/dashboard")
    assert d.status_code == 200 and "<svg" in d.text
    assert "/dashboard/processing-record" not in d.text     # manager only
    p = sb.get(stack.url + "/dashboard/patients/%s" % pid)
    assert p.status_code == 200
    assert 'id="erasure"' not in p.text and 'id="consent-new"' in p.text
    assert sb.get(stack.url + "/dashboard/settings").status_code == 403
    assert sb.get(stack.url + "/dashboard/audit").status_code == 403
    p = mb.get(stack.url + "/dashboard/patients/%s" % pid)
    assert 'id="erasure"' in p.text
    n = stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                   "'dashboard.patient.view' AND patient_id = %s" % pid)
    assert n == "2"


def test_settings_all_or_nothing_and_audited(stack, accounts):
    mgr = User(stack, accounts, "dmg2", roles=["manager"])
    b = web(accounts, mgr)
    page = b.get(stack.url + "/dashboard/settings")
    assert page.status_code == 200
    assert 'name="sharing.link.default_days" value="7"' in page.text
    token = hidden(page.text, "requesttoken")
    form = {"requesttoken": token, "sharing.link.default_days": "5",
            "sharing.link.max_days": "99999",
            "twofa_admin": "1", "twofa_manager": "1", "twofa_staff": "1"}
    r = b.post(stack.url + "/dashboard/settings", data=form)
    assert r.status_code == 400
    assert "sharing.link.max_days must be an integer between 1 and 3650" \
        in r.text
    assert stack.psql("SELECT count(*) FROM settings WHERE key = "
                      "'sharing.link.default_days'") == "0"
    form["sharing.link.max_days"] = "20"
    r = b.post(stack.url + "/dashboard/settings", data=form)
    assert r.status_code == 200 and "Gespeichert." in r.text
    assert 'name="sharing.link.default_days" value="5"' in r.text
    row = stack.psql("SELECT details FROM audit_events WHERE action = "
                     "'settings.update' ORDER BY id DESC LIMIT 1")
    d = json.loads(row)
    assert d["sharing.link.default_days"] == 5
    assert d["sharing.link.max_days"] == 20
    assert d["twofactor.enforced_roles"] == "admin,manager,staff"
    caps = b.get(stack.url + "/ocs/v2.php/cloud/capabilities?format=json",
                 headers={"OCS-APIRequest": "true"}).json()
    link = caps["ocs"]["data"]["capabilities"]["files_sharing"]["public"]
    assert link["expire_date"]["days"] == 5
    # back to the defaults for the other tests
    form.update({"sharing.link.default_days": "7",
                 "sharing.link.max_days": "30"})
    assert b.post(stack.url + "/dashboard/settings",
                  data=form).status_code == 200
    # without the token: refused
    assert b.post(stack.url + "/dashboard/settings",
                  data={"sharing.link.default_days": "3"}).status_code == 412


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"scan" * 64
GIF = b"GIF89a" + b"\x00" * 64


def test_consent_scan_attached_once_viewed_audited_erased(stack, accounts):
    """The signed consent form: attached once (API or form), PDF/JPEG/PNG
    by content, viewed only by the practice and audited, gone with the
    patient's erasure."""
    staff = User(stack, accounts, "dsc", roles=["staff"])
    mgr = User(stack, accounts, "dscm", roles=["manager"])
    gid = accounts.clinic("dsz", email=False)
    ref = User(stack, accounts, "dscr", groups=[gid])
    r, _ = ingest(staff, Patient(), gid)
    rep = r.json()["ocs"]["data"]
    pid = rep["patient"]["id"]

    def consent():
        return staff.ok("POST", "/consents", data={
            "patient": pid, "links": "true", "report": rep["id"],
            "purpose": "Zweitmeinung", "text_version": "2026-01",
            "text_sha256": "c" * 64, "channel": "paper"})

    k = consent()
    assert k["scan"] is None
    files = ("SELECT count(*) FROM files f JOIN files y ON y.id = f.parent_id "
             "JOIN files t ON t.id = y.parent_id WHERE t.name = 'Consents' "
             "AND NOT f.is_dir")
    before = stack.psql(files)
    # not a scan: refused by content (the declared type does not count)
    r = staff.api("POST", "/consents/%s/scan" % k["id"],
                  files={"file": ("x.pdf", GIF, "application/pdf")})
    assert r.status_code == 415
    assert r.json()["ocs"]["meta"]["message"] == \
        "Only PDF, JPEG or PNG scans are accepted"
    assert stack.psql(files) == before
    assert staff.ok("GET", "/consents/%s" % k["id"])["scan"] is None
    # a referrer has no access to consent records at all
    r = ref.api("POST", "/consents/%s/scan" % k["id"],
                files={"file": ("s.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 403
    # attached once
    s = staff.ok("POST", "/consents/%s/scan" % k["id"],
                 files={"file": ("s.bin", JPEG, "application/octet-stream")})
    assert s["scan"] == {"mimetype": "image/jpeg", "size": str(len(JPEG))}
    assert int(stack.psql(files)) == int(before) + 1
    r = staff.api("POST", "/consents/%s/scan" % k["id"],
                  files={"file": ("s.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 409
    assert int(stack.psql(files)) == int(before) + 1
    assert staff.api("POST", "/consents/999999999/scan", files={
        "file": ("s.jpg", JPEG, "image/jpeg")}).status_code == 404
    # viewed by the practice, audited with the patient
    g = staff.api("GET", "/consents/%s/scan" % k["id"])
    assert g.status_code == 200 and g.content == JPEG
    assert g.headers["Content-Type"] == "image/jpeg"
    assert g.headers["Cache-Control"] == "no-store"
    assert ref.api("GET", "/consents/%s/scan" % k["id"]).status_code == 403
    audit = ("SELECT action || ' ' || patient_id FROM audit_events WHERE "
             "object_type = 'consent' AND object_id = '%s' AND action LIKE "
             "'consent.scan%%' ORDER BY id" % int(k["id"]))
    assert stack.psql(audit).split("\n") == [
        "consent.scan_attached %s" % pid, "consent.scan.view %s" % pid]

    # the dashboard form: a PDF for a second consent, token in the URL
    k2 = consent()
    b = web(accounts, staff)
    page = b.get(stack.url + "/dashboard/patients/%s" % pid)
    token = hidden(page.text, "requesttoken")
    assert 'action="/dashboard/consents/%s/scan?requesttoken=' % k2["id"] \
        in page.text
    url = stack.url + "/dashboard/consents/%s/scan" % k2["id"]
    body = pdf(["Einwilligung", "unterschrieben"])
    r = b.post(url, files={"file": ("e.pdf", body, "application/pdf")},
               allow_redirects=False)
    assert r.status_code == 412
    r = b.post(url, params={"requesttoken": token}, allow_redirects=False,
               files={"file": ("e.gif", GIF, "image/gif")})
    assert r.status_code == 415     # in the page's language (German)
    assert "Nur PDF-, JPEG- oder PNG-Scans werden angenommen." in r.text
    r = b.post(url, params={"requesttoken": token}, allow_redirects=False,
               files={"file": ("e.pdf", body, "application/pdf")})
    assert r.status_code == 303
    assert r.headers["Location"] == "/dashboard/patients/%s#consents" % pid
    page = b.get(stack.url + "/dashboard/patients/%s" % pid)
    assert page.text.count('class="scan-link"') == 2
    v = b.get(url)
    assert v.status_code == 200 and v.content == body
    assert v.headers["Content-Disposition"].startswith("inline; ")
    assert "Zyxmann" not in v.headers["Content-Disposition"]

    # erasure removes the scans with the patient; the records go dark
    r = mgr.api("POST", "/patients/%s/erasure" % pid,
                data={"reason": "Art. 17", "channel": "letter"})
    assert r.status_code == 200, r.text
    assert stack.psql(files) == before
    assert stack.psql("SELECT count(*) FROM consents WHERE patient_id = %s "
                      "AND scan_file_id IS NOT NULL" % int(pid)) == "0"
    assert staff.api("GET", "/consents/%s" % k["id"]).status_code == 404
    assert staff.api("GET", "/consents/%s/scan" % k["id"]).status_code == 404
    assert b.get(url).status_code == 404


def test_instance_name_logo_text_and_test_mail(stack, accounts, mailbox):
    mgr = User(stack, accounts, "dth", roles=["manager"],
               email="dth-%s@practice.test" % uuid.uuid4().hex[:6])
    b = web(accounts, mgr)
    page = b.get(stack.url + "/dashboard/settings")
    token = hidden(page.text, "requesttoken")
    assert 'name="theming.name" value=""' in page.text
    caps = "/ocs/v2.php/cloud/capabilities?format=json"

    def theming():
        r = b.get(stack.url + caps, headers={"OCS-APIRequest": "true"})
        return r.json()["ocs"]["data"]["capabilities"]["theming"]["name"]
    conf_name = theming()
    base = {"requesttoken": token, "twofa_admin": "1", "twofa_manager": "1",
            "twofa_staff": "1"}
    try:
        # a control character: refused, nothing saved
        r = b.post(stack.url + "/dashboard/settings", data=dict(
            base, **{"theming.name": "Radiologie\nam Markt",
                     "theming.logo_text": "RaM"}))
        assert r.status_code == 400
        assert "theming.name must be at most 64 bytes of text without " \
            "control characters" in r.text
        assert stack.psql("SELECT count(*) FROM settings WHERE key LIKE "
                          "'theming.%'") == "0"
        r = b.post(stack.url + "/dashboard/settings", data=dict(
            base, **{"theming.name": "Radiologie am Markt & Co",
                     "theming.logo_text": "RaM <Praxis>"}))
        assert r.status_code == 200
        assert '<span class="brand">RaM &lt;Praxis&gt;</span>' in r.text
        assert "<title>Einstellungen – Radiologie am Markt &amp; Co</title>" \
            in r.text
        assert theming() == "Radiologie am Markt & Co"
        d = json.loads(stack.psql(
            "SELECT details FROM audit_events WHERE action = "
            "'settings.update' ORDER BY id DESC LIMIT 1"))
        assert d["theming.logo_text"] == "RaM <Praxis>"
    finally:
        r = b.post(stack.url + "/dashboard/settings", data=dict(
            base, **{"theming.name": "", "theming.logo_text": ""}))
        assert r.status_code == 200
    assert theming() == conf_name
    # the test mail goes to the manager's own address
    r = b.post(stack.url + "/dashboard/settings/testmail",
               data={"requesttoken": token})
    assert r.status_code == 200
    assert "Eine Testnachricht an Ihre Adresse wurde" in r.text
    (mail,) = mailbox.wait_for(mgr.email)
    assert b"Subject: refx test mail / Testnachricht" in mail
    assert b.post(stack.url + "/dashboard/settings/testmail",
                  data={}).status_code == 412
    nomail = web(accounts, User(stack, accounts, "dthn", roles=["manager"]))
    page = nomail.get(stack.url + "/dashboard/settings")
    r = nomail.post(stack.url + "/dashboard/settings/testmail", data={
        "requesttoken": hidden(page.text, "requesttoken")})
    assert r.status_code == 400
    assert "Ihr Konto hat keine E-Mail-Adresse." in r.text


def test_clinics_list_and_clinic_page(stack, accounts):
    staff = User(stack, accounts, "dcs", roles=["staff"])
    gid = accounts.clinic("dcl", email=True)
    lead = User(stack, accounts, "dcll", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    other = User(stack, accounts, "dclm", groups=[gid])
    (r1, _), (r2, _) = ingest(staff, Patient(), gid), ingest(staff, Patient(),
                                                            gid)
    rep1, rep2 = r1.json()["ocs"]["data"], r2.json()["ocs"]["data"]
    assert other.api("POST", "/reports/%s/read" % rep1["id"]).status_code \
        == 200
    b = web(accounts, staff)
    page = b.get(stack.url + "/dashboard/clinics")
    assert page.status_code == 200
    row = re.search(r'<tr data-clinic="%s">(.*?)</tr>' % gid, page.text,
                    re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[1:4] == ["123456789", "2", "2"]
    assert cells[5] != ""                   # a report was read
    page = b.get(stack.url + "/dashboard/clinics/" + gid)
    assert page.status_code == 200
    assert sorted(re.findall(r'data-member="([^"]+)"', page.text)) == \
        sorted([lead.uid, other.uid])
    assert "Praxisleitung" in re.search(
        r'<tr data-member="%s">.*?</tr>' % lead.uid, page.text).group(0)
    rows = re.findall(r'<tr data-report="(\d+)">(.*?)</tr>', page.text)
    assert [int(x) for x, _ in rows] == [int(rep2["id"]), int(rep1["id"])]
    read = {int(x): "<td>ja</td>" in body for x, body in rows}
    assert read == {int(rep1["id"]): True, int(rep2["id"]): False}
    # no patient names on these pages
    for rep in (rep1, rep2):
        assert rep["patient"]["family_name"] not in page.text
    assert b.get(stack.url + "/dashboard/clinics/nope").status_code == 404
    lb = accounts.browser()
    accounts.web_login(lb, lead.uid, lead.pw)
    assert lb.get(stack.url + "/dashboard/clinics").status_code == 403

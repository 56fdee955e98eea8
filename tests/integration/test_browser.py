# SPDX-License-Identifier: AGPL-3.0-or-later
"""Headless Chromium (Debian's chromium, driven by playwright-core from npm
in tests/browser) against the real stack: a referrer logs in with TOTP,
sees an unread report, opens it, marks it read; the language switch; an
XSS corpus in patient names, title, consent purpose, file name, clinic
and account display names stays inert on every page (no dialog opens, no
element is created); a form post
without the CSRF token fails; a manager finds the patient, withdraws a
consent, runs the access export and an erasure and sees the confirmation.
Screenshots: tests/browser/screenshots/."""
import json
import os
import uuid
import shutil
import subprocess

import pytest

from conftest import ROOT, fresh_ip
from test_referrals import User, Patient, ingest

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


XSS = ['<img src=x onerror=alert(1)>', '"><svg onload=alert(2)>',
       "'><script>alert(3)</script>", '<iframe src=javascript:alert(4)>',
       '<a href="javascript:alert(5)">x</a>', '{{7*7}}<b onmouseover=alert(6)>',
       '<img src=x onerror=alert(7)>', "</title><script>alert(8)</script>"]


def node_ready():
    return os.path.isdir(os.path.join(BROWSER_DIR, "node_modules",
                                      "playwright-core"))


def enrolled(accounts, user):
    b = accounts.browser()
    page = accounts.web_login(b, user.uid, user.pw)
    if 'id="secret"' not in page.text:     # not enforced: opt in
        page = b.get(b.base + "/login/2fa/setup")
    secret, _ = accounts.enrol(b, page)
    return secret


def test_portal_and_dashboard_in_chromium(stack, accounts):
    assert os.path.exists(CHROMIUM), "chromium missing (scripts/deps.sh)"
    assert node_ready(), "run: npm ci --prefix tests/browser (make test does)"
    staff = User(stack, accounts, "bstf", roles=["staff"])
    mgr = User(stack, accounts, "bmgr", roles=["manager"])
    gid = accounts.clinic("bz", email=False)
    ref = User(stack, accounts, "bref", groups=[gid])
    accounts.admin("group", "subadmin", gid, ref.uid)     # the clinic lead
    # the referrer turns on TOTP first (referrers may; staff must)
    ref_secret = enrolled(accounts, ref)
    mgr_secret = enrolled(accounts, mgr)
    # the XSS corpus, one payload per field that reaches a page: stored
    # through the API where it validates input, else directly, because
    # what is tested here is the output
    p = Patient()
    p.family = XSS[0] + "Zyx" + p.family[-8:]
    p.given = XSS[1]
    p.fname = XSS[6] + ".pdf"
    r, _ = ingest(staff, p, gid, title=XSS[2])
    rep = r.json()["ocs"]["data"]
    k = staff.ok("POST", "/consents", data={
        "patient": rep["patient"]["id"], "links": "true",
        "report": rep["id"], "purpose": XSS[5],
        "text_version": "2026-01", "text_sha256": "f" * 64,
        "channel": "paper"})
    stack.psql("UPDATE groups SET clinic_name = $x$%s$x$ WHERE gid = '%s'"
               % (XSS[3], gid))
    for u, x in ((ref, XSS[4]), (staff, XSS[7]), (mgr, XSS[4])):
        stack.psql("UPDATE users SET display_name = $x$%s$x$ WHERE uid = "
                   "'%s'" % (x, u.uid))
    staff_secret = enrolled(accounts, staff)
    upload = {"ppid": "F-" + uuid.uuid4().hex[:8],
              "order": "FO-" + uuid.uuid4().hex[:8], "clinic": gid}
    cfg = {"url": stack.url, "chromium": CHROMIUM, "clock": accounts.clock,
           "ip1": fresh_ip(), "ip2": fresh_ip(), "ip3": fresh_ip(),
           "ip4": fresh_ip(), "upload": upload,
           "staff": {"uid": staff.uid, "pw": staff.pw,
                     "secret": staff_secret},
           "referrer": {"uid": ref.uid, "pw": ref.pw, "secret": ref_secret},
           "manager": {"uid": mgr.uid, "pw": mgr.pw, "secret": mgr_secret},
           "report_id": rep["id"], "patient_id": rep["patient"]["id"],
           "consent_id": k["id"], "family_text": "Zyx" + p.family[-8:],
           "search": p.ppid}
    run = subprocess.run(["node", os.path.join(BROWSER_DIR, "flows.mjs")],
                         env=dict(os.environ,
                                  REFX_BROWSER=json.dumps(cfg)),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    o = json.loads(run.stdout.strip().splitlines()[-1])
    assert o["dialogs"] == []               # the XSS payloads stayed text
    assert o["injected"] == []              # and created no element
    # ... while the pages do show them, as text
    for x in (XSS[0], XSS[1], XSS[2], XSS[5]):
        assert x in o["patient_page_text"], x
    for x in (XSS[0], XSS[2]):
        assert x in o["report_page_text"], x
    assert XSS[3] in o["clinics_page_text"]
    assert o["csp"] == []                   # no CSP violation on any page
    assert o["consents_added"] == 1
    assert o["referrer_landing"] == "/portal"
    assert (o["inbox_lang"], o["inbox_h1"]) == ("de", "Befunde")
    assert o["unread_before"] == 1
    assert o["report_path"] == "/portal/reports/%s" % rep["id"]
    assert o["report_has_name"] is True
    assert o["is_read"] == 1
    assert o["clinic_members"] == [ref.uid]
    assert o["unread_after"] == 0
    assert o["csrf_less_status"] == 412
    assert o["lang_put"] == 200
    assert (o["inbox_lang_after"], o["inbox_h1_after"]) == ("en", "Reports")
    assert o["login_lang_en"] == "en"
    # accessibility: axe-core's WCAG 2.1 A/AA rules on every main page,
    # and the login form in keyboard order
    assert o["a11y_pages"] == [
        "portal-inbox", "portal-report", "portal-clinic", "portal-inbox-en",
        "login",
        "dashboard-upload", "dashboard-patient-staff", "dashboard",
        "dashboard-clinics", "dashboard-patient", "access-export", "dashboard-audit",
        "erasure-confirmation"]
    assert o["a11y"] == []
    assert o["login_tab_order"] == ["user", "password", "BUTTON"]
    # staff upload and correction through the forms
    pid = stack.psql("SELECT id FROM patients WHERE practice_patient_id = "
                     "'%s'" % upload["ppid"])
    assert o["upload_landing"] == "/dashboard/patients/%s" % pid
    assert o["correction_landing"] == "/dashboard/patients/%s" % pid
    assert (o["versions_shown"], o["superseded_shown"]) == (2, 1)
    assert stack.psql("SELECT string_agg(status, ',' ORDER BY version) FROM "
                      "report_versions v JOIN reports r ON r.id = "
                      "v.report_id WHERE r.patient_id = %s" % pid) == \
        "final,corrected"
    assert o["bad_upload_message"] == "Nur PDF-Befunde werden angenommen."
    assert stack.psql("SELECT count(*) FROM patients WHERE "
                      "practice_patient_id = '%sX'" % upload["ppid"]) == "0"
    assert o["manager_landing"] == "/dashboard"
    assert o["clinics_listed"] == int(stack.psql(
        "SELECT count(*) FROM groups WHERE kind = 'referrer' AND deleted_at "
        "IS NULL"))
    assert o["chart"] == 16, o["chart_html"]  # 8 weeks x 2 bars
    assert o["search_url"] == "/dashboard/patients"   # no name in the URL
    assert o["withdraw_page"] == \
        "/dashboard/consents/%s/confirmation" % k["id"]
    assert o["withdraw_ended"] == "0"
    assert o["export_reference"].startswith("AX-")
    assert o["print_export"] == {"reference": True, "header": False,
                                 "buttons": 0}
    assert 10 <= o["audit_rows"] < 100     # all of them on one page
    assert o["audit_csv_type"] == "text/csv; charset=utf-8"
    assert o["audit_csv_lines"] == o["audit_rows"] + 1   # header + rows
    assert o["erasure_page"].startswith("/dashboard/gdpr/")
    assert o["erasure_reference"].startswith("ER-")
    reads = staff.ok("GET", "/reports/%s" % rep["id"])
    assert stack.psql("SELECT erased_at IS NOT NULL FROM patients WHERE id "
                      "= %s" % int(rep["patient"]["id"])) == "t"

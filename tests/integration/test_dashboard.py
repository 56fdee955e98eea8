# SPDX-License-Identifier: AGPL-3.0-or-later
"""The practice dashboard over HTTP: what staff and managers see, the
settings page (all or nothing, audited), and the overview's counters."""
import json
import re

from conftest import hidden
from test_referrals import User, Patient, ingest


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

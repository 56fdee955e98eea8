# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 3: accounts, every authentication path, throttling, sessions,
Login Flow v2, provisioning rights, clinics and the audit trail."""
import json
import re
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from conftest import fresh_ip, hidden, ocs_session, totp, wait_for

V1 = "/ocs/v1.php"
V2 = "/ocs/v2.php"


def meta(r):
    return r.json()["ocs"]["meta"]


def data(r):
    return r.json()["ocs"]["data"]


def audit_rows(stack, action, object_id=None):
    sql = ("SELECT actor_type, coalesce(actor_user_id::text, ''), "
           "coalesce(object_type, ''), coalesce(object_id, ''), details::text "
           "FROM audit_events WHERE action = '%s'" % action)
    if object_id is not None:
        sql += " AND object_id = '%s'" % object_id
    out = stack.psql(sql + " ORDER BY id")
    return [l.split("|") for l in out.splitlines()] if out else []


def user_id(stack, uid):
    return stack.psql("SELECT id FROM users WHERE uid = '%s'" % uid)


# ------------------------------------------------------------ Basic auth

def test_done_when_app_password_cloud_user(stack, accounts):
    uid, pw, ap = accounts.user("alice", roles=["referrer"])
    r = requests.get(stack.url + V1 + "/cloud/user?format=json",
                     auth=(uid, ap), headers={"OCS-APIRequest": "true"})
    assert r.status_code == 200
    assert meta(r)["statuscode"] == 100
    d = data(r)
    assert d["id"] == uid
    assert d["displayname"] == uid and d["display-name"] == uid
    assert d["quota"] == {"free": -3, "used": 0, "total": -3, "relative": 0,
                          "quota": -3}
    assert d["groups"] == [] and d["language"] == "de"
    assert "enabled" not in d
    assert d["backendCapabilities"] == {"setDisplayName": True,
                                        "setPassword": True}


def test_basic_wrong_password(stack, accounts):
    uid, pw, ap = accounts.user("bob", roles=["referrer"])
    for xhr, scheme in ((False, "Basic"), (True, "DummyBasic")):
        h = {"OCS-APIRequest": "true", "X-Forwarded-For": fresh_ip()}
        if xhr:
            h["X-Requested-With"] = "XMLHttpRequest"
        r = requests.get(stack.url + V2 + "/cloud/user?format=json",
                         auth=(uid, "wrong-password"), headers=h)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == \
            '%s realm="Authorisation Required"' % scheme
        assert meta(r) == {"status": "failure", "statuscode": 997,
                           "message": "Unauthorised"}
    rows = audit_rows(stack, "auth.login.failed", user_id(stack, uid))
    assert len(rows) == 2
    assert json.loads(rows[0][4]) == {"reason": "wrong_password"}


def test_no_credentials_is_997_without_challenge(stack):
    r = requests.get(stack.url + V2 + "/cloud/user?format=json",
                     headers={"OCS-APIRequest": "true"})
    assert r.status_code == 401
    assert "WWW-Authenticate" not in r.headers
    assert meta(r)["message"] == "Current user is not logged in"
    r = requests.get(stack.url + V1 + "/cloud/user?format=json",
                     headers={"OCS-APIRequest": "true"})
    assert (r.status_code, meta(r)["statuscode"]) == (401, 997)


@pytest.mark.parametrize("header", ["Basic", "Basic !!!!", "Basic Zm9v",
                                    "Basic " + "QQ==" * 600, "Negotiate abc",
                                    "Basic OmZvbw=="])
def test_malformed_basic(stack, header):
    r = requests.get(stack.url + V2 + "/cloud/user?format=json",
                     headers={"OCS-APIRequest": "true",
                              "Authorization": header,
                              "X-Forwarded-For": fresh_ip()})
    assert r.status_code == 401
    assert meta(r)["statuscode"] == 997


def test_basic_password_rules(stack, accounts):
    # A referrer without 2FA may use the account password, also by e-mail.
    email = "carol%d@example.org" % accounts.n
    uid, pw, ap = accounts.user("carol", roles=["referrer"], email=email)
    for login in (uid, uid.upper(), email):
        r = ocs_session(stack, login, pw).get(stack.url + V2 +
                                              "/cloud/user?format=json")
        assert r.status_code == 200, login
        assert data(r)["id"] == uid
    # Staff have 2FA enforced: only app passwords work over Basic.
    suid, spw, sap = accounts.user("staff", roles=["staff"])
    r = ocs_session(stack, suid, spw).get(stack.url + V2 + "/cloud/user")
    assert r.status_code == 401
    r = ocs_session(stack, suid, sap).get(stack.url + V2 + "/cloud/user")
    assert r.status_code == 200
    rows = audit_rows(stack, "auth.login.failed", user_id(stack, suid))
    assert [json.loads(x[4]) for x in rows] == \
        [{"reason": "password_login_forbidden"}]


def test_disabled_account_and_revoked_app_password(stack, accounts):
    uid, pw, ap = accounts.user("dave", roles=["referrer"])
    s = ocs_session(stack, uid, ap)
    assert s.get(stack.url + V2 + "/cloud/user").status_code == 200
    accounts.admin("user", "disable", uid)
    assert s.get(stack.url + V2 + "/cloud/user").status_code == 401
    accounts.admin("user", "enable", uid)
    assert s.get(stack.url + V2 + "/cloud/user").status_code == 200
    # DELETE /core/apppassword revokes the one in use, on the next request.
    r = s.delete(stack.url + V2 + "/core/apppassword?format=json")
    assert (r.status_code, data(r)) == (200, [])
    r = s.get(stack.url + V2 + "/cloud/user?format=json")
    assert r.status_code == 401
    assert len(audit_rows(stack, "auth.apppassword.revoke")) >= 1
    # With the account password there is no app password to delete.
    r = ocs_session(stack, uid, pw).delete(stack.url + V2 +
                                           "/core/apppassword?format=json")
    assert (r.status_code, meta(r)["message"]) == (403,
                                                   "no app password in use")


def test_getapppassword(stack, accounts):
    uid, pw, ap = accounts.user("erin", roles=["referrer"])
    r = ocs_session(stack, uid, pw).get(
        stack.url + V2 + "/core/getapppassword?format=json",
        headers={"User-Agent": "Nextcloud-android"})
    assert r.status_code == 200
    new = data(r)["apppassword"]
    assert re.fullmatch(r"[A-Za-z0-9]{72}", new)
    assert ocs_session(stack, uid, new).get(
        stack.url + V2 + "/cloud/user").status_code == 200
    r = ocs_session(stack, uid, new).get(
        stack.url + V2 + "/core/getapppassword?format=json")
    assert r.status_code == 403
    assert meta(r)["message"] == \
        "You cannot request an new apppassword with an apppassword"
    name = stack.psql("SELECT name FROM app_passwords WHERE user_id = %s "
                      "ORDER BY id DESC LIMIT 1" % user_id(stack, uid))
    assert name == "Nextcloud-android"
    # A password change keeps app passwords working (Nextcloud behaviour).
    accounts.admin("user", "passwd", uid, "--password-stdin",
                   stdin="A-new-password-123\n")
    assert ocs_session(stack, uid, new).get(
        stack.url + V2 + "/cloud/user").status_code == 200
    assert ocs_session(stack, uid, pw).get(
        stack.url + V2 + "/cloud/user").status_code == 401


# ------------------------------------------------------------ web login

def test_web_login_referrer_and_cookie_flags(stack, accounts):
    uid, pw, ap = accounts.user("fred", roles=["referrer"])
    s = accounts.browser()
    page = s.get(stack.url + "/login")
    assert page.headers["Cache-Control"] == "no-store"
    # No CSRF token: refused, nothing logged in.
    r = s.post(stack.url + "/login", data={"user": uid, "password": pw},
               allow_redirects=False)
    assert r.status_code == 412
    # Wrong password: the form again with an error, status 200.
    r = s.post(stack.url + "/login", data={
        "user": uid, "password": "nope-nope-nope",
        "requesttoken": hidden(page.text, "requesttoken")},
        allow_redirects=False)
    assert r.status_code == 200     # in the page's language (German)
    assert "Anmeldename oder Passwort ist falsch." in r.text
    page = s.get(stack.url + "/login")
    r = s.post(stack.url + "/login", data={
        "user": uid, "password": pw,
        "requesttoken": hidden(page.text, "requesttoken")},
        allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == "/"       # home by role
    cookie = r.headers["Set-Cookie"]
    assert re.fullmatch(r"refx_session=[0-9a-f]{64}; Path=/; HttpOnly; "
                        r"SameSite=Lax", cookie)
    home = s.get(stack.url + "/", allow_redirects=False)
    assert home.headers["Location"] == "/portal"   # a referrer's inbox
    page = s.get(stack.url + "/settings/security")
    assert page.status_code == 200
    assert "(%s)" % uid in page.text
    assert audit_rows(stack, "auth.login.success", user_id(stack, uid))[-1][4] \
        == '{"method": "web"}'


def test_open_redirect_refused(stack, accounts):
    uid, pw, ap = accounts.user("gina", roles=["referrer"])
    for target in ("//evil.example/", "https://evil.example/", "/\\evil"):
        s = accounts.browser()
        page = s.get(stack.url + "/login?redirect_url=" +
                     urllib.parse.quote(target, safe=""))
        r = s.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken"),
            "redirect_url": target}, allow_redirects=False)
        assert r.headers["Location"] == "/"


def test_pages_need_login_and_csrf(stack, accounts):
    s = accounts.browser()
    r = s.get(stack.url + "/settings/security", allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == \
        "/login?redirect_url=%2Fsettings%2Fsecurity"
    uid, pw, ap = accounts.user("hank", roles=["referrer"])
    accounts.web_login(s, uid, pw)
    n = stack.psql("SELECT count(*) FROM app_passwords WHERE user_id = %s"
                   % user_id(stack, uid))
    r = s.post(stack.url + "/settings/apppasswords", data={"name": "x"})
    assert r.status_code == 412
    r = s.post(stack.url + "/settings/apppasswords",
               data={"name": "x", "requesttoken": "0" * 43})
    assert r.status_code == 412
    assert stack.psql("SELECT count(*) FROM app_passwords WHERE user_id = %s"
                      % user_id(stack, uid)) == n
    page = s.get(stack.url + "/settings/security")
    r = s.post(stack.url + "/settings/apppasswords", data={
        "name": "Desktop", "requesttoken": hidden(page.text, "requesttoken")})
    assert r.status_code == 200
    new = re.search(r'id="new-app-password">([A-Za-z0-9]{72})<', r.text)
    assert new
    assert ocs_session(stack, uid, new.group(1)).get(
        stack.url + V2 + "/cloud/user").status_code == 200


def test_totp_enrolment_challenge_reuse_backup(stack, accounts):
    uid, pw, ap = accounts.user("ivy", roles=["staff"])
    s = accounts.browser()
    page = accounts.web_login(s, uid, pw)
    assert page.url.startswith(stack.url + "/login/2fa/setup")
    qr = re.search(r"<svg[^>]*aria-label=\"QR code\"", page.text)
    assert qr
    # While enrolment is pending, other pages are out of reach.
    r = s.get(stack.url + "/settings/security", allow_redirects=False)
    assert r.headers["Location"].startswith("/login/2fa/setup")
    # A wrong code is refused and audited.
    r = s.post(stack.url + "/login/2fa/setup", data={
        "code": "000000", "requesttoken": hidden(page.text, "requesttoken")})
    assert "The code is not valid" in r.text
    secret, codes = accounts.enrol(s, r)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert s.get(stack.url + "/settings/security").status_code == 200
    assert len(audit_rows(stack, "auth.2fa.enrol", user_id(stack, uid))) == 1
    assert len(audit_rows(stack, "auth.2fa.failed", user_id(stack, uid))) == 1

    # New login: password, then the code of the next time step.
    accounts.set_clock(accounts.clock + 30)
    try:
        s2 = accounts.browser()
        page = s2.get(stack.url + "/login")
        r = s2.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken")},
            allow_redirects=False)
        assert r.headers["Location"].startswith("/login/2fa?")
        pending = s2.cookies.get("refx_session")
        page = s2.get(stack.url + r.headers["Location"])
        tok = hidden(page.text, "requesttoken")
        r = s2.post(stack.url + "/login/2fa", data={
            "code": "123456", "requesttoken": tok})
        assert "The code is not valid" in r.text
        code = totp(secret, accounts.now())
        r = s2.post(stack.url + "/login/2fa", data={
            "code": code, "requesttoken": tok}, allow_redirects=False)
        assert r.status_code == 303
        # The pending token is replaced: no session fixation.
        assert s2.cookies.get("refx_session") != pending
        assert s2.get(stack.url + "/settings/security").status_code == 200
        # The same code again (same step) is refused.
        s3 = accounts.browser()
        page = s3.get(stack.url + "/login")
        r = s3.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken")})
        r = s3.post(stack.url + "/login/2fa", data={
            "code": code, "requesttoken": hidden(r.text, "requesttoken")})
        assert "The code is not valid" in r.text
        # A backup code works once.
        r = s3.post(stack.url + "/login/2fa", data={
            "code": codes[0].upper(), "requesttoken":
            hidden(r.text, "requesttoken")}, allow_redirects=False)
        assert r.status_code == 303
        s4 = accounts.browser()
        page = s4.get(stack.url + "/login")
        r = s4.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken")})
        r = s4.post(stack.url + "/login/2fa", data={
            "code": codes[0], "requesttoken": hidden(r.text,
                                                     "requesttoken")})
        assert "The code is not valid" in r.text
        # With 2FA on, the account password is refused over Basic.
        assert ocs_session(stack, uid, pw).get(
            stack.url + V2 + "/cloud/user").status_code == 401
    finally:
        accounts.set_clock(0)


def test_wrong_totp_is_throttled(stack, accounts):
    uid, pw, ap = accounts.user("jack", roles=["staff"])
    ip = fresh_ip()
    s = accounts.browser(ip)
    page = accounts.web_login(s, uid, pw)
    secret, codes = accounts.enrol(s, page)
    s2 = accounts.browser(ip)
    page = s2.get(stack.url + "/login")
    r = s2.post(stack.url + "/login", data={
        "user": uid, "password": pw,
        "requesttoken": hidden(page.text, "requesttoken")})
    tok = hidden(r.text, "requesttoken")
    for i in range(11):
        r = s2.post(stack.url + "/login/2fa", data={"code": "999999",
                                                   "requesttoken": tok})
        assert r.status_code == 200
        # 0.1 s x 2^n after n failures, capped at 25 s
        assert r.headers.get("X-Nextcloud-Bruteforce-Throttled") == \
            (None if i == 0 else "%dms" % min(100 * 2 ** i, 25000))
    r = s2.post(stack.url + "/login/2fa", data={"code": "999999",
                                               "requesttoken": tok})
    assert r.status_code == 429
    assert len(audit_rows(stack, "auth.2fa.failed", user_id(stack, uid))) == 11
    assert len(audit_rows(stack, "auth.throttle.lockout",
                          user_id(stack, uid))) == 1


def test_session_idle_and_absolute_timeout(stack, accounts):
    uid, pw, ap = accounts.user("kate", roles=["referrer"])
    try:
        s = accounts.browser()
        accounts.web_login(s, uid, pw)
        accounts.set_clock(29 * 60)
        assert s.get(stack.url + "/settings/security",
                     allow_redirects=False).status_code == 200
        accounts.set_clock(29 * 60 + 31 * 60)
        r = s.get(stack.url + "/settings/security", allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"].startswith(
            "/login")
        # Absolute: active every 25 minutes, still ends after 12 hours.
        s = accounts.browser()
        accounts.web_login(s, uid, pw)
        start = accounts.clock
        t = start
        while t < start + 12 * 3600 - 1800:
            t += 1500
            accounts.set_clock(t)
            assert s.get(stack.url + "/settings/security",
                         allow_redirects=False).status_code == 200
        accounts.set_clock(start + 12 * 3600 + 60)
        r = s.get(stack.url + "/settings/security", allow_redirects=False)
        assert r.status_code == 303
    finally:
        accounts.set_clock(0)


def test_logout_and_logout_everywhere(stack, accounts):
    uid, pw, ap = accounts.user("liam", roles=["referrer"])
    a, b, c = accounts.browser(), accounts.browser(), accounts.browser()
    for s in (a, b, c):
        accounts.web_login(s, uid, pw)
    page = a.get(stack.url + "/settings/security")
    r = a.post(stack.url + "/settings/sessions/logout-everywhere",
               data={"requesttoken": hidden(page.text, "requesttoken")})
    assert "2 other session(s) ended." in r.text
    assert b.get(stack.url + "/settings/security",
                 allow_redirects=False).status_code == 303
    assert c.get(stack.url + "/settings/security",
                 allow_redirects=False).status_code == 303
    page = a.get(stack.url + "/settings/security")
    assert page.status_code == 200
    r = a.post(stack.url + "/logout",
               data={"requesttoken": hidden(page.text, "requesttoken")},
               allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (303, "/login")
    assert a.get(stack.url + "/settings/security",
                 allow_redirects=False).status_code == 303
    assert len(audit_rows(stack, "auth.logout.everywhere",
                          user_id(stack, uid))) == 1


# ------------------------------------------------------------ Login Flow v2

@pytest.mark.parametrize("prefix", ["/index.php", ""])
def test_login_flow_v2(stack, accounts, prefix):
    uid, pw, ap = accounts.user("mia", roles=["referrer"])
    r = requests.post(stack.url + prefix + "/login/v2",
                      headers={"User-Agent": "Nextcloud desktop test"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    d = r.json()
    assert list(d) == ["poll", "login"]
    token = d["poll"]["token"]
    assert re.fullmatch(r"[0-9a-zA-Z]{128}", token)
    assert d["poll"]["endpoint"] == stack.url + "/index.php/login/v2/poll"
    assert re.fullmatch(re.escape(stack.url) +
                        r"/index\.php/login/v2/flow/[0-9a-zA-Z]{128}",
                        d["login"])
    assert '"endpoint":"http:\\/\\/' in r.text  # PHP-style escaping
    poll = stack.url + prefix + "/login/v2/poll"
    r = requests.post(poll, data={"token": token})
    assert (r.status_code, r.text) == (404, "[]")

    # The browser: flow URL -> login -> grant.
    s = accounts.browser()
    page = s.get(d["login"])
    assert page.url.startswith(stack.url + "/login?redirect_url=")
    r = s.post(stack.url + "/login", data={
        "user": uid, "password": pw,
        "requesttoken": hidden(page.text, "requesttoken"),
        "redirect_url": hidden(page.text, "redirect_url")})
    assert r.url.startswith(stack.url + "/login/v2/grant?stateToken=")
    assert 'id="client-name">Nextcloud desktop test<' in r.text
    g = s.post(stack.url + "/login/v2/grant", data={
        "requesttoken": hidden(r.text, "requesttoken"),
        "stateToken": hidden(r.text, "stateToken")})
    assert g.status_code == 200 and "Konto verbunden" in g.text

    r = requests.post(poll, data={"token": token})
    assert r.status_code == 200
    creds = r.json()
    assert list(creds) == ["server", "loginName", "appPassword"]
    assert creds["server"] == stack.url and creds["loginName"] == uid
    assert re.fullmatch(r"[A-Za-z0-9]{72}", creds["appPassword"])
    # Exactly once.
    r = requests.post(poll, data={"token": token})
    assert (r.status_code, r.text) == (404, "[]")
    assert ocs_session(stack, uid, creds["appPassword"]).get(
        stack.url + V1 + "/cloud/user").status_code == 200
    # The grant page cannot be replayed.
    r = s.post(stack.url + "/login/v2/grant", data={
        "requesttoken": hidden(g.text, "requesttoken") if "requesttoken" in
        g.text else hidden(page.text, "requesttoken"),
        "stateToken": "x"})
    assert r.status_code in (403, 412)
    assert len(audit_rows(stack, "auth.loginflow.grant")) >= 1


def test_login_flow_granted_twice_at_once(stack, accounts):
    """Two grants of one flow at once (a double click) both read the flow
    as open, both created an app password, and the second overwrote the
    first one's sealed copy: a live app password nobody ever received.
    The grant now locks the flow: one grant, one app password, the other
    click answers 403.  The flow's row is held by another session until
    both requests wait, so the two are truly concurrent."""
    uid, pw, ap = accounts.user("dbl", roles=["referrer"])
    d = requests.post(stack.url + "/index.php/login/v2").json()
    s = accounts.browser()
    page = s.get(d["login"])
    r = s.post(stack.url + "/login", data={
        "user": uid, "password": pw,
        "requesttoken": hidden(page.text, "requesttoken"),
        "redirect_url": hidden(page.text, "redirect_url")})
    state = hidden(r.text, "stateToken")
    # the second click from another session of the account: one session's
    # requests would queue behind each other on its session row
    s2 = accounts.browser()
    accounts.web_login(s2, uid, pw)
    page2 = s2.get(stack.url + "/login/v2/grant", params={"stateToken": state})
    assert page2.status_code == 200
    forms = [(s, {"requesttoken": hidden(r.text, "requesttoken"),
                  "stateToken": state}),
             (s2, {"requesttoken": hidden(page2.text, "requesttoken"),
                   "stateToken": state})]
    flow = stack.psql("SELECT max(id) FROM login_flows")
    aps = "SELECT count(*) FROM app_passwords WHERE user_id = (SELECT id " \
        "FROM users WHERE uid = '%s')" % uid
    before = int(stack.psql(aps))
    codes = []

    def grant(b, form):
        codes.append(b.post(stack.url + "/login/v2/grant",
                            data=form).status_code)
    with stack.holding("SELECT 1 FROM login_flows WHERE id = %s FOR UPDATE"
                       % flow) as pid:
        ts = [threading.Thread(target=grant, args=f) for f in forms]
        for t in ts:
            t.start()
        # one waits for the held row, the other queues behind it
        assert wait_for(lambda: stack.waiting_on(pid) == 1 and
                        stack.lock_waits() == 2, 30)
    for t in ts:
        t.join()
    assert sorted(codes) == [200, 403]
    assert int(stack.psql(aps)) == before + 1
    creds = requests.post(d["poll"]["endpoint"],
                          data={"token": d["poll"]["token"]}).json()
    assert ocs_session(stack, uid, creds["appPassword"]).get(
        stack.url + V2 + "/cloud/user").status_code == 200


def test_login_flow_with_two_factor_and_adjacent_step(stack, accounts):
    uid, pw, ap = accounts.user("nils", roles=["staff"])
    s = accounts.browser()
    secret, codes = accounts.enrol(s, accounts.web_login(s, uid, pw))
    try:
        accounts.set_clock(accounts.clock + 60)
        d = requests.post(stack.url + "/index.php/login/v2").json()
        b = accounts.browser()
        page = b.get(d["login"])
        r = b.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken"),
            "redirect_url": hidden(page.text, "redirect_url")})
        assert r.url.startswith(stack.url + "/login/2fa?redirect_url=")
        # the previous step's code is still accepted (+-1 step)
        r = b.post(stack.url + "/login/2fa", data={
            "code": totp(secret, accounts.now() - 30),
            "requesttoken": hidden(r.text, "requesttoken"),
            "redirect_url": hidden(r.text, "redirect_url")})
        assert r.url.startswith(stack.url + "/login/v2/grant?stateToken=")
        b.post(stack.url + "/login/v2/grant", data={
            "requesttoken": hidden(r.text, "requesttoken"),
            "stateToken": hidden(r.text, "stateToken")})
        creds = requests.post(d["poll"]["endpoint"],
                              data={"token": d["poll"]["token"]}).json()
        assert creds["loginName"] == uid
        assert ocs_session(stack, uid, creds["appPassword"]).get(
            stack.url + V2 + "/cloud/user").status_code == 200
        # two steps back is too old
        accounts.set_clock(accounts.clock + 90)
        b2 = accounts.browser()
        page = b2.get(stack.url + "/login")
        r = b2.post(stack.url + "/login", data={
            "user": uid, "password": pw,
            "requesttoken": hidden(page.text, "requesttoken")})
        r = b2.post(stack.url + "/login/2fa", data={
            "code": totp(secret, accounts.now() - 60),
            "requesttoken": hidden(r.text, "requesttoken")})
        assert "The code is not valid" in r.text
    finally:
        accounts.set_clock(0)


def test_login_flow_expires_after_20_minutes(stack, accounts):
    try:
        d = requests.post(stack.url + "/index.php/login/v2").json()
        accounts.set_clock(20 * 60 + 1)
        s = accounts.browser()
        r = s.get(d["login"], allow_redirects=False)
        assert r.status_code == 403
        assert "Your login token is invalid or has expired" in r.text
        r = requests.post(d["poll"]["endpoint"], data={"token":
                                                       d["poll"]["token"]})
        assert (r.status_code, r.text) == (404, "[]")
    finally:
        accounts.set_clock(0)


# ------------------------------------------------------------ throttling

def test_throttle_delays_lockout_and_other_accounts(stack, accounts):
    victim, vpw, vap = accounts.user("nora", roles=["referrer"])
    other, opw, oap = accounts.user("otto", roles=["referrer"])
    ip = fresh_ip()
    url = stack.url + V2 + "/cloud/user?format=json"
    seen = []
    for i in range(11):
        r = requests.get(url, auth=(victim, "bad-%d" % i), headers={
            "OCS-APIRequest": "true", "X-Forwarded-For": ip})
        assert r.status_code == 401
        seen.append(r.headers.get("X-Nextcloud-Bruteforce-Throttled"))
    assert seen == [None] + ["%dms" % min(100 * 2 ** n, 25000)
                             for n in range(1, 11)]
    # More than 10 failures in 30 minutes: the account is locked from here.
    r = requests.get(url, auth=(victim, vpw), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert (r.status_code, meta(r)["statuscode"]) == (429, 429)
    assert meta(r)["message"] == "Reached maximum delay"
    r = requests.get(stack.url + V1 + "/cloud/user?format=json",
                     auth=(victim, vpw), headers={
                         "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert (r.status_code, meta(r)["statuscode"]) == (200, 429)
    # A valid app password is refused the same way: the throttle is part of
    # the app-password statement and decides before the credentials count.
    r = requests.get(url, auth=(victim, vap), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert (r.status_code, meta(r)["statuscode"]) == (429, 429)
    assert r.headers["X-Nextcloud-Bruteforce-Throttled"] == "25000ms"
    # Another account behind the same address still gets in, and its
    # success ends the address's delay.
    r = requests.get(url, auth=(other, opw), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert r.status_code == 200
    assert r.headers["X-Nextcloud-Bruteforce-Throttled"] == "25000ms"
    r = requests.get(url, auth=(other, "wrong-once"), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert r.status_code == 401
    assert "X-Nextcloud-Bruteforce-Throttled" not in r.headers
    # The victim is still locked from that address, not from another one.
    r = requests.get(url, auth=(victim, vpw), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": ip})
    assert r.status_code == 429
    r = requests.get(url, auth=(victim, vpw), headers={
        "OCS-APIRequest": "true", "X-Forwarded-For": fresh_ip()})
    assert r.status_code == 200
    assert len(audit_rows(stack, "auth.throttle.lockout",
                          user_id(stack, victim))) == 1
    # The lockout ends 30 minutes later.
    try:
        accounts.set_clock(31 * 60)
        r = requests.get(url, auth=(victim, vpw), headers={
            "OCS-APIRequest": "true", "X-Forwarded-For": ip})
        assert r.status_code == 200
    finally:
        accounts.set_clock(0)


def test_forwarded_for_only_from_trusted_proxy(stack, accounts):
    # The right-most entry a trusted proxy did not add is the client.
    uid, pw, ap = accounts.user("paul", roles=["referrer"])
    ip = fresh_ip()
    r = requests.get(stack.url + V2 + "/cloud/user", auth=(uid, "bad-pass"),
                     headers={"OCS-APIRequest": "true",
                              "X-Forwarded-For": "10.9.9.9, " + ip})
    assert r.status_code == 401
    addr = stack.psql("SELECT host(client_addr) FROM audit_events WHERE "
                      "action = 'auth.login.failed' AND object_id = '%s'"
                      % user_id(stack, uid))
    assert addr == ip
    subnet = stack.psql("SELECT subnet FROM auth_failures WHERE account = "
                        "'%s'" % uid.lower())
    assert subnet == ip + "/32"


def test_ipv6_subnet_is_56(stack, accounts):
    uid, pw, ap = accounts.user("quin", roles=["referrer"])
    requests.get(stack.url + V2 + "/cloud/user", auth=(uid, "bad-pass"),
                 headers={"OCS-APIRequest": "true",
                          "X-Forwarded-For": "2001:db8:1:2ff:1::7"})
    assert stack.psql("SELECT subnet FROM auth_failures WHERE account = "
                      "'%s'" % uid.lower()) == "2001:db8:1:200::/56"


# ------------------------------------------------------------ provisioning

@pytest.fixture(scope="module")
def world(stack, accounts):
    """admin, manager, staff; clinics A and B with a lead (sub-admin of A)
    and members; an admin-managed plain group."""
    w = {"A": accounts.clinic("clinA"), "B": accounts.clinic("clinB")}
    w["admin"] = accounts.user("adm", roles=["admin"])
    w["manager"] = accounts.user("mgr", roles=["manager"])
    w["staff"] = accounts.user("stf", roles=["staff"])
    w["lead"] = accounts.user("lead", groups=[w["A"]])
    accounts.admin("group", "subadmin", w["A"], w["lead"][0])
    w["refA"] = accounts.user("refa", groups=[w["A"]])
    w["refB"] = accounts.user("refb", groups=[w["B"]])
    return w


def as_(stack, w, who):
    uid, pw, ap = w[who]
    return ocs_session(stack, uid, ap)


def test_provisioning_user_create_and_errors(stack, world, accounts):
    s = as_(stack, world, "manager")
    u = accounts.uid("newref")
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": u, "password": "Some-long-pass-1", "displayName": "Dr. New",
        "email": "new@clinic.test", "groups[]": [world["A"]]})
    assert (r.status_code, data(r)) == (200, {"id": u})
    roles = stack.psql("SELECT string_agg(role, ',') FROM user_roles WHERE "
                       "user_id = %s" % user_id(stack, u))
    assert roles == "referrer"
    # duplicate, case-insensitive
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": u.upper(), "password": "Some-long-pass-1",
        "groups[]": [world["A"]]})
    assert (r.status_code, meta(r)["statuscode"], meta(r)["message"]) == \
        (400, 102, "User already exists")
    r = s.post(stack.url + V1 + "/cloud/users?format=json", data={
        "userid": u, "password": "Some-long-pass-1", "groups[]": ["nogroup"]})
    assert (r.status_code, meta(r)["statuscode"]) == (200, 102)
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": accounts.uid("x"), "password": "Some-long-pass-1",
        "groups[]": ["no-such-group"]})
    assert (meta(r)["statuscode"], meta(r)["message"]) == \
        (104, "Group no-such-group does not exist")
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": accounts.uid("x"), "password": "short",
        "groups[]": [world["A"]]})
    assert (meta(r)["statuscode"], meta(r)["message"]) == \
        (107, "Password needs to be at least 10 characters long")
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": accounts.uid("x"), "password": "Some-long-pass-1"})
    assert meta(r)["statuscode"] == 106
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": "bad name!", "password": "Some-long-pass-1",
        "groups[]": [world["A"]]})
    assert meta(r)["statuscode"] == 101
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": accounts.uid("x"), "password": "Some-long-pass-1",
        "displayName": "x" * 300, "groups[]": [world["A"]]})
    assert meta(r)["statuscode"] == 101
    # JSON bodies work like forms (nextcloud-api.md §1.9)
    u2 = accounts.uid("jsonref")
    r = s.post(stack.url + V2 + "/cloud/users?format=json", json={
        "userid": u2, "password": "Some-long-pass-1", "groups": [world["A"]]})
    assert (r.status_code, data(r)) == (200, {"id": u2})
    r = s.post(stack.url + V2 + "/cloud/users?format=json",
               data="{not json", headers={"Content-Type":
                                          "application/json"})
    assert (r.status_code, meta(r)["statuscode"]) == (500, 996)
    assert len(audit_rows(stack, "account.user.create",
                          user_id(stack, u))) == 1
    assert len(audit_rows(stack, "account.group.member.add")) >= 1


# (principal, method, path template, form, expected v2 HTTP, statuscode)
MATRIX = [
    # list users: who sees whom
    ("admin", "GET", "/cloud/users", None, 200, 200),
    ("referrer_self", "GET", "/cloud/users/{self}", None, 200, 200),
    ("staff", "GET", "/cloud/users/{refA}", None, 404, 998),
    ("refB", "GET", "/cloud/users/{refA}", None, 404, 998),
    ("lead", "GET", "/cloud/users/{refA}", None, 200, 200),
    ("lead", "GET", "/cloud/users/{refB}", None, 404, 998),
    ("manager", "GET", "/cloud/users/{refB}", None, 200, 200),
    ("manager", "GET", "/cloud/users/{staff}", None, 404, 998),
    ("admin", "GET", "/cloud/users/{staff}", None, 200, 200),
    # edit
    ("lead", "PUT", "/cloud/users/{refA}", {"key": "displayname",
                                              "value": "Dr. A"}, 200, 200),
    ("lead", "PUT", "/cloud/users/{refB}", {"key": "displayname",
                                              "value": "x"}, 404, 998),
    ("refA", "PUT", "/cloud/users/{refA}", {"key": "quota",
                                              "value": "100"}, 400, 113),
    ("refA", "PUT", "/cloud/users/{refA}", {"key": "email",
                                              "value": "a@b.test"}, 200, 200),
    ("staff", "PUT", "/cloud/users/{refA}", {"key": "email",
                                               "value": "x@y.test"}, 404, 998),
    ("manager", "PUT", "/cloud/users/{admin}", {"key": "email",
                                                  "value": "x@y.test"},
     404, 998),
    # enable/disable
    ("lead", "PUT", "/cloud/users/{refB}/disable", None, 404, 998),
    ("refA", "PUT", "/cloud/users/{refA}/disable", None, 400, 101),
    ("manager", "PUT", "/cloud/users/{staff}/disable", None, 404, 998),
    # groups
    ("admin", "POST", "/cloud/groups", {"groupid": "plain-{n}"}, 200, 200),
    ("manager", "POST", "/cloud/groups", {"groupid": "plain2-{n}"}, 403, 403),
    ("lead", "POST", "/cloud/groups", {"groupid": "plain3-{n}"}, 403, 403),
    ("refA", "GET", "/cloud/groups/{A}", None, 200, 200),
    ("refB", "GET", "/cloud/groups/{A}", None, 403, 403),
    ("staff", "GET", "/cloud/groups/{A}", None, 403, 403),
    ("lead", "GET", "/cloud/groups/{A}/subadmins", None, 403, 403),
    ("manager", "GET", "/cloud/groups/{A}/subadmins", None, 200, 200),
    ("lead", "DELETE", "/cloud/groups/{B}", None, 403, 403),
    ("admin", "GET", "/cloud/groups/nope-nope", None, 404, 404),
    # memberships
    ("lead", "POST", "/cloud/users/{refB}/groups", {"groupid": "{A}"},
     400, 104),
    ("manager", "POST", "/cloud/users/{staff}/groups", {"groupid": "{A}"},
     400, 104),
    ("lead", "POST", "/cloud/users/{refA}/groups", {"groupid": "{B}"},
     400, 104),
    ("admin", "POST", "/cloud/users/{refA}/groups", {"groupid": "nope"},
     400, 102),
    ("admin", "POST", "/cloud/users/nobody-x/groups", {"groupid": "{A}"},
     400, 103),
    ("admin", "POST", "/cloud/users/{refA}/groups", {}, 400, 101),
    # sub-admins
    ("lead", "POST", "/cloud/users/{refA}/subadmins", {"groupid": "{A}"},
     403, 403),
    ("staff", "GET", "/cloud/users/{refA}/subadmins", None, 403, 403),
    ("manager", "DELETE", "/cloud/users/{refA}/subadmins",
     {"groupid": "{A}"}, 400, 102),
    # delete
    ("lead", "DELETE", "/cloud/users/{refB}", None, 404, 998),
    ("refA", "DELETE", "/cloud/users/{refA}", None, 400, 101),
]


@pytest.mark.parametrize("row", MATRIX, ids=lambda r: "%s %s %s" % r[:3])
def test_provisioning_rights_matrix(stack, world, accounts, row):
    who, method, path, form, http2, code = row
    if who == "referrer_self":
        who = "refA"
        path = path.replace("{self}", world["refA"][0])
    fill = {k: (v[0] if isinstance(v, tuple) else v)
            for k, v in world.items()}
    fill["n"] = str(accounts.n)
    accounts.n += 1

    def sub(t):
        return re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)], t)
    s = as_(stack, world, who)
    body = {k: sub(v) for k, v in (form or {}).items()}
    for v in (2, 1):
        r = s.request(method, stack.url + "/ocs/v%d.php" % v + sub(path) +
                      "?format=json", data=body)
        if v == 2:
            assert (r.status_code, meta(r)["statuscode"]) == (http2, code), \
                r.text
        else:
            want = 100 if code == 200 else code
            assert meta(r)["statuscode"] == want
            assert r.status_code == (401 if code == 997 else 200)
        if method != "GET" and code == 200:
            break  # do not repeat a successful change


def test_user_lists_by_role(stack, world):
    def users(who):
        r = as_(stack, world, who).get(stack.url + V2 +
                                       "/cloud/users?format=json")
        assert r.status_code == 200
        return set(data(r)["users"])
    a = world["refA"][0]
    b = world["refB"][0]
    assert {a, b, world["staff"][0], world["admin"][0]} <= users("admin")
    mgr = users("manager")
    assert a in mgr and b in mgr and world["staff"][0] not in mgr
    lead = users("lead")
    assert a in lead and b not in lead
    assert users("staff") == set() and users("refA") == set()
    r = as_(stack, world, "admin").get(
        stack.url + V2 + "/cloud/users?format=json&search=%s&limit=1" % a)
    assert data(r)["users"] == [a]


def test_lead_manages_own_clinic(stack, world, accounts):
    s = as_(stack, world, "lead")
    u = accounts.uid("invited")
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": u, "password": "Some-long-pass-1",
        "groups[]": [world["A"]]})
    assert r.status_code == 200
    r = s.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": accounts.uid("x"), "password": "Some-long-pass-1",
        "groups[]": [world["B"]]})
    assert (r.status_code, meta(r)["statuscode"]) == (400, 105)
    r = s.put(stack.url + V2 + "/cloud/users/%s/disable?format=json" % u)
    assert r.status_code == 200
    assert len(audit_rows(stack, "account.user.disable",
                          user_id(stack, u))) == 1
    r = s.delete(stack.url + V2 + "/cloud/users/%s/groups?format=json" % u,
                 data={"groupid": world["A"]})
    assert r.status_code == 200
    r = s.get(stack.url + V2 + "/cloud/users/%s?format=json" % u)
    assert (r.status_code, meta(r)["statuscode"]) == (404, 998)
    # removed from the clinic, the lead lost it; the admin deletes it
    r = as_(stack, world, "admin").delete(stack.url + V2 +
                                          "/cloud/users/%s?format=json" % u)
    assert r.status_code == 200
    r = as_(stack, world, "admin").get(stack.url + V2 +
                                       "/cloud/users/%s?format=json" % u)
    assert (r.status_code, meta(r)["message"]) == (404, "User does not exist")


def test_lead_cannot_take_over_a_member_of_another_clinic(stack, world,
                                                         accounts):
    """A sub-admin could change any account that shared one of their
    groups: the lead of clinic A set the password of a physician who also
    works for clinic B and read B's reports with it.  Changing an account
    as a whole (password, e-mail, disable, delete) now needs every one of
    its groups; seeing it and its membership of A need one."""
    uid, pw, ap = accounts.user("both", groups=[world["A"], world["B"]])
    lead = as_(stack, world, "lead")
    url = stack.url + V1 + "/cloud/users/" + uid + "?format=json"
    for method, path, form in (
            ("PUT", "", {"key": "password", "value": "Taken-over-pass-1"}),
            ("PUT", "", {"key": "email", "value": "lead@evil.test"}),
            ("PUT", "/disable", {}), ("DELETE", "", {})):
        r = lead.request(method, url.replace("?", path + "?"), data=form)
        assert (r.status_code, meta(r)["statuscode"]) == (200, 998), path
    assert ocs_session(stack, uid, pw).get(
        stack.url + V2 + "/cloud/user").status_code == 200
    assert stack.psql("SELECT enabled AND deleted_at IS NULL AND email IS "
                      "DISTINCT FROM 'lead@evil.test' FROM users WHERE uid "
                      "= '%s'" % uid) == "t"
    assert meta(lead.get(url))["statuscode"] == 100
    # only in A: the lead's to change
    r = lead.delete(stack.url + V1 + "/cloud/users/%s/groups?format=json" %
                    uid, data={"groupid": world["B"]})
    assert meta(r)["statuscode"] == 104
    r = lead.delete(stack.url + V1 + "/cloud/users/%s/groups?format=json" %
                    uid, data={"groupid": world["A"]})
    assert meta(r)["statuscode"] == 100
    assert meta(lead.get(url))["statuscode"] == 998
    only, opw, _ = accounts.user("onlya", groups=[world["A"]])
    r = lead.put(stack.url + V1 + "/cloud/users/%s?format=json" % only,
                 data={"key": "password", "value": "Lead-set-pass-1"})
    assert meta(r)["statuscode"] == 100
    # promoting is not a sub-admin's, not even while creating an account
    new = accounts.uid("co")
    r = lead.post(stack.url + V1 + "/cloud/users?format=json", data={
        "userid": new, "password": "Some-long-pass-1",
        "groups[]": [world["A"]], "subadmin[]": [world["A"]]})
    assert (meta(r)["statuscode"], meta(r)["message"]) == \
        (403, "No permissions to promote sub-admins")
    assert stack.psql("SELECT count(*) FROM users WHERE uid = '%s'" %
                      new) == "0"


def test_admin_cannot_take_over_accounts_that_read_reports(stack, world,
                                                           accounts):
    """§ 203 StGB: the admin operates the system and opens no report.  An
    admin could set a referrer's (or a staff member's) password or e-mail
    address and log in as them, or create an account in a referrer clinic
    and read its reports.  Both are refused; other edits stay allowed."""
    adm = as_(stack, world, "admin")
    for who in ("refA", "staff", "manager"):
        uid = world[who][0]
        for key, value in (("password", "Admin-set-pass-1"),
                           ("email", "it@practice.test")):
            r = adm.put(stack.url + V1 + "/cloud/users/%s?format=json" % uid,
                        data={"key": key, "value": value})
            assert (meta(r)["statuscode"], meta(r)["message"]) == (
                403, "Administrators cannot set the password or e-mail "
                "address of an account that reads reports"), (who, key)
    assert ocs_session(stack, world["refA"][0], world["refA"][1]).get(
        stack.url + V2 + "/cloud/user").status_code == 200
    r = adm.put(stack.url + V1 + "/cloud/users/%s?format=json" %
                world["refA"][0], data={"key": "displayname",
                                        "value": "Dr. Renamed"})
    assert meta(r)["statuscode"] == 100
    plain, ppw, _ = accounts.user("plain")    # no role, no clinic
    r = adm.put(stack.url + V1 + "/cloud/users/%s?format=json" % plain,
                data={"key": "password", "value": "Admin-set-pass-1"})
    assert meta(r)["statuscode"] == 100
    # no account into a referrer clinic, new or existing
    new = accounts.uid("spy")
    r = adm.post(stack.url + V2 + "/cloud/users?format=json", data={
        "userid": new, "password": "Some-long-pass-1",
        "groups[]": [world["A"]]})
    assert r.status_code == 403
    assert meta(r)["message"] == "Administrators cannot add accounts to a " \
        "referrer clinic: the practice manager or the clinic lead does"
    assert stack.psql("SELECT count(*) FROM users WHERE uid = '%s'" %
                      new) == "0"
    r = adm.post(stack.url + V2 + "/cloud/users/%s/groups?format=json" %
                 plain, data={"groupid": world["A"]})
    assert r.status_code == 403
    assert stack.psql("SELECT count(*) FROM group_members WHERE user_id = "
                      "%s" % user_id(stack, plain)) == "0"
    # the manager does
    r = as_(stack, world, "manager").post(
        stack.url + V2 + "/cloud/users/%s/groups?format=json" % plain,
        data={"groupid": world["A"]})
    assert r.status_code == 200


def test_subadmin_removal_statuscodes(stack, world):
    """Nextcloud: removing a sub-admin right of a group that does not exist
    is 101 (102 means 'not a sub-admin of this group')."""
    adm = as_(stack, world, "admin")
    r = adm.delete(stack.url + V1 + "/cloud/users/%s/subadmins?format=json"
                   % world["refA"][0], data={"groupid": "no-such-group"})
    assert (meta(r)["statuscode"], meta(r)["message"]) == \
        (101, "Group does not exist")
    r = adm.delete(stack.url + V1 + "/cloud/users/%s/subadmins?format=json"
                   % world["refA"][0], data={"groupid": world["A"]})
    assert (meta(r)["statuscode"], meta(r)["message"]) == \
        (102, "User is not a sub-admin of this group")


def test_group_delete_and_recreate_inherits_nothing(stack, world, accounts):
    s = as_(stack, world, "manager")
    gid = accounts.clinic("gone")
    m, mpw, map_ = accounts.user("member", groups=[gid])
    old = stack.psql("SELECT id FROM groups WHERE gid = '%s'" % gid)
    assert s.delete(stack.url + V2 + "/cloud/groups/%s?format=json" %
                    gid).status_code == 200
    r = s.post(stack.url + V2 + "/apps/referrals/api/v1/clinics?format=json",
               data={"id": gid, "name": "New " + gid, "bsnr": "987654321"})
    assert r.status_code == 200, r.text
    new = stack.psql("SELECT id FROM groups WHERE lower(gid) = lower('%s') "
                     "AND deleted_at IS NULL" % gid)
    assert new != old
    assert data(r)["members"] == 0
    r = ocs_session(stack, m, map_).get(stack.url + V2 +
                                        "/cloud/user?format=json")
    assert data(r)["groups"] == []


def test_clinics_api(stack, world, accounts):
    m = as_(stack, world, "manager")
    url = stack.url + V2 + "/apps/referrals/api/v1/clinics"
    gid = accounts.uid("cl")
    r = m.post(url + "?format=json", data={
        "id": gid, "name": "Praxis Dr. Weiß", "bsnr": "12345678",
        "address": "Hauptstr. 1"})
    assert (r.status_code, meta(r)["message"]) == (400, "BSNR must be 9 "
                                                   "digits")
    r = m.post(url + "?format=json", data={"id": gid, "name": "x" * 256,
                                           "bsnr": "123456789"})
    assert r.status_code == 400
    r = m.post(url + "?format=json", data={
        "id": gid, "name": "Praxis Dr. Weiß", "bsnr": "123456789",
        "address": "Hauptstr. 1, 10115 Berlin",
        "notification_email": "praxis@weiss.test"})
    assert r.status_code == 200
    assert data(r) == {"id": gid, "displayname": "Praxis Dr. Weiß",
                       "name": "Praxis Dr. Weiß", "bsnr": "123456789",
                       "address": "Hauptstr. 1, 10115 Berlin",
                       "notification_email": "praxis@weiss.test",
                       "members": 0}
    r = m.post(url + "?format=json", data={"id": gid, "name": "Dup",
                                           "bsnr": "123456789"})
    assert r.status_code == 409
    r = m.put(url + "/%s?format=json" % gid, data={"bsnr": "111111111"})
    assert data(r)["bsnr"] == "111111111"
    assert data(r)["address"] == "Hauptstr. 1, 10115 Berlin"
    r = m.put(url + "/%s?format=json" % gid,
              data={"notification_email": "not an email"})
    assert r.status_code == 400
    # referrers see their own clinics only; staff see all; no writes
    r = as_(stack, world, "refA").get(url + "?format=json")
    assert [c["id"] for c in data(r)] == [world["A"]]
    r = as_(stack, world, "refA").get(url + "/%s?format=json" % world["B"])
    assert r.status_code == 404
    r = as_(stack, world, "staff").get(url + "?format=json")
    assert gid in [c["id"] for c in data(r)]
    for who in ("staff", "refA", "lead"):
        r = as_(stack, world, who).put(url + "/%s?format=json" % gid,
                                       data={"bsnr": "222222222"})
        assert r.status_code == 403
    r = m.delete(url + "/%s?format=json" % gid)
    assert r.status_code == 200
    r = m.get(url + "/%s?format=json" % gid)
    assert r.status_code == 404
    assert len(audit_rows(stack, "clinic.create")) >= 1
    assert len(audit_rows(stack, "clinic.update")) >= 1


# ------------------------------------------------------------ audit trail

def test_audit_rows_hold_ids_only(stack, world):
    out = stack.psql("SELECT count(*) FROM audit_events WHERE details::text "
                     "ILIKE '%%%s%%' OR details::text ILIKE '%%Pw-%%'"
                     % world["refA"][0])
    assert out == "0"


def test_audit_append_only_and_verify_detects_tampering(stack, accounts):
    r = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-q",
                        "-h", stack.pg_socket_dir(), "-p",
                        str(stack.pg_port()), "-U", "refx_app", "-d", "refx",
                        "-c", "UPDATE audit_events SET action = 'x.y' WHERE "
                        "id = 1"], cwd="/", capture_output=True, text=True)
    assert "permission denied for table audit_events" in r.stderr
    with pytest.raises(subprocess.CalledProcessError):
        stack.psql("DELETE FROM audit_events WHERE id = 1")
    r = accounts.admin("audit", "verify")
    n = int(re.fullmatch(r"audit chain intact: (\d+) events checked\n",
                         r.stdout).group(1))
    assert n > 10
    victim = stack.psql("SELECT id FROM audit_events ORDER BY id LIMIT 1 "
                        "OFFSET 5")
    old = stack.psql("SELECT object_id FROM audit_events WHERE id = %s" %
                     victim)
    stack.psql("ALTER TABLE audit_events DISABLE TRIGGER "
               "audit_events_append_only; UPDATE audit_events SET object_id "
               "= '999999' WHERE id = %s" % victim)
    try:
        r = accounts.admin("audit", "verify", ok=False)
        assert r.returncode == 1
        assert r.stderr == ("refx-admin: audit chain broken: row %s: hash "
                            "mismatch (the row was altered)\n" % victim)
    finally:
        stack.psql("UPDATE audit_events SET object_id = %s WHERE id = %s; "
                   "ALTER TABLE audit_events ENABLE TRIGGER "
                   "audit_events_append_only" % (
                       "NULL" if old == "" else "'%s'" % old, victim))
    assert accounts.admin("audit", "verify").returncode == 0


def test_audit_chain_linear_under_parallel_writers(stack, accounts):
    import concurrent.futures
    uid, pw, ap = accounts.user("par", roles=["referrer"])
    def fail(i):
        return requests.get(stack.url + V2 + "/cloud/user",
                            auth=(uid, "bad%d" % i),
                            headers={"OCS-APIRequest": "true",
                                     "X-Forwarded-For": fresh_ip()}).status_code
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert set(ex.map(fail, range(24))) == {401}
    assert accounts.admin("audit", "verify").returncode == 0


def test_wrong_current_password_is_throttled_and_audited(stack, accounts):
    """Changing the password with a wrong current one was neither counted
    nor audited: whoever held a session could guess the password without
    limit.  It now counts like a failed login: the 12th try from one
    address is 429 (even with the right password), every failure is an
    auth.password.failed row, and the password stays."""
    uid, pw, ap = accounts.user("pwc", roles=["referrer"])
    s = accounts.browser()
    s.headers["Accept-Language"] = "en"
    assert accounts.web_login(s, uid, pw).status_code == 200
    tok = hidden(s.get(s.base + "/settings/security").text, "requesttoken")
    for i in range(11):
        r = s.post(s.base + "/settings/password", data={
            "current": "Wrong-%d-password" % i, "new": "New-Pass-word-42!",
            "requesttoken": tok})
        assert r.status_code == 200
        assert "The current password is wrong." in r.text
    r = s.post(s.base + "/settings/password", data={
        "current": pw, "new": "New-Pass-word-42!", "requesttoken": tok})
    assert r.status_code == 429
    assert "Too many failed attempts. Please try again later." in r.text
    assert stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                      "'auth.password.failed' AND object_id = (SELECT "
                      "id::text FROM users WHERE uid = '%s')" % uid) == "11"
    assert requests.get(stack.url + "/ocs/v2.php/cloud/user?format=json",
                        auth=(uid, pw), headers={
                            "OCS-APIRequest": "true",
                            "X-Forwarded-For": fresh_ip()}).status_code == 200
    # the account's count holds from other addresses too (30 minutes)
    s.headers["X-Forwarded-For"] = fresh_ip()
    r = s.post(s.base + "/settings/password", data={
        "current": pw, "new": "New-Pass-word-42!", "requesttoken": tok})
    assert r.status_code == 429


def test_password_change(stack, accounts):
    uid, pw, ap = accounts.user("pwd", roles=["referrer"])
    s = accounts.browser()
    s.headers["Accept-Language"] = "en"
    assert accounts.web_login(s, uid, pw).status_code == 200
    tok = hidden(s.get(s.base + "/settings/security").text, "requesttoken")
    r = s.post(s.base + "/settings/password", data={
        "current": pw, "new": "short", "requesttoken": tok})
    assert r.status_code == 200 and "Password changed." not in r.text
    r = s.post(s.base + "/settings/password", data={
        "current": pw, "new": "New-Pass-word-42!", "requesttoken": tok})
    assert (r.status_code, "Password changed." in r.text) == (200, True)

    def basic(p):
        return requests.get(stack.url + "/ocs/v2.php/cloud/user?format=json",
                            auth=(uid, p), headers={
                                "OCS-APIRequest": "true",
                                "X-Forwarded-For": fresh_ip()}).status_code
    assert (basic(pw), basic("New-Pass-word-42!")) == (401, 200)


def test_housekeeping_deletes_what_authentication_keeps_for_a_while(
        stack, accounts):
    """Nothing deleted failed attempts (client subnets, login names), web
    sessions, link sessions or Login Flow v2 rows: they stayed forever,
    and an app password granted to a flow nobody polled stayed live.
    `refx-admin housekeeping` (a timer, conf/) deletes what is past its
    time and keeps what is not; the account page lists live sessions
    only."""
    accounts.admin("housekeeping")          # what earlier tests left
    ref, rpw, _ = accounts.user("hkr", roles=["referrer"])
    staff, _, sap = accounts.user("hks", roles=["staff"])
    rid = user_id(stack, ref)

    def sessions():
        return stack.psql("SELECT count(*) FROM sessions WHERE user_id = %s"
                          % rid)
    # web sessions: one live, one logged out, one idle too long
    live, out, idle = (accounts.browser() for _ in range(3))
    for b in (live, out, idle):
        accounts.web_login(b, ref, rpw)
    page = out.get(stack.url + "/settings/security")
    out.post(stack.url + "/logout", data={
        "requesttoken": hidden(page.text, "requesttoken")})
    old = stack.psql("SELECT max(id) FROM sessions WHERE user_id = %s AND "
                     "ended_at IS NULL" % rid)
    stack.psql("UPDATE sessions SET last_seen_at = now() - interval "
               "'400 days', created_at = now() - interval '400 days' WHERE "
               "id = %s" % old)
    page = live.get(stack.url + "/settings/security")
    table = page.text.split("/settings/sessions/logout-everywhere")[0]
    assert table.rsplit("<tbody>", 1)[1].count("<tr>") == 1  # not the idle
    assert sessions() == "3"
    # failed attempts: one from now, one from 13 hours ago
    who = accounts.uid("nobody")
    for _ in range(2):
        accounts.web_login(accounts.browser(), who, "wrong")
    stack.psql("UPDATE auth_failures SET at = now() - interval '13 hours' "
               "WHERE id = (SELECT min(id) FROM auth_failures WHERE "
               "account = '%s')" % who)
    # link sessions: one live, one expired
    s = requests.Session()
    s.auth = (staff, sap)
    s.headers["X-Forwarded-For"] = fresh_ip()
    s.put(stack.url + "/remote.php/dav/files/%s/hk.pdf" % staff,
          data=b"%PDF-1.4 hk")
    token = s.post(stack.url + "/ocs/v2.php/apps/files_sharing/api/v1/"
                   "shares", params={"format": "json"},
                   headers={"OCS-APIRequest": "true"},
                   data={"path": "/hk.pdf", "shareType": "3",
                         "password": "Link-password-1"}).json()[
        "ocs"]["data"]["token"]
    for _ in range(2):
        b = accounts.browser()
        page = b.get(stack.url + "/s/%s/authenticate/showShare" % token)
        r = b.post(stack.url + "/s/%s/authenticate/showShare" % token,
                   data={"password": "Link-password-1", "requesttoken":
                         hidden(page.text, "requesttoken")},
                   allow_redirects=False)
        assert r.status_code == 303
    link = "SELECT count(*) FROM link_sessions l JOIN shares s ON s.id = " \
        "l.share_id WHERE s.token_prefix = '%s'" % token[:6]
    assert stack.psql(link) == "2"
    stack.psql("UPDATE link_sessions SET expires_at = now() - interval "
               "'1 second' WHERE id = (SELECT max(l.id) FROM link_sessions l "
               "JOIN shares s ON s.id = l.share_id WHERE s.token_prefix = "
               "'%s')" % token[:6])
    # login flows: granted and never polled, started only, fresh
    flows = []
    for _ in range(3):
        flows.append(requests.post(stack.url + "/index.php/login/v2").json())
    b = accounts.browser()
    page = b.get(flows[0]["login"])
    r = b.post(stack.url + "/login", data={
        "user": ref, "password": rpw,
        "requesttoken": hidden(page.text, "requesttoken"),
        "redirect_url": hidden(page.text, "redirect_url")})
    assert b.post(stack.url + "/login/v2/grant", data={
        "requesttoken": hidden(r.text, "requesttoken"),
        "stateToken": hidden(r.text, "stateToken")}).status_code == 200
    granted = stack.psql("SELECT app_password_id FROM login_flows WHERE "
                         "granted_at IS NOT NULL ORDER BY id DESC LIMIT 1")
    ids = stack.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM "
                     "(SELECT id FROM login_flows ORDER BY id DESC LIMIT 3) "
                     "f").split(",")
    stack.psql("UPDATE login_flows SET expires_at = now() - interval "
               "'1 second' WHERE id IN (%s, %s)" % (ids[0], ids[1]))
    assert sessions() == "4"                # the flow's browser too

    r = accounts.admin("housekeeping")
    assert r.stdout == (
        "expired shares ended: 0\nstale uploads purged: 0\n"
        "failed attempts deleted: 1\nsessions deleted: 2\n"
        "link sessions deleted: 1\nlogin flows deleted: 2\n"
        "unreceived app passwords revoked: 1\n")
    assert sessions() == "2"
    assert live.get(stack.url + "/settings/security").status_code == 200
    assert stack.psql("SELECT count(*) FROM auth_failures WHERE account = "
                      "'%s'" % who) == "1"
    assert stack.psql(link) == "1"
    assert stack.psql("SELECT revoked_at IS NOT NULL FROM app_passwords "
                      "WHERE id = %s" % granted) == "t"
    r = requests.post(flows[2]["poll"]["endpoint"],
                      data={"token": flows[2]["poll"]["token"]})
    assert (r.status_code, r.text) == (404, "[]")   # fresh, not granted
    assert stack.psql("SELECT string_agg(id::text, ',') FROM login_flows "
                      "WHERE id IN (%s)" % ",".join(ids)) == ids[2]
    assert stack.psql(
        "SELECT details FROM audit_events WHERE action = "
        "'system.housekeeping' ORDER BY id DESC LIMIT 1") == (
        '{"sessions": 2, "login_flows": 2, "link_sessions": 1, '
        '"failed_attempts": 1, "app_passwords_revoked": 1}')

# SPDX-License-Identifier: AGPL-3.0-or-later
"""The referrer portal over HTTP (the browser suite clicks through the same
pages): German by default, English by Accept-Language or the account's
setting; inbox unread first; report page, inline view, download and "mark
as read" through the domain's disclosure check; CSRF on forms; another
clinic's report is a 404; patient data is escaped and kept out of URLs."""
import re
import threading
import uuid

import requests

from conftest import fresh_ip, hidden
from test_referrals import User, Patient, ingest


def login(accounts, user, lang=None):
    b = accounts.browser()
    if lang:
        b.headers["Accept-Language"] = lang
    page = accounts.web_login(b, user.uid, user.pw, target="/portal")
    assert page.status_code == 200, page.text
    return b, page


def test_inbox_report_read_flow(stack, accounts):
    staff = User(stack, accounts, "pstf", roles=["staff"])
    gid = accounts.clinic("pz", email=False)
    ref = User(stack, accounts, "pref", groups=[gid])
    p1, p2 = Patient(), Patient()
    r1, c1 = ingest(staff, p1, gid, title="Röntgen Thorax")
    r2, c2 = ingest(staff, p2, gid, title="MRT Knie")
    id1, id2 = (r.json()["ocs"]["data"]["id"] for r in (r1, r2))
    b, page = login(accounts, ref)
    assert page.url == stack.url + "/portal"
    assert '<html lang="de">' in page.text
    assert "<h1>Befunde</h1>" in page.text
    rows = re.findall(r'<tr class="(unread|)" data-report="(\d+)">',
                      page.text)
    assert rows == [("unread", id2), ("unread", id1)]
    assert p1.family in page.text and "1961-07-13" in page.text
    # the report page: versions, view inline, download, mark as read
    rp = b.get(stack.url + "/portal/reports/%s" % id1)
    assert rp.status_code == 200
    assert rp.headers["Cache-Control"] == "no-store"
    assert "Röntgen Thorax" in rp.text
    assert p1.family not in rp.url
    view = b.get(stack.url + "/portal/reports/%s/versions/1/view" % id1)
    assert view.status_code == 200 and view.content == c1
    assert view.headers["Content-Disposition"] == \
        'inline; filename="r-%06d-v1.pdf"' % int(id1)
    dl = b.get(stack.url + "/portal/reports/%s/versions/0/download" % id2)
    assert dl.content == c2
    assert dl.headers["Content-Disposition"].startswith("attachment;")
    # the download was a read: id2 is read now, id1 read by the view
    page = b.get(stack.url + "/portal")
    rows = re.findall(r'<tr class="(unread|)" data-report="(\d+)">',
                      page.text)
    assert rows == [("", id2), ("", id1)]
    # mark as read without opening (third report)
    r3, _ = ingest(staff, Patient(), gid)
    id3 = r3.json()["ocs"]["data"]["id"]
    rp = b.get(stack.url + "/portal/reports/%s" % id3)
    token = hidden(rp.text, "requesttoken")
    r = b.post(stack.url + "/portal/reports/%s/read" % id3,
               data={"requesttoken": token}, allow_redirects=False)
    assert r.status_code == 303
    assert 'id="is-read"' in b.get(stack.url + "/portal/reports/%s" %
                                   id3).text
    reads = staff.ok("GET", "/reports/%s" % id3)["versions"][0]["read_by"]
    assert [(x["user"], x["how"]) for x in reads] == [(ref.uid, "marked")]
    # page views are audited with the patient id
    n = stack.psql("SELECT count(*) FROM audit_events WHERE action = "
                   "'portal.report.view' AND object_id = '%s' AND "
                   "patient_id IS NOT NULL" % id1)
    assert int(n) >= 1


def test_csrf_search_language_and_isolation(stack, accounts):
    staff = User(stack, accounts, "pst2", roles=["staff"])
    gid = accounts.clinic("pa", email=False)
    other = accounts.clinic("pb", email=False)
    ref = User(stack, accounts, "pr2", groups=[gid])
    foreign = User(stack, accounts, "pr3", groups=[other])
    xss = Patient()
    xss.family = '<script>alert(1)</script>"\'&'
    r, _ = ingest(staff, xss, gid, title='<img src=x onerror=alert(2)>')
    rid = r.json()["ocs"]["data"]["id"]
    # before login the browser's language decides, after it the account's
    anon = requests.get(stack.url + "/login", headers={
        "Accept-Language": "en-US,en;q=0.9", "X-Forwarded-For": fresh_ip()})
    assert '<html lang="en">' in anon.text
    anon = requests.get(stack.url + "/login", headers={
        "Accept-Language": "fr,de;q=0.5,en;q=0.4",
        "X-Forwarded-For": fresh_ip()})
    assert '<html lang="de">' in anon.text
    r = ref.s.put(stack.url + "/ocs/v2.php/cloud/users/%s" % ref.uid,
                  params={"format": "json"},
                  data={"key": "language", "value": "en"})
    assert r.status_code == 200, r.text
    b, page = login(accounts, ref, lang="de")
    assert '<html lang="en">' in page.text
    assert "<h1>Reports</h1>" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;" in \
        page.text
    rp = b.get(stack.url + "/portal/reports/%s" % rid)
    assert "<img src=x" not in rp.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in rp.text
    # search goes in the body, with the CSRF token
    token = hidden(page.text, "requesttoken")
    s = b.post(stack.url + "/portal", data={"q": "<script>",
                                            "requesttoken": token})
    assert s.status_code == 200
    assert 'data-report="%s"' % rid in s.text
    assert b.post(stack.url + "/portal", data={"q": "zzz-none",
                                               "requesttoken": token}) \
        .text.count('id="no-reports"') == 1
    # without the token: refused, nothing marked read
    r = b.post(stack.url + "/portal/reports/%s/read" % rid,
               allow_redirects=False)
    assert r.status_code == 412
    assert b.post(stack.url + "/portal", data={"q": "x"}).status_code == 412
    reads = staff.ok("GET", "/reports/%s" % rid)["versions"][0]["read_by"]
    assert reads == []
    # another clinic's member: 404 like a report that does not exist
    fb, _ = login(accounts, foreign)
    a = fb.get(stack.url + "/portal/reports/%s" % rid)
    z = fb.get(stack.url + "/portal/reports/99999999")
    assert a.status_code == z.status_code == 404
    assert a.text == z.text
    assert fb.get(stack.url + "/portal/reports/%s/versions/0/view" %
                  rid).status_code == 404
    # signed out: the login page, no patient data
    anon = requests.get(stack.url + "/portal/reports/%s" % rid,
                        headers={"X-Forwarded-For": fresh_ip()})
    assert "/login" in anon.url
    assert "alert(1)" not in anon.text


def test_notifications_page(stack, accounts):
    staff = User(stack, accounts, "pst3", roles=["staff"])
    gid = accounts.clinic("pn", email=False)
    ref = User(stack, accounts, "pr4", groups=[gid])
    p = Patient()
    r, _ = ingest(staff, p, gid)
    rid = r.json()["ocs"]["data"]["id"]
    b, _ = login(accounts, ref)
    page = b.get(stack.url + "/portal/notifications")
    assert page.status_code == 200
    assert '<a href="/portal/reports/%s">Neuer Befund verfügbar</a>' % rid \
        in page.text
    assert p.family not in page.text


INVITE = re.compile(rb"/invite/([0-9A-Za-z]{32})\r?\n")


def test_clinic_lead_invites_disables_and_enables(stack, accounts, mailbox):
    gid = accounts.clinic("lz", email=False)
    foreign = accounts.clinic("lf", email=False)
    lead = User(stack, accounts, "lead", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    member = User(stack, accounts, "lmem", groups=[gid],
                  email="lmem-%s@clinic.test" % uuid.uuid4().hex[:8])
    stranger = User(stack, accounts, "lstr", groups=[foreign])
    lb, page = login(accounts, lead)
    assert '<a href="/portal/clinic">Praxis</a>' in page.text
    mb, page = login(accounts, member)
    assert 'href="/portal/clinic"' not in page.text
    assert mb.get(stack.url + "/portal/clinic").status_code == 403

    page = lb.get(stack.url + "/portal/clinic")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert sorted(re.findall(r'data-member="([^"]+)"', page.text)) == \
        sorted([lead.uid, member.uid])
    token = hidden(page.text, "requesttoken")

    # invite: the account exists without a usable password until the link
    new = accounts.uid("linv")
    email = new + "@clinic.test"
    form = {"requesttoken": token, "userid": new, "displayname": "Dr. Neu",
            "email": email}
    url = stack.url + "/portal/clinic/%s/invite" % gid
    assert lb.post(url, data=dict(form, requesttoken=""),
                   allow_redirects=False).status_code == 412
    assert lb.post(stack.url + "/portal/clinic/%s/invite" % foreign,
                   data=form, allow_redirects=False).status_code == 404
    r = lb.post(url, data=form, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/portal/clinic?invited=1"
    page = lb.get(stack.url + "/portal/clinic")
    row = re.search(r'<tr data-member="%s">.*?</tr>' % new, page.text,
                    re.S).group(0)
    assert "eingeladen" in row and "Dr. Neu" in row
    (mail,) = mailbox.wait_for(email)
    assert b"Subject: Your refx account / Ihr refx-Zugang" in mail
    assert ("Ihr Anmeldename: %s" % new).encode() in mail
    tok1 = INVITE.search(mail).group(1).decode()
    # the same login name again: refused, nothing created
    n = stack.psql("SELECT count(*) FROM invitations")
    r = lb.post(url, data=form)
    assert r.status_code == 409
    assert "Dieser Anmeldename ist bereits vergeben." in r.text
    # e-mail login stays unambiguous: no login name that is another
    # account's address, no address another account uses (a lead could
    # otherwise take over a manager's e-mail login); no line breaks in
    # names that reach mails
    for bad, msg in (
            (dict(form, userid=member.email), "Dieser Anmeldename ist die "
             "E-Mail-Adresse eines anderen Kontos."),
            (dict(form, userid=new + "x", email=member.email),
             "Diese E-Mail-Adresse wird bereits von einem anderen Konto "
             "verwendet."),
            (dict(form, userid=new + "y", email=new + "y@clinic.test",
                  displayname="Dr X\r\n\r\nLog in at http://evil.test/"),
             "Ungültiger Name.")):
        r = lb.post(url, data=bad)
        assert r.status_code == 400 and msg in r.text, r.text
    assert stack.psql("SELECT count(*) FROM invitations") == n
    assert stack.psql("SELECT count(*) FROM users WHERE uid LIKE '%s_' OR "
                      "lower(uid) = lower('%s')" % (new, member.email)) == "0"
    # the member still signs in with the e-mail address
    assert accounts.web_login(accounts.browser(), member.email, member.pw,
                              target="/portal").url.endswith("/portal")
    # the invited account cannot sign in before choosing a password
    nb = accounts.browser()
    r = accounts.web_login(nb, new, "!")
    assert r.status_code == 200
    assert "Anmeldename oder Passwort ist falsch." in r.text
    assert stack.psql("SELECT password_hash FROM users WHERE uid = '%s'"
                      % new) == "!"
    # sending it again replaces the first link
    r = lb.post(stack.url + "/portal/clinic/%s/members/%s/reinvite" %
                (gid, new), data={"requesttoken": token},
                allow_redirects=False)
    assert r.status_code == 303
    tok2 = INVITE.search(mailbox.wait_for(email, 2)[1]).group(1).decode()
    assert tok2 != tok1
    assert nb.get(stack.url + "/invite/" + tok1).status_code == 404

    # choosing the password
    inv = stack.url + "/invite/" + tok2
    page = nb.get(inv)
    assert page.status_code == 200
    assert '<strong id="login">%s</strong>' % new in page.text
    itok = hidden(page.text, "requesttoken")
    pw = "Neu-Passwort-2026!"
    r = nb.post(inv, data={"requesttoken": itok, "password": pw,
                           "password2": pw + "x"})
    assert r.status_code == 400
    assert "Die beiden Passwörter stimmen nicht überein." in r.text
    itok = hidden(r.text, "requesttoken")   # each form has its own token
    r = nb.post(inv, data={"requesttoken": itok, "password": "kurz",
                           "password2": "kurz"})
    assert r.status_code == 400
    assert "Das Passwort muss mindestens 10 Zeichen lang sein." in r.text
    r = requests.post(inv, data={"requesttoken": itok, "password": pw,
                                 "password2": pw},
                      headers={"X-Forwarded-For": fresh_ip()},
                      allow_redirects=False)
    assert r.status_code == 412             # no double-submit cookie
    r = nb.post(inv, data={"requesttoken": hidden(nb.get(inv).text,
                                                  "requesttoken"),
                           "password": pw, "password2": pw},
                allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == "/login?user=" + new
    assert nb.get(inv).status_code == 404   # used up
    # delivered mail keeps no body (it held the one-time link)
    assert stack.psql("SELECT count(*) FROM mail_queue WHERE recipient = "
                      "'%s' AND (sent_at IS NULL OR body <> '')" % email) \
        == "0"
    # a new link is only for accounts that never chose a password
    r = lb.post(stack.url + "/portal/clinic/%s/members/%s/reinvite" %
                (gid, new), data={"requesttoken": token},
                allow_redirects=False)
    assert r.status_code == 409
    page = accounts.web_login(accounts.browser(), new, pw, target="/portal")
    assert page.status_code == 200 and page.url.endswith("/portal")
    assert stack.psql(
        "SELECT string_agg(action, ' ' ORDER BY id) FROM audit_events WHERE "
        "object_type = 'user' AND object_id = (SELECT id::text FROM users "
        "WHERE uid = '%s') AND action LIKE 'account.invite%%'" % new) == \
        "account.invite account.invite account.invite.accept"

    # disable ends the member's sessions and app passwords work no more
    base = stack.url + "/portal/clinic/%s/members/" % gid
    r = lb.post(base + member.uid + "/disable", data={"requesttoken": token},
                allow_redirects=False)
    assert r.status_code == 303
    assert mb.get(stack.url + "/portal",
                  allow_redirects=False).status_code == 303
    assert member.api("GET", "/reports").status_code == 401
    page = lb.get(stack.url + "/portal/clinic")
    row = re.search(r'<tr data-member="%s">.*?</tr>' % member.uid,
                    page.text, re.S).group(0)
    assert "deaktiviert" in row and "/enable" in row
    r = lb.post(base + member.uid + "/enable", data={"requesttoken": token},
                allow_redirects=False)
    assert r.status_code == 303
    assert member.api("GET", "/reports").status_code == 200
    # not themself, not another clinic's member, not without the token
    for path in (base + lead.uid + "/disable",
                 base + stranger.uid + "/disable",
                 stack.url + "/portal/clinic/%s/members/%s/disable" %
                 (foreign, stranger.uid),
                 base + member.uid + "/delete"):
        assert lb.post(path, data={"requesttoken": token},
                       allow_redirects=False).status_code == 404, path
    assert lb.post(base + member.uid + "/disable",
                   allow_redirects=False).status_code == 412
    assert stack.psql("SELECT enabled FROM users WHERE uid IN ('%s', '%s') "
                      "ORDER BY uid" % (stranger.uid, lead.uid)) == "t\nt"
    # a plain member cannot use the forms (their old session ended when
    # they were disabled: a new one)
    mb, page = login(accounts, member)
    assert mb.post(base + lead.uid + "/disable",
                   data={"requesttoken": hidden(page.text, "requesttoken")},
                   allow_redirects=False).status_code == 404


def test_provisioning_invites_accounts_created_without_password(
        stack, accounts, mailbox):
    """Nextcloud: a user created with an e-mail address and no password
    gets a link to set it; without either the API answers 108."""
    gid = accounts.clinic("lp", email=False)
    lead = User(stack, accounts, "lpl", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    new = accounts.uid("lpn")
    url = stack.url + "/ocs/v2.php/cloud/users"
    r = lead.s.post(url, params={"format": "json"},
                    data={"userid": new, "groups[]": gid})
    assert r.json()["ocs"]["meta"]["statuscode"] == 108
    r = lead.s.post(url, params={"format": "json"}, data={
        "userid": new, "email": new + "@clinic.test", "groups[]": gid})
    assert r.status_code == 200, r.text
    assert r.json()["ocs"]["data"] == {"id": new}
    (mail,) = mailbox.wait_for(new + "@clinic.test")
    tok = INVITE.search(mail).group(1).decode()
    link = stack.url + "/invite/" + tok
    assert requests.get(link).status_code == 200
    # disabling the account ends its invitation; enabling does not revive it
    lb, page = login(accounts, lead)
    token = hidden(page.text, "requesttoken")
    base = stack.url + "/portal/clinic/%s/members/%s/" % (gid, new)
    for action in ("disable", "enable"):
        r = lb.post(base + action, data={"requesttoken": token},
                    allow_redirects=False)
        assert r.status_code == 303
        assert requests.get(link).status_code == 404


def test_failed_invitation_leaves_no_open_transaction(stack, accounts):
    """The clinic lead's invite form opens its own transaction; on an
    error other than bad input it returned without ROLLBACK, and the
    worker's connection stayed idle in an aborted transaction - holding
    the new login name's and the account's locks - until its next
    request."""
    gid = accounts.clinic("lt", email=False)
    lead = User(stack, accounts, "tlead", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    lb, page = login(accounts, lead)
    token = hidden(lb.get(stack.url + "/portal/clinic").text,
                   "requesttoken")
    new = accounts.uid("tinv")
    form = {"requesttoken": token, "userid": new, "displayname": "Dr. T",
            "email": new + "@clinic.test"}
    url = stack.url + "/portal/clinic/%s/invite" % gid
    with stack.failing_insert("invitations"):
        assert lb.post(url, data=form,
                       allow_redirects=False).status_code == 500
    assert stack.psql("SELECT count(*) FROM pg_stat_activity WHERE datname "
                      "= 'refx' AND state LIKE 'idle in transaction%'") == "0"
    assert stack.psql("SELECT count(*) FROM users WHERE uid = '%s'" %
                      new) == "0"
    r = lb.post(url, data=form, allow_redirects=False)
    assert r.status_code == 303, r.text


def test_reinvite_does_not_block_foreign_key_checks(stack, accounts,
                                                    mailbox):
    """Sending an invitation locked the account's users row FOR UPDATE and
    then wrote its audit row.  An ingest writes its audit rows first and
    then inserts the clinic members' notifications and mails, whose
    foreign keys take KEY SHARE locks on those users rows: the two at once
    could deadlock.  The invitation only needs FOR NO KEY UPDATE, which a
    key-share lock does not block - a held one must not make it wait."""
    gid = accounts.clinic("lk", email=False)
    lead = User(stack, accounts, "klead", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    lb, page = login(accounts, lead)
    token = hidden(lb.get(stack.url + "/portal/clinic").text,
                   "requesttoken")
    new = accounts.uid("kinv")
    email = new + "@clinic.test"
    r = lb.post(stack.url + "/portal/clinic/%s/invite" % gid,
                data={"requesttoken": token, "userid": new,
                      "displayname": "Dr. K", "email": email},
                allow_redirects=False)
    assert r.status_code == 303, r.text
    mailbox.wait_for(email)
    result = {}

    def reinvite():
        result["status"] = lb.post(
            stack.url + "/portal/clinic/%s/members/%s/reinvite" % (gid, new),
            data={"requesttoken": token},
            allow_redirects=False).status_code

    with stack.holding("SELECT 1 FROM users WHERE uid = '%s' FOR KEY SHARE"
                       % new) as pid:
        t = threading.Thread(target=reinvite)
        t.start()
        waited = 0
        while t.is_alive() and not waited:
            waited = stack.waiting_on(pid)
            t.join(0.05)
    t.join()
    assert waited == 0
    assert result["status"] == 303
    assert len(mailbox.wait_for(email, 2)) == 2

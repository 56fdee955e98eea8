# SPDX-License-Identifier: AGPL-3.0-or-later
"""The authorization matrix of the route table (issue 10): every route of
app/routes.c (read from the source, so a new route is in the matrix the
moment it exists) is called by every principal - anonymous, a referrer, a
clinic lead (sub-admin), staff, a manager, an administrator and a disabled
account - and the dispatcher's rule must hold exactly:

  * a route behind a login answers someone without valid credentials with
    401 (OCS, WebDAV, plain) or a 303 to the login form (web pages);
  * a route limited to roles answers a signed-in account without them
    with 403;
  * nothing anywhere answers with a 5xx.

Object-level rules (another clinic's report looks like a nonexistent one,
administrators never read report content) are asserted with real objects
in test_referrals_attack.py and test_referrals.py."""
import re

import requests

from conftest import fresh_ip
from test_referrals import User

ROUTES = __file__.rsplit("/tests/", 1)[0] + "/app/routes.c"
ENTRY = re.compile(
    r'\{\s*([A-Z_| ]+?)\s*,\s*(ROUTE_[A-Z]+)\s*,\s*"([^"]*)"\s*,\s*(\w+)\s*,'
    r'\s*(AUTH_\w+)\s*,\s*([^,{}]+?)\s*,\s*([^,{}]+?)\s*,\s*([^{}]+?)\s*\}')
ROLE_BITS = {"ROLE_ADMIN": 1, "ROLE_MANAGER": 2, "ROLE_STAFF": 4,
             "ROLE_REFERRER": 8, "MGMT": 1 | 2, "PRACTICE": 2 | 4, "0": 0}
METHOD_ORDER = ("GET", "POST", "PUT", "DELETE", "PROPFIND", "PROPPATCH",
                "MKCOL", "MOVE", "COPY", "PATCH", "OPTIONS", "HEAD")


def routes():
    src = open(ROUTES).read()
    out = []
    for m in ENTRY.finditer(src):
        methods, kind, pattern, handler, auth, _body, flags, roles = \
            m.groups()
        names = set()
        for tok in methods.replace(" ", "").split("|"):
            if tok == "GET_HEAD":
                names |= {"GET", "HEAD"}
            elif tok == "DAV_METHODS":
                names |= {"GET", "PUT", "PROPFIND", "DELETE", "MKCOL"}
            elif tok.startswith("HTTP_"):
                names.add(tok[5:])
        method = next(x for x in METHOD_ORDER if x in names)
        bits = 0
        for tok in roles.replace(" ", "").split("|"):
            bits |= ROLE_BITS[tok]
        out.append({"kind": kind, "pattern": pattern, "method": method,
                    "auth": auth, "flags": flags, "roles": bits,
                    "handler": handler})
    return out


def url_for(r):
    path = re.sub(r"\{[a-z_]+\*\}", "x", r["pattern"])
    path = re.sub(r"\{[a-z_]+\}", "1", path)
    if r["kind"] == "ROUTE_OCS":
        path = "/ocs/v2.php" + path
    return path


class Principal:
    def __init__(self, name, roles, basic=None, web=None):
        self.name, self.roles, self.basic, self.web = name, roles, basic, web


def test_every_route_by_every_principal(stack, accounts):
    table = routes()
    assert len(table) == len(re.findall(r"\n\t\{ ", open(ROUTES).read()))
    gid = accounts.clinic("mx", email=False)
    ref = User(stack, accounts, "mxr", groups=[gid])
    lead = User(stack, accounts, "mxl", groups=[gid])
    accounts.admin("group", "subadmin", gid, lead.uid)
    staff = User(stack, accounts, "mxs", roles=["staff"])
    mgr = User(stack, accounts, "mxm", roles=["manager"])
    adm = User(stack, accounts, "mxa", roles=["admin"])
    gone = User(stack, accounts, "mxd", groups=[gid])
    accounts.admin("user", "disable", gone.uid)

    def web(u, enrol):
        b = accounts.browser()
        page = accounts.web_login(b, u.uid, u.pw)
        if enrol:
            accounts.enrol(b, page)
        return b

    people = [
        Principal("anonymous", None),
        Principal("referrer", 8, (ref.uid, ref.ap), web(ref, False)),
        Principal("clinic lead", 8, (lead.uid, lead.ap), web(lead, False)),
        Principal("staff", 4, (staff.uid, staff.ap), web(staff, True)),
        Principal("manager", 2, (mgr.uid, mgr.ap), web(mgr, True)),
        Principal("admin", 1, (adm.uid, adm.ap), web(adm, True)),
        Principal("disabled", None, (gone.uid, gone.ap), None),
    ]
    # routes that end the caller's own credentials go last
    ending = {"h_ocs_apppassword_delete", "h_logout", "h_logout_everywhere"}
    table.sort(key=lambda r: r["handler"] in ending)
    wrong = []
    for r in table:
        if "ROUTE_TESTING" in r["flags"]:
            continue
        url = stack.url + url_for(r)
        for p in people:
            s = p.web if (r["kind"] == "ROUTE_WEB" and p.web) else \
                requests.Session()
            s.headers["X-Forwarded-For"] = fresh_ip()
            headers = {"OCS-APIRequest": "true"}
            auth = p.basic if r["kind"] in ("ROUTE_OCS", "ROUTE_DAV") \
                else None
            resp = s.request(r["method"], url, auth=auth, headers=headers,
                             allow_redirects=False, timeout=30)
            got = resp.status_code
            signed_in = p.roles is not None and (
                r["kind"] != "ROUTE_WEB" or p.web is not None)
            want = None
            if r["auth"] in ("AUTH_USER", "AUTH_PENDING") and \
                    "ROUTE_LINK_AUTH" not in r["flags"]:
                if not signed_in:
                    want = 303 if r["kind"] == "ROUTE_WEB" else 401
                elif r["roles"] and not (p.roles & r["roles"]) and \
                        r["auth"] == "AUTH_USER":
                    want = 403
            cell = "%s %s as %s: %d" % (r["method"], url_for(r), p.name, got)
            if got >= 500:
                wrong.append(cell + " (5xx)")
            elif want is not None and got != want:
                wrong.append(cell + " (want %d)" % want)
            elif want == 303 and not resp.headers.get(
                    "Location", "").startswith("/login"):
                wrong.append(cell + " (not to the login form)")
            elif want is None and r["roles"] and signed_in and \
                    r["auth"] == "AUTH_USER" and got == 401:
                wrong.append(cell + " (an allowed account was refused)")
    assert wrong == []

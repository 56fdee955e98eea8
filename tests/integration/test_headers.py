# SPDX-License-Identifier: AGPL-3.0-or-later
"""Security headers on every answer (issue 10): each GET route of the route
table (read from app/routes.c, so a new route is covered without editing
this file) is requested anonymously and as a signed-in manager; every
answer, whatever its status, carries a Content-Security-Policy without
'unsafe-inline' and with frame-ancestors, X-Content-Type-Options nosniff,
a Referrer-Policy and X-Frame-Options; every HTML page and OCS answer says
Cache-Control no-store; every cookie set is HttpOnly and SameSite."""
import os
import re

import requests

from conftest import fresh_ip
from test_referrals import User

ROUTES = os.path.join(os.path.dirname(__file__), "..", "..", "app",
                      "routes.c")
ENTRY = re.compile(r'\{\s*(GET_HEAD|HTTP_GET)\s*,\s*(ROUTE_\w+)\s*,\s*'
                   r'"([^"]+)"')


def get_routes():
    with open(ROUTES) as f:
        src = f.read()
    out = []
    for method, kind, pattern in ENTRY.findall(src):
        path = re.sub(r"\{[a-z_]+\*\}", "x", pattern)
        path = re.sub(r"\{[a-z_]+\}", "1", path)
        if kind == "ROUTE_OCS":
            path = "/ocs/v2.php" + path
        out.append((kind, pattern, path))
    return out


def check(r, kind, who, problems):
    h = r.headers
    where = "%s %s (%s, %d)" % (kind, r.request.path_url, who, r.status_code)
    csp = h.get("Content-Security-Policy", "")
    if not csp or "unsafe-inline" in csp or "frame-ancestors" not in csp:
        problems.append((where, "CSP", csp))
    for name, want in (("X-Content-Type-Options", "nosniff"),
                       ("Referrer-Policy", "no-referrer"),
                       ("X-Frame-Options", "SAMEORIGIN")):
        if h.get(name) != want:
            problems.append((where, name, h.get(name)))
    ctype = h.get("Content-Type", "")
    if (ctype.startswith("text/html") or kind == "ROUTE_OCS") and \
            r.status_code == 200 and "no-store" not in h.get(
                "Cache-Control", ""):
        problems.append((where, "Cache-Control", h.get("Cache-Control")))
    for cookie in r.raw.headers.getlist("Set-Cookie"):
        low = cookie.lower()
        if "httponly" not in low or "samesite" not in low:
            problems.append((where, "Set-Cookie", cookie))


def test_every_get_route_sends_the_security_headers(stack, accounts):
    routes = get_routes()
    assert len(routes) >= 60          # the parser still reads the table
    mgr = User(stack, accounts, "hdr", roles=["manager"])
    b = accounts.browser()
    accounts.enrol(b, accounts.web_login(b, mgr.uid, mgr.pw))
    anon = requests.Session()
    anon.headers["X-Forwarded-For"] = fresh_ip()
    problems = []
    for kind, pattern, path in routes:
        for who, s in (("anonymous", anon), ("manager", b)):
            r = s.get(stack.url + path, allow_redirects=False,
                      headers={"OCS-APIRequest": "true"}, stream=True)
            check(r, kind, who, problems)
            r.close()
    assert problems == []

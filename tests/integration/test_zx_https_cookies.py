# SPDX-License-Identifier: AGPL-3.0-or-later
"""Cookies under an https base URL (the production setting): every cookie
is Secure, and a cookie named with the __Host- prefix also has Path=/ and
no Domain - browsers drop it otherwise (RFC 6265bis §4.1.3.2).  The link
password page set its form cookie with Path=/s/: under https no browser
kept it, and every password submit of a protected link was refused as a
CSRF failure (412).  The workers run with the https base URL (the
REFX_SERVER_BASE_URL override) while nginx still listens on plain http
here, so the cookies are handled by hand (requests would not send Secure
cookies over http)."""
import requests

from conftest import fresh_ip, hidden

PW = "Link-password-1"


def cookies(r):
    """{name: value} of the response's Set-Cookie headers, each checked
    against the rules for https."""
    out = {}
    for sc in r.raw.headers.getlist("Set-Cookie"):
        parts = [p.strip() for p in sc.split(";")]
        name, value = parts[0].split("=", 1)
        attrs = parts[1:]
        assert name.startswith("__Host-"), sc
        assert "Secure" in attrs and "Path=/" in attrs, sc
        assert "HttpOnly" in attrs, sc
        assert not [a for a in attrs if a.lower().startswith(
            ("domain=", "path=/s"))], sc
        out[name] = value
    return out


def header(jar):
    return "; ".join("%s=%s" % kv for kv in jar.items())


def test_cookies_keep_to_the_https_rules(stack, accounts):
    staff, _, ap = accounts.user("hck", roles=["staff"])
    ref, rpw, _ = accounts.user("hcr")
    s = requests.Session()
    s.auth = (staff, ap)
    s.headers["X-Forwarded-For"] = fresh_ip()
    assert s.put(stack.url + "/remote.php/dav/files/%s/b.pdf" % staff,
                 data=b"%PDF-1.4 b").status_code == 201
    r = s.post(stack.url + "/ocs/v2.php/apps/files_sharing/api/v1/shares",
               params={"format": "json"}, headers={"OCS-APIRequest": "true"},
               data={"path": "/b.pdf", "shareType": "3", "password": PW})
    token = r.json()["ocs"]["data"]["token"]
    env = dict(stack.env, REFX_SERVER_BASE_URL="https://127.0.0.1:%d" %
               stack.port)
    stack.stop_workers()
    stack.start_workers(env)
    try:
        ip = {"X-Forwarded-For": fresh_ip()}
        # the login form and the session
        r = requests.get(stack.url + "/login", headers=ip)
        jar = cookies(r)
        assert list(jar) == ["__Host-refx_csrf"]
        r = requests.post(stack.url + "/login", data={
            "user": ref, "password": rpw,
            "requesttoken": hidden(r.text, "requesttoken")},
            headers=dict(ip, Cookie=header(jar)), allow_redirects=False)
        assert r.status_code == 303
        assert "__Host-refx_session" in cookies(r)
        # the link's password form and its session
        page = stack.url + "/s/%s/authenticate/showShare" % token
        r = requests.get(page, headers=ip)
        assert r.status_code == 200
        jar = cookies(r)
        assert list(jar) == ["__Host-refx_csrf"]
        r = requests.post(page, data={
            "password": PW, "requesttoken": hidden(r.text, "requesttoken")},
            headers=dict(ip, Cookie=header(jar)), allow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["Location"] == "/s/%s" % token
        jar = cookies(r)
        assert len(jar) == 1
        r = requests.get(stack.url + "/s/%s/download" % token,
                         headers=dict(ip, Cookie=header(jar)))
        assert r.status_code == 200 and r.content == b"%PDF-1.4 b"
    finally:
        stack.stop_workers()
        stack.start_workers()

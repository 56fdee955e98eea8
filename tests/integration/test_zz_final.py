# SPDX-License-Identifier: AGPL-3.0-or-later
"""Runs last (file order): the demo data loader, and the audit chain of a
stack that has run the whole suite still verifies."""
import os
import re
import subprocess

import requests

from conftest import BIN, ROOT, ocs_session


def test_demo_data_loads_once(stack):
    env = dict(os.environ, REFX_VAR_DIR=stack.var, REFX_BIN_DIR=BIN)
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh")], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = re.findall(r"^  (\S+)\s+([A-Za-z0-9]{20})\s+(.+)$", r.stdout,
                      re.M)
    assert len(rows) == 9
    logins = {u: p for u, p, _ in rows}
    assert set(logins) >= {"praxis.manager", "mfa.schmidt", "mfa.yilmaz",
                           "dr.weber", "mfa.koch", "dr.becker", "dr.wolf",
                           "dr.schulz", "mfa.braun"}
    # a referrer may use the password directly; the lead sub-admins a clinic
    s = ocs_session(stack, "dr.weber", logins["dr.weber"])
    d = s.get(stack.url + "/ocs/v2.php/cloud/user?format=json").json()
    assert d["ocs"]["data"]["groups"] == ["hausarzt-mitte"]
    assert d["ocs"]["data"]["subadmin"] == ["hausarzt-mitte"]
    r = s.get(stack.url + "/ocs/v2.php/apps/referrals/api/v1/clinics"
              "?format=json")
    assert [c["name"] for c in r.json()["ocs"]["data"]] == \
        ["Hausarztpraxis Mitte"]
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh")], env=env,
                       capture_output=True, text=True)
    assert r.stdout == ("Demo data was loaded before; its passwords were "
                        "shown then.\n")


def test_audit_chain_verifies_after_the_suite(stack, accounts):
    r = accounts.admin("audit", "verify")
    assert re.fullmatch(r"audit chain intact: \d+ events checked\n",
                        r.stdout)


def sanitizer_report(logs):
    """The sanitizer's report, whole (the assertion diff would cut it)."""
    for mark in ("ERROR: AddressSanitizer", "runtime error:",
                 "LeakSanitizer"):
        i = logs.find(mark)
        if i >= 0:
            j = logs.find("SUMMARY:", i)
            return logs[max(0, i - 200):j + 200 if j >= 0 else i + 20000]
    return ""


def test_no_sanitizer_reports(stack):
    # LeakSanitizer reports when a worker exits: stop both (SIGTERM drains
    # them) so the leaks of the whole suite show, then start them again.
    stack.stop_workers()
    report = sanitizer_report(stack.worker_logs())
    stack.start_workers()
    assert report == "", report

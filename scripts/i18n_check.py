#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""make i18n-check: every msgid the templates ({{t "..."}}) and the page
titles (web_render) use must have a translation in each po/<lang>.po.
Exit 1 and list the missing ones otherwise."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def used():
    ids = set()
    for f in glob.glob(os.path.join(ROOT, "templates", "*.html")):
        for m in re.finditer(r'\{\{\s*t\s+"((?:[^"\\]|\\.)*)"\s*\}\}',
                             open(f, encoding="utf-8").read()):
            ids.add(m.group(1))
    for f in glob.glob(os.path.join(ROOT, "app", "*.c")):
        s = open(f, encoding="utf-8").read()
        for m in re.finditer(r'web_render\(c,\s*[^,]+,\s*"[^"]+",\s*'
                             r'\n?\s*"((?:[^"\\]|\\.)*)"', s):
            ids.add(m.group(1))
    return ids


def translated(po):
    have, cur = set(), None
    for line in open(po, encoding="utf-8"):
        m = re.match(r'msgid "((?:[^"\\]|\\.)*)"', line)
        if m:
            cur = m.group(1)
        m = re.match(r'msgstr "((?:[^"\\]|\\.)+)"', line)
        if m and cur:
            have.add(cur)
    return have


rc = 0
for po in sorted(glob.glob(os.path.join(ROOT, "po", "*.po"))):
    if os.path.basename(po) == "en.po":   # English is the source language
        continue
    missing = sorted(used() - translated(po))
    for m in missing:
        print("%s: no translation for %r" % (os.path.relpath(po, ROOT), m))
    rc |= bool(missing)
sys.exit(rc)

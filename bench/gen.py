#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Scale data for the benchmarks: referrer clinics and accounts, patients,
orders, reports with two versions each, the version files, the clinic
shares with their legal basis, and audit events.

Fast SQL with the invariants of the domain code, not a second model of it:
a few real reports are ingested through the API first (so every file,
blob, version and share row the API writes exists), and the bulk rows are
cloned from those templates in set-based INSERTs:

  * version files are real files of the practice account under
    /Reports/YYYY with the API's names (r-000123-vN.pdf); they share the
    encrypted blobs of the template reports (a blob may back several files,
    as after a WebDAV COPY), so every one of them downloads and decrypts;
  * each version is shared with its order's clinic, basis "order",
    patient and report version recorded, as report_create does;
  * audit events go through the hash-chain trigger (the chain verifies).

The referrer clinic "bench-inbox" receives exactly INBOX reports (50) no
matter how large the rest grows, so the inbox scenario measures the cost
of the table size, not of a longer answer.

Used by bench/bench.py (make bench), which reports how long it takes.
"""
import json
import time

CLINICS = 100
REFERRERS = 1000
INBOX = 50


class Gen:
    def __init__(self, psql, api, pdf):
        """psql(sql) -> str as the postgres superuser; api: a requests
        session of a staff account (app password) at the referral API base
        URL api.base; pdf(lines) -> bytes."""
        self.psql = psql
        self.api = api
        self.pdf = pdf

    def ingest(self, n, clinic, tag):
        for i in range(n):
            meta = {"patient": {"id": "BT-%s-%d" % (tag, i),
                                "family_name": "Template",
                                "given_name": "T%d" % i,
                                "birth_date": "1970-01-01"},
                    "order": {"number": "BT-%s-%d" % (tag, i),
                              "clinic": clinic},
                    "status": "final", "title": "Template %d" % i,
                    "exam_date": "2026-11-01"}
            r = self.api.post(self.api.base + "/reports?format=json", files={
                "metadata": (None, json.dumps(meta)),
                "file": ("r.pdf", self.pdf(["template %s %d" % (tag, i)]),
                         "application/pdf")})
            r.raise_for_status()

    def setup(self):
        """Clinics, referrer accounts and the template reports (once)."""
        if self.psql("SELECT count(*) FROM groups WHERE gid = "
                     "'bench-c000'") == "1":
            return
        self.psql(
            "INSERT INTO groups (gid, display_name, kind, clinic_name, bsnr) "
            "SELECT 'bench-c' || lpad(g::text, 3, '0'), 'Praxis ' || g, "
            "'referrer', 'Praxis ' || g, lpad((100000000 + g)::text, 9, "
            "'0') FROM generate_series(0, %d) g" % (CLINICS - 1))
        self.psql(
            "INSERT INTO users (uid, display_name, password_hash, email) "
            "SELECT 'bench-r' || lpad(g::text, 4, '0'), 'Dr. Bench ' || g, "
            "'!', 'bench-r' || g || '@clinic.test' FROM generate_series(0, "
            "%d) g" % (REFERRERS - 1))
        self.psql(
            "INSERT INTO user_roles (user_id, role) SELECT id, 'referrer' "
            "FROM users WHERE uid LIKE 'bench-r%'")
        self.psql(
            "INSERT INTO group_members (group_id, user_id) SELECT g.id, u.id "
            "FROM users u JOIN groups g ON g.gid = 'bench-c' || lpad(("
            "substr(u.uid, 8)::int %% %d)::text, 3, '0') WHERE u.uid LIKE "
            "'bench-r%%'" % CLINICS)
        self.psql(
            "INSERT INTO groups (gid, display_name, kind, clinic_name, bsnr) "
            "VALUES ('bench-inbox', 'Inbox', 'referrer', 'Praxis Inbox', "
            "'199999999')")
        # templates: real API ingests (files, blobs, versions, shares)
        self.ingest(8, "bench-c000", "a")

    def counts(self):
        return int(self.psql("SELECT count(*) FROM reports"))

    def grow(self, target):
        """Add reports (one patient and order each, two versions) until
        there are target reports; the inbox clinic gets INBOX of them.
        Returns the seconds it took."""
        t0 = time.time()
        have = self.counts()
        add = target - have
        if add <= 0:
            return 0.0
        inbox_have = int(self.psql(
            "SELECT count(*) FROM orders o JOIN groups g ON g.id = "
            "o.referrer_group_id WHERE g.gid = 'bench-inbox'"))
        inbox_add = max(0, min(INBOX - inbox_have, add))
        base = int(self.psql("SELECT coalesce(max(id), 0) FROM patients"))
        sql = """
BEGIN;
CREATE TEMP TABLE gen ON COMMIT DROP AS
  SELECT g AS n, CASE WHEN g <= %(inbox)d THEN 'bench-inbox'
         ELSE 'bench-c' || lpad((g %% %(clinics)d)::text, 3, '0') END AS gid
  FROM generate_series(1, %(add)d) g;
INSERT INTO patients (practice_patient_id, family_name, given_name,
    birth_date, sex, kvnr, insurer)
  SELECT 'BP-' || (%(base)d + n), 'Bench' || (%(base)d + n), 'Pat',
    date '1940-01-01' + ((%(base)d + n) %% 25000), 'unknown', NULL, 'AOK'
  FROM gen;
CREATE TEMP TABLE genp ON COMMIT DROP AS
  SELECT p.id AS patient_id, gen.gid FROM gen
  JOIN patients p ON p.practice_patient_id = 'BP-' || (%(base)d + gen.n);
INSERT INTO orders (order_number, patient_id, referrer_group_id,
    physician_name, referral_date)
  SELECT 'BO-' || genp.patient_id, genp.patient_id, g.id, 'Dr. Bench',
    date '2026-11-01'
  FROM genp JOIN groups g ON g.gid = genp.gid AND g.deleted_at IS NULL;
INSERT INTO reports (order_id, patient_id)
  SELECT o.id, o.patient_id FROM orders o JOIN genp ON
    o.patient_id = genp.patient_id;
CREATE TEMP TABLE genr ON COMMIT DROP AS
  SELECT r.id AS report_id, r.patient_id, o.referrer_group_id, v
  FROM reports r JOIN genp ON genp.patient_id = r.patient_id
  JOIN orders o ON o.id = r.order_id CROSS JOIN generate_series(1, 2) v;
CREATE TEMP TABLE tpl ON COMMIT DROP AS
  SELECT row_number() OVER (ORDER BY f.id) - 1 AS k, f.blob_id, f.size,
    f.checksum, f.parent_id, f.owner_id, v.sha256, v.created_by,
    s.initiator_id, s.permissions, s.expires_at
  FROM report_versions v JOIN files f ON f.id = v.file_id
  JOIN shares s ON s.report_version_id = v.id AND s.basis = 'order'
  JOIN reports r ON r.id = v.report_id JOIN orders o ON o.id = r.order_id
  WHERE o.order_number LIKE 'BT-a-%%';
INSERT INTO files (owner_id, parent_id, name, is_dir, blob_id, mimetype,
    size, mtime, etag, checksum)
  SELECT t.owner_id, t.parent_id, 'r-' || lpad(genr.report_id::text, 6,
    '0') || '-v' || genr.v || '.pdf', false, t.blob_id, 'application/pdf',
    t.size, extract(epoch FROM now())::bigint, md5(random()::text),
    t.checksum
  FROM genr JOIN tpl t ON t.k = (genr.report_id + genr.v) %% (SELECT
    count(*) FROM tpl);
INSERT INTO report_versions (report_id, version, file_id, status, title,
    exam_date, sha256, size, created_by)
  SELECT genr.report_id, genr.v, f.id, CASE genr.v WHEN 1 THEN 'final'
    ELSE 'corrected' END, 'Bench report', date '2026-11-01', t.sha256,
    t.size, t.created_by
  FROM genr JOIN tpl t ON t.k = (genr.report_id + genr.v) %% (SELECT
    count(*) FROM tpl)
  JOIN files f ON f.parent_id = t.parent_id AND f.name = 'r-' ||
    lpad(genr.report_id::text, 6, '0') || '-v' || genr.v || '.pdf';
INSERT INTO shares (share_type, file_id, item_source, owner_id,
    initiator_id, share_with_group, permissions, expires_at, file_target,
    created_at, basis, patient_id, report_version_id)
  SELECT 1, v.file_id, v.file_id, t.owner_id, t.initiator_id,
    genr.referrer_group_id, t.permissions, t.expires_at, '/' || f.name,
    now(), 'order', genr.patient_id, v.id
  FROM genr JOIN report_versions v ON v.report_id = genr.report_id AND
    v.version = genr.v
  JOIN files f ON f.id = v.file_id
  JOIN tpl t ON t.k = 0;
UPDATE files d SET size = (SELECT coalesce(sum(size), 0) FROM files c
  WHERE c.parent_id = d.id) WHERE d.id = (SELECT parent_id FROM tpl
  WHERE k = 0);
COMMIT;
ANALYZE;
""" % {"inbox": inbox_add, "clinics": CLINICS, "add": add, "base": base}
        self.psql(sql)
        return time.time() - t0

    def audit(self, target):
        """Audit events up to target rows, through the hash-chain trigger,
        in batches of 100,000.  Returns the seconds it took."""
        t0 = time.time()
        left = target - int(self.psql("SELECT count(*) FROM audit_events"))
        while left > 0:
            n = min(100_000, left)
            self.psql(
                "INSERT INTO audit_events (actor_type, actor_user_id, "
                "client_addr, action, object_type, object_id, patient_id, "
                "details) SELECT 'user', (SELECT min(id) FROM users WHERE "
                "uid LIKE 'bench-r%%'), '10.9.0.1', 'report.download', "
                "'report_version', g::text, (SELECT min(id) FROM patients) + "
                "g %% 100000, '{}' FROM generate_series(1, %d) g" % n)
            left -= n
        self.psql("ANALYZE audit_events")
        return time.time() - t0

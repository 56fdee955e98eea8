-- 0006_referrals: patients, orders, reports with immutable versions,
-- consents, the legal basis of every report share, read receipts,
-- notifications (Nextcloud notifications API), the outgoing mail queue and
-- ingest idempotency.  Report files live in the practice's own file tree
-- (account "practice", which cannot log in) under pseudonymous paths.

CREATE TABLE patients (
	id			bigserial PRIMARY KEY,
	practice_patient_id	text NOT NULL CHECK (length(practice_patient_id) BETWEEN 1 AND 64),
	family_name		text CHECK (length(family_name) <= 200),
	given_name		text CHECK (length(given_name) <= 200),
	birth_date		date,
	sex			text CHECK (sex IN ('female', 'male', 'diverse', 'unknown')),
	kvnr			text CHECK (kvnr ~ '^[A-Z][0-9]{9}$'),
	insurer			text CHECK (length(insurer) <= 200),
	legal_hold		boolean NOT NULL DEFAULT false,
	restricted_at		timestamptz,
	erased_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX patients_ppid ON patients (practice_patient_id);
CREATE INDEX patients_name ON patients (lower(family_name) text_pattern_ops, lower(given_name) text_pattern_ops);
CREATE INDEX patients_birth ON patients (birth_date);
CREATE INDEX patients_kvnr ON patients (kvnr);

CREATE TABLE orders (
	id			bigserial PRIMARY KEY,
	order_number		text NOT NULL UNIQUE CHECK (length(order_number) BETWEEN 1 AND 64),
	patient_id		bigint NOT NULL REFERENCES patients(id),
	referrer_group_id	bigint NOT NULL REFERENCES groups(id),
	physician_name		text CHECK (length(physician_name) <= 200),
	physician_lanr		text CHECK (physician_lanr ~ '^[0-9]{9}$'),
	referral_date		date,
	created_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_patient ON orders (patient_id);

CREATE TABLE order_cc (
	order_id	bigint NOT NULL REFERENCES orders(id),
	group_id	bigint NOT NULL REFERENCES groups(id),
	PRIMARY KEY (order_id, group_id)
);

CREATE TABLE reports (
	id		bigserial PRIMARY KEY,
	order_id	bigint NOT NULL REFERENCES orders(id),
	patient_id	bigint NOT NULL REFERENCES patients(id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	purged_at	timestamptz
);
CREATE INDEX reports_patient ON reports (patient_id);
CREATE INDEX reports_order ON reports (order_id);

CREATE TABLE report_versions (
	id			bigserial PRIMARY KEY,
	report_id		bigint NOT NULL REFERENCES reports(id),
	version			integer NOT NULL CHECK (version >= 1),
	file_id			bigint REFERENCES files(id) ON DELETE SET NULL,
	status			text NOT NULL CHECK (status IN ('registered', 'partial',
				'preliminary', 'final', 'amended', 'corrected', 'appended',
				'cancelled', 'entered-in-error')),
	title			text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
	exam_date		date,
	reporting_physician	text CHECK (length(reporting_physician) <= 200),
	sha256			text NOT NULL,
	size			bigint NOT NULL,
	created_by		bigint NOT NULL REFERENCES users(id),
	created_at		timestamptz NOT NULL DEFAULT now(),
	content_deleted_at	timestamptz,
	UNIQUE (report_id, version)
);
CREATE INDEX report_versions_sha ON report_versions (sha256);
CREATE INDEX report_versions_file ON report_versions (file_id);

CREATE TABLE consents (
	id			bigserial PRIMARY KEY,
	patient_id		bigint NOT NULL REFERENCES patients(id),
	scope_group_id		bigint REFERENCES groups(id),
	scope_user_id		bigint REFERENCES users(id),
	scope_links		boolean NOT NULL DEFAULT false,
	report_id		bigint REFERENCES reports(id),
	order_id		bigint REFERENCES orders(id),
	period_from		date,
	period_to		date,
	purpose			text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 1000),
	text_version		text NOT NULL CHECK (length(text_version) BETWEEN 1 AND 100),
	text_sha256		text NOT NULL CHECK (text_sha256 ~ '^[0-9a-f]{64}$'),
	channel			text NOT NULL CHECK (channel IN ('paper', 'reception', 'portal')),
	scan_file_id		bigint REFERENCES files(id) ON DELETE SET NULL,
	captured_by		bigint NOT NULL REFERENCES users(id),
	captured_at		timestamptz NOT NULL,
	valid_until		timestamptz,
	withdrawn_at		timestamptz,
	withdrawn_by		bigint REFERENCES users(id),
	withdrawn_channel	text CHECK (withdrawn_channel IN ('paper', 'reception', 'portal', 'link')),
	withdrawn_note		text CHECK (length(withdrawn_note) <= 2000),
	CHECK ((scope_group_id IS NOT NULL)::int + (scope_user_id IS NOT NULL)::int + scope_links::int = 1),
	CHECK (report_id IS NOT NULL OR order_id IS NOT NULL OR (period_from IS NOT NULL AND period_to IS NOT NULL))
);
CREATE INDEX consents_patient ON consents (patient_id);

ALTER TABLE shares ADD COLUMN basis text CHECK (basis IN ('order', 'consent', 'patient'));
ALTER TABLE shares ADD COLUMN consent_id bigint REFERENCES consents(id);
ALTER TABLE shares ADD COLUMN patient_id bigint REFERENCES patients(id);
ALTER TABLE shares ADD COLUMN report_version_id bigint REFERENCES report_versions(id);
ALTER TABLE shares ADD CONSTRAINT shares_basis CHECK ((basis = 'consent') = (consent_id IS NOT NULL));
CREATE INDEX shares_consent ON shares (consent_id) WHERE consent_id IS NOT NULL;
CREATE INDEX shares_patient ON shares (patient_id) WHERE patient_id IS NOT NULL;
CREATE INDEX shares_version ON shares (report_version_id);

CREATE TABLE read_receipts (
	report_version_id	bigint NOT NULL REFERENCES report_versions(id),
	user_id			bigint NOT NULL REFERENCES users(id),
	first_at		timestamptz NOT NULL,
	how			text NOT NULL CHECK (how IN ('download', 'view', 'marked')),
	PRIMARY KEY (report_version_id, user_id)
);

-- Nextcloud notifications (§9): texts carry no patient data.
CREATE TABLE notifications (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users(id),
	app		text NOT NULL,
	object_type	text NOT NULL,
	object_id	text NOT NULL,
	subject		text NOT NULL,
	message		text NOT NULL DEFAULT '',
	link		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL,
	deleted_at	timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, id) WHERE deleted_at IS NULL;

-- Mail leaves after commit: a sender works through this queue with retries.
CREATE TABLE mail_queue (
	id		bigserial PRIMARY KEY,
	recipient	text NOT NULL,
	user_id		bigint REFERENCES users(id),
	group_id	bigint REFERENCES groups(id),
	subject		text NOT NULL,
	body		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	attempts	integer NOT NULL DEFAULT 0,
	sent_at		timestamptz,
	failed_at	timestamptz,
	last_error	text
);
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE ingest_keys (
	idem_key	text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
	user_id		bigint NOT NULL REFERENCES users(id),
	report_id	bigint NOT NULL REFERENCES reports(id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, idem_key)
);

-- The practice's own account owns the report files.  It is a system
-- account: disabled for every login, invisible to account management, but
-- its links stay live (share_by_token accepts a system owner).
ALTER TABLE users ADD COLUMN system boolean NOT NULL DEFAULT false;
INSERT INTO users (uid, display_name, enabled, password_hash, system)
	VALUES ('practice', 'Practice', false, '!', true);

GRANT SELECT, INSERT, UPDATE ON patients, orders, order_cc, reports,
	report_versions, consents, read_receipts, notifications, mail_queue,
	ingest_keys TO refx_app;
GRANT DELETE ON order_cc TO refx_app;
GRANT USAGE ON SEQUENCE patients_id_seq, orders_id_seq, reports_id_seq,
	report_versions_id_seq, consents_id_seq, notifications_id_seq,
	mail_queue_id_seq TO refx_app;

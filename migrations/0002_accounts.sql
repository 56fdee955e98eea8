-- 0002_accounts: users, roles, groups (referrer clinics), sessions, app
-- passwords, TOTP, Login Flow v2 and login throttling.
-- Surrogate ids everywhere: a deleted group's id is never reused and a new
-- group with an old name is a different group (domain.md §5.4).

CREATE TABLE users (
	id			bigserial PRIMARY KEY,
	uid			text NOT NULL CHECK (uid ~ '^[A-Za-z0-9_.@-]{1,64}$'),
	display_name		text NOT NULL DEFAULT '' CHECK (length(display_name) <= 255),
	email			text CHECK (email IS NULL OR (length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$')),
	language		text NOT NULL DEFAULT 'de' CHECK (language ~ '^[a-z]{2}(_[A-Z]{2})?$'),
	timezone		text CHECK (timezone IS NULL OR length(timezone) <= 64),
	enabled			boolean NOT NULL DEFAULT true,
	password_hash		text NOT NULL,
	password_changed_at	timestamptz NOT NULL DEFAULT now(),
	totp_secret		bytea,		-- AES-256-GCM under a key derived from the master key
	totp_enabled		boolean NOT NULL DEFAULT false,
	totp_last_step		bigint NOT NULL DEFAULT 0,	-- highest accepted step: no reuse
	quota_bytes		bigint CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
	created_at		timestamptz NOT NULL DEFAULT now(),
	first_login_at		timestamptz,
	last_login_at		timestamptz,
	deleted_at		timestamptz
);
CREATE UNIQUE INDEX users_uid_lower ON users (lower(uid)) WHERE deleted_at IS NULL;
CREATE INDEX users_email_lower ON users (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE user_roles (
	user_id		bigint NOT NULL REFERENCES users(id),
	role		text NOT NULL CHECK (role IN ('admin', 'manager', 'staff', 'referrer')),
	PRIMARY KEY (user_id, role)
);

CREATE TABLE groups (
	id			bigserial PRIMARY KEY,
	gid			text NOT NULL CHECK (gid ~ '^[A-Za-z0-9_.@ -]{1,64}$'),
	display_name		text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
	kind			text NOT NULL DEFAULT 'plain' CHECK (kind IN ('plain', 'referrer')),
	clinic_name		text CHECK (clinic_name IS NULL OR length(clinic_name) BETWEEN 1 AND 255),
	bsnr			text CHECK (bsnr IS NULL OR bsnr ~ '^[0-9]{9}$'),
	address			text CHECK (address IS NULL OR length(address) <= 1000),
	notification_email	text CHECK (notification_email IS NULL OR (length(notification_email) <= 254 AND notification_email ~ '^[^@\s]+@[^@\s]+$')),
	created_at		timestamptz NOT NULL DEFAULT now(),
	deleted_at		timestamptz,
	CHECK (kind <> 'referrer' OR (clinic_name IS NOT NULL AND bsnr IS NOT NULL))
);
CREATE UNIQUE INDEX groups_gid_lower ON groups (lower(gid)) WHERE deleted_at IS NULL;

CREATE TABLE group_members (
	group_id	bigint NOT NULL REFERENCES groups(id),
	user_id		bigint NOT NULL REFERENCES users(id),
	added_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_subadmins (
	group_id	bigint NOT NULL REFERENCES groups(id),
	user_id		bigint NOT NULL REFERENCES users(id),
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_subadmins_user ON group_subadmins (user_id);

-- Web sessions: the client holds 32 random bytes, only their SHA-256 is kept.
CREATE TABLE sessions (
	id			bigserial PRIMARY KEY,
	token_hash		bytea NOT NULL UNIQUE,
	user_id			bigint NOT NULL REFERENCES users(id),
	csrf_token		text NOT NULL,
	state			text NOT NULL CHECK (state IN ('2fa', 'enrol', 'ok')),
	created_at		timestamptz NOT NULL,
	last_seen_at		timestamptz NOT NULL,
	ended_at		timestamptz,
	end_reason		text,
	client_addr		inet,
	user_agent		text CHECK (length(user_agent) <= 512)
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- App passwords (Nextcloud "app tokens"): 72 random characters; the lookup
-- key is HMAC-SHA-256 under a key derived from the master key, so a stolen
-- database alone does not allow offline guessing.
CREATE TABLE app_passwords (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users(id),
	name		text NOT NULL CHECK (length(name) <= 255),
	token_hmac	bytea NOT NULL UNIQUE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX app_passwords_user ON app_passwords (user_id) WHERE revoked_at IS NULL;

CREATE TABLE totp_backup_codes (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users(id),
	code_hmac	bytea NOT NULL,
	used_at		timestamptz
);
CREATE INDEX totp_backup_codes_user ON totp_backup_codes (user_id);

-- Login Flow v2 (nextcloud-api.md §6.3).  The app password waits for the
-- poll encrypted under a key derived from the poll token.
CREATE TABLE login_flows (
	id			bigserial PRIMARY KEY,
	poll_hash		bytea NOT NULL UNIQUE,
	login_hash		bytea NOT NULL UNIQUE,
	state_hash		bytea UNIQUE,
	client_name		text NOT NULL CHECK (length(client_name) <= 255),
	created_at		timestamptz NOT NULL,
	expires_at		timestamptz NOT NULL,
	user_id			bigint REFERENCES users(id),
	login_name		text,
	app_password_id		bigint REFERENCES app_passwords(id),
	app_password_sealed	bytea,
	granted_at		timestamptz,
	consumed_at		timestamptz
);

-- Failed authentication attempts, for throttling (nextcloud-api.md §4.6).
-- subnet: the client address cut to /32 (IPv4) or /56 (IPv6); account:
-- lower-cased login name tried (or '' when none).  reset_at is set by a
-- success from the same subnet (it ends the delay, not the lockout count).
CREATE TABLE auth_failures (
	id		bigserial PRIMARY KEY,
	action		text NOT NULL,
	subnet		cidr NOT NULL,
	account		text NOT NULL DEFAULT '',
	at		timestamptz NOT NULL,
	reset_at	timestamptz
);
CREATE INDEX auth_failures_subnet ON auth_failures (action, subnet, at);
CREATE INDEX auth_failures_account ON auth_failures (action, account, at);

GRANT SELECT, INSERT, UPDATE ON users, user_roles, groups, group_members,
	group_subadmins, sessions, app_passwords, totp_backup_codes, login_flows,
	auth_failures TO refx_app;
GRANT DELETE ON user_roles, group_members, group_subadmins, auth_failures
	TO refx_app;
GRANT USAGE ON SEQUENCE users_id_seq, groups_id_seq, sessions_id_seq,
	app_passwords_id_seq, totp_backup_codes_id_seq, login_flows_id_seq,
	auth_failures_id_seq TO refx_app;

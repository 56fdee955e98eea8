-- 0009_invitations: an account created without a password (by the
-- provisioning API with an e-mail address, or by a clinic lead's invite
-- form) gets a one-time link to choose its password.  Only an HMAC of the
-- token is stored (lib/account); a link is used once, ends after
-- account.invite_days, and a newer invitation revokes the older ones.
CREATE TABLE invitations (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users(id),
	token_hmac	bytea NOT NULL UNIQUE CHECK (length(token_hmac) = 32),
	created_by	bigint REFERENCES users(id),
	created_at	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX invitations_user ON invitations (user_id);

GRANT SELECT, INSERT, UPDATE ON invitations TO refx_app;
GRANT USAGE ON SEQUENCE invitations_id_seq TO refx_app;

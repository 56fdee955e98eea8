-- 0005_shares: user (0), group (1) and link (3) shares of files and folders
-- (Nextcloud files_sharing).  Shares are never deleted: expiry, revocation,
-- and later consent withdrawal set ended_at and end_reason, and the row
-- stays as evidence; an ended share answers like an unknown one.  Link
-- tokens are kept only as an HMAC (lookup) plus a 6-character prefix for
-- display; link passwords are argon2id hashes.

CREATE TABLE shares (
	id			bigserial PRIMARY KEY,
	share_type		smallint NOT NULL CHECK (share_type IN (0, 1, 3)),
	file_id			bigint REFERENCES files(id) ON DELETE SET NULL,
	item_source		bigint NOT NULL,	-- the file id, kept after the file is gone
	owner_id		bigint NOT NULL REFERENCES users(id),	-- file owner
	initiator_id		bigint NOT NULL REFERENCES users(id),	-- uid_owner
	share_with_user		bigint REFERENCES users(id),
	share_with_group	bigint REFERENCES groups(id),
	permissions		integer NOT NULL CHECK (permissions BETWEEN 0 AND 31),
	token_hmac		bytea UNIQUE,
	token_prefix		text,
	password_hash		text,
	expires_at		timestamptz,	-- exclusive end: the day after the chosen date, 00:00 in the creator's zone
	note			text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
	label			text NOT NULL DEFAULT '' CHECK (octet_length(label) <= 255),
	hide_download		boolean NOT NULL DEFAULT false,
	attributes		text,
	download_limit		integer CHECK (download_limit IS NULL OR download_limit >= 0),
	download_count		integer NOT NULL DEFAULT 0,
	file_target		text NOT NULL,	-- name in the recipient's root
	created_at		timestamptz NOT NULL,
	ended_at		timestamptz,
	end_reason		text CHECK (end_reason IN ('deleted', 'expired', 'download_limit', 'consent_withdrawn', 'erased', 'restricted', 'purged', 'file_deleted')),
	CHECK ((share_type = 0) = (share_with_user IS NOT NULL)),
	CHECK ((share_type = 1) = (share_with_group IS NOT NULL)),
	CHECK ((share_type = 3) = (token_hmac IS NOT NULL))
);
CREATE INDEX shares_file ON shares (file_id) WHERE ended_at IS NULL;
CREATE INDEX shares_initiator ON shares (initiator_id) WHERE ended_at IS NULL;
CREATE INDEX shares_user ON shares (share_with_user) WHERE ended_at IS NULL;
CREATE INDEX shares_group ON shares (share_with_group) WHERE ended_at IS NULL;

-- Browser sessions of /s/{token} pages after the link password: bound to
-- the share and to the password hash in force (a new password ends them).
CREATE TABLE link_sessions (
	id		bigserial PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE,
	share_id	bigint NOT NULL REFERENCES shares(id),
	password_hash	text NOT NULL,
	created_at	timestamptz NOT NULL,
	expires_at	timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON shares, link_sessions TO refx_app;
GRANT USAGE ON SEQUENCE shares_id_seq, link_sessions_id_seq TO refx_app;

-- The path of a file below its owner's root, "/a/b.pdf" ("/" for the root).
CREATE FUNCTION file_path(fid bigint) RETURNS text
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE up(id, parent_id, name, depth) AS (
		SELECT id, parent_id, name, 0 FROM files WHERE id = fid
		UNION ALL
		SELECT f.id, f.parent_id, f.name, up.depth + 1
		FROM files f JOIN up ON f.id = up.parent_id)
	SELECT CASE WHEN count(*) FILTER (WHERE parent_id IS NOT NULL) = 0
		THEN '/' ELSE string_agg('/' || name, '' ORDER BY depth DESC)
		FILTER (WHERE parent_id IS NOT NULL) END
	FROM up
$$;

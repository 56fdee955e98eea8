-- 0004_files: the encrypted blob store and the per-user file tree
-- (Nextcloud's filecache), dead WebDAV properties, favorites and chunked
-- upload staging.  Content is AES-256-GCM ciphertext in 1 MiB chunks; each
-- blob's data key is wrapped by the master key, which never enters the
-- database (kek_id names the master key that wrapped it, for rotation).

CREATE TABLE blobs (
	id		bigserial PRIMARY KEY,
	size		bigint NOT NULL CHECK (size >= 0),
	chunk_bytes	integer NOT NULL CHECK (chunk_bytes BETWEEN 262144 AND 1048576),
	nchunks		integer NOT NULL CHECK (nchunks >= 0),
	wrapped_key	bytea NOT NULL,
	kek_id		text NOT NULL,
	sha256		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunks (
	blob_id		bigint NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
	seq		integer NOT NULL CHECK (seq >= 0),
	data		bytea NOT NULL,		-- nonce || ciphertext || tag
	PRIMARY KEY (blob_id, seq)
);
-- Ciphertext does not compress: store it out of line without trying.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE files (
	id		bigserial PRIMARY KEY,
	owner_id	bigint NOT NULL REFERENCES users(id),
	parent_id	bigint REFERENCES files(id),
	name		text NOT NULL CHECK (octet_length(name) <= 255),
	is_dir		boolean NOT NULL,
	blob_id		bigint REFERENCES blobs(id),
	mimetype	text NOT NULL,
	size		bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
	mtime		bigint NOT NULL,		-- unix s
	etag		text NOT NULL,
	checksum	text,				-- "SHA1:hex" as Nextcloud stores it
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (is_dir = (blob_id IS NULL)),
	CHECK ((parent_id IS NULL) = (name = ''))
);
CREATE UNIQUE INDEX files_child ON files (parent_id, name);
CREATE UNIQUE INDEX files_root ON files (owner_id) WHERE parent_id IS NULL;
CREATE INDEX files_blob ON files (blob_id);

CREATE TABLE file_favorites (
	user_id		bigint NOT NULL REFERENCES users(id),
	file_id		bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,
	PRIMARY KEY (user_id, file_id)
);

-- Dead properties (RFC 4918 §15): the whole property element as XML with
-- its own namespace declarations, returned verbatim.
CREATE TABLE file_props (
	file_id		bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,
	ns		text NOT NULL,
	name		text NOT NULL,
	xml		text NOT NULL CHECK (octet_length(xml) <= 65536),
	PRIMARY KEY (file_id, ns, name)
);

-- Chunked upload staging (nextcloud-api.md §5.6): one row per upload
-- directory, one per chunk; assembled in natural sort order of names.
CREATE TABLE uploads (
	id		bigserial PRIMARY KEY,
	owner_id	bigint NOT NULL REFERENCES users(id),
	name		text NOT NULL CHECK (octet_length(name) <= 255),
	created_at	timestamptz NOT NULL DEFAULT now(),
	touched_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (owner_id, name)
);

CREATE TABLE upload_chunks (
	upload_id	bigint NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (octet_length(name) <= 255),
	blob_id		bigint NOT NULL REFERENCES blobs(id),
	size		bigint NOT NULL,
	PRIMARY KEY (upload_id, name)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON blobs, blob_chunks, files,
	file_favorites, file_props, uploads, upload_chunks TO refx_app;
GRANT USAGE ON SEQUENCE blobs_id_seq, files_id_seq, uploads_id_seq TO refx_app;

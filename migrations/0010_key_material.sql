-- Key hierarchy (lib/keys/keys.h): the root secret below the master key,
-- wrapped under it, so rotating the master key re-wraps it instead of
-- changing every keyed value derived from it.  refx-admin migrate creates
-- the row (random for a new database; the master key itself, legacy = true,
-- for a database that already holds keyed values).
CREATE TABLE key_material (
	name		text PRIMARY KEY CHECK (name = 'root'),
	kek_id		text NOT NULL CHECK (kek_id ~ '^[0-9a-f]{16}$'),
	wrapped		bytea NOT NULL CHECK (length(wrapped) = 60),
	legacy		boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	rotated_at	timestamptz
);

GRANT SELECT ON key_material TO refx_app;
GRANT UPDATE (kek_id, wrapped, rotated_at) ON key_material TO refx_app;

-- refx-admin key rotate finds the data keys still under another master key.
CREATE INDEX blobs_kek_id ON blobs (kek_id);

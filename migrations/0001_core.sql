-- 0001_core: the roles contract and the grants every later migration builds on.
-- Migrations run as the schema owner; the worker connects as refx_app, which
-- gets only the rights each table needs (GRANT lines in each migration).
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'refx_app') THEN
		RAISE EXCEPTION 'database role refx_app must exist before migrating (CREATE ROLE refx_app LOGIN)';
	END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO refx_app;
GRANT SELECT ON schema_migrations TO refx_app;

-- Instance-wide key/value settings (policy values the manager edits later).
CREATE TABLE settings (
	key		text PRIMARY KEY CHECK (key ~ '^[a-z0-9_.]{1,100}$'),
	value		jsonb NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON settings TO refx_app;

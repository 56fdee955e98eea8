-- 0003_audit: the tamper-evident audit trail (GDPR Art. 5(2)).
-- Every row carries hash = SHA-256(prev_hash || '\n' || canonical row).
-- The trigger takes a transaction-scoped advisory lock, then assigns the id
-- and links to the newest row, so ids follow commit order and the chain
-- stays linear under parallel writers.  UPDATE and DELETE are refused by a
-- trigger, and refx_app may only INSERT and SELECT.  Rows hold ids only:
-- never names, report content or secrets.

CREATE TABLE audit_events (
	id			bigint PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT now(),
	actor_type		text NOT NULL CHECK (actor_type IN ('user', 'app_password', 'link', 'system', 'anonymous')),
	actor_user_id		bigint,
	actor_credential_id	bigint,		-- app password or link id
	client_addr		inet,
	request_id		text,
	action			text NOT NULL CHECK (action ~ '^[a-z0-9_]+(\.[a-z0-9_]+)+$'),
	object_type		text,
	object_id		text,
	patient_id		bigint,
	details			jsonb NOT NULL DEFAULT '{}',
	prev_hash		text,
	hash			text NOT NULL
);
CREATE SEQUENCE audit_events_id_seq OWNED BY audit_events.id;
CREATE INDEX audit_events_patient ON audit_events (patient_id, id) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_action ON audit_events (action text_pattern_ops, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- The canonical text of a row, the input of its hash.  refx-admin audit
-- verify recomputes hashes from this same function.
CREATE FUNCTION audit_canonical(e audit_events) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT concat_ws(E'\n',
		e.id::text,
		to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		e.actor_type,
		coalesce(e.actor_user_id::text, '-'),
		coalesce(e.actor_credential_id::text, '-'),
		coalesce(host(e.client_addr), '-'),
		coalesce(e.request_id, '-'),
		e.action,
		coalesce(e.object_type, '-'),
		coalesce(e.object_id, '-'),
		coalesce(e.patient_id::text, '-'),
		e.details::text)
$$;

CREATE FUNCTION audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(7263788202);
	NEW.id := nextval('audit_events_id_seq');
	SELECT hash INTO NEW.prev_hash FROM audit_events ORDER BY id DESC LIMIT 1;
	NEW.hash := encode(sha256(convert_to(coalesce(NEW.prev_hash, '') || E'\n' ||
		audit_canonical(NEW), 'UTF8')), 'hex');
	RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_chain();

CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

GRANT SELECT, INSERT ON audit_events TO refx_app;
GRANT USAGE ON SEQUENCE audit_events_id_seq TO refx_app;

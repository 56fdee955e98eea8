-- 0007_gdpr: data subject requests (Art. 15 access exports, Art. 17
-- erasures, Art. 18 restrictions) with their reference numbers and signed
-- deletion confirmations, and indexes for audit search and incident
-- queries (by link, by client address, by time).

CREATE TABLE gdpr_requests (
	id		bigserial PRIMARY KEY,
	reference	text NOT NULL UNIQUE CHECK (reference ~ '^[A-Z]{2}-[0-9]{8}-[A-Z0-9]{6}$'),
	kind		text NOT NULL CHECK (kind IN ('access_export', 'erasure', 'restriction', 'restriction_lifted')),
	patient_id	bigint NOT NULL REFERENCES patients(id),
	requested_by	bigint NOT NULL REFERENCES users(id),
	requested_at	timestamptz NOT NULL,
	channel		text CHECK (channel IN ('paper', 'reception', 'portal', 'email', 'phone', 'letter')),
	reason		text CHECK (length(reason) <= 2000),
	-- erasure: the signed confirmation document (ids and counts only)
	confirmation	text,
	signature	text CHECK (signature ~ '^[0-9a-f]{64}$')
);
CREATE INDEX gdpr_requests_patient ON gdpr_requests (patient_id, id);

-- Incident queries: everything a link or an address touched.
CREATE INDEX audit_events_credential ON audit_events (actor_type, actor_credential_id, id)
	WHERE actor_credential_id IS NOT NULL;
CREATE INDEX audit_events_addr ON audit_events (client_addr, id) WHERE client_addr IS NOT NULL;

GRANT SELECT, INSERT ON gdpr_requests TO refx_app;
GRANT USAGE ON SEQUENCE gdpr_requests_id_seq TO refx_app;
-- the confirmation is written once the recipients have been notified
GRANT UPDATE (confirmation, signature) ON gdpr_requests TO refx_app;

-- Timestamps in exports: ISO 8601, UTC.
CREATE FUNCTION refx_iso(timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

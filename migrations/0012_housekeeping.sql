-- refx-admin housekeeping (lib/auth auth_housekeeping) deletes what
-- authentication needs only for a while (GDPR Art. 5(1)(e)): failed
-- attempts older than 12 hours, ended or timed-out web sessions, expired
-- link sessions and Login Flow v2 flows.  It runs as refx_app like the
-- other refx-admin commands.
GRANT DELETE ON sessions, login_flows, link_sessions TO refx_app;
CREATE INDEX auth_failures_at ON auth_failures (at);

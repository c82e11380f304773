-- Append-only audit trail of security-relevant actions. Actors are subject ids, never e-mails.
CREATE TABLE audit_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    actor_roles text[] NOT NULL DEFAULT '{}',
    action text NOT NULL,
    object text,
    outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    status integer,
    request_id text
);

COMMENT ON TABLE audit_events IS 'Append-only audit log: logins, tokens, denied access, exports, threshold changes, erasures, QA decisions.';
COMMENT ON COLUMN audit_events.event_id IS 'Order of recording.';
COMMENT ON COLUMN audit_events.occurred_at IS 'When it happened.';
COMMENT ON COLUMN audit_events.actor IS 'Subject id of the client or user (anonymous for failed logins).';
COMMENT ON COLUMN audit_events.actor_roles IS 'Roles the actor held.';
COMMENT ON COLUMN audit_events.action IS 'What was attempted, e.g. login, token.issue, sessions.export, engineers.erase.';
COMMENT ON COLUMN audit_events.object IS 'Route or object the action was on (pseudonyms and ids only).';
COMMENT ON COLUMN audit_events.outcome IS 'success, failure or denied.';
COMMENT ON COLUMN audit_events.status IS 'HTTP status answered.';
COMMENT ON COLUMN audit_events.request_id IS 'Request id, to find the matching log lines.';

CREATE INDEX audit_events_action_idx ON audit_events (action, event_id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, event_id DESC);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

COMMENT ON FUNCTION audit_events_append_only() IS 'Refuses every UPDATE and DELETE on audit_events.';

CREATE TRIGGER audit_events_no_change
BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

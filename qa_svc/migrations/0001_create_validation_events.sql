-- The automatic validation log: one row per check or agent-reported event, never the raw value.
CREATE TABLE validation_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL,
    source text NOT NULL CHECK (source IN ('check', 'agent')),
    step smallint,
    field text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('valid', 'invalid', 'warning', 'error')),
    code text,
    attempt integer NOT NULL DEFAULT 1,
    normalized text,
    message text,
    agent_version text,
    occurred_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE validation_events IS 'Validation log of the agent''s workflow: outcomes and codes, never the checked values.';
COMMENT ON COLUMN validation_events.event_id IS 'Order of recording.';
COMMENT ON COLUMN validation_events.session_id IS 'The agent session (analysis) the event belongs to.';
COMMENT ON COLUMN validation_events.source IS 'check (POST /validation/check) or agent (reported by the agent).';
COMMENT ON COLUMN validation_events.step IS 'Workflow step 1-7.';
COMMENT ON COLUMN validation_events.field IS 'engineer, case_number, languages, record_type, parts, review, or a runtime area (model, translation).';
COMMENT ON COLUMN validation_events.outcome IS 'valid, invalid, warning or error (runtime errors).';
COMMENT ON COLUMN validation_events.code IS 'Stable code, e.g. invalid_case_number, unsupported_language, model_timeout.';
COMMENT ON COLUMN validation_events.attempt IS 'Attempt number for this field in this session.';
COMMENT ON COLUMN validation_events.normalized IS 'Normalised value for non-personal fields only (record type, languages, parts).';
COMMENT ON COLUMN validation_events.message IS 'The spec''s message, or a short non-personal message (PII-guarded).';
COMMENT ON COLUMN validation_events.agent_version IS 'Version of the agent.';
COMMENT ON COLUMN validation_events.occurred_at IS 'When it happened.';

CREATE INDEX validation_events_session_idx ON validation_events (session_id, event_id);
CREATE INDEX validation_events_code_idx ON validation_events (code, occurred_at);

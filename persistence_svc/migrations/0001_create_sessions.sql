-- Anonymized metadata of one coaching analysis per row. No names, no case numbers: only pseudonyms.
CREATE TABLE sessions (
    session_id uuid PRIMARY KEY,
    engineer_code text NOT NULL,
    case_ref text NOT NULL,
    team text NOT NULL,
    region text,
    record_type text NOT NULL CHECK (record_type IN ('single', 'series')),
    parts smallint NOT NULL CHECK (parts BETWEEN 1 AND 5),
    languages text[] NOT NULL CHECK (cardinality(languages) BETWEEN 1 AND 8),
    sentiment_score double precision NOT NULL CHECK (sentiment_score BETWEEN 0 AND 1),
    tone_label text NOT NULL CHECK (tone_label IN ('positive', 'neutral', 'negative')),
    root_cause text NOT NULL CHECK (root_cause IN ('communication_issue', 'knowledge_gap',
        'analytical_error', 'process_issue', 'other')),
    confidence_analysis double precision NOT NULL CHECK (confidence_analysis BETWEEN 0 AND 1),
    confidence_translation double precision CHECK (confidence_translation BETWEEN 0 AND 1),
    confidence_overall double precision NOT NULL CHECK (confidence_overall BETWEEN 0 AND 1),
    confidence_rating text NOT NULL CHECK (confidence_rating IN ('High', 'Medium', 'Low')),
    started_at timestamptz,
    ended_at timestamptz,
    analysed_at timestamptz NOT NULL,
    duration_seconds integer CHECK (duration_seconds >= 0),
    agent_version text,
    model text,
    notes text,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    content_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE sessions IS 'One CR Assistant analysis: anonymized metadata only (no PII).';
COMMENT ON COLUMN sessions.session_id IS 'Client-chosen or generated id; makes writes idempotent.';
COMMENT ON COLUMN sessions.engineer_code IS 'HMAC-SHA256 pseudonym of the normalised engineer name or id.';
COMMENT ON COLUMN sessions.case_ref IS 'HMAC-SHA256 pseudonym of the 8-digit case number.';
COMMENT ON COLUMN sessions.team IS 'Team of the engineer; managers see only their teams.';
COMMENT ON COLUMN sessions.region IS 'Region label, e.g. EMEA.';
COMMENT ON COLUMN sessions.record_type IS 'single, or series of 2-5 feedback parts.';
COMMENT ON COLUMN sessions.parts IS 'Number of feedback parts (1 for single).';
COMMENT ON COLUMN sessions.languages IS 'Output language codes (EN DE FR IT ES TR CS PL).';
COMMENT ON COLUMN sessions.sentiment_score IS 'Sentiment 0-1; a series is averaged into one score.';
COMMENT ON COLUMN sessions.tone_label IS 'positive, neutral or negative.';
COMMENT ON COLUMN sessions.root_cause IS 'Exactly one root-cause category.';
COMMENT ON COLUMN sessions.confidence_analysis IS 'Analysis confidence 0-1.';
COMMENT ON COLUMN sessions.confidence_translation IS 'Translation confidence 0-1; null without translation.';
COMMENT ON COLUMN sessions.confidence_overall IS '0.7 x analysis + 0.3 x translation (analysis alone without translation).';
COMMENT ON COLUMN sessions.confidence_rating IS 'High >= 0.80, Medium >= 0.50, Low below.';
COMMENT ON COLUMN sessions.analysed_at IS 'Time basis of trends: ended_at, else creation time.';
COMMENT ON COLUMN sessions.duration_seconds IS 'ended_at - started_at in whole seconds.';
COMMENT ON COLUMN sessions.agent_version IS 'Version of the CR Assistant Agent that produced the analysis.';
COMMENT ON COLUMN sessions.model IS 'Model name reported by the agent.';
COMMENT ON COLUMN sessions.notes IS 'Free text, checked by the PII guard before it is stored.';
COMMENT ON COLUMN sessions.attributes IS 'Small JSON object of extra metadata, PII-guarded.';
COMMENT ON COLUMN sessions.content_hash IS 'SHA-256 of the stored content; same id + same hash = idempotent repeat.';
COMMENT ON COLUMN sessions.created_at IS 'When the platform first stored the row.';
COMMENT ON COLUMN sessions.updated_at IS 'When the row last changed.';

CREATE INDEX sessions_analysed_at_idx ON sessions (analysed_at DESC, session_id DESC);
CREATE INDEX sessions_team_analysed_at_idx ON sessions (team, analysed_at DESC);
CREATE INDEX sessions_engineer_analysed_at_idx ON sessions (engineer_code, analysed_at DESC);

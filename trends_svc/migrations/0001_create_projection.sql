-- The trends service's own copy of what it needs from each session (fed by the change feed),
-- the feed cursor, and weekly rollups maintained in the same transaction as the cursor.
CREATE TABLE sessions (
    session_id uuid PRIMARY KEY,
    engineer_code text NOT NULL,
    team text NOT NULL,
    region text,
    languages text[] NOT NULL,
    root_cause text NOT NULL,
    sentiment_score double precision NOT NULL,
    confidence_overall double precision NOT NULL,
    analysed_at timestamptz NOT NULL
);

COMMENT ON TABLE sessions IS 'Projection of persistence sessions: only the fields trends need (no PII).';
COMMENT ON COLUMN sessions.session_id IS 'Id of the session in persistence.';
COMMENT ON COLUMN sessions.engineer_code IS 'Pseudonym of the engineer.';
COMMENT ON COLUMN sessions.team IS 'Team of the engineer.';
COMMENT ON COLUMN sessions.region IS 'Region label.';
COMMENT ON COLUMN sessions.languages IS 'Output languages.';
COMMENT ON COLUMN sessions.root_cause IS 'Root-cause category.';
COMMENT ON COLUMN sessions.sentiment_score IS 'Sentiment 0-1.';
COMMENT ON COLUMN sessions.confidence_overall IS 'Overall confidence 0-1.';
COMMENT ON COLUMN sessions.analysed_at IS 'Time basis of every trend rule.';

CREATE INDEX sessions_engineer_idx ON sessions (engineer_code, analysed_at);
CREATE INDEX sessions_engineer_cause_idx ON sessions (engineer_code, root_cause, analysed_at DESC);
CREATE INDEX sessions_team_idx ON sessions (team, analysed_at);
CREATE INDEX sessions_analysed_at_idx ON sessions (analysed_at);

CREATE TABLE feed_state (
    feed text PRIMARY KEY,
    cursor text NOT NULL,
    applied bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE feed_state IS 'Where the projection stands in the persistence change feed.';
COMMENT ON COLUMN feed_state.feed IS 'Name of the feed (sessions).';
COMMENT ON COLUMN feed_state.cursor IS 'next_cursor after the last applied page.';
COMMENT ON COLUMN feed_state.applied IS 'Changes applied so far.';
COMMENT ON COLUMN feed_state.updated_at IS 'When the cursor last moved.';

INSERT INTO feed_state (feed, cursor) VALUES ('sessions', '');

CREATE TABLE engineer_weekly (
    engineer_code text NOT NULL,
    week date NOT NULL,
    root_cause text NOT NULL,
    sessions integer NOT NULL,
    sentiment_sum double precision NOT NULL,
    confidence_sum double precision NOT NULL,
    PRIMARY KEY (engineer_code, week, root_cause)
);

COMMENT ON TABLE engineer_weekly IS 'Rollup: sessions per engineer, ISO week (Monday) and root cause.';
COMMENT ON COLUMN engineer_weekly.engineer_code IS 'Pseudonym of the engineer.';
COMMENT ON COLUMN engineer_weekly.week IS 'Monday of the ISO week (UTC).';
COMMENT ON COLUMN engineer_weekly.root_cause IS 'Root-cause category.';
COMMENT ON COLUMN engineer_weekly.sessions IS 'Number of sessions.';
COMMENT ON COLUMN engineer_weekly.sentiment_sum IS 'Sum of sentiment scores (mean = sum / sessions).';
COMMENT ON COLUMN engineer_weekly.confidence_sum IS 'Sum of overall confidence.';

CREATE TABLE team_weekly (
    team text NOT NULL,
    region text NOT NULL,
    week date NOT NULL,
    root_cause text NOT NULL,
    sessions integer NOT NULL,
    sentiment_sum double precision NOT NULL,
    confidence_sum double precision NOT NULL,
    PRIMARY KEY (team, region, week, root_cause)
);

COMMENT ON TABLE team_weekly IS 'Rollup: sessions per team, region, ISO week and root cause.';
COMMENT ON COLUMN team_weekly.team IS 'Team.';
COMMENT ON COLUMN team_weekly.region IS 'Region ('''' when unknown).';
COMMENT ON COLUMN team_weekly.week IS 'Monday of the ISO week (UTC).';
COMMENT ON COLUMN team_weekly.root_cause IS 'Root-cause category.';
COMMENT ON COLUMN team_weekly.sessions IS 'Number of sessions.';
COMMENT ON COLUMN team_weekly.sentiment_sum IS 'Sum of sentiment scores.';
COMMENT ON COLUMN team_weekly.confidence_sum IS 'Sum of overall confidence.';

CREATE TABLE team_language_weekly (
    team text NOT NULL,
    region text NOT NULL,
    week date NOT NULL,
    language text NOT NULL,
    root_cause text NOT NULL,
    sessions integer NOT NULL,
    sentiment_sum double precision NOT NULL,
    confidence_sum double precision NOT NULL,
    PRIMARY KEY (team, region, week, language, root_cause)
);

COMMENT ON TABLE team_language_weekly IS 'Rollup: sessions per team, region, week, output language and root cause (a session with two languages counts once in each).';
COMMENT ON COLUMN team_language_weekly.team IS 'Team.';
COMMENT ON COLUMN team_language_weekly.region IS 'Region ('''' when unknown).';
COMMENT ON COLUMN team_language_weekly.week IS 'Monday of the ISO week (UTC).';
COMMENT ON COLUMN team_language_weekly.language IS 'Output language code.';
COMMENT ON COLUMN team_language_weekly.root_cause IS 'Root-cause category.';
COMMENT ON COLUMN team_language_weekly.sessions IS 'Number of sessions.';
COMMENT ON COLUMN team_language_weekly.sentiment_sum IS 'Sum of sentiment scores.';
COMMENT ON COLUMN team_language_weekly.confidence_sum IS 'Sum of overall confidence.';

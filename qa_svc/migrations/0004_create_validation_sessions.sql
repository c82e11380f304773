-- Who may read and append to a session's validation log: the teams of the caller that wrote its
-- first event. Events are logged while the agent works, before the analysis (and its team) reaches
-- persistence, so the log keeps its own record of the writer's scope (issue #23: agents with teams).
CREATE TABLE validation_sessions (
    session_id uuid PRIMARY KEY,
    teams text[] NOT NULL DEFAULT '{}',
    first_logged_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE validation_sessions IS 'One row per session of the validation log: the team scope of its first writer.';
COMMENT ON COLUMN validation_sessions.session_id IS 'The agent session (analysis) of the validation log.';
COMMENT ON COLUMN validation_sessions.teams IS 'Teams of the team-scoped agent that wrote the first event; empty when an unscoped caller (an organisation-wide agent client, an admin) wrote it. A team-scoped caller reads and appends only when it is not empty and within its own teams.';
COMMENT ON COLUMN validation_sessions.first_logged_at IS 'When the first event was recorded.';

-- The log written before this migration: its writers are unknown, so it is treated as written by an
-- unscoped caller (QA leads, admins and organisation-wide agents keep reading it).
INSERT INTO validation_sessions (session_id, teams, first_logged_at)
SELECT session_id, '{}', min(occurred_at) FROM validation_events GROUP BY session_id;

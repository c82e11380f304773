-- The review queue, the next session to review and the sampling run read one row per session of the
-- validation log. They used to aggregate the whole log on every call: 3.3 s for the queue's SQL at
-- 200,000 sessions (1,212,000 events, `make bench`). validation_sessions now also holds each
-- session's summary, kept by a trigger in the transaction that logs its events, and the queue reads
-- it in the queue's order from an index. The summary is always recomputed from the session's own
-- events (a handful), never added to, so it means exactly what the aggregation meant.
ALTER TABLE validation_sessions
    ADD COLUMN first_seen_at timestamptz,
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN errors integer NOT NULL DEFAULT 0,
    ADD COLUMN agent_version text,
    ADD COLUMN restart_offered boolean NOT NULL DEFAULT false,
    ADD COLUMN confidence_overall numeric(5, 4);

COMMENT ON COLUMN validation_sessions.first_seen_at IS 'When the session''s first event happened (occurred_at); NULL until it has one.';
COMMENT ON COLUMN validation_sessions.last_seen_at IS 'When its latest event happened: the review queue''s order.';
COMMENT ON COLUMN validation_sessions.errors IS 'How many of its events are invalid entries or runtime errors.';
COMMENT ON COLUMN validation_sessions.agent_version IS 'The highest agent version among its events.';
COMMENT ON COLUMN validation_sessions.restart_offered IS 'True when one field had three or more invalid entries (the agent offers a restart).';
COMMENT ON COLUMN validation_sessions.confidence_overall IS 'The last overall confidence reported for the session (by event order).';

CREATE FUNCTION refresh_validation_session_summaries(ids uuid[]) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    UPDATE validation_sessions v
    SET first_seen_at = s.first_seen_at, last_seen_at = s.last_seen_at, errors = s.errors,
        agent_version = s.agent_version, restart_offered = s.restart_offered,
        confidence_overall = s.confidence_overall
    FROM (
        SELECT session_id, min(occurred_at) AS first_seen_at, max(occurred_at) AS last_seen_at,
               count(*) FILTER (WHERE outcome IN ('invalid', 'error')) AS errors,
               max(agent_version) AS agent_version,
               coalesce(bool_or(invalid_count >= 3), false) AS restart_offered,
               (array_agg(confidence_overall ORDER BY event_id DESC)
                    FILTER (WHERE confidence_overall IS NOT NULL))[1] AS confidence_overall
        FROM (SELECT *, count(*) FILTER (WHERE outcome = 'invalid')
                        OVER (PARTITION BY session_id, field) AS invalid_count
              FROM validation_events WHERE session_id = ANY(ids)) e
        GROUP BY session_id
    ) s
    WHERE v.session_id = s.session_id;
$$;

COMMENT ON FUNCTION refresh_validation_session_summaries(uuid[]) IS 'Recomputes the summary columns of these sessions from their events.';

CREATE FUNCTION summarise_validation_sessions() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    ids uuid[] := ARRAY(SELECT DISTINCT session_id FROM new_events ORDER BY session_id);
BEGIN
    -- Lock the sessions' rows in id order (concurrent batches cannot deadlock), then aggregate in
    -- a statement of its own: under READ COMMITTED it sees the events of every writer that held
    -- the lock before this one, so the last writer of a session leaves its full summary.
    INSERT INTO validation_sessions (session_id)
    SELECT id FROM unnest(ids) AS id ORDER BY id
    ON CONFLICT (session_id) DO NOTHING;
    PERFORM 1 FROM validation_sessions WHERE session_id = ANY(ids) ORDER BY session_id FOR UPDATE;
    PERFORM refresh_validation_session_summaries(ids);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION summarise_validation_sessions() IS 'Keeps the summary of the sessions a statement logged events for, once per statement.';

CREATE TRIGGER validation_events_summarise
AFTER INSERT ON validation_events REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION summarise_validation_sessions();

-- The log written before this migration
INSERT INTO validation_sessions (session_id, teams, first_logged_at)
SELECT session_id, '{}', min(occurred_at) FROM validation_events GROUP BY session_id
ON CONFLICT (session_id) DO NOTHING;
DO $$ BEGIN
    PERFORM refresh_validation_session_summaries(ARRAY(SELECT session_id FROM validation_sessions));
END $$;

-- The queue's order (newest activity first, then session id), read backwards
CREATE INDEX validation_sessions_queue_idx ON validation_sessions (last_seen_at, session_id)
    WHERE last_seen_at IS NOT NULL;
-- The metrics and the error summary read a window of days of the log
CREATE INDEX validation_events_time_idx ON validation_events (occurred_at);

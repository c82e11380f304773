-- The change feed is applied by two appliers side by side, one per shard of the sessions
-- (store_feed.SHARD_OF: the low bit of the session id's last byte, so a session never changes
-- shard). Each shard
-- has its own cursor, and each rollup row belongs to one shard, so the two appliers never write
-- the same row and never wait for each other; readers sum the rollups' rows, as they did.
ALTER TABLE feed_state ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE feed_state DROP CONSTRAINT feed_state_pkey, ADD PRIMARY KEY (feed, shard);
INSERT INTO feed_state (feed, shard, cursor, applied, updated_at, applied_through, pending,
                        pending_since)
SELECT feed, 1, cursor, 0, updated_at, applied_through, pending, pending_since
FROM feed_state WHERE shard = 0;

COMMENT ON COLUMN feed_state.shard IS 'Shard of the sessions whose changes this row''s cursor covers.';
COMMENT ON COLUMN feed_state.applied IS 'Changes of this shard''s sessions applied so far.';

ALTER TABLE engineer_weekly ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE engineer_weekly DROP CONSTRAINT engineer_weekly_pkey,
    ADD PRIMARY KEY (engineer_code, week, root_cause, shard);
ALTER TABLE team_weekly ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE team_weekly DROP CONSTRAINT team_weekly_pkey,
    ADD PRIMARY KEY (team, region, week, root_cause, shard);
ALTER TABLE team_language_weekly ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE team_language_weekly DROP CONSTRAINT team_language_weekly_pkey,
    ADD PRIMARY KEY (team, region, week, language, root_cause, shard);

COMMENT ON COLUMN engineer_weekly.shard IS 'Shard of the sessions counted in this row (sum the shards).';
COMMENT ON COLUMN team_weekly.shard IS 'Shard of the sessions counted in this row (sum the shards).';
COMMENT ON COLUMN team_language_weekly.shard IS 'Shard of the sessions counted in this row (sum the shards).';

-- The rollups again from the projection, each row within one shard (the projection and the
-- rollups are at the same cursor).
TRUNCATE engineer_weekly, team_weekly, team_language_weekly;

CREATE TEMPORARY TABLE sharded ON COMMIT DROP AS
SELECT (get_byte(uuid_send(session_id), 15) & 1)::smallint AS shard, engineer_code, team,
       coalesce(region, '') AS region, languages, root_cause, sentiment_score,
       confidence_overall, date_trunc('week', analysed_at AT TIME ZONE 'UTC')::date AS week
FROM sessions;

INSERT INTO engineer_weekly (engineer_code, week, root_cause, shard, sessions, sentiment_sum,
                             confidence_sum)
SELECT engineer_code, week, root_cause, shard, count(*), sum(sentiment_score),
       sum(confidence_overall)
FROM sharded GROUP BY engineer_code, week, root_cause, shard;

INSERT INTO team_weekly (team, region, week, root_cause, shard, sessions, sentiment_sum,
                         confidence_sum)
SELECT team, region, week, root_cause, shard, count(*), sum(sentiment_score),
       sum(confidence_overall)
FROM sharded GROUP BY team, region, week, root_cause, shard;

INSERT INTO team_language_weekly (team, region, week, language, root_cause, shard, sessions,
                                  sentiment_sum, confidence_sum)
SELECT team, region, week, language, root_cause, shard, count(*), sum(sentiment_score),
       sum(confidence_overall)
FROM sharded CROSS JOIN LATERAL unnest(languages) AS language
GROUP BY team, region, week, language, root_cause, shard;

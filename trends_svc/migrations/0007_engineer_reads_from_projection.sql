-- An engineer's weekly timeline is read from the projection (a few hundred rows of one engineer
-- through sessions_engineer_cause_idx) instead of a rollup kept for it: the rollup cost the feed's
-- apply about 6.5 us of PostgreSQL's CPU a change, nearly a row written for every change, and the
-- index on (engineer_code, analysed_at) another 2.5, while the reads they served take a few ms
-- without them (docs/scaling.md). The team rollups stay: a team's weeks span thousands of rows.
DROP TABLE engineer_weekly;
DROP INDEX sessions_engineer_idx;

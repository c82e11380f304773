-- Compare History's team baseline reads a team's last period (thousands of rows at millions of
-- sessions). The covering index answers it from the index alone, provided the visibility map is
-- current: insert-driven autovacuum on this table is made to run after 1 % new rows instead of 20 %.
DROP INDEX sessions_team_idx;
CREATE INDEX sessions_team_idx ON sessions (team, analysed_at)
    INCLUDE (root_cause, sentiment_score, confidence_overall);
ALTER TABLE sessions SET (autovacuum_vacuum_insert_scale_factor = 0.01);

-- The quality report by agent version, week or criterion reads this smaller rollup (no reviewer
-- dimension: about 20 times fewer rows with 20 reviewers); quality_rollup stays for the report by
-- reviewer. Both are kept in the transaction that saves a scored review.
CREATE TABLE quality_version_rollup (
    day date NOT NULL,
    agent_version text NOT NULL,
    criterion text NOT NULL,
    reviews bigint NOT NULL,
    score_sum double precision NOT NULL,
    score_sumsq double precision NOT NULL,
    PRIMARY KEY (day, agent_version, criterion)
);

COMMENT ON TABLE quality_version_rollup IS 'Scored reviews summed per day (UTC), agent version and criterion (quality_rollup without the reviewer).';
COMMENT ON COLUMN quality_version_rollup.day IS 'UTC day of scored_at.';
COMMENT ON COLUMN quality_version_rollup.agent_version IS 'Agent version (empty when unknown).';
COMMENT ON COLUMN quality_version_rollup.criterion IS 'Criterion key, or empty for the review''s quality score.';
COMMENT ON COLUMN quality_version_rollup.reviews IS 'How many reviews (rated, not N/A, for a criterion).';
COMMENT ON COLUMN quality_version_rollup.score_sum IS 'Sum of the scores (0-100).';
COMMENT ON COLUMN quality_version_rollup.score_sumsq IS 'Sum of the squared scores.';

INSERT INTO quality_version_rollup
SELECT day, agent_version, criterion, sum(reviews), sum(score_sum), sum(score_sumsq)
FROM quality_rollup GROUP BY day, agent_version, criterion;

-- Issue #27: scorecards (versioned), scored reviews with their quality score, a daily rollup that
-- answers the quality report without reading every review, the reviewer directory (display names,
-- who is active), sampling decisions and assignments, and calibration sessions.
CREATE TABLE scorecards (
    scorecard_id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    name text NOT NULL,
    criteria jsonb NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    is_latest boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (family_id, version)
);

COMMENT ON TABLE scorecards IS 'QA scorecards; editing one adds a version (same family), older versions stay for the reviews that used them.';
COMMENT ON COLUMN scorecards.scorecard_id IS 'Id of this version (what a scored review names).';
COMMENT ON COLUMN scorecards.family_id IS 'Id shared by every version of one scorecard.';
COMMENT ON COLUMN scorecards.version IS 'Version number within the family, from 1.';
COMMENT ON COLUMN scorecards.name IS 'Name of the scorecard (no personal data).';
COMMENT ON COLUMN scorecards.criteria IS 'List of {key, label, weight, scale} where scale is 1-5, pass_fail or na_allowed_1-5.';
COMMENT ON COLUMN scorecards.is_default IS 'The one scorecard a review uses when it names none.';
COMMENT ON COLUMN scorecards.is_latest IS 'The newest version of its family (the one listed and edited).';
COMMENT ON COLUMN scorecards.created_by IS 'Subject id of who created this version.';
COMMENT ON COLUMN scorecards.created_at IS 'When this version was created.';

CREATE UNIQUE INDEX scorecards_one_default_idx ON scorecards ((true)) WHERE is_default;
CREATE UNIQUE INDEX scorecards_one_latest_idx ON scorecards (family_id) WHERE is_latest;

CREATE TABLE reviewers (
    reviewer_id text PRIMARY KEY,
    display_name text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    seen_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE reviewers IS 'QA reviewers as the gateway names them (staff, not coached engineers).';
COMMENT ON COLUMN reviewers.reviewer_id IS 'Subject id of the reviewer (the gateway user id).';
COMMENT ON COLUMN reviewers.display_name IS 'Display name from the gateway''s user directory, as its token carried it last.';
COMMENT ON COLUMN reviewers.active IS 'Takes part in round-robin assignment.';
COMMENT ON COLUMN reviewers.seen_at IS 'Last time the reviewer used QA.';

CREATE TABLE scored_reviews (
    session_id uuid NOT NULL,
    reviewer_id text NOT NULL,
    scorecard_id uuid NOT NULL REFERENCES scorecards,
    agent_version text NOT NULL DEFAULT '',
    ratings jsonb NOT NULL,
    comments jsonb NOT NULL DEFAULT '{}',
    criterion_scores jsonb NOT NULL,
    quality_score double precision NOT NULL CHECK (quality_score BETWEEN 0 AND 100),
    scored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, reviewer_id)
);

COMMENT ON TABLE scored_reviews IS 'One reviewer''s scorecard ratings of one agent session and its quality score.';
COMMENT ON COLUMN scored_reviews.session_id IS 'The agent session reviewed.';
COMMENT ON COLUMN scored_reviews.reviewer_id IS 'Subject id of the reviewer (display name in reviewers).';
COMMENT ON COLUMN scored_reviews.scorecard_id IS 'The scorecard version the ratings follow.';
COMMENT ON COLUMN scored_reviews.agent_version IS 'Agent version of the session (from its validation log; empty when unknown).';
COMMENT ON COLUMN scored_reviews.ratings IS 'Criterion key -> 1..5, "pass", "fail" or "na".';
COMMENT ON COLUMN scored_reviews.comments IS 'Criterion key -> comment (PII-guarded).';
COMMENT ON COLUMN scored_reviews.criterion_scores IS 'Criterion key -> score on 0-100 (N/A left out).';
COMMENT ON COLUMN scored_reviews.quality_score IS 'Weighted mean of the criterion scores on 0-100.';
COMMENT ON COLUMN scored_reviews.scored_at IS 'When the ratings were last saved.';

CREATE INDEX scored_reviews_time_idx ON scored_reviews (scored_at);

CREATE TABLE quality_rollup (
    day date NOT NULL,
    agent_version text NOT NULL,
    reviewer_id text NOT NULL,
    criterion text NOT NULL,
    reviews bigint NOT NULL,
    score_sum double precision NOT NULL,
    score_sumsq double precision NOT NULL,
    PRIMARY KEY (day, agent_version, reviewer_id, criterion)
);

COMMENT ON TABLE quality_rollup IS 'Scored reviews summed per day (UTC), agent version, reviewer and criterion, kept in the transaction that saves a review; full days of a report are read here.';
COMMENT ON COLUMN quality_rollup.day IS 'UTC day of scored_at.';
COMMENT ON COLUMN quality_rollup.agent_version IS 'Agent version (empty when unknown).';
COMMENT ON COLUMN quality_rollup.reviewer_id IS 'Subject id of the reviewer.';
COMMENT ON COLUMN quality_rollup.criterion IS 'Criterion key, or empty for the review''s quality score.';
COMMENT ON COLUMN quality_rollup.reviews IS 'How many reviews (rated, not N/A, for a criterion).';
COMMENT ON COLUMN quality_rollup.score_sum IS 'Sum of the scores (0-100).';
COMMENT ON COLUMN quality_rollup.score_sumsq IS 'Sum of the squared scores (for the variance of a version''s score).';

CREATE TABLE sampling_rules (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    percent double precision NOT NULL DEFAULT 10 CHECK (percent BETWEEN 0 AND 100),
    always_errors boolean NOT NULL DEFAULT true,
    always_restart boolean NOT NULL DEFAULT true,
    always_low_confidence boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE sampling_rules IS 'The one set of rules that puts sessions into the review queue.';
COMMENT ON COLUMN sampling_rules.only_row IS 'Always true: there is one row.';
COMMENT ON COLUMN sampling_rules.percent IS 'Share of the other sessions sampled at random, per agent version.';
COMMENT ON COLUMN sampling_rules.always_errors IS 'Sessions with errors are always sampled.';
COMMENT ON COLUMN sampling_rules.always_restart IS 'Sessions where a restart was offered are always sampled.';
COMMENT ON COLUMN sampling_rules.always_low_confidence IS 'Sessions with low confidence are always sampled.';
COMMENT ON COLUMN sampling_rules.updated_at IS 'Last change.';

INSERT INTO sampling_rules DEFAULT VALUES;

CREATE TABLE sampled_sessions (
    session_id uuid PRIMARY KEY,
    sampled boolean NOT NULL,
    reason text NOT NULL CHECK (reason IN ('errors', 'restart_offered', 'low_confidence', 'random', 'not_drawn')),
    agent_version text NOT NULL DEFAULT '',
    decided_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE sampled_sessions IS 'The sampling decision of each session considered once (sampled or not).';
COMMENT ON COLUMN sampled_sessions.session_id IS 'The agent session.';
COMMENT ON COLUMN sampled_sessions.sampled IS 'Put into the review queue.';
COMMENT ON COLUMN sampled_sessions.reason IS 'errors, restart_offered, low_confidence (always rules), random, or not_drawn.';
COMMENT ON COLUMN sampled_sessions.agent_version IS 'Stratum of the random draw.';
COMMENT ON COLUMN sampled_sessions.decided_at IS 'When it was decided.';

CREATE TABLE assignments (
    session_id uuid PRIMARY KEY,
    reviewer_id text NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE assignments IS 'Who reviews a sampled session now.';
COMMENT ON COLUMN assignments.session_id IS 'The agent session.';
COMMENT ON COLUMN assignments.reviewer_id IS 'Subject id of the assigned reviewer.';
COMMENT ON COLUMN assignments.assigned_at IS 'When.';

CREATE INDEX assignments_reviewer_idx ON assignments (reviewer_id);

CREATE TABLE assignment_history (
    session_id uuid NOT NULL,
    reviewer_id text NOT NULL,
    assigned_by text NOT NULL,
    reason text NOT NULL CHECK (reason IN ('sampling', 'reassignment')),
    assigned_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (session_id, reviewer_id)
);

COMMENT ON TABLE assignment_history IS 'Every assignment (audit trail); the key keeps anyone from being assigned a session twice.';
COMMENT ON COLUMN assignment_history.session_id IS 'The agent session.';
COMMENT ON COLUMN assignment_history.reviewer_id IS 'Subject id of the reviewer assigned.';
COMMENT ON COLUMN assignment_history.assigned_by IS 'Subject id of who assigned (sampling: who ran it).';
COMMENT ON COLUMN assignment_history.reason IS 'sampling or reassignment.';
COMMENT ON COLUMN assignment_history.assigned_at IS 'When.';

CREATE TABLE calibrations (
    calibration_id uuid PRIMARY KEY,
    scorecard_id uuid NOT NULL REFERENCES scorecards,
    session_ids uuid[] NOT NULL,
    reviewer_ids text[] NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE calibrations IS 'Calibration sessions: the same sessions scored blind by several reviewers.';
COMMENT ON COLUMN calibrations.calibration_id IS 'Id.';
COMMENT ON COLUMN calibrations.scorecard_id IS 'Scorecard version every reviewer uses.';
COMMENT ON COLUMN calibrations.session_ids IS 'Agent sessions to score.';
COMMENT ON COLUMN calibrations.reviewer_ids IS 'Subject ids of the reviewers taking part.';
COMMENT ON COLUMN calibrations.created_by IS 'Subject id of who created it.';
COMMENT ON COLUMN calibrations.created_at IS 'When.';

CREATE TABLE calibration_ratings (
    calibration_id uuid NOT NULL REFERENCES calibrations,
    session_id uuid NOT NULL,
    reviewer_id text NOT NULL,
    ratings jsonb NOT NULL,
    comments jsonb NOT NULL DEFAULT '{}',
    criterion_scores jsonb NOT NULL,
    quality_score double precision NOT NULL,
    scored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calibration_id, session_id, reviewer_id)
);

COMMENT ON TABLE calibration_ratings IS 'One reviewer''s blind ratings of one session of a calibration (kept out of the quality report).';
COMMENT ON COLUMN calibration_ratings.calibration_id IS 'The calibration.';
COMMENT ON COLUMN calibration_ratings.session_id IS 'The agent session.';
COMMENT ON COLUMN calibration_ratings.reviewer_id IS 'Subject id of the reviewer.';
COMMENT ON COLUMN calibration_ratings.ratings IS 'Criterion key -> 1..5, "pass", "fail" or "na".';
COMMENT ON COLUMN calibration_ratings.comments IS 'Criterion key -> comment (PII-guarded).';
COMMENT ON COLUMN calibration_ratings.criterion_scores IS 'Criterion key -> score on 0-100 (N/A left out).';
COMMENT ON COLUMN calibration_ratings.quality_score IS 'Weighted mean of the criterion scores on 0-100.';
COMMENT ON COLUMN calibration_ratings.scored_at IS 'When saved.';

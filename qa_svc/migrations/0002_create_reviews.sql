-- QA review decisions per agent session, and their history.
CREATE TABLE reviews (
    session_id uuid PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('pending', 'in_review', 'reviewed', 'flagged')),
    notes text,
    reviewer text,
    first_seen_at timestamptz NOT NULL,
    started_at timestamptz,
    decided_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE reviews IS 'QA review state of an agent session.';
COMMENT ON COLUMN reviews.session_id IS 'The agent session reviewed.';
COMMENT ON COLUMN reviews.status IS 'pending, in_review, reviewed or flagged.';
COMMENT ON COLUMN reviews.notes IS 'Reviewer notes (PII-guarded).';
COMMENT ON COLUMN reviews.reviewer IS 'Subject id of the reviewer.';
COMMENT ON COLUMN reviews.first_seen_at IS 'First validation event of the session (start of time-to-review).';
COMMENT ON COLUMN reviews.started_at IS 'When review started (in_review).';
COMMENT ON COLUMN reviews.decided_at IS 'When it was reviewed or flagged.';
COMMENT ON COLUMN reviews.updated_at IS 'Last change.';

CREATE TABLE review_history (
    session_id uuid NOT NULL,
    status text NOT NULL,
    reviewer text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

COMMENT ON TABLE review_history IS 'Every review decision (audit trail of QA).';
COMMENT ON COLUMN review_history.session_id IS 'The session.';
COMMENT ON COLUMN review_history.status IS 'Status set.';
COMMENT ON COLUMN review_history.reviewer IS 'Who set it.';
COMMENT ON COLUMN review_history.changed_at IS 'When.';

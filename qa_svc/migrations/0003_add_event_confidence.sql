-- The overall confidence of the analysis, when an event knows it (the step-6 review check of a
-- draft, or the agent's own report): lets QA leads pick out low-confidence sessions.
ALTER TABLE validation_events ADD COLUMN confidence_overall numeric(5, 4)
    CHECK (confidence_overall BETWEEN 0 AND 1);

COMMENT ON COLUMN validation_events.confidence_overall IS 'Overall confidence (0.7 × analysis + 0.3 × translation) of the analysis the event belongs to, when known.';

-- What the change feed said about the changes after the cursor when the last page was read, so
-- that the lag of the projection can be shown without asking persistence (/readyz, /metrics).
ALTER TABLE feed_state
    ADD COLUMN applied_through timestamptz,
    ADD COLUMN pending bigint NOT NULL DEFAULT 0,
    ADD COLUMN pending_since timestamptz;

COMMENT ON COLUMN feed_state.applied_through IS 'changed_at of the last change applied.';
COMMENT ON COLUMN feed_state.pending IS 'Changes committed after the cursor, as the feed counted them with the last page (at most the feed''s count limit).';
COMMENT ON COLUMN feed_state.pending_since IS 'changed_at of the oldest of those changes (null when none).';

-- The change log keeps one row per writing statement, with the ids of the sessions it changed in
-- `session_ids` (in the order the statement wrote them), instead of one row per session: an import
-- chunk of 4,000 sessions writes one log row, not 4,000 (PostgreSQL's CPU per imported row fell by
-- about a fifth, docs/scaling.md). Rows written before keep their single `session_id`. The feed
-- (GET /internal/changes) still lists one change per session, ordered by (txid, change_id, position).
ALTER TABLE change_log ADD COLUMN session_ids uuid[];
ALTER TABLE change_log ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE change_log ADD CONSTRAINT change_log_sessions_given_once
    CHECK ((session_id IS NULL) <> (session_ids IS NULL));

COMMENT ON COLUMN change_log.session_id IS 'The session that changed (rows written before session_ids; no other identifying data).';
COMMENT ON COLUMN change_log.session_ids IS 'The sessions one statement changed, in the order it wrote them (no other identifying data).';

CREATE OR REPLACE FUNCTION record_session_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO change_log (operation, session_ids)
        SELECT 'delete', array_agg(session_id) FROM old_rows HAVING count(*) > 0;
    ELSE
        INSERT INTO change_log (operation, session_ids)
        SELECT lower(TG_OP), array_agg(session_id) FROM new_rows HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_session_changes() IS 'Writes the session changes of one statement to change_log as one row, in the same transaction.';

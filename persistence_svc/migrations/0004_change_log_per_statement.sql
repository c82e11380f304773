-- The change log is written once per statement from its transition table instead of once per row:
-- an import chunk or a batch of 1000 sessions costs one trigger call and one INSERT … SELECT.
-- Readers see the same rows as before (one per changed session, in the writing transaction).
CREATE FUNCTION record_session_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO change_log (operation, session_id) SELECT 'delete', session_id FROM old_rows;
    ELSE
        INSERT INTO change_log (operation, session_id) SELECT lower(TG_OP), session_id FROM new_rows;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_session_changes() IS 'Writes the session changes of one statement to change_log in the same transaction.';

-- Transition tables need one trigger per event.
CREATE TRIGGER sessions_change_log_insert
AFTER INSERT ON sessions REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_session_changes();

CREATE TRIGGER sessions_change_log_update
AFTER UPDATE ON sessions REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_session_changes();

CREATE TRIGGER sessions_change_log_delete
AFTER DELETE ON sessions REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_session_changes();

DROP TRIGGER sessions_change_log ON sessions;
DROP FUNCTION record_session_change();

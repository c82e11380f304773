-- The engineers with stored sessions, by pseudonym only: the PII guard's index of known names. Free
-- text that names one of them (in a session written by engineer_code, say) is refused or redacted:
-- each run of one to three words is pseudonymised and looked up here (issue #21, finding 5). The
-- triggers keep it holding the engineer codes of `sessions`; an erased engineer leaves it with
-- their last session. A process holding a copy in memory compares the table's row count to tell
-- whether its copy is still current (an index-only count; no shared row that writers would lock).
CREATE TABLE known_engineers (
    engineer_code text NOT NULL
);

CREATE INDEX known_engineers_code_idx ON known_engineers (engineer_code);

COMMENT ON TABLE known_engineers IS 'Engineer codes with stored sessions (pseudonyms only): the index the PII guard looks names up in. No unique key, so that writers never wait on each other: two transactions that first store the same engineer at once may both add the code; readers take the distinct codes.';
COMMENT ON COLUMN known_engineers.engineer_code IS 'An engineer_code of at least one stored session.';

INSERT INTO known_engineers (engineer_code) SELECT DISTINCT engineer_code FROM sessions;

CREATE FUNCTION record_known_engineers() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM known_engineers known
        USING (SELECT DISTINCT engineer_code FROM old_rows) gone
        WHERE known.engineer_code = gone.engineer_code
          AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.engineer_code = gone.engineer_code);
    ELSE
        INSERT INTO known_engineers (engineer_code)
        SELECT DISTINCT added.engineer_code FROM new_rows added
        WHERE NOT EXISTS (
            SELECT 1 FROM known_engineers known WHERE known.engineer_code = added.engineer_code
        );
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_known_engineers() IS 'Keeps known_engineers holding the engineer codes of sessions, once per statement, without a lock another writer could wait on.';

CREATE TRIGGER sessions_known_engineers_insert
AFTER INSERT ON sessions REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_known_engineers();

CREATE TRIGGER sessions_known_engineers_delete
AFTER DELETE ON sessions REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_known_engineers();

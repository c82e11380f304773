-- The engineers with stored sessions, by pseudonym only: the PII guard's index of known names. Free
-- text that names one of them (in a session written by engineer_code, say) is refused or redacted:
-- each run of one to three words is pseudonymised and looked up here (issue #21, finding 5). The
-- triggers keep it equal to the engineer codes of `sessions`; an erased engineer leaves it with
-- their last session. `known_engineers_version` counts its changes, so that a process holding a
-- copy in memory can tell with one look-up whether its copy is still current.
CREATE TABLE known_engineers (
    engineer_code text PRIMARY KEY
);

COMMENT ON TABLE known_engineers IS 'Engineer codes with stored sessions (pseudonyms only): the index the PII guard looks names up in.';
COMMENT ON COLUMN known_engineers.engineer_code IS 'An engineer_code of at least one stored session.';

CREATE TABLE known_engineers_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
);

COMMENT ON TABLE known_engineers_version IS 'One row: how often known_engineers changed (copies in memory compare it).';
COMMENT ON COLUMN known_engineers_version.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN known_engineers_version.version IS 'Raised in the transaction that adds or removes an engineer code.';

INSERT INTO known_engineers (engineer_code) SELECT DISTINCT engineer_code FROM sessions;
INSERT INTO known_engineers_version (version) VALUES (1);

CREATE FUNCTION record_known_engineers() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        WITH removed AS (
            DELETE FROM known_engineers known
            USING (SELECT DISTINCT engineer_code FROM old_rows) gone
            WHERE known.engineer_code = gone.engineer_code
              AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.engineer_code = gone.engineer_code)
            RETURNING 1
        )
        SELECT count(*) INTO changed FROM removed;
    ELSE
        WITH added AS (
            INSERT INTO known_engineers (engineer_code)
            SELECT DISTINCT engineer_code FROM new_rows
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) INTO changed FROM added;
    END IF;
    IF changed > 0 THEN
        UPDATE known_engineers_version SET version = version + 1;
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_known_engineers() IS 'Keeps known_engineers equal to the engineer codes of sessions, once per statement, and raises its version when it changes.';

CREATE TRIGGER sessions_known_engineers_insert
AFTER INSERT ON sessions REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_known_engineers();

CREATE TRIGGER sessions_known_engineers_delete
AFTER DELETE ON sessions REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION record_known_engineers();

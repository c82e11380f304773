-- Change feed: one row per inserted, updated or deleted session, ordered by (txid, change_id).
-- Readers only see rows whose transaction is older than every transaction still in flight
-- (txid < pg_snapshot_xmin), so a late commit can never slip in behind a cursor.
CREATE TABLE change_log (
    change_id bigint GENERATED ALWAYS AS IDENTITY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    operation text NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    session_id uuid NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (txid, change_id)
);

COMMENT ON TABLE change_log IS 'Ordered feed of session changes for other services and the warehouse.';
COMMENT ON COLUMN change_log.change_id IS 'Order inside one transaction.';
COMMENT ON COLUMN change_log.txid IS 'Writing transaction; the feed is ordered by (txid, change_id).';
COMMENT ON COLUMN change_log.operation IS 'insert, update or delete (a delete is a tombstone).';
COMMENT ON COLUMN change_log.session_id IS 'The session that changed (no other identifying data).';
COMMENT ON COLUMN change_log.changed_at IS 'When the change was written.';

CREATE FUNCTION record_session_change() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO change_log (operation, session_id)
    VALUES (lower(TG_OP), CASE WHEN TG_OP = 'DELETE' THEN OLD.session_id ELSE NEW.session_id END);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION record_session_change() IS 'Writes every session change to change_log in the same transaction.';

CREATE TRIGGER sessions_change_log
AFTER INSERT OR UPDATE OR DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION record_session_change();

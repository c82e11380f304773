-- Erasure requests (DELETE /engineers/{code}): recorded before any service is asked, so that an
-- erasure a service could not complete at once is finished by the gateway's retrier, and is
-- reported done only when every service has done its part.
CREATE TABLE erasures (
    erasure_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    engineer_code text NOT NULL,
    requested_by text NOT NULL,
    requested_roles text[] NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz
);

COMMENT ON TABLE erasures IS 'One erasure of an engineer everywhere; done only when every service erased.';
COMMENT ON COLUMN erasures.erasure_id IS 'Id of GET /api/v1/erasures/{id}.';
COMMENT ON COLUMN erasures.engineer_code IS 'The pseudonym erased (never a name).';
COMMENT ON COLUMN erasures.requested_by IS 'Subject id of the admin who asked (the audit actor of the completion).';
COMMENT ON COLUMN erasures.requested_roles IS 'Roles of that caller, carried by the retrier''s internal tokens.';
COMMENT ON COLUMN erasures.status IS 'pending until every service is done, then done.';
COMMENT ON COLUMN erasures.requested_at IS 'When DELETE /engineers/{code} was called.';
COMMENT ON COLUMN erasures.next_attempt_at IS 'When the retrier tries the services not done yet again.';
COMMENT ON COLUMN erasures.done_at IS 'When the last service finished.';

CREATE INDEX erasures_pending_idx ON erasures (next_attempt_at) WHERE status = 'pending';

CREATE TABLE erasure_steps (
    erasure_id uuid NOT NULL REFERENCES erasures ON DELETE CASCADE,
    service text NOT NULL,
    position smallint NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    sessions_deleted integer,
    done_at timestamptz,
    PRIMARY KEY (erasure_id, service)
);

COMMENT ON TABLE erasure_steps IS 'Each service''s part of an erasure (asked in position order).';
COMMENT ON COLUMN erasure_steps.service IS 'persistence or trends.';
COMMENT ON COLUMN erasure_steps.position IS 'Order of asking: the source of truth before its copies.';
COMMENT ON COLUMN erasure_steps.status IS 'pending or done.';
COMMENT ON COLUMN erasure_steps.attempts IS 'Calls made to the service for this erasure.';
COMMENT ON COLUMN erasure_steps.last_error IS 'Why the last call failed: an HTTP status or an error class, never a body.';
COMMENT ON COLUMN erasure_steps.sessions_deleted IS 'What the service reported deleted.';
COMMENT ON COLUMN erasure_steps.done_at IS 'When the service answered 200.';

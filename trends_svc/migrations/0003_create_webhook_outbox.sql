-- Alert notifications waiting to be delivered to ALERT_WEBHOOK_URL, retried with backoff.
CREATE TABLE webhook_outbox (
    delivery_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id uuid NOT NULL,
    event text NOT NULL CHECK (event IN ('alert.opened', 'alert.resolved')),
    payload jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE webhook_outbox IS 'Outbox of alert notifications; written in the evaluation transaction, delivered by the worker.';
COMMENT ON COLUMN webhook_outbox.delivery_id IS 'Order of the notifications.';
COMMENT ON COLUMN webhook_outbox.alert_id IS 'The alert it is about.';
COMMENT ON COLUMN webhook_outbox.event IS 'alert.opened or alert.resolved.';
COMMENT ON COLUMN webhook_outbox.payload IS 'The JSON body sent (pseudonyms only).';
COMMENT ON COLUMN webhook_outbox.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN webhook_outbox.next_attempt_at IS 'Not retried before this time (exponential backoff).';
COMMENT ON COLUMN webhook_outbox.delivered_at IS 'When the receiver answered 2xx.';
COMMENT ON COLUMN webhook_outbox.last_error IS 'Status code or error class of the last failed attempt.';
COMMENT ON COLUMN webhook_outbox.created_at IS 'When it was queued.';

CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL;

-- Notification channels, routes, silences, the per-route grouping state, the delivery outbox
-- (delivery log and dead letters) and the weekly digest's once-per-period key (issue #26).
CREATE TABLE notification_channels (
    channel_id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('email', 'slack', 'teams', 'webhook')),
    sealed_config text NOT NULL,
    masked_config jsonb NOT NULL,
    owner text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE notification_channels IS 'Where notifications go: an e-mail list, a Slack or Teams incoming webhook, a generic webhook.';
COMMENT ON COLUMN notification_channels.channel_id IS 'Id of the channel.';
COMMENT ON COLUMN notification_channels.name IS 'Name an admin gave it.';
COMMENT ON COLUMN notification_channels.kind IS 'email, slack, teams or webhook.';
COMMENT ON COLUMN notification_channels.sealed_config IS 'The whole config (URLs, secrets, addresses) encrypted with NOTIFICATIONS_KEY (Fernet).';
COMMENT ON COLUMN notification_channels.masked_config IS 'The config as answers show it: URLs and addresses masked, secrets left out.';
COMMENT ON COLUMN notification_channels.owner IS 'Subject id of the manager of a self-service e-mail channel; null for an admin''s channel.';
COMMENT ON COLUMN notification_channels.created_by IS 'Subject id of who created it.';
COMMENT ON COLUMN notification_channels.created_at IS 'When it was created.';
COMMENT ON COLUMN notification_channels.updated_at IS 'When it last changed.';

CREATE TABLE notification_routes (
    route_id uuid PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES notification_channels (channel_id) ON DELETE CASCADE,
    teams text[] NOT NULL DEFAULT '{}',
    rules text[] NOT NULL DEFAULT '{}',
    categories text[] NOT NULL DEFAULT '{}',
    group_wait_seconds integer NOT NULL DEFAULT 0,
    group_interval_seconds integer NOT NULL DEFAULT 300,
    repeat_interval_seconds integer NOT NULL DEFAULT 0,
    send_resolved boolean NOT NULL DEFAULT true,
    digest boolean NOT NULL DEFAULT false,
    owner text,
    confirmation_hash text,
    confirmed_at timestamptz,
    last_sent_at timestamptz,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE notification_routes IS 'Which alerts go to which channel, grouped how, repeated how often, with a weekly digest or not.';
COMMENT ON COLUMN notification_routes.route_id IS 'Id of the route.';
COMMENT ON COLUMN notification_routes.channel_id IS 'The channel its messages go to.';
COMMENT ON COLUMN notification_routes.teams IS 'Teams whose alerts match (empty: every team).';
COMMENT ON COLUMN notification_routes.rules IS 'Rules whose alerts match (empty: every rule).';
COMMENT ON COLUMN notification_routes.categories IS 'Root-cause categories that match (empty: every category).';
COMMENT ON COLUMN notification_routes.group_wait_seconds IS 'How long the first alert of a group waits for others before a message goes.';
COMMENT ON COLUMN notification_routes.group_interval_seconds IS 'Least time between two messages of this route.';
COMMENT ON COLUMN notification_routes.repeat_interval_seconds IS 'An alert still open is sent again after this long (0: never).';
COMMENT ON COLUMN notification_routes.send_resolved IS 'Whether resolved notices are sent for alerts this route announced.';
COMMENT ON COLUMN notification_routes.digest IS 'Whether the weekly digest goes to this route''s channel.';
COMMENT ON COLUMN notification_routes.owner IS 'Subject id of the manager of a self-service route; null for an admin''s route.';
COMMENT ON COLUMN notification_routes.confirmation_hash IS 'SHA-256 of the code e-mailed to confirm a self-service address (null once confirmed).';
COMMENT ON COLUMN notification_routes.confirmed_at IS 'When the route became active (at once for an admin''s route).';
COMMENT ON COLUMN notification_routes.last_sent_at IS 'When its last grouped message was queued (group_interval).';
COMMENT ON COLUMN notification_routes.created_by IS 'Subject id of who created it.';
COMMENT ON COLUMN notification_routes.created_at IS 'When it was created.';
COMMENT ON COLUMN notification_routes.updated_at IS 'When it last changed.';

CREATE TABLE notification_silences (
    silence_id uuid PRIMARY KEY,
    matchers jsonb NOT NULL,
    starts_at timestamptz NOT NULL DEFAULT now(),
    ends_at timestamptz NOT NULL,
    reason text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expired_by text
);

COMMENT ON TABLE notification_silences IS 'Silences: matching alerts are still raised and listed, but not sent.';
COMMENT ON COLUMN notification_silences.silence_id IS 'Id of the silence.';
COMMENT ON COLUMN notification_silences.matchers IS 'Any subset of {"rule", "team", "engineer_code", "category"}; every one given must equal the alert''s.';
COMMENT ON COLUMN notification_silences.starts_at IS 'From when it silences.';
COMMENT ON COLUMN notification_silences.ends_at IS 'Until when it silences (moved to now when expired).';
COMMENT ON COLUMN notification_silences.reason IS 'Why (PII-guarded when written).';
COMMENT ON COLUMN notification_silences.created_by IS 'Subject id of who created it.';
COMMENT ON COLUMN notification_silences.created_at IS 'When it was created.';
COMMENT ON COLUMN notification_silences.expired_by IS 'Subject id of who expired it early.';
CREATE INDEX notification_silences_ends_idx ON notification_silences (ends_at);

CREATE TABLE notification_pending (
    route_id uuid NOT NULL REFERENCES notification_routes (route_id) ON DELETE CASCADE,
    alert_id uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    event text NOT NULL CHECK (event IN ('alert.opened', 'alert.repeat', 'alert.resolved')),
    queued_at timestamptz NOT NULL,
    PRIMARY KEY (route_id, alert_id, event)
);

COMMENT ON TABLE notification_pending IS 'Alert events waiting for their route''s next grouped message.';
COMMENT ON COLUMN notification_pending.route_id IS 'The route.';
COMMENT ON COLUMN notification_pending.alert_id IS 'The alert.';
COMMENT ON COLUMN notification_pending.event IS 'alert.opened, alert.repeat or alert.resolved.';
COMMENT ON COLUMN notification_pending.queued_at IS 'When it was queued (group_wait counts from the oldest).';

CREATE TABLE notification_announced (
    route_id uuid NOT NULL REFERENCES notification_routes (route_id) ON DELETE CASCADE,
    alert_id uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    last_sent_at timestamptz NOT NULL,
    PRIMARY KEY (route_id, alert_id)
);

COMMENT ON TABLE notification_announced IS 'Alerts a route has announced: repeat_interval counts from last_sent_at; only these get resolved notices.';
COMMENT ON COLUMN notification_announced.route_id IS 'The route.';
COMMENT ON COLUMN notification_announced.alert_id IS 'The alert.';
COMMENT ON COLUMN notification_announced.last_sent_at IS 'When the alert was last put in a message of the route.';

CREATE TABLE notification_outbox (
    message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES notification_channels (channel_id) ON DELETE CASCADE,
    route_id uuid REFERENCES notification_routes (route_id) ON DELETE SET NULL,
    purpose text NOT NULL CHECK (purpose IN ('alerts', 'digest', 'test', 'confirmation')),
    message jsonb NOT NULL,
    alert_count integer NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);

COMMENT ON TABLE notification_outbox IS 'Rendered messages to deliver, with their delivery log (status, attempts, last error); dead letters keep status dead.';
COMMENT ON COLUMN notification_outbox.message_id IS 'Order of the messages.';
COMMENT ON COLUMN notification_outbox.channel_id IS 'Where it goes.';
COMMENT ON COLUMN notification_outbox.route_id IS 'The route that produced it (null: a test message).';
COMMENT ON COLUMN notification_outbox.purpose IS 'alerts, digest, test or confirmation.';
COMMENT ON COLUMN notification_outbox.message IS 'The rendered message (pseudonyms only): e-mail subject/text/html or the JSON body.';
COMMENT ON COLUMN notification_outbox.alert_count IS 'Alerts it carries.';
COMMENT ON COLUMN notification_outbox.status IS 'pending, delivered, or dead after the last attempt.';
COMMENT ON COLUMN notification_outbox.attempts IS 'Delivery attempts so far.';
COMMENT ON COLUMN notification_outbox.next_attempt_at IS 'Not tried before this time (exponential backoff).';
COMMENT ON COLUMN notification_outbox.last_error IS 'Status code or error class of the last failed attempt.';
COMMENT ON COLUMN notification_outbox.created_at IS 'When it was queued.';
COMMENT ON COLUMN notification_outbox.delivered_at IS 'When the receiver accepted it.';
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at)
    WHERE status = 'pending';

CREATE TABLE notification_outbox_alerts (
    alert_id uuid NOT NULL,
    message_id bigint NOT NULL REFERENCES notification_outbox (message_id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, message_id)
);

COMMENT ON TABLE notification_outbox_alerts IS 'Which alerts a message names: an erased engineer''s alerts take their messages with them.';
COMMENT ON COLUMN notification_outbox_alerts.alert_id IS 'The alert.';
COMMENT ON COLUMN notification_outbox_alerts.message_id IS 'The message naming it.';

CREATE TABLE notification_digests (
    route_id uuid NOT NULL REFERENCES notification_routes (route_id) ON DELETE CASCADE,
    period_start date NOT NULL,
    message_id bigint REFERENCES notification_outbox (message_id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (route_id, period_start)
);

COMMENT ON TABLE notification_digests IS 'One row per route and digest period: the key that makes the weekly digest go once, whatever the number of workers.';
COMMENT ON COLUMN notification_digests.route_id IS 'The route.';
COMMENT ON COLUMN notification_digests.period_start IS 'Local date of the digest slot (DIGEST_WEEKDAY in DIGEST_TIMEZONE).';
COMMENT ON COLUMN notification_digests.message_id IS 'The digest message queued.';
COMMENT ON COLUMN notification_digests.created_at IS 'When it was queued.';

-- An erasure deletes the engineer's alerts: the messages that name them go too (delivered or
-- not: their bodies hold the engineer_code), whoever deletes the alerts.
CREATE FUNCTION notification_forget_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_outbox
    WHERE message_id IN (
        SELECT link.message_id FROM notification_outbox_alerts link
        JOIN gone ON gone.alert_id = link.alert_id
    );
    DELETE FROM notification_outbox_alerts WHERE alert_id IN (SELECT alert_id FROM gone);
    RETURN NULL;
END;
$$;

CREATE TRIGGER alerts_forget_notifications AFTER DELETE ON alerts
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION notification_forget_alerts();

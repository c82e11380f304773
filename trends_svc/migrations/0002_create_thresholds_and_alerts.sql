-- Threshold configuration per rule, alerts with their lifecycle, and every state change kept.
CREATE TABLE thresholds (
    rule text PRIMARY KEY,
    params jsonb NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT 'system'
);

COMMENT ON TABLE thresholds IS 'Trend-threshold configuration, one row per rule.';
COMMENT ON COLUMN thresholds.rule IS 'recurring_issue, performance_decline, positive_trend or team_frequent_issue.';
COMMENT ON COLUMN thresholds.params IS 'Rule parameters, e.g. {"min_count": 3, "window_days": 90}.';
COMMENT ON COLUMN thresholds.enabled IS 'A disabled rule raises nothing and resolves its alerts.';
COMMENT ON COLUMN thresholds.version IS 'Grows with every change; the ETag of the threshold.';
COMMENT ON COLUMN thresholds.updated_at IS 'When it last changed.';
COMMENT ON COLUMN thresholds.updated_by IS 'Subject id of who changed it.';

INSERT INTO thresholds (rule, params) VALUES
    ('recurring_issue', '{"min_count": 3, "window_days": 90}'),
    ('performance_decline', '{"max_drop": 0.15, "min_samples": 2}'),
    ('positive_trend', '{"min_consecutive": 3}'),
    ('team_frequent_issue', '{"window_days": 28, "min_count": 5, "min_share": 0.4}');

CREATE TABLE alerts (
    alert_id uuid PRIMARY KEY,
    rule text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('engineer', 'team')),
    engineer_code text,
    team text,
    category text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity text NOT NULL,
    evidence jsonb NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    subject text NOT NULL
);

COMMENT ON TABLE alerts IS 'Alerts raised by the trend rules; one live alert per (rule, subject, category).';
COMMENT ON COLUMN alerts.alert_id IS 'Id of the alert.';
COMMENT ON COLUMN alerts.rule IS 'Rule that raised it.';
COMMENT ON COLUMN alerts.scope IS 'engineer or team.';
COMMENT ON COLUMN alerts.engineer_code IS 'The engineer (engineer scope).';
COMMENT ON COLUMN alerts.team IS 'The team (team scope), or the engineer''s latest team.';
COMMENT ON COLUMN alerts.category IS 'Root-cause category ('''' for performance_decline).';
COMMENT ON COLUMN alerts.status IS 'open, acknowledged or resolved.';
COMMENT ON COLUMN alerts.severity IS 'info, warning or high.';
COMMENT ON COLUMN alerts.evidence IS 'The numbers that fired it: counts, means, drop, window.';
COMMENT ON COLUMN alerts.opened_at IS 'When it was raised.';
COMMENT ON COLUMN alerts.updated_at IS 'Last re-evaluation or state change.';
COMMENT ON COLUMN alerts.resolved_at IS 'When the condition stopped holding or someone resolved it.';
COMMENT ON COLUMN alerts.acknowledged_at IS 'When someone acknowledged it.';
COMMENT ON COLUMN alerts.acknowledged_by IS 'Subject id of who acknowledged it.';
COMMENT ON COLUMN alerts.subject IS 'engineer_code or team: the identity key with rule and category.';

CREATE UNIQUE INDEX alerts_live_idx ON alerts (rule, subject, category) WHERE status <> 'resolved';
CREATE INDEX alerts_engineer_idx ON alerts (engineer_code, opened_at DESC);
CREATE INDEX alerts_team_idx ON alerts (team, opened_at DESC);
CREATE INDEX alerts_order_idx ON alerts (opened_at DESC, alert_id DESC);

CREATE TABLE alert_history (
    alert_id uuid NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    status text NOT NULL,
    actor text NOT NULL,
    evidence jsonb
);

COMMENT ON TABLE alert_history IS 'Every state change of every alert.';
COMMENT ON COLUMN alert_history.alert_id IS 'The alert.';
COMMENT ON COLUMN alert_history.changed_at IS 'When.';
COMMENT ON COLUMN alert_history.status IS 'The status it moved to (or kept, on re-evaluation).';
COMMENT ON COLUMN alert_history.actor IS 'system, or the subject id of a person.';
COMMENT ON COLUMN alert_history.evidence IS 'Evidence at that moment.';
CREATE INDEX alert_history_alert_idx ON alert_history (alert_id, changed_at);

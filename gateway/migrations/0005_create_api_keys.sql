-- API keys: long-lived bearer secrets for agents that cannot run an OAuth flow (a GPT Action's
-- "API key" option). Only a SHA-256 hash of each key is stored; the prefix names it openly.
CREATE TABLE api_keys (
    prefix text PRIMARY KEY,
    name text NOT NULL,
    key_hash text NOT NULL,
    roles text[] NOT NULL,
    teams text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
);

COMMENT ON TABLE api_keys IS 'API keys of machine callers (agents); the key itself is shown once and never stored.';
COMMENT ON COLUMN api_keys.prefix IS 'Public, non-secret identifier: the characters after cra_ in the key (shown by list-api-keys, used as the audit actor).';
COMMENT ON COLUMN api_keys.name IS 'Label given at creation (unique among keys not revoked); revoke-api-key takes it.';
COMMENT ON COLUMN api_keys.key_hash IS 'Hex SHA-256 of the whole key (a random 256-bit secret, so a fast hash suffices).';
COMMENT ON COLUMN api_keys.roles IS 'Roles a call with this key holds (agent, manager, qa_lead, admin).';
COMMENT ON COLUMN api_keys.teams IS 'Teams the key acts within.';
COMMENT ON COLUMN api_keys.created_at IS 'When the key was created.';
COMMENT ON COLUMN api_keys.expires_at IS 'After this the key is refused (401); NULL: it does not expire.';
COMMENT ON COLUMN api_keys.revoked_at IS 'When the key was revoked (401 from then on); NULL while live.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Last accepted use, updated at most once a minute per key.';

CREATE UNIQUE INDEX api_keys_live_name_idx ON api_keys (name) WHERE revoked_at IS NULL;

-- OAuth clients of the built-in provider. Secrets are stored as argon2 hashes only.
CREATE TABLE oauth_clients (
    client_id text PRIMARY KEY,
    name text NOT NULL,
    secret_hash text NOT NULL,
    roles text[] NOT NULL,
    teams text[] NOT NULL DEFAULT '{}',
    grant_types text[] NOT NULL DEFAULT '{client_credentials}',
    redirect_uris text[] NOT NULL DEFAULT '{}',
    scope text NOT NULL DEFAULT '',
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE oauth_clients IS 'Machine and first-party clients of the built-in OAuth 2.0 / OIDC provider.';
COMMENT ON COLUMN oauth_clients.client_id IS 'Public client identifier.';
COMMENT ON COLUMN oauth_clients.name IS 'Human label of the client (e.g. demo-agent).';
COMMENT ON COLUMN oauth_clients.secret_hash IS 'argon2 hash of the client secret; the secret is shown once.';
COMMENT ON COLUMN oauth_clients.roles IS 'Roles granted to tokens of this client (agent, manager, qa_lead, admin).';
COMMENT ON COLUMN oauth_clients.teams IS 'Team scope of the client.';
COMMENT ON COLUMN oauth_clients.grant_types IS 'OAuth grant types the client may use.';
COMMENT ON COLUMN oauth_clients.redirect_uris IS 'Allowed redirect URIs (browser clients).';
COMMENT ON COLUMN oauth_clients.scope IS 'Space-separated scopes the client may ask for.';
COMMENT ON COLUMN oauth_clients.disabled IS 'A disabled client gets no tokens.';
COMMENT ON COLUMN oauth_clients.created_at IS 'When the client was created.';

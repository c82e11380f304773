-- Delegated OAuth for agent clients (issue #23): third-party clients that act for the signed-in
-- person (a GPT Action, an MCP client), the consent each person gave them, PKCE that a
-- confidential client may be excused from, dynamically registered clients awaiting an admin, and
-- tokens bound to one resource (RFC 8707).
ALTER TABLE oauth_clients ALTER COLUMN secret_hash DROP NOT NULL;
ALTER TABLE oauth_clients ADD COLUMN pkce_required boolean NOT NULL DEFAULT true;
ALTER TABLE oauth_clients ADD COLUMN approved boolean NOT NULL DEFAULT true;
ALTER TABLE oauth_clients ADD COLUMN registered_by text NOT NULL DEFAULT 'cli';

COMMENT ON COLUMN oauth_clients.secret_hash IS 'argon2 hash of the client secret; the secret is shown once. NULL: a public client (PKCE, no secret).';
COMMENT ON COLUMN oauth_clients.pkce_required IS 'False only for a confidential client created with --pkce optional (agent platforms that send no code_challenge).';
COMMENT ON COLUMN oauth_clients.approved IS 'False for a client registered dynamically while MCP_CLIENT_REGISTRATION=admin, until an admin approves it: it gets no code and no token.';
COMMENT ON COLUMN oauth_clients.registered_by IS 'How the client came to be: cli (create-client, seed) or dynamic (RFC 7591 registration).';

CREATE TABLE oauth_consents (
    user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    scope text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);

COMMENT ON TABLE oauth_consents IS 'Consent a person gave a third-party client to act for them; while it stands the consent page is not shown again for the same scope.';
COMMENT ON COLUMN oauth_consents.user_id IS 'The person who approved.';
COMMENT ON COLUMN oauth_consents.client_id IS 'The client they approved.';
COMMENT ON COLUMN oauth_consents.scope IS 'Space-separated scopes approved.';
COMMENT ON COLUMN oauth_consents.granted_at IS 'When the person approved (last time).';
CREATE INDEX oauth_consents_client_id_idx ON oauth_consents (client_id);

ALTER TABLE authorization_codes ALTER COLUMN code_challenge DROP NOT NULL;
ALTER TABLE authorization_codes ADD COLUMN resource text;
COMMENT ON COLUMN authorization_codes.code_challenge IS 'PKCE code challenge (S256); NULL only for a confidential client whose PKCE is optional.';
COMMENT ON COLUMN authorization_codes.resource IS 'RFC 8707 resource the tokens of this code are for (NULL: the API).';

ALTER TABLE refresh_token_families ADD COLUMN resource text;
COMMENT ON COLUMN refresh_token_families.resource IS 'RFC 8707 resource every token of the family is for (NULL: the API).';

-- People who log in through the browser, and the state of the authorization-code flow.
CREATE TABLE users (
    user_id uuid PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    roles text[] NOT NULL,
    teams text[] NOT NULL DEFAULT '{}',
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE users IS 'Users of the built-in provider (managers, QA leads, admins). Staff accounts, not coached engineers.';
COMMENT ON COLUMN users.user_id IS 'Subject identifier (sub) of the user.';
COMMENT ON COLUMN users.email IS 'Login name (lower case).';
COMMENT ON COLUMN users.password_hash IS 'argon2 hash of the password.';
COMMENT ON COLUMN users.roles IS 'Roles: manager, qa_lead, admin (agent is for machine clients).';
COMMENT ON COLUMN users.teams IS 'Teams a manager may see.';
COMMENT ON COLUMN users.disabled IS 'A disabled user cannot log in.';
COMMENT ON COLUMN users.created_at IS 'When the user was created.';

CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

CREATE TABLE authorization_codes (
    code text PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    nonce text,
    code_challenge text NOT NULL,
    code_challenge_method text NOT NULL,
    auth_time bigint NOT NULL,
    expires_at timestamptz NOT NULL
);

COMMENT ON TABLE authorization_codes IS 'One-time codes of the authorization_code flow (PKCE required).';
COMMENT ON COLUMN authorization_codes.code IS 'The code handed to the client (single use).';
COMMENT ON COLUMN authorization_codes.client_id IS 'Client the code was issued to.';
COMMENT ON COLUMN authorization_codes.user_id IS 'User who logged in.';
COMMENT ON COLUMN authorization_codes.redirect_uri IS 'Redirect URI the code must be redeemed with.';
COMMENT ON COLUMN authorization_codes.scope IS 'Granted scope.';
COMMENT ON COLUMN authorization_codes.nonce IS 'OpenID nonce to put into the ID token.';
COMMENT ON COLUMN authorization_codes.code_challenge IS 'PKCE code challenge (S256).';
COMMENT ON COLUMN authorization_codes.code_challenge_method IS 'PKCE method; only S256 is accepted.';
COMMENT ON COLUMN authorization_codes.auth_time IS 'When the user authenticated (epoch seconds).';
COMMENT ON COLUMN authorization_codes.expires_at IS 'The code is worthless after this time.';

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    scope text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

COMMENT ON TABLE refresh_tokens IS 'Refresh tokens (SHA-256 only), rotated on every use.';
COMMENT ON COLUMN refresh_tokens.token_hash IS 'SHA-256 of the refresh token; the token itself is never stored.';
COMMENT ON COLUMN refresh_tokens.client_id IS 'Client the token belongs to.';
COMMENT ON COLUMN refresh_tokens.user_id IS 'User the token acts for.';
COMMENT ON COLUMN refresh_tokens.scope IS 'Granted scope.';
COMMENT ON COLUMN refresh_tokens.issued_at IS 'When it was issued.';
COMMENT ON COLUMN refresh_tokens.expires_at IS 'When it expires.';
COMMENT ON COLUMN refresh_tokens.revoked_at IS 'Set when rotated or revoked.';

ALTER TABLE oauth_clients ADD COLUMN first_party boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN oauth_clients.first_party IS 'First-party browser clients (dashboard, QA UI) skip the consent screen.';

CREATE TABLE browser_sessions (
    session_hash text PRIMARY KEY,
    data jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);

COMMENT ON TABLE browser_sessions IS 'Server-side browser sessions; the cookie holds only a random id, stored here as SHA-256.';
COMMENT ON COLUMN browser_sessions.session_hash IS 'SHA-256 of the session cookie value.';
COMMENT ON COLUMN browser_sessions.data IS 'Session content (login state, tokens of the web client).';
COMMENT ON COLUMN browser_sessions.expires_at IS 'The session ends at this time.';
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);

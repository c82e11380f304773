-- Refresh-token families (RFC 9700 §4.14): every refresh token descends from one sign-in, and a
-- reused (already rotated) token revokes the whole family, its newest descendant included.
CREATE TABLE refresh_token_families (
    family_id uuid PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

COMMENT ON TABLE refresh_token_families IS 'One row per authorization-code sign-in: the refresh tokens rotated from it form its family.';
COMMENT ON COLUMN refresh_token_families.family_id IS 'Id of the family, shared by every refresh token rotated from the same sign-in.';
COMMENT ON COLUMN refresh_token_families.client_id IS 'Client the family was issued to.';
COMMENT ON COLUMN refresh_token_families.user_id IS 'User the family acts for.';
COMMENT ON COLUMN refresh_token_families.created_at IS 'When the sign-in issued the first token of the family.';
COMMENT ON COLUMN refresh_token_families.revoked_at IS 'Set when a token of the family was reused or revoked: no token of the family is accepted after it.';

-- Tokens issued before this migration: each one starts a family of its own.
ALTER TABLE refresh_tokens ADD COLUMN family_id uuid;
UPDATE refresh_tokens SET family_id = gen_random_uuid();
INSERT INTO refresh_token_families (family_id, client_id, user_id, created_at, revoked_at)
SELECT family_id, client_id, user_id, issued_at, revoked_at FROM refresh_tokens;
ALTER TABLE refresh_tokens ALTER COLUMN family_id SET NOT NULL;
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_family_id_fkey
    FOREIGN KEY (family_id) REFERENCES refresh_token_families (family_id) ON DELETE CASCADE;
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);

COMMENT ON COLUMN refresh_tokens.family_id IS 'Family (sign-in) the token was rotated from.';
COMMENT ON COLUMN refresh_tokens.revoked_at IS 'Set when the token was rotated (used once) or revoked; a later use of it revokes its family.';

// A real OpenID Connect provider (panva/oidc-provider) standing in for a company's identity provider
// in the gateway's tests. Started by tests/common/oidc_provider.py on 127.0.0.1 with a JSON config:
//   { "issuer", "port", "jwks": {private keys}, "audience", "resource",
//     "clients": [...oidc-provider client metadata, plus "roles"/"teams" for client-credentials tokens],
//     "accounts": { "<login>": { "password", "roles", "teams", "email", "name" } },
//     "rolesClaim", "teamsClaim", "accessTokenTTL" }
// Access tokens for the API are JWTs (resource indicators); roles and teams go into the configured
// claims. The login form is the library's development interaction, checked against "accounts".
import { readFileSync } from 'node:fs';
import Provider, { interactionPolicy } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};
const clientsById = Object.fromEntries(config.clients.map((client) => [client.client_id, client]));

function accessClaims(roles, teams) {
  return { [config.rolesClaim]: roles || [], [config.teamsClaim]: teams || [] };
}

const provider = new Provider(config.issuer, {
  jwks: config.jwks,
  clients: config.clients.map(({ roles, teams, ...metadata }) => metadata),
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email || id, name: account.name || id };
      },
    };
  },
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  pkce: { required: () => true },
  ttl: {
    AccessToken: config.accessTokenTTL || 300,
    ClientCredentials: config.accessTokenTTL || 300,
    IdToken: 300,
    RefreshToken: 3600,
    Session: 3600,
    Interaction: 600,
    Grant: 3600,
  },
  // First-party application: consent is implied, every requested scope and the API are granted.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile offline_access');
    grant.addResourceScope(config.resource, 'api');
    await grant.save();
    return grant;
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { policy: interactionPolicy.base() },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') {
      const client = clientsById[token.clientId] || {};
      return accessClaims(client.roles, client.teams);
    }
    if (token.accountId) {
      const account = accounts[token.accountId] || {};
      return accessClaims(account.roles, account.teams);
    }
    return undefined;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: config.audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.accessTokenTTL || 300,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});

// The development login form accepts any login; a company's provider checks the password.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const body = await new Promise((resolve) => {
      let data = '';
      ctx.req.on('data', (chunk) => { data += chunk; });
      ctx.req.on('end', () => resolve(new URLSearchParams(data)));
    });
    const account = accounts[body.get('login')];
    if (body.get('prompt') === 'login' && (!account || account.password !== body.get('password'))) {
      ctx.status = 401;
      ctx.type = 'text/plain';
      ctx.body = 'Invalid login or password.';
      return;
    }
    // Hand the already-read form on to the development interaction.
    ctx.req.body = Object.fromEntries(body.entries());
  }
  await next();
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});

// `npm run token -- --scope "inventory:read inventory:write" [--warehouses WH-A,WH-B] [--sub alice] [--client-id app] [--ttl 3600]`
// Prints a bearer token signed with the local dev key (.data/dev-signing-key.pem), which the
// server trusts when no AUTH_* variable is set. Refused in production.
import { commandLine, wholeNumber } from './lib/cli.ts';
import { createSigner } from 'fast-jwt';
import { loadConfig, DEV_AUDIENCE, DEV_ISSUER } from '../server/config.ts';
import { devPrivateKeyPem } from '../server/dev-keys.ts';
import { spec } from '../server/spec.ts';

const values = commandLine(
  `Usage: npm run token [-- options]

  --scope "A B"        space-separated scopes (default inventory:read): inventory:read,
                       inventory:write, procurement:write, procurement:approve (approving
                       requisitions: give it to a --sub other than the requester's), webhooks:manage
  --warehouses A,B     restrict the token to these warehouses
  --sub NAME           the subject (default dev-user)
  --client-id ID       the client id (default: the subject)
  --ttl SECONDS        lifetime (default 3600)`,
  {
    scope: { type: 'string', default: 'inventory:read' },
    warehouses: { type: 'string' },
    sub: { type: 'string', default: 'dev-user' },
    'client-id': { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
);
const ttl = wholeNumber('ttl', values.ttl, 1);
const scopes = values.scope.split(' ').filter(Boolean);
// The scopes the spec defines (its OAuth2 scheme): a typo would mint a token every request refuses.
const known = Object.keys(spec.components.securitySchemes.oauth2.flows.clientCredentials.scopes);
const unknown = scopes.filter((scope) => !known.includes(scope));
if (unknown.length) {
  console.error(`Unknown scope ${unknown.join(', ')}: the scopes are ${known.join(', ')}.`);
  process.exit(2);
}

if (process.env.NODE_ENV === 'production') {
  console.error('npm run token mints development tokens and is refused when NODE_ENV=production.');
  process.exit(1);
}
const config = loadConfig({ ...process.env, NODE_ENV: 'development' });
if (!config.auth.dev) {
  console.error(
    'AUTH_* is configured: tokens come from your authorization server, not from npm run token.',
  );
  process.exit(1);
}

const sign = createSigner({
  key: devPrivateKeyPem(config.dataDir),
  algorithm: 'ES256',
  iss: DEV_ISSUER,
  aud: DEV_AUDIENCE,
  expiresIn: ttl * 1000,
});
const claims: Record<string, unknown> = { sub: values.sub, scope: scopes.join(' ') };
if (values['client-id']) claims.client_id = values['client-id'];
if (values.warehouses)
  claims.warehouses = values.warehouses
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
console.log(sign(claims));

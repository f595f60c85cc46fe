/**
 * The README's trust model (Security, "Trust model"), as a client sees it:
 * with a consumer map every consumer signs its own tokens, so its claims are
 * its own word and only the consumer is the gateway's. A limit keyed on
 * $jwt_consumer cannot be spent by another consumer; one keyed on `sub`
 * can (which is why the README keys per-`sub` limits on issuer tokens).
 */
import { SignJWT } from 'jose';
import { authLocation, gatewayConfig, gatewayPerFile, now, unique } from '../support/gateway';

const SECRETS = { jack: 'trust-jack-secret-0123456789abcdefghijklmn', alice: 'trust-alice-secret-0123456789abcdefghijklm' };
const CONSUMERS = JSON.stringify({
  consumers: Object.entries(SECRETS).map(([name, secret]) => ({ username: name, credentials: [{ key: name + '-key', secret }] })),
});

const CONFIG = gatewayConfig({
  http: `
    js_preload_object trust_consumers from \${PREFIX}/consumers.json;
    limit_req_zone $jwt_consumer zone=by_consumer:1m rate=1r/m;
    limit_req_zone $jwt_claim_sub zone=by_sub:1m rate=1r/m;
  `,
  server: [
    'set $auth_jwt_consumers trust_consumers;',
    authLocation('/by-consumer/', [], ['limit_req zone=by_consumer;', 'limit_req_status 429;']),
    authLocation('/by-sub/', [], ['limit_req zone=by_sub;', 'limit_req_status 429;']),
    authLocation('/admin/', ['set $auth_jwt_claim_rules "roles contains admin";']),
  ],
});

const { it, g } = gatewayPerFile(() => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': CONSUMERS } }));

function token(consumer: 'jack' | 'alice', claims: { [name: string]: unknown }): Promise<string> {
  return new SignJWT({ key: consumer + '-key', exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRETS[consumer]));
}

const status = async (path: string, jwt: string) => (await g().get(path, { Authorization: 'Bearer ' + jwt })).status;

it("a limit on $jwt_consumer: jack signing sub=alice runs as jack and spends none of alice's quota", async () => {
  const sub = unique('alice');
  const echo = await g().echo('/by-consumer/1', { Authorization: 'Bearer ' + (await token('jack', { sub })) });
  expect(echo.headers['X-Consumer-Username']).toBe('jack');
  expect(await status('/by-consumer/2', await token('alice', { sub }))).toBe(200);
  // The limit itself works: alice's second request within the minute is refused.
  expect(await status('/by-consumer/3', await token('alice', { sub }))).toBe(429);
});

it("a limit on $jwt_claim_sub with a consumer map: jack can spend alice's quota (the README says not to do this)", async () => {
  const sub = unique('alice');
  expect(await status('/by-sub/1', await token('jack', { sub }))).toBe(200);
  expect(await status('/by-sub/2', await token('alice', { sub }))).toBe(429);
});

it('a claim rule with a consumer map only checks what the consumer chose to claim', async () => {
  expect(await status('/admin/x', await token('jack', { roles: ['user'] }))).toBe(403);
  expect(await status('/admin/x', await token('jack', { roles: ['admin'] }))).toBe(200);
});

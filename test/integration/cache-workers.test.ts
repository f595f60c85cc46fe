/**
 * The verification cache under concurrent workers: two nginx workers share
 * the cache zone, each keeps its own entries (the key holds $pid), parallel
 * requests with one token all pass and later ones are answered from the
 * cache, and after a reload that revokes the token no worker answers from an
 * old entry. (No proxy_cache_lock: its waiters poll every 500 ms, and with an
 * answer that is not stored, a denial, they waited its whole 5 s timeout.)
 */
import { SignJWT } from 'jose';
import { authRequestStyle, gatewayConfig, gatewayPerFile, now, unique } from '../support/gateway';

const SECRET = 'cache-workers-secret-0123456789abcdefghijk';
const CONSUMERS = JSON.stringify({ consumers: [{ username: 'dave', credentials: [{ key: 'dave-key', secret: SECRET }] }] });
const style = authRequestStyle('cached');

const CONFIG = gatewayConfig({
  workers: 2,
  http: `
    ${style.http}
    log_format by_worker '$pid $status $arg_probe';
    js_preload_object test_consumers from \${PREFIX}/consumers.json;
    js_preload_object test_revoked from \${PREFIX}/revoked.json;
  `,
  accessLogFormat: 'by_worker',
  server: `
    set $auth_jwt_consumers test_consumers;
    set $auth_jwt_revocation_list test_revoked;
    ${style.locations}
    location /api/ {
        include \${ROOT}/nginx/jwt-auth-request.conf;
        proxy_pass http://echo_upstream;
    }
  `,
});

const { it, g } = gatewayPerFile(
  () => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': CONSUMERS, 'revoked.json': '{"jti": []}' } }),
  20000,
);

function lines(file: string, probe: string): string[] {
  return g()
    .readLog(file)
    .split('\n')
    .filter((line) => line.endsWith(' ' + probe));
}

async function burst(jwt: string, probe: string, count: number): Promise<number[]> {
  const replies = await Promise.all(Array.from({ length: count }, () => g().get('/api/x?probe=' + probe, { Authorization: 'Bearer ' + jwt })));
  return replies.map((reply) => reply.status);
}

it('60 parallel requests with one token all pass; then each worker answers it from its cache; after a revoking reload none does', async () => {
  const jti = unique('jti');
  const jwt = await new SignJWT({ key: 'dave-key', jti, exp: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  expect(new Set(await burst(jwt, unique('burst'), 60))).toEqual(new Set([200]));

  // One after the other: each worker verifies at most once more (if the burst never reached it).
  const probe = unique('after');
  for (let i = 0; i < 20; i++) expect((await g().get('/api/x?probe=' + probe, { Authorization: 'Bearer ' + jwt })).status).toBe(200);
  await g().logLine('access.log', probe);
  expect(lines('verifier.log', probe).length).toBeLessThanOrEqual(2);

  // Revoked and reloaded: no worker answers from what it cached before, and the denials come at once.
  expect(await g().nginx.reload({ 'revoked.json': JSON.stringify({ jti: [jti] }) })).toBe(true);
  const started = Date.now();
  expect(new Set(await burst(jwt, unique('revoked'), 60))).toEqual(new Set([401]));
  expect(Date.now() - started).toBeLessThan(2000);
});

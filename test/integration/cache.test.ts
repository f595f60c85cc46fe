/**
 * The rules of the verification cache (cached auth_request style), seen from
 * outside: what the client gets, and how often the verifier server was asked
 * (its access log, one line per verification). Every rule that must deny is
 * run both ways, with the cache (/api/) and with `$auth_jwt_cache off`
 * (/nocache/): the answers must be the same, only the verifier's work differs.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now, tampered, unique } from '../support/gateway';

const SECRET = 'cache-test-secret-0123456789abcdefghijklmnop';
const consumers = (withDave: boolean) =>
  JSON.stringify({
    consumers: [
      ...(withDave ? [{ username: 'dave', credentials: [{ id: 'cred-dave', key: 'dave-key', secret: SECRET }] }] : []),
      { username: 'erin', credentials: [{ key: 'erin-key', secret: SECRET }] },
      { username: 'guest', credentials: [] },
    ],
  });
const denyList = (jti: string[]) => JSON.stringify({ jti });

/**
 * Small on purpose: the last test floods it to show it stays bounded. A full
 * keys_zone makes the worker itself drop the least recently used entries
 * (and their files) at once; max_size is enforced later by the cache manager.
 */
const CACHE_SIZE = 'keys_zone=jwt_cache:16k max_size=10m inactive=10m';
const style = authRequestStyle('cached', CACHE_SIZE);
/** More than a 16k keys_zone holds (measured: 63 entries), far fewer than the 400 tokens sent. */
const BOUND = 100;

const location = (name: string, settings: string[]) =>
  [
    `location /${name}/ {`,
    ...settings.map((line) => '    ' + line),
    '    include ${ROOT}/nginx/jwt-auth-request.conf;',
    '    proxy_pass http://echo_upstream;',
    '}',
  ].join('\n');

const CONFIG = gatewayConfig({
  http: `
    large_client_header_buffers 4 32k;
    ${style.http}
    js_preload_object test_consumers from \${PREFIX}/consumers.json;
    js_preload_object test_revoked from \${PREFIX}/revoked.json;
  `,
  server: [
    `
    set $auth_jwt_consumers test_consumers;
    set $auth_jwt_revocation_list test_revoked;
    ${style.locations}
    `,
    location('api', []),
    location('nocache', ['set $auth_jwt_cache off;']),
    location('strict', ['set $auth_jwt_issuers https://idp.example.com;']),
    location('short', ['set $auth_jwt_cache_max_age 1;']),
    location('badage', ['set $auth_jwt_cache_max_age 5m;']),
    location('xtoken', ['set $auth_jwt_header X-Token;']),
    location('anon', ['set $auth_jwt_anonymous_consumer guest;']),
  ],
});

const { it, g } = gatewayPerFile(
  () => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': consumers(true), 'revoked.json': denyList([]) } }),
  20000,
);

function token(claims: { [name: string]: unknown }): Promise<string> {
  return new SignJWT({ key: 'dave-key', exp: now() + 600, jti: unique('jti'), ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(SECRET));
}

/** How many times the verifier server was asked about requests carrying this probe. */
function verifications(probe: string): number {
  return g()
    .readLog('verifier.log')
    .split('\n')
    .filter((line) => line.endsWith(' ' + probe)).length;
}

/** The path with a `probe` query argument, which the verifier's log shows (it gets no client header but the token's). */
function probed(where: string, probe: string): string {
  return where + (where.includes('?') ? '&' : '?') + 'probe=' + probe;
}

/** Sends the token `times` times with a probe; returns the statuses. */
async function send(where: string, jwt: string, probe: string, times = 1, header = 'Authorization'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await g().get(probed(where, probe), { [header]: 'Bearer ' + jwt })).status);
  return statuses;
}

async function waitUntil(unixSeconds: number): Promise<void> {
  const ms = unixSeconds * 1000 - Date.now();
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms + 50));
}

describe('what is cached', () => {
  it('a reused token is verified once, and passes with its identity every time', async () => {
    const probe = unique('reuse');
    const jwt = await token({});
    for (let i = 0; i < 5; i++) {
      const echo = await g().echo(probed('/api/x', probe), { Authorization: 'Bearer ' + jwt });
      expect(echo.headers['X-Consumer-Username']).toBe('dave');
      expect(echo.headers['X-Credential-Identifier']).toBe('cred-dave');
    }
    expect(verifications(probe)).toBe(1);
  });

  it('with $auth_jwt_cache off every request is verified', async () => {
    const probe = unique('off');
    expect(await send('/nocache/x', await token({}), probe, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(verifications(probe)).toBe(5);
  });

  it('denials are not stored: a bad token is verified and refused each time', async () => {
    const probe = unique('bad');
    const jwt = tampered(await token({}));
    expect(await send('/api/x', jwt, probe, 3)).toEqual([401, 401, 401]);
    expect(verifications(probe)).toBe(3);
  });

  it('anonymous passes are not stored', async () => {
    const probe = unique('anon');
    for (let i = 0; i < 3; i++) expect((await g().echo(probed('/anon/x', probe))).headers['X-Anonymous-Consumer']).toBe('true');
    expect(verifications(probe)).toBe(3);
  });

  it('a token from a custom header (X-Token) is in the key: reused, it is verified once; another token there is judged on its own', async () => {
    const probe = unique('xtoken');
    const jwt = await token({});
    expect(await send('/xtoken/x', jwt, probe, 3, 'X-Token')).toEqual([200, 200, 200]);
    expect(verifications(probe)).toBe(1);
    const forged = tampered(jwt);
    expectRejected(await g().get(probed('/xtoken/x', probe), { 'X-Token': forged }), MESSAGES.verifyFailed);
    expect(verifications(probe)).toBe(2);
    // The same token in Authorization does not count for this location, cached or not.
    expectRejected(await g().get(probed('/xtoken/x', probe), { Authorization: 'Bearer ' + jwt }), MESSAGES.missing, { tokenSent: false });
  });

  it('the query and the cookie are part of the key: another token there is verified, not served from the cache', async () => {
    const probe = unique('places');
    const good = await token({});
    const forged = tampered(good);
    expect(await send('/api/x?jwt=' + good, good, probe, 2)).toEqual([200, 200]);
    expect(verifications(probe)).toBe(1);
    expectRejected(await g().get('/api/x?jwt=' + forged, { Authorization: 'Bearer ' + good }), MESSAGES.multiple);
    expectRejected(await g().get('/api/x', { Authorization: 'Bearer ' + good, Cookie: 'jwt=' + forged }), MESSAGES.multiple);
  });

  it('a request with over 16,000 bytes of cookies is verified without the cache, and nginx logs no error', async () => {
    const probe = unique('long');
    const jwt = await token({});
    for (let i = 0; i < 2; i++) {
      expect((await g().get(probed('/api/x', probe), { Authorization: 'Bearer ' + jwt, Cookie: 'big=' + 'x'.repeat(17000) })).status).toBe(200);
    }
    expect(verifications(probe)).toBe(2);
    expect(g().nginx.errorLog()).not.toMatch(/\[error\]/);
  });

  it('a malformed $auth_jwt_cache_max_age is a config error: denied, and the log names the setting', async () => {
    // A config error stops before the token is looked at, so the challenge carries no error code.
    expectRejected(await g().get('/badage/x', { Authorization: 'Bearer ' + (await token({})) }), MESSAGES.verifyFailed, { tokenSent: false });
    await g().logLine('error.log', 'config error: $auth_jwt_cache_max_age: must be a whole number, got "5m"');
  });

  it('entries of one location never answer for another with other settings', async () => {
    const probe = unique('settings');
    const jwt = await token({});
    expect(await send('/api/x', jwt, probe, 2)).toEqual([200, 200]);
    expectRejected(await g().get('/strict/x', { Authorization: 'Bearer ' + jwt }), MESSAGES.verifyFailed);
    const issued = await token({ iss: 'https://idp.example.com' });
    expect(await send('/strict/x', issued, probe, 2)).toEqual([200, 200]);
  });

  it('$auth_jwt_cache_max_age bounds an entry in time even when exp is far', async () => {
    const probe = unique('maxage');
    const jwt = await token({});
    expect(await send('/short/x', jwt, probe, 2)).toEqual([200, 200]);
    expect(verifications(probe)).toBe(1);
    await waitUntil(now() + 2);
    expect(await send('/short/x', jwt, probe)).toEqual([200]);
    expect(verifications(probe)).toBe(2);
  });
});

describe.each([
  ['with the cache', '/api/x'],
  ['without the cache', '/nocache/x'],
])('rules that must deny, %s', (_, where) => {
  it('a token is refused from its exp on, even if it was allowed a moment before', async () => {
    const exp = now() + 2;
    const jwt = await token({ exp });
    expect(await send(where, jwt, unique('exp'), 2)).toEqual([200, 200]);
    await waitUntil(exp);
    expectRejected(await g().get(where, { Authorization: 'Bearer ' + jwt }), MESSAGES.verifyFailed);
  });

  it('a token put on the deny list is refused after the reload', async () => {
    const jti = unique('revoked');
    const jwt = await token({ jti });
    expect(await send(where, jwt, unique('deny'), 2)).toEqual([200, 200]);
    expect(await g().nginx.reload({ 'revoked.json': denyList([jti]) })).toBe(true);
    expectRejected(await g().get(where, { Authorization: 'Bearer ' + jwt }), MESSAGES.verifyFailed);
    expect(await g().nginx.reload({ 'revoked.json': denyList([]) })).toBe(true);
  });

  it('a token of a consumer removed from the map is refused after the reload', async () => {
    const jwt = await token({});
    expect(await send(where, jwt, unique('removed'), 2)).toEqual([200, 200]);
    expect(await g().nginx.reload({ 'consumers.json': consumers(false) })).toBe(true);
    expectRejected(await g().get(where, { Authorization: 'Bearer ' + jwt }), MESSAGES.unknownKey);
    expect(await g().nginx.reload({ 'consumers.json': consumers(true) })).toBe(true);
    expect(await send(where, jwt, unique('restored'))).toEqual([200]);
  });
});

describe('the cache stays bounded', () => {
  it('any reload starts a new generation: the next request is verified again', async () => {
    const probe = unique('generation');
    const jwt = await token({});
    expect(await send('/api/x', jwt, probe, 2)).toEqual([200, 200]);
    expect(await g().nginx.reload()).toBe(true);
    expect(await send('/api/x', jwt, probe, 2)).toEqual([200, 200]);
    expect(verifications(probe)).toBe(2);
  });

  it('400 distinct tokens leave only as many entries as the keys_zone holds, and every token still passes', async () => {
    const cacheDir = path.join(g().nginx.prefix, 'jwt-cache');
    const tokens: string[] = [];
    for (let i = 0; i < 400; i++) tokens.push(await token({}));
    for (const jwt of tokens) expect(await send('/api/x', jwt, unique('flood'))).toEqual([200]);
    const files = listFiles(cacheDir).length;
    expect(files).toBeGreaterThan(0);
    expect(files).toBeLessThan(BOUND);
    expect(await send('/api/x', tokens[0], unique('evicted'))).toEqual([200]);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

/**
 * Large key sets through real nginx: a 100,000-consumer map as the file
 * `jwt-gateway index` writes, named by path and read by position on every
 * engine (and, where njs loads it fast, the same map preloaded), and a
 * 1,000-key JWK Set, preloaded with its index. nginx starts with them, a
 * credential, anonymous consumer or kid deep in the file is found (the
 * identity reaches the upstream), an index entry that no longer matches the
 * document finds nothing, and a file replaced without a reload is read anew.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { indexDocument, indexedText } from '../../cli/index';
import { repointed } from '../support/index-documents';
import { authLocation, engine, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now } from '../support/gateway';

const CONSUMERS = 100000;
const KEYS = 1000;
/** At least 32 bytes, as HS256 requires (RFC 7518 3.2). */
const secretOf = (i: number) => 'secret-' + i + '-' + randomBytes(12).toString('hex');

const consumerSecrets: string[] = [];
const consumers = {
  consumers: Array.from({ length: CONSUMERS }, (_, i) => {
    consumerSecrets.push(secretOf(i));
    return { username: 'user-' + i, labels: { custom_id: 'c' + i }, credentials: [{ id: 'cred-' + i, key: 'key-' + i, secret: consumerSecrets[i] }] };
  }),
};
/** Past the numbered ones: a key and a kid outside ASCII and the BMP (njs and Node see such strings differently). */
const UNICODE_KEY = 'cl\u00e9-\u{1F511}';
const unicodeSecret = secretOf(CONSUMERS);
consumers.consumers.push({ username: 'unicode', labels: { custom_id: 'u' }, credentials: [{ id: 'cred-unicode', key: UNICODE_KEY, secret: unicodeSecret }] });
const keySecrets = Array.from({ length: KEYS + 1 }, () => randomBytes(32));
const jwks = { keys: keySecrets.map((k, i) => ({ kty: 'oct', kid: i < KEYS ? 'kid-' + i : UNICODE_KEY, alg: 'HS256', k: k.toString('base64url') })) };

/**
 * The file `jwt-gateway index` writes, with one entry pointed at the wrong place
 * (a hand edit of a slot, so the layout still holds): key-7 at consumer 8.
 */
function handEdited(document: object): string {
  const parsed = JSON.parse(indexedText(document));
  parsed.index = repointed(parsed.index, 'keys', [7, 0], [8, 0]);
  return JSON.stringify(parsed) + '\n';
}
/** kid-7 at position 8. */
const indexedJwks = indexDocument(jwks) as { index: object };
indexedJwks.index = repointed(indexedJwks.index, 'kids', [7], [8]);

/**
 * njs >= 0.8 (classic) needs 30-50 s to load a js_preload_object of this size: there
 * the map is only read by position, elsewhere preloaded too (QuickJS has none,
 * so there the preloaded locations read the same file by path).
 */
const PRELOAD = !engine().features.slowPreload;
const consumerLocations = (prefix: string, consumers: string) => [
  authLocation(prefix + 'consumers/', ['set $auth_jwt_consumers ' + consumers + ';']),
  authLocation(prefix + 'anonymous/', ['set $auth_jwt_consumers ' + consumers + ';', 'set $auth_jwt_anonymous_consumer user-99998;']),
];

const CONFIG = gatewayConfig({
  http: `
    ${PRELOAD ? 'js_preload_object big_consumers from ${PREFIX}/consumers.json;' : ''}
    js_preload_object big_jwks from \${PREFIX}/jwks.json;
  `,
  server: [
    ...consumerLocations('/', '${PREFIX}/consumers.json'),
    ...(PRELOAD ? consumerLocations('/preloaded/', 'big_consumers') : []),
    authLocation('/jwks/', ['set $auth_jwt_key_file big_jwks;']),
  ],
});

const { it, g } = gatewayPerFile(() => ({
  config: CONFIG,
  ports: ['PORT', 'ECHO_PORT'],
  files: { 'consumers.json': handEdited(consumers), 'jwks.json': JSON.stringify(indexedJwks) },
}));

/** The routes that read the map: by position, and preloaded where that is fast. */
const MAP_ROUTES = PRELOAD ? ['/', '/preloaded/'] : ['/'];

function token(claims: object, secret: string | Uint8Array, header: object = {}): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

describe.each(MAP_ROUTES)('100,000 consumers with an index (%s)', (route) => {
  it('a credential deep in the file identifies its consumer', async () => {
    const last = CONSUMERS - 1;
    const echo = await g().echo(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-' + last }, consumerSecrets[last])) });
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Credential-Identifier'], echo.headers['X-Consumer-Custom-Id']]).toEqual([
      'user-' + last,
      'cred-' + last,
      'c' + last,
    ]);
  });

  it('an index entry that points elsewhere finds nothing, even with the secret of the entry it points at', async () => {
    expectRejected(
      await g().get(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[7])) }),
      MESSAGES.unknownKey,
    );
    expectRejected(
      await g().get(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[8])) }),
      MESSAGES.unknownKey,
    );
    // The log names the map: the preloaded object, or the file (on QuickJS, which has no js_preload_object, for both routes).
    const origin = route !== '/' && engine().features.preloadObject ? 'js_preload_object big_consumers' : g().nginx.prefix + '/consumers.json';
    const line = await g().logLine('error.log', 'jwt-gateway: rejected 401 CREDENTIAL_UNKNOWN: no credential with key "key-7" in ' + origin);
    expect(line).toContain(origin);
    // its neighbours are untouched
    const echo = await g().echo(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-8' }, consumerSecrets[8])) });
    expect(echo.headers['X-Consumer-Username']).toBe('user-8');
  });

  it('a key outside ASCII and the BMP is found', async () => {
    const echo = await g().echo(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: UNICODE_KEY }, unicodeSecret)) });
    expect(echo.headers['X-Consumer-Username']).toBe('unicode');
  });

  it('the anonymous consumer is found by username near the end of the file', async () => {
    const echo = await g().echo(route + 'anonymous/x');
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Consumer-Custom-Id'], echo.headers['X-Anonymous-Consumer']]).toEqual([
      'user-99998',
      'c99998',
      'true',
    ]);
  });

  it('a key the index does not know is unknown', async () => {
    expectRejected(await g().get(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: '__proto__' }, 'x')) }), MESSAGES.unknownKey);
  });
});

describe('a JWK Set of 1,000 keys with an index', () => {
  it('the last kid verifies', async () => {
    const last = KEYS - 1;
    expect((await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[last], { kid: 'kid-' + last })) })).status).toBe(200);
  });

  it('a kid outside ASCII and the BMP verifies', async () => {
    expect((await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[KEYS], { kid: UNICODE_KEY })) })).status).toBe(200);
  });

  it('a token without a kid is tried against the first keys only', async () => {
    expect((await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[3])) })).status).toBe(200);
    expectRejected(await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[KEYS - 1])) }), MESSAGES.verifyFailed);
  });

  it('a kid whose index entry points elsewhere finds no key', async () => {
    expectRejected(
      await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[7], { kid: 'kid-7' })) }),
      MESSAGES.verifyFailed,
    );
    expectRejected(
      await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[8], { kid: 'kid-7' })) }),
      MESSAGES.verifyFailed,
    );
  });
});

describe('changing the large map', () => {
  const rotated = 'rotated-' + randomBytes(16).toString('hex');
  const changed = {
    consumers: consumers.consumers.map((c, i) => (i === 50000 ? { ...c, credentials: [{ id: 'cred-50000b', key: 'key-50000b', secret: rotated }] } : c)),
  };
  const expectChanged = async (route: string) => {
    const echo = await g().echo(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-50000b' }, rotated)) });
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Credential-Identifier']]).toEqual(['user-50000', 'cred-50000b']);
    expectRejected(
      await g().get(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-50000' }, consumerSecrets[50000])) }),
      MESSAGES.unknownKey,
    );
    // key-7 is indexed correctly again
    const seven = await g().echo(route + 'consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[7])) });
    expect(seven.headers['X-Consumer-Username']).toBe('user-7');
  };

  it('a file read by position and replaced without a reload is read anew at once', async () => {
    const file = path.join(g().nginx.prefix, 'consumers.json');
    // Warm the worker (on QuickJS its context) with the old file first.
    expect((await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-50000' }, consumerSecrets[50000])) })).status).toBe(200);
    writeFileSync(file + '.new', indexedText(changed));
    renameSync(file + '.new', file);
    for (let i = 0; i < 3; i++) await expectChanged('/');
  });

  it('a file edited after indexing (no longer its recorded size) still verifies: it is read whole, not by position', async () => {
    const file = path.join(g().nginx.prefix, 'consumers.json');
    writeFileSync(file + '.new', indexedText(changed) + ' \n');
    renameSync(file + '.new', file);
    await expectChanged('/');
  });

  it('after index and reload, a changed credential works and its old key is refused', async () => {
    expect(await g().nginx.reload({ 'consumers.json': indexedText(changed) })).toBe(true);
    for (const route of MAP_ROUTES) await expectChanged(route);
  });
});

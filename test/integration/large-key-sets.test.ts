/**
 * Large key sets through real nginx: a 100,000-consumer map and a 1,000-key
 * JWK Set, preloaded with the index `jwt-gateway index` writes. nginx starts
 * with them, a credential, anonymous consumer or kid deep in the file is found
 * (the identity reaches the upstream), and an index entry that no longer
 * matches the document finds nothing.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { indexDocument } from '../../cli/index';
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

/** Indexed, then one entry pointed at the wrong place (a hand edit): key-7 at consumer 8, kid-7 at position 8. */
const indexedConsumers = indexDocument(consumers) as { index: object };
indexedConsumers.index = repointed(indexedConsumers.index, 'keys', [7, 0], [8, 0]);
const indexedJwks = indexDocument(jwks) as { index: object };
indexedJwks.index = repointed(indexedJwks.index, 'kids', [7], [8]);

const CONFIG = gatewayConfig({
  http: `
    js_preload_object big_consumers from \${PREFIX}/consumers.json;
    js_preload_object big_jwks from \${PREFIX}/jwks.json;
  `,
  server: [
    authLocation('/consumers/', ['set $auth_jwt_consumers big_consumers;']),
    authLocation('/anonymous/', ['set $auth_jwt_consumers big_consumers;', 'set $auth_jwt_anonymous_consumer user-99998;']),
    authLocation('/jwks/', ['set $auth_jwt_key_file big_jwks;']),
  ],
});

/**
 * njs >= 0.8 loads a js_preload_object of this size in 30-40 s (0.6 s on 0.7.9),
 * at start and at every reload: there nginx gets that long, elsewhere the usual limits.
 */
const LOAD_MS = engine().features.slowPreload ? 150000 : undefined;

const { it, g } = gatewayPerFile(
  () => ({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'consumers.json': JSON.stringify(indexedConsumers), 'jwks.json': JSON.stringify(indexedJwks) },
    startTimeoutMs: LOAD_MS,
    reloadTimeoutMs: LOAD_MS,
  }),
  LOAD_MS ? LOAD_MS + 30000 : 30000,
);

function token(claims: object, secret: string | Uint8Array, header: object = {}): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

describe('100,000 consumers with an index', () => {
  it('a credential deep in the file identifies its consumer', async () => {
    const last = CONSUMERS - 1;
    const echo = await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-' + last }, consumerSecrets[last])) });
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Credential-Identifier'], echo.headers['X-Consumer-Custom-Id']]).toEqual([
      'user-' + last,
      'cred-' + last,
      'c' + last,
    ]);
  });

  it('an index entry that points elsewhere finds nothing, even with the secret of the entry it points at', async () => {
    expectRejected(await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[7])) }), MESSAGES.unknownKey);
    expectRejected(await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[8])) }), MESSAGES.unknownKey);
    // The log names the map: the preloaded object, or on QuickJS (no js_preload_object) the file the settings name instead.
    const origin = engine().features.preloadObject ? 'js_preload_object big_consumers' : g().nginx.prefix + '/consumers.json';
    expect(await g().logLine('error.log', 'jwt-gateway: rejected 401 CREDENTIAL_UNKNOWN: no credential with key "key-7"')).toContain(origin);
    // its neighbours are untouched
    const echo = await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-8' }, consumerSecrets[8])) });
    expect(echo.headers['X-Consumer-Username']).toBe('user-8');
  });

  it('a key outside ASCII and the BMP is found', async () => {
    const echo = await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: UNICODE_KEY }, unicodeSecret)) });
    expect(echo.headers['X-Consumer-Username']).toBe('unicode');
  });

  it('the anonymous consumer is found by username near the end of the file', async () => {
    const echo = await g().echo('/anonymous/x');
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Consumer-Custom-Id'], echo.headers['X-Anonymous-Consumer']]).toEqual([
      'user-99998',
      'c99998',
      'true',
    ]);
  });

  it('a key the index does not know is unknown', async () => {
    expectRejected(await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: '__proto__' }, 'x')) }), MESSAGES.unknownKey);
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
  it('after index and reload, a changed credential works and its old key is refused', async () => {
    const rotated = 'rotated-' + randomBytes(16).toString('hex');
    const changed = {
      consumers: consumers.consumers.map((c, i) => (i === 50000 ? { ...c, credentials: [{ id: 'cred-50000b', key: 'key-50000b', secret: rotated }] } : c)),
    };
    expect(await g().nginx.reload({ 'consumers.json': JSON.stringify(indexDocument(changed)) })).toBe(true);
    const echo = await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-50000b' }, rotated)) });
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Credential-Identifier']]).toEqual(['user-50000', 'cred-50000b']);
    expectRejected(
      await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-50000' }, consumerSecrets[50000])) }),
      MESSAGES.unknownKey,
    );
    // key-7 is indexed correctly again
    expect(
      (await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[7])) })).headers['X-Consumer-Username'],
    ).toBe('user-7');
  });
});

/**
 * Large key sets through real nginx: a 100,000-consumer map and a 1,000-key
 * JWK Set, preloaded with the index `jwt-gateway index` writes. A credential
 * or kid deep in the file is found (the identity reaches the upstream), and
 * an index entry that no longer matches the document finds nothing.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { indexDocument } from '../../build/cli/index';
import { authLocation, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now } from './helpers';

const CONSUMERS = 100000;
const KEYS = 1000;
const secretOf = (i: number) => 'secret-' + i + '-' + randomBytes(4).toString('hex');

const consumerSecrets: string[] = [];
const consumers = {
  consumers: Array.from({ length: CONSUMERS }, (_, i) => {
    consumerSecrets.push(secretOf(i));
    return { username: 'user-' + i, labels: { custom_id: 'c' + i }, credentials: [{ id: 'cred-' + i, key: 'key-' + i, secret: consumerSecrets[i] }] };
  }),
};
const keySecrets = Array.from({ length: KEYS }, (_, i) => randomBytes(32));
const jwks = { keys: keySecrets.map((k, i) => ({ kty: 'oct', kid: 'kid-' + i, alg: 'HS256', k: k.toString('base64url') })) };

/** Indexed, then one entry pointed at the wrong place: key-7 at consumer 8, kid-7 at position 8. */
const indexedConsumers = indexDocument(consumers) as { index: { keys: { [key: string]: number[] } } };
indexedConsumers.index.keys['#key-7'] = [8, 0];
const indexedJwks = indexDocument(jwks) as { index: { kids: { [kid: string]: number[] } } };
indexedJwks.index.kids['#kid-7'] = [8];

const CONFIG = gatewayConfig({
  http: `
    js_preload_object big_consumers from \${PREFIX}/consumers.json;
    js_preload_object big_jwks from \${PREFIX}/jwks.json;
  `,
  server: [authLocation('/consumers/', ['set $auth_jwt_consumers big_consumers;']), authLocation('/jwks/', ['set $auth_jwt_key_file big_jwks;'])],
});

const { it, g } = gatewayPerFile(
  () => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': JSON.stringify(indexedConsumers), 'jwks.json': JSON.stringify(indexedJwks) } }),
  30000,
);

function token(claims: object, secret: string | Uint8Array, header: object = {}): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', ...header }).sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

describe('100,000 consumers with an index', () => {
  it('the last credential of the file identifies its consumer', async () => {
    const last = CONSUMERS - 1;
    const echo = await g().echo('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-' + last }, consumerSecrets[last])) });
    expect([echo.headers['X-Consumer-Username'], echo.headers['X-Credential-Identifier'], echo.headers['X-Consumer-Custom-Id']]).toEqual(['user-' + last, 'cred-' + last, 'c' + last]);
  });

  it('an index entry that points elsewhere finds nothing, even with the secret of the entry it points at', async () => {
    expectRejected(await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[7])) }), MESSAGES.unknownKey);
    expectRejected(await g().get('/consumers/x', { Authorization: 'Bearer ' + (await token({ key: 'key-7' }, consumerSecrets[8])) }), MESSAGES.unknownKey);
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

  it('a kid whose index entry points elsewhere finds no key', async () => {
    expectRejected(await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[7], { kid: 'kid-7' })) }), MESSAGES.verifyFailed);
    expectRejected(await g().get('/jwks/x', { Authorization: 'Bearer ' + (await token({ sub: 's' }, keySecrets[8], { kid: 'kid-7' })) }), MESSAGES.verifyFailed);
  });
});

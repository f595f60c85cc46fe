/**
 * Revoking a kid revokes the key (finding F7): a token verified by a key
 * whose kid is on the deny list, or in the run-time zone, is refused whatever
 * its header says, also when it has no kid at all (a JWK Set then tries its
 * keys by alg) or names its credential by a `kid` claim in the payload.
 * Tokens come from jose; the core and the nginx adapter are the code under test.
 */
import { SignJWT } from 'jose';
import { authenticate, Verified } from '../../njs/core/authenticate';
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { KeySource } from '../../njs/core/keys/types';
import { revokedBy } from '../../njs/core/revocation';
import { JsonObject } from '../../njs/core/strict-json';
import { revocation } from '../../njs/nginx/revocation';
import { Settings } from '../../njs/nginx/settings';
import { b64u, bytes, CAPS, expectOk, JACK, jackConsumer, NOW, policy } from './helpers';

const ORIGIN = '/etc/nginx/keys.json';
const K1 = 'k1-secret-of-the-first-key-0123456789';
const K2 = 'k2-secret-of-the-second-key-0123456789';
const JWKS = { keys: [{ kty: 'oct', kid: 'k1', alg: 'HS256', k: b64u(K1) }, { kty: 'oct', kid: 'k2', alg: 'HS256', k: b64u(K2) }] };

function hs256(secret: string, header: JsonObject = {}, payload: JsonObject = { sub: 'alice', jti: 'j-1' }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(bytes(secret));
}

async function verify(token: string, source: KeySource, keyClaim = 'key'): Promise<Verified> {
  return expectOk(await authenticate(token, source, policy({ keyClaim }), NOW));
}

describe('the verified result names the key that verified', () => {
  const source = jwksSource(JWKS, ORIGIN, CAPS);

  test('by its JWK kid, with or without a kid in the header', async () => {
    expect((await verify(await hs256(K1, { kid: 'k1' }), source)).kid).toBe('k1');
    expect((await verify(await hs256(K1), source)).kid).toBe('k1');
    expect((await verify(await hs256(K2), source)).kid).toBe('k2');
  });

  test('a JWK without kid leaves it unset', async () => {
    const anonymousKey = jwksSource({ keys: [{ kty: 'oct', k: b64u(K1) }] }, ORIGIN, CAPS);
    expect((await verify(await hs256(K1), anonymousKey)).kid).toBeUndefined();
  });

  test('a consumer credential found by a kid claim has that kid, header or payload; by another claim none', async () => {
    const map = consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS);
    expect((await verify(await hs256(JACK.secret, { kid: JACK.key }, { sub: 'x' }), map, 'kid')).kid).toBe(JACK.key);
    expect((await verify(await hs256(JACK.secret, {}, { kid: JACK.key }), map, 'kid')).kid).toBe(JACK.key);
    expect((await verify(await hs256(JACK.secret, {}, { key: JACK.key }), map)).kid).toBeUndefined();
  });
});

describe('revokedBy (deny list)', () => {
  const subject = (header: JsonObject, kid?: string, payload: JsonObject = { sub: 'alice', jti: 'j-1' }) => ({ header, payload, kid });

  test.each([
    ['an array', { kid: ['k1'] }],
    ['an object', { kid: { k1: 'leaked 2026-11' } }],
  ])('a kid in %s revokes the key that verified, whatever the header says', (_form, list) => {
    expect(revokedBy(list, subject({ alg: 'HS256' }, 'k1'))).toBe('kid "k1" (of the key that verified the token)');
    expect(revokedBy(list, subject({ alg: 'HS256', kid: 'k1' }, 'k1'))).toBe('kid "k1"');
    expect(revokedBy(list, subject({ alg: 'HS256', kid: 'k1' }))).toBe('kid "k1"');
    expect(revokedBy(list, subject({ alg: 'HS256' }, 'k2'))).toBeNull();
    expect(revokedBy(list, subject({ alg: 'HS256', kid: 'k2' }, 'k2'))).toBeNull();
  });

  test('jti and sub still revoke, before the kid', () => {
    expect(revokedBy({ jti: ['j-1'], kid: ['k1'] }, subject({}, 'k1'))).toBe('jti "j-1"');
    expect(revokedBy({ sub: ['alice'], kid: ['k1'] }, subject({}, 'k1'))).toBe('sub "alice"');
    expect(revokedBy({ jti: ['other'] }, subject({}, 'k1'))).toBeNull();
  });

  test.each([[null], ['kid'], [[]], [{ kid: 'k1' }], [{ kid: null }]])('a deny list like %j revokes nothing and never throws', (list) => {
    expect(revokedBy(list, subject({ kid: 'k1' }, 'k1'))).toBeNull();
  });

  test('a kid named like an Object.prototype member is a plain name', () => {
    expect(revokedBy({ kid: {} }, subject({}, 'constructor'))).toBeNull();
    expect(revokedBy({ kid: { constructor: 1 } }, subject({}, 'constructor'))).toBe('kid "constructor" (of the key that verified the token)');
  });
});

/** A js_shared_dict_zone as njs >= 0.8.0 exposes it in ngx.shared. */
function fakeZone(entries: { [key: string]: string }) {
  return { get: (key: string) => entries[key], set: (key: string, value: string) => (entries[key] = value) };
}

describe('revocation() in the nginx adapter: deny list and run-time zone', () => {
  const globals = globalThis as unknown as { [name: string]: unknown };
  const settings = (fields: Partial<Settings>) => ({ revocationList: '', revocationZone: '', ...fields }) as Settings;
  let withoutKid: Verified;
  let viaPayloadKid: Verified;

  beforeAll(async () => {
    withoutKid = await verify(await hs256(K1), jwksSource(JWKS, ORIGIN, CAPS));
    viaPayloadKid = await verify(await hs256(JACK.secret, {}, { kid: JACK.key }), consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS), 'kid');
    globals.revoked_keys = { kid: ['k1', JACK.key] };
    globals.ngx = { shared: { jwt_revoked: fakeZone({ 'kid:k1': 'revoked', ['kid:' + JACK.key]: 'revoked' }), empty: fakeZone({}) } };
  });

  afterAll(() => {
    delete globals.revoked_keys;
    delete globals.ngx;
  });

  test('a deny list (js_preload_object) revokes the key of a token without a kid header', () => {
    expect(revocation(settings({ revocationList: 'revoked_keys' }), withoutKid)).toEqual({
      revoked: 'kid "k1" (of the key that verified the token) is on the deny list js_preload_object revoked_keys',
    });
    expect(revocation(settings({ revocationList: 'revoked_keys' }), viaPayloadKid)).toEqual({
      revoked: 'kid "jack-key" (of the key that verified the token) is on the deny list js_preload_object revoked_keys',
    });
  });

  test('the run-time zone revokes it too', () => {
    expect(revocation(settings({ revocationZone: 'jwt_revoked' }), withoutKid)).toEqual({ revoked: 'kid "k1" (of the key that verified the token) is revoked in zone jwt_revoked' });
    expect(revocation(settings({ revocationZone: 'jwt_revoked' }), viaPayloadKid)).toEqual({ revoked: 'kid "jack-key" (of the key that verified the token) is revoked in zone jwt_revoked' });
    expect(revocation(settings({ revocationZone: 'empty' }), withoutKid)).toEqual({ revoked: '' });
  });

  test('jti and sub in the zone, and a missing zone is a config error', () => {
    globals.ngx = { shared: { z: fakeZone({ 'jti:j-1': 'revoked' }) } };
    expect(revocation(settings({ revocationZone: 'z' }), withoutKid)).toEqual({ revoked: 'jti "j-1" is revoked in zone z' });
    expect(revocation(settings({ revocationZone: 'nope' }), withoutKid)).toEqual({ error: expect.stringMatching(/no js_shared_dict_zone "nope"/) });
  });
});

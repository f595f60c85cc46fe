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
import { revokedBy, revokedInStore } from '../../njs/core/revocation';
import { JsonObject } from '../../njs/core/strict-json';
import { b64u, bytes, CAPS, expectOk, JACK, jackConsumer, NOW, policy } from '../support/core';

const ORIGIN = '/etc/nginx/keys.json';
const K1 = 'k1-secret-of-the-first-key-0123456789';
const K2 = 'k2-secret-of-the-second-key-0123456789';
const JWKS = {
  keys: [
    { kty: 'oct', kid: 'k1', alg: 'HS256', k: b64u(K1) },
    { kty: 'oct', kid: 'k2', alg: 'HS256', k: b64u(K2) },
  ],
};

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

/** A js_shared_dict_zone as njs >= 0.8.0 exposes it in ngx.shared (the adapter hands it to the core as is). */
function fakeZone(entries: { [key: string]: string }) {
  return { get: (key: string) => entries[key] };
}

describe('revokedInStore (the run-time zone)', () => {
  let withoutKid: Verified;
  let viaPayloadKid: Verified;

  beforeAll(async () => {
    withoutKid = await verify(await hs256(K1), jwksSource(JWKS, ORIGIN, CAPS));
    viaPayloadKid = await verify(await hs256(JACK.secret, {}, { kid: JACK.key }), consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS), 'kid');
  });

  test('a kid in the zone revokes the key of a token without a kid header', () => {
    const zone = fakeZone({ 'kid:k1': 'revoked', ['kid:' + JACK.key]: 'revoked' });
    expect(revokedInStore(zone, withoutKid)).toBe('kid "k1" (of the key that verified the token)');
    expect(revokedInStore(zone, viaPayloadKid)).toBe('kid "jack-key" (of the key that verified the token)');
    expect(revokedInStore(fakeZone({ 'kid:k2': 'revoked' }), withoutKid)).toBeNull();
  });

  test('the deny list agrees on the same tokens', () => {
    expect(revokedBy({ kid: ['k1'] }, withoutKid)).toBe('kid "k1" (of the key that verified the token)');
    expect(revokedBy({ kid: [JACK.key] }, viaPayloadKid)).toBe('kid "jack-key" (of the key that verified the token)');
  });

  test('jti, sub and the header kid in the zone, in that order', () => {
    expect(revokedInStore(fakeZone({ 'jti:j-1': 'r', 'kid:k1': 'r' }), withoutKid)).toBe('jti "j-1"');
    expect(revokedInStore(fakeZone({ 'sub:alice': 'r', 'kid:k1': 'r' }), withoutKid)).toBe('sub "alice"');
    expect(revokedInStore(fakeZone({ 'kid:k1': 'r' }), { header: { kid: 'k1' }, payload: {} })).toBe('kid "k1"');
    expect(revokedInStore(fakeZone({}), withoutKid)).toBeNull();
  });
});

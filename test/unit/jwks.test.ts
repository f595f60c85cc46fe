import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { algorithmNames, findAlgorithm } from '../../njs/core/algorithms';
import { authenticate } from '../../njs/core/authenticate';
import { describeProblems, isProblem, Problem } from '../../njs/core/errors';
import { jwkSetProblems } from '../../cli/check-jwks';
import { indexDocument } from '../../cli/index';
import { buildTable, HashTable, INDEX_HASH } from '../../njs/core/keys/hash-index';
import { jwksSource, MAX_KEYS_TRIED } from '../../njs/core/keys/jwks';
import { KeyMatch } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { b64u, bytes, CAPS, CAPS_NO_ED25519, configProblemAt, expectFailure, expectOk, notAnIndex, NOW, policy, publicJwk, spkiHex } from '../support/core';
import { checkedJwks, counted, indexProblemsOf, preloaded, repointed, tableEntries } from '../support/index-documents';

const b64uHex = (secret: string) => Buffer.from(secret).toString('hex');

const ORIGIN = '/etc/nginx/keys.json';
const rsaA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed25519 = generateKeyPairSync('ed25519');

/** A secret long enough for HS256 (RFC 7518 3.2: at least 32 bytes), named for the test. */
const S = (name: string) => name + '-a-shared-secret-of-at-least-32-bytes';
/** 64 bytes: long enough for HS512 too. */
const HMAC64 = 'an-hmac-secret-an-hmac-secret-an-hmac-secret-an-hmac-secret-1234';

function octJwk(secret: string, extra: JsonObject = {}): JsonObject {
  return { kty: 'oct', k: b64u(secret), ...extra };
}

function lookup(document: unknown, header: JsonObject, alg: string): KeyMatch | Problem {
  return jwksSource(document, ORIGIN, CAPS).lookup({ header: { alg, ...header }, payload: {} }, findAlgorithm(alg)!, { keyClaim: 'key' });
}

function match(result: KeyMatch | Problem): KeyMatch {
  if (isProblem(result)) throw new Error('expected keys, got ' + result.code + ': ' + result.detail);
  return result;
}

function materials(result: KeyMatch | Problem): string[] {
  return match(result).keys.map((k) => Buffer.from(k.material).toString('hex'));
}

function hs256(secret: string, header: JsonObject = {}, payload: JsonObject = { sub: 'alice' }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(bytes(secret));
}

describe('jwksSource: lookup by kid', () => {
  const document = { keys: [publicJwk(rsaA.publicKey, { kid: 'a' }), publicJwk(rsaB.publicKey, { kid: 'b' }), publicJwk(p256.publicKey, { kid: 'ec' })] };

  test("returns only the key with the token's kid", () => {
    expect(materials(lookup(document, { kid: 'b' }, 'RS256'))).toEqual([spkiHex(rsaB.publicKey)]);
    expect(materials(lookup(document, { kid: 'a' }, 'PS512'))).toEqual([spkiHex(rsaA.publicKey)]);
  });

  test('an unknown kid is KEY_NOT_FOUND', () => {
    expectFailure(lookup(document, { kid: 'c' }, 'RS256'), 'KEY_NOT_FOUND');
  });

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', '../a', 'A'])('kid %j (not in the set) is KEY_NOT_FOUND, never a crash', (kid) => {
    expectFailure(lookup(document, { kid }, 'RS256'), 'KEY_NOT_FOUND');
  });

  test.each([[1], [null], [['a']], [{ a: 1 }], [true]])('a non-string kid %j is KEY_NOT_FOUND', (kid) => {
    const failure = expectFailure(lookup(document, { kid }, 'RS256'), 'KEY_NOT_FOUND');
    expect(failure.detail).toMatch(/kid is not a string/);
  });

  test('a kid whose key does not fit the alg gives no keys', () => {
    expect(match(lookup(document, { kid: 'ec' }, 'RS256')).keys).toEqual([]);
    expect(match(lookup(document, { kid: 'a' }, 'HS256')).keys).toEqual([]);
  });

  test('two keys of one type under one kid: only the first is used, the other is passed over and logged', async () => {
    const doc = { keys: [octJwk('old-secret-old-secret-old-secret', { kid: 'k' }), octJwk('new-secret-new-secret-new-secret', { kid: 'k' })] };
    const found = match(lookup(doc, { kid: 'k' }, 'HS256'));
    expect(found.keys.map((k) => Buffer.from(k.material).toString())).toEqual(['old-secret-old-secret-old-secret']);
    expect(describeProblems(found.skipped)).toEqual([
      ORIGIN +
        ': keys[1] (kid "k"): field "kid": duplicate kid: keys[0] has it too and also fits HS256, so a token with this kid and alg is checked against keys[0] only (keys may share a kid only when their kty, crv or alg tells them apart)',
    ]);
    const source = checkedJwks(doc, ORIGIN, CAPS);
    expectOk(await authenticate(await hs256('old-secret-old-secret-old-secret', { kid: 'k' }), source, policy(), NOW));
    const refused = expectFailure(
      await authenticate(await hs256('new-secret-new-secret-new-secret', { kid: 'k' }), source, policy(), NOW),
      'SIGNATURE_INVALID',
    );
    expect(refused.detail).toMatch(/does not verify with HS256/);
    // check says the same, naming the later key and every alg both fit
    expect(source.problems()).toEqual([
      configProblemAt(ORIGIN, 'keys[1] (kid "k")', 'kid', expect.stringMatching(/^duplicate kid: keys\[0\] has it too and also fits HS256, HS384, HS512, so/)),
    ]);
  });

  test("keys of different types may share a kid (RFC 7517 4.5): the token's alg picks one, check and lookups agree", () => {
    const doc = {
      keys: [
        publicJwk(p256.publicKey, { kid: 'shared' }),
        publicJwk(rsaA.publicKey, { kid: 'shared' }),
        publicJwk(p384.publicKey, { kid: 'shared' }),
        octJwk(HMAC64, { kid: 'shared' }),
      ],
    };
    expect(jwkSetProblems(doc, ORIGIN, CAPS)).toEqual([]);
    expect(materials(lookup(doc, { kid: 'shared' }, 'ES256'))).toEqual([spkiHex(p256.publicKey)]);
    expect(materials(lookup(doc, { kid: 'shared' }, 'ES384'))).toEqual([spkiHex(p384.publicKey)]);
    expect(materials(lookup(doc, { kid: 'shared' }, 'PS256'))).toEqual([spkiHex(rsaA.publicKey)]);
    expect(materials(lookup(doc, { kid: 'shared' }, 'HS512'))).toEqual([Buffer.from(HMAC64).toString('hex')]);
    for (const alg of ['ES256', 'ES384', 'PS256', 'HS512']) expect(match(lookup(doc, { kid: 'shared' }, alg)).skipped).toEqual([]);
  });

  test('keys of one type that an alg tells apart may share a kid; an RSA key without alg and one with PS256 share PS256', () => {
    const apart = { keys: [publicJwk(rsaA.publicKey, { kid: 'r', alg: 'RS256' }), publicJwk(rsaB.publicKey, { kid: 'r', alg: 'PS256' })] };
    expect(jwkSetProblems(apart, ORIGIN, CAPS)).toEqual([]);
    expect(materials(lookup(apart, { kid: 'r' }, 'PS256'))).toEqual([spkiHex(rsaB.publicKey)]);
    const overlapping = { keys: [publicJwk(rsaA.publicKey, { kid: 'r' }), publicJwk(rsaB.publicKey, { kid: 'r', alg: 'PS256' })] };
    expect(jwkSetProblems(overlapping, ORIGIN, CAPS)).toEqual([
      configProblemAt(ORIGIN, 'keys[1] (kid "r")', 'kid', expect.stringMatching(/^duplicate kid: keys\[0\] has it too and also fits PS256, so/)),
    ]);
    expect(materials(lookup(overlapping, { kid: 'r' }, 'PS256'))).toEqual([spkiHex(rsaA.publicKey)]);
    expect(materials(lookup(overlapping, { kid: 'r' }, 'RS256'))).toEqual([spkiHex(rsaA.publicKey)]);
  });

  test("end to end: the kid picks the key, another kid's key does not verify", async () => {
    const doc = { keys: [octJwk('secret-number-one-secret-number-one', { kid: 'one' }), octJwk('secret-number-two-secret-number-two', { kid: 'two' })] };
    const source = jwksSource(doc, ORIGIN, CAPS);
    expectOk(await authenticate(await hs256('secret-number-two-secret-number-two', { kid: 'two' }), source, policy(), NOW));
    expectFailure(await authenticate(await hs256('secret-number-two-secret-number-two', { kid: 'one' }), source, policy(), NOW), 'SIGNATURE_INVALID');
    expectFailure(await authenticate(await hs256('secret-number-two-secret-number-two', { kid: 'three' }), source, policy(), NOW), 'KEY_NOT_FOUND');
  });
});

describe('jwksSource: tokens without kid', () => {
  const document = {
    keys: [
      octJwk(HMAC64),
      publicJwk(p384.publicKey),
      publicJwk(rsaA.publicKey),
      publicJwk(p256.publicKey),
      publicJwk(rsaB.publicKey, { alg: 'RS384' }),
      publicJwk(ed25519.publicKey),
    ],
  };

  test('tries only the keys fitting the alg (kty, curve, alg)', () => {
    expect(materials(lookup(document, {}, 'RS256'))).toEqual([spkiHex(rsaA.publicKey)]);
    expect(materials(lookup(document, {}, 'RS384'))).toEqual([spkiHex(rsaA.publicKey), spkiHex(rsaB.publicKey)]);
    expect(materials(lookup(document, {}, 'ES256'))).toEqual([spkiHex(p256.publicKey)]);
    expect(materials(lookup(document, {}, 'ES384'))).toEqual([spkiHex(p384.publicKey)]);
    expect(materials(lookup(document, {}, 'ES512'))).toEqual([]);
    expect(materials(lookup(document, {}, 'HS512'))).toEqual([Buffer.from(HMAC64).toString('hex')]);
    expect(materials(lookup(document, {}, 'EdDSA'))).toEqual([spkiHex(ed25519.publicKey)]);
  });

  test('every returned key is allowed to verify the alg', () => {
    for (const alg of algorithmNames()) {
      for (const k of match(lookup(document, {}, alg)).keys) expect(k.algorithms).toContain(alg);
    }
  });

  test(`at most MAX_KEYS_TRIED (${MAX_KEYS_TRIED}) keys are tried`, async () => {
    const secrets: string[] = [];
    for (let i = 0; i < MAX_KEYS_TRIED + 3; i++) secrets.push('secret-' + i + '-0123456789abcdef0123456789');
    const doc = { keys: secrets.map((s) => octJwk(s)) };
    expect(match(lookup(doc, {}, 'HS256')).keys).toHaveLength(MAX_KEYS_TRIED);
    const source = jwksSource(doc, ORIGIN, CAPS);
    // the last key within the cap still verifies; the first one past it is never tried
    expectOk(await authenticate(await hs256(secrets[MAX_KEYS_TRIED - 1]), source, policy(), NOW));
    expectFailure(await authenticate(await hs256(secrets[MAX_KEYS_TRIED]), source, policy(), NOW), 'SIGNATURE_INVALID');
    // with a kid, the same key is found
    const withKid = { keys: secrets.map((s, i) => octJwk(s, { kid: 'k' + i })) };
    expectOk(await authenticate(await hs256(secrets[MAX_KEYS_TRIED], { kid: 'k' + MAX_KEYS_TRIED }), jwksSource(withKid, ORIGIN, CAPS), policy(), NOW));
  });

  test('keys that do not fit the alg do not count against the cap', async () => {
    const keys: JsonObject[] = [];
    for (let i = 0; i < MAX_KEYS_TRIED; i++) keys.push(publicJwk(p256.publicKey));
    keys.push(octJwk('the-only-hmac-secret-in-the-set-123'));
    expect(match(lookup({ keys }, {}, 'HS256')).keys).toHaveLength(1);
    expectOk(await authenticate(await hs256('the-only-hmac-secret-in-the-set-123'), jwksSource({ keys }, ORIGIN, CAPS), policy(), NOW));
  });

  test('with no fitting key, authenticate says KEY_NOT_FOUND', async () => {
    const source = jwksSource({ keys: [publicJwk(p256.publicKey)] }, ORIGIN, CAPS);
    const failure = expectFailure(await authenticate(await hs256('whatever-secret-whatever-secret'), source, policy(), NOW), 'KEY_NOT_FOUND');
    expect(failure.message).toBe('failed to verify jwt');
  });
});

describe('jwksSource: broken entries', () => {
  const goodSecret = 'the-good-secret-the-good-secret-123';
  const document = {
    keys: [
      'not an object',
      { kty: 'oct', kid: 'broken-oct', k: 'c2VjcmV0==' },
      { kty: 'RSA', n: '', e: 'AQAB' },
      publicJwk(rsaA.publicKey, { kid: 'enc-key', use: 'enc' }),
      publicJwk(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, { kid: 'short' }),
      octJwk(goodSecret, { kid: 'good' }),
      octJwk(goodSecret),
      octJwk('dup-secret-dup-secret-dup-secret', { kid: 'good' }),
    ],
  };

  function problem(problems: Problem[], entry: string): Problem {
    const found = problems.filter((p) => p.entry === entry);
    if (found.length !== 1) throw new Error('expected one problem for ' + entry + ', got ' + JSON.stringify(problems));
    return found[0];
  }

  test('check names each broken entry and field', () => {
    const problems = jwkSetProblems(document, ORIGIN, CAPS);
    for (const p of problems) expect(p.file).toBe(ORIGIN);
    expect(problem(problems, 'keys[0]').field).toBe('-');
    expect(problem(problems, 'keys[1] (kid "broken-oct")').field).toBe('k');
    expect(problem(problems, 'keys[3] (kid "enc-key")').field).toBe('use');
    expect(problem(problems, 'keys[4] (kid "short")')).toMatchObject({ field: 'n', message: expect.stringMatching(/1024 bits/) });
    expect(problems.filter((p) => p.entry === 'keys[7] (kid "good")').map((p) => p.field)).toEqual(['kid']);
    expect(problems).toHaveLength(6);
  });

  test('the entry of a broken key without kid is its position in the document ("keys" index)', () => {
    // keys[2] is the RSA key with an empty n. Its entry must point at it, not
    // at keys[0] (the non-object entry, reported separately).
    const problems = jwkSetProblems(document, ORIGIN, CAPS);
    const nProblem = problems.filter((p) => p.field === 'n' && /missing/.test(p.message));
    expect(nProblem).toHaveLength(1);
    expect(nProblem[0].entry).toBe('keys[2]');
  });

  test('good keys still verify next to broken ones, and the broken ones are reported in skipped', async () => {
    const source = jwksSource(document, ORIGIN, CAPS);
    const verified = expectOk(await authenticate(await hs256(goodSecret), source, policy(), NOW));
    expect(verified.payload).toEqual({ sub: 'alice' });
    expect(describeProblems(verified.skipped).some((s) => s.includes('keys[0]') && s.includes('not a JSON object'))).toBe(true);
    expect(describeProblems(verified.skipped).some((s) => s.includes('kid "broken-oct"') && s.includes('field "k"'))).toBe(true);
    for (const s of describeProblems(verified.skipped)) expect(s.startsWith(ORIGIN + ': ')).toBe(true);
    expectOk(await authenticate(await hs256(goodSecret, { kid: 'good' }), source, policy(), NOW));
  });

  test('a broken key named by kid is reported with the KEY_NOT_FOUND failure, as a config problem', async () => {
    const source = jwksSource(document, ORIGIN, CAPS);
    const failure = expectFailure(await authenticate(await hs256(goodSecret, { kid: 'broken-oct' }), source, policy(), NOW), 'KEY_NOT_FOUND');
    expect(describeProblems(failure.configProblems!)).toEqual(expect.arrayContaining([expect.stringContaining('field "k"')]));
    expect(JSON.stringify(failure)).not.toContain(goodSecret);
  });

  test('Ed25519 keys are broken entries on engines without Ed25519, and do not hide the others', () => {
    const doc = { keys: [publicJwk(ed25519.publicKey, { kid: 'ed' }), publicJwk(p256.publicKey, { kid: 'ec' })] };
    const source = checkedJwks(doc, ORIGIN, CAPS_NO_ED25519);
    expect(source.problems()).toEqual([configProblemAt(ORIGIN, 'keys[0] (kid "ed")', 'x', expect.stringMatching(/Ed25519/))]);
    const ec = source.lookup({ header: { alg: 'ES256', kid: 'ec' }, payload: {} }, findAlgorithm('ES256')!, { keyClaim: 'key' });
    expect(match(ec).keys).toHaveLength(1);
    const ed = source.lookup({ header: { alg: 'EdDSA', kid: 'ed' }, payload: {} }, findAlgorithm('EdDSA')!, { keyClaim: 'key' });
    expect(match(ed).keys).toHaveLength(0);
    expect(match(ed).skipped).toHaveLength(1);
  });

  test('a set of good keys reports no problems', () => {
    expect(
      jwkSetProblems({ keys: [publicJwk(rsaA.publicKey, { kid: 'a' }), publicJwk(p256.publicKey, { kid: 'b' }), octJwk(S('x'), { kid: 'c' })] }, ORIGIN, CAPS),
    ).toEqual([]);
  });
});

describe('jwksSource: documents without keys', () => {
  test.each([
    ['an empty object', {}],
    ['keys as an object', { keys: { a: 1 } }],
    ['null', null],
    ['a string', '{"keys":[]}'],
    ['an array', [octJwk('secret')]],
  ])('%s: check reports "keys", lookups find nothing', async (_name, document) => {
    const source = checkedJwks(document, ORIGIN, CAPS);
    expect(source.problems()).toEqual([configProblemAt(ORIGIN, 'JWK Set', 'keys', expect.stringMatching(/missing/))]);
    const result = match(source.lookup({ header: { alg: 'HS256' }, payload: {} }, findAlgorithm('HS256')!, { keyClaim: 'key' }));
    expect(result.keys).toEqual([]);
    expect(result.skipped).toHaveLength(1);
    const failure = expectFailure(await authenticate(await hs256('secret'), source, policy(), NOW), 'KEY_NOT_FOUND');
    expect(describeProblems(failure.configProblems!)).toEqual([expect.stringContaining('field "keys"')]);
  });

  test('an empty key set is a problem for check, and each token it refuses logs why', async () => {
    const source = checkedJwks({ keys: [] }, ORIGIN, CAPS);
    const EMPTY = configProblemAt(ORIGIN, 'JWK Set', 'keys', 'empty: no key can verify a token, so every token is refused');
    expect(source.problems()).toEqual([EMPTY]);
    const withoutKid = expectFailure(await authenticate(await hs256(S('secret')), source, policy(), NOW), 'KEY_NOT_FOUND');
    expect(describeProblems(withoutKid.configProblems!)).toEqual([ORIGIN + ': JWK Set: field "keys": ' + EMPTY.message]);
    const withKid = expectFailure(await authenticate(await hs256(S('secret'), { kid: 'a' }), source, policy(), NOW), 'KEY_NOT_FOUND');
    expect(describeProblems(withKid.configProblems!)).toEqual([ORIGIN + ': JWK Set: field "keys": ' + EMPTY.message]);
  });

  test("a set whose every key is refused is a problem for check beside the keys' own", () => {
    const problems = jwkSetProblems({ keys: [{ kty: 'oct', kid: 'short', k: 'YQ' }, publicJwk(rsaA.publicKey, { use: 'enc' })] }, ORIGIN, CAPS);
    expect(problems).toEqual([
      configProblemAt(ORIGIN, 'keys[0] (kid "short")', 'k', expect.stringMatching(/^HMAC key has 1 byte; at least 32 are required/)),
      configProblemAt(ORIGIN, 'keys[1]', 'use', expect.any(String)),
      configProblemAt(ORIGIN, 'JWK Set', 'keys', 'no usable key (every entry is refused, see above), so every token is refused'),
    ]);
  });
});

describe('jwksSource: a stored index (jwt-gateway index)', () => {
  const doc = { keys: [octJwk(S('secret-a'), { kid: 'a' }), octJwk(S('secret-b'), { kid: 'b' }), octJwk(S('secret-b2'), { kid: 'b' }), octJwk(S('no-kid'))] };
  const indexed = indexDocument(doc) as JsonObject;
  const withIndex = (index: unknown) => ({ ...doc, index });
  const indexProblems = (document: unknown) => indexProblemsOf(checkedJwks(document, ORIGIN, CAPS));
  const stale = (lost: string) =>
    'JWK Set: does not match the keys (stale or edited; ' + lost + ' not found through it, their tokens are refused): run `jwt-gateway index` again';

  test('holds every key with a kid and, per algorithm, the first keys to try without one; lookups find the same keys', () => {
    const index = indexed.index as { hash: string; kids: unknown; withoutKid: { [alg: string]: number[] } };
    expect(index.hash).toBe(INDEX_HASH);
    expect(tableEntries(index.kids, 1)).toBe(3);
    expect(Object.keys(index.withoutKid).sort()).toEqual(algorithmNames().sort());
    expect(index.withoutKid.HS256).toEqual([0, 1, 2, 3]);
    expect(index.withoutKid.RS256).toEqual([]);
    expect(indexed.keys).toEqual(doc.keys);
    for (const document of [indexed, preloaded(indexed)]) {
      expect(materials(lookup(document, { kid: 'b' }, 'HS256'))).toEqual(materials(lookup(doc, { kid: 'b' }, 'HS256')));
      expect(materials(lookup(document, { kid: 'b' }, 'HS256'))).toEqual([b64uHex(S('secret-b'))]);
      expect(materials(lookup(document, {}, 'HS256'))).toEqual(materials(lookup(doc, {}, 'HS256')));
    }
    expect(materials(lookup(indexed, {}, 'HS256'))).toHaveLength(4);
    expect(jwkSetProblems(indexed, ORIGIN, CAPS).map((p) => p.entry + ': ' + p.message.slice(0, 42))).toEqual([
      'keys[2] (kid "b"): duplicate kid: keys[1] has it too and also',
    ]);
  });

  test('a kid table has eight slots a key (a lookup reads on to the first empty slot); one written at two still finds every key, and check asks for index again', () => {
    const keys = Array.from({ length: 100 }, (_, i) => octJwk(S('secret-' + i), { kid: 'kid-' + i, alg: 'HS256' }));
    const fresh = indexDocument({ keys }) as JsonObject;
    const index = fresh.index as { kids: HashTable };
    expect(index.kids.slots.length / index.kids.digits).toBe(1024);
    const earlier = {
      keys,
      index: {
        ...index,
        kids: buildTable(
          keys.map((k) => k.kid as string),
          keys.map((_, i) => [i]),
          1,
          2,
        ),
      },
    };
    for (const i of [0, 57, 99])
      expect(materials(lookup(earlier, { kid: 'kid-' + i }, 'HS256'))).toEqual(materials(lookup(fresh, { kid: 'kid-' + i }, 'HS256')));
    expect(indexProblemsOf(checkedJwks(fresh, ORIGIN, CAPS))).toEqual([]);
    expect(indexProblemsOf(checkedJwks(earlier, ORIGIN, CAPS))).toEqual(['JWK Set: does not match the keys (stale or edited): run `jwt-gateway index` again']);
  });

  test('tokens without a kid try the same keys as without the index (kty, curve, alg, cap)', () => {
    const mixed: JsonObject[] = [publicJwk(p256.publicKey), octJwk(S('hmac-0'))];
    for (let i = 1; i < MAX_KEYS_TRIED + 3; i++) mixed.push(octJwk(S('hmac-' + i), { kid: 'h' + i }));
    mixed.push(publicJwk(rsaA.publicKey), publicJwk(rsaB.publicKey, { alg: 'RS384' }), publicJwk(p384.publicKey), 'not a key' as unknown as JsonObject);
    const set = { keys: mixed };
    const withIndexed = indexDocument(set);
    for (const alg of algorithmNames()) expect([alg, materials(lookup(withIndexed, {}, alg))]).toEqual([alg, materials(lookup(set, {}, alg))]);
    expect(materials(lookup(withIndexed, {}, 'HS256'))).toHaveLength(MAX_KEYS_TRIED);
    expect(materials(lookup(withIndexed, {}, 'RS384'))).toEqual([spkiHex(rsaA.publicKey), spkiHex(rsaB.publicKey)]);
  });

  test('with an index, a lookup reads only the keys it tries, whatever the size of the set', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => octJwk(S('secret-' + i), { kid: 'kid-' + i, alg: 'HS256' }));
    const big = indexDocument({ keys }) as JsonObject;
    const longestPath = ((big.index as JsonObject).kids as JsonObject).probes as number;
    expect(longestPath).toBeLessThan(64);
    const { document, reads } = counted(big, 'keys');
    const source = jwksSource(document, ORIGIN, CAPS);
    const ask = (header: JsonObject, alg: string) => source.lookup({ header: { alg, ...header }, payload: {} }, findAlgorithm(alg)!, { keyClaim: 'key' });
    expect(reads()).toBe(0);
    expect(match(ask({ kid: 'kid-4999' }, 'HS256')).keys).toHaveLength(1);
    expectFailure(ask({ kid: 'kid-5000' }, 'HS256'), 'KEY_NOT_FOUND');
    expect(reads()).toBeLessThanOrEqual(2 * (longestPath + 1) + 2);
    const before = reads();
    // no kid: the first MAX_KEYS_TRIED that fit; an algorithm no key fits reads nothing
    expect(match(ask({}, 'HS256')).keys).toHaveLength(MAX_KEYS_TRIED);
    expect(match(ask({}, 'RS256')).keys).toHaveLength(0);
    expect(match(ask({}, 'HS512')).keys).toHaveLength(0);
    expect(reads() - before).toBeLessThanOrEqual(3 * MAX_KEYS_TRIED);
    // without an index, a token without a kid that no key fits walks the set
    const unindexed = counted({ keys }, 'keys');
    jwksSource(unindexed.document, ORIGIN, CAPS).lookup({ header: { alg: 'RS256' }, payload: {} }, findAlgorithm('RS256')!, { keyClaim: 'key' });
    expect(unindexed.reads()).toBeGreaterThanOrEqual(5000);
  });

  test('an entry that points at a key with another kid finds nothing, and check reports the stale index', () => {
    const edited = withIndex(repointed(indexed.index, 'kids', [0], [1]));
    expectFailure(lookup(edited, { kid: 'a' }, 'HS256'), 'KEY_NOT_FOUND');
    expect(indexProblems(edited)).toEqual([stale('1 kid')]);
    expect(indexProblems(indexed)).toEqual([]);
  });

  test('after the set changes, a stale index finds only keys still where it says, with their kid', () => {
    const changed = { keys: [octJwk(S('secret-b'), { kid: 'b' }), octJwk(S('secret-c'), { kid: 'c' })], index: indexed.index };
    expectFailure(lookup(changed, { kid: 'a' }, 'HS256'), 'KEY_NOT_FOUND');
    expectFailure(lookup(changed, { kid: 'c' }, 'HS256'), 'KEY_NOT_FOUND');
    // b moved from 1 to 0; 1 now holds c
    expectFailure(lookup(changed, { kid: 'b' }, 'HS256'), 'KEY_NOT_FOUND');
    expect(materials(lookup(changed, {}, 'HS256'))).toHaveLength(2);
    expect(indexProblems(changed)).toEqual([stale('2 kids')]);
    expect(indexProblems(indexDocument(changed))).toEqual([]);
  });

  test.each([[1], [3], [4], [30], ['!'], ['-'], ['zzzz']])('a kid slot edited to %j finds nothing', (entry) => {
    const edited = withIndex(repointed(indexed.index, 'kids', [0], [entry]));
    expectFailure(lookup(edited, { kid: 'a' }, 'HS256'), 'KEY_NOT_FOUND');
    expect(indexProblems(edited)).toEqual([stale('1 kid')]);
  });

  test.each([...notAnIndex(indexed.index, 'kids', 'withoutKid'), ['of names (an older layout)', { kids: { '#a': [0] }, withoutKid: {} }]])(
    'an "index" that is %s is ignored (the set is walked as without one) and check says to index again',
    (_name, index) => {
      expect(materials(lookup(withIndex(index), { kid: 'b' }, 'HS256'))).toEqual(materials(lookup(doc, { kid: 'b' }, 'HS256')));
      expect(materials(lookup(withIndex(index), {}, 'HS256'))).toHaveLength(4);
      expect(indexProblems(withIndex(index))).toEqual([
        'JWK Set: not an index written by this version of `jwt-gateway index` (every lookup walks the whole file): run `jwt-gateway index` again',
      ]);
    },
  );

  test('kids like __proto__ and constructor, or outside the BMP, are plain names, indexed or not', () => {
    const names = ['__proto__', 'constructor', 'hasOwnProperty', '\u{1F511}-1', '\uFFFD'];
    const odd = { keys: names.map((kid, i) => octJwk(S('s' + i), { kid })) };
    for (const document of [odd, indexDocument(odd), preloaded(indexDocument(odd))]) {
      for (let i = 0; i < names.length; i++) expect(materials(lookup(document, { kid: names[i] }, 'HS256'))).toEqual([b64uHex(S('s' + i))]);
      expectFailure(lookup(document, { kid: 'toString' }, 'HS256'), 'KEY_NOT_FOUND');
      expectFailure(lookup(document, { kid: 'valueOf' }, 'HS256'), 'KEY_NOT_FOUND');
    }
  });
});

import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { findAlgorithm } from '../../njs/core/algorithms';
import { authenticate } from '../../njs/core/authenticate';
import { indexDocument } from '../../cli/index';
import { consumerIndexOf, consumersSource } from '../../njs/core/keys/consumers';
import { INDEX_HASH } from '../../njs/core/keys/hash-index';
import { describeProblems, Problem } from '../../njs/core/errors';
import { Capabilities } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { bytes, CAPS, configProblemAt, expectFailure, expectOk, JACK, jackConsumer, notAnIndex, NOW, policy } from '../support/core';
import { checkedConsumers, counted, indexProblemsOf, preloaded, repointed, tableEntries } from '../support/index-documents';

const ORIGIN = '/etc/nginx/consumers.json';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

function sign(alg: string, key: KeyObject | Uint8Array, payload: JsonObject, header: JsonObject = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, ...header }).sign(key);
}

function jackToken(payload: JsonObject = { key: JACK.key }, alg = 'HS256', header: JsonObject = {}): Promise<string> {
  return sign(alg, bytes(JACK.secret), payload, header);
}

const NO_USABLE_CREDENTIAL = 'no usable credential (every credential is refused, see above), so every token is refused';

const JACK_IDENTITY = { consumer: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a' };

function source(consumers: unknown[], capabilities: Capabilities = CAPS) {
  return checkedConsumers({ consumers }, ORIGIN, capabilities);
}

describe('consumersSource: the seed consumer jack', () => {
  const jack = source([jackConsumer()]);

  test('the seed token from the APISIX docs authenticates as jack', async () => {
    const verified = expectOk(await authenticate(JACK.seedToken, jack, policy(), NOW));
    expect(verified.identity).toEqual(JACK_IDENTITY);
    expect(verified.payload).toEqual({ key: 'jack-key', nbf: 1729132271 });
    expect(verified.payloadText).toBe('{"key":"jack-key","nbf":1729132271}');
    expect(verified.header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(verified.skipped).toEqual([]);
  });

  test('the seed token is not valid before its nbf', async () => {
    expectFailure(await authenticate(JACK.seedToken, jack, policy(), 1729132271 - 1), 'TOKEN_NOT_YET_VALID');
    expectOk(await authenticate(JACK.seedToken, jack, policy(), 1729132271));
  });

  test('the seed token does not verify with another secret', async () => {
    const other = source([{ username: 'jack', credentials: [{ key: 'jack-key', secret: JACK.secret + '!' }] }]);
    expectFailure(await authenticate(JACK.seedToken, other, policy(), NOW), 'SIGNATURE_INVALID');
  });

  test('a fresh token for jack (default algorithm HS256)', async () => {
    const verified = expectOk(await authenticate(await jackToken({ key: JACK.key, exp: NOW + 60 }), jack, policy(), NOW));
    expect(verified.identity).toEqual(JACK_IDENTITY);
  });

  test('a missing key claim is KEY_CLAIM_MISSING with the APISIX message', async () => {
    for (const payload of [{}, { key: '' }, { key: null }, { sub: 'jack-key' }]) {
      const failure = expectFailure(await authenticate(await jackToken(payload), jack, policy(), NOW), 'KEY_CLAIM_MISSING');
      expect(failure.message).toBe('missing user key in JWT token');
    }
  });

  test('an unknown key is CREDENTIAL_UNKNOWN with the APISIX message', async () => {
    for (const key of ['john-key', 'JACK-KEY', 'jack-key ', '__proto__', 'constructor', 'toString']) {
      const failure = expectFailure(await authenticate(await jackToken({ key }), jack, policy(), NOW), 'CREDENTIAL_UNKNOWN');
      expect(failure.message).toBe('Invalid user key in JWT token');
    }
  });

  test.each([[123], [true], [['jack-key']], [{ key: 'jack-key' }]])('a non-string key claim %j is CREDENTIAL_UNKNOWN', async (key) => {
    expectFailure(await authenticate(await jackToken({ key }), jack, policy(), NOW), 'CREDENTIAL_UNKNOWN');
  });

  test("another algorithm than the credential's is ALG_NOT_ALLOWED even with the right secret", async () => {
    for (const alg of ['HS384', 'HS512']) {
      const failure = expectFailure(await authenticate(await jackToken({ key: JACK.key }, alg), jack, policy(), NOW), 'ALG_NOT_ALLOWED');
      expect(failure.message).toBe('failed to verify jwt');
    }
  });

  test('consumer() finds a consumer by username, with its custom id', () => {
    expect(jack.consumer!('jack')).toEqual({ consumer: 'jack', customId: '495aec6a' });
    expect(jack.consumer!('nobody')).toBeNull();
    expect(jack.consumer!('__proto__')).toBeNull();
  });

  test('the seed map reports no problems', () => {
    expect(jack.problems()).toEqual([]);
  });
});

describe('consumersSource: key claim', () => {
  const jack = source([jackConsumer()]);

  test('a custom keyClaim names the credential', async () => {
    const token = await jackToken({ iss: JACK.key });
    expectOk(await authenticate(token, jack, policy({ keyClaim: 'iss' }), NOW));
    expectFailure(await authenticate(token, jack, policy(), NOW), 'KEY_CLAIM_MISSING');
  });

  test('a custom keyClaim is missing -> KEY_CLAIM_MISSING even when "key" is present', async () => {
    expectFailure(await authenticate(await jackToken({ key: JACK.key }), jack, policy({ keyClaim: 'iss' }), NOW), 'KEY_CLAIM_MISSING');
  });

  test('the key can come from the header (kid), as in Kong', async () => {
    const token = await jackToken({ sub: 'x' }, 'HS256', { kid: JACK.key });
    expect(expectOk(await authenticate(token, jack, policy({ keyClaim: 'kid' }), NOW)).identity).toEqual(JACK_IDENTITY);
  });

  test('the payload wins over the header', async () => {
    const token = await jackToken({ kid: 'john-key' }, 'HS256', { kid: JACK.key });
    expectFailure(await authenticate(token, jack, policy({ keyClaim: 'kid' }), NOW), 'CREDENTIAL_UNKNOWN');
  });
});

describe('consumersSource: asymmetric credentials with PEM public keys', () => {
  const consumers = [
    jackConsumer(),
    { username: 'alice', credentials: [{ id: 'cred-alice', key: 'alice-key', algorithm: 'RS256', public_key: spkiPem(rsa.publicKey) }] },
    { username: 'bob', labels: { custom_id: 'b-1' }, credentials: [{ id: 'cred-bob', key: 'bob-key', algorithm: 'ES256', public_key: spkiPem(ec.publicKey) }] },
    { username: 'carol', credentials: [{ id: 'cred-carol', key: 'carol-key', algorithm: 'PS256', public_key: spkiPem(rsa.publicKey) }] },
    { username: 'dave', credentials: [{ key: 'dave-key', algorithm: 'RS512', public_key: rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) }] },
    { username: 'erin', credentials: [{ key: 'erin-key', algorithm: 'EdDSA', public_key: spkiPem(ed.publicKey) }] },
  ];
  const map = source(consumers);

  test('no problems', () => {
    expect(map.problems()).toEqual([]);
  });

  test.each([
    ['RS256', 'alice-key', () => rsa.privateKey, { consumer: 'alice', credential: 'cred-alice' }],
    ['ES256', 'bob-key', () => ec.privateKey, { consumer: 'bob', credential: 'cred-bob', customId: 'b-1' }],
    ['PS256', 'carol-key', () => rsa.privateKey, { consumer: 'carol', credential: 'cred-carol' }],
    ['RS512', 'dave-key', () => rsa.privateKey, { consumer: 'dave' }],
    ['EdDSA', 'erin-key', () => ed.privateKey, { consumer: 'erin' }],
  ])('%s credential (%s) verifies and names the consumer', async (alg, key, priv, identity) => {
    const verified = expectOk(await authenticate(await sign(alg, priv(), { key }), map, policy(), NOW));
    expect(verified.identity).toEqual(identity);
    expect(verified.header.alg).toBe(alg);
  });

  test('the credential binds one algorithm: an RS256 credential refuses PS256 and RS384 signed by the same key', async () => {
    expectFailure(await authenticate(await sign('PS256', rsa.privateKey, { key: 'alice-key' }), map, policy(), NOW), 'ALG_NOT_ALLOWED');
    expectFailure(await authenticate(await sign('RS384', rsa.privateKey, { key: 'alice-key' }), map, policy(), NOW), 'ALG_NOT_ALLOWED');
  });

  test("a token for one consumer signed with another consumer's key fails", async () => {
    expectFailure(await authenticate(await sign('HS256', bytes(JACK.secret), { key: 'alice-key' }), map, policy(), NOW), 'ALG_NOT_ALLOWED');
    const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expectFailure(await authenticate(await sign('RS256', otherRsa.privateKey, { key: 'alice-key' }), map, policy(), NOW), 'SIGNATURE_INVALID');
    expectFailure(await authenticate(await sign('RS256', rsa.privateKey, { key: 'jack-key' }), map, policy(), NOW), 'ALG_NOT_ALLOWED');
  });
});

describe('consumersSource: base64_secret', () => {
  const raw = new Uint8Array(randomBytes(64));
  const encoded = Buffer.from(raw).toString('base64');
  const map = source([{ username: 'u', credentials: [{ key: 'u-key', secret: encoded, base64_secret: true, algorithm: 'HS512' }] }]);

  test('the secret is the decoded bytes', async () => {
    expectOk(await authenticate(await sign('HS512', raw, { key: 'u-key' }), map, policy(), NOW));
  });

  test('the base64 text itself is not the secret', async () => {
    expectFailure(await authenticate(await sign('HS512', bytes(encoded), { key: 'u-key' }), map, policy(), NOW), 'SIGNATURE_INVALID');
  });

  test('without base64_secret the text is the secret', async () => {
    const plain = source([{ username: 'u', credentials: [{ key: 'u-key', secret: encoded, algorithm: 'HS512' }] }]);
    expectOk(await authenticate(await sign('HS512', bytes(encoded), { key: 'u-key' }), plain, policy(), NOW));
    expectFailure(await authenticate(await sign('HS512', raw, { key: 'u-key' }), plain, policy(), NOW), 'SIGNATURE_INVALID');
  });
});

describe('consumersSource: lifetime_grace_period', () => {
  function withGrace(grace?: unknown) {
    const fields: JsonObject = { id: 'c', key: 'g-key', secret: JACK.secret };
    if (grace !== undefined) fields.lifetime_grace_period = grace;
    return source([{ username: 'g', credentials: [fields] }]);
  }

  test('extends exp by the grace period, and not further', async () => {
    const token = await jackToken({ key: 'g-key', exp: NOW - 10 });
    expectFailure(await authenticate(token, withGrace(), policy(), NOW), 'TOKEN_EXPIRED');
    expectFailure(await authenticate(token, withGrace(0), policy(), NOW), 'TOKEN_EXPIRED');
    expectOk(await authenticate(token, withGrace(11), policy(), NOW));
    expectFailure(await authenticate(token, withGrace(10), policy(), NOW), 'TOKEN_EXPIRED');
  });

  test('adds to the policy leeway', async () => {
    const token = await jackToken({ key: 'g-key', exp: NOW - 10 });
    expectOk(await authenticate(token, withGrace(6), policy({ leeway: 5 }), NOW));
    expectFailure(await authenticate(token, withGrace(5), policy({ leeway: 5 }), NOW), 'TOKEN_EXPIRED');
  });

  test('extends nbf too', async () => {
    const token = await jackToken({ key: 'g-key', nbf: NOW + 30 });
    expectFailure(await authenticate(token, withGrace(), policy(), NOW), 'TOKEN_NOT_YET_VALID');
    expectOk(await authenticate(token, withGrace(30), policy(), NOW));
  });

  test.each([[-1], [1.5], ['10'], [null], [Number.NaN]])('%j is a problem on "lifetime_grace_period"', async (grace) => {
    const map = withGrace(grace);
    expect(map.problems()).toEqual([
      configProblemAt(ORIGIN, expect.any(String), 'lifetime_grace_period', expect.any(String)),
      configProblemAt(ORIGIN, 'consumer map', 'consumers', NO_USABLE_CREDENTIAL),
    ]);
    expectFailure(await authenticate(await jackToken({ key: 'g-key' }), map, policy(), NOW), 'CREDENTIAL_UNKNOWN');
  });
});

describe('consumersSource: configuration problems', () => {
  function byField(problems: Problem[], field: string): Problem[] {
    return problems.filter((p) => p.field === field);
  }

  test('a duplicate key is reported and the first credential wins', async () => {
    const map = source([
      jackConsumer(),
      { username: 'mallory', credentials: [{ id: 'cred-mallory', key: JACK.key, secret: 'mallory-secret-mallory-secret-123' }] },
    ]);
    const problems = byField(map.problems(), 'key');
    expect(problems).toHaveLength(1);
    expect(problems[0].entry).toContain('mallory');
    expect(problems[0].message).toMatch(/duplicate key/);
    expect(expectOk(await authenticate(await jackToken({ key: JACK.key }), map, policy(), NOW)).identity).toEqual(JACK_IDENTITY);
    expectFailure(
      await authenticate(await sign('HS256', bytes('mallory-secret-mallory-secret-123'), { key: JACK.key }), map, policy(), NOW),
      'SIGNATURE_INVALID',
    );
  });

  test('a duplicate username is reported', () => {
    const map = source([jackConsumer(), { username: 'jack', credentials: [{ key: 'jack-key-2', secret: 'another-secret-another-secret-0123' }] }]);
    const problems = byField(map.problems(), 'username');
    expect(problems).toHaveLength(1);
    expect(problems[0].entry).toContain('consumers[1]');
    expect(problems[0].message).toMatch(/duplicate username/);
  });

  test('a broken credential does not disable the others', async () => {
    const map = source([
      { username: 'broken-rsa', credentials: [{ id: 'b1', key: 'b1-key', algorithm: 'RS256', public_key: 'not a pem' }] },
      { username: 'broken-alg', credentials: [{ id: 'b2', key: 'b2-key', algorithm: 'none', secret: 'x' }] },
      { username: 'broken-secret', credentials: [{ id: 'b3', key: 'b3-key' }] },
      {
        username: 'private',
        credentials: [{ id: 'b4', key: 'b4-key', algorithm: 'ES256', public_key: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) }],
      },
      { username: 'mismatch', credentials: [{ id: 'b5', key: 'b5-key', algorithm: 'ES384', public_key: spkiPem(ec.publicKey) }] },
      'not an object',
      { credentials: [] },
      { username: 'no-credentials' },
      { username: 'bad-entries', credentials: [42, { secret: 'no key' }] },
      jackConsumer(),
    ]);
    expect(expectOk(await authenticate(await jackToken(), map, policy(), NOW)).identity).toEqual(JACK_IDENTITY);
    const problems = map.problems();
    const fields = problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['public_key', 'algorithm', 'secret', '-', 'username', 'credentials', 'key']));
    expect(problems.find((p) => p.entry!.includes('"b1"'))).toMatchObject({ field: 'public_key', message: expect.stringMatching(/not a PEM/) });
    expect(problems.find((p) => p.entry!.includes('"b2"'))).toMatchObject({ field: 'algorithm' });
    expect(problems.find((p) => p.entry!.includes('"b3"'))).toMatchObject({ field: 'secret' });
    expect(problems.find((p) => p.entry!.includes('"b4"'))).toMatchObject({ field: 'public_key', message: expect.stringMatching(/private key/) });
    expect(problems.find((p) => p.entry!.includes('"b5"'))).toMatchObject({ field: 'algorithm' });
    for (const p of problems) expect(p.file).toBe(ORIGIN);
    // a token naming a broken credential is refused as an unknown key, with the reason for the log
    const failure = expectFailure(await authenticate(await jackToken({ key: 'b1-key' }), map, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expect(describeProblems(failure.configProblems!)).toEqual([expect.stringContaining('field "public_key"')]);
  });

  test.each([
    ['no consumers', {}],
    ['consumers as an object', { consumers: { jack: {} } }],
    ['null', null],
    ['an array', [jackConsumer()]],
  ])('a document with %s reports "consumers" and knows no key', async (_name, document) => {
    const map = checkedConsumers(document, ORIGIN, CAPS);
    expect(map.problems()).toEqual([configProblemAt(ORIGIN, 'consumer map', 'consumers', expect.any(String))]);
    expectFailure(await authenticate(await jackToken(), map, policy(), NOW), 'CREDENTIAL_UNKNOWN');
  });
});

describe('consumersSource: $env:// secrets', () => {
  const env: { [name: string]: string } = { JACK_JWT_SECRET: JACK.secret, EMPTY: '' };
  const caps: Capabilities = { ed25519: true, env: (name) => env[name] };

  test('a $env:// secret is resolved through capabilities.env', async () => {
    const map = source([{ username: 'jack', credentials: [{ key: JACK.key, secret: '$env://JACK_JWT_SECRET' }] }], caps);
    expectOk(await authenticate(await jackToken(), map, policy(), NOW));
    expect(map.problems()).toEqual([]);
  });

  test('an unset or empty variable is a problem on "secret" that does not fall back to the reference text', async () => {
    for (const ref of ['$env://MISSING', '$env://EMPTY']) {
      const map = source([{ username: 'jack', credentials: [{ key: JACK.key, secret: ref }] }], caps);
      expect(map.problems()).toEqual([
        configProblemAt(ORIGIN, expect.any(String), 'secret', expect.stringContaining(ref)),
        configProblemAt(ORIGIN, 'consumer map', 'consumers', NO_USABLE_CREDENTIAL),
      ]);
      expectFailure(await authenticate(await sign('HS256', bytes(ref), { key: JACK.key }), map, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    }
  });

  test('the resolved secret never appears in problems or failure details', async () => {
    const map = source([{ username: 'jack', credentials: [{ key: JACK.key, secret: '$env://JACK_JWT_SECRET', algorithm: 'HS999' }] }], caps);
    expect(JSON.stringify(map.problems())).not.toContain(JACK.secret);
    const failure = expectFailure(await authenticate(await jackToken(), map, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expect(failure.detail).not.toContain(JACK.secret);
  });
});

describe('consumersSource: lookup', () => {
  test('lookup returns the credential key bound to its algorithm and the identity', () => {
    const map = source([jackConsumer()]);
    const result = map.lookup({ header: { alg: 'HS256' }, payload: { key: JACK.key } }, findAlgorithm('HS256')!, { keyClaim: 'key' });
    if ('code' in result) throw new Error(result.code);
    expect(result.keys).toHaveLength(1);
    expect(result.keys[0].algorithms).toEqual(['HS256']);
    expect(Buffer.from(result.keys[0].material).toString()).toBe(JACK.secret);
    expect(result.identity).toEqual(JACK_IDENTITY);
    expect(result.graceSeconds).toBe(0);
  });
});

describe('consumersSource: a stored index (jwt-gateway index)', () => {
  const doc = {
    consumers: [
      jackConsumer(),
      { username: 'kim', credentials: [{ id: 'cred-kim', key: 'kim-key', secret: 'kim-secret-0123456789-0123456789' }] },
      {
        username: 'lee',
        credentials: [
          { key: '__proto__', secret: 'lee-secret-0123456789-0123456789' },
          { key: 'kim-key', secret: 'not-kim-not-kim-not-kim-not-kim-0123' },
        ],
      },
    ],
  };
  const indexed = indexDocument(doc) as JsonObject;
  const withIndex = (index: unknown) => ({ ...doc, index });
  const kimToken = () => sign('HS256', bytes('kim-secret-0123456789-0123456789'), { key: 'kim-key' });
  const indexProblems = (document: unknown) => indexProblemsOf(checkedConsumers(document, ORIGIN, CAPS));
  const stale = (lost: string) =>
    'consumer map: does not match the consumers (stale or edited; ' + lost + ' not found through it, their tokens are refused): run `jwt-gateway index` again';
  const NOT_AN_INDEX =
    'consumer map: not an index written by this version of `jwt-gateway index` (every lookup walks the whole file): run `jwt-gateway index` again';

  test('holds each credential key and username once, the first of duplicates, and verifies like the map without it', async () => {
    const index = indexed.index as JsonObject;
    expect(index.hash).toBe(INDEX_HASH);
    expect([tableEntries(index.keys, 2), tableEntries(index.usernames, 1)]).toEqual([3, 3]);
    expect(indexed.consumers).toEqual(doc.consumers);
    expect(doc).not.toHaveProperty('index');
    for (const document of [indexed, preloaded(indexed)]) {
      const source = consumersSource(document, ORIGIN, CAPS);
      expect(expectOk(await authenticate(JACK.seedToken, source, policy(), NOW)).identity).toEqual(JACK_IDENTITY);
      expect(expectOk(await authenticate(await kimToken(), source, policy(), NOW)).identity).toEqual({ consumer: 'kim', credential: 'cred-kim' });
      const leeToken = await sign('HS256', bytes('lee-secret-0123456789-0123456789'), { key: '__proto__' });
      expect(expectOk(await authenticate(leeToken, source, policy(), NOW)).identity).toEqual({ consumer: 'lee' });
      expect(source.consumer!('kim')).toEqual({ consumer: 'kim' });
      expect(source.consumer!('jack')).toEqual({ consumer: 'jack', customId: '495aec6a' });
      for (const name of ['constructor', '__proto__', 'hasOwnProperty', 'toString']) expect(source.consumer!(name)).toBeNull();
      for (const key of ['constructor', 'hasOwnProperty', 'toString', 'valueOf']) {
        expectFailure(await authenticate(await sign('HS256', bytes('x'), { key }), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
      }
    }
    expect(indexProblems(indexed)).toEqual([]);
    expect(indexDocument(indexed)).toEqual(indexed);
  });

  test('with an index, building the source and a lookup read a consumer or two, whatever the size of the map', async () => {
    const consumers = Array.from({ length: 20000 }, (_, i) => ({
      username: 'user-' + i,
      labels: { custom_id: 'c' + i },
      credentials: [{ key: 'key-' + i, secret: 'secret-' + i + '-of-at-least-32-bytes-0123456789' }],
    }));
    const big = indexDocument({ consumers }) as JsonObject;
    const { document, reads } = counted(big, 'consumers');
    const source = consumersSource(document, ORIGIN, CAPS);
    expect(reads()).toBe(0);
    const token = await sign('HS256', bytes('secret-19999-of-at-least-32-bytes-0123456789'), { key: 'key-19999' });
    expect(expectOk(await authenticate(token, source, policy(), NOW)).identity).toEqual({ consumer: 'user-19999', customId: 'c19999' });
    expect(source.consumer!('user-12345')).toEqual({ consumer: 'user-12345', customId: 'c12345' });
    const found = reads();
    expectFailure(await authenticate(await sign('HS256', bytes('x'), { key: 'key-20000' }), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    const longestPath = ((big.index as JsonObject).keys as JsonObject).probes as number;
    expect(longestPath).toBeLessThan(64);
    expect([found <= 2 + 2 * (longestPath + 1), reads() - found <= longestPath + 1]).toEqual([true, true]);
    // without an index, the first lookup walks the map
    const unindexed = counted({ consumers }, 'consumers');
    await authenticate(token, consumersSource(unindexed.document, ORIGIN, CAPS), policy(), NOW);
    expect(unindexed.reads()).toBeGreaterThanOrEqual(20000);
  });

  test('an entry that points at a credential with another key finds nothing, and check reports the stale index', async () => {
    const edited = withIndex(repointed(indexed.index, 'keys', [1, 0], [2, 0]));
    const source = consumersSource(edited, ORIGIN, CAPS);
    expectFailure(await authenticate(await kimToken(), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    const asLee = await sign('HS256', bytes('lee-secret-0123456789-0123456789'), { key: 'kim-key' });
    expectFailure(await authenticate(asLee, source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expect(indexProblems(edited)).toEqual([stale('1 credential key')]);
  });

  test("after the map changes, a stale index refuses moved and new credentials and never lends one consumer's identity to another", async () => {
    // kim removed, a new consumer "max" appended; the index is the old one
    const changed = {
      consumers: [jackConsumer(), doc.consumers[2], { username: 'max', credentials: [{ key: 'max-key', secret: 'max-secret-0123456789-0123456789' }] }],
      index: indexed.index,
    };
    const source = consumersSource(changed, ORIGIN, CAPS);
    expect(expectOk(await authenticate(JACK.seedToken, source, policy(), NOW)).identity).toEqual(JACK_IDENTITY);
    expectFailure(await authenticate(await kimToken(), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expectFailure(
      await authenticate(await sign('HS256', bytes('max-secret-0123456789-0123456789'), { key: 'max-key' }), source, policy(), NOW),
      'CREDENTIAL_UNKNOWN',
    );
    // lee moved from 2 to 1: the index still points at 2, which is max's; kim-key is now lee's second credential
    expectFailure(
      await authenticate(await sign('HS256', bytes('lee-secret-0123456789-0123456789'), { key: '__proto__' }), source, policy(), NOW),
      'CREDENTIAL_UNKNOWN',
    );
    expect(source.consumer!('lee')).toBeNull();
    expect(source.consumer!('max')).toBeNull();
    expect(indexProblems(changed)).toEqual([stale('3 credential keys and 2 usernames')]);
    expect(indexProblems(indexDocument(changed))).toEqual([]);
  });

  test.each([[[1, 0]], [[0, 1]], [[2, 1]], [[30, 0]], [['!', 0]], [[0, '-']], [['zzzz', 'zzzz']], [['', '']]])(
    'a key slot edited to %j finds nothing',
    async (entry) => {
      const edited = withIndex(repointed(indexed.index, 'keys', [0, 0], entry));
      expectFailure(await authenticate(JACK.seedToken, consumersSource(edited, ORIGIN, CAPS), policy(), NOW), 'CREDENTIAL_UNKNOWN');
      expect(indexProblems(edited)).toEqual([stale('1 credential key')]);
    },
  );

  test.each([[1], [2], [30], ['!'], ['-'], ['zzzz']])('a username slot edited to %j finds nothing', (entry) => {
    const edited = withIndex(repointed(indexed.index, 'usernames', [0], [entry]));
    expect(consumersSource(edited, ORIGIN, CAPS).consumer!('jack')).toBeNull();
    expect(indexProblems(edited)).toHaveLength(1);
  });

  test.each([
    ...notAnIndex(indexed.index, 'usernames', 'usernames'),
    ['a table of 3 slots', { ...(indexed.index as JsonObject), usernames: { probes: 0, digits: 1, slots: '123' } }],
    ['a table of numbers', { ...(indexed.index as JsonObject), usernames: { probes: 0, digits: 1, slots: [1, 2, 3, 0] } }],
    ['a table without digits', { ...(indexed.index as JsonObject), usernames: { probes: 0, slots: '1230' } }],
    ['of names (an older layout)', { keys: { '#jack-key': [0, 0] }, usernames: { '#jack': 0 } }],
  ])('an "index" that is %s is ignored (the map is walked as without one) and check says to index again', async (_name, index) => {
    const source = consumersSource(withIndex(index), ORIGIN, CAPS);
    expect(expectOk(await authenticate(await kimToken(), source, policy(), NOW)).identity).toEqual({ consumer: 'kim', credential: 'cred-kim' });
    expect(source.consumer!('lee')).toEqual({ consumer: 'lee' });
    expect(indexProblems(withIndex(index))).toEqual([NOT_AN_INDEX]);
  });

  test('an incomplete index: what it leaves out is refused, check counts it', async () => {
    const partial = withIndex(consumerIndexOf({ consumers: doc.consumers.slice(0, 2) }));
    const source = consumersSource(partial, ORIGIN, CAPS);
    expectOk(await authenticate(JACK.seedToken, source, policy(), NOW));
    expectFailure(
      await authenticate(await sign('HS256', bytes('lee-secret-0123456789-0123456789'), { key: '__proto__' }), source, policy(), NOW),
      'CREDENTIAL_UNKNOWN',
    );
    expect(source.consumer!('lee')).toBeNull();
    expect(indexProblems(partial)).toEqual([stale('1 credential key and 1 username')]);
  });

  test('a longer probe limit than needed is harmless; a shorter one loses what sits further', async () => {
    const index = indexed.index as { keys: { probes: number } };
    const generous = withIndex({ ...index, keys: { ...index.keys, probes: 1e9 } });
    expectOk(await authenticate(await kimToken(), consumersSource(generous, ORIGIN, CAPS), policy(), NOW));
    expectFailure(
      await authenticate(await sign('HS256', bytes('x'), { key: 'nobody' }), consumersSource(generous, ORIGIN, CAPS), policy(), NOW),
      'CREDENTIAL_UNKNOWN',
    );
    expect(indexProblems(generous)).toEqual(['consumer map: does not match the consumers (stale or edited): run `jwt-gateway index` again']);
  });

  test('keys and usernames named like Object.prototype members, or outside the BMP, work with and without an index', async () => {
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '#x', 'k\u{1F600}\uFFFD', '\u00e9t\u00e9'];
    const odd = {
      consumers: names.map((name, i) => ({
        username: name,
        credentials: [{ id: 'c' + i, key: name, secret: 'secret-' + i + '-0123456789-0123456789-0123456789' }],
      })),
    };
    for (const document of [odd, indexDocument(odd), preloaded(indexDocument(odd))]) {
      const source = checkedConsumers(document, ORIGIN, CAPS);
      for (let i = 0; i < names.length; i++) {
        const token = await sign('HS256', bytes('secret-' + i + '-0123456789-0123456789-0123456789'), { key: names[i] });
        expect(expectOk(await authenticate(token, source, policy(), NOW)).identity).toEqual({ consumer: names[i], credential: 'c' + i });
        expect(source.consumer!(names[i])).toEqual({ consumer: names[i] });
      }
      expect(source.consumer!('isPrototypeOf')).toBeNull();
      expectFailure(await authenticate(await sign('HS256', bytes('x'), { key: 'isPrototypeOf' }), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
      expect(source.problems()).toEqual([]);
    }
  });
});

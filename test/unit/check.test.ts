/**
 * `jwt-gateway check` (build/cli): every broken config is refused with the
 * file, the entry and the field named, and a non-zero exit status; a good one
 * passes. The command line is run as a user runs it, from the built bundle.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkDocument } from '../../cli/check';
import { indexDocument, indexedText } from '../../cli/index';
import { hashOf, INDEX_HASH } from '../../njs/core/keys/hash-index';
import { formatLayout, LAYOUT_PREFIX, parseLayout } from '../../njs/core/keys/layout';
import { CLI as cli, cliTestFiles, ROOT } from '../support/cli';
import { CAPS, jackConsumer } from '../support/core';
import { repointed } from '../support/index-documents';

const scratch = cliTestFiles('check-test');

function check(name: string, content: string | object, extraArgs: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(scratch(), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  const result = spawnSync(process.execPath, [cli, 'check', ...extraArgs, file], {
    encoding: 'utf8',
    env: { ...process.env, CHECK_TEST_SET: 'a-secret-value-of-at-least-32-bytes' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const pem = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ecJwk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });

test('a good consumer map passes with exit 0', () => {
  const result = check('good.json', {
    consumers: [jackConsumer(), { username: 'rsa', credentials: [{ id: 'c-rsa', key: 'rsa-key', algorithm: 'RS256', public_key: pem(2048) }] }],
  });
  expect(result).toMatchObject({ status: 0, stderr: '' });
  expect(result.stdout).toMatch(/good\.json: ok/);
});

test('a good JWK Set passes', () => {
  expect(check('jwks.json', { keys: [{ ...ecJwk(), kid: 'ec-1', alg: 'ES256' }] }).status).toBe(0);
});

test.each([
  ['not valid JSON', '{"consumers": [', /bad\.json: not valid JSON/],
  ['duplicate JSON names', '{"consumers": [], "consumers": []}', /duplicate member name "consumers"/],
  ['neither a consumer map nor a JWK Set', { users: [] }, /not a consumer map/],
  [
    'unknown credential field',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: 's', secert: 'typo' }] }] },
    /consumers\[0\] \("a"\)\.credentials\[0\] \("c"\): field "secert": unknown field/,
  ],
  ['unknown consumer field', { consumers: [{ username: 'a', credentails: [], credentials: [] }] }, /consumers\[0\]: field "credentails": unknown field/],
  [
    'duplicate username',
    {
      consumers: [
        { username: 'a', credentials: [] },
        { username: 'a', credentials: [] },
      ],
    },
    /consumers\[1\] \("a"\): field "username": duplicate username/,
  ],
  [
    'duplicate credential key',
    {
      consumers: [
        { username: 'a', credentials: [{ key: 'k', secret: 's' }] },
        { username: 'b', credentials: [{ key: 'k', secret: 't' }] },
      ],
    },
    /consumers\[1\] \("b"\)\.credentials\[0\]: field "key": duplicate key "k"/,
  ],
  [
    'duplicate credential id',
    {
      consumers: [
        {
          username: 'a',
          credentials: [
            { id: 'x', key: 'k1', secret: 's' },
            { id: 'x', key: 'k2', secret: 's' },
          ],
        },
      ],
    },
    /credentials\[1\] \("x"\): field "id": duplicate credential id/,
  ],
  [
    'PEM that does not parse',
    {
      consumers: [
        { username: 'a', credentials: [{ id: 'c', key: 'k', algorithm: 'RS256', public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }] },
      ],
    },
    /\("c"\): field "public_key": not a DER SubjectPublicKeyInfo/,
  ],
  [
    'RSA key under 2048 bits',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', algorithm: 'RS256', public_key: pem(1024) }] }] },
    /field "public_key": RSA key has 1024 bits; at least 2048/,
  ],
  [
    'alg that does not fit the key type',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', algorithm: 'ES256', public_key: pem(2048) }] }] },
    /field "algorithm": ES256 cannot be used with a RSA key/,
  ],
  [
    'unknown algorithm',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', algorithm: 'none', secret: 's' }] }] },
    /field "algorithm": unsupported algorithm "none"/,
  ],
  ['missing secret', { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k' }] }] }, /field "secret": missing/],
  [
    '$env:// reference that does not resolve',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: '$env://CHECK_TEST_UNSET' }] }] },
    /field "secret": references \$env:\/\/CHECK_TEST_UNSET, which is not set/,
  ],
  ['bad rate limit', { consumers: [{ username: 'a', limit: { count: 0, time_window: 30 }, credentials: [] }] }, /consumers\[0\] \("a"\): field "limit\.count"/],
  ['JWK that does not parse', { keys: [{ kty: 'RSA', kid: 'r1', n: 'not+base64url', e: 'AQAB' }] }, /keys\[0\] \(kid "r1"\): field "n": not valid base64url/],
  [
    'JWK alg against its key type',
    { keys: [{ ...ecJwk(), kid: 'e1', alg: 'RS256' }] },
    /keys\[0\] \(kid "e1"\): field "alg": RS256 cannot be used with a EC P-256 key/,
  ],
  [
    'duplicate kid',
    {
      keys: [
        { ...ecJwk(), kid: 'same' },
        { ...ecJwk(), kid: 'same' },
      ],
    },
    /keys\[1\] \(kid "same"\): field "kid": duplicate kid/,
  ],
  ['a private key in a JWK Set', { keys: [{ kty: 'oct', kid: 'o', k: 'c2VjcmV0', d: 'x' }] }, /field "d": private key material must not be configured/],
  ['bad revocation list', { jti: 'not-a-list', color: [] }, /revocation list: field "jti"[\s\S]*field "color": unknown field/],
  // RFC 7518 3.2: an HMAC key no shorter than the hash output
  [
    'a secret of 1 byte',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: 'a' }] }] },
    /\("c"\): field "secret": HMAC key has 1 byte; HS256 needs at least 32 \(RFC 7518 3\.2/,
  ],
  [
    'a base64 secret of 1 byte',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: 'AA==', base64_secret: true }] }] },
    /field "secret": HMAC key has 1 byte; HS256 needs at least 32/,
  ],
  [
    'a secret of 35 bytes for HS384',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', algorithm: 'HS384', secret: 'jack-hs256-secret-that-is-very-long' }] }] },
    /field "secret": HMAC key has 35 bytes; HS384 needs at least 48/,
  ],
  [
    'a 1-byte oct JWK',
    { keys: [{ kty: 'oct', kid: 'o', k: 'AQ' }] },
    /keys\[0\] \(kid "o"\): field "k": HMAC key has 1 byte; at least 32 are required \(HS256; 48 for HS384, 64 for HS512\)/,
  ],
  ['an empty JWK Set', { keys: [] }, /bad\.json: JWK Set: field "keys": empty: no key can verify a token, so every token is refused/],
  [
    'a JWK Set whose only key is refused',
    { keys: [{ kty: 'oct', kid: 'o', k: 'AQ' }] },
    /JWK Set: field "keys": no usable key \(every entry is refused, see above\)/,
  ],
  [
    'a consumer map without credentials',
    { consumers: [{ username: 'a', credentials: [] }] },
    /bad\.json: consumer map: field "consumers": no credentials: no token can verify, so every token is refused/,
  ],
  [
    'a consumer map without a usable credential',
    { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: 'short' }] }] },
    /consumer map: field "consumers": no usable credential \(every credential is refused, see above\)/,
  ],
  ['a JSON text with a byte order mark', '\ufeff{"keys": []}', /bad\.json: starts with a UTF-8 byte order mark, which JSON does not allow \(RFC 8259 8\.1\)/],
  [
    'two keys of one type under one kid',
    {
      keys: [
        { ...ecJwk(), kid: 'same', alg: 'ES256' },
        { ...ecJwk(), kid: 'same' },
      ],
    },
    /keys\[1\] \(kid "same"\): field "kid": duplicate kid: keys\[0\] has it too and also fits ES256, so a token with this kid and alg is checked against keys\[0\] only/,
  ],
])('refuses %s, naming file, entry and field', (_name, content, expected) => {
  const result = check('bad.json', content);
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(new RegExp(path.join(scratch(), 'bad.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  expect(result.stderr).toMatch(expected);
  expect(result.stderr).toMatch(/\d+ problem\(s\) found/);
});

test("RFC 7520's JWK Set passes: its RSA and EC keys share a kid, which RFC 7517 4.5 allows for keys of different types", () => {
  const fixture = path.join(ROOT, 'test', 'fixtures', 'rfc7520-jwks.json');
  const document = JSON.parse(readFileSync(fixture, 'utf8'));
  expect(document.keys.map((key: { kty: string; kid: string }) => key.kty + ' ' + key.kid)).toEqual([
    'EC bilbo.baggins@hobbiton.example',
    'RSA bilbo.baggins@hobbiton.example',
  ]);
  const result = spawnSync(process.execPath, [cli, 'check', fixture], { encoding: 'utf8' });
  expect(result).toMatchObject({ status: 0, stdout: fixture + ': ok\n', stderr: '' });
});

test('a resolvable $env:// reference passes, and the secret never appears in the output', () => {
  const result = check('env.json', { consumers: [{ username: 'a', credentials: [{ id: 'c', key: 'k', secret: '$env://CHECK_TEST_SET' }] }] });
  expect(result.status).toBe(0);
  expect(result.stdout + result.stderr).not.toContain('a-secret-value');
  expect(result.stdout).toMatch(/env\.json: ok/);
});

test('Ed25519 keys are an error for njs before 0.9.7 and fine after', () => {
  const jwk = { ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'ed' };
  expect(check('ed.json', { keys: [jwk] }, ['--njs', '0.7.9'])).toMatchObject({
    status: 1,
    stderr: expect.stringMatching(/field "x": Ed25519 \(EdDSA\) keys need njs 0\.9\.7/),
  });
  expect(check('ed.json', { keys: [jwk] }, ['--njs', '0.9.7']).status).toBe(0);
});

test('several files: each is reported, the exit status covers them all', () => {
  const good = path.join(scratch(), 'good2.json');
  writeFileSync(good, JSON.stringify({ consumers: [jackConsumer()] }));
  const bad = path.join(scratch(), 'bad2.json');
  writeFileSync(bad, '[]');
  const result = spawnSync(process.execPath, [cli, 'check', good, bad, path.join(scratch(), 'missing.json')], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stdout).toMatch(/good2\.json: ok/);
  expect(result.stderr).toMatch(/bad2\.json: not a JSON object/);
  expect(result.stderr).toMatch(/missing\.json: cannot be read/);
});

test('index writes the file with its index, check passes it, and refuses it once the consumers change', () => {
  const source = path.join(scratch(), 'to-index.json');
  const indexed = path.join(scratch(), 'indexed.json');
  writeFileSync(
    source,
    JSON.stringify({ consumers: [jackConsumer(), { username: 'kim', credentials: [{ key: 'kim-key', secret: 'kim-secret-0123456789-0123456789' }] }] }),
  );
  const made = spawnSync(process.execPath, [cli, 'index', source, '--out', indexed], { encoding: 'utf8' });
  expect(made).toMatchObject({ status: 0, stdout: '' });
  expect(made.stderr).toMatch(/2 credential keys and 2 usernames indexed, written to .*indexed\.json/);
  expect(spawnSync(process.execPath, [cli, 'check', indexed], { encoding: 'utf8' }).status).toBe(0);
  const document = JSON.parse(readFileSync(indexed, 'utf8'));
  expect(document.index.hash).toBe(INDEX_HASH);
  document.consumers.reverse();
  const stale = check('stale.json', document);
  expect(stale.status).toBe(1);
  expect(stale.stderr).toMatch(
    /stale\.json: consumer map: field "index": does not match the consumers \(stale or edited; 2 credential keys and 2 usernames not found through it, their tokens are refused\): run `jwt-gateway index` again/,
  );
  const reindexed = spawnSync(process.execPath, [cli, 'index', path.join(scratch(), 'stale.json'), '--out', path.join(scratch(), 'stale.json')], {
    encoding: 'utf8',
  });
  expect(reindexed.status).toBe(0);
  expect(check('stale.json', readFileSync(path.join(scratch(), 'stale.json'), 'utf8')).status).toBe(0);
  const revocations = path.join(scratch(), 'revoked-for-index.json');
  writeFileSync(revocations, JSON.stringify({ jti: ['x'] }));
  const notAMap = spawnSync(process.execPath, [cli, 'index', revocations], { encoding: 'utf8' });
  expect(notAMap.status).toBe(2);
  expect(notAMap.stderr).toMatch(/nothing indexed: not a consumer map/);
});

test('index of a JWK Set prints it with its index on stdout; check reports a hand-edited one', () => {
  const file = path.join(scratch(), 'jwks-to-index.json');
  const jwks = {
    keys: [
      { ...ecJwk(), kid: 'ec-1' },
      { ...ecJwk(), kid: 'ec-2' },
      { ...ecJwk(), kid: 'ec-2' },
    ],
  };
  writeFileSync(file, JSON.stringify(jwks));
  const made = spawnSync(process.execPath, [cli, 'index', file], { encoding: 'utf8' });
  expect(made.status).toBe(0);
  expect(made.stderr).toMatch(/jwks-to-index\.json: 3 keys with a kid indexed\n$/);
  const document = JSON.parse(made.stdout);
  expect(document.keys).toEqual(jwks.keys);
  expect(document.index.withoutKid.ES256).toEqual([0, 1, 2]);
  expect(check('jwks-indexed.json', document).stderr).not.toMatch(/field "index"/);
  const edited = check('jwks-edited.json', { ...document, index: repointed(document.index, 'kids', [0], [1]) });
  expect(edited.status).toBe(1);
  expect(edited.stderr).toMatch(
    /jwks-edited\.json: JWK Set: field "index": does not match the keys \(stale or edited; 1 kid not found through it, their tokens are refused\): run `jwt-gateway index` again/,
  );
  document.index = 'x';
  expect(check('jwks-malformed.json', document).stderr).toMatch(
    /field "index": not an index written by this version of `jwt-gateway index` \(every lookup walks the whole file\)/,
  );
  expect(spawnSync(process.execPath, [cli, 'index', file, '--out'], { encoding: 'utf8' })).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/usage:/),
  });
  expect(spawnSync(process.execPath, [cli, 'index', file, file], { encoding: 'utf8' })).toMatchObject({ status: 2, stderr: expect.stringMatching(/usage:/) });
});

describe('checkDocument: the layout of an indexed consumer map (jwt-gateway index)', () => {
  const FILE = '/etc/nginx/consumers.json';
  const doc = {
    consumers: [
      jackConsumer(),
      { username: 'kim', labels: { custom_id: 'k-1' }, credentials: [{ id: 'cred-kim', key: 'kim-key', secret: 'kim-secret-0123456789-0123456789' }] },
      { username: 'lee', credentials: [{ id: 'cred-lee', key: 'lee-key', secret: 'lee-secret-0123456789-0123456789' }] },
    ],
  };
  const text = indexedText(doc);
  const checked = (content: string) => checkDocument(FILE, new Uint8Array(Buffer.from(content)), CAPS);
  const layoutProblem = { file: FILE, entry: 'consumer map', field: 'index', message: expect.stringContaining('layout does not match') };
  const layoutProblemsOf = (content: string) => checked(content).filter((p) => /layout does not match/.test(p.message));

  /** The text with `from` replaced by `to` once (where it is the only one), at the same length. */
  function sameLength(from: string, to: string): string {
    expect([to.length, text.split(from).length]).toEqual([from.length, 2]);
    return text.replace(from, to);
  }

  test('the text indexedText writes: no problem at all', () => {
    expect(text.startsWith(LAYOUT_PREFIX)).toBe(true);
    const index = JSON.parse(text).index;
    // 8 slots a table (for `elsewhere` below)
    expect([index.keys.slots.length / (2 * index.keys.digits), index.usernames.slots.length / index.usernames.digits]).toEqual([8, 8]);
    expect(checked(text)).toEqual([]);
  });

  /** A name of the same length as `name` whose home slot in a table of 8 slots (3 entries) is another. */
  function elsewhere(name: string): string {
    const home = (text: string) => hashOf(text) & 7;
    for (const c of 'abcdefghijklmnopqrstuvwxyz') {
      const other = name.slice(0, -1) + c;
      if (home(other) !== home(name)) return other;
    }
    throw new Error('no other home for ' + name);
  }

  test.each([
    ['a username', 'username', 'kim'],
    ['a credential key', 'key', 'lee-key'],
  ])("%s changed at the same length: the layout does not match (nor do the index's tables)", (_name, field, value) => {
    const edited = sameLength('"' + field + '":"' + value + '"', '"' + field + '":"' + elsewhere(value) + '"');
    expect(Buffer.byteLength(edited)).toBe(Buffer.byteLength(text));
    const problems = checked(edited);
    expect(problems).toContainEqual(expect.objectContaining(layoutProblem));
    expect(problems.filter((p) => p.field === 'index')).toHaveLength(2);
    expect(problems).toContainEqual(expect.objectContaining({ field: 'index', message: expect.stringMatching(/^does not match the consumers/) }));
  });

  test('a username renamed at the same length to one of the same home slot: the tables are the same, so is the text, no problem', () => {
    const home = (name: string) => hashOf(name) & 7;
    const twin = [...'abcdefghijklmnopqrstuvwxyz'].map((c) => 'k' + c + 'm').find((name) => name !== 'kim' && home(name) === home('kim'))!;
    const edited = sameLength('"username":"kim"', '"username":"' + twin + '"');
    expect(indexedText(JSON.parse(edited))).toBe(edited);
    expect(checked(edited)).toEqual([]);
  });

  test('a field the index does not hold (a secret) changed at the same length: the file is what `jwt-gateway index` would write, so no problem', () => {
    // The gateway reads the new secret by position, where the layout says it is: nothing to report.
    const edited = sameLength('"secret":"kim-secret-0123456789-0123456789"', '"secret":"KIM-secret-0123456789-0123456789"');
    expect(checked(edited)).toEqual([]);
  });

  test.each([
    ['a newline', '\n'],
    ['a space', ' '],
    ['CR LF', '\r\n'],
  ])('%s appended: the layout does not match', (_name, extra) => {
    expect(layoutProblemsOf(text + extra)).toEqual([expect.objectContaining(layoutProblem)]);
  });

  test('the newline removed, or the layout string edited: the layout does not match', () => {
    expect(layoutProblemsOf(text.slice(0, -1))).toEqual([expect.objectContaining(layoutProblem)]);
    const layout = parseLayout(Buffer.from(text))!;
    const wrongSize = text.replace(LAYOUT_PREFIX + formatLayout(layout), LAYOUT_PREFIX + formatLayout({ ...layout, size: layout.size + 1 }));
    expect(wrongSize.length).toBe(text.length);
    expect(layoutProblemsOf(wrongSize)).toEqual([expect.objectContaining(layoutProblem)]);
  });

  test('reformatted with its first bytes kept (spaces after the layout): the layout does not match', () => {
    const spaced = text.replace(',"hash":', ', "hash": ').replace('"consumers":[', '"consumers": [');
    expect(spaced.startsWith(LAYOUT_PREFIX)).toBe(true);
    expect(layoutProblemsOf(spaced)).toEqual([expect.objectContaining(layoutProblem)]);
  });

  test('pretty-printed: the layout does not match', () => {
    const pretty = JSON.stringify(JSON.parse(text), null, 2) + '\n';
    expect(JSON.parse(pretty).index.layout).toMatch(/^jwt-gateway positions 1 /);
    expect(layoutProblemsOf(pretty)).toEqual([expect.objectContaining(layoutProblem)]);
  });

  test('a consumer map without a layout (plain JSON, with or without the hash index) reports none', () => {
    expect(checked(JSON.stringify(doc))).toEqual([]);
    expect(checked(JSON.stringify(doc, null, 2))).toEqual([]);
    expect(checked(JSON.stringify(indexDocument(doc)))).toEqual([]);
    expect(checked(JSON.stringify({ index: (indexDocument(doc) as { index: unknown }).index, consumers: doc.consumers }))).toEqual([]);
  });

  test('a JWK Set written by indexedText reports none', () => {
    const jwks = { keys: [{ kty: 'oct', kid: 'o', k: Buffer.from('an-hmac-key-of-at-least-32-bytes-0123456789').toString('base64url') }] };
    expect(checkDocument(FILE, new Uint8Array(Buffer.from(indexedText(jwks))), CAPS)).toEqual([]);
  });
});

/**
 * Property-based fuzzing of the pure verifier (fast-check) with real keys:
 * a consumer map and a JWK Set, each with an HS256, an RS256 and an ES256 key,
 * and valid tokens minted by test/support/tokens.ts. Random strings, random
 * segments and random JOSE-shaped documents, and valid tokens put through
 * mutations (test/support/mutations.ts: bit flips,
 * character edits, segment swaps and drops, re-encodings, unsigned claim and
 * header changes, algorithm confusion, junk around the token) must all:
 *   - resolve to a result (authenticate never throws, its promise never rejects);
 *   - be rejected unless the token is exactly a valid token of that key source;
 *   - fail with a known code, status 401 and one of the APISIX messages;
 *   - never carry key material in the failure (detail, config problems);
 *   - keep the detail (it goes to the error log) printable and bounded.
 * The seed is fixed (FUZZ_SEED overrides it); fast-check prints the seed, the
 * path and the shrunk counterexample when a property fails.
 */
import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { authenticate, AuthResult } from '../../njs/core/authenticate';
import { FailureCode, Problem } from '../../njs/core/errors';
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { KeySource } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { b64u, b64uJson, CAPS, NOW, policy } from '../support/core';
import {
  ALG_VALUES,
  applyMutation,
  B64URL_CHARS,
  CLAIM_NAMES,
  HEADER_NAMES,
  interestingValues,
  JUNK_TEXTS,
  Mutation,
  MutationContext,
} from '../support/mutations';
import { mintJwt } from '../support/tokens';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20241017;

/** Every FailureCode, checked against the type both ways by the compiler. */
const FAILURE_CODES: { [code in FailureCode]: true } = {
  TOKEN_MISSING: true,
  TOKEN_MALFORMED: true,
  TOKEN_TOO_LARGE: true,
  KEY_CLAIM_MISSING: true,
  CREDENTIAL_UNKNOWN: true,
  ALG_NOT_ALLOWED: true,
  CRIT_UNSUPPORTED: true,
  KEY_NOT_FOUND: true,
  KEYS_UNAVAILABLE: true,
  SIGNATURE_INVALID: true,
  TOKEN_EXPIRED: true,
  TOKEN_NOT_YET_VALID: true,
  CLAIM_MISSING: true,
  CLAIM_INVALID: true,
  TOKEN_MULTIPLE: true,
  TOKEN_REVOKED: true,
  CLAIM_RULE_FAILED: true,
  REQUIREMENT_FAILED: true,
  CONFIG_INVALID: true,
  INTERNAL: true,
};

/** What APISIX tells the client; the verifier's failures are always 401 with one of these. */
const APISIX_MESSAGES = [
  'Missing JWT token in request',
  'JWT token invalid',
  'missing user key in JWT token',
  'Invalid user key in JWT token',
  'Multiple tokens provided',
  'failed to verify jwt',
];

// Key material: fresh each run, so nothing secret lives in the repository.
const HS_SECRET = randomBytes(24).toString('hex');
const JWKS_SECRET = new Uint8Array(randomBytes(32));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
// The JWK Set has keys of its own, so a consumer's token can never verify there.
const rsaJwks = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecJwks = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

function jwk(key: KeyObject, extra: JsonObject): JsonObject {
  return { ...(key.export({ format: 'jwk' }) as JsonObject), ...extra };
}

/** Any 12 characters of a secret, in any of its spellings, found in a failure is a leak. */
const SECRET_FRAGMENTS: string[] = [];
for (const secret of [HS_SECRET, b64u(HS_SECRET), b64u(JWKS_SECRET), Buffer.from(JWKS_SECRET).toString('hex'), Buffer.from(JWKS_SECRET).toString('base64')]) {
  for (let i = 0; i + 12 <= secret.length; i++) SECRET_FRAGMENTS.push(secret.slice(i, i + 12));
}

const consumers = consumersSource(
  {
    consumers: [
      { username: 'hs', credentials: [{ id: 'cred-hs', key: 'hs-key', secret: HS_SECRET }] },
      { username: 'rs', credentials: [{ id: 'cred-rs', key: 'rs-key', algorithm: 'RS256', public_key: pem(rsa.publicKey) }] },
      { username: 'es', credentials: [{ id: 'cred-es', key: 'es-key', algorithm: 'ES256', public_key: pem(ec.publicKey) }] },
    ],
  },
  '/etc/nginx/consumers.json',
  CAPS,
);
const jwks = jwksSource(
  {
    keys: [
      { kty: 'oct', kid: 'hs', alg: 'HS256', k: b64u(JWKS_SECRET) },
      // No alg: the key type alone binds it to RS*/PS*.
      jwk(rsaJwks.publicKey, { kid: 'rs' }),
      jwk(ecJwks.publicKey, { kid: 'es', alg: 'ES256' }),
    ],
  },
  '/etc/nginx/keys.json',
  CAPS,
);
const SOURCES: { [name: string]: KeySource } = { consumers, jwks };

const POLICY = policy({ requiredClaims: ['sub'], issuers: ['fuzz-issuer'], audiences: ['api'] });

interface Case {
  name: string;
  source: string;
  token: string;
}

const CASES: Case[] = [];
/** Exactly the tokens each source accepts. */
const VALID: { [source: string]: string[] } = { consumers: [], jwks: [] };

function claims(extra: JsonObject): JsonObject {
  return { sub: 'fuzzer', iss: 'fuzz-issuer', aud: 'api', iat: NOW - 60, nbf: NOW - 60, exp: NOW + 3600, jti: 'j-1', ...extra };
}

beforeAll(async () => {
  const minted: [string, string, string][] = [
    ['consumer HS256', 'consumers', mintJwt('HS256', Buffer.from(HS_SECRET), claims({ key: 'hs-key' }))],
    ['consumer RS256', 'consumers', mintJwt('RS256', rsa.privateKey, claims({ key: 'rs-key' }))],
    ['consumer ES256', 'consumers', mintJwt('ES256', ec.privateKey, claims({ key: 'es-key' }))],
    ['JWK Set HS256', 'jwks', mintJwt('HS256', JWKS_SECRET, claims({}), { kid: 'hs' })],
    ['JWK Set RS256', 'jwks', mintJwt('RS256', rsaJwks.privateKey, claims({}), { kid: 'rs' })],
    ['JWK Set ES256', 'jwks', mintJwt('ES256', ecJwks.privateKey, claims({}), { kid: 'es' })],
    ['JWK Set ES256 without kid', 'jwks', mintJwt('ES256', ecJwks.privateKey, claims({}))],
  ];
  for (const [name, source, token] of minted) {
    CASES.push({ name, source, token });
    VALID[source].push(token);
  }
});

/** Details go to the error log: token-derived text in them must be printable and bounded (errors.ts `quote`). */
const MAX_DETAIL = 400;
function isLogSafe(detail: string): boolean {
  return /^[\x20-\x7e]*$/.test(detail) && detail.length <= MAX_DETAIL;
}

/** Problem codes met so far, to check the generators reach past the parser. */
const codesSeen: { [code: string]: number } = {};

/** Runs the verifier and checks every invariant; throws (for fast-check) with what broke. */
async function check(source: string, token: string): Promise<AuthResult> {
  let result: AuthResult;
  try {
    result = await authenticate(token, SOURCES[source], POLICY, NOW);
  } catch (e) {
    throw new Error('authenticate threw or rejected: ' + String((e as Error)?.stack || e), { cause: e });
  }
  if (result === null || typeof result !== 'object' || (result.ok !== true && result.ok !== false)) {
    throw new Error('authenticate resolved to a non-result: ' + JSON.stringify(result));
  }
  const valid = VALID[source].indexOf(token) >= 0;
  if (result.ok !== valid) {
    throw new Error(
      (valid ? 'valid token rejected: ' + JSON.stringify(result) : 'token accepted that is not a valid token of ' + source) + ': ' + JSON.stringify(token),
    );
  }
  if (result.ok) return result;
  const failure: Problem = result;
  if (!Object.prototype.hasOwnProperty.call(FAILURE_CODES, failure.code)) throw new Error('unknown failure code ' + JSON.stringify(failure.code));
  if (failure.status !== 401) throw new Error('verifier failure with status ' + failure.status);
  if (!failure.message || APISIX_MESSAGES.indexOf(failure.message) < 0) throw new Error('message is not an APISIX one: ' + JSON.stringify(failure.message));
  if (typeof failure.detail !== 'string' || failure.detail === '') throw new Error('detail is not a non-empty string: ' + JSON.stringify(failure.detail));
  if (!isLogSafe(failure.detail))
    throw new Error('detail is not log-safe (printable ASCII, at most ' + MAX_DETAIL + ' characters): ' + JSON.stringify(failure.detail.slice(0, 200)));
  codesSeen[failure.code] = (codesSeen[failure.code] || 0) + 1;
  const text = JSON.stringify(failure);
  for (const fragment of SECRET_FRAGMENTS) {
    if (text.indexOf(fragment) >= 0) throw new Error('failure contains key material: ' + text);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Generators

const CASE = fc.integer({ min: 0, max: 6 }).map((i) => CASES[i]);
const SOURCE = fc.constantFrom('consumers', 'jwks');
const SEGMENT = fc.integer({ min: 0, max: 2 });
const JUNK = fc.oneof(fc.constantFrom(...JUNK_TEXTS), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary-ascii', maxLength: 40 }));
/** Text that is JSON-like but rarely JSON: raw control characters, duplicate names, odd nesting. */
const JSON_FRAGMENTS = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '"alg"',
  '"HS256"',
  '"RS256"',
  '"ES256"',
  '"kid"',
  '"key"',
  '"hs-key"',
  '"exp"',
  '1',
  '-0',
  '1e999',
  'null',
  'true',
  ' ',
  '\n',
  '"\\u0000"',
  '"\\ud800"',
  '"\\"',
  '"a\nb"',
  '"\u2028"',
  '\\',
  '"',
];
const JSON_TEXT = fc
  .array(
    fc.oneof(
      fc.constantFrom(...JSON_FRAGMENTS),
      fc.string({ unit: 'binary', maxLength: 6 }).map((s) => '"' + s + '"'),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));
const JSON_VALUE = fc.oneof(fc.constantFrom(...interestingValues(NOW)), fc.jsonValue({ maxDepth: 2 }));

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flipBit' as const), segment: SEGMENT, byte: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('setByte' as const), segment: SEGMENT, byte: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('substitute' as const),
    at: fc.nat(),
    char: fc.oneof(
      fc.constantFrom(...B64URL_CHARS.split(''), '.', '=', '+', '/', ' ', '%', '\u0000', '\u00ff'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: JUNK }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: SEGMENT, b: SEGMENT }),
  fc.record({ kind: fc.constant('duplicate' as const), segment: SEGMENT, at: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('drop' as const), segment: SEGMENT }),
  fc.record({ kind: fc.constant('replaceSegment' as const), segment: SEGMENT, bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('borrowSegment' as const), segment: SEGMENT, from: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('padding' as const), segment: SEGMENT, pad: fc.constantFrom('=', '==', '===', '====') }),
  fc.record({ kind: fc.constant('standardBase64' as const), padded: fc.boolean() }),
  fc.record({
    kind: fc.constant('claim' as const),
    name: fc.oneof(fc.constantFrom(...CLAIM_NAMES), fc.string({ maxLength: 8 })),
    value: JSON_VALUE,
    remove: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('header' as const),
    name: fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.string({ maxLength: 8 })),
    value: JSON_VALUE,
    remove: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('alg' as const), alg: fc.constantFrom(...ALG_VALUES) }),
  fc.record({
    kind: fc.constant('reserialize' as const),
    segment: fc.integer({ min: 0, max: 1 }),
    style: fc.constantFrom('spaces' as const, 'reorder' as const, 'escape' as const, 'duplicate' as const, 'bom' as const, 'utf16' as const),
  }),
  fc.record({
    kind: fc.constant('signature' as const),
    change: fc.constantFrom('empty' as const, 'zeros' as const, 'zeroHalf' as const, 'shorten' as const, 'lengthen' as const, 'highBit' as const),
    amount: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    kind: fc.constant('resign' as const),
    how: fc.constantFrom('none' as const, 'noneKeepSignature' as const, 'attackerRsa' as const, 'attackerEc' as const, 'attackerHs' as const),
  }),
  fc.record({ kind: fc.constant('confusion' as const), alg: fc.constantFrom('HS256' as const, 'HS384' as const, 'HS512' as const), material: fc.nat() }),
  fc.record({
    kind: fc.constant('rawMember' as const),
    segment: fc.integer({ min: 0, max: 1 }),
    name: fc.oneof(fc.constantFrom('alg', 'kid', 'key', 'exp', 'crit'), fc.string({ unit: 'binary', maxLength: 80 })),
    value: fc.oneof(fc.constantFrom('"none"', '"HS256"', '1', 'null', '{}', '[]'), JSON_TEXT),
    twice: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('junk' as const), where: fc.constantFrom('prefix' as const, 'suffix' as const), text: JUNK }),
);

// ---------------------------------------------------------------------------
// Applying a mutation: test/support/mutations.ts.

/** Public key material an attacker has, used as an HMAC secret (algorithm confusion, CVE-2015-9235 style). */
const PUBLIC_MATERIALS: (string | Buffer)[] = [rsa, ec, rsaJwks, ecJwks].flatMap(({ publicKey }) => [
  pem(publicKey),
  pem(publicKey).trim(),
  publicKey.export({ type: 'spki', format: 'der' }),
  JSON.stringify(jwk(publicKey, {})),
]);

/** Segments are borrowed from the valid tokens (in CASES order). */
const MUTATION_CONTEXT: MutationContext = {
  get tokens() {
    return CASES.map((c) => c.token);
  },
  publicMaterials: PUBLIC_MATERIALS,
  attackerRsa: attackerRsa.privateKey,
  attackerEc: attackerEc.privateKey,
};

function apply(token: string, m: Mutation): string {
  return applyMutation(token, m, MUTATION_CONTEXT);
}

// ---------------------------------------------------------------------------

function options(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: SEED };
}

describe('fuzz: the verifier with real keys (fast-check, seed ' + SEED + ')', () => {
  test('the valid tokens verify, and only against their own source', async () => {
    expect(CASES).toHaveLength(7);
    for (const c of CASES) {
      const result = await check(c.source, c.token);
      expect(result.ok).toBe(true);
      await check(c.source === 'jwks' ? 'consumers' : 'jwks', c.token);
    }
  });

  test('random strings (any UTF-16, ASCII, token alphabet) are rejected cleanly', async () => {
    const strings = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 400 }),
      fc.string({ unit: fc.constantFrom(...(B64URL_CHARS + '..').split('')), maxLength: 600 }),
      fc.string({ unit: fc.constantFrom(...(B64URL_CHARS + '.=+/ ').split('')), minLength: 16300, maxLength: 16500 }),
    );
    await fc.assert(
      fc.asyncProperty(SOURCE, strings, async (source, token) => void (await check(source, token))),
      options(1000),
    );
  });

  test('random bytes in three (or more, or fewer) base64url segments are rejected cleanly', async () => {
    const segments = fc.array(fc.uint8Array({ maxLength: 400 }), { minLength: 1, maxLength: 5 });
    const threeMostly = fc.oneof(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })), segments);
    await fc.assert(
      fc.asyncProperty(SOURCE, threeMostly, async (source, parts) => void (await check(source, parts.map((p) => b64u(p)).join('.')))),
      options(1000),
    );
  });

  test('random JOSE-shaped documents (real algs, kids and key claims) with random signatures are rejected cleanly', async () => {
    const header = fc.record(
      {
        alg: fc.oneof(fc.constantFrom('HS256', 'RS256', 'ES256', 'PS256', 'ES384', 'EdDSA'), fc.constantFrom(...ALG_VALUES)),
        kid: fc.oneof(fc.constantFrom('hs', 'rs', 'es'), JSON_VALUE),
        typ: fc.constant('JWT'),
        crit: fc.constant(['exp']),
        key: JSON_VALUE,
      },
      { requiredKeys: ['alg'] },
    );
    const payload = fc.oneof(
      fc.record(
        {
          key: fc.oneof(fc.constantFrom('hs-key', 'rs-key', 'es-key'), JSON_VALUE),
          sub: JSON_VALUE,
          exp: JSON_VALUE,
          nbf: JSON_VALUE,
          iat: JSON_VALUE,
          iss: JSON_VALUE,
          aud: JSON_VALUE,
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string({ maxLength: 6 }), JSON_VALUE, { maxKeys: 6 }),
      JSON_VALUE,
    );
    const signature = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 256, maxLength: 256 }),
      fc.constantFrom(new Uint8Array(64), new Uint8Array(256), new Uint8Array(0)),
      fc.uint8Array({ maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(
        SOURCE,
        header,
        payload,
        signature,
        async (source, h, p, s) => void (await check(source, b64uJson(h) + '.' + b64uJson(p) + '.' + b64u(s))),
      ),
      options(1000),
    );
  });

  test('JSON-like text (duplicate names, control characters, odd nesting) in header and payload is rejected cleanly', async () => {
    const document = fc.oneof(
      JSON_TEXT,
      JSON_TEXT.map((t) => '{' + t + '}'),
      JSON_TEXT.map((t) => '{"alg":"HS256","kid":"hs","key":"hs-key",' + t + '}'),
    );
    const signature = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(SOURCE, document, document, signature, async (source, h, p, s) => void (await check(source, b64u(h) + '.' + b64u(p) + '.' + b64u(s)))),
      options(1000),
    );
  });

  test('mutations of a valid token are rejected cleanly unless the token comes out unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(CASE, fc.array(MUTATION, { minLength: 1, maxLength: 3 }), async (c, mutations) => {
        let token = c.token;
        for (const m of mutations) token = apply(token, m);
        await check(c.source, token);
      }),
      options(1500),
    );
  });

  test('each mutation kind alone, on every valid token', async () => {
    await fc.assert(
      fc.asyncProperty(CASE, MUTATION, async (c, m) => void (await check(c.source, apply(c.token, m)))),
      options(1000),
    );
  });

  test('the generators reach every stage a forged token can reach', () => {
    const reached = [
      'TOKEN_TOO_LARGE',
      'TOKEN_MALFORMED',
      'ALG_NOT_ALLOWED',
      'CRIT_UNSUPPORTED',
      'KEY_CLAIM_MISSING',
      'CREDENTIAL_UNKNOWN',
      'KEY_NOT_FOUND',
      'SIGNATURE_INVALID',
    ];
    expect(reached.filter((code) => !codesSeen[code])).toEqual([]);
  });
});

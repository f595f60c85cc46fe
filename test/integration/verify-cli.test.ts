/**
 * `jwt-gateway verify` decides as the gateway does: each attack and claim
 * case of the integration suite (attacks, algorithms, robustness,
 * keys-hardening, token-places, trust-model, report-only, identity-provider,
 * overrides) goes to a real nginx (direct style) and to verify with the same
 * key file and settings (the command line for the claims group, its function
 * in this process for the others), and both give the same status and the same
 * reason code (the gateway's from its log line). Cases that share settings
 * share a location: one per group below, each with its own `set` lines. In
 * report mode and for the anonymous consumer a request passes with a reason
 * (the gateway's `would deny` and `anonymous` lines), which verify gives too.
 *
 * Left out, as verify cannot have them: where the token is sent (query,
 * cookie, several places), what nginx does around the decision (header
 * limits, hiding, identity headers, rate limits, caches), identity
 * providers, revocation zones and $auth_jwt_require (verify refuses those);
 * tokens over the 128 KiB a command-line argument may have. verify has
 * Ed25519 (Node), so EdDSA cases run only on engines that have it too.
 *
 * Tokens are minted by jose, or, where jose refuses to write them (odd
 * headers, broken JSON, non-canonical base64url, mangled signatures), by
 * node:crypto over hand-built bytes (test/support/tokens.ts); never by the
 * code under test.
 */
import { createSign, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { JWTHeaderParameters, SignJWT } from 'jose';
import { indexDocument, indexedText } from '../../cli/index';
import { engine, gatewayConfig, gatewayPerFile, now } from '../support/gateway';
import { repointed } from '../support/index-documents';
import { b64u, derSignature, signRaw } from '../support/tokens';
import { cliTestFiles, runCli } from '../support/cli';
import { verifyToken } from '../../cli/verify';
import { describeProblem, isProblem } from '../../njs/core/errors';

cliTestFiles('verify-cli-test');

// ---------------------------------------------------------------- keys and key files

const SECRET = 'verify-cli-secret-of-good-length-0123456789abc';
const HS384_SECRET = 'verify-cli-hs384-secret-of-good-length-0123456789abcdef';
const HS512_SECRET = new Uint8Array(randomBytes(64));
const OCT_SECRET = 'verify-cli-oct-hs256-secret-0123456789abcdef';
const K1 = 'k1-secret-of-the-first-key-0123456789';
const K2 = 'k2-secret-of-the-second-key-0123456789';
/** Ed25519 in this engine's WebCrypto: without it the gateway skips EdDSA keys, which verify (Node) can use. */
const ED25519 = engine().features.ed25519;

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const K = {
  alice: rsa(), // RS256: credential alice-key, JWK rs
  carol: rsa(), // PS256: credential carol-key, JWK ps
  bob: ec('P-256'), // ES256: credential bob-key, JWK es (no alg)
  p384: ec('P-384'), // ES384: credential es384-key, JWK es384
  p521: ec('P-521'), // ES512: credential es512-key, JWK es512
  ed: generateKeyPairSync('ed25519'), // EdDSA: credential ed-key, JWK ed (engines with Ed25519)
  // Keys the gateway does not know.
  otherRsa: rsa(),
  otherP256: ec('P-256'),
  otherP384: ec('P-384'),
  otherP521: ec('P-521'),
  otherEd: generateKeyPairSync('ed25519'),
};

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const der = (key: KeyObject) => new Uint8Array(key.export({ type: 'spki', format: 'der' }));
const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' });
const utf8 = (text: string) => new TextEncoder().encode(text);

const CONSUMERS = {
  consumers: [
    { username: 'jack', credentials: [{ key: 'jack-key', secret: SECRET }] },
    { username: 'hs384', credentials: [{ key: 'hs384-key', algorithm: 'HS384', secret: HS384_SECRET }] },
    { username: 'hs512', credentials: [{ key: 'hs512-key', algorithm: 'HS512', secret: Buffer.from(HS512_SECRET).toString('base64'), base64_secret: true }] },
    { username: 'alice', credentials: [{ key: 'alice-key', algorithm: 'RS256', public_key: pem(K.alice.publicKey) }] },
    { username: 'carol', credentials: [{ key: 'carol-key', algorithm: 'PS256', public_key: pem(K.carol.publicKey) }] },
    { username: 'bob', credentials: [{ key: 'bob-key', algorithm: 'ES256', public_key: pem(K.bob.publicKey) }] },
    { username: 'es384', credentials: [{ key: 'es384-key', algorithm: 'ES384', public_key: pem(K.p384.publicKey) }] },
    { username: 'es512', credentials: [{ key: 'es512-key', algorithm: 'ES512', public_key: pem(K.p521.publicKey) }] },
    ...(ED25519 ? [{ username: 'ed', credentials: [{ key: 'ed-key', algorithm: 'EdDSA', public_key: pem(K.ed.publicKey) }] }] : []),
    // HMAC secrets shorter than the hash (1 byte): skipped, with a warn line.
    { username: 'shorty', credentials: [{ key: 'short-key', secret: 'a' }] },
    { username: 'based', credentials: [{ key: 'base64-key', secret: 'AA==', base64_secret: true }] },
  ],
};

const JWKS = {
  keys: [
    { kty: 'oct', kid: 'hs', alg: 'HS256', k: b64u(OCT_SECRET) },
    { kty: 'oct', kid: 'hs384', alg: 'HS384', k: b64u(HS384_SECRET) },
    { kty: 'oct', kid: 'hs512', alg: 'HS512', k: b64u(HS512_SECRET) },
    { ...jwkOf(K.alice.publicKey), kid: 'rs', alg: 'RS256', use: 'sig' },
    { ...jwkOf(K.carol.publicKey), kid: 'ps', alg: 'PS256', use: 'sig' },
    // EC keys are bound by their curve alone.
    { ...jwkOf(K.bob.publicKey), kid: 'es', use: 'sig' },
    { ...jwkOf(K.p384.publicKey), kid: 'es384', use: 'sig' },
    { ...jwkOf(K.p521.publicKey), kid: 'es512', use: 'sig' },
    ...(ED25519 ? [{ ...jwkOf(K.ed.publicKey), kid: 'ed', alg: 'EdDSA', use: 'sig' }] : []),
  ],
};

const TWO_KEYS = {
  keys: [
    { kty: 'oct', kid: 'k1', alg: 'HS256', k: b64u(K1) },
    { kty: 'oct', kid: 'k2', alg: 'HS256', k: b64u(K2) },
  ],
};

/**
 * Maps and sets as `jwt-gateway index` writes them, one slot hand-edited (the
 * layout still holds): key-7 and kid-7 lead to entry 8. A consumer map named by
 * path is then read by position in nginx; verify reads it whole.
 */
const INDEXED = 12;
const indexedSecret = (i: number) => 'indexed-secret-' + i + '-0123456789abcdefghijklmnop';
/** Past the numbered ones: a key and a kid outside ASCII and the BMP (njs and Node see such strings differently). */
const UNICODE_KEY = 'cl\u00e9-\u{1F511}';
const INDEXED_CONSUMERS = {
  consumers: [
    ...Array.from({ length: INDEXED }, (_, i) => ({ username: 'user-' + i, credentials: [{ key: 'key-' + i, secret: indexedSecret(i) }] })),
    { username: 'unicode', credentials: [{ key: UNICODE_KEY, secret: indexedSecret(INDEXED) }] },
  ],
};
const INDEXED_JWKS = {
  keys: Array.from({ length: INDEXED + 1 }, (_, i) => ({ kty: 'oct', kid: i < INDEXED ? 'kid-' + i : UNICODE_KEY, alg: 'HS256', k: b64u(indexedSecret(i)) })),
};
function indexedConsumersText(): string {
  const parsed = JSON.parse(indexedText(INDEXED_CONSUMERS));
  parsed.index = repointed(parsed.index, 'keys', [7, 0], [8, 0]);
  return JSON.stringify(parsed) + '\n';
}
function indexedJwksText(): string {
  const indexed = indexDocument(INDEXED_JWKS) as { index: object };
  return JSON.stringify({ ...indexed, index: repointed(indexed.index, 'kids', [7], [8]) });
}

const FILES = {
  'consumers.json': JSON.stringify(CONSUMERS),
  'jwks.json': JSON.stringify(JWKS),
  'two-keys.json': JSON.stringify(TWO_KEYS),
  'revoked.json': JSON.stringify({ kid: ['k1', 'jack-key'], jti: ['revoked-1'] }),
  'short-jwks.json': JSON.stringify({ keys: [{ kty: 'oct', kid: 'short', k: 'YQ' }, TWO_KEYS.keys[0]] }),
  // written as UTF-8: U+FEFF becomes the bytes EF BB BF
  'bom-jwks.json': '\ufeff' + JSON.stringify(TWO_KEYS),
  'empty-jwks.json': JSON.stringify({ keys: [] }),
  'no-consumers.json': JSON.stringify({ consumers: [] }),
  'indexed-consumers.json': indexedConsumersText(),
  'indexed-jwks.json': indexedJwksText(),
};

// ---------------------------------------------------------------- groups: one location each

interface Group {
  /** The consumer map or JWK Set, in the nginx prefix. */
  file: keyof typeof FILES;
  jwks?: boolean;
  /** `name=value` as verify's --set takes them; `${PREFIX}` is the nginx prefix. */
  sets?: string[];
}

const SETS = ['audience=https://api.example', 'issuers=https://idp.example', 'claim_rules=scope contains read', 'claims_to_verify=exp'];
const CATASTROPHIC = 'email match ^([a-zA-Z0-9]+[._-]?)+@example[.]com';
const REVOCATION = 'revocation_list=${PREFIX}/revoked.json';

const GROUPS = {
  claims: { file: 'consumers.json', sets: SETS },
  map: { file: 'consumers.json' },
  jwks: { file: 'jwks.json', jwks: true },
  leeway: { file: 'consumers.json', sets: ['leeway=60'] },
  'max-exp': { file: 'consumers.json', sets: ['maximum_expiration=3600'] },
  'by-kid': { file: 'consumers.json', sets: ['key_claim_name=kid'] },
  'big-cap': { file: 'consumers.json', sets: ['max_token_size=400000'] },
  anonymous: { file: 'consumers.json', sets: ['anonymous_consumer=anonymous'] },
  revoked: { file: 'two-keys.json', jwks: true, sets: [REVOCATION] },
  'revoked-by-kid': { file: 'consumers.json', sets: ['key_claim_name=kid', REVOCATION] },
  catastrophic: { file: 'consumers.json', sets: ['claim_rules=' + CATASTROPHIC] },
  rules: { file: 'consumers.json', sets: ['claim_rules=sub match ^user-[0-9]{1,6}; email match @example[.](com|org); roles contains admin'] },
  'bad-rule': { file: 'consumers.json', sets: ['claim_rules=roles contains admin; email match ^(a)\\1'] },
  report: { file: 'consumers.json', sets: ['mode=report', 'claim_rules=scope contains read', REVOCATION] },
  'report-broken': { file: 'consumers.json', sets: ['mode=report', 'leeway=soon'] },
  'short-key': { file: 'short-jwks.json', jwks: true },
  'bom-file': { file: 'bom-jwks.json', jwks: true },
  'empty-jwks': { file: 'empty-jwks.json', jwks: true },
  'no-credentials': { file: 'no-consumers.json' },
  indexed: { file: 'indexed-consumers.json' },
  'indexed-jwks': { file: 'indexed-jwks.json', jwks: true },
} satisfies { [name: string]: Group };
type GroupName = keyof typeof GROUPS;
const groupOf = (name: GroupName): Group => GROUPS[name];

/** A `set` line; nginx reads `\\` in a quoted value as one backslash. */
function setLine(set: string): string {
  const at = set.indexOf('=');
  return 'set $auth_jwt_' + set.slice(0, at) + ' "' + set.slice(at + 1).replace(/\\/g, '\\\\') + '";';
}

function location(name: GroupName): string {
  const group = groupOf(name);
  return [
    'location /' + name + '/ {',
    '    set $auth_jwt_' + (group.jwks ? 'key_file' : 'consumers') + ' ${PREFIX}/' + group.file + ';',
    ...(group.sets ?? []).map((set) => '    ' + setLine(set)),
    '    include ${ROOT}/nginx/jwt-auth.conf;',
    '    proxy_pass http://echo_upstream;',
    '}',
  ].join('\n');
}

const { it, g } = gatewayPerFile(() => ({
  config: gatewayConfig({
    // Room for tokens above the 16 KiB cap and the nesting bomb, in the gateway and in the echo upstream.
    echo: { extra: 'large_client_header_buffers 4 512k;' },
    server: ['large_client_header_buffers 4 512k;', ...(Object.keys(GROUPS) as GroupName[]).map(location)],
  }),
  ports: ['PORT', 'ECHO_PORT'],
  files: FILES,
}));

// ---------------------------------------------------------------- token makers

type Json = { [name: string]: unknown };
const later = () => now() + 600;

/** A JWT signed by jose. */
function jwt(alg: string, key: KeyObject | Uint8Array, claims: Json, header: Json = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header } as JWTHeaderParameters).sign(key);
}

/** A consumer's claims: its key claim, a sub, exp in ten minutes. */
const claimsOf = (key: string, extra: Json = {}): Json => ({ key, sub: key, exp: later(), ...extra });
/** Claims for a JWK Set, which has no key claim. */
const plain = (extra: Json = {}): Json => ({ sub: 'client', exp: later(), ...extra });

const jack = (extra: Json = {}, header: Json = {}, secret: string | Uint8Array = SECRET) =>
  jwt('HS256', typeof secret === 'string' ? utf8(secret) : secret, claimsOf('jack-key', extra), { typ: 'JWT', ...header });
const alice = (extra: Json = {}, header: Json = {}) => jwt('RS256', K.alice.privateKey, claimsOf('alice-key', extra), header);
const bob = (extra: Json = {}, header: Json = {}) => jwt('ES256', K.bob.privateKey, claimsOf('bob-key', extra), header);

// The claims group's tokens (the first twelve cases).
const good = { key: 'jack-key', iss: 'https://idp.example', aud: 'https://api.example', scope: 'read' };
const signed = (claims: object, header: object = {}, secret = SECRET) =>
  new SignJWT({ exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(utf8(secret));

/** HS256 over the exact segment text given (which may be non-canonical): a valid MAC, so only the parser can refuse it. */
const macOver = (header: string, payload: string, secret: string | Uint8Array = SECRET) => signRaw('HS256', secret, header, payload);
/** jack's HS256 token from raw JSON texts or bytes (duplicate names, odd values, broken UTF-8...). */
const jackRaw = (header: string | Uint8Array, payload: string | Uint8Array) => macOver(b64u(header), b64u(payload));
const jackJson = () => JSON.stringify(claimsOf('jack-key'));
/** A validly signed jack token whose payload ends with the raw member text given. */
const withMember = (member: string) => jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack",' + member + '}');

function withSignature(token: string, signature: Uint8Array | string): string {
  const [h, p] = token.split('.');
  return h + '.' + p + '.' + (typeof signature === 'string' ? signature : b64u(signature));
}
const signatureOf = (token: string) => Buffer.from(token.split('.')[2], 'base64url');
/** The token with another header JSON, payload and signature kept. */
const withHeader = (token: string, headerJson: string) => b64u(headerJson) + '.' + token.split('.').slice(1).join('.');

/** A foreign key and where to fetch more, in the header: the gateway must ignore them all. */
function foreignHeaders(attacker: KeyObject): Json {
  return {
    jku: 'http://127.0.0.1:1/attacker-jwks.json',
    x5u: 'http://127.0.0.1:1/attacker.pem',
    jwk: jwkOf(attacker),
    x5c: [Buffer.from(der(attacker)).toString('base64')],
  };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same bytes to a lenient decoder: the last character with non-zero unused bits (segment length % 4 must be 2 or 3). */
function nonZeroTrailingBits(segment: string): string {
  if (segment.length % 4 < 2) throw new Error('segment length ' + segment.length + ' has no unused bits');
  return segment.slice(0, -1) + B64URL[B64URL.indexOf(segment[segment.length - 1]) | 1];
}

/** A JSON object with one extra string member, padded until its base64url spelling satisfies `ok`. */
function paddedJson(base: Json, ok: (segment: string) => boolean): string {
  // '???' and '>>>' at a 3-byte boundary encode to '_' and '-': shift them through every alignment.
  for (let before = 0; before < 3; before++) {
    for (let after = 0; after < 8; after++) {
      const json = JSON.stringify({ ...base, pad: 'a'.repeat(before) + '??????>>>>>>' + 'a'.repeat(after) });
      if (ok(b64u(json))) return json;
    }
  }
  throw new Error('no padding gives the wanted base64url shape');
}
/** Base64url in the standard alphabet: '+' for '-', '/' for '_'. */
const standard = (segment: string) => segment.replace(/-/g, '+').replace(/_/g, '/');
const middle = (segment: string, c: string) => segment.slice(0, 10) + c + segment.slice(10);
/** A jack token whose header, payload and signature each have a '-' and a '_' (header length % 4 == 2, payload % 4 == 3). */
function dashedToken(): string {
  const header = b64u(paddedJson({ alg: 'HS256' }, (s) => s.includes('-') && s.includes('_') && s.length % 4 === 2));
  for (let i = 0; ; i++) {
    const payload = b64u(paddedJson(claimsOf('jack-key', { jti: 'dash-' + i }), (s) => s.includes('-') && s.includes('_') && s.length % 4 === 3));
    const token = macOver(header, payload);
    if (/-/.test(token.split('.')[2]) && /_/.test(token.split('.')[2])) return token;
  }
}
/** The dashed token with one segment changed; the MAC stays over the exact text when the header or payload changes. */
function reshaped(part: 0 | 1 | 2, change: (segment: string) => string): string {
  const [h, p, s] = dashedToken().split('.');
  if (part === 2) return h + '.' + p + '.' + change(s);
  return part === 0 ? macOver(change(h), p) : macOver(h, change(p));
}

/** A valid HS256 jack token of exactly `length` characters (a padding claim in the payload). */
function jackOfLength(length: number): string {
  for (const header of [{ alg: 'HS256', typ: 'JWT' }, { alg: 'HS256' }, { alg: 'HS256', typ: 'JWT', cty: 'x' }]) {
    const claims = claimsOf('jack-key', { pad: '' });
    const payloadChars = length - b64u(JSON.stringify(header)).length - 2 - 43;
    const baseBytes = JSON.stringify(claims).length;
    const wantBytes = Math.floor((payloadChars * 3) / 4);
    for (let bytes = Math.max(baseBytes, wantBytes - 3); bytes <= wantBytes + 3; bytes++) {
      const token = signRaw('HS256', SECRET, header, { ...claims, pad: 'x'.repeat(bytes - baseBytes) });
      if (token.length === length) return token;
    }
  }
  throw new Error('cannot build a token of exactly ' + length + ' characters');
}

const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const claimsOpen = () => jackJson().slice(0, -1);

/** P-256's order, and r || s of 32 bytes each. */
const N = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
async function bobWith(change: (r: Buffer, s: Buffer) => Uint8Array, header: Json = {}): Promise<string> {
  const token = await bob({}, header);
  const signature = signatureOf(token);
  return withSignature(token, change(signature.subarray(0, 32), signature.subarray(32)));
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const TEN_KB = 'k'.repeat(10 * 1024);

// ---------------------------------------------------------------- the cases

interface Case {
  what: string;
  group: GroupName;
  make: () => string | Promise<string>;
  /** false: not on this engine (it lacks what the case needs). */
  runs: boolean;
}

/** Cases of one group: [what, make] or [what, make, runs]. */
function at(group: GroupName, list: [string, Case['make'], boolean?][]): Case[] {
  return list.map(([what, make, runs]) => ({ what, group, make, runs: runs ?? true }));
}

const CASES: Case[] = [
  ...at('claims', [
    ['a good token', () => signed(good)],
    ['expired', () => signed({ ...good, exp: now() - 60 })],
    ['not yet valid', () => signed({ ...good, nbf: now() + 600 })],
    ['another key', () => signed(good, {}, 'another-secret-of-good-length-0123456789abcdef')],
    ['alg none', () => b64u('{"alg":"none","typ":"JWT"}') + '.' + b64u(JSON.stringify({ ...good, exp: now() + 600 })) + '.'],
    ['no key claim', () => signed({ ...good, key: undefined })],
    ['an unknown credential', () => signed({ ...good, key: 'nobody' })],
    ['another audience', () => signed({ ...good, aud: 'https://other.example' })],
    ['another issuer', () => signed({ ...good, iss: 'https://evil.example' })],
    ['a claim rule that fails', () => signed({ ...good, scope: 'write' })],
    ['no exp', () => new SignJWT(good).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(utf8(SECRET))],
    ['malformed', () => 'not.a.token'],
    ['aud an array that names the audience', () => signed({ ...good, aud: ['https://other.example', 'https://api.example'] })],
    ['scope "read write" (the rule finds the word)', () => signed({ ...good, scope: 'read write' })],
  ]),

  // algorithms.test.ts: each family and HMAC size, from a consumer map and a JWK Set.
  ...at('map', [
    ['HS384 credential (text secret): a valid token', () => jwt('HS384', utf8(HS384_SECRET), claimsOf('hs384-key'))],
    ['HS512 credential (base64_secret): a valid token', () => jwt('HS512', HS512_SECRET, claimsOf('hs512-key'))],
    ['RS256 credential: a valid token', () => alice()],
    ['PS256 credential: a valid token', () => jwt('PS256', K.carol.privateKey, claimsOf('carol-key'))],
    ['ES256 credential: a valid token', () => bob()],
    ['ES384 credential: a valid token', () => jwt('ES384', K.p384.privateKey, claimsOf('es384-key'))],
    ['ES512 credential: a valid token', () => jwt('ES512', K.p521.privateKey, claimsOf('es512-key'))],
    ['EdDSA credential: a valid token', () => jwt('EdDSA', K.ed.privateKey, claimsOf('ed-key')), ED25519],
    ['HS384 signed with another secret', () => jwt('HS384', utf8(HS384_SECRET + 'x'), claimsOf('hs384-key'))],
    ['HS512 signed with another secret', () => jwt('HS512', new Uint8Array(randomBytes(64)), claimsOf('hs512-key'))],
    ['RS256 signed by another RSA key', () => jwt('RS256', K.otherRsa.privateKey, claimsOf('alice-key'))],
    ['PS256 signed by another RSA key', () => jwt('PS256', K.otherRsa.privateKey, claimsOf('carol-key'))],
    ['ES256 signed by another P-256 key', () => jwt('ES256', K.otherP256.privateKey, claimsOf('bob-key'))],
    ['ES384 signed by another P-384 key', () => jwt('ES384', K.otherP384.privateKey, claimsOf('es384-key'))],
    ['ES512 signed by another P-521 key', () => jwt('ES512', K.otherP521.privateKey, claimsOf('es512-key'))],
    ['EdDSA signed by another Ed25519 key', () => jwt('EdDSA', K.otherEd.privateKey, claimsOf('ed-key')), ED25519],
    ['the HS384 secret used as HS256 (alg downgrade)', () => jwt('HS256', utf8(HS384_SECRET), claimsOf('hs384-key'))],
    ["HS256 with the RS256 credential's PEM public key as the secret (alg confusion)", () => jwt('HS256', utf8(pem(K.alice.publicKey)), claimsOf('alice-key'))],
    ["HS512 with the ES256 credential's JWK JSON as the secret", () => jwt('HS512', utf8(JSON.stringify(jwkOf(K.bob.publicKey))), claimsOf('bob-key'))],
  ]),
  ...at('jwks', [
    ['oct HS256 JWK: a valid token with kid', () => jwt('HS256', utf8(OCT_SECRET), plain(), { kid: 'hs' })],
    ['oct HS384 JWK: a valid token with kid', () => jwt('HS384', utf8(HS384_SECRET), plain(), { kid: 'hs384' })],
    ['oct HS512 JWK: a valid token without kid (found by alg)', () => jwt('HS512', HS512_SECRET, plain())],
    ['RS256 JWK: a valid token with kid', () => jwt('RS256', K.alice.privateKey, plain(), { kid: 'rs', typ: 'JWT' })],
    ['RS256 JWK: a valid token without kid (found by alg)', () => jwt('RS256', K.alice.privateKey, plain())],
    ['PS256 JWK: a valid token with kid', () => jwt('PS256', K.carol.privateKey, plain(), { kid: 'ps' })],
    ['P-256 JWK: a valid ES256 token with kid', () => jwt('ES256', K.bob.privateKey, plain(), { kid: 'es' })],
    ['P-384 JWK: a valid ES384 token with kid', () => jwt('ES384', K.p384.privateKey, plain(), { kid: 'es384' })],
    ['P-521 JWK: a valid ES512 token without kid (found by alg)', () => jwt('ES512', K.p521.privateKey, plain())],
    ['Ed25519 JWK: a valid EdDSA token with kid', () => jwt('EdDSA', K.ed.privateKey, plain(), { kid: 'ed' }), ED25519],
    ['PS256 signed by another RSA key, without kid', () => jwt('PS256', K.otherRsa.privateKey, plain())],
    ['the HS512 JWK used as HS384 (alg downgrade)', () => jwt('HS384', HS512_SECRET, plain(), { kid: 'hs512' })],
    ["HS256 with the RS256 JWK's PEM as the secret, kid rs", () => jwt('HS256', utf8(pem(K.alice.publicKey)), plain(), { kid: 'rs' })],
    ["HS384 with the RS256 JWK's SPKI DER as the secret, no kid", () => jwt('HS384', der(K.alice.publicKey), plain())],
  ]),

  // attacks.test.ts: an alg the credential or the JWK does not allow, signed by the very key.
  ...at('map', [
    ['RS256 credential, RS384 by the same key', () => signRaw('RS384', K.alice.privateKey, { alg: 'RS384' }, claimsOf('alice-key'))],
    ['RS256 credential, PS256 by the same key', () => signRaw('PS256', K.alice.privateKey, { alg: 'PS256' }, claimsOf('alice-key'))],
    ['ES256 credential, ES384 over the P-256 key', () => signRaw('ES384', K.bob.privateKey, { alg: 'ES384' }, claimsOf('bob-key'))],
    ['HS256 credential, an RS256 token naming it', () => signRaw('RS256', K.alice.privateKey, { alg: 'RS256' }, claimsOf('jack-key'))],
  ]),
  ...at('jwks', [
    ['RS256 JWK, PS384 by the same key with kid', () => signRaw('PS384', K.alice.privateKey, { alg: 'PS384', kid: 'rs' }, plain())],
    ['RS256 JWK, RS512 by the same key without kid', () => signRaw('RS512', K.alice.privateKey, { alg: 'RS512' }, plain())],
    ['PS256 JWK, RS256 by the same key with kid', () => signRaw('RS256', K.carol.privateKey, { alg: 'RS256', kid: 'ps' }, plain())],
    ['P-256 JWK, ES512 over it with kid', () => signRaw('ES512', K.bob.privateKey, { alg: 'ES512', kid: 'es' }, plain())],
    ['P-256 JWK, ES384 over it without kid', () => signRaw('ES384', K.bob.privateKey, { alg: 'ES384' }, plain())],
  ]),

  // attacks.test.ts and algorithms.test.ts: keys in the header (jwk, jku, x5u, x5c) are never used.
  ...at('map', [
    ['RS256 by an attacker with its jwk in the header', () => jwt('RS256', K.otherRsa.privateKey, claimsOf('alice-key'), { jwk: jwkOf(K.otherRsa.publicKey) })],
    ['ES256 by an attacker with jku, x5u, jwk and x5c', () => jwt('ES256', K.otherP256.privateKey, claimsOf('bob-key'), foreignHeaders(K.otherP256.publicKey))],
    ["a valid RS256 token with an attacker's jku, x5u, jwk and x5c added", () => alice({}, foreignHeaders(K.otherRsa.publicKey))],
  ]),
  ...at('jwks', [
    [
      'RS256 by an attacker, jwk with its own kid',
      () => jwt('RS256', K.otherRsa.privateKey, plain(), { kid: 'attacker', jwk: { ...jwkOf(K.otherRsa.publicKey), kid: 'attacker' } }),
    ],
    ['RS256 by an attacker with jku, kid rs', () => jwt('RS256', K.otherRsa.privateKey, plain(), { kid: 'rs', jku: 'http://127.0.0.1:1/attacker-jwks.json' })],
    ['ES256 by an attacker with x5c, no kid', () => jwt('ES256', K.otherP256.privateKey, plain(), { x5c: foreignHeaders(K.otherP256.publicKey).x5c })],
    [
      "a valid ES256 token, kid es, with an attacker's jku, x5u, jwk and x5c added",
      () => jwt('ES256', K.bob.privateKey, plain(), { kid: 'es', ...foreignHeaders(K.otherP256.publicKey) }),
    ],
  ]),

  // algorithms.test.ts and robustness.test.ts: alg none and odd alg values.
  ...at('map', [
    ['alg NONE with the genuine signature kept', async () => withHeader(await jack(), '{"alg":"NONE","typ":"JWT"}')],
    ['alg none with a junk signature', async () => withSignature(withHeader(await jack(), '{"alg":"none"}'), b64u('x'))],
    ['alg "hs256" (lower case)', () => jackRaw('{"alg":"hs256"}', jackJson())],
    ['alg "HS256 " (a trailing space)', () => jackRaw('{"alg":"HS256 "}', jackJson())],
    ['alg 256 (a number)', () => jackRaw('{"alg":256}', jackJson())],
    ['alg ["HS256"] (an array)', () => jackRaw('{"alg":["HS256"]}', jackJson())],
    ['no alg at all', () => jackRaw('{"typ":"JWT"}', jackJson())],
  ]),
  ...at('jwks', [
    [
      'alg nOnE with the genuine ES256 signature, kid es',
      async () => withHeader(await jwt('ES256', K.bob.privateKey, plain(), { kid: 'es' }), '{"alg":"nOnE","kid":"es"}'),
    ],
  ]),

  // attacks.test.ts and algorithms.test.ts: kid values, at a JWK Set and naming a credential.
  ...at('jwks', [
    ['kid unknown', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'unknown' }, plain())],
    ['kid a path (../../etc/passwd)', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: '../../etc/passwd' }, plain())],
    ['kid "hs" with a NUL appended', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'hs\u0000' }, plain())],
    ['kid "" (empty)', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: '' }, plain())],
    ['kid of another key (es) on an RS256 token', () => jwt('RS256', K.alice.privateKey, plain(), { kid: 'es' })],
    ['kid 1 (a number)', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 1 }, plain())],
    ['kid {"kid":"hs"} (an object)', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: { kid: 'hs' } }, plain())],
    ['a 10 KB kid', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: TEN_KB }, plain())],
    ['kid "hs" with 10 KB appended', () => signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'hs' + TEN_KB }, plain())],
  ]),
  ...at('by-kid', [
    ['kid jack-key names the credential', () => jwt('HS256', utf8(SECRET), plain({ sub: 'jack' }), { kid: 'jack-key' })],
    ['kid JACK-KEY (another case)', () => signRaw('HS256', SECRET, { alg: 'HS256', kid: 'JACK-KEY' }, plain())],
    ['kid a path (/etc/passwd)', () => signRaw('HS256', SECRET, { alg: 'HS256', kid: '/etc/passwd' }, plain())],
    ['kid "" (empty)', () => signRaw('HS256', SECRET, { alg: 'HS256', kid: '' }, plain())],
    ['kid 1 (a number)', () => signRaw('HS256', SECRET, { alg: 'HS256', kid: 1 }, plain())],
    ['kid {"kid":"jack-key"} (an object)', () => signRaw('HS256', SECRET, { alg: 'HS256', kid: { kid: 'jack-key' } }, plain())],
  ]),

  // attacks.test.ts and robustness.test.ts: ECDSA signatures out of range or of the wrong shape.
  ...at('map', [
    ['ES256 with r = n', () => bobWith((r, s) => Buffer.concat([be32(N), s]))],
    ['ES256 with s = n', () => bobWith((r) => Buffer.concat([r, be32(N)]))],
    ['ES256 with r = n + 1', () => bobWith((r, s) => Buffer.concat([be32(N + BigInt(1)), s]))],
    ['ES256 with s = 2^256 - 1', () => bobWith((r) => Buffer.concat([r, be32((BigInt(1) << BigInt(256)) - BigInt(1))]))],
    ['ES256 with r = 0', () => bobWith((r, s) => Buffer.concat([Buffer.alloc(32), s]))],
    ['ES256 with s = 0', () => bobWith((r) => Buffer.concat([r, Buffer.alloc(32)]))],
    ['ES256 signature of zeros (psychic signature)', () => bobWith(() => Buffer.alloc(64))],
    ['ES256 signature of 63 bytes', () => bobWith((r, s) => Buffer.concat([r, s]).subarray(0, 63))],
    ['ES256 signature of 65 bytes', () => bobWith((r, s) => Buffer.concat([r, s, Buffer.alloc(1)]))],
    ['ES256 signature DER-encoded', () => bobWith((r, s) => derSignature(Buffer.concat([r, s])))],
    ['ES256 signature with r and s swapped', () => bobWith((r, s) => Buffer.concat([s, r]))],
  ]),
  ...at('jwks', [['ES256 with s = n, kid es', () => bobWith((r) => Buffer.concat([r, be32(N)]), { kid: 'es' })]]),

  // robustness.test.ts: signatures of the wrong size or hash.
  ...at('map', [
    ['HS256 signature of one byte', async () => withSignature(await jack(), new Uint8Array([1]))],
    ['HS256 signature of 1000 bytes', async () => withSignature(await jack(), new Uint8Array(randomBytes(1000)))],
    ['RS256 signature of one byte', async () => withSignature(await alice(), new Uint8Array([1]))],
    ['RS256 signature of 255 bytes', async () => withSignature(await alice(), signatureOf(await alice()).subarray(1))],
    ['RS256 signature of zeros', async () => withSignature(await alice(), new Uint8Array(256))],
    ['RS256 signature of 512 bytes', async () => withSignature(await alice(), Buffer.concat([signatureOf(await alice()), signatureOf(await alice())]))],
    ['RS256 signature all 0xff', async () => withSignature(await alice(), new Uint8Array(256).fill(0xff))],
    [
      'RS256 signed with SHA-1',
      async () => {
        const input = (await alice()).split('.').slice(0, 2).join('.');
        return input + '.' + createSign('sha1').update(input).sign(K.alice.privateKey).toString('base64url');
      },
    ],
  ]),

  // attacks.test.ts: crit.
  ...at('map', [
    ['crit ["b64"] with b64 false (RFC 7797)', () => signRaw('HS256', SECRET, { alg: 'HS256', crit: ['b64'], b64: false }, claimsOf('jack-key'))],
    ['crit ["x-custom"]', () => signRaw('HS256', SECRET, { alg: 'HS256', crit: ['x-custom'], 'x-custom': 1 }, claimsOf('jack-key'))],
    ['crit [] (empty)', () => signRaw('HS256', SECRET, { alg: 'HS256', crit: [] }, claimsOf('jack-key'))],
    ['crit null', () => signRaw('HS256', SECRET, { alg: 'HS256', crit: null }, claimsOf('jack-key'))],
  ]),

  // attacks.test.ts, robustness.test.ts, keys-hardening.test.ts: strict JSON.
  ...at('map', [
    ['nesting depth 16 in header and payload (the limit)', () => jackRaw('{"alg":"HS256","x":' + nest(15) + '}', claimsOpen() + ',"x":' + nest(15) + '}')],
    ['nesting depth 17 in the header', () => jackRaw('{"alg":"HS256","x":' + nest(16) + '}', jackJson())],
    ['nesting depth 17 in the payload', () => jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + nest(16) + '}')],
    ['duplicate sub', () => jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack","sub":"admin","exp":' + later() + '}')],
    ['duplicate sub spelled with an escape', () => jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack","\\u0073ub":"admin","exp":' + later() + '}')],
    ['duplicate member in a nested object', () => jackRaw('{"alg":"HS256"}', '{"key":"jack-key","exp":' + later() + ',"x":{"a":1,"a":2}}')],
    ['duplicate alg: HS256 then none', () => jackRaw('{"alg":"HS256","alg":"none"}', jackJson())],
    ['payload a number', () => jackRaw('{"alg":"HS256"}', '1700000000')],
    ['payload an array', () => jackRaw('{"alg":"HS256"}', '[' + jackJson() + ']')],
    ['payload null', () => jackRaw('{"alg":"HS256"}', 'null')],
    ['header true', () => jackRaw('true', jackJson())],
    ['header an array', () => jackRaw('[]', jackJson())],
    ['header empty', () => jackRaw('', jackJson())],
    ['empty payload segment (valid MAC)', () => macOver(b64u('{"alg":"HS256"}'), '')],
    ['header JSON with trailing garbage', () => jackRaw('{"alg":"HS256"}x', jackJson())],
    ['header with single quotes', () => jackRaw("{'alg':'HS256'}", jackJson())],
    ['truncated header JSON', () => jackRaw('{"alg":"HS256"', jackJson())],
    ['invalid UTF-8 in the header JSON', () => jackRaw(new Uint8Array([...utf8('{"alg":"HS256","x":"'), 0xff, 0xfe, ...utf8('"}')]), jackJson())],
    ['invalid UTF-8 in the payload JSON', () => jackRaw('{"alg":"HS256"}', new Uint8Array([...utf8(claimsOpen() + ',"x":"'), 0xc3, 0x28, ...utf8('"}')]))],
    ['overlong UTF-8 in the payload JSON', () => jackRaw('{"alg":"HS256"}', new Uint8Array([...utf8(claimsOpen() + ',"x":"'), 0xc0, 0xaf, ...utf8('"}')]))],
    ['a UTF-8 byte order mark before the header JSON', () => jackRaw(Buffer.concat([BOM, Buffer.from('{"alg":"HS256"}')]), jackJson())],
    ['a UTF-8 byte order mark before the payload JSON', () => jackRaw('{"alg":"HS256"}', Buffer.concat([BOM, Buffer.from(jackJson())]))],
  ]),
  ...at('jwks', [
    ['duplicate kid in the header (nope, then hs)', () => macOver(b64u('{"alg":"HS256","kid":"nope","kid":"hs"}'), b64u(JSON.stringify(plain())), OCT_SECRET)],
    ['duplicate alg: none then HS256', () => macOver(b64u('{"alg":"none","alg":"HS256","kid":"hs"}'), b64u(JSON.stringify(plain())), OCT_SECRET)],
  ]),
  ...at('big-cap', [
    ['a valid 100000-character token under max_token_size 400000', () => jackOfLength(100000)],
    ['40000 nested brackets in the payload (a nesting bomb)', () => jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + nest(40000) + '}')],
    ['40000 unclosed brackets in the payload', () => jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + '['.repeat(40000) + '}')],
  ]),

  // attacks.test.ts and robustness.test.ts: base64url, segments, size.
  ...at('map', [
    ['control: the canonical spellings of a token with "-" and "_" in every segment', () => dashedToken()],
    ["'+' and '/' in the header", () => reshaped(0, standard)],
    ["'+' and '/' in the signature", () => reshaped(2, standard)],
    ["'=' padding on the payload", () => reshaped(1, (p) => p + '=')],
    ["'=' padding on the signature", () => reshaped(2, (s) => s + '=')],
    ['a space inside the header', () => reshaped(0, (h) => middle(h, ' '))],
    ['a tab inside the signature', () => reshaped(2, (s) => middle(s, '\t'))],
    ['header length % 4 == 1', () => reshaped(0, (h) => h + 'AAA')],
    ['signature length % 4 == 1', () => reshaped(2, (s) => s + 'AA')],
    ['non-zero trailing bits in the payload', () => reshaped(1, nonZeroTrailingBits)],
    ['non-zero trailing bits in the signature', () => reshaped(2, nonZeroTrailingBits)],
    ['latin-1 characters as the signature', async () => withSignature(await jack(), '\u00e9\u00e8')],
    ['one segment of random bytes', () => b64u(randomBytes(300))],
    ['two segments', async () => (await jack()).split('.').slice(0, 2).join('.')],
    ['two segments and a trailing dot', async () => (await jack()).split('.').slice(0, 2).join('.') + '.'],
    ['four segments', async () => (await jack()) + '.' + b64u(randomBytes(8))],
    ['five segments (JWE shape)', () => [1, 2, 3, 4, 5].map(() => b64u(randomBytes(24))).join('.')],
    ['only dots', () => '..'],
    ['a leading dot', async () => '.' + (await jack())],
    ['a valid token of exactly 16384 characters (the cap)', () => jackOfLength(16384)],
    ['a validly signed token of 16385 characters', () => jackOfLength(16385)],
    ['no token', () => ''],
  ]),

  // attacks.test.ts and overrides.test.ts: exp, nbf, iat; leeway and maximum_expiration.
  ...at('leeway', [
    ['exp 20 s ago, leeway 60', () => jack({ exp: now() - 20 })],
    ['nbf in 20 s, leeway 60', () => jack({ nbf: now() + 20 })],
    ['exp 120 s ago, leeway 60', () => jack({ exp: now() - 120 })],
    ['nbf in 120 s, leeway 60', () => jack({ nbf: now() + 120 })],
    ['exp a numeric string, leeway 60', () => withMember('"exp":"' + later() + '"')],
    ['nbf -1e400 (-Infinity), leeway 60', () => withMember('"exp":' + later() + ',"nbf":-1e400')],
    ['exp 0, leeway 60', () => withMember('"exp":0')],
  ]),
  ...at('map', [
    ['exp a numeric string', () => withMember('"exp":"' + later() + '"')],
    ['exp null', () => withMember('"exp":null')],
    ['exp 1e400 (Infinity)', () => withMember('"exp":1e400')],
    ['nbf true', () => withMember('"exp":' + later() + ',"nbf":true')],
    ['iat "NaN"', () => withMember('"exp":' + later() + ',"iat":"NaN"')],
    ['iat an array', () => withMember('"exp":' + later() + ',"iat":[' + now() + ']')],
    ['exp 1e300 (a far future: allowed)', () => withMember('"exp":1e300')],
    ['nbf -1e300', () => withMember('"exp":' + later() + ',"nbf":-1e300')],
    ['nbf 1e300', () => withMember('"exp":' + later() + ',"nbf":1e300')],
    ['exp -1e300', () => withMember('"exp":-1e300')],
  ]),
  ...at('max-exp', [
    ['exp in 10 minutes, maximum_expiration 3600', () => jack()],
    ['exp 1e300, maximum_expiration 3600', () => withMember('"exp":1e300')],
    ['exp 9007199254740993, maximum_expiration 3600', () => withMember('"exp":9007199254740993')],
    ['exp in 2 hours, maximum_expiration 3600', () => jack({ exp: now() + 7200 })],
    ['exp - iat over maximum_expiration', () => jack({ iat: now() - 7000 })],
    ['no exp, maximum_expiration 3600', () => jack({ exp: undefined })],
  ]),

  // robustness.test.ts: key claims of odd types and names.
  ...at('map', [
    ['key claim an array', () => jack({ key: ['jack-key'] })],
    ['key claim an object', () => jack({ key: { key: 'jack-key' } })],
    ['key claim a number', () => jack({ key: 1 })],
    ['key claim empty', () => jack({ key: '' })],
    ['key claim __proto__', () => jack({ key: '__proto__' })],
    ['key claim constructor', () => jack({ key: 'constructor' })],
  ]),

  // keys-hardening.test.ts: short HMAC keys, a BOM in a key file, empty key sources, revocation by kid.
  ...at('map', [
    ['a consumer secret of one byte ("a")', () => jwt('HS256', utf8('a'), claimsOf('short-key'))],
    ['a base64 consumer secret of one byte ("AA==")', () => jwt('HS256', new Uint8Array([0]), claimsOf('base64-key'))],
  ]),
  ...at('short-key', [
    ['a 1-byte oct JWK', () => jwt('HS256', utf8('a'), plain(), { kid: 'short' })],
    ['the good key beside it', () => jwt('HS256', utf8(K1), plain(), { kid: 'k1' })],
  ]),
  ...at('bom-file', [['a JWK Set file that starts with a BOM', () => jwt('HS256', utf8(K2), plain())]]),
  ...at('empty-jwks', [['an empty JWK Set', () => jwt('HS256', utf8(K1), plain(), { kid: 'k1' })]]),
  ...at('no-credentials', [['a consumer map without credentials', () => jack()]]),
  ...at('revoked', [
    ['a token without kid, verified by the revoked key k1', () => jwt('HS256', utf8(K1), plain())],
    ['a token with the revoked kid k1', () => jwt('HS256', utf8(K1), plain(), { kid: 'k1' })],
    ['a token of the key k2', () => jwt('HS256', utf8(K2), plain())],
    ['a revoked jti', () => jwt('HS256', utf8(K2), plain({ jti: 'revoked-1' }), { kid: 'k2' })],
  ]),
  ...at('revoked-by-kid', [
    ['a kid claim in the payload naming the revoked credential', () => jwt('HS256', utf8(SECRET), { kid: 'jack-key', sub: 'jack', exp: later() })],
  ]),

  // large-key-sets.test.ts: stored indexes (small here), read by position for a consumer map named by path.
  ...at('indexed', [
    ['a credential found through the stored index', () => jwt('HS256', utf8(indexedSecret(11)), claimsOf('key-11'))],
    ['an index entry that points elsewhere, with its own secret', () => jwt('HS256', utf8(indexedSecret(7)), claimsOf('key-7'))],
    ['an index entry that points elsewhere, with the secret of the entry it points at', () => jwt('HS256', utf8(indexedSecret(8)), claimsOf('key-7'))],
    ['a key outside ASCII and the BMP', () => jwt('HS256', utf8(indexedSecret(INDEXED)), claimsOf(UNICODE_KEY))],
  ]),
  ...at('indexed-jwks', [
    ['the last numbered kid', () => jwt('HS256', utf8(indexedSecret(11)), plain(), { kid: 'kid-11' })],
    ['a kid outside ASCII and the BMP', () => jwt('HS256', utf8(indexedSecret(INDEXED)), plain(), { kid: UNICODE_KEY })],
    ['no kid, a key among the first eight', () => jwt('HS256', utf8(indexedSecret(3)), plain())],
    ['no kid, a key past the first eight (never tried)', () => jwt('HS256', utf8(indexedSecret(11)), plain())],
    ['a kid whose index entry points elsewhere', () => jwt('HS256', utf8(indexedSecret(7)), plain(), { kid: 'kid-7' })],
  ]),

  // token-places.test.ts and trust-model.test.ts: claim rules.
  ...at('catastrophic', [
    ['the catastrophic match rule on 40 letters and a "!"', () => jack({ email: 'a'.repeat(40) + '!@example.com' })],
    ['the catastrophic match rule on a matching email', () => jack({ email: 'a'.repeat(40) + '@example.com' })],
    ['a claim of 257 bytes is not examined', () => jack({ email: 'a'.repeat(245) + '@example.com' })],
    ['a claim of 256 bytes is', () => jack({ email: 'a'.repeat(244) + '@example.com' })],
  ]),
  ...at('rules', [
    ['claims that meet every rule', () => jack({ sub: 'user-42', email: 'ops@example.org', roles: ['admin'] })],
    ['sub admin-42 (no match)', () => jack({ sub: 'admin-42', email: 'ops@example.org', roles: ['admin'] })],
    ['email a number', () => jack({ sub: 'user-42', email: 42, roles: ['admin'] })],
    ['roles ["user"] (the consumer claims no admin)', () => jack({ sub: 'user-42', email: 'ops@example.org', roles: ['user'] })],
  ]),
  ...at('bad-rule', [['a rule with a backreference (a config error)', () => jack({ email: 'a@example.com', roles: ['admin'] })]]),

  // attacks.test.ts and report-only.test.ts: the anonymous consumer and report mode.
  ...at('anonymous', [
    ['a bad signature runs as the anonymous consumer', async () => withSignature(await jack(), new Uint8Array(randomBytes(32)))],
    ['a valid token runs as its consumer', () => jack()],
    ['no token runs as the anonymous consumer', () => ''],
  ]),
  ...at('report', [
    ['report mode: a good token', () => jack({ scope: 'read' })],
    ['report mode: an expired token would be denied', () => jack({ scope: 'read', exp: now() - 60 })],
    ['report mode: a failing claim rule would be denied', () => jack({ scope: 'write' })],
    ['report mode: a revoked token is denied all the same', () => jack({ scope: 'read', jti: 'revoked-1' })],
  ]),
  ...at('report-broken', [['report mode: a setting nginx refuses (leeway soon) is denied all the same', () => jack()]]),
];

// ---------------------------------------------------------------- both, compared

/** The gateway's reason line: a denial, a reported one, or the anonymous fallback. */
const REASON = /jwt-gateway: (?:rejected [0-9]+|would deny [0-9]+|anonymous) ([A-Z_]+):/;

/**
 * What `jwt-gateway verify` answers: the command line itself for the claims
 * group (its options, its JSON, its exit code), and for the other cases the
 * same function (cli/verify.ts) in this process, as a command-line start per
 * case would add about 200 ms to each of them on every engine.
 */
interface Answer {
  status: number;
  code: string;
  exit: number | null;
}

function verifyByCli(file: string, jwks: boolean | undefined, sets: string[], token: string): Answer {
  const run = runCli(
    'verify',
    jwks ? '--jwks' : '--consumers',
    g().nginx.prefix + '/' + file,
    ...sets.flatMap((set) => ['--set', set]),
    // Judged for this engine's njs, as check is (Ed25519 from 0.9.7).
    '--njs',
    engine().njsVersion,
    '--json',
    // Junk tokens may start with '-'.
    '--',
    token,
  );
  const answer = run.stdout ? JSON.parse(run.stdout) : { error: run.stderr };
  return { status: answer.status, code: answer.code, exit: run.status };
}

async function verifyInProcess(file: string, jwks: boolean | undefined, sets: string[], token: string): Promise<Answer> {
  const path = g().nginx.prefix + '/' + file;
  const answer = await verifyToken({
    token,
    consumers: jwks ? undefined : path,
    jwks: jwks ? path : undefined,
    sets,
    capabilities: { ed25519: ED25519, env: (name) => process.env[name] },
    now: Math.floor(Date.now() / 1000),
  });
  if (isProblem(answer)) return { status: 0, code: describeProblem(answer), exit: 2 };
  return { status: answer.status, code: answer.code, exit: answer.allow ? 0 : 1 };
}

for (const { what, group, make, runs } of CASES) {
  (runs ? it : test.skip)(group + ': ' + what + ": the command line gives the gateway's status and reason code", async () => {
    const token = await make();
    const before = g().readLog('error.log').length;
    // '' is no token at all: the request has no Authorization header.
    const reply = await g().get('/' + group + '/x', token === '' ? {} : { Authorization: 'Bearer ' + token });
    // The gateway's reason: the line this request added to the log (a rejection, or in report mode
    // and for the anonymous consumer the reason it passed all the same); none when plainly allowed.
    if (reply.status !== 200) await g().logLine('error.log', 'rejected ' + reply.status);
    const added = g().readLog('error.log').slice(before);
    const logged = REASON.exec(added)?.[1] ?? '';
    const { file, jwks, sets } = groupOf(group);
    const prefixed = (text: string) => text.split('${PREFIX}').join(g().nginx.prefix);
    const answer =
      group === 'claims' ? verifyByCli(file, jwks, (sets ?? []).map(prefixed), token) : await verifyInProcess(file, jwks, (sets ?? []).map(prefixed), token);
    expect(answer).toEqual({ status: reply.status, code: logged, exit: reply.status === 200 ? 0 : 1 });
  });
}

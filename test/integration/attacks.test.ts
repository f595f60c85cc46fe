/**
 * The attack list of the "Hardening" issue (section 1), against real nginx:
 * the attacks algorithms.test.ts and robustness.test.ts do not already cover.
 * Each forged or broken token is a 401 (never a 5xx); each group also has a
 * control that passes, so a 401 means the attack was caught, not that the
 * harness is broken. At the end, every response body and the whole error log
 * (info level, plus a debug-level location) are searched for the configured
 * HMAC secrets and for every token signature sent by this file.
 *
 * Tokens are minted by node:crypto (signRaw from the unit helpers, or an
 * HMAC over exact segment text), never by the code under test.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { b64u, signRaw } from '../support/core';
import { authLocation, finish, Gateway, gatewayConfig, MESSAGES, now, Reply, startGateway, testsWithLogs } from '../support/gateway';

const CONSUMERS = 'set $auth_jwt_consumers attack_consumers;';

const CONFIG = gatewayConfig({
  http: `
    js_preload_object attack_consumers from \${PREFIX}/keys/consumers.json;
    js_preload_object attack_jwks from \${PREFIX}/keys/jwks.json;
  `,
  echo: { extra: 'large_client_header_buffers 4 512k;' },
  servers: [
    `
    # nginx's default header buffers (4 8k): a 16 KiB Authorization header is
    # refused by nginx itself (400) before the gateway runs.
    server {
        listen 127.0.0.1:\${SMALL_PORT};
        location / {
            set $auth_jwt_consumers attack_consumers;
            include \${ROOT}/nginx/jwt-auth.conf;
            include \${ROOT}/nginx/jwt-proxy-headers.conf;
            proxy_pass http://echo_upstream;
        }
    }
    `,
  ],
  server: [
    `
    # Room for tokens at and above the 16 KiB cap and for the 100000-deep
    # bracket bomb (about 267 KB of base64url), so they reach the gateway.
    large_client_header_buffers 4 512k;
    `,
    authLocation('/c/', [CONSUMERS]),
    authLocation(
      '/k/',
      ['set $auth_jwt_key_file attack_jwks;'],
      ['proxy_set_header X-Jwt-Kid $jwt_header_kid;', 'proxy_set_header X-Jwt-Alg $jwt_header_alg;'],
    ),
    authLocation('/by-kid/', [CONSUMERS, 'set $auth_jwt_key_claim_name kid;']),
    authLocation('/leeway/', [CONSUMERS, 'set $auth_jwt_leeway 60;']),
    authLocation('/maxexp/', [CONSUMERS, 'set $auth_jwt_maximum_expiration 3600;']),
    authLocation('/bigcap/', [CONSUMERS, 'set $auth_jwt_max_token_size 400000;']),
    authLocation('/anon/', [CONSUMERS, 'set $auth_jwt_anonymous_consumer anonymous;']),
    `
    # Not protected, but passes the identity headers (empty here).
    location /open/ {
        include \${ROOT}/nginx/jwt-proxy-headers.conf;
        proxy_pass http://echo_upstream;
    }
    # The same check at debug level, answered here (proxying at debug level
    # would make nginx itself log the upstream request headers).
    location /debug/ {
        error_log \${PREFIX}/logs/debug.log debug;
        set $auth_jwt_consumers attack_consumers;
        include \${ROOT}/nginx/jwt-auth.conf;
        return 200 '{"debug":"passed"}';
    }
    `,
  ],
});

// ---------------------------------------------------------------- keys

const JACK_SECRET = 'attacks-jack-hs256-secret-' + randomBytes(12).toString('hex');
const HS512_SECRET = new Uint8Array(randomBytes(64));
const OCT_SECRET = 'attacks-oct-hs256-secret-' + randomBytes(12).toString('hex');

interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}
let alice: Pair; // RS256: consumer map and JWK kid "rs" (alg RS256)
let carol: Pair; // PS256: JWK kid "ps" (alg PS256)
let bob: Pair; // ES256: consumer map and JWK kid "es" (EC P-256, no alg)
let attackerRsa: { privateKey: KeyObject; jwk: object; x5c: string };
let attackerEc: { privateKey: KeyObject; jwk: object; x5c: string };

/** A self-signed certificate for an attacker key, for x5c (openssl CLI: node cannot create certificates). */
function attackerWithCertificate(kind: 'rsa' | 'ec'): { privateKey: KeyObject; jwk: object; x5c: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jwt-attacker-'));
  try {
    const keyArgs = kind === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=attacker', '-days', '1'], {
      stdio: 'ignore',
    });
    const privateKey = createPrivateKey(readFileSync(keyFile));
    const certificate = new X509Certificate(readFileSync(certFile));
    return { privateKey, jwk: certificate.publicKey.export({ format: 'jwk' }), x5c: certificate.raw.toString('base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

let gw: Gateway | undefined;
const g = () => gw as Gateway;

beforeAll(async () => {
  alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
  carol = generateKeyPairSync('rsa', { modulusLength: 2048 });
  bob = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  attackerRsa = attackerWithCertificate('rsa');
  attackerEc = attackerWithCertificate('ec');
  const consumers = {
    consumers: [
      { username: 'jack', labels: { custom_id: 'jack-custom' }, credentials: [{ id: 'cred-jack', key: 'jack-key', secret: JACK_SECRET }] },
      {
        username: 'hs512user',
        credentials: [{ id: 'cred-hs512', key: 'hs512-key', algorithm: 'HS512', secret: Buffer.from(HS512_SECRET).toString('base64'), base64_secret: true }],
      },
      { username: 'alice', credentials: [{ id: 'cred-alice', key: 'alice-key', algorithm: 'RS256', public_key: spkiPem(alice.publicKey) }] },
      { username: 'bob', credentials: [{ id: 'cred-bob', key: 'bob-key', algorithm: 'ES256', public_key: spkiPem(bob.publicKey) }] },
    ],
  };
  const jwks = {
    keys: [
      { kty: 'oct', kid: 'hs', alg: 'HS256', k: b64u(OCT_SECRET) },
      { ...alice.publicKey.export({ format: 'jwk' }), kid: 'rs', alg: 'RS256', use: 'sig' },
      { ...carol.publicKey.export({ format: 'jwk' }), kid: 'ps', alg: 'PS256', use: 'sig' },
      { ...bob.publicKey.export({ format: 'jwk' }), kid: 'es', use: 'sig' },
    ],
  };
  gw = await startGateway({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT', 'SMALL_PORT'],
    files: { 'keys/consumers.json': JSON.stringify(consumers, null, 2), 'keys/jwks.json': JSON.stringify(jwks, null, 2) },
  });
}, 30000);

afterAll(() => finish(gw));

const it = testsWithLogs(() => gw, 20000);

// ---------------------------------------------------------------- sending, with a record for the leak check

interface Sent {
  path: string;
  reply: Reply;
}
const sentReplies: Sent[] = [];
/** Every distinct token this file sent (for the replay at debug level and the signature search). */
const sentTokens = new Set<string>();

async function send(pathAndQuery: string, headers: { [name: string]: string } = {}, port?: string): Promise<Reply> {
  const auth = headers.Authorization;
  if (auth) sentTokens.add(auth.replace(/^bearer\s+/i, ''));
  const reply = await g().request(pathAndQuery, { headers, port });
  sentReplies.push({ path: pathAndQuery, reply });
  return reply;
}

function bearer(token: string): { Authorization: string } {
  return { Authorization: 'Bearer ' + token };
}

const KNOWN_BODIES = [MESSAGES.invalid, MESSAGES.noKey, MESSAGES.unknownKey, MESSAGES.verifyFailed].map((m) => m.message);

/** Why the reply is not the expected rejection, or null when it is. */
function rejectionProblem(reply: Reply, message: { message: string } | undefined, status: number): string | null {
  const problems: string[] = [];
  if (reply.status !== status) problems.push('status ' + reply.status);
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    body = undefined;
  }
  const text = (body as { message?: unknown } | undefined)?.message;
  if (message ? JSON.stringify(body) !== JSON.stringify(message) : typeof text !== 'string' || !KNOWN_BODIES.includes(text)) {
    problems.push('body ' + reply.text.slice(0, 160));
  }
  if (!/^application\/json/.test(String(reply.headers['content-type']))) problems.push('Content-Type ' + reply.headers['content-type']);
  if (!/^Bearer realm="jwt", error="(invalid_token|insufficient_scope)"$/.test(String(reply.headers['www-authenticate']))) {
    problems.push('WWW-Authenticate ' + reply.headers['www-authenticate']);
  }
  return problems.length ? problems.join('; ') : null;
}

interface Attack {
  label: string;
  path: string;
  token: string;
  /** The exact body; any of the gateway's 401 bodies when absent. */
  message?: { message: string };
  status?: number;
}

/** Sends every attack, then reports all that were not the expected rejection at once. */
async function expectRejectedAll(attacks: Attack[]): Promise<void> {
  const failures: string[] = [];
  for (const attack of attacks) {
    const problem = rejectionProblem(await send(attack.path + 'x', bearer(attack.token)), attack.message, attack.status ?? 401);
    if (problem) failures.push(attack.label + ' at ' + attack.path + ': ' + problem);
  }
  expect(failures).toEqual([]);
}

/** The headers the echo upstream saw for a request that must pass (200). */
async function expectAccepted(
  pathPrefix: string,
  token: string,
  label: string,
  extraHeaders: { [name: string]: string } = {},
): Promise<{ [name: string]: string }> {
  const reply = await send(pathPrefix + 'x', { ...bearer(token), ...extraHeaders });
  if (reply.status !== 200) throw new Error(label + ' at ' + pathPrefix + ': expected 200, got ' + reply.status + ' ' + reply.text.slice(0, 200));
  return reply.json().headers;
}

// ---------------------------------------------------------------- token makers

function jackClaims(extra: { [name: string]: unknown } = {}): { [name: string]: unknown } {
  return { key: 'jack-key', sub: 'jack', exp: now() + 600, ...extra };
}

function jackToken(extra: { [name: string]: unknown } = {}, header: { [name: string]: unknown } = {}): string {
  return signRaw('HS256', JACK_SECRET, { alg: 'HS256', typ: 'JWT', ...header }, jackClaims(extra));
}

/** HS256 over the exact segment text given (which may be non-canonical base64url): a valid MAC, so only the parser can refuse it. */
function macOver(headerSegment: string, payloadSegment: string, secret: string | Uint8Array = JACK_SECRET): string {
  return signRaw('HS256', secret, headerSegment, payloadSegment);
}

/** jack's HS256 token from raw JSON texts (duplicate names, odd values...). */
function jackRaw(headerJson: string, payloadJson: string): string {
  return macOver(b64u(headerJson), b64u(payloadJson));
}

function withSignature(token: string, signature: Uint8Array | string): string {
  const [h, p] = token.split('.');
  return h + '.' + p + '.' + (typeof signature === 'string' ? signature : b64u(signature));
}

/** A JSON object with one extra string member, padded until its base64url spelling satisfies `ok`. */
function paddedJson(base: { [name: string]: unknown }, ok: (segment: string) => boolean): string {
  // '???' and '>>>' at a 3-byte boundary encode to '_' and '-': shift them through every alignment.
  for (let before = 0; before < 3; before++) {
    for (let after = 0; after < 8; after++) {
      const json = JSON.stringify({ ...base, pad: 'a'.repeat(before) + '??????>>>>>>' + 'a'.repeat(after) });
      if (ok(b64u(json))) return json;
    }
  }
  throw new Error('no padding gives the wanted base64url shape');
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same bytes to a lenient decoder: the last character with non-zero unused bits (segment length % 4 must be 2 or 3). */
function nonZeroTrailingBits(segment: string): string {
  const unusedBits = segment.length % 4 === 2 ? 4 : segment.length % 4 === 3 ? 2 : 0;
  if (!unusedBits) throw new Error('segment length ' + segment.length + ' has no unused bits');
  const value = B64URL.indexOf(segment[segment.length - 1]);
  return segment.slice(0, -1) + B64URL[value | 1];
}

/** A valid HS256 token of exactly `length` characters (a padding claim in the payload). */
function jackTokenOfLength(length: number): string {
  for (const header of [{ alg: 'HS256', typ: 'JWT' }, { alg: 'HS256' }, { alg: 'HS256', typ: 'JWT', cty: 'x' }]) {
    const claims = jackClaims({ pad: '' });
    const payloadChars = length - b64u(JSON.stringify(header)).length - 2 - 43;
    const baseBytes = JSON.stringify(claims).length;
    const wantBytes = Math.floor((payloadChars * 3) / 4);
    for (let bytes = wantBytes - 3; bytes <= wantBytes + 3; bytes++) {
      if (bytes < baseBytes) continue;
      const token = signRaw('HS256', JACK_SECRET, header, { ...claims, pad: 'x'.repeat(bytes - baseBytes) });
      if (token.length === length) return token;
    }
  }
  throw new Error('cannot build a token of exactly ' + length + ' characters');
}

function aliceToken(alg = 'RS256', header: { [name: string]: unknown } = {}, key: KeyObject = alice.privateKey): string {
  return signRaw(alg, key, { alg, ...header }, { key: 'alice-key', sub: 'alice', exp: now() + 600 });
}

function bobToken(alg = 'ES256', header: { [name: string]: unknown } = {}, key: KeyObject = bob.privateKey): string {
  return signRaw(alg, key, { alg, ...header }, { key: 'bob-key', sub: 'bob', exp: now() + 600 });
}

// ---------------------------------------------------------------- the attacks

describe('alg the credential or the JWK does not allow', () => {
  it('controls: each configured key passes with its own alg', async () => {
    await expectAccepted('/c/', aliceToken(), 'alice RS256');
    await expectAccepted('/c/', bobToken(), 'bob ES256');
    await expectAccepted('/k/', aliceToken('RS256', { kid: 'rs' }), 'rs RS256');
    await expectAccepted('/k/', signRaw('PS256', carol.privateKey, { alg: 'PS256', kid: 'ps' }, { sub: 'carol', exp: now() + 600 }), 'ps PS256');
    await expectAccepted('/k/', bobToken('ES256', { kid: 'es' }), 'es ES256');
  });

  it('an RS256 credential or JWK (alg RS256) with RS384/RS512/PS256/PS384 signed by the same key: 401', async () => {
    const attacks: Attack[] = [];
    for (const alg of ['RS384', 'RS512', 'PS256', 'PS384']) {
      attacks.push({ label: 'alice credential, ' + alg, path: '/c/', token: aliceToken(alg), message: MESSAGES.verifyFailed });
      attacks.push({ label: 'JWK rs, ' + alg + ' with kid', path: '/k/', token: aliceToken(alg, { kid: 'rs' }), message: MESSAGES.verifyFailed });
      attacks.push({ label: 'JWK rs, ' + alg + ' without kid', path: '/k/', token: aliceToken(alg), message: MESSAGES.verifyFailed });
    }
    await expectRejectedAll(attacks);
  });

  it('a JWK with alg PS256 and an RS256/RS384/PS384 token from the same key: 401', async () => {
    const claims = { sub: 'carol', exp: now() + 600 };
    await expectRejectedAll(
      ['RS256', 'RS384', 'PS384'].map((alg) => ({
        label: 'JWK ps, ' + alg,
        path: '/k/',
        token: signRaw(alg, carol.privateKey, { alg, kid: 'ps' }, claims),
        message: MESSAGES.verifyFailed,
      })),
    );
  });

  it('a P-256 key (ES256 credential, EC JWK without alg) used as ES384/ES512 (SHA-384/512 over P-256): 401', async () => {
    const attacks: Attack[] = [];
    for (const alg of ['ES384', 'ES512']) {
      attacks.push({ label: 'bob credential, ' + alg, path: '/c/', token: bobToken(alg), message: MESSAGES.verifyFailed });
      attacks.push({ label: 'JWK es, ' + alg, path: '/k/', token: bobToken(alg, { kid: 'es' }), message: MESSAGES.verifyFailed });
      attacks.push({ label: 'JWK es, ' + alg + ' without kid', path: '/k/', token: bobToken(alg), message: MESSAGES.verifyFailed });
    }
    await expectRejectedAll(attacks);
  });

  it('an HS256 credential with an RS256 or ES256 token naming it: 401', async () => {
    const claims = jackClaims();
    await expectRejectedAll([
      { label: 'RS256 for jack', path: '/c/', token: signRaw('RS256', alice.privateKey, { alg: 'RS256' }, claims), message: MESSAGES.verifyFailed },
      { label: 'ES256 for jack', path: '/c/', token: signRaw('ES256', bob.privateKey, { alg: 'ES256' }, claims), message: MESSAGES.verifyFailed },
    ]);
  });
});

describe('kid values', () => {
  const longKid = 'k'.repeat(10 * 1024);

  it('controls: kid "hs" at the JWK Set, kid naming the credential at /by-kid/', async () => {
    await expectAccepted('/k/', signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'hs' }, { sub: 'x', exp: now() + 600 }), 'kid hs');
    const headers = await expectAccepted(
      '/by-kid/',
      signRaw('HS256', JACK_SECRET, { alg: 'HS256', kid: 'jack-key' }, { sub: 'jack', exp: now() + 600 }),
      'kid jack-key',
    );
    expect(headers['X-Consumer-Username']).toBe('jack');
  });

  it('a 10 KB kid (alone, or a real kid with 10 KB appended) at the JWK Set: 401, and the log line stays short', async () => {
    const claims = { sub: 'x', exp: now() + 600 };
    await expectRejectedAll([
      { label: '10 KB kid', path: '/k/', token: signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: longKid }, claims), message: MESSAGES.verifyFailed },
      { label: 'hs + 10 KB', path: '/k/', token: signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'hs' + longKid }, claims), message: MESSAGES.verifyFailed },
      { label: '10 KB kid, RS256', path: '/k/', token: aliceToken('RS256', { kid: longKid }), message: MESSAGES.verifyFailed },
    ]);
    const lines = g()
      .nginx.errorLog()
      .split('\n')
      .filter((line) => line.includes('kid "kkkk'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(1024);
  });

  it('kid as the credential key (/by-kid/): unknown, a path, 10 KB, empty, number, object, array, null: 401', async () => {
    const claims = { sub: 'jack', exp: now() + 600 };
    const kids: unknown[] = [
      'unknown',
      '../../etc/passwd',
      '/etc/passwd',
      longKid,
      'jack-key' + longKid,
      '',
      'JACK-KEY',
      1,
      { kid: 'jack-key' },
      ['jack-key'],
      null,
    ];
    await expectRejectedAll(
      kids.map((kid) => ({
        label: 'kid ' + JSON.stringify(kid).slice(0, 40),
        path: '/by-kid/',
        token: signRaw('HS256', JACK_SECRET, { alg: 'HS256', kid }, claims),
      })),
    );
  });
});

describe('jku, x5u, jwk and x5c are ignored: keys come only from the configuration', () => {
  function foreignHeaders(attacker: { jwk: object; x5c: string }): [string, { [name: string]: unknown }][] {
    const all = { jku: 'http://127.0.0.1:1/attacker-jwks.json', x5u: 'http://127.0.0.1:1/attacker.pem', jwk: attacker.jwk, x5c: [attacker.x5c] };
    return [
      ['jku', { jku: all.jku }],
      ['x5u', { x5u: all.x5u }],
      ['jwk', { jwk: all.jwk }],
      ['x5c', { x5c: all.x5c }],
      ['all four', all],
    ];
  }

  it("tokens signed by the attacker's key with x5c (its certificate), or with all four headers: 401", async () => {
    const attacks: Attack[] = [];
    const families = [
      { family: 'RS', attacker: attackerRsa, alg: 'RS256', kid: 'rs', make: aliceToken },
      { family: 'ES', attacker: attackerEc, alg: 'ES256', kid: 'es', make: bobToken },
    ];
    for (const { family, attacker, alg, kid, make } of families) {
      for (const [label, header] of foreignHeaders(attacker).filter(([name]) => name === 'x5c' || name === 'all four')) {
        attacks.push({ label: family + ' ' + label, path: '/c/', token: make(alg, header, attacker.privateKey), message: MESSAGES.verifyFailed });
        attacks.push({
          label: family + ' ' + label + ', kid',
          path: '/k/',
          token: make(alg, { ...header, kid }, attacker.privateKey),
          message: MESSAGES.verifyFailed,
        });
        attacks.push({ label: family + ' ' + label + ', no kid', path: '/k/', token: make(alg, header, attacker.privateKey), message: MESSAGES.verifyFailed });
      }
    }
    await expectRejectedAll(attacks);
  });

  it('a valid token from the configured key with jku, x5u, jwk, x5c (attacker values) added: 200, same identity', async () => {
    for (const [label, header] of foreignHeaders(attackerRsa)) {
      expect((await expectAccepted('/c/', aliceToken('RS256', header), 'RS ' + label))['X-Consumer-Username']).toBe('alice');
      expect((await expectAccepted('/k/', aliceToken('RS256', { ...header, kid: 'rs' }), 'RS ' + label))['X-Jwt-Kid']).toBe('rs');
      expect((await expectAccepted('/c/', jackToken({}, header), 'HS ' + label))['X-Consumer-Username']).toBe('jack');
      await expectAccepted('/k/', signRaw('HS256', OCT_SECRET, { alg: 'HS256', kid: 'hs', ...header }, { exp: now() + 600 }), 'HS ' + label);
    }
    for (const [label, header] of foreignHeaders(attackerEc)) {
      expect((await expectAccepted('/c/', bobToken('ES256', header), 'ES ' + label))['X-Consumer-Username']).toBe('bob');
      expect((await expectAccepted('/k/', bobToken('ES256', { ...header, kid: 'es' }), 'ES ' + label))['X-Jwt-Kid']).toBe('es');
    }
  });
});

describe('crit', () => {
  it('crit empty, null, an object, a number, [1], ["b64"], a custom name, an absent name, a registered name: 401', async () => {
    const cases: [string, { [name: string]: unknown }][] = [
      ['crit []', { crit: [] }],
      ['crit null', { crit: null }],
      ['crit {}', { crit: {} }],
      ['crit 1', { crit: 1 }],
      ['crit [1]', { crit: [1] }],
      ['crit ["b64"] with b64 false (RFC 7797, unsupported)', { crit: ['b64'], b64: false }],
      ['crit ["b64"] with b64 true', { crit: ['b64'], b64: true }],
      ['crit ["x-custom"]', { crit: ['x-custom'], 'x-custom': 1 }],
      ['crit names an absent parameter', { crit: ['x-absent'] }],
      ['crit ["alg"] (a registered name)', { crit: ['alg'] }],
    ];
    const attacks: Attack[] = [];
    for (const [label, header] of cases) {
      attacks.push({ label, path: '/c/', token: jackToken({}, header), message: MESSAGES.verifyFailed });
      attacks.push({ label: label + ', RS256', path: '/k/', token: aliceToken('RS256', { kid: 'rs', ...header }), message: MESSAGES.verifyFailed });
    }
    await expectRejectedAll(attacks);
  });
});

describe('strict JSON', () => {
  const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const claimsOpen = () => JSON.stringify(jackClaims()).slice(0, -1);

  it('control: nesting depth 16 (the limit) in header and payload passes', async () => {
    // Depth counts the outer object: one object + 15 arrays = 16.
    await expectAccepted('/c/', jackRaw('{"alg":"HS256","x":' + nest(15) + '}', claimsOpen() + ',"x":' + nest(15) + '}'), 'depth 16');
  });

  it('duplicate sub, duplicate kid, payload or header a number/boolean, empty payload: 401 JWT token invalid', async () => {
    const exp = now() + 600;
    const attacks: Attack[] = [
      { label: 'duplicate sub', path: '/c/', token: jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack","sub":"admin","exp":' + exp + '}') },
      {
        label: 'duplicate sub, escaped',
        path: '/c/',
        token: jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack","\\u0073ub":"admin","exp":' + exp + '}'),
      },
      { label: 'duplicate exp, future then past', path: '/c/', token: jackRaw('{"alg":"HS256"}', '{"key":"jack-key","exp":' + exp + ',"exp":1}') },
      {
        label: 'duplicate kid in the header',
        path: '/k/',
        token: macOver(b64u('{"alg":"HS256","kid":"nope","kid":"hs"}'), b64u('{"exp":' + exp + '}'), OCT_SECRET),
      },
      {
        label: 'duplicate alg none then HS256, JWK Set',
        path: '/k/',
        token: macOver(b64u('{"alg":"none","alg":"HS256","kid":"hs"}'), b64u('{"exp":' + exp + '}'), OCT_SECRET),
      },
      { label: 'payload is a number', path: '/c/', token: jackRaw('{"alg":"HS256"}', '1700000000') },
      { label: 'payload is true', path: '/c/', token: jackRaw('{"alg":"HS256"}', 'true') },
      { label: 'header is true', path: '/c/', token: jackRaw('true', JSON.stringify(jackClaims())) },
      { label: 'empty payload segment (valid MAC)', path: '/c/', token: macOver(b64u('{"alg":"HS256"}'), '') },
    ];
    await expectRejectedAll(attacks.map((attack) => ({ ...attack, message: MESSAGES.invalid })));
  });

  it('nesting depth 17 and 1000 in header and payload: 401 JWT token invalid', async () => {
    const attacks: Attack[] = [];
    for (const depth of [17, 1000]) {
      attacks.push({
        label: 'header depth ' + depth,
        path: '/c/',
        token: jackRaw('{"alg":"HS256","x":' + nest(depth - 1) + '}', JSON.stringify(jackClaims())),
      });
      attacks.push({ label: 'payload depth ' + depth, path: '/c/', token: jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + nest(depth - 1) + '}') });
      attacks.push({
        label: 'payload object depth ' + depth,
        path: '/c/',
        token: jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + '{"a":'.repeat(depth - 1) + '1' + '}'.repeat(depth - 1) + '}'),
      });
    }
    await expectRejectedAll(attacks.map((attack) => ({ ...attack, message: MESSAGES.invalid })));
  });

  it('100000 nested brackets (a 267 KB token, under a raised $auth_jwt_max_token_size): 401, and 401 at the default cap', async () => {
    const balanced = jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + nest(100000) + '}');
    const unclosed = jackRaw('{"alg":"HS256"}', claimsOpen() + ',"x":' + '['.repeat(100000) + '}');
    const inHeader = jackRaw('{"alg":"HS256","x":' + nest(100000) + '}', JSON.stringify(jackClaims()));
    expect(balanced.length).toBeLessThan(400000);
    await expectRejectedAll([
      { label: '100000 deep, payload', path: '/bigcap/', token: balanced, message: MESSAGES.invalid },
      { label: '100000 unclosed, payload', path: '/bigcap/', token: unclosed, message: MESSAGES.invalid },
      { label: '100000 deep, header', path: '/bigcap/', token: inHeader, message: MESSAGES.invalid },
      { label: '100000 deep, default cap', path: '/c/', token: balanced, message: MESSAGES.invalid },
    ]);
    // The raised cap really lets big tokens through.
    await expectAccepted('/bigcap/', jackTokenOfLength(100000), 'a valid 100 KB token');
  });
});

describe('strict base64url: non-canonical spellings with a valid MAC over the exact text', () => {
  // A lenient decoder (Buffer.from(s, 'base64url'), atob after a replace...)
  // reads each of these as the bytes of a valid token; only strict decoding
  // refuses them.
  let headerJson: string; // a header whose base64url has '-' and '_', length % 4 == 2
  let payloadJson: string; // a payload whose base64url has '-' and '_', length % 4 == 3
  let signedWithDashes: string; // a jack token whose signature has a '-' or '_'

  beforeAll(() => {
    headerJson = paddedJson({ alg: 'HS256' }, (s) => s.includes('-') && s.includes('_') && s.length % 4 === 2);
    payloadJson = paddedJson(jackClaims({ exp: now() + 3600 }), (s) => s.includes('-') && s.includes('_') && s.length % 4 === 3);
    for (let i = 0; ; i++) {
      signedWithDashes = jackToken({ jti: 'dash-' + i, exp: now() + 3600 });
      if (/[-_]/.test(signedWithDashes.split('.')[2])) break;
    }
  });

  it('controls: the canonical spellings pass', async () => {
    await expectAccepted('/c/', macOver(b64u(headerJson), b64u(payloadJson)), 'canonical');
    await expectAccepted('/c/', signedWithDashes, 'canonical signature');
  });

  it("'+', '/', '=', space, tab, length % 4 == 1 and non-zero trailing bits: 401 JWT token invalid", async () => {
    const h = b64u(headerJson);
    const p = b64u(payloadJson);
    const [sh, sp, sig] = signedWithDashes.split('.');
    const std = (s: string) => s.replace(/-/g, '+').replace(/_/g, '/');
    const mid = (s: string, c: string) => s.slice(0, 10) + c + s.slice(10);
    const cases: [string, string][] = [
      ["'+' and '/' in the header", macOver(std(h), p)],
      ["'+' and '/' in the payload", macOver(h, std(p))],
      ["'+'/'/' in the signature (same signing input)", sh + '.' + sp + '.' + std(sig)],
      ["'=' padding on the header", macOver(h + '==', p)],
      ["'=' padding on the payload", macOver(h, p + '=')],
      ["'=' padding on the signature (same signing input)", sh + '.' + sp + '.' + sig + '='],
      ['a space inside the header', macOver(mid(h, ' '), p)],
      ['a tab inside the payload', macOver(h, mid(p, '\t'))],
      ['a space inside the signature', sh + '.' + sp + '.' + mid(sig, ' ')],
      ['a tab inside the signature', sh + '.' + sp + '.' + mid(sig, '\t')],
      ['header length % 4 == 1', macOver(b64u('{"alg":"HS256","typ":"JWT"}') + 'A', p)],
      ['payload length % 4 == 1', macOver(h, p + 'QQ')],
      ['signature length % 4 == 1', sh + '.' + sp + '.' + sig + 'AA'],
      ['non-zero trailing bits in the header', macOver(nonZeroTrailingBits(h), p)],
      ['non-zero trailing bits in the payload', macOver(h, nonZeroTrailingBits(p))],
      ['non-zero trailing bits in the signature (same bytes to a lenient decoder)', sh + '.' + sp + '.' + nonZeroTrailingBits(sig)],
    ];
    expect([(p + 'QQ').length % 4, sig.length % 4]).toEqual([1, 3]);
    // A lenient reading really gives the same bytes, so only strictness can refuse these.
    expect(Buffer.from(nonZeroTrailingBits(sig), 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(Buffer.from(std(sig), 'base64')).toEqual(Buffer.from(sig, 'base64url'));
    expect(Buffer.from(nonZeroTrailingBits(h), 'base64url').toString()).toBe(headerJson);
    await expectRejectedAll(cases.map(([label, token]) => ({ label, path: '/c/', token, message: MESSAGES.invalid })));
  });
});

describe('over-long tokens and headers', () => {
  it('a valid token of exactly 16384 characters passes; 16385 and 65536 characters (validly signed): 401 JWT token invalid', async () => {
    const atCap = jackTokenOfLength(16384);
    expect(atCap.length).toBe(16384);
    expect((await expectAccepted('/c/', atCap, 'at the cap'))['X-Consumer-Username']).toBe('jack');
    const above = jackTokenOfLength(16385);
    const huge = jackTokenOfLength(65536);
    expect([above.length, huge.length]).toEqual([16385, 65536]);
    await expectRejectedAll([
      { label: 'one above the cap', path: '/c/', token: above, message: MESSAGES.invalid },
      { label: '64 KiB', path: '/c/', token: huge, message: MESSAGES.invalid },
      { label: 'one above the cap, JWK Set', path: '/k/', token: above, message: MESSAGES.invalid },
    ]);
  });

  it("with nginx's default large_client_header_buffers (4 8k) a 16 KiB token gets nginx's own 400, never 5xx", async () => {
    const reply = await send('/x', bearer(jackTokenOfLength(16384)), 'SMALL_PORT');
    expect(reply.status).toBe(400);
    expect(reply.text).toMatch(/Request Header Or Cookie Too Large/);
    // A token that fits in 8k works there.
    expect((await send('/x', bearer(jackToken()), 'SMALL_PORT')).status).toBe(200);
  });

  it('an Authorization header larger than the buffer (600 KiB): 400 from nginx, never 5xx', async () => {
    const reply = await send('/c/x', bearer(jackTokenOfLength(600 * 1024)));
    expect(reply.status).toBe(400);
  });

  it('very large other headers: a valid token passes beside 400 KB of other headers and cookies, a bad one is still 401', async () => {
    const big: { [name: string]: string } = {
      'X-Padding': 'p'.repeat(300 * 1024),
      Cookie: Array.from({ length: 1000 }, (_, i) => 'c' + i + '=' + 'v'.repeat(40)).join('; '),
    };
    for (let i = 0; i < 50; i++) big['X-Many-' + i] = 'm'.repeat(1000);
    const headers = await expectAccepted('/c/', jackToken(), 'valid token with big headers', big);
    expect(headers['X-Consumer-Username']).toBe('jack');
    expect(headers['X-Padding'].length).toBe(300 * 1024);
    const bad = await send('/c/x', { ...bearer(withSignature(jackToken(), randomBytes(32))), ...big });
    expect(rejectionProblem(bad, MESSAGES.verifyFailed, 401)).toBeNull();
    const none = await send('/c/x', big);
    expect({ status: none.status, body: none.json() }).toEqual({ status: 401, body: MESSAGES.missing });
    const tooBig = await send('/c/x', { ...bearer(jackToken()), 'X-Padding': 'p'.repeat(600 * 1024) });
    expect(tooBig.status).toBe(400);
  });
});

describe('ECDSA signatures with r or s out of range', () => {
  const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
  const max = (BigInt(1) << BigInt(256)) - BigInt(1);
  const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');

  it('r = n, s = n, r = s = n, r = n + 1, s = n + 1, r = 2^256 - 1, s = 2^256 - 1: 401 (consumer map and JWK Set)', async () => {
    const attacks: Attack[] = [];
    const genuine: [string, string, string][] = [
      ['bob credential', '/c/', bobToken()],
      ['JWK es', '/k/', bobToken('ES256', { kid: 'es' })],
    ];
    for (const [where, path, token] of genuine) {
      // The unmodified token passes, so each 401 is the range check.
      await expectAccepted(path, token, where + ' control');
      const signature = Buffer.from(token.split('.')[2], 'base64url');
      expect(signature.length).toBe(64);
      const r = signature.subarray(0, 32);
      const s = signature.subarray(32);
      const variants: [string, Buffer][] = [
        ['r = n', Buffer.concat([be32(n), s])],
        ['s = n', Buffer.concat([r, be32(n)])],
        ['r = s = n', Buffer.concat([be32(n), be32(n)])],
        ['r = n + 1', Buffer.concat([be32(n + BigInt(1)), s])],
        ['s = n + 1', Buffer.concat([r, be32(n + BigInt(1))])],
        ['r = 2^256 - 1', Buffer.concat([be32(max), s])],
        ['s = 2^256 - 1', Buffer.concat([r, be32(max)])],
        ['r = n, s = 0', Buffer.concat([be32(n), Buffer.alloc(32)])],
      ];
      for (const [label, bytes] of variants)
        attacks.push({ label: where + ', ' + label, path, token: withSignature(token, bytes), message: MESSAGES.verifyFailed });
    }
    await expectRejectedAll(attacks);
  });
});

describe('claims', () => {
  /** A validly signed jack token whose payload ends with the raw JSON member text given. */
  const withMember = (member: string) => jackRaw('{"alg":"HS256"}', '{"key":"jack-key","sub":"jack",' + member + '}');
  const future = () => now() + 600;

  it('expired and not-yet-valid tokens, with and without $auth_jwt_leeway 60', async () => {
    const t = now();
    const slightlyExpired = jackToken({ exp: t - 20 });
    const slightlyEarly = jackToken({ nbf: t + 20 });
    // Within the 60 s leeway: accepted there, rejected without leeway.
    await expectAccepted('/leeway/', slightlyExpired, 'exp 20 s ago with leeway');
    await expectAccepted('/leeway/', slightlyEarly, 'nbf in 20 s with leeway');
    await expectRejectedAll([
      { label: 'exp 20 s ago, no leeway', path: '/c/', token: slightlyExpired, message: MESSAGES.verifyFailed },
      { label: 'nbf in 20 s, no leeway', path: '/c/', token: slightlyEarly, message: MESSAGES.verifyFailed },
      { label: 'exp 120 s ago, leeway 60', path: '/leeway/', token: jackToken({ exp: t - 120 }), message: MESSAGES.verifyFailed },
      { label: 'nbf in 120 s, leeway 60', path: '/leeway/', token: jackToken({ nbf: t + 120 }), message: MESSAGES.verifyFailed },
      { label: 'exp 120 s ago, no leeway', path: '/c/', token: jackToken({ exp: t - 120 }), message: MESSAGES.verifyFailed },
    ]);
  });

  it('exp, nbf and iat that are not finite numbers (strings, null, booleans, {}, [], 1e400, -1e400): 401 with and without leeway', async () => {
    const values = ['"1700000000"', '"' + future() + '"', '"NaN"', 'null', 'true', 'false', '{}', '[]', '[' + future() + ']', '1e400', '-1e400'];
    const attacks: Attack[] = [];
    for (const claim of ['exp', 'nbf', 'iat']) {
      for (const value of values) {
        // exp stays valid when another claim is the broken one.
        const token = withMember((claim === 'exp' ? '' : '"exp":' + future() + ',') + '"' + claim + '":' + value);
        for (const path of ['/c/', '/leeway/']) attacks.push({ label: claim + ' ' + value, path, token, message: MESSAGES.verifyFailed });
      }
    }
    await expectRejectedAll(attacks);
  });

  it('huge numbers: exp 1e300 is a far-future expiry (200) unless $auth_jwt_maximum_expiration is set (401); nbf 1e300 and exp -1e300: 401', async () => {
    // RFC 7519 NumericDate is any JSON number; Kong and APISIX accept a far
    // future exp too. Bounding the lifetime is what maximum_expiration is for.
    const farFuture = withMember('"exp":1e300');
    await expectAccepted('/c/', farFuture, 'exp 1e300');
    await expectAccepted('/leeway/', farFuture, 'exp 1e300 with leeway');
    await expectAccepted('/c/', withMember('"exp":' + future() + ',"nbf":-1e300'), 'nbf -1e300');
    await expectAccepted('/maxexp/', jackToken(), 'maxexp control');
    await expectRejectedAll([
      { label: 'exp 1e300 with maximum_expiration', path: '/maxexp/', token: farFuture, message: MESSAGES.verifyFailed },
      { label: 'exp 9007199254740993 with maximum_expiration', path: '/maxexp/', token: withMember('"exp":9007199254740993'), message: MESSAGES.verifyFailed },
      { label: 'nbf 1e300', path: '/c/', token: withMember('"exp":' + future() + ',"nbf":1e300'), message: MESSAGES.verifyFailed },
      { label: 'nbf 1e300 with leeway', path: '/leeway/', token: withMember('"exp":' + future() + ',"nbf":1e300'), message: MESSAGES.verifyFailed },
      { label: 'exp -1e300', path: '/c/', token: withMember('"exp":-1e300'), message: MESSAGES.verifyFailed },
      { label: 'exp -1e300 with leeway', path: '/leeway/', token: withMember('"exp":-1e300'), message: MESSAGES.verifyFailed },
      { label: 'exp 0 with leeway', path: '/leeway/', token: withMember('"exp":0'), message: MESSAGES.verifyFailed },
    ]);
  });
});

describe('identity headers sent by the client never reach the upstream unless the gateway set them', () => {
  const IDENTITY = ['x-consumer-username', 'x-credential-identifier', 'x-consumer-custom-id', 'x-anonymous-consumer'];
  const forged: { [name: string]: string } = {
    'X-Consumer-Username': 'admin',
    'X-Credential-Identifier': 'cred-admin',
    'X-Consumer-Custom-Id': 'admin-custom',
    'X-Anonymous-Consumer': 'false',
    X_Consumer_Username: 'underscore',
    X_Anonymous_Consumer: 'underscore',
  };

  /** The identity headers the upstream saw, by normalised name (lower case, '_' read as '-'); repeated ones joined with '|'. */
  async function identitySeen(pathPrefix: string, headers: { [name: string]: string }): Promise<{ [name: string]: string }> {
    const reply = await send(pathPrefix + 'x', headers);
    if (reply.status !== 200) throw new Error(pathPrefix + ': expected 200, got ' + reply.status + ' ' + reply.text.slice(0, 200));
    const seen: { [name: string]: string } = {};
    const upstream = reply.json().headers as { [name: string]: string };
    for (const name of Object.keys(upstream)) {
      const normal = name.toLowerCase().replace(/_/g, '-');
      if (IDENTITY.includes(normal)) seen[normal] = (seen[normal] === undefined ? '' : seen[normal] + '|') + upstream[name];
    }
    return seen;
  }

  it('an authenticated request: only the verified identity (a forged custom id removed for a consumer without one)', async () => {
    const jack = { 'x-consumer-username': 'jack', 'x-credential-identifier': 'cred-jack', 'x-consumer-custom-id': 'jack-custom' };
    expect(await identitySeen('/c/', { ...forged, ...bearer(jackToken()) })).toEqual(jack);
    // Lower-case copies of the names are the same headers to nginx.
    expect(await identitySeen('/c/', { 'x-consumer-username': 'root', 'x-anonymous-consumer': 'true', ...bearer(jackToken()) })).toEqual(jack);
    expect(await identitySeen('/c/', { ...forged, ...bearer(aliceToken()) })).toEqual({
      'x-consumer-username': 'alice',
      'x-credential-identifier': 'cred-alice',
    });
    // A JWK Set has no consumers: no identity headers at all.
    expect(await identitySeen('/k/', { ...forged, ...bearer(aliceToken('RS256', { kid: 'rs' })) })).toEqual({});
  });

  it('an anonymous-consumer location: anonymous without a valid token, the real consumer with one', async () => {
    const anonymous = { 'x-consumer-username': 'anonymous', 'x-anonymous-consumer': 'true' };
    expect(await identitySeen('/anon/', forged)).toEqual(anonymous);
    expect(await identitySeen('/anon/', { ...forged, ...bearer(withSignature(jackToken(), randomBytes(32))) })).toEqual(anonymous);
    expect(await identitySeen('/anon/', { ...forged, 'X-Anonymous-Consumer': 'true', ...bearer(jackToken()) })).toEqual({
      'x-consumer-username': 'jack',
      'x-credential-identifier': 'cred-jack',
      'x-consumer-custom-id': 'jack-custom',
    });
  });

  it('an unprotected location that includes jwt-proxy-headers.conf: none of them, with or without a token', async () => {
    expect(await identitySeen('/open/', forged)).toEqual({});
    expect(await identitySeen('/open/', { ...forged, ...bearer(jackToken()) })).toEqual({});
  });
});

describe('secrets and signatures never leak', () => {
  it('every token sent, replayed to a location logging at debug level: never 5xx', async () => {
    expect(sentTokens.size).toBeGreaterThan(100);
    const statuses = new Set<number>();
    for (const token of [...sentTokens]) {
      const reply = await send('/debug/x', bearer(token));
      statuses.add(reply.status);
      expect(reply.status).toBeLessThan(500);
    }
    // Both outcomes were exercised, and the location really logs at debug level.
    expect([statuses.has(200), statuses.has(401)]).toEqual([true, true]);
    expect(g().readLog('debug.log')).toMatch(/\[debug\]/);
  });

  it('no HMAC secret (raw, base64, base64url, hex) and no signature segment in any response, error.log or debug.log', async () => {
    // The base64_secret credential is used here once each way, so it is in play too.
    await expectAccepted('/c/', signRaw('HS512', HS512_SECRET, { alg: 'HS512' }, { key: 'hs512-key', exp: now() + 600 }), 'hs512');
    await expectRejectedAll([
      { label: 'hs512 secret as HS256', path: '/c/', token: signRaw('HS256', HS512_SECRET, { alg: 'HS256' }, { key: 'hs512-key', exp: now() + 600 }) },
    ]);

    const secrets: [string, string][] = [
      ['jack raw', JACK_SECRET],
      ['oct raw', OCT_SECRET],
    ];
    for (const [name, bytes] of [
      ['jack', Buffer.from(JACK_SECRET)],
      ['hs512 (base64_secret)', Buffer.from(HS512_SECRET)],
      ['oct', Buffer.from(OCT_SECRET)],
    ] as [string, Buffer][]) {
      secrets.push([name + ' base64', bytes.toString('base64')], [name + ' base64 unpadded', bytes.toString('base64').replace(/=+$/, '')]);
      secrets.push([name + ' base64url', bytes.toString('base64url')], [name + ' hex', bytes.toString('hex')]);
    }
    const signatures = new Set<string>();
    for (const token of sentTokens) for (const part of token.split('.').slice(2)) if (part.length >= 16) signatures.add(part);
    expect(signatures.size).toBeGreaterThan(100);

    const isUpstreamEcho = (reply: Reply) => reply.status === 200 && /^\{\s*"method"/.test(reply.text);
    const leaks: string[] = [];
    const search = (where: string, text: string, withSignatures: boolean) => {
      for (const [name, secret] of secrets) if (text.includes(secret)) leaks.push('secret ' + name + ' in ' + where);
      if (withSignatures)
        for (const signature of signatures) if (text.includes(signature)) leaks.push('signature ' + signature.slice(0, 12) + '... in ' + where);
    };
    for (const { path: sentPath, reply } of sentReplies) {
      // The echo upstream shows the client's own Authorization header back: only secrets are searched there.
      search('response to ' + sentPath.slice(0, 60) + ' (' + reply.status + ')', reply.text + '\n' + reply.rawHeaders.join('\n'), !isUpstreamEcho(reply));
    }
    search('error.log', g().nginx.errorLog(), true);
    search('debug.log', g().readLog('debug.log'), true);
    expect(leaks.slice(0, 20)).toEqual([]);

    // The search finds what it looks for: an upstream echo holds a signature the client sent,
    // and the error log does hold the gateway's rejection lines.
    const echoed = sentReplies.find(({ reply }) => isUpstreamEcho(reply))!;
    expect([...signatures].some((signature) => echoed.reply.text.includes(signature))).toBe(true);
    expect(g().nginx.errorLog()).toMatch(/jwt-gateway: rejected 401/);
  });
});

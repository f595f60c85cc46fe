/**
 * Every asymmetric family and HMAC size the gateway supports, through a JWK
 * Set and a consumer map, each both as a js_preload_object and as a file
 * path: valid tokens pass; the classic forgeries (another key, RS->HS
 * confusion, alg none, kid tricks, an embedded attacker jwk) are all 401.
 * EdDSA needs Ed25519 in WebCrypto (njs >= 0.9.7): on older engines its key
 * is skipped with a log line saying so, and its valid tokens are refused.
 */
import { randomBytes } from 'node:crypto';
import { CryptoKey, exportJWK, exportSPKI, generateKeyPair, JWK, JWTHeaderParameters, SignJWT } from 'jose';
import { authLocation, b64, engine, expectRejected, finish, Gateway, gatewayConfig, MESSAGES, now, segment, startGateway, withLogs } from '../support/gateway';
import { versionNumber } from '../support/engines.mjs';

/** What the upstream is told of the verified token, on top of jwt-proxy-headers.conf. */
const SUB_ALG = ['proxy_set_header X-Jwt-Sub $jwt_claim_sub;', 'proxy_set_header X-Jwt-Alg $jwt_header_alg;'];
const SUB_ALG_KID = [...SUB_ALG, 'proxy_set_header X-Jwt-Kid $jwt_header_kid;'];

const CONFIG = gatewayConfig({
  http: `
    js_preload_object test_jwks from \${PREFIX}/keys/jwks.json;
    js_preload_object test_consumers from \${PREFIX}/keys/consumers.json;
  `,
  server: [
    authLocation('/jwks/', ['set $auth_jwt_key_file test_jwks;'], SUB_ALG_KID),
    authLocation('/jwks-file/', ['set $auth_jwt_key_file ${PREFIX}/keys/jwks.json;'], SUB_ALG_KID),
    authLocation('/consumers/', ['set $auth_jwt_consumers test_consumers;'], SUB_ALG),
    authLocation('/consumers-file/', ['set $auth_jwt_consumers ${PREFIX}/keys/consumers.json;'], SUB_ALG),
  ],
});

type Alg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'HS384' | 'HS512' | 'EdDSA';
const ALGS: Alg[] = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'HS384', 'HS512', 'EdDSA'];
/** Whether this engine verifies the algorithm: all of them, but EdDSA only with Ed25519 (njs >= 0.9.7). */
const verifiable = (alg: Alg) => alg !== 'EdDSA' || engine().features.ed25519;
/**
 * Where the gateway knows at load that Ed25519 is missing (njs < 0.9.7, and
 * QuickJS, which throws on an unknown algorithm) it skips the key then; the
 * classic engine of an njs >= 0.9.7 built without it (Debian sid's module)
 * only rejects the key's import, so the key is reported at verification.
 */
const ed25519KnownAtLoad = engine().qjs || versionNumber(engine().njsVersion) < 907;
type SigningKey = CryptoKey | Uint8Array;

interface Asymmetric {
  publicJwk: JWK;
  spkiPem: string;
  spkiDer: Uint8Array;
  attacker: { privateKey: CryptoKey; publicJwk: JWK };
}

interface Case {
  alg: Alg;
  kid: string;
  /** The credential key claim and identity in the consumer map. */
  key: string;
  username: string;
  credentialId: string;
  signingKey: SigningKey;
  /** Another key of the same type, unknown to the gateway. */
  otherKey: SigningKey;
  asymmetric?: Asymmetric;
}

const cases: Case[] = [];
let gw: Gateway | undefined;

async function makeCase(alg: Alg): Promise<{ testCase: Case; jwk: JWK; credential: object }> {
  const name = alg.toLowerCase();
  const base = { alg, kid: 'kid-' + name, key: 'key-' + name, username: 'user-' + name, credentialId: 'cred-' + name };
  if (alg.startsWith('HS')) {
    // HS384: a text secret; HS512: random bytes given as base64 (APISIX base64_secret).
    const isText = alg === 'HS384';
    const text = randomBytes(32).toString('hex');
    const bytes = isText ? new TextEncoder().encode(text) : new Uint8Array(randomBytes(64));
    const testCase: Case = { ...base, signingKey: bytes, otherKey: new Uint8Array(randomBytes(bytes.length)) };
    const jwk: JWK = { kty: 'oct', kid: testCase.kid, alg, use: 'sig', k: b64(bytes) };
    const credential = isText
      ? { id: testCase.credentialId, key: testCase.key, algorithm: alg, secret: text }
      : { id: testCase.credentialId, key: testCase.key, algorithm: alg, secret: Buffer.from(bytes).toString('base64'), base64_secret: true };
    return { testCase, jwk, credential };
  }
  const pair = await generateKeyPair(alg);
  const other = await generateKeyPair(alg);
  const attacker = await generateKeyPair(alg);
  const publicJwk = await exportJWK(pair.publicKey);
  const spkiPem = await exportSPKI(pair.publicKey);
  const spkiDer = new Uint8Array(Buffer.from(spkiPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  const testCase: Case = {
    ...base,
    signingKey: pair.privateKey,
    otherKey: other.privateKey,
    asymmetric: { publicJwk, spkiPem, spkiDer, attacker: { privateKey: attacker.privateKey, publicJwk: await exportJWK(attacker.publicKey) } },
  };
  // RSA keys say which algorithm they are for; EC keys are bound by their curve alone.
  const jwk: JWK = alg.startsWith('ES') ? { ...publicJwk, kid: testCase.kid, use: 'sig' } : { ...publicJwk, kid: testCase.kid, alg, use: 'sig' };
  return { testCase, jwk, credential: { id: testCase.credentialId, key: testCase.key, algorithm: alg, public_key: spkiPem } };
}

beforeAll(async () => {
  const made = await Promise.all(ALGS.map(makeCase));
  const jwks = { keys: made.map((m) => m.jwk) };
  const consumers = {
    consumers: made.map((m) => ({ username: m.testCase.username, labels: { custom_id: 'custom-' + m.testCase.alg }, credentials: [m.credential] })),
  };
  for (const m of made) cases.push(m.testCase);
  gw = await startGateway({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'keys/jwks.json': JSON.stringify(jwks, null, 2), 'keys/consumers.json': JSON.stringify(consumers, null, 2) },
  });
});

afterAll(() => finish(gw));

const g = () => gw as Gateway;

interface Location {
  path: string;
  kind: 'jwks' | 'consumers';
}
const LOCATIONS: Location[] = [
  { path: '/jwks/', kind: 'jwks' },
  { path: '/jwks-file/', kind: 'jwks' },
  { path: '/consumers/', kind: 'consumers' },
  { path: '/consumers-file/', kind: 'consumers' },
];

/** The claims and header of a good token for this case at this kind of location. */
function intent(c: Case, kind: Location['kind']): { claims: { [name: string]: unknown }; header: JWTHeaderParameters } {
  const claims = { sub: 'sub-' + c.alg, exp: now() + 600, iat: now() };
  return kind === 'jwks'
    ? { claims, header: { alg: c.alg, kid: c.kid, typ: 'JWT' } }
    : { claims: { ...claims, key: c.key }, header: { alg: c.alg, typ: 'JWT' } };
}

function sign(claims: { [name: string]: unknown }, header: JWTHeaderParameters, key: SigningKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

/** Asserts a 401; the body is "failed to verify jwt" unless the token cannot even be parsed. */
async function rejected(path: string, token: string, label: string, body = MESSAGES.verifyFailed): Promise<void> {
  const reply = await g().get(path + 'anything', { Authorization: 'Bearer ' + token });
  try {
    expectRejected(reply, body);
  } catch (e) {
    if (e instanceof Error) e.message = label + ': ' + e.message;
    throw e;
  }
}

for (const location of LOCATIONS) {
  describe(location.path + ' (' + (location.kind === 'jwks' ? 'JWK Set' : 'consumer map') + ')', () => {
    for (const alg of ALGS) {
      const c = () => cases.find((x) => x.alg === alg)!;
      const it = (name: string, body: () => Promise<void>) =>
        test(
          alg + ': ' + name,
          withLogs(() => gw, body),
          15000,
        );
      // A token naming a credential this engine had to disable (EdDSA without Ed25519) is refused as an unknown key.
      const refusal = !verifiable(alg) && ed25519KnownAtLoad && location.kind === 'consumers' ? MESSAGES.unknownKey : MESSAGES.verifyFailed;

      if (!verifiable(alg) && !ed25519KnownAtLoad) {
        it('a valid token is refused: this engine cannot import Ed25519 keys, and the log says so', async () => {
          const { claims, header } = intent(c(), location.kind);
          await rejected(location.path, await sign(claims, header, c().signingKey), 'valid EdDSA token', MESSAGES.verifyFailed);
          await g().logLine('error.log', /\[warn\].*config entry skipped: .*this engine cannot use EdDSA keys/);
        });
      }

      if (!verifiable(alg) && ed25519KnownAtLoad) {
        it('a valid token is refused: this engine has no Ed25519, the key is skipped with a log line saying so', async () => {
          const { claims, header } = intent(c(), location.kind);
          const body = location.kind === 'jwks' ? MESSAGES.verifyFailed : MESSAGES.unknownKey;
          await rejected(location.path, await sign(claims, header, c().signingKey), 'valid EdDSA token', body);
          if (location.kind === 'jwks') await rejected(location.path, await sign(claims, { alg }, c().signingKey), 'valid EdDSA token without kid');
          const field = location.kind === 'jwks' ? '(kid "' + c().kid + '"): field "x"' : '("' + c().credentialId + '"): field "public_key"';
          await g().logLine(
            'error.log',
            new RegExp('\\[warn\\].*config entry skipped: .*' + field.replace(/[()]/g, '\\$&') + ': Ed25519 \\(EdDSA\\) keys need njs 0\\.9\\.7 or later'),
          );
        });
      }

      if (verifiable(alg))
        it('a valid token passes with its identity', async () => {
          const { claims, header } = intent(c(), location.kind);
          const echo = await g().echo(location.path + 'anything', { Authorization: 'Bearer ' + (await sign(claims, header, c().signingKey)) });
          expect(echo.headers['X-Jwt-Sub']).toBe('sub-' + alg);
          expect(echo.headers['X-Jwt-Alg']).toBe(alg);
          if (location.kind === 'consumers') {
            expect({
              username: echo.headers['X-Consumer-Username'],
              credential: echo.headers['X-Credential-Identifier'],
              customId: echo.headers['X-Consumer-Custom-Id'],
            }).toEqual({
              username: c().username,
              credential: c().credentialId,
              customId: 'custom-' + alg,
            });
          } else {
            expect(echo.headers['X-Jwt-Kid']).toBe(c().kid);
            expect(echo.headers['X-Consumer-Username']).toBeUndefined();
          }
        });

      if (location.kind === 'jwks' && verifiable(alg)) {
        it('a valid token without kid passes (the key is found by alg)', async () => {
          const { claims } = intent(c(), location.kind);
          const echo = await g().echo(location.path + 'anything', { Authorization: 'Bearer ' + (await sign(claims, { alg }, c().signingKey)) });
          expect(echo.headers['X-Jwt-Sub']).toBe('sub-' + alg);
          expect(echo.headers['X-Jwt-Kid']).toBeUndefined();
        });
      }

      it('the same claims signed by another key of the same type: 401', async () => {
        const { claims, header } = intent(c(), location.kind);
        await rejected(location.path, await sign(claims, header, c().otherKey), 'other key', refusal);
        if (location.kind === 'jwks') await rejected(location.path, await sign(claims, { alg }, c().otherKey), 'other key, no kid');
      });

      it('expired, and not yet valid: 401', async () => {
        const { claims, header } = intent(c(), location.kind);
        await rejected(location.path, await sign({ ...claims, exp: now() - 30 }, header, c().signingKey), 'expired', refusal);
        await rejected(location.path, await sign({ ...claims, nbf: now() + 300 }, header, c().signingKey), 'nbf in the future', refusal);
      });

      if (alg.startsWith('HS')) {
        it('the same secret with another HMAC size (alg downgrade): 401', async () => {
          const { claims, header } = intent(c(), location.kind);
          for (const other of ['HS256', alg === 'HS384' ? 'HS512' : 'HS384']) {
            await rejected(location.path, await sign(claims, { ...header, alg: other }, c().signingKey), other);
          }
        });
      } else {
        it('alg switched to HMAC with the public key as the secret (PEM, DER, JWK JSON): 401', async () => {
          const { claims, header } = intent(c(), location.kind);
          const a = c().asymmetric!;
          const secrets: [string, Uint8Array][] = [
            ['PEM text', new TextEncoder().encode(a.spkiPem)],
            ['PEM text without the final newline', new TextEncoder().encode(a.spkiPem.trimEnd())],
            ['SPKI DER', a.spkiDer],
            ['JWK JSON', new TextEncoder().encode(JSON.stringify(a.publicJwk))],
          ];
          for (const [label, secret] of secrets) {
            for (const hmac of ['HS256', 'HS384', 'HS512']) {
              await rejected(location.path, await sign(claims, { ...header, alg: hmac }, secret), hmac + ' with ' + label, refusal);
              if (location.kind === 'jwks') await rejected(location.path, await sign(claims, { alg: hmac }, secret), hmac + ' with ' + label + ', no kid');
            }
          }
        });

        it('an embedded attacker jwk (and jku/x5u) in the header: 401', async () => {
          const { claims, header } = intent(c(), location.kind);
          const attacker = c().asymmetric!.attacker;
          const forged: [string, JWTHeaderParameters][] = [
            ['jwk', { ...header, jwk: attacker.publicJwk }],
            ['jwk without kid', { alg, jwk: attacker.publicJwk }],
            ['jwk with its own kid', { alg, kid: 'attacker', jwk: { ...attacker.publicJwk, kid: 'attacker' } }],
            ['jku', { ...header, jku: 'http://127.0.0.1:1/attacker-jwks.json' }],
            ['x5u', { ...header, x5u: 'http://127.0.0.1:1/attacker.pem' }],
          ];
          for (const [label, forgedHeader] of forged) await rejected(location.path, await sign(claims, forgedHeader, attacker.privateKey), label, refusal);
        });
      }

      it('alg none / None / NONE, with an empty or a stripped-over signature: 401', async () => {
        const { claims, header } = intent(c(), location.kind);
        const genuine = await sign(claims, header, c().signingKey);
        const signature = genuine.split('.')[2];
        for (const none of ['none', 'None', 'NONE', 'nOnE']) {
          const unsigned = segment({ ...header, alg: none }) + '.' + segment(claims);
          // An empty signature segment makes the token unparseable.
          await rejected(location.path, unsigned + '.', none + ', empty signature', MESSAGES.invalid);
          await rejected(location.path, unsigned + '.' + signature, none + ', genuine signature kept');
          await rejected(location.path, unsigned + '.' + b64('x'), none + ', junk signature');
        }
        // Header alg none while the rest is the genuine signed token.
        const [, payloadPart] = genuine.split('.');
        await rejected(location.path, segment({ alg: 'none' }) + '.' + payloadPart + '.', 'none, no other header', MESSAGES.invalid);
        await rejected(location.path, segment({ alg: 'none' }) + '.' + payloadPart + '.' + signature, 'none, genuine payload and signature');
      });

      if (location.kind === 'jwks') {
        it('kid unknown, a path, or of another key: 401', async () => {
          const { claims } = intent(c(), location.kind);
          const otherKid = cases.find((x) => x.alg !== alg && !(x.alg.startsWith('HS') && alg.startsWith('HS')))!.kid;
          const kids = ['unknown', '../../etc/passwd', '/etc/passwd', c().kid + '\u0000', c().kid.toUpperCase(), '', otherKid];
          for (const kid of kids) await rejected(location.path, await sign(claims, { alg, kid }, c().signingKey), 'kid ' + JSON.stringify(kid));
          for (const kid of [1, null, ['kid'], { kid: c().kid }]) {
            const token = await sign(claims, { alg, kid: kid as unknown as string }, c().signingKey);
            await rejected(location.path, token, 'kid ' + JSON.stringify(kid));
          }
        });
      } else {
        it("another consumer's key claim with this consumer's signature: 401", async () => {
          const { claims, header } = intent(c(), location.kind);
          const other = cases.find((x) => x.alg !== alg)!;
          await rejected(location.path, await sign({ ...claims, key: other.key }, header, c().signingKey), 'key of ' + other.alg + ', own alg');
        });
      }
    }
  });
}

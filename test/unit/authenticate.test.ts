import { generateKeyPairSync, KeyObject, randomBytes, sign as nodeSign } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { algorithmNames, findAlgorithm } from '../../njs/core/algorithms';
import { authenticate, AuthResult } from '../../njs/core/authenticate';
import { FailureCode } from '../../njs/core/errors';
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { KeySource } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { verifySignature } from '../../njs/core/signature';
import { DEFAULT_MAX_TOKEN_BYTES } from '../../njs/core/token';
import { b64u, b64uJson, bytes, CAPS, compact, expectFailure, expectOk, JACK, jackConsumer, NOW, policy, segments, signRaw } from '../support/core';

const ORIGIN = 'keys.json';

const HS_ALGS = ['HS256', 'HS384', 'HS512'];
const RS_ALGS = ['RS256', 'RS384', 'RS512'];
const PS_ALGS = ['PS256', 'PS384', 'PS512'];
const ES_ALGS = ['ES256', 'ES384', 'ES512'];

const secrets: { [alg: string]: Uint8Array } = {
  HS256: new Uint8Array(randomBytes(32)),
  HS384: new Uint8Array(randomBytes(48)),
  HS512: new Uint8Array(randomBytes(64)),
};
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKeys: { [alg: string]: ReturnType<typeof generateKeyPairSync> } = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
};
const ed = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

function publicJwk(key: KeyObject, extra: JsonObject = {}): JsonObject {
  return { ...(key.export({ format: 'jwk' }) as JsonObject), ...extra };
}

function privateKeyFor(alg: string): KeyObject | Uint8Array {
  if (alg.startsWith('HS')) return secrets[alg];
  if (alg.startsWith('RS') || alg.startsWith('PS')) return rsa.privateKey;
  if (alg.startsWith('ES')) return ecKeys[alg].privateKey;
  return ed.privateKey;
}

/** One JWK Set with a key per algorithm, kid = alg (and alg set on the JWK). */
const jwks = {
  keys: [
    ...HS_ALGS.map((alg) => ({ kty: 'oct', kid: alg, alg, k: b64u(secrets[alg]) })),
    ...[...RS_ALGS, ...PS_ALGS].map((alg) => publicJwk(rsa.publicKey, { kid: alg, alg })),
    ...ES_ALGS.map((alg) => publicJwk(ecKeys[alg].publicKey, { kid: alg, alg })),
    publicJwk(ed.publicKey, { kid: 'EdDSA', alg: 'EdDSA' }),
  ],
};
const source = jwksSource(jwks, ORIGIN, CAPS);

function mint(alg: string, payload: JsonObject = { sub: 'alice', exp: NOW + 60 }, header: JsonObject = { kid: alg }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, ...header }).sign(privateKeyFor(alg));
}

function run(token: string, from: KeySource = source, overrides = {}): Promise<AuthResult> {
  return Promise.resolve(authenticate(token, from, policy(overrides), NOW));
}

async function expectCode(token: string, code: FailureCode, from: KeySource = source, overrides = {}) {
  return expectFailure(await run(token, from, overrides), code);
}

function flipByte(segment: string, index: number): string {
  const raw = Buffer.from(segment, 'base64url');
  raw[index < 0 ? raw.length + index : index] ^= 0x01;
  return raw.toString('base64url');
}

describe('every supported algorithm verifies (tokens minted by jose)', () => {
  const ALL = [...HS_ALGS, ...RS_ALGS, ...PS_ALGS, ...ES_ALGS, 'EdDSA'];

  test.each(ALL)('%s with kid', async (alg) => {
    const verified = expectOk(await run(await mint(alg)));
    expect(verified.header).toEqual({ alg, kid: alg });
    expect(verified.payload).toEqual({ sub: 'alice', exp: NOW + 60 });
    expect(verified.payloadText).toBe(JSON.stringify({ sub: 'alice', exp: NOW + 60 }));
  });

  test.each(ALL)('%s without kid (the keys that fit the alg are tried)', async (alg) => {
    expectOk(await run(await mint(alg, { sub: 'bob' }, {})));
  });

  test.each(ALL)('%s with a tampered payload is SIGNATURE_INVALID', async (alg) => {
    const [h, , s] = segments(await mint(alg));
    const forged = h + '.' + b64uJson({ sub: 'admin', exp: NOW + 60 }) + '.' + s;
    await expectCode(forged, 'SIGNATURE_INVALID');
  });

  test.each(ALL)('%s with a tampered header is SIGNATURE_INVALID', async (alg) => {
    const [, p, s] = segments(await mint(alg));
    await expectCode(b64uJson({ alg, kid: alg, typ: 'JWT' }) + '.' + p + '.' + s, 'SIGNATURE_INVALID');
  });

  test.each(ALL)('%s with one flipped signature bit (first and last byte) is SIGNATURE_INVALID', async (alg) => {
    const [h, p, s] = segments(await mint(alg));
    await expectCode(h + '.' + p + '.' + flipByte(s, 0), 'SIGNATURE_INVALID');
    await expectCode(h + '.' + p + '.' + flipByte(s, -1), 'SIGNATURE_INVALID');
  });

  test('the payload must be the signed bytes: re-encoding equivalent JSON breaks the signature', async () => {
    const [h, p, s] = segments(await mint('HS256'));
    const spaced = b64u(JSON.stringify(JSON.parse(Buffer.from(p, 'base64url').toString()), null, 1));
    await expectCode(h + '.' + spaced + '.' + s, 'SIGNATURE_INVALID');
  });

  test('a signature from another token does not verify', async () => {
    const [h, p] = segments(await mint('RS256', { sub: 'alice' }));
    const [, , otherSignature] = segments(await mint('RS256', { sub: 'mallory' }));
    await expectCode(h + '.' + p + '.' + otherSignature, 'SIGNATURE_INVALID');
  });

  test('a key in the set is only used for its own alg: HS256 token under kid HS384 fails', async () => {
    const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'HS384' }).sign(secrets.HS384);
    await expectCode(token, 'KEY_NOT_FOUND');
  });
});

describe('alg allow-list', () => {
  test.each(['none', 'None', 'NONE', 'nOnE', 'NoNe'])('alg %j is ALG_NOT_ALLOWED', async (alg) => {
    const token = compact({ alg, kid: 'HS256' }, { sub: 'admin' }, 'AAAA');
    const failure = await expectCode(token, 'ALG_NOT_ALLOWED');
    expect(failure.message).toBe('failed to verify jwt');
  });

  test('alg none with the usual empty signature is rejected', async () => {
    const result = await run(compact({ alg: 'none' }, { sub: 'admin' }, ''));
    expect(result.ok).toBe(false);
  });

  test('alg none is rejected by a consumer map too', async () => {
    const consumers = consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS);
    await expectCode(compact({ alg: 'none' }, { key: JACK.key }, 'AAAA'), 'ALG_NOT_ALLOWED', consumers);
  });

  test.each([
    ['lower case', 'hs256'],
    ['trailing space', 'HS256 '],
    ['HMAC without size', 'HS'],
    ['unknown', 'HS1024'],
    ['JWE alg', 'RSA-OAEP'],
    ['ES256K', 'ES256K'],
    ['Ed25519 (not the JOSE name)', 'Ed25519'],
    ['prototype name', '__proto__'],
    ['prototype name', 'constructor'],
    ['prototype name', 'toString'],
    ['a number', 256],
    ['null', null],
    ['an array', ['HS256']],
    ['an object', { name: 'HS256' }],
  ])('alg %s (%j) is ALG_NOT_ALLOWED', async (_name, alg) => {
    const token = signRaw('HS256', secrets.HS256, { alg, kid: 'HS256' }, { sub: 'x' });
    await expectCode(token, 'ALG_NOT_ALLOWED');
  });

  test('a missing alg is ALG_NOT_ALLOWED', async () => {
    await expectCode(signRaw('HS256', secrets.HS256, { kid: 'HS256' }, { sub: 'x' }), 'ALG_NOT_ALLOWED');
  });
});

describe('RS256 -> HS256 key confusion', () => {
  const spkiPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pkcs1Pem = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const spkiDer = new Uint8Array(rsa.publicKey.export({ type: 'spki', format: 'der' }));
  const jwk = publicJwk(rsa.publicKey);
  const secretsToTry: [string, Uint8Array][] = [
    ['the SPKI PEM', bytes(spkiPem)],
    ['the SPKI PEM without its final newline', bytes(spkiPem.trim())],
    ['the PKCS#1 PEM', bytes(pkcs1Pem)],
    ['the SPKI DER', spkiDer],
    ['the JWK JSON', bytes(JSON.stringify(jwk))],
    ['the JWK JSON with kid and alg', bytes(JSON.stringify({ ...jwk, kid: 'rsa', alg: 'RS256' }))],
    ['the modulus bytes', new Uint8Array(Buffer.from(jwk.n as string, 'base64url'))],
  ];

  describe.each([
    ['a JWK without alg', { keys: [publicJwk(rsa.publicKey, { kid: 'rsa' })] }],
    ['a JWK with alg RS256', { keys: [publicJwk(rsa.publicKey, { kid: 'rsa', alg: 'RS256' })] }],
  ])('JWK Set with %s', (_name, document) => {
    const rsaOnly = jwksSource(document, ORIGIN, CAPS);

    test('control: the real RS256 token verifies', async () => {
      expectOk(await run(await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: 'rsa' }).sign(rsa.privateKey), rsaOnly));
    });

    test.each(secretsToTry)('HS256 signed with %s is refused (with kid)', async (_what, secret) => {
      await expectCode(signRaw('HS256', secret, { alg: 'HS256', kid: 'rsa' }, { sub: 'admin' }), 'KEY_NOT_FOUND', rsaOnly);
    });

    test.each(secretsToTry)('HS256 signed with %s is refused (without kid)', async (_what, secret) => {
      await expectCode(signRaw('HS256', secret, { alg: 'HS256' }, { sub: 'admin' }), 'KEY_NOT_FOUND', rsaOnly);
    });

    test.each(['HS384', 'HS512'])('%s signed with the PEM is refused', async (alg) => {
      await expectCode(signRaw(alg, bytes(spkiPem), { alg, kid: 'rsa' }, { sub: 'admin' }), 'KEY_NOT_FOUND', rsaOnly);
    });
  });

  test('a JWK Set with an RSA key and an HMAC key: the PEM-signed token still fails', async () => {
    const mixed = jwksSource({ keys: [publicJwk(rsa.publicKey), { kty: 'oct', k: b64u(secrets.HS256) }] }, ORIGIN, CAPS);
    for (const [, secret] of secretsToTry) {
      await expectCode(signRaw('HS256', secret, { alg: 'HS256' }, { sub: 'admin' }), 'SIGNATURE_INVALID', mixed);
    }
  });

  test('an RS256 consumer credential refuses HS256 signed with its own PEM', async () => {
    const consumers = consumersSource(
      { consumers: [{ username: 'alice', credentials: [{ key: 'alice-key', algorithm: 'RS256', public_key: spkiPem }] }] },
      ORIGIN,
      CAPS,
    );
    expectOk(await run(await new SignJWT({ key: 'alice-key' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey), consumers));
    for (const [, secret] of secretsToTry) {
      await expectCode(signRaw('HS256', secret, { alg: 'HS256' }, { key: 'alice-key' }), 'ALG_NOT_ALLOWED', consumers);
    }
  });

  test('an ES256 key as HMAC secret is refused as well', async () => {
    const ecPem = ecKeys.ES256.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expectCode(signRaw('HS256', bytes(ecPem), { alg: 'HS256', kid: 'ES256' }, { sub: 'admin' }), 'KEY_NOT_FOUND');
  });
});

describe('ECDSA signature shape', () => {
  async function esParts(alg: string) {
    return segments(await mint(alg));
  }

  test.each([
    ['ES256', 64],
    ['ES384', 96],
    ['ES512', 132],
  ])('%s signatures are exactly %i bytes (r||s)', async (alg, length) => {
    const [, , s] = await esParts(alg);
    expect(Buffer.from(s, 'base64url').length).toBe(length);
  });

  test('ES256 signature one byte short is SIGNATURE_INVALID', async () => {
    const [h, p, s] = await esParts('ES256');
    await expectCode(h + '.' + p + '.' + b64u(Buffer.from(s, 'base64url').subarray(0, 63)), 'SIGNATURE_INVALID');
  });

  test('ES256 signature one byte long (trailing zero or leading zero) is SIGNATURE_INVALID', async () => {
    const [h, p, s] = await esParts('ES256');
    const sig = Buffer.from(s, 'base64url');
    await expectCode(h + '.' + p + '.' + b64u(Buffer.concat([sig, Buffer.from([0])])), 'SIGNATURE_INVALID');
    await expectCode(h + '.' + p + '.' + b64u(Buffer.concat([Buffer.from([0]), sig])), 'SIGNATURE_INVALID');
  });

  test.each([
    ['r = 0', (sig: Buffer) => Buffer.concat([Buffer.alloc(sig.length / 2), sig.subarray(sig.length / 2)])],
    ['s = 0', (sig: Buffer) => Buffer.concat([sig.subarray(0, sig.length / 2), Buffer.alloc(sig.length / 2)])],
    ['r = s = 0 (psychic signature)', (sig: Buffer) => Buffer.alloc(sig.length)],
  ])('%s is SIGNATURE_INVALID on every curve', async (_name, mangle) => {
    for (const alg of ES_ALGS) {
      const [h, p, s] = await esParts(alg);
      await expectCode(h + '.' + p + '.' + b64u(mangle(Buffer.from(s, 'base64url'))), 'SIGNATURE_INVALID');
    }
  });

  test('a DER (ASN.1) encoded ECDSA signature is refused', async () => {
    const header = b64uJson({ alg: 'ES256', kid: 'ES256' });
    const payload = b64uJson({ sub: 'alice' });
    const der = nodeSign('sha256', Buffer.from(header + '.' + payload), { key: ecKeys.ES256.privateKey, dsaEncoding: 'der' });
    await expectCode(header + '.' + payload + '.' + b64u(der), 'SIGNATURE_INVALID');
    // control: the same input signed as r||s passes
    expectOk(await run(signRaw('ES256', ecKeys.ES256.privateKey, { alg: 'ES256', kid: 'ES256' }, { sub: 'alice' })));
  });

  test('an ES384 signature under an ES256 header is refused', async () => {
    const [, , s384] = await esParts('ES384');
    const [h, p] = await esParts('ES256');
    await expectCode(h + '.' + p + '.' + s384, 'SIGNATURE_INVALID');
  });
});

describe('defence in depth against an engine whose verify() says yes too easily', () => {
  /** Runs `body` with crypto.subtle.verify answering true for everything (a "psychic signatures" engine). */
  async function withPermissiveVerify(body: () => Promise<void>): Promise<void> {
    const subtle = globalThis.crypto.subtle;
    const original = Object.getOwnPropertyDescriptor(subtle, 'verify');
    Object.defineProperty(subtle, 'verify', { configurable: true, writable: true, value: () => Promise.resolve(true) });
    try {
      await body();
    } finally {
      if (original) Object.defineProperty(subtle, 'verify', original);
      else delete (subtle as unknown as { verify?: unknown }).verify;
    }
  }

  test('r = 0 or s = 0 fails before the engine is asked', async () => {
    const [h, p] = segments(await mint('ES256'));
    const nonZero = Buffer.alloc(32, 7);
    await withPermissiveVerify(async () => {
      // control: the patched engine accepts any well-formed signature
      expectOk(await run(h + '.' + p + '.' + b64u(Buffer.concat([nonZero, nonZero]))));
      await expectCode(h + '.' + p + '.' + b64u(Buffer.concat([Buffer.alloc(32), nonZero])), 'SIGNATURE_INVALID');
      await expectCode(h + '.' + p + '.' + b64u(Buffer.concat([nonZero, Buffer.alloc(32)])), 'SIGNATURE_INVALID');
      await expectCode(h + '.' + p + '.' + b64u(Buffer.alloc(64)), 'SIGNATURE_INVALID');
      await expectCode(h + '.' + p + '.' + b64u(Buffer.alloc(63, 7)), 'SIGNATURE_INVALID');
    });
  });

  test('verifySignature refuses a key not bound to the algorithm, whatever the engine says', async () => {
    const rsaKey = jwksSource({ keys: [publicJwk(rsa.publicKey, { alg: 'RS256' })] }, ORIGIN, CAPS).lookup(
      { header: { alg: 'RS256' }, payload: {} },
      findAlgorithm('RS256')!,
      { keyClaim: 'key' },
    );
    if (!('keys' in rsaKey) || rsaKey.keys.length !== 1) throw new Error('expected the RSA key');
    const input = bytes('a.b');
    await withPermissiveVerify(async () => {
      expect(await verifySignature(findAlgorithm('RS256')!, rsaKey.keys[0], input, new Uint8Array(256))).toBe(true);
      expect(await verifySignature(findAlgorithm('HS256')!, rsaKey.keys[0], input, new Uint8Array(32))).toBe(false);
      expect(await verifySignature(findAlgorithm('PS256')!, rsaKey.keys[0], input, new Uint8Array(256))).toBe(false);
    });
  });
});

describe('crit', () => {
  test.each([
    ['an unknown parameter', ['exp']],
    ['b64 (RFC 7797, not supported)', ['b64']],
    ['an empty list', []],
    ['a string instead of a list', 'exp'],
  ])('crit with %s is CRIT_UNSUPPORTED even with a valid signature', async (_name, crit) => {
    const token = signRaw('HS256', secrets.HS256, { alg: 'HS256', kid: 'HS256', crit, exp: NOW + 60, b64: true }, { sub: 'x' });
    const failure = await expectCode(token, 'CRIT_UNSUPPORTED');
    expect(failure.message).toBe('failed to verify jwt');
  });

  test('the same token without crit verifies (control)', async () => {
    expectOk(await run(signRaw('HS256', secrets.HS256, { alg: 'HS256', kid: 'HS256', exp: NOW + 60, b64: true }, { sub: 'x' })));
  });
});

describe('keys named by the token are never used (jku, x5u, jwk, x5c)', () => {
  const attackerJwk = publicJwk(attacker.publicKey);
  const attackerSpki = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const hostile = {
    jwk: attackerJwk,
    jku: 'https://attacker.example/jwks.json',
    x5u: 'https://attacker.example/cert.pem',
    x5c: [attackerSpki],
  };

  test('a token signed by the attacker with its key embedded as jwk fails (kid of a real key)', async () => {
    const token = signRaw('RS256', attacker.privateKey, { alg: 'RS256', kid: 'RS256', ...hostile }, { sub: 'admin' });
    await expectCode(token, 'SIGNATURE_INVALID');
  });

  test('... and without kid', async () => {
    await expectCode(signRaw('RS256', attacker.privateKey, { alg: 'RS256', jwk: attackerJwk }, { sub: 'admin' }), 'SIGNATURE_INVALID');
  });

  test('... and with a kid only the attacker knows', async () => {
    await expectCode(signRaw('RS256', attacker.privateKey, { alg: 'RS256', kid: 'attacker', ...hostile }, { sub: 'admin' }), 'KEY_NOT_FOUND');
  });

  test.each(['jwk', 'jku', 'x5u', 'x5c'])('%s alone does not bring a key', async (name) => {
    const header = { alg: 'RS256', [name]: (hostile as JsonObject)[name] };
    await expectCode(signRaw('RS256', attacker.privateKey, header, { sub: 'admin' }), 'SIGNATURE_INVALID');
  });

  test('an embedded oct jwk does not become an HMAC key', async () => {
    const k = randomBytes(32);
    const token = signRaw('HS256', k, { alg: 'HS256', jwk: { kty: 'oct', k: b64u(k) } }, { sub: 'admin' });
    await expectCode(token, 'SIGNATURE_INVALID');
  });

  test("the attacker's jwk is ignored by a consumer map too", async () => {
    const consumers = consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS);
    const k = randomBytes(32);
    await expectCode(signRaw('HS256', k, { alg: 'HS256', jwk: { kty: 'oct', k: b64u(k) } }, { key: JACK.key }), 'SIGNATURE_INVALID', consumers);
    await expectCode(signRaw('RS256', attacker.privateKey, { alg: 'RS256', ...hostile }, { key: JACK.key }), 'ALG_NOT_ALLOWED', consumers);
  });

  test('a genuine token carrying these headers still verifies with the configured key (they are ignored, not trusted)', async () => {
    expectOk(await run(signRaw('RS256', rsa.privateKey, { alg: 'RS256', kid: 'RS256', ...hostile }, { sub: 'alice' })));
  });
});

describe('token size', () => {
  test('a token of exactly maxTokenBytes passes the size check; one byte less is TOKEN_TOO_LARGE', async () => {
    const token = await mint('HS256');
    expectOk(await run(token, source, { maxTokenBytes: token.length }));
    const failure = await expectCode(token, 'TOKEN_TOO_LARGE', source, { maxTokenBytes: token.length - 1 });
    expect(failure.message).toBe('JWT token invalid');
  });

  test(`the default limit (${DEFAULT_MAX_TOKEN_BYTES}) refuses a bigger token before any parsing`, async () => {
    const token = await mint('HS256', { sub: 'alice', pad: 'x'.repeat(DEFAULT_MAX_TOKEN_BYTES) });
    await expectCode(token, 'TOKEN_TOO_LARGE');
    await expectCode('x'.repeat(DEFAULT_MAX_TOKEN_BYTES + 1), 'TOKEN_TOO_LARGE');
  });
});

describe('malformed tokens', () => {
  let good: string;
  beforeAll(async () => {
    good = await mint('HS256');
  });

  test.each([
    ['empty', () => ''],
    ['one segment', () => 'abc'],
    ['two segments', () => segments(good).slice(0, 2).join('.')],
    ['four segments', () => good + '.AAAA'],
    ['five segments (JWE shape)', () => good + '.AAAA.AAAA'],
    ['an empty signature', () => segments(good).slice(0, 2).join('.') + '.'],
    ['an empty header', () => '.' + segments(good).slice(1).join('.')],
    ['an empty payload', () => segments(good)[0] + '..' + segments(good)[2]],
    ['a padded signature', () => good + '='],
    ['standard base64 in the signature', () => segments(good).slice(0, 2).join('.') + '.' + Buffer.from(segments(good)[2], 'base64url').toString('base64')],
    ['leading whitespace', () => ' ' + good],
    ['trailing newline', () => good + '\n'],
    ['a Bearer prefix', () => 'Bearer ' + good],
    ['a header that is a JSON array', () => compact(b64u('["HS256"]'), { sub: 'x' }, 'AAAA')],
    ['a header that is a JSON string', () => compact(b64u('"HS256"'), { sub: 'x' }, 'AAAA')],
    ['a header that is not JSON', () => compact(b64u('alg=HS256'), { sub: 'x' }, 'AAAA')],
    ['a payload that is not JSON', () => compact({ alg: 'HS256', kid: 'HS256' }, b64u('hello'), 'AAAA')],
    ['a payload that is a JSON number', () => compact({ alg: 'HS256', kid: 'HS256' }, b64u('42'), 'AAAA')],
    ['a duplicate alg in the header', () => compact(b64u('{"alg":"HS256","alg":"none","kid":"HS256"}'), { sub: 'x' }, 'AAAA')],
    ['an escaped duplicate in the payload', () => compact({ alg: 'HS256' }, b64u('{"sub":"alice","\\u0073ub":"admin"}'), 'AAAA')],
    ['invalid UTF-8 in the payload', () => compact({ alg: 'HS256' }, b64u(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'AAAA')],
    ['non-canonical base64url in the header', () => 'eyJhbGciOiJIUzI1NiJ9A.' + segments(good).slice(1).join('.')],
  ])('%s is TOKEN_MALFORMED with the APISIX message', async (_name, make) => {
    const failure = await expectCode(make(), 'TOKEN_MALFORMED');
    expect(failure.message).toBe('JWT token invalid');
  });

  test('a duplicate-member token that a lax parser would read as alg none is refused even when HMAC-signed', async () => {
    const header = b64u('{"alg":"HS256","kid":"HS256","alg":"none"}');
    const payload = b64uJson({ sub: 'admin' });
    const token = header + '.' + payload + '.' + segments(signRaw('HS256', secrets.HS256, {}, {}))[2];
    await expectCode(token, 'TOKEN_MALFORMED');
  });

  describe('a UTF-8 byte order mark before the JSON (finding F11)', () => {
    const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
    /** A correctly HMAC-signed token whose header or payload JSON starts with a BOM. */
    function withBom(part: 'header' | 'payload' | 'both'): string {
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'HS256' }));
      const payload = Buffer.from(JSON.stringify({ sub: 'alice', exp: NOW + 60 }));
      const h = b64u(part === 'payload' ? header : Buffer.concat([BOM, header]));
      const p = b64u(part === 'header' ? payload : Buffer.concat([BOM, payload]));
      return signRaw('HS256', secrets.HS256, h, p);
    }

    test.each([['header'], ['payload'], ['both']] as const)('in the %s: TOKEN_MALFORMED ("JWT token invalid"), though the signature is good', async (part) => {
      const failure = await expectCode(withBom(part), 'TOKEN_MALFORMED');
      expect(failure.message).toBe('JWT token invalid');
      expect(failure.detail).toBe(
        (part === 'payload' ? 'payload' : 'header') + ': starts with a UTF-8 byte order mark, which JSON does not allow (RFC 8259 8.1)',
      );
    });

    test('JSON.parse refuses the decoded segment too (jose 6 does not: its TextDecoder drops the BOM), and without the BOM the token verifies', async () => {
      for (const part of ['header', 'payload'] as const) {
        const segment = withBom(part).split('.')[part === 'header' ? 0 : 1];
        expect(() => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))).toThrow(SyntaxError);
      }
      const plain = await mint('HS256');
      expect((await jwtVerify(plain, secrets.HS256, { currentDate: new Date(NOW * 1000) })).payload.sub).toBe('alice');
      expectOk(await run(plain));
    });

    test('a BOM inside the JSON (U+FEFF is not JSON white space) is refused too', async () => {
      const header = b64u(Buffer.from('{"alg":"HS256",\ufeff"kid":"HS256"}'));
      const p = b64uJson({ sub: 'alice' });
      const token = signRaw('HS256', secrets.HS256, header, p);
      expect((await expectCode(token, 'TOKEN_MALFORMED')).detail).toMatch(/^header: not valid JSON/);
    });
  });

  test('deeply nested payloads are TOKEN_MALFORMED, not a crash', async () => {
    const deep = '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    await expectCode(compact({ alg: 'HS256', kid: 'HS256' }, b64u(deep), 'AAAA'), 'TOKEN_MALFORMED');
  });

  test('authenticate never rejects its promise, whatever the input', async () => {
    const inputs = ['', '.', '..', '...', 'a.b.c', '\u0000.\u0000.\u0000', '\ud800.x.y', 'é.é.é', good.replace(/\./g, '..')];
    for (const input of inputs) {
      const result = await run(input);
      expect(result.ok).toBe(false);
    }
  });
});

describe('claims are checked only after the signature', () => {
  test('an expired token with a valid signature is TOKEN_EXPIRED', async () => {
    await expectCode(await mint('ES256', { sub: 'x', exp: NOW - 1 }), 'TOKEN_EXPIRED');
  });

  test('an expired token with a bad signature is SIGNATURE_INVALID (claims are not trusted before it)', async () => {
    const [h, p, s] = segments(await mint('ES256', { sub: 'x', exp: NOW - 1 }));
    await expectCode(h + '.' + p + '.' + flipByte(s, 5), 'SIGNATURE_INVALID');
  });

  test('nbf in the future is TOKEN_NOT_YET_VALID; policy leeway applies', async () => {
    const token = await mint('HS384', { sub: 'x', nbf: NOW + 20 });
    await expectCode(token, 'TOKEN_NOT_YET_VALID');
    expectOk(await run(token, source, { leeway: 20 }));
  });

  test('required claims from the policy', async () => {
    await expectCode(await mint('RS256', { sub: 'x' }), 'CLAIM_MISSING', source, { requiredClaims: ['exp'] });
    expectOk(await run(await mint('RS256', { sub: 'x', exp: NOW + 1 }), source, { requiredClaims: ['exp'] }));
  });

  test('a string exp is CLAIM_INVALID', async () => {
    await expectCode(await mint('PS256', { sub: 'x', exp: String(NOW + 60) }), 'CLAIM_INVALID');
  });

  test('issuer and audience policies', async () => {
    const token = await mint('HS256', { iss: 'https://idp.example', aud: ['api'], exp: NOW + 60 });
    expectOk(await run(token, source, { issuers: ['https://idp.example'], audiences: ['api'] }));
    await expectCode(token, 'CLAIM_INVALID', source, { issuers: ['https://other.example'] });
    await expectCode(token, 'CLAIM_INVALID', source, { audiences: ['web'] });
  });
});

describe('failure messages (the APISIX wording) and details', () => {
  const consumers = consumersSource({ consumers: [jackConsumer()] }, ORIGIN, CAPS);

  test.each([
    ['TOKEN_MALFORMED', 'JWT token invalid', () => 'a.b'],
    ['KEY_CLAIM_MISSING', 'missing user key in JWT token', () => signRaw('HS256', JACK.secret, { alg: 'HS256' }, { sub: 'x' })],
    ['CREDENTIAL_UNKNOWN', 'Invalid user key in JWT token', () => signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: 'john-key' })],
    ['SIGNATURE_INVALID', 'failed to verify jwt', () => signRaw('HS256', 'not-jacks-secret', { alg: 'HS256' }, { key: JACK.key })],
    ['ALG_NOT_ALLOWED', 'failed to verify jwt', () => signRaw('HS512', JACK.secret, { alg: 'HS512' }, { key: JACK.key })],
    ['TOKEN_EXPIRED', 'failed to verify jwt', () => signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key, exp: NOW - 1 })],
    ['TOKEN_NOT_YET_VALID', 'failed to verify jwt', () => signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key, nbf: NOW + 100 })],
    ['CRIT_UNSUPPORTED', 'failed to verify jwt', () => signRaw('HS256', JACK.secret, { alg: 'HS256', crit: ['x'], x: 1 }, { key: JACK.key })],
  ])('%s says %j', async (code, message, make) => {
    const failure = await expectCode(make(), code as FailureCode, consumers);
    expect(failure.message).toBe(message);
  });

  test('the seed consumer still verifies (control for the table above)', async () => {
    expectOk(await run(signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key }), consumers));
  });

  test('no failure detail contains a secret or the token signature', async () => {
    const jwksSecret = 'jwks-hmac-secret-that-must-stay-private';
    const mixed = jwksSource(
      {
        keys: [
          { kty: 'oct', kid: 'k', alg: 'HS256', k: b64u(jwksSecret) },
          { kty: 'oct', kid: 'bad', k: 'bad=' },
        ],
      },
      ORIGIN,
      CAPS,
    );
    const secretForms = [
      JACK.secret,
      b64u(JACK.secret),
      Buffer.from(JACK.secret).toString('base64'),
      Buffer.from(JACK.secret).toString('hex'),
      jwksSecret,
      b64u(jwksSecret),
      Buffer.from(jwksSecret).toString('base64'),
    ];
    const cases: [KeySource, string][] = [
      [consumers, signRaw('HS256', 'wrong', { alg: 'HS256' }, { key: JACK.key })],
      [consumers, signRaw('HS512', JACK.secret, { alg: 'HS512' }, { key: JACK.key })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key, exp: NOW - 1 })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key, nbf: NOW + 999 })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: JACK.key, exp: 'soon' })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256', crit: ['zip'] }, { key: JACK.key })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256' }, { key: 'nobody' })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'HS256' }, { sub: 'x' })],
      [consumers, signRaw('HS256', JACK.secret, { alg: 'none' }, { key: JACK.key })],
      [mixed, signRaw('HS256', 'wrong', { alg: 'HS256', kid: 'k' }, { sub: 'x' })],
      [mixed, signRaw('HS256', jwksSecret, { alg: 'HS256', kid: 'bad' }, { sub: 'x' })],
      [mixed, signRaw('HS512', jwksSecret, { alg: 'HS512' }, { sub: 'x' })],
      [mixed, signRaw('HS256', jwksSecret, { alg: 'HS256', kid: 'k' }, { sub: 'x', exp: NOW - 5 })],
      [mixed, signRaw('HS256', jwksSecret, { alg: 'HS256', kid: 'k' }, { sub: 'x' }) + 'x'],
    ];
    for (const [from, token] of cases) {
      const result = await run(token, from, { requiredClaims: [] });
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      const signature = token.split('.')[2];
      for (const form of secretForms) expect(result.detail).not.toContain(form);
      expect(result.detail).not.toContain(signature);
      expect(result.message).not.toContain(JACK.secret);
    }
  });

  test('token-derived text in details is bounded and printable', async () => {
    const kid = 'k'.repeat(10000) + '\n\r\u0000"';
    const failure = await expectCode(signRaw('HS256', 'x', { alg: 'HS256', kid }, { sub: 'x' }), 'KEY_NOT_FOUND');
    expect(failure.detail.length).toBeLessThan(500);
    expect(failure.detail).toMatch(/^[\x20-\x7e]*$/);
    const alg = 'A'.repeat(5000) + '\n';
    const algFailure = await expectCode(signRaw('HS256', 'x', { alg }, { sub: 'x' }), 'ALG_NOT_ALLOWED');
    expect(algFailure.detail.length).toBeLessThan(500);
    expect(algFailure.detail).toMatch(/^[\x20-\x7e]*$/);
  });

  test('every failure is a 401', async () => {
    for (const token of ['', 'a.b', await mint('HS256', { exp: NOW - 1 })]) {
      const result = await run(token);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.status).toBe(401);
    }
  });
});

test('algorithmNames() lists exactly the JOSE signature algorithms the gateway supports', () => {
  expect(algorithmNames().sort()).toEqual([...HS_ALGS, ...RS_ALGS, ...PS_ALGS, ...ES_ALGS, 'EdDSA'].sort());
});

test('findAlgorithm knows every listed name, exactly, and nothing else', () => {
  for (const name of algorithmNames()) expect(findAlgorithm(name)!.name).toBe(name);
  for (const name of [
    'none',
    'None',
    'hs256',
    'HS255',
    'HS2560',
    'HS 256',
    'RS128',
    'ES256K',
    'EDDSA',
    'Ed25519',
    '',
    'constructor',
    '__proto__',
    'toString',
  ]) {
    expect(findAlgorithm(name)).toBeNull();
  }
  expect(findAlgorithm(256)).toBeNull();
});

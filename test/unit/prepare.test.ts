import { createSign, generateKeyPairSync, KeyObject } from 'node:crypto';
import { findAlgorithm } from '../../njs/core/algorithms';
import { verifySignature } from '../../njs/core/signature';
import { keyFromJwk, keyFromPem, keyFromSecret, MIN_RSA_BITS, secretKey } from '../../njs/core/keys/prepare';
import { isProblem, Problem } from '../../njs/core/errors';
import { VerificationKey } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { b64u, bytes, CAPS, CAPS_NO_ED25519, publicJwk, spkiHex, testKeyPairs } from '../support/core';

const { rsa2048, rsa1024, p256, p384, p521, ed25519 } = testKeyPairs();

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

function key(result: VerificationKey | Problem): VerificationKey {
  if (isProblem(result)) throw new Error('expected a key, got a problem on "' + result.field + '": ' + result.message);
  return result;
}

function expectProblem(result: VerificationKey | Problem, field: string, message?: RegExp): Problem {
  expect(isProblem(result)).toBe(true);
  const problem = result as Problem;
  expect(problem.field).toBe(field);
  if (message) expect(problem.message).toMatch(message);
  return problem;
}

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

describe('keyFromJwk: oct', () => {
  /** 64 bytes: long enough for every HS algorithm (RFC 7518 3.2). */
  const secret = bytes('a-shared-secret-of-64-bytes-long-enough-for-hs512-too-0123456789');

  test('binds an oct key to the HS family and keeps the raw secret', () => {
    const k = key(keyFromJwk({ kty: 'oct', k: b64u(secret) }, CAPS));
    expect(k.kty).toBe('oct');
    expect(k.format).toBe('raw');
    expect([...k.algorithms].sort()).toEqual(['HS256', 'HS384', 'HS512']);
    expect(Buffer.from(k.material).equals(Buffer.from(secret))).toBe(true);
  });

  test('alg narrows the key to that one algorithm', () => {
    expect(key(keyFromJwk({ kty: 'oct', k: b64u(secret), alg: 'HS384' }, CAPS)).algorithms).toEqual(['HS384']);
  });

  test.each(['RS256', 'ES256', 'EdDSA', 'PS512'])('an oct key with alg %s is a problem on "alg"', (alg) => {
    expectProblem(keyFromJwk({ kty: 'oct', k: b64u(secret), alg }, CAPS), 'alg', /cannot be used with a oct key/);
  });

  test.each(['none', 'NONE', 'hs256', 'HS256 ', '', 'RSA-OAEP'])('an unsupported alg %j is a problem on "alg"', (alg) => {
    expectProblem(keyFromJwk({ kty: 'oct', k: b64u(secret), alg }, CAPS), 'alg', /unsupported algorithm/);
  });

  test('a missing, empty or non-base64url k is a problem on "k"', () => {
    expectProblem(keyFromJwk({ kty: 'oct' }, CAPS), 'k', /missing/);
    expectProblem(keyFromJwk({ kty: 'oct', k: '' }, CAPS), 'k', /missing/);
    expectProblem(keyFromJwk({ kty: 'oct', k: 'c2VjcmV0==' }, CAPS), 'k', /base64url/);
    expectProblem(keyFromJwk({ kty: 'oct', k: 'a+b/' }, CAPS), 'k', /base64url/);
    expectProblem(keyFromJwk({ kty: 'oct', k: 42 }, CAPS), 'k');
  });

  test('a k shorter than the hash output is a problem on "k" (a 1-byte key, 31 bytes for HS256, 47 for HS384)', () => {
    expectProblem(keyFromJwk({ kty: 'oct', k: 'YQ' }, CAPS), 'k', /HMAC key has 1 byte; at least 32 are required/);
    expectProblem(keyFromJwk({ kty: 'oct', k: b64u(secret.subarray(0, 31)), alg: 'HS256' }, CAPS), 'k', /31 bytes; HS256 needs at least 32/);
    expectProblem(keyFromJwk({ kty: 'oct', k: b64u(secret.subarray(0, 47)), alg: 'HS384' }, CAPS), 'k', /47 bytes; HS384 needs at least 48/);
    expect(key(keyFromJwk({ kty: 'oct', k: b64u(secret.subarray(0, 47)) }, CAPS)).algorithms).toEqual(['HS256']);
  });
});

describe('keyFromJwk: RSA', () => {
  test("an RSA JWK becomes an SPKI equal to Node's, allowed for RS* and PS*", () => {
    const k = key(keyFromJwk(publicJwk(rsa2048.publicKey), CAPS));
    expect(k.kty).toBe('RSA');
    expect(k.format).toBe('spki');
    expect([...k.algorithms].sort()).toEqual([...RSA_ALGS].sort());
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(rsa2048.publicKey));
  });

  test.each(RSA_ALGS)('alg %s binds the RSA key to that algorithm only', (alg) => {
    expect(key(keyFromJwk(publicJwk(rsa2048.publicKey, { alg }), CAPS)).algorithms).toEqual([alg]);
  });

  test.each(['HS256', 'HS384', 'HS512', 'ES256', 'EdDSA'])('an RSA key with alg %s is a problem on "alg"', (alg) => {
    expectProblem(keyFromJwk(publicJwk(rsa2048.publicKey, { alg }), CAPS), 'alg', /cannot be used with a RSA key/);
  });

  test(`an RSA key under ${MIN_RSA_BITS} bits is rejected`, () => {
    expect(MIN_RSA_BITS).toBe(2048);
    expectProblem(keyFromJwk(publicJwk(rsa1024.publicKey), CAPS), 'n', /1024 bits; at least 2048/);
  });

  test('leading zero bytes do not make a short modulus look long', () => {
    const jwk = publicJwk(rsa1024.publicKey);
    const padded = new Uint8Array([...new Uint8Array(128), ...Buffer.from(jwk.n as string, 'base64url')]);
    expect(padded.length).toBe(256);
    expectProblem(keyFromJwk({ ...jwk, n: b64u(padded) }, CAPS), 'n', /1024 bits/);
  });

  test('a public exponent of 1 is refused on "e" (with e = 1 the "signature" is the padded hash itself: anyone can forge)', () => {
    // Node (and OpenSSL underneath WebCrypto) import such a key and verify forgeries with it.
    expectProblem(keyFromJwk(publicJwk(rsa2048.publicKey, { e: 'AQ' }), CAPS), 'e');
  });

  test('a missing or broken n or e is a problem on that field', () => {
    const jwk = publicJwk(rsa2048.publicKey);
    expectProblem(keyFromJwk({ ...jwk, n: undefined }, CAPS), 'n', /missing/);
    expectProblem(keyFromJwk({ ...jwk, n: 'not base64url!' }, CAPS), 'n', /base64url/);
    expectProblem(keyFromJwk({ ...jwk, e: undefined }, CAPS), 'e', /missing/);
    expectProblem(keyFromJwk({ ...jwk, e: 'AQAB=' }, CAPS), 'e', /base64url/);
  });
});

describe('JWK import (engines with Capabilities.jwkImport)', () => {
  const JWK_CAPS = { ...CAPS, jwkImport: true };

  test.each([
    ['a JWK', () => keyFromJwk(publicJwk(rsa2048.publicKey), JWK_CAPS)],
    ['a PEM', () => keyFromPem(pem(rsa2048.publicKey), 'RS256', JWK_CAPS)],
  ])('an RSA key from %s carries n and e as Node exports them, the SPKI as before', (_, prepared) => {
    const k = key(prepared());
    const node = publicJwk(rsa2048.publicKey);
    expect(k.jwk).toEqual({ kty: 'RSA', n: node.n, e: node.e });
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(rsa2048.publicKey));
  });

  test('without the capability, and for EC keys, there is none', () => {
    expect(key(keyFromJwk(publicJwk(rsa2048.publicKey), CAPS)).jwk).toBeUndefined();
    expect(key(keyFromJwk(publicJwk(p256.publicKey), JWK_CAPS)).jwk).toBeUndefined();
  });

  test('a token signed by the key verifies through the JWK import, and a tampered one does not', async () => {
    const k = key(keyFromPem(pem(rsa2048.publicKey), 'RS256', JWK_CAPS));
    const input = Buffer.from('header.payload');
    const signature = createSign('sha256').update(input).sign(rsa2048.privateKey);
    expect(await verifySignature(findAlgorithm('RS256')!, k, input, signature, JWK_CAPS)).toBe(true);
    expect(k.imported && Object.keys(k.imported)).toEqual(['RS256']);
    const tampered = Buffer.from(signature);
    tampered[10] ^= 1;
    expect(await verifySignature(findAlgorithm('RS256')!, k, input, tampered, JWK_CAPS)).toBe(false);
  });
});

describe('keyFromJwk: EC', () => {
  test.each([
    ['P-256', 'ES256', () => p256.publicKey],
    ['P-384', 'ES384', () => p384.publicKey],
    ['P-521', 'ES512', () => p521.publicKey],
  ])("an EC %s JWK is bound to %s and its SPKI equals Node's", (crv, alg, pub) => {
    const k = key(keyFromJwk(publicJwk(pub()), CAPS));
    expect(k.kty).toBe('EC');
    expect(k.crv).toBe(crv);
    expect(k.format).toBe('spki');
    expect(k.algorithms).toEqual([alg]);
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(pub()));
  });

  test('alg ES384 on a P-256 key is a problem on "alg"', () => {
    expectProblem(keyFromJwk(publicJwk(p256.publicKey, { alg: 'ES384' }), CAPS), 'alg', /ES384 cannot be used with a EC P-256 key/);
  });

  test('alg HS256 on an EC key is a problem on "alg"', () => {
    expectProblem(keyFromJwk(publicJwk(p256.publicKey, { alg: 'HS256' }), CAPS), 'alg');
  });

  test('the coordinate length is checked against the curve', () => {
    const jwk = publicJwk(p256.publicKey);
    const x = Buffer.from(jwk.x as string, 'base64url');
    expectProblem(keyFromJwk({ ...jwk, x: b64u(x.subarray(1)) }, CAPS), 'x', /must be 32 bytes, got 31/);
    expectProblem(keyFromJwk({ ...jwk, x: b64u(Buffer.concat([Buffer.from([0]), x])) }, CAPS), 'x', /must be 32 bytes, got 33/);
    const y = Buffer.from(jwk.y as string, 'base64url');
    expectProblem(keyFromJwk({ ...jwk, y: b64u(y.subarray(1)) }, CAPS), 'y', /must be 32 bytes/);
    // P-384 coordinates on a key claiming P-256
    const big = publicJwk(p384.publicKey);
    expectProblem(keyFromJwk({ ...big, crv: 'P-256' }, CAPS), 'x', /must be 32 bytes, got 48/);
    // P-521 coordinates are 66 bytes
    const p521jwk = publicJwk(p521.publicKey);
    expect(Buffer.from(p521jwk.x as string, 'base64url').length).toBe(66);
    expectProblem(keyFromJwk({ ...p521jwk, crv: 'P-384' }, CAPS), 'x', /must be 48 bytes, got 66/);
  });

  test('a missing y is a problem on "y"', () => {
    expectProblem(keyFromJwk({ ...publicJwk(p256.publicKey), y: undefined }, CAPS), 'y', /missing/);
  });

  test.each(['secp256k1', 'P-224', undefined, 'p-256'])('curve %j is a problem on "crv"', (crv) => {
    expectProblem(keyFromJwk({ ...publicJwk(p256.publicKey), crv }, CAPS), 'crv', /unsupported curve/);
  });
});

describe('keyFromJwk: OKP (Ed25519)', () => {
  test('accepted when the engine can verify Ed25519', () => {
    const k = key(keyFromJwk(publicJwk(ed25519.publicKey), CAPS));
    expect(k.kty).toBe('OKP');
    expect(k.crv).toBe('Ed25519');
    expect(k.algorithms).toEqual(['EdDSA']);
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(ed25519.publicKey));
  });

  test('rejected when capabilities.ed25519 is false', () => {
    expectProblem(keyFromJwk(publicJwk(ed25519.publicKey), CAPS_NO_ED25519), 'x', /Ed25519/);
  });

  test('X25519 and Ed448 are problems on "crv"', () => {
    expectProblem(keyFromJwk({ ...publicJwk(ed25519.publicKey), crv: 'X25519' }, CAPS), 'crv');
    expectProblem(keyFromJwk(publicJwk(generateKeyPairSync('ed448').publicKey), CAPS), 'crv');
  });

  test('a 31-byte x is a problem on "x"', () => {
    const jwk = publicJwk(ed25519.publicKey);
    expectProblem(keyFromJwk({ ...jwk, x: b64u(Buffer.from(jwk.x as string, 'base64url').subarray(1)) }, CAPS), 'x', /32 bytes/);
  });

  test('alg ES256 on an Ed25519 key is a problem on "alg"', () => {
    expectProblem(keyFromJwk(publicJwk(ed25519.publicKey, { alg: 'ES256' }), CAPS), 'alg');
  });
});

describe('keyFromJwk: use, key_ops, private material, kty', () => {
  test('use "enc" is a problem on "use"; use "sig" is fine', () => {
    expectProblem(keyFromJwk(publicJwk(rsa2048.publicKey, { use: 'enc' }), CAPS), 'use', /not "sig"/);
    expect(key(keyFromJwk(publicJwk(rsa2048.publicKey, { use: 'sig' }), CAPS)).kty).toBe('RSA');
  });

  test('key_ops without "verify" is a problem on "key_ops"', () => {
    expectProblem(keyFromJwk(publicJwk(p256.publicKey, { key_ops: ['encrypt'] }), CAPS), 'key_ops');
    expectProblem(keyFromJwk(publicJwk(p256.publicKey, { key_ops: 'verify' }), CAPS), 'key_ops');
    expect(key(keyFromJwk(publicJwk(p256.publicKey, { key_ops: ['verify'] }), CAPS)).kty).toBe('EC');
  });

  test.each([
    ['RSA', () => rsa2048.privateKey],
    ['EC', () => p256.privateKey],
    ['OKP', () => ed25519.privateKey],
  ])('a private %s JWK (with d) is rejected on "d"', (_kty, priv) => {
    const jwk = priv().export({ format: 'jwk' }) as JsonObject;
    expect(jwk.d).toBeDefined();
    expectProblem(keyFromJwk(jwk, CAPS), 'd', /private key/);
  });

  test('d is rejected on an oct key too', () => {
    expectProblem(keyFromJwk({ kty: 'oct', k: 'c2VjcmV0', d: 'AQAB' }, CAPS), 'd');
  });

  test('the problem never echoes the private exponent', () => {
    const jwk = rsa2048.privateKey.export({ format: 'jwk' }) as JsonObject;
    const problem = expectProblem(keyFromJwk(jwk, CAPS), 'd');
    expect(problem.message).not.toContain((jwk.d as string).slice(0, 12));
  });

  test.each([undefined, 'rsa', 'EC2', 'oct ', 7])('kty %j is a problem on "kty"', (kty) => {
    expectProblem(keyFromJwk({ kty, k: 'c2VjcmV0' }, CAPS), 'kty', /unsupported key type/);
  });
});

describe('secretKey', () => {
  const ofLength = (n: number) => new Uint8Array(n).fill(0x61);

  test('binds raw bytes to the HS family', () => {
    expect(key(secretKey(ofLength(64), undefined, 'alg', 'k')).algorithms.sort()).toEqual(['HS256', 'HS384', 'HS512']);
    expectProblem(secretKey(ofLength(64), 'RS256', 'my_field', 'k'), 'my_field');
  });

  // RFC 7518 3.2: "A key of the same size as the hash output ... or larger MUST be used with this algorithm."
  test.each([
    [32, ['HS256']],
    [47, ['HS256']],
    [48, ['HS256', 'HS384']],
    [63, ['HS256', 'HS384']],
    [64, ['HS256', 'HS384', 'HS512']],
  ])('without an alg, %i bytes verify only the HS algorithms whose hash they cover', (length, algorithms) => {
    expect(key(secretKey(ofLength(length), undefined, 'alg', 'k')).algorithms).toEqual(algorithms);
  });

  test.each([
    [undefined, 31, /HMAC key has 31 bytes; at least 32 are required \(HS256; 48 for HS384, 64 for HS512\) \(RFC 7518 3\.2/],
    [undefined, 1, /HMAC key has 1 byte; at least 32/],
    ['HS256', 31, /HMAC key has 31 bytes; HS256 needs at least 32 \(RFC 7518 3\.2/],
    ['HS384', 47, /HMAC key has 47 bytes; HS384 needs at least 48/],
    ['HS512', 63, /HMAC key has 63 bytes; HS512 needs at least 64/],
  ])('alg %j with %i bytes is refused on the key field, naming the sizes', (alg, length, message) => {
    expectProblem(secretKey(ofLength(length), alg, 'alg', 'my_key'), 'my_key', message);
  });

  test.each([
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ])('%s accepts a key of exactly %i bytes', (alg, length) => {
    expect(key(secretKey(ofLength(length), alg, 'alg', 'k')).algorithms).toEqual([alg]);
  });
});

describe('keyFromSecret (consumer credential secret)', () => {
  test('a text secret is used as its UTF-8 bytes, bound to the credential algorithm', () => {
    const k = key(keyFromSecret('jack-hs256-secret-that-is-very-long', false, 'HS256'));
    expect(k.algorithms).toEqual(['HS256']);
    expect(k.format).toBe('raw');
    expect(Buffer.from(k.material).toString()).toBe('jack-hs256-secret-that-is-very-long');
  });

  test('a base64 secret is decoded', () => {
    const raw = Buffer.from('00ff10203040506070'.repeat(8), 'hex');
    const k = key(keyFromSecret(raw.toString('base64'), true, 'HS512'));
    expect(Buffer.from(k.material).toString('hex')).toBe(raw.toString('hex'));
    expect(k.algorithms).toEqual(['HS512']);
  });

  test('missing, empty or non-string secrets are problems on "secret"', () => {
    expectProblem(keyFromSecret(undefined, false, 'HS256'), 'secret', /missing/);
    expectProblem(keyFromSecret('', false, 'HS256'), 'secret', /missing/);
    expectProblem(keyFromSecret(12345, false, 'HS256'), 'secret', /missing/);
  });

  test('an invalid base64 secret is a problem on "secret" that does not echo it', () => {
    const problem = expectProblem(keyFromSecret('not*base64*secret', true, 'HS256'), 'secret', /base64/);
    expect(problem.message).not.toContain('not*base64*secret');
  });

  test('a secret shorter than the hash is a problem on "secret" that does not echo it: "a", base64 "AA==", 31 bytes', () => {
    const short = expectProblem(keyFromSecret('a', false, 'HS256'), 'secret', /HMAC key has 1 byte; HS256 needs at least 32/);
    expect(short.message).not.toMatch(/"a"/);
    expectProblem(keyFromSecret('AA==', true, 'HS256'), 'secret', /HMAC key has 1 byte; HS256 needs at least 32/);
    expectProblem(keyFromSecret('x'.repeat(31), false, 'HS256'), 'secret', /31 bytes/);
    // The seed secret is 35 bytes: enough for HS256, not for HS384.
    expect(key(keyFromSecret('jack-hs256-secret-that-is-very-long', false, 'HS256')).algorithms).toEqual(['HS256']);
    expectProblem(keyFromSecret('jack-hs256-secret-that-is-very-long', false, 'HS384'), 'secret', /35 bytes; HS384 needs at least 48/);
  });

  test('a multi-byte secret counts its UTF-8 bytes', () => {
    expect(key(keyFromSecret('\u00e9'.repeat(16), false, 'HS256')).algorithms).toEqual(['HS256']);
    expectProblem(keyFromSecret('\u00e9'.repeat(15) + 'a', false, 'HS256'), 'secret', /31 bytes/);
  });

  test('a non-HMAC algorithm is a problem on "algorithm"', () => {
    expectProblem(keyFromSecret('secret', false, 'RS256'), 'algorithm');
  });
});

describe('keyFromPem (consumer credential public_key)', () => {
  test('an RSA SPKI PEM for RS256', () => {
    const k = key(keyFromPem(pem(rsa2048.publicKey), 'RS256', CAPS));
    expect(k.algorithms).toEqual(['RS256']);
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(rsa2048.publicKey));
  });

  test('a PKCS#1 RSA PEM for PS384', () => {
    const k = key(keyFromPem(rsa2048.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string, 'PS384', CAPS));
    expect(k.algorithms).toEqual(['PS384']);
    expect(Buffer.from(k.material).toString('hex')).toBe(spkiHex(rsa2048.publicKey));
  });

  test('an EC P-256 PEM for ES256', () => {
    expect(key(keyFromPem(pem(p256.publicKey), 'ES256', CAPS)).algorithms).toEqual(['ES256']);
  });

  test('an algorithm that does not fit the key is a problem on "algorithm"', () => {
    expectProblem(keyFromPem(pem(p256.publicKey), 'ES384', CAPS), 'algorithm', /ES384/);
    expectProblem(keyFromPem(pem(rsa2048.publicKey), 'ES256', CAPS), 'algorithm');
    expectProblem(keyFromPem(pem(rsa2048.publicKey), 'HS256', CAPS), 'algorithm');
  });

  test('an Ed25519 PEM depends on capabilities.ed25519', () => {
    expect(key(keyFromPem(pem(ed25519.publicKey), 'EdDSA', CAPS)).algorithms).toEqual(['EdDSA']);
    expectProblem(keyFromPem(pem(ed25519.publicKey), 'EdDSA', CAPS_NO_ED25519), 'public_key', /Ed25519/);
  });

  test('a short RSA key is a problem on "public_key"', () => {
    expectProblem(keyFromPem(pem(rsa1024.publicKey), 'RS256', CAPS), 'public_key', /1024 bits/);
  });

  test('a private key is a problem on "public_key" saying so', () => {
    const priv = p256.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expectProblem(keyFromPem(priv, 'ES256', CAPS), 'public_key', /private key/);
  });

  test('missing or garbage public_key is a problem on "public_key"', () => {
    expectProblem(keyFromPem(undefined, 'RS256', CAPS), 'public_key', /missing/);
    expectProblem(keyFromPem('', 'RS256', CAPS), 'public_key', /missing/);
    expectProblem(keyFromPem('ssh-rsa AAAAB3NzaC1yc2E', 'RS256', CAPS), 'public_key', /not a PEM/);
  });
});

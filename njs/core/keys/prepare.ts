/**
 * Turns configured key material (JWK, PEM, shared secret) into a
 * VerificationKey bound to the algorithms its type allows.
 */
import { algorithmNames, algorithmsForKey, findAlgorithm, KeyType } from '../algorithms';
import { decodeBase64, decodeBase64url, encodeBase64url } from '../base64url';
import { describeSpki, ecSpki, ed25519Spki, pemToSpki, PublicKeyInfo, rsaPublicNumbers, rsaSpki } from '../der';
import { JsonObject } from '../strict-json';
import { configProblem, isProblem, Problem } from '../errors';
import { Capabilities, VerificationKey } from './types';

export const MIN_RSA_BITS = 2048;

function coordinateBytes(crv: unknown): number {
  return crv === 'P-256' ? 32 : crv === 'P-384' ? 48 : crv === 'P-521' ? 66 : 0;
}

/** A problem in one field of a key; the key source places it in its file and entry. */
function problem(field: string, message: string): Problem {
  return configProblem(undefined, undefined, field, message);
}

/** The algorithms a key may verify: all its type allows, or only `alg` when one is configured. */
function bind(kty: KeyType, crv: string | undefined, alg: unknown, algField: string): string[] | Problem {
  if (alg === undefined) return algorithmsForKey(kty, crv);
  const algorithm = findAlgorithm(alg);
  if (!algorithm) {
    return problem(algField, 'unsupported algorithm ' + JSON.stringify(alg) + ' (supported: ' + algorithmNames().join(', ') + ')');
  }
  if (algorithm.kty !== kty || (algorithm.crv !== undefined && algorithm.crv !== crv)) {
    const kind = kty + (crv ? ' ' + crv : '');
    return problem(algField, algorithm.name + ' cannot be used with a ' + kind + ' key (it allows ' + algorithmsForKey(kty, crv).join(', ') + ')');
  }
  return [algorithm.name];
}

function fromPublicKeyInfo(info: PublicKeyInfo, alg: unknown, algField: string, keyField: string, capabilities: Capabilities): VerificationKey | Problem {
  if (info.kty === 'RSA' && (info.bits || 0) < MIN_RSA_BITS) {
    return problem(keyField, 'RSA key has ' + info.bits + ' bits; at least ' + MIN_RSA_BITS + ' are required');
  }
  if (info.weakExponent) return problem(keyField === 'n' ? 'e' : keyField, 'RSA public exponent must be odd and at least 3');
  if (info.kty === 'OKP' && !capabilities.ed25519) {
    return problem(keyField, 'Ed25519 (EdDSA) keys need njs 0.9.7 or later; this engine cannot verify them');
  }
  const algorithms = bind(info.kty, info.crv, alg, algField);
  if (!Array.isArray(algorithms)) return algorithms;
  const key: VerificationKey = { kty: info.kty, crv: info.crv, algorithms, format: 'spki', material: info.spki };
  const numbers = info.kty === 'RSA' && capabilities.jwkImport ? rsaPublicNumbers(info.spki) : null;
  if (numbers) key.jwk = { kty: 'RSA', n: encodeBase64url(numbers.n), e: encodeBase64url(numbers.e) };
  return key;
}

function base64urlField(jwk: JsonObject, field: string, expectedLength?: number): Uint8Array | Problem {
  const value = jwk[field];
  if (typeof value !== 'string' || value === '') return problem(field, 'missing (a base64url string is required)');
  const bytes = decodeBase64url(value);
  if (!bytes) return problem(field, 'not valid base64url');
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    return problem(field, 'must be ' + expectedLength + ' bytes, got ' + bytes.length);
  }
  return bytes;
}

/** A JWK (RFC 7517) as a verification key. */
export function keyFromJwk(jwk: JsonObject, capabilities: Capabilities): VerificationKey | Problem {
  if (jwk.use !== undefined && jwk.use !== 'sig') return problem('use', 'key is for ' + JSON.stringify(jwk.use) + ', not "sig"');
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    let verifies = false;
    if (Array.isArray(ops)) for (let i = 0; i < ops.length; i++) if (ops[i] === 'verify') verifies = true;
    if (!verifies) return problem('key_ops', 'does not include "verify"');
  }
  if (jwk.d !== undefined) return problem('d', 'private key material must not be configured; publish only the public key');
  const kty = jwk.kty;
  if (kty === 'oct') {
    const secret = base64urlField(jwk, 'k');
    if (isProblem(secret)) return secret;
    if (secret.length === 0) return problem('k', 'empty secret');
    return secretKey(secret, jwk.alg, 'alg', 'k');
  }
  if (kty === 'RSA') {
    const modulus = base64urlField(jwk, 'n');
    if (isProblem(modulus)) return modulus;
    const exponent = base64urlField(jwk, 'e');
    if (isProblem(exponent)) return exponent;
    const info = describeSpki(rsaSpki(modulus, exponent));
    if (typeof info === 'string') return problem('n', info);
    return fromPublicKeyInfo(info, jwk.alg, 'alg', 'n', capabilities);
  }
  if (kty === 'EC') {
    const crv = jwk.crv;
    const size = coordinateBytes(crv);
    if (typeof crv !== 'string' || !size) return problem('crv', 'unsupported curve ' + JSON.stringify(crv) + ' (P-256, P-384, P-521)');
    const x = base64urlField(jwk, 'x', size);
    if (isProblem(x)) return x;
    const y = base64urlField(jwk, 'y', size);
    if (isProblem(y)) return y;
    return fromPublicKeyInfo({ kty: 'EC', crv, spki: ecSpki(crv, x, y) as Uint8Array }, jwk.alg, 'alg', 'x', capabilities);
  }
  if (kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') return problem('crv', 'unsupported curve ' + JSON.stringify(jwk.crv) + ' (Ed25519)');
    const x = base64urlField(jwk, 'x', 32);
    if (isProblem(x)) return x;
    return fromPublicKeyInfo({ kty: 'OKP', crv: 'Ed25519', spki: ed25519Spki(x) }, jwk.alg, 'alg', 'x', capabilities);
  }
  return problem('kty', 'unsupported key type ' + JSON.stringify(kty) + ' (oct, RSA, EC, OKP)');
}

/** RFC 7518 3.2: an HMAC key must be at least as long as the hash output: 32, 48 and 64 bytes for HS256, HS384 and HS512. */
export function minimumHmacBytes(alg: string): number {
  return Number(alg.slice(2)) / 8;
}

/**
 * An HMAC secret, usable only with HS* algorithms, and only with those whose
 * hash it is long enough for (RFC 7518 3.2): a secret of 40 bytes without a
 * configured alg verifies HS256 only. Too short for all of them, it is
 * refused (`keyField` names the field; the message never shows the secret).
 */
export function secretKey(secret: Uint8Array, alg: unknown, algField: string, keyField: string): VerificationKey | Problem {
  const bound = bind('oct', undefined, alg, algField);
  if (!Array.isArray(bound)) return bound;
  const algorithms: string[] = [];
  for (let i = 0; i < bound.length; i++) if (secret.length >= minimumHmacBytes(bound[i])) algorithms.push(bound[i]);
  if (algorithms.length === 0) {
    const size = secret.length + (secret.length === 1 ? ' byte' : ' bytes');
    const needed =
      alg === undefined ? 'at least 32 are required (HS256; 48 for HS384, 64 for HS512)' : bound[0] + ' needs at least ' + minimumHmacBytes(bound[0]);
    return problem(keyField, 'HMAC key has ' + size + '; ' + needed + ' (RFC 7518 3.2: no shorter than the hash output)');
  }
  return { kty: 'oct', algorithms, format: 'raw', material: secret };
}

/** A consumer credential's `secret` (text, or base64 when `base64_secret`). */
export function keyFromSecret(secret: unknown, isBase64: boolean, alg: string): VerificationKey | Problem {
  if (typeof secret !== 'string' || secret === '') return problem('secret', 'missing (required for ' + alg + ')');
  const bytes = isBase64 ? decodeBase64(secret) : Buffer.from(secret);
  if (!bytes || bytes.length === 0) return problem('secret', 'not valid base64 (base64_secret is true)');
  return secretKey(bytes, alg, 'algorithm', 'secret');
}

/** A consumer credential's PEM `public_key`. */
export function keyFromPem(pem: unknown, alg: string, capabilities: Capabilities): VerificationKey | Problem {
  if (typeof pem !== 'string' || pem === '') return problem('public_key', 'missing (required for ' + alg + ')');
  const info = pemToSpki(pem);
  if (typeof info === 'string') return problem('public_key', info);
  return fromPublicKeyInfo(info, alg, 'algorithm', 'public_key', capabilities);
}

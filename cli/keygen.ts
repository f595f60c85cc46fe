/**
 * `jwt-gateway keygen --alg ALG [--kid KID] --out DIR`: a new signing key
 * for a consumer or a JWK Set. HS256/384/512: a random secret of at least the
 * hash's size, as text (a consumer's `secret`) and as an `oct` JWK; RS256,
 * PS256, ES256/384/512, EdDSA: a key pair, the private key as PKCS#8 PEM
 * (mode 0600), the public one as SPKI PEM (a consumer's `public_key`) and as
 * a JWK for a JWK Set. Existing files are never overwritten.
 */
import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const KEYGEN_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type KeygenAlgorithm = (typeof KEYGEN_ALGORITHMS)[number];

/** Bytes of randomness of an HMAC secret: the hash's size (RFC 7518 3.2). */
const SECRET_BYTES: { [alg: string]: number } = { HS256: 32, HS384: 48, HS512: 64 };
const CURVES: { [alg: string]: string } = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

function keyPair(alg: KeygenAlgorithm): { publicKey: KeyObject; privateKey: KeyObject } {
  if (alg === 'RS256' || alg === 'PS256') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('ec', { namedCurve: CURVES[alg] });
}

/** A random HMAC secret for `alg` (HS256/384/512) as base64url text: the hash's size in bytes, more in characters. */
export function newSecret(alg: string): string {
  return randomBytes(SECRET_BYTES[alg]).toString('base64url');
}

export interface Generated {
  kid: string;
  /** The files written, by what they hold. */
  files: { [what: string]: string };
}

/** A kid that says what and when: `es256-20261201-3f9a`. */
export function defaultKid(alg: KeygenAlgorithm, now: Date): string {
  return alg.toLowerCase() + '-' + now.toISOString().slice(0, 10).replace(/-/g, '') + '-' + randomBytes(2).toString('hex');
}

/** Writes the key's files into `dir` (made if missing); an Error naming the file when one exists already. */
export function generateKey(alg: KeygenAlgorithm, kid: string, dir: string): Generated {
  const files: { [what: string]: string } = {};
  const contents: { [what: string]: { text: string; mode: number } } = {};
  const use = { kid, alg, use: 'sig' };
  if (SECRET_BYTES[alg]) {
    const secret = newSecret(alg);
    contents.secret = { text: secret + '\n', mode: 0o600 };
    contents.jwk = { text: JSON.stringify({ kty: 'oct', k: Buffer.from(secret).toString('base64url'), ...use }, null, 2) + '\n', mode: 0o600 };
  } else {
    const { publicKey, privateKey } = keyPair(alg);
    contents.private = { text: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, mode: 0o600 };
    contents.public = { text: publicKey.export({ type: 'spki', format: 'pem' }) as string, mode: 0o644 };
    contents.jwk = { text: JSON.stringify({ ...publicKey.export({ format: 'jwk' }), ...use }, null, 2) + '\n', mode: 0o644 };
  }
  const names: { [what: string]: string } = { secret: '.secret', private: '.private.pem', public: '.public.pem', jwk: '.jwk.json' };
  for (const what of Object.keys(contents)) files[what] = path.join(dir, kid + names[what]);
  for (const what of Object.keys(files)) if (existsSync(files[what])) throw new Error(files[what] + ' exists already: keygen never overwrites a key');
  mkdirSync(dir, { recursive: true });
  for (const what of Object.keys(files)) writeFileSync(files[what], contents[what].text, { mode: contents[what].mode, flag: 'wx' });
  return { kid, files };
}

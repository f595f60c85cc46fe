/**
 * One signature check through WebCrypto. Never throws: malformed input,
 * an engine that rejects a parameter, or a wrong-length ECDSA signature
 * (which makes verify() throw on njs) all end as `false`.
 */
import { Algorithm } from './algorithms';
import { VerificationKey } from './keys/types';

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** ECDSA r or s of zero must never verify (CVE-2022-21449, "psychic signatures"). */
function hasZeroHalf(signature: Uint8Array): boolean {
  const half = signature.length / 2;
  return allZero(signature.subarray(0, half)) || allZero(signature.subarray(half));
}

export function verifySignature(algorithm: Algorithm, key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (key.algorithms.indexOf(algorithm.name) < 0) return Promise.resolve(false);
  if (algorithm.signatureLength !== undefined && signature.length !== algorithm.signatureLength) return Promise.resolve(false);
  if (algorithm.kty === 'EC' && hasZeroHalf(signature)) return Promise.resolve(false);
  try {
    return crypto.subtle
      .importKey(key.format, key.material, algorithm.importParams as never, false, ['verify'])
      .then((cryptoKey) => crypto.subtle.verify(algorithm.verifyParams as never, cryptoKey, signature, signingInput))
      .then((valid) => valid === true, () => false);
  } catch (e) {
    return Promise.resolve(false);
  }
}

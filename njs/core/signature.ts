/**
 * One signature check. Never throws: malformed input, an engine that rejects
 * a parameter, or a wrong-length ECDSA signature (which makes verify() throw
 * on njs) all end as `false`. A key the engine cannot import at all (an njs
 * whose WebCrypto lacks the algorithm, as Debian's nginx module of njs 1.0.2
 * lacks Ed25519) is also reported in `problems`, for the log. HMAC uses the engine's synchronous primitive
 * when it has one for the hash; everything else goes through WebCrypto.
 */
import { Algorithm } from './algorithms';
import { configProblem, Problem } from './errors';
import { Capabilities, VerificationKey } from './keys/types';
import { Maybe } from './maybe';

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** ECDSA r or s of zero must never verify (CVE-2022-21449, "psychic signatures"). */
function hasZeroHalf(signature: Uint8Array): boolean {
  const half = signature.length / 2;
  return allZero(signature.subarray(0, half)) || allZero(signature.subarray(half));
}

/** Compares in time independent of where the bytes differ. The length is read once: each `.length` costs njs a property lookup per byte. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function importProblem(algorithm: Algorithm, key: VerificationKey, e: unknown, problems?: Problem[]): boolean {
  if (problems) {
    const which = key.kid !== undefined ? 'key with kid ' + JSON.stringify(key.kid) : 'an ' + key.kty + ' key';
    problems.push(
      configProblem(
        undefined,
        undefined,
        undefined,
        which + ': this engine cannot use ' + algorithm.name + ' keys (' + String((e as { message?: string }).message || e) + ')',
      ),
    );
  }
  return false;
}

function webCryptoVerify(algorithm: Algorithm, key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array, problems?: Problem[]): Promise<boolean> {
  const check = (cryptoKey: unknown) =>
    crypto.subtle.verify(algorithm.verifyParams as never, cryptoKey as never, signature, signingInput).then(
      (valid) => valid === true,
      () => false,
    );
  try {
    const kept = key.imported && key.imported[algorithm.name];
    if (kept) return check(kept);
    const imported = key.jwk
      ? crypto.subtle.importKey('jwk', key.jwk, algorithm.importParams as never, false, ['verify'])
      : crypto.subtle.importKey(key.format, key.material, algorithm.importParams as never, false, ['verify']);
    return imported.then(
      (cryptoKey) => {
        if (!key.imported) key.imported = {};
        key.imported[algorithm.name] = cryptoKey;
        return check(cryptoKey);
      },
      (e) => importProblem(algorithm, key, e, problems),
    );
  } catch (e) {
    return Promise.resolve(importProblem(algorithm, key, e, problems));
  }
}

export function verifySignature(
  algorithm: Algorithm,
  key: VerificationKey,
  signingInput: Uint8Array,
  signature: Uint8Array,
  capabilities?: Capabilities,
  problems?: Problem[],
): Maybe<boolean> {
  if (key.algorithms.indexOf(algorithm.name) < 0) return false;
  if (algorithm.signatureLength !== undefined && signature.length !== algorithm.signatureLength) return false;
  if (algorithm.kty === 'EC' && hasZeroHalf(signature)) return false;
  if (algorithm.hmacHash && capabilities && capabilities.hmac) {
    const mac = capabilities.hmac(algorithm.hmacHash, key.material, signingInput);
    if (mac) return constantTimeEqual(mac, signature);
  }
  return webCryptoVerify(algorithm, key, signingInput, signature, problems);
}

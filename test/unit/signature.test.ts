/**
 * verifySignature's synchronous HMAC path (what the gateway uses on njs for
 * HS256) against its WebCrypto path: same answers, no promise when the
 * engine's primitive has the hash, WebCrypto when it does not.
 */
import { createHmac } from 'node:crypto';
import { findAlgorithm } from '../../njs/core/algorithms';
import { secretKey } from '../../njs/core/keys/prepare';
import { isProblem } from '../../njs/core/errors';
import { Capabilities, SyncHmac, VerificationKey } from '../../njs/core/keys/types';
import { isPromise } from '../../njs/core/maybe';
import { verifySignature } from '../../njs/core/signature';

/** 64 bytes: long enough for HS512 too (RFC 7518 3.2). */
const SECRET = Buffer.from('jack-hs512-secret-that-is-very-long-at-least-sixty-four-bytes-ok');
const INPUT = Buffer.from('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYWNrIn0');
const calls: string[] = [];
const nodeHmac: SyncHmac = (hash, key, data) => {
  calls.push(hash);
  return createHmac(hash, key).update(data).digest();
};
const onlySha256: SyncHmac = (hash, key, data) => (hash === 'sha256' ? nodeHmac(hash, key, data) : null);
const withHmac = (hmac: SyncHmac): Capabilities => ({ ed25519: true, hmac });

function key(alg: string): VerificationKey {
  const prepared = secretKey(SECRET, alg, 'alg', 'k');
  if (isProblem(prepared)) throw new Error(prepared.message);
  return prepared;
}

const mac = (hash: string, data: Buffer = INPUT) => createHmac(hash, SECRET).update(data).digest();

beforeEach(() => (calls.length = 0));

test.each([
  ['HS256', 'sha256'],
  ['HS384', 'sha384'],
  ['HS512', 'sha512'],
])('%s: the synchronous path answers at once, true for the right MAC and false otherwise', (alg, hash) => {
  const good = verifySignature(findAlgorithm(alg)!, key(alg), INPUT, mac(hash), withHmac(nodeHmac));
  expect(good).toBe(true);
  const flipped = Buffer.from(mac(hash));
  flipped[flipped.length - 1] ^= 1;
  expect(verifySignature(findAlgorithm(alg)!, key(alg), INPUT, flipped, withHmac(nodeHmac))).toBe(false);
  expect(verifySignature(findAlgorithm(alg)!, key(alg), INPUT, mac(hash).subarray(1), withHmac(nodeHmac))).toBe(false);
  expect(verifySignature(findAlgorithm(alg)!, key(alg), Buffer.from('other input'), mac(hash), withHmac(nodeHmac))).toBe(false);
  expect(calls).toEqual([hash, hash, hash, hash]);
});

test('a hash the engine lacks falls back to WebCrypto, with the same answer', async () => {
  const result = verifySignature(findAlgorithm('HS512')!, key('HS512'), INPUT, mac('sha512'), withHmac(onlySha256));
  expect(isPromise(result)).toBe(true);
  await expect(result).resolves.toBe(true);
  const wrong = verifySignature(findAlgorithm('HS512')!, key('HS512'), INPUT, mac('sha384'), withHmac(onlySha256));
  await expect(wrong).resolves.toBe(false);
});

test('without capabilities HMAC goes through WebCrypto', async () => {
  const result = verifySignature(findAlgorithm('HS256')!, key('HS256'), INPUT, mac('sha256'));
  expect(isPromise(result)).toBe(true);
  await expect(result).resolves.toBe(true);
});

test('a key bound to HS256 never verifies HS512, whichever path', () => {
  expect(verifySignature(findAlgorithm('HS512')!, key('HS256'), INPUT, mac('sha512'), withHmac(nodeHmac))).toBe(false);
  expect(calls).toEqual([]);
});

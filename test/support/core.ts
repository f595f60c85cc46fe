/**
 * Small shared helpers for the unit tests. Tokens are minted by
 * test/support/tokens.ts (node:crypto), never by the code under test.
 */
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { JACK } from '../../tools/demo/consumers';
import { AuthPolicy, AuthResult } from '../../njs/core/authenticate';
import { FailureCode, Problem } from '../../njs/core/errors';
import { Capabilities } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { DEFAULT_MAX_TOKEN_BYTES } from '../../njs/core/token';

/** A fixed instant (2024-10-17T02:37:51Z + 1h): every test passes `now` explicitly. */
export const NOW = 1729132271 + 3600;

export const CAPS: Capabilities = { ed25519: true };
export const CAPS_NO_ED25519: Capabilities = { ed25519: false };

/** The demo's jack (tools/demo/consumers.ts): the APISIX seed consumer and its token. */
export { JACK };

/** The seed consumer map: jack with one HS256 credential. */
export function jackConsumer(): object {
  return {
    username: JACK.username,
    labels: { custom_id: JACK.customId },
    credentials: [{ id: JACK.credentialId, key: JACK.key, secret: JACK.secret }],
  };
}

/**
 * Fresh key pairs of the sizes and curves the key tests share (RSA 2048 and
 * 1024, P-256, P-384, P-521, Ed25519), made anew for each caller.
 */
export function testKeyPairs() {
  return {
    rsa2048: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }),
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
    ed25519: generateKeyPairSync('ed25519'),
  };
}

/** A public key as a JWK (Node's export), with `extra` members added or replaced. */
export function publicJwk(key: KeyObject, extra: JsonObject = {}): JsonObject {
  return { ...(key.export({ format: 'jwk' }) as JsonObject), ...extra };
}

/** A public key's SPKI DER, as hex. */
export function spkiHex(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('hex');
}

export function policy(overrides: Partial<AuthPolicy> = {}): AuthPolicy {
  return { maxTokenBytes: DEFAULT_MAX_TOKEN_BYTES, leeway: 0, requiredClaims: [], keyClaim: 'key', ...overrides };
}

export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** Tokens come from the one minter (test/support/tokens.ts). */
export { b64u, b64uJson, compact, segments, signRaw } from './tokens';

/** Asserts a failure with this code and returns it (typed). */
export function expectFailure(result: unknown, code: FailureCode): Problem {
  expect(result).not.toBeNull();
  const failure = result as Problem;
  expect({ ok: failure.ok, code: failure.code }).toEqual({ ok: false, code });
  expect(failure.status).toBe(401);
  expect(typeof failure.detail).toBe('string');
  return failure;
}

/** A config problem as the core reports it: code CONFIG_INVALID, where it is (file, entry, field) and what is wrong. */
export function configProblemAt(file: string, entry: string, field: string, message: string): Problem {
  return { ok: false, code: 'CONFIG_INVALID', status: 401, message, detail: '', file, entry, field };
}

/**
 * "index" members that are not what `jwt-gateway index` writes, for
 * `test.each` in the key sources' tests (each must be ignored): `table` names
 * a hash table member of `index`, `other` a member that may not be missing.
 */
export function notAnIndex(index: unknown, table: string, other: string): [string, unknown][] {
  const stored = index as JsonObject;
  return [
    ['a string', 'stale'],
    ['an array', []],
    ['of another hash', { ...stored, hash: 'fnv1a-64' }],
    ['without ' + other, { ...stored, [other]: undefined }],
    ['a table of no slots', { ...stored, [table]: { probes: 0, digits: 1, slots: '' } }],
  ];
}

/** Asserts success and returns the verified result. */
export function expectOk(result: AuthResult): Extract<AuthResult, { ok: true }> {
  if (!result.ok) throw new Error('expected success, got ' + result.code + ': ' + result.detail);
  return result;
}

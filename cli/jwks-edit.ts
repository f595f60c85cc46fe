/**
 * `jwt-gateway jwks add|remove|list FILE`: a JWK Set's keys as commands, for
 * a set the operator keeps (an identity provider's own is followed with
 * `jwks sync` or `$auth_jwt_jwks_uri`). Pure changes; cli/edit.ts checks and
 * writes them. A set holds public keys only: a JWK with private members is
 * refused, so a keygen `.private.pem` never lands in a file nginx serves from.
 */
import { configProblem, Problem } from '../njs/core/errors';
import { JsonObject } from '../njs/core/strict-json';

/** JWK members of private keys (RFC 7518 6.2.2, 6.3.2; RFC 8037 2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function keysOf(document: JsonObject): JsonObject[] | Problem {
  return Array.isArray(document.keys)
    ? (document.keys as JsonObject[])
    : configProblem(undefined, 'JWK Set', 'keys', 'missing: not a JWK Set ({"keys": [...]})');
}

/**
 * The set with the keys of `added` (a JWK, or a JWK Set's keys) after its own;
 * `kid` names a single added key. A kid the set has already is refused: the
 * gateway would check a token with it against the first key only.
 */
export function addKeys(document: JsonObject, added: JsonObject, origin: string, kid?: string): JsonObject | Problem {
  const keys = keysOf(document);
  if (!Array.isArray(keys)) return keys;
  const adding = Array.isArray(added.keys) ? (added.keys as JsonObject[]) : [added];
  if (kid !== undefined && adding.length !== 1)
    return configProblem(undefined, '--kid', undefined, origin + ' holds ' + adding.length + ' keys: --kid names one');
  const kids = keys.map((key) => key && key.kid);
  const named: JsonObject[] = [];
  for (let i = 0; i < adding.length; i++) {
    const jwk = adding[i];
    const entry = Array.isArray(added.keys) ? 'keys[' + i + ']' : 'JWK';
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return configProblem(origin, entry, undefined, 'not a JSON object');
    const secret = PRIVATE_MEMBERS.find((member) => member in jwk);
    if (secret)
      return configProblem(
        origin,
        entry,
        secret,
        'a private key member: a JWK Set for the gateway holds public keys only (keygen writes the public JWK as .jwk.json)',
      );
    const key = kid !== undefined ? { ...jwk, kid } : jwk;
    if (typeof key.kid === 'string' && kids.includes(key.kid)) {
      return configProblem(origin, entry, 'kid', JSON.stringify(key.kid) + ' is in the set already: remove that key first, or give this one another --kid');
    }
    kids.push(key.kid);
    named.push(key);
  }
  return { ...document, keys: keys.concat(named) };
}

/** The set without the keys whose kid is `kid`. */
export function removeKeys(document: JsonObject, kid: string): JsonObject | Problem {
  const keys = keysOf(document);
  if (!Array.isArray(keys)) return keys;
  const kept = keys.filter((key) => !(key && key.kid === kid));
  if (kept.length === keys.length) return configProblem(undefined, '--kid', undefined, 'no key with kid ' + JSON.stringify(kid) + ' in the set');
  return { ...document, keys: kept };
}

export interface ListedKey {
  kid?: string;
  kty?: string;
  alg?: string;
  crv?: string;
  use?: string;
}

export function listKeys(document: JsonObject): ListedKey[] | Problem {
  const keys = keysOf(document);
  if (!Array.isArray(keys)) return keys;
  return keys
    .filter((key) => key !== null && typeof key === 'object')
    .map((key) => {
      const listed: { [member: string]: string } = {};
      for (const member of ['kid', 'kty', 'alg', 'crv', 'use']) if (typeof key[member] === 'string') listed[member] = key[member] as string;
      return listed;
    });
}

export function keysText(listed: ListedKey[]): string {
  return listed
    .map((key) => (key.kid ?? '(no kid)') + ': ' + [key.kty, key.crv, key.alg, key.use].filter((part) => part !== undefined).join(' ') + '\n')
    .join('');
}

/**
 * A JWK Set (RFC 7517), as NGINX Plus `auth_jwt_key_file` reads it. Keys are
 * found by `kid` through an index and prepared only when a token asks for
 * them. As with consumer maps (consumers.ts), a large set carries its index
 * in an "index" member written by `jwt-gateway index` (RFC 7517 lets a JWK
 * Set have members it does not define): a token's kid, or for a token
 * without one its algorithm, leads to a few positions, each checked against
 * the document. Without an index the set is walked at first use. Config
 * objects may come from js_preload_object (frozen, no prototype), so only
 * plain loops and static Object/Array functions touch them.
 */
import { Algorithm, algorithmNames, findAlgorithm } from '../algorithms';
import { configProblem, fail, isProblem, located, Problem, quote } from '../errors';
import { JsonObject } from '../strict-json';
import { buildTable, HashTable, INDEX_HASH, isTable, probe } from './hash-index';
import { keyFromJwk } from './prepare';
import { Capabilities, DecodedToken, isPosition, KeyMatch, LocalKeySource, VerificationKey } from './types';

/** Without a `kid`, at most this many keys are tried, so one token cannot make the gateway try a whole key set. */
export const MAX_KEYS_TRIED = 8;

/** Whether a token of `algorithm` may try this key: its alg, else its kty and curve. */
export function fitsAlgorithm(jwk: JsonObject, algorithm: Algorithm): boolean {
  if (jwk.alg !== undefined) return jwk.alg === algorithm.name;
  return jwk.kty === algorithm.kty && (algorithm.crv === undefined || jwk.crv === algorithm.crv);
}

/**
 * RFC 7517 4.5 lets keys share a kid when they differ in type (RFC 7520's
 * RSA and EC keys do): a token's alg then picks one. Keys the alg cannot tell
 * apart are ambiguous; only the first with the kid is used, here as in `check`.
 */
export function duplicateKid(first: number, algorithms: string[]): string {
  return (
    'duplicate kid: keys[' +
    first +
    '] has it too and also fits ' +
    algorithms.join(', ') +
    ', so a token with this kid and alg is checked against keys[' +
    first +
    '] only (keys may share a kid only when their kty, crv or alg tells them apart)'
  );
}

/**
 * What `jwt-gateway index` stores: kid -> position in "keys" (a hash table,
 * hash-index.ts; one slot per key, so a duplicate kid has several), and for
 * tokens without a kid, per algorithm, the positions of the first
 * MAX_KEYS_TRIED keys that fit it (so such a token never walks the set).
 */
export interface StoredKidIndex {
  hash: string;
  kids: HashTable;
  withoutKid: { [algorithm: string]: number[] };
}

/** A JWK Set's keys found by walking it: positions by kid, and what is wrong with the entries. */
export interface KidIndex {
  byKid: { [kid: string]: number[] };
  /** Positions of the entries that are JSON objects. */
  usable: number[];
  problems: Problem[];
}

function isJwk(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The entries of a "keys" member by walking it: which are keys, where each kid is, and what is not a key. */
export function indexKids(keys: unknown, origin: string): KidIndex {
  const built: KidIndex = { byKid: {}, usable: [], problems: [] };
  if (!Array.isArray(keys)) {
    built.problems.push(notAJwkSet(origin));
    return built;
  }
  for (let i = 0; i < keys.length; i++) {
    const jwk = keys[i];
    if (!isJwk(jwk)) {
      built.problems.push(configProblem(origin, 'keys[' + i + ']', '-', 'not a JSON object'));
      continue;
    }
    built.usable.push(i);
    if (typeof jwk.kid === 'string') (built.byKid['#' + jwk.kid] = built.byKid['#' + jwk.kid] || []).push(i);
  }
  return built;
}

/** The set's "keys" member. */
export function keysOf(document: unknown): unknown {
  return document !== null && typeof document === 'object' ? (document as JsonObject).keys : undefined;
}

/** What `jwt-gateway index` stores for this set. */
export function kidIndexOf(document: unknown): StoredKidIndex {
  const built = indexKids(keysOf(document), '');
  const keys = keysOf(document) as JsonObject[];
  const withoutKid: { [algorithm: string]: number[] } = {};
  const names = algorithmNames();
  for (let a = 0; a < names.length; a++) {
    const algorithm = findAlgorithm(names[a])!;
    const positions: number[] = [];
    for (let i = 0; i < built.usable.length && positions.length < MAX_KEYS_TRIED; i++) {
      if (fitsAlgorithm(keys[built.usable[i]], algorithm)) positions.push(built.usable[i]);
    }
    withoutKid[names[a]] = positions;
  }
  const kids: string[] = [];
  const positions: number[][] = [];
  for (let i = 0; i < built.usable.length; i++) {
    const kid = keys[built.usable[i]].kid;
    if (typeof kid === 'string') {
      kids.push(kid);
      positions.push([built.usable[i]]);
    }
  }
  // A spread of 8: key sets are small, and a lookup then reads about one slot (a 1,000-key set cost 6% more than one key at 2).
  return { hash: INDEX_HASH, kids: buildTable(kids, positions, 1, 8), withoutKid };
}

/** The set's "index" member, when it is one this version reads. */
export function storedKidIndex(document: unknown): StoredKidIndex | null {
  const index = document !== null && typeof document === 'object' ? (document as JsonObject).index : undefined;
  return isJwk(index) && index.hash === INDEX_HASH && isTable(index.kids, 1) && isJwk(index.withoutKid) ? (index as unknown as StoredKidIndex) : null;
}

function notAJwkSet(origin: string): Problem {
  return configProblem(origin, 'JWK Set', 'keys', 'missing (expected {"keys": [ ...JWK objects ]})');
}

/** How messages name keys[position]: with its kid, when it has one. */
export function jwkEntry(keys: unknown[], position: number): string {
  const kid = (keys[position] as JsonObject).kid;
  return 'keys[' + position + ']' + (typeof kid === 'string' ? ' (kid ' + quote(kid) + ')' : '');
}

/** Why no token can verify when the set has no keys at all (a `keys` member that is missing or empty), for the log and `check`. */
export function noKeys(listed: unknown, origin: string): Problem {
  if (!Array.isArray(listed)) return notAJwkSet(origin);
  return configProblem(origin, 'JWK Set', 'keys', 'empty: no key can verify a token, so every token is refused');
}

/** Positions the stored index lists that still hold a key (with this kid, when one is given). */
function storedPositions(keys: unknown[], listedAt: unknown, kid: string | undefined): number[] {
  const positions: number[] = [];
  if (!Array.isArray(listedAt)) return positions;
  for (let i = 0; i < listedAt.length; i++) {
    const jwk = isPosition(listedAt[i]) ? keys[listedAt[i]] : undefined;
    if (isJwk(jwk) && (kid === undefined || jwk.kid === kid)) positions.push(listedAt[i]);
  }
  return positions;
}

/** Positions of the keys with this kid that the stored index leads to, in order. */
export function kidThroughIndex(stored: StoredKidIndex, keys: unknown[], kid: string): number[] {
  const onPath: number[] = [];
  probe(stored.kids, 1, kid, (position) => {
    onPath.push(position);
    return false;
  });
  return storedPositions(keys, onPath, kid);
}

export function jwksSource(document: unknown, origin: string, capabilities: Capabilities): LocalKeySource {
  const listed = keysOf(document);
  const keys: unknown[] = Array.isArray(listed) ? listed : [];
  const stored = Array.isArray(listed) ? storedKidIndex(document) : null;
  let built: KidIndex | null = null;
  const index = (): KidIndex => built || (built = indexKids(listed, origin));
  // By position, in an object: an array would grow to the position (njs fills every slot before it).
  const prepared: { [position: number]: VerificationKey | Problem } = {};

  function prepare(position: number): VerificationKey | Problem {
    let key = prepared[position];
    if (key === undefined) {
      const jwk = keys[position] as JsonObject;
      key = keyFromJwk(jwk, capabilities);
      if (!isProblem(key) && typeof jwk.kid === 'string') key.kid = jwk.kid;
      prepared[position] = key;
    }
    return key;
  }

  /** Positions of the keys with this kid, in order. */
  function withKid(kid: string): number[] {
    return stored ? kidThroughIndex(stored, keys, kid) : index().byKid['#' + kid] || [];
  }

  return {
    origin,
    lookup(token: DecodedToken, algorithm: Algorithm): KeyMatch | Problem {
      const kid = token.header.kid;
      // Without a kid: the first keys that fit (listed in the stored index), else every key in order (null).
      let candidates: number[] | null = stored && kid === undefined ? storedPositions(keys, stored.withoutKid[algorithm.name], undefined) : null;
      if (kid !== undefined) {
        if (typeof kid !== 'string') return fail('KEY_NOT_FOUND', 'kid is not a string');
        candidates = withKid(kid);
        if (candidates.length === 0) {
          const failure = fail('KEY_NOT_FOUND', 'no key with kid ' + quote(kid) + ' in ' + origin);
          if (keys.length === 0) failure.configProblems = [noKeys(listed, origin)];
          return failure;
        }
      }
      const match: KeyMatch = { keys: [], graceSeconds: 0, skipped: [] };
      const documentProblems = stored ? [] : index().problems;
      for (let i = 0; i < documentProblems.length; i++) match.skipped.push(documentProblems[i]);
      if (keys.length === 0 && Array.isArray(listed)) match.skipped.push(noKeys(listed, origin));
      const count = candidates ? candidates.length : keys.length;
      let firstWithKid = -1;
      for (let i = 0; i < count && match.keys.length < MAX_KEYS_TRIED; i++) {
        const position = candidates ? candidates[i] : i;
        const jwk = keys[position];
        if (!isJwk(jwk) || !fitsAlgorithm(jwk, algorithm)) continue;
        if (kid !== undefined) {
          // Keys this alg cannot tell apart under one kid: the first is used, the others are passed over (and `check` reports them).
          if (firstWithKid >= 0) {
            match.skipped.push(configProblem(origin, jwkEntry(keys, position), 'kid', duplicateKid(firstWithKid, [algorithm.name])));
            continue;
          }
          firstWithKid = position;
        }
        const key = prepare(position);
        if (isProblem(key)) match.skipped.push(located(key, origin, jwkEntry(keys, position)));
        // An oct key without alg verifies only the HS algorithms it is long enough for (RFC 7518 3.2).
        else if (key.algorithms.indexOf(algorithm.name) >= 0) match.keys.push(key);
      }
      return match;
    },
  };
}

/**
 * A JWK Set (RFC 7517), as NGINX Plus `auth_jwt_key_file` reads it. Keys are
 * found by `kid` through an index and prepared only when a token asks for
 * them. As with consumer maps (consumers.ts), a large set carries its index
 * in an "index" member written by `jwt-gateway index` (RFC 7517 lets a JWK
 * Set have members it does not define); without one, the set is indexed at
 * first use. Config objects may come from js_preload_object (frozen, no
 * prototype), so only plain loops and static Object/Array functions touch them.
 */
import { Algorithm } from '../algorithms';
import { fail, Failure, quote } from '../errors';
import { JsonObject } from '../strict-json';
import { keyFromJwk } from './prepare';
import { Capabilities, ConfigProblem, DecodedToken, describeProblem, FieldProblem, isProblem, KeyMatch, KeySource, sameEntries, staleIndex, VerificationKey } from './types';

/** Without a `kid`, at most this many keys are tried, so one token cannot make the gateway try a whole key set. */
export const MAX_KEYS_TRIED = 8;

function fitsAlgorithm(jwk: JsonObject, algorithm: Algorithm): boolean {
  if (jwk.alg !== undefined) return jwk.alg === algorithm.name;
  return jwk.kty === algorithm.kty && (algorithm.crv === undefined || jwk.crv === algorithm.crv);
}

/** What `jwt-gateway index` stores: kid -> positions in "keys" ('#'-prefixed names). */
export interface StoredKidIndex {
  kids: { [kid: string]: number[] };
}

interface BuiltIndex {
  byKid: { [kid: string]: number[] };
  /** Positions of the entries that are JSON objects. */
  usable: number[];
  problems: ConfigProblem[];
}

function isJwk(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function buildIndex(keys: unknown, origin: string): BuiltIndex {
  const built: BuiltIndex = { byKid: {}, usable: [], problems: [] };
  if (!Array.isArray(keys)) {
    built.problems.push({ origin, entry: 'JWK Set', field: 'keys', message: 'missing (expected {"keys": [ ...JWK objects ]})' });
    return built;
  }
  for (let i = 0; i < keys.length; i++) {
    const jwk = keys[i];
    if (!isJwk(jwk)) {
      built.problems.push({ origin, entry: 'keys[' + i + ']', field: '-', message: 'not a JSON object' });
      continue;
    }
    built.usable.push(i);
    if (typeof jwk.kid === 'string') (built.byKid['#' + jwk.kid] = built.byKid['#' + jwk.kid] || []).push(i);
  }
  return built;
}

function keysOf(document: unknown): unknown {
  return document !== null && typeof document === 'object' ? (document as JsonObject).keys : undefined;
}

/** What `jwt-gateway index` stores for this set. */
export function kidIndexOf(document: unknown): StoredKidIndex {
  return { kids: buildIndex(keysOf(document), '').byKid };
}

function storedIndex(document: unknown): StoredKidIndex | null {
  const index = document !== null && typeof document === 'object' ? (document as JsonObject).index : undefined;
  return isJwk(index) && isJwk(index.kids) ? (index as unknown as StoredKidIndex) : null;
}

export function jwksSource(document: unknown, origin: string, capabilities: Capabilities): KeySource {
  const listed = keysOf(document);
  const keys: unknown[] = Array.isArray(listed) ? listed : [];
  const stored = Array.isArray(listed) ? storedIndex(document) : null;
  let built: BuiltIndex | null = null;
  const index = (): BuiltIndex => built || (built = buildIndex(listed, origin));
  const prepared: (VerificationKey | FieldProblem)[] = [];

  function entryName(position: number): string {
    const kid = (keys[position] as JsonObject).kid;
    return 'keys[' + position + ']' + (typeof kid === 'string' ? ' (kid ' + quote(kid) + ')' : '');
  }

  function prepare(position: number): VerificationKey | FieldProblem {
    if (prepared[position] === undefined) prepared[position] = keyFromJwk(keys[position] as JsonObject, capabilities);
    return prepared[position];
  }

  /** Positions of the keys with this kid; through the stored index, only those the document still has there. */
  function withKid(kid: string): number[] {
    if (!stored) return index().byKid['#' + kid] || [];
    const listedAt = stored.kids['#' + kid];
    const positions: number[] = [];
    if (!Array.isArray(listedAt)) return positions;
    for (let i = 0; i < listedAt.length; i++) {
      const jwk = keys[listedAt[i]];
      if (isJwk(jwk) && jwk.kid === kid) positions.push(listedAt[i]);
    }
    return positions;
  }

  return {
    origin,
    lookup(token: DecodedToken, algorithm: Algorithm): KeyMatch | Failure {
      const kid = token.header.kid;
      let candidates: number[];
      if (kid === undefined) {
        candidates = index().usable;
      } else if (typeof kid !== 'string') {
        return fail('KEY_NOT_FOUND', 'kid is not a string');
      } else {
        candidates = withKid(kid);
        if (candidates.length === 0) return fail('KEY_NOT_FOUND', 'no key with kid ' + quote(kid) + ' in ' + origin);
      }
      const match: KeyMatch = { keys: [], graceSeconds: 0, skipped: [] };
      const documentProblems = stored ? [] : index().problems;
      for (let i = 0; i < documentProblems.length; i++) match.skipped.push(describeProblem(documentProblems[i]));
      for (let i = 0; i < candidates.length && match.keys.length < MAX_KEYS_TRIED; i++) {
        if (!fitsAlgorithm(keys[candidates[i]] as JsonObject, algorithm)) continue;
        const key = prepare(candidates[i]);
        if (isProblem(key)) match.skipped.push(describeProblem({ origin, entry: entryName(candidates[i]), field: key.field, message: key.message }));
        else match.keys.push(key);
      }
      return match;
    },
    problems(): ConfigProblem[] {
      const all = index().problems.slice();
      if (document !== null && typeof document === 'object' && (document as JsonObject).index !== undefined) {
        if (!stored || !sameEntries(stored.kids, kidIndexOf(document).kids)) all.push(staleIndex(origin, 'JWK Set', 'keys'));
      }
      const seen: { [kid: string]: boolean } = {};
      const usable = index().usable;
      for (let i = 0; i < usable.length; i++) {
        const key = prepare(usable[i]);
        if (isProblem(key)) all.push({ origin, entry: entryName(usable[i]), field: key.field, message: key.message });
        const kid = (keys[usable[i]] as JsonObject).kid;
        if (typeof kid === 'string') {
          if (seen['#' + kid]) all.push({ origin, entry: entryName(usable[i]), field: 'kid', message: 'duplicate kid' });
          seen['#' + kid] = true;
        }
      }
      return all;
    },
  };
}

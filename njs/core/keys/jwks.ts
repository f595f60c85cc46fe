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
import { fail, Failure, quote } from '../errors';
import { JsonObject } from '../strict-json';
import { buildTable, HashTable, INDEX_HASH, isTable, probe } from './hash-index';
import { keyFromJwk } from './prepare';
import { Capabilities, ConfigProblem, counted, DecodedToken, describeProblem, FieldProblem, indexProblem, isPosition, isProblem, KeyMatch, KeySource, VerificationKey } from './types';

/** Without a `kid`, at most this many keys are tried, so one token cannot make the gateway try a whole key set. */
export const MAX_KEYS_TRIED = 8;

function fitsAlgorithm(jwk: JsonObject, algorithm: Algorithm): boolean {
  if (jwk.alg !== undefined) return jwk.alg === algorithm.name;
  return jwk.kty === algorithm.kty && (algorithm.crv === undefined || jwk.crv === algorithm.crv);
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
  const built = buildIndex(keysOf(document), '');
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
  return { hash: INDEX_HASH, kids: buildTable(kids, positions, 1), withoutKid };
}

function storedIndex(document: unknown): StoredKidIndex | null {
  const index = document !== null && typeof document === 'object' ? (document as JsonObject).index : undefined;
  return isJwk(index) && index.hash === INDEX_HASH && isTable(index.kids, 1) && isJwk(index.withoutKid) ? (index as unknown as StoredKidIndex) : null;
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

  /** Positions the stored index lists that still hold a key (with this kid, when one is given). */
  function storedPositions(listedAt: unknown, kid: string | undefined): number[] {
    const positions: number[] = [];
    if (!Array.isArray(listedAt)) return positions;
    for (let i = 0; i < listedAt.length; i++) {
      const jwk = isPosition(listedAt[i]) ? keys[listedAt[i]] : undefined;
      if (isJwk(jwk) && (kid === undefined || jwk.kid === kid)) positions.push(listedAt[i]);
    }
    return positions;
  }

  /** Positions of the keys with this kid, in order. */
  function withKid(kid: string): number[] {
    if (!stored) return index().byKid['#' + kid] || [];
    const onPath: number[] = [];
    probe(stored.kids, 1, kid, (position) => {
      onPath.push(position);
      return false;
    });
    return storedPositions(onPath, kid);
  }

  return {
    origin,
    lookup(token: DecodedToken, algorithm: Algorithm): KeyMatch | Failure {
      const kid = token.header.kid;
      // Without a kid: the first keys that fit (listed in the stored index), else every key in order (null).
      let candidates: number[] | null = stored && kid === undefined ? storedPositions(stored.withoutKid[algorithm.name], undefined) : null;
      if (kid !== undefined) {
        if (typeof kid !== 'string') return fail('KEY_NOT_FOUND', 'kid is not a string');
        candidates = withKid(kid);
        if (candidates.length === 0) return fail('KEY_NOT_FOUND', 'no key with kid ' + quote(kid) + ' in ' + origin);
      }
      const match: KeyMatch = { keys: [], graceSeconds: 0, skipped: [] };
      const documentProblems = stored ? [] : index().problems;
      for (let i = 0; i < documentProblems.length; i++) match.skipped.push(describeProblem(documentProblems[i]));
      const count = candidates ? candidates.length : keys.length;
      for (let i = 0; i < count && match.keys.length < MAX_KEYS_TRIED; i++) {
        const position = candidates ? candidates[i] : i;
        const jwk = keys[position];
        if (!isJwk(jwk) || !fitsAlgorithm(jwk, algorithm)) continue;
        const key = prepare(position);
        if (isProblem(key)) match.skipped.push(describeProblem({ origin, entry: entryName(position), field: key.field, message: key.message }));
        else match.keys.push(key);
      }
      return match;
    },
    problems(): ConfigProblem[] {
      const all = index().problems.slice();
      if (document !== null && typeof document === 'object' && (document as JsonObject).index !== undefined) {
        if (!stored || JSON.stringify((document as JsonObject).index) !== JSON.stringify(kidIndexOf(document))) {
          let missed = 0;
          const byKid = index().byKid;
          const kids = Object.keys(byKid);
          for (let i = 0; stored && i < kids.length; i++) if (JSON.stringify(withKid(kids[i].slice(1))) !== JSON.stringify(byKid[kids[i]])) missed++;
          all.push(indexProblem(origin, 'JWK Set', 'keys', stored ? counted(missed, 'kid') : null));
        }
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

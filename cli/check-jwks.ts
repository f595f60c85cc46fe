/**
 * What `check` says of a JWK Set, beyond what the gateway meets on its way
 * (njs/core/keys/jwks.ts): every key prepared, keys that share a kid and an
 * alg (so a token cannot tell them apart), an index that no longer matches,
 * and a set that can verify no token. Only the command line runs this, so
 * it stays out of the request bundle.
 */
import { algorithmNames, findAlgorithm } from '../njs/core/algorithms';
import { configProblem, isProblem, located, Problem } from '../njs/core/errors';
import { duplicateKid, fitsAlgorithm, indexKids, jwkEntry, KidIndex, kidIndexOf, kidThroughIndex, keysOf, noKeys, storedKidIndex } from '../njs/core/keys/jwks';
import { keyFromJwk } from '../njs/core/keys/prepare';
import { Capabilities } from '../njs/core/keys/types';
import { JsonObject } from '../njs/core/strict-json';
import { counted, indexProblem } from './stale-index';

/** The algorithms a token could name that both keys fit: a token with their shared kid cannot tell them apart for these. */
function sharedAlgorithms(a: JsonObject, b: JsonObject): string[] {
  return algorithmNames().filter((name) => fitsAlgorithm(a, findAlgorithm(name)!) && fitsAlgorithm(b, findAlgorithm(name)!));
}

/** The "index" member, when it is not what `jwt-gateway index` writes for the set now. */
function staleIndex(document: JsonObject, keys: unknown[], built: KidIndex, origin: string): Problem[] {
  const stored = Array.isArray(document.keys) ? storedKidIndex(document) : null;
  if (document.index === undefined || (stored && JSON.stringify(document.index) === JSON.stringify(kidIndexOf(document)))) return [];
  if (!stored) return [indexProblem(origin, 'JWK Set', 'keys', null)];
  const kids = Object.keys(built.byKid);
  const missed = kids.filter((kid) => JSON.stringify(kidThroughIndex(stored, keys, kid.slice(1))) !== JSON.stringify(built.byKid[kid])).length;
  return [indexProblem(origin, 'JWK Set', 'keys', counted(missed, 'kid'))];
}

/** Every problem of a parsed JWK Set, in the order `check` prints them. */
export function jwkSetProblems(document: unknown, origin: string, capabilities: Capabilities): Problem[] {
  const listed = keysOf(document);
  const keys: unknown[] = Array.isArray(listed) ? listed : [];
  const built = indexKids(listed, origin);
  const all = built.problems.concat(document !== null && typeof document === 'object' ? staleIndex(document as JsonObject, keys, built, origin) : []);
  let working = 0;
  for (const position of built.usable) {
    const jwk = keys[position] as JsonObject;
    const key = keyFromJwk(jwk, capabilities);
    if (isProblem(key)) all.push(located(key, origin, jwkEntry(keys, position)));
    else working++;
    const sameKid = typeof jwk.kid === 'string' ? built.byKid['#' + jwk.kid] : [];
    // The first earlier key with the kid that some alg cannot tell from this one.
    for (const earlier of sameKid.filter((other) => other < position)) {
      const shared = sharedAlgorithms(keys[earlier] as JsonObject, jwk);
      if (shared.length) {
        all.push(configProblem(origin, jwkEntry(keys, position), 'kid', duplicateKid(earlier, shared)));
        break;
      }
    }
  }
  if (Array.isArray(listed) && working === 0) {
    all.push(
      keys.length === 0
        ? noKeys(listed, origin)
        : configProblem(origin, 'JWK Set', 'keys', 'no usable key (every entry is refused, see above), so every token is refused'),
    );
  }
  return all;
}

/**
 * A JWK Set (RFC 7517), as NGINX Plus `auth_jwt_key_file` reads it. Keys are
 * indexed by `kid` up front and prepared only when a token asks for them.
 * Config objects may come from js_preload_object (frozen, no prototype), so
 * only plain loops and static Object/Array functions touch them.
 */
import { Algorithm } from '../algorithms';
import { fail, Failure, quote } from '../errors';
import { JsonObject } from '../strict-json';
import { keyFromJwk } from './prepare';
import { Capabilities, ConfigProblem, DecodedToken, describeProblem, FieldProblem, isProblem, KeyMatch, KeySource, VerificationKey } from './types';

/** Without a `kid`, at most this many keys are tried, so one token cannot make the gateway try a whole key set. */
export const MAX_KEYS_TRIED = 8;

function fitsAlgorithm(jwk: JsonObject, algorithm: Algorithm): boolean {
  if (jwk.alg !== undefined) return jwk.alg === algorithm.name;
  return jwk.kty === algorithm.kty && (algorithm.crv === undefined || jwk.crv === algorithm.crv);
}

export function jwksSource(document: unknown, origin: string, capabilities: Capabilities): KeySource {
  const jwks: JsonObject[] = [];
  /** Each usable entry's position in the document's "keys", for messages. */
  const positions: number[] = [];
  const byKid: { [kid: string]: number[] } = {};
  const documentProblems: ConfigProblem[] = [];
  const prepared: (VerificationKey | FieldProblem)[] = [];

  const keys = document !== null && typeof document === 'object' ? (document as JsonObject).keys : undefined;
  if (!Array.isArray(keys)) {
    documentProblems.push({ origin, entry: 'JWK Set', field: 'keys', message: 'missing (expected {"keys": [ ...JWK objects ]})' });
  } else {
    for (let i = 0; i < keys.length; i++) {
      const jwk = keys[i];
      if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
        documentProblems.push({ origin, entry: 'keys[' + i + ']', field: '-', message: 'not a JSON object' });
        continue;
      }
      jwks.push(jwk);
      positions.push(i);
      const kid = jwk.kid;
      if (typeof kid === 'string') (byKid['#' + kid] = byKid['#' + kid] || []).push(jwks.length - 1);
    }
  }

  function entryName(index: number): string {
    const kid = jwks[index].kid;
    return 'keys[' + positions[index] + ']' + (typeof kid === 'string' ? ' (kid ' + quote(kid) + ')' : '');
  }

  function prepare(index: number): VerificationKey | FieldProblem {
    if (prepared[index] === undefined) prepared[index] = keyFromJwk(jwks[index], capabilities);
    return prepared[index];
  }

  return {
    origin,
    lookup(token: DecodedToken, algorithm: Algorithm): KeyMatch | Failure {
      const kid = token.header.kid;
      let candidates: number[];
      if (kid === undefined) {
        candidates = [];
        for (let i = 0; i < jwks.length; i++) candidates.push(i);
      } else if (typeof kid !== 'string') {
        return fail('KEY_NOT_FOUND', 'kid is not a string');
      } else {
        candidates = byKid['#' + kid] || [];
        if (candidates.length === 0) return fail('KEY_NOT_FOUND', 'no key with kid ' + quote(kid) + ' in ' + origin);
      }
      const match: KeyMatch = { keys: [], graceSeconds: 0, skipped: [] };
      for (let i = 0; i < documentProblems.length; i++) match.skipped.push(describeProblem(documentProblems[i]));
      for (let i = 0; i < candidates.length && match.keys.length < MAX_KEYS_TRIED; i++) {
        if (!fitsAlgorithm(jwks[candidates[i]], algorithm)) continue;
        const key = prepare(candidates[i]);
        if (isProblem(key)) match.skipped.push(describeProblem({ origin, entry: entryName(candidates[i]), field: key.field, message: key.message }));
        else match.keys.push(key);
      }
      return match;
    },
    problems(): ConfigProblem[] {
      const all = documentProblems.slice();
      const seen: { [kid: string]: boolean } = {};
      for (let i = 0; i < jwks.length; i++) {
        const key = prepare(i);
        if (isProblem(key)) all.push({ origin, entry: entryName(i), field: key.field, message: key.message });
        const kid = jwks[i].kid;
        if (typeof kid === 'string') {
          if (seen['#' + kid]) all.push({ origin, entry: entryName(i), field: 'kid', message: 'duplicate kid' });
          seen['#' + kid] = true;
        }
      }
      return all;
    },
  };
}

/**
 * `jwt-gateway check FILE...`: validates consumer maps, JWK Sets and
 * revocation lists before `nginx -s reload`, with the same strict JSON and
 * key preparation the gateway uses at run time. Every problem names the
 * file, the entry and the field.
 */
import { consumersSource } from '../../njs/core/keys/consumers';
import { jwksSource } from '../../njs/core/keys/jwks';
import { Capabilities, describeProblem } from '../../njs/core/keys/types';
import { JsonObject, parseJsonObject } from '../../njs/core/strict-json';
import { rateLimitConfig } from './rate-limits';

function revocationProblems(document: JsonObject, file: string): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(document)) {
    const list = document[name];
    if (!['jti', 'sub', 'kid'].includes(name)) problems.push(`${file}: revocation list: field "${name}": unknown field (known: jti, sub, kid)`);
    else if (Array.isArray(list) ? list.some((value) => typeof value !== 'string') : list === null || typeof list !== 'object') {
      problems.push(`${file}: revocation list: field "${name}": must be an array of strings or an object whose names are the values`);
    }
  }
  return problems;
}

/** Problems in one file; none means nginx will accept every entry. */
export function checkDocument(file: string, bytes: Uint8Array, capabilities: Capabilities): string[] {
  const document = parseJsonObject(bytes);
  if (typeof document === 'string') return [`${file}: ${document}`];
  if ('consumers' in document) {
    const source = consumersSource(document, file, capabilities);
    return source.problems().map(describeProblem).concat(rateLimitConfig(document, file).problems);
  }
  if ('keys' in document) return jwksSource(document, file, capabilities).problems().map(describeProblem);
  if ('jti' in document || 'sub' in document || 'kid' in document) return revocationProblems(document, file);
  return [`${file}: not a consumer map ({"consumers": [...]}), a JWK Set ({"keys": [...]}) or a revocation list ({"jti": [...], "sub": [...], "kid": [...]})`];
}

/**
 * `jwt-gateway check FILE...`: validates consumer maps, JWK Sets and
 * revocation lists before `nginx -s reload`, with the same strict JSON and
 * key preparation the gateway uses at run time, and nginx configuration for
 * the mistakes nginx accepts (nginx-check.ts). Every problem names the
 * file, the entry (or line) and the field.
 */
import path from 'node:path';
import { configProblem, Problem } from '../njs/core/errors';
import { Capabilities } from '../njs/core/keys/types';
import { JsonObject, parseJsonObject } from '../njs/core/strict-json';
import { consumerMapProblems } from './check-consumers';
import { jwkSetProblems } from './check-jwks';
import { DENY_LIST, fieldNamed, unknownField } from './fields';
import { indexedText } from './index';
import { checkNginxConfig } from './nginx-check';
import { rateLimitConfig } from './rate-limits';

function revocationProblems(document: JsonObject, file: string): Problem[] {
  const problems: Problem[] = [];
  for (const name of Object.keys(document)) {
    const list = document[name];
    const field = fieldNamed(DENY_LIST.shape, name);
    const isList = Array.isArray(list) ? list.every((value) => typeof value === 'string') : list !== null && typeof list === 'object';
    if (!field) problems.push(unknownField(DENY_LIST.shape, file, 'revocation list', name));
    else if (!field.tooling && !isList)
      problems.push(configProblem(file, 'revocation list', name, 'must be an array of strings or an object whose names are the values'));
  }
  return problems;
}

/**
 * A consumer map with the layout `jwt-gateway index` writes is read by
 * position (njs/core/keys/layout.ts): any other text than the one the
 * command would write now (an edit, a reformat) has entries where the layout
 * does not say.
 */
function layoutProblems(file: string, bytes: Uint8Array, document: JsonObject): Problem[] {
  const index = document.index as JsonObject | undefined;
  if (index === null || typeof index !== 'object' || typeof index.layout !== 'string') return [];
  if (Buffer.from(indexedText(document)).equals(Buffer.from(bytes))) return [];
  return [
    configProblem(
      file,
      'consumer map',
      'index',
      'layout does not match the file (edited or reformatted after `jwt-gateway index`: the gateway reads such a file whole on every request, or, at the same size, refuses tokens whose entries moved): run `jwt-gateway index` again',
    ),
  ];
}

/** Problems in one file; none means nginx will accept every entry. */
export function checkDocument(file: string, bytes: Uint8Array, capabilities: Capabilities): Problem[] {
  const document = parseJsonObject(bytes);
  if (typeof document === 'string') return [configProblem(file, undefined, undefined, document)];
  if ('consumers' in document) {
    return consumerMapProblems(document, file, capabilities).concat(layoutProblems(file, bytes, document), rateLimitConfig(document, file).problems);
  }
  if ('keys' in document) return jwkSetProblems(document, file, capabilities);
  if ('jti' in document || 'sub' in document || 'kid' in document) return revocationProblems(document, file);
  return [
    configProblem(
      file,
      undefined,
      undefined,
      'not a consumer map ({"consumers": [...]}), a JWK Set ({"keys": [...]}) or a revocation list ({"jti": [...], "sub": [...], "kid": [...]})',
    ),
  ];
}

/** Whether a file given to `check` is a JSON document (else it is read as nginx configuration): a .json name, or text that starts like JSON. */
export function isJsonFile(file: string, bytes: Uint8Array): boolean {
  if (/\.json$/i.test(file)) return true;
  if (/\.conf$/i.test(file)) return false;
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b || bytes[i] === 0x5b;
}

/**
 * Problems in one file given to `check`: a consumer map, JWK Set or
 * revocation list (JSON), or nginx configuration (with what it includes;
 * relative includes resolve against `confDir`, nginx's configuration prefix,
 * by default the file's own directory).
 */
export function checkFile(file: string, bytes: Uint8Array, capabilities: Capabilities, confDir?: string): Problem[] {
  if (isJsonFile(file, bytes)) return checkDocument(file, bytes, capabilities);
  return checkNginxConfig(file, confDir ?? path.dirname(path.resolve(file)));
}

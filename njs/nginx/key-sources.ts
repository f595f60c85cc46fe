/**
 * Config documents by reference: the name of a js_preload_object (parsed once
 * when nginx loads its config, shared by every request) or a file path (read
 * once per VM: per request on the classic engine, per reused context on
 * QuickJS). Documents and the key sources built from them are kept for as
 * long as the VM lives.
 */
import { readFile } from './files';
import { consumersSource } from '../core/keys/consumers';
import { jwksSource } from '../core/keys/jwks';
import { configProblem, isProblem, Problem } from '../core/errors';
import { ConfigDocument, KeySource } from '../core/keys/types';
import { parseJsonObject } from '../core/strict-json';
import { engineCapabilities } from './engine';

export type SourceKind = 'jwks' | 'consumers';

const documents: { [reference: string]: ConfigDocument | Problem } = {};
const sources: { [key: string]: KeySource | Problem } = {};

function read(reference: string): ConfigDocument | Problem {
  if (reference.indexOf('/') >= 0) {
    let bytes: Uint8Array;
    try {
      bytes = readFile(reference);
    } catch (e) {
      return configProblem(reference, undefined, undefined, 'cannot be read: ' + (e as { message?: string }).message);
    }
    const document = parseJsonObject(bytes);
    return typeof document === 'string' ? configProblem(reference, undefined, undefined, document) : { document, origin: reference };
  }
  const document = (globalThis as unknown as { [name: string]: unknown })[reference];
  if (document === undefined)
    return configProblem(undefined, undefined, undefined, 'no js_preload_object named "' + reference + '" (a file path must contain "/")');
  return { document, origin: 'js_preload_object ' + reference };
}

/** The document, or the problem that leaves none. */
export function configDocument(reference: string): ConfigDocument | Problem {
  if (documents[reference] === undefined) documents[reference] = read(reference);
  return documents[reference];
}

/** The key source, or the problem that leaves none. */
export function keySource(kind: SourceKind, reference: string): KeySource | Problem {
  const cacheKey = kind + ' ' + reference;
  if (sources[cacheKey] === undefined) {
    const found = configDocument(reference);
    if (isProblem(found)) sources[cacheKey] = found;
    else if (kind === 'jwks') sources[cacheKey] = jwksSource(found.document, found.origin, engineCapabilities());
    else sources[cacheKey] = consumersSource(found.document, found.origin, engineCapabilities());
  }
  return sources[cacheKey];
}

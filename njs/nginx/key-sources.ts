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
import { KeySource } from '../core/keys/types';
import { parseJsonObject } from '../core/strict-json';
import { engineCapabilities } from './engine';

export type SourceKind = 'jwks' | 'consumers';

export interface ConfigDocument {
  document: unknown;
  origin: string;
}

const documents: { [reference: string]: ConfigDocument | string } = {};
const sources: { [key: string]: KeySource | string } = {};

function read(reference: string): ConfigDocument | string {
  if (reference.indexOf('/') >= 0) {
    let bytes: Uint8Array;
    try {
      bytes = readFile(reference);
    } catch (e) {
      return reference + ': cannot be read: ' + (e as { message?: string }).message;
    }
    const document = parseJsonObject(bytes);
    return typeof document === 'string' ? reference + ': ' + document : { document, origin: reference };
  }
  const document = (globalThis as unknown as { [name: string]: unknown })[reference];
  if (document === undefined) return 'no js_preload_object named "' + reference + '" (a file path must contain "/")';
  return { document, origin: 'js_preload_object ' + reference };
}

/** The document, or a string saying why there is none. */
export function configDocument(reference: string): ConfigDocument | string {
  if (documents[reference] === undefined) documents[reference] = read(reference);
  return documents[reference];
}

/** The key source, or a string saying why there is none. */
export function keySource(kind: SourceKind, reference: string): KeySource | string {
  const cacheKey = kind + ' ' + reference;
  if (sources[cacheKey] === undefined) {
    const found = configDocument(reference);
    if (typeof found === 'string') sources[cacheKey] = found;
    else if (kind === 'jwks') sources[cacheKey] = jwksSource(found.document, found.origin, engineCapabilities());
    else sources[cacheKey] = consumersSource(found.document, found.origin, engineCapabilities());
  }
  return sources[cacheKey];
}

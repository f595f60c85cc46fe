/**
 * Config documents by reference: the name of a js_preload_object (parsed once
 * when nginx loads its config, shared by every request) or a file path (read
 * once per VM: per request on the classic engine, per reused context on
 * QuickJS). Documents and the key sources built from them are kept for as
 * long as the VM lives.
 */
import { consumersSource } from '../core/keys/consumers';
import { jwksSource } from '../core/keys/jwks';
import { Capabilities, KeySource } from '../core/keys/types';
import { parseJsonObject } from '../core/strict-json';

export type SourceKind = 'jwks' | 'consumers';

export interface ConfigDocument {
  document: unknown;
  origin: string;
}

const documents: { [reference: string]: ConfigDocument | string } = {};
const sources: { [key: string]: KeySource | string } = {};

/** Ed25519 in WebCrypto arrived in njs 0.9.7; process.env is what nginx passes (all of it before 0.8.8, only `env` names after). */
export function engineCapabilities(): Capabilities {
  const parts = String(typeof njs === 'object' ? njs.version : '0').split('.');
  const version = Number(parts[0]) * 10000 + Number(parts[1] || 0) * 100 + Number(parts[2] || 0);
  return {
    ed25519: version >= 907,
    env: (name) => (typeof process === 'object' && process.env ? process.env[name] : undefined),
  };
}

function read(reference: string): ConfigDocument | string {
  if (reference.indexOf('/') >= 0) {
    let bytes: Uint8Array;
    try {
      bytes = require('fs').readFileSync(reference);
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

/**
 * The location's key source (keySourceFor, at the end), and the config
 * documents the local ones come from, by reference: the name of a
 * js_preload_object (parsed once when nginx loads its config, shared by
 * every request) or a file path. A
 * file is read when a VM first needs it: per request on the classic engine,
 * per reused context on QuickJS, where what was read is keyed by the file's
 * identity (inode, size, mtime) so an edited or replaced file is read again.
 * A consumer map written by `jwt-gateway index` is not read whole but by
 * position, a few reads per lookup (njs/core/keys/layout.ts).
 */
import { fileAccess, fileIdentity, readFile } from './files';
import { consumersSource, storeSource } from '../core/keys/consumers';
import { jwksSource } from '../core/keys/jwks';
import { LAYOUT_LENGTH, parseLayout, positionedStore } from '../core/keys/layout';
import { configProblem, isProblem, Problem } from '../core/errors';
import { ConfigDocument, KeySource } from '../core/keys/types';
import { parseJsonObject } from '../core/strict-json';
import { contextOutlivesRequest, engineCapabilities } from './engine';
import { hasSharedZones, remoteKeySource, remoteKeysNeedShared } from './remote-keys';
import { subrequestKeySource } from './subrequest-keys';
import { Settings } from './settings';

type SourceKind = 'jwks' | 'consumers';

const documents: { [reference: string]: { identity: string; found: ConfigDocument | Problem } } = {};
const sources: { [key: string]: { identity: string; found: KeySource | Problem } } = {};

function isPath(reference: string): boolean {
  return reference.indexOf('/') >= 0;
}

function readPath(path: string): ConfigDocument | Problem {
  let bytes: Uint8Array;
  try {
    bytes = readFile(path);
  } catch (e) {
    return configProblem(path, undefined, undefined, 'cannot be read: ' + (e as { message?: string }).message);
  }
  const document = parseJsonObject(bytes);
  return typeof document === 'string' ? configProblem(path, undefined, undefined, document) : { document, origin: path };
}

function read(reference: string): ConfigDocument | Problem {
  if (isPath(reference)) return readPath(reference);
  const document = (globalThis as unknown as { [name: string]: unknown })[reference];
  if (document === undefined)
    return configProblem(undefined, undefined, undefined, 'no js_preload_object named "' + reference + '" (a file path must contain "/")');
  return { document, origin: 'js_preload_object ' + reference };
}

/** What keys a file's memo ('' for js_preload_object names, which only a reload changes). */
function identityOf(reference: string): string {
  if (!isPath(reference)) return '';
  try {
    return fileIdentity(reference);
  } catch (e) {
    return 'unreadable';
  }
}

/**
 * The document, or the problem that leaves none. Kept only where the VM
 * outlives the request: the classic engine reads a location's documents once
 * a request anyway, and keeping them would cost it more than it saves.
 */
export function configDocument(reference: string): ConfigDocument | Problem {
  if (!contextOutlivesRequest()) return read(reference);
  const identity = identityOf(reference);
  const kept = documents[reference];
  if (kept !== undefined && kept.identity === identity) return kept.found;
  const found = read(reference);
  documents[reference] = { identity, found };
  return found;
}

/** A consumer map read by position when its file has the layout `jwt-gateway index` writes, else null. */
function positionedConsumers(path: string): KeySource | Problem | null {
  const access = fileAccess(path);
  const layout = access((readAt, size) => {
    const head = readAt(0, LAYOUT_LENGTH);
    const found = head ? parseLayout(head) : null;
    return found && found.size === size ? found : null;
  });
  if (!layout) return null;
  if (isProblem(layout)) return layout;
  const whole = () => {
    const found = readPath(path);
    return isProblem(found) ? undefined : found.document;
  };
  return storeSource(positionedStore(layout, access, path, whole), path, engineCapabilities());
}

function build(kind: SourceKind, reference: string): KeySource | Problem {
  if (kind === 'consumers' && isPath(reference)) {
    const positioned = positionedConsumers(reference);
    if (positioned) return positioned;
  }
  const found = configDocument(reference);
  if (isProblem(found)) return found;
  return kind === 'jwks' ? jwksSource(found.document, found.origin, engineCapabilities()) : consumersSource(found.document, found.origin, engineCapabilities());
}

/** The key source, or the problem that leaves none; kept as configDocument keeps documents. */
function keySource(kind: SourceKind, reference: string): KeySource | Problem {
  if (!contextOutlivesRequest()) return build(kind, reference);
  const cacheKey = kind + ' ' + reference;
  const identity = identityOf(reference);
  const kept = sources[cacheKey];
  if (kept !== undefined && kept.identity === identity) return kept.found;
  const found = build(kind, reference);
  sources[cacheKey] = { identity, found };
  return found;
}

/**
 * The location's key source, by the setting that names it: each kind is a
 * module and a line here. `waiting` is the request of a handler that may
 * wait for subrequests (the auth_request styles'), null in a js_set handler.
 */
export function keySourceFor(settings: Settings, now: number, waiting: NginxHTTPRequest | null): KeySource | Problem {
  if (settings.keyFile) return keySource('jwks', settings.keyFile);
  if (settings.consumers) return keySource('consumers', settings.consumers);
  if (hasSharedZones()) return remoteKeySource(settings, now);
  return waiting ? subrequestKeySource(waiting, settings, now) : remoteKeysNeedShared(settings);
}

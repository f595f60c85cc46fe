/**
 * What `check` says of a consumer map, beyond what the gateway meets on its
 * way (njs/core/keys/consumers.ts): every credential prepared, unknown
 * fields (cli/fields.ts), duplicate credential ids, an index that no longer
 * matches, and a map that can verify no token. Only the command line runs
 * this, so it stays out of the request bundle.
 */
import { configProblem, isProblem, located, Problem } from '../njs/core/errors';
import {
  ConsumerIndex,
  ConsumerStore,
  consumerIndexOf,
  consumerThroughIndex,
  credentialEntry,
  credentialThroughIndex,
  documentStore,
  indexConsumers,
  noCredentials,
  prepareCredential,
} from '../njs/core/keys/consumers';
import { Capabilities } from '../njs/core/keys/types';
import { JsonObject } from '../njs/core/strict-json';
import { CONSUMER, CREDENTIAL, unknownFields } from './fields';
import { counted, indexProblem } from './stale-index';

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** How many credential keys and usernames the stored index does not lead to where the map has them. */
function notFoundThroughIndex(store: ConsumerStore, built: ConsumerIndex): string[] {
  const keys = built.credentials.filter((credential) => {
    const found = credentialThroughIndex(store, credential.fields.key as string);
    return !found || found.consumerIndex !== credential.consumerIndex || found.credentialIndex !== credential.credentialIndex;
  }).length;
  const names = Object.keys(built.byUsername);
  const usernames = names.filter((name) => consumerThroughIndex(store, name.slice(1)) !== built.byUsername[name]).length;
  return counted(keys, 'credential key').concat(counted(usernames, 'username'));
}

/** The "index" member, when it is not what `jwt-gateway index` writes for the map now. */
function staleIndex(document: JsonObject, store: ConsumerStore, built: ConsumerIndex, origin: string): Problem[] {
  if (document.index === undefined) return [];
  const stored = store.keys !== null && store.usernames !== null;
  // The hash tables only: where entries sit in the file (layout, entries) is checked against the file's text (cli/check.ts).
  const tables = isObject(document.index) ? { hash: document.index.hash, keys: document.index.keys, usernames: document.index.usernames } : null;
  if (stored && JSON.stringify(tables) === JSON.stringify(consumerIndexOf(document))) return [];
  return [indexProblem(origin, 'consumer map', 'consumers', stored ? notFoundThroughIndex(store, built) : null)];
}

/** Every problem of a parsed consumer map, in the order `check` prints them. */
export function consumerMapProblems(document: unknown, origin: string, capabilities: Capabilities): Problem[] {
  const store = documentStore(document);
  const built = indexConsumers(document, origin);
  const all = built.problems.concat(isObject(document) ? staleIndex(document, store, built, origin) : []);
  const ids = new Set<string>();
  let working = 0;
  for (const credential of built.credentials) {
    const entry = credentialEntry(store.consumer, credential.consumerIndex, credential.credentialIndex);
    const ready = prepareCredential(credential.fields, capabilities);
    if (isProblem(ready)) all.push(located(ready, origin, entry));
    else working++;
    unknownFields(credential.fields, CREDENTIAL, origin, entry, all);
    const id = credential.identity.credential;
    if (id !== undefined && ids.has(id)) all.push(configProblem(origin, entry, 'id', 'duplicate credential id'));
    if (id !== undefined) ids.add(id);
  }
  for (let i = 0; i < store.count; i++) {
    const consumer = store.consumer(i);
    if (isObject(consumer)) unknownFields(consumer, CONSUMER, origin, 'consumers[' + i + ']', all);
  }
  if (isObject(document) && Array.isArray(document.consumers) && working === 0) {
    all.push(
      built.credentials.length === 0
        ? noCredentials(document, origin)
        : configProblem(origin, 'consumer map', 'consumers', 'no usable credential (every credential is refused, see above), so every token is refused'),
    );
  }
  return all;
}

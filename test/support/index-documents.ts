/**
 * Helpers for the tests of stored indexes (`jwt-gateway index`): documents as
 * js_preload_object hands them to njs, documents that count how many entries
 * a lookup reads, and hand edits of an index's hash tables.
 */
import { consumerMapProblems } from '../../cli/check-consumers';
import { jwkSetProblems } from '../../cli/check-jwks';
import { tableEntries as entries } from '../../cli/index';
import { Problem } from '../../njs/core/errors';
import { consumersSource } from '../../njs/core/keys/consumers';
import { HashTable, tableField } from '../../njs/core/keys/hash-index';
import { jwksSource } from '../../njs/core/keys/jwks';
import { Capabilities, LocalKeySource } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';

/** The document as js_preload_object gives it to njs: frozen objects and arrays without a prototype. */
export function preloaded(value: unknown): any {
  if (value === null || typeof value !== 'object') return value;
  const copy: any = Array.isArray(value)
    ? value.map(preloaded)
    : Object.assign(Object.create(null), Object.fromEntries(Object.entries(value).map(([k, v]) => [k, preloaded(v)])));
  if (Array.isArray(copy)) Object.setPrototypeOf(copy, null);
  return Object.freeze(copy);
}

/** The document with its `member` array counting how many of its entries are read. */
export function counted(document: JsonObject, member: string): { document: JsonObject; reads: () => number } {
  let reads = 0;
  const list = new Proxy(document[member] as unknown[], {
    get(target, name, receiver) {
      if (typeof name === 'string' && /^\d+$/.test(name)) reads++;
      return Reflect.get(target, name, receiver);
    },
  });
  return { document: { ...document, [member]: list }, reads: () => reads };
}

/**
 * A deep copy of `index` whose table `name` has the slot holding positions
 * `from` changed (a hand edit): to other positions, or to raw text (each
 * string is written as is, cut or padded with "!" to the field's width).
 */
export function repointed(index: unknown, name: string, from: number[], to: (number | string)[]): JsonObject {
  const copy = JSON.parse(JSON.stringify(index));
  const table = copy[name] as HashTable;
  const width = from.length;
  const field = (value: number | string) =>
    typeof value === 'number' ? (value + 1).toString(36).padStart(table.digits, '0') : value.padEnd(table.digits, '!').slice(0, table.digits);
  for (let at = 0; at < table.slots.length / table.digits; at += width) {
    if (from.every((value, k) => tableField(table, at + k) === value)) {
      const text = to.map(field).join('');
      table.slots = table.slots.slice(0, at * table.digits) + text + table.slots.slice((at + width) * table.digits);
      return copy;
    }
  }
  throw new Error('no slot holds ' + JSON.stringify(from));
}

/** How many entries the table of an index holds. */
export function tableEntries(table: unknown, width: number): number {
  return entries(table as HashTable, width);
}

/** A key source and what `check` says of its document (cli/check-consumers.ts, cli/check-jwks.ts), for tests that ask both. */
export type CheckedSource = LocalKeySource & { problems(): Problem[] };

/** A consumer map's key source, with `check`'s problems of the map. */
export function checkedConsumers(document: unknown, origin: string, capabilities: Capabilities): CheckedSource {
  return { ...consumersSource(document, origin, capabilities), problems: () => consumerMapProblems(document, origin, capabilities) };
}

/** A JWK Set's key source, with `check`'s problems of the set. */
export function checkedJwks(document: unknown, origin: string, capabilities: Capabilities): CheckedSource {
  return { ...jwksSource(document, origin, capabilities), problems: () => jwkSetProblems(document, origin, capabilities) };
}

/** What `check` says about a document's "index" member: "entry: message" lines. */
export function indexProblemsOf(source: CheckedSource): string[] {
  return source
    .problems()
    .filter((p) => p.field === 'index')
    .map((p) => p.entry + ': ' + p.message);
}

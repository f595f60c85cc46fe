/**
 * `jwt-gateway index FILE [--out FILE]`: the consumer map or JWK Set with an
 * "index" member, so the gateway finds a credential, username or kid by
 * reading a slot or two of a hash table instead of walking the file. On the
 * classic engine every request starts without memory, so for large files
 * (thousands of entries) this is what keeps the cost per request flat.
 * Re-run it whenever the file changes; `jwt-gateway check` reports an index
 * that no longer matches.
 */
import { consumerIndexOf } from '../njs/core/keys/consumers';
import { HashTable, tableField } from '../njs/core/keys/hash-index';
import { kidIndexOf } from '../njs/core/keys/jwks';

/**
 * The document with its "index" member (added, or replaced when there is one):
 * a consumer map ({"consumers": [...]}) or a JWK Set ({"keys": [...]}).
 * Anything else is returned as it is (the same object). Pure: `document` is not changed.
 */
export function indexDocument(document: object): object {
  const fields = document as { [name: string]: unknown };
  if (Array.isArray(fields.consumers)) return { ...fields, index: consumerIndexOf(document) };
  if (Array.isArray(fields.keys)) return { ...fields, index: kidIndexOf(document) };
  return document;
}

/** How many entries a table holds. */
export function tableEntries(table: HashTable, width: number): number {
  let count = 0;
  for (let at = 0; at < table.slots.length / table.digits; at += width) if (tableField(table, at) !== -1) count++;
  return count;
}

/** How many entries the index names, for the command's report. */
export function indexSummary(indexed: object): string {
  const index = (indexed as { index?: { keys?: HashTable; usernames?: HashTable; kids?: HashTable } }).index;
  if (!index || typeof index !== 'object') return 'nothing indexed: not a consumer map ({"consumers": [...]}) or a JWK Set ({"keys": [...]})';
  if (index.kids) return tableEntries(index.kids, 1) + ' keys with a kid indexed';
  return tableEntries(index.keys!, 2) + ' credential keys and ' + tableEntries(index.usernames!, 1) + ' usernames indexed';
}

/**
 * `jwt-gateway index FILE [--out FILE]`: the consumer map or JWK Set with an
 * "index" member, so the gateway finds a credential or kid by one property
 * read instead of walking the file. On the classic engine every request
 * starts without memory, so for large files (thousands of entries) this is
 * what keeps the cost per request flat. Re-run it whenever the file changes;
 * `jwt-gateway check` reports an index that no longer matches.
 */
import { consumerIndexOf } from '../../njs/core/keys/consumers';
import { kidIndexOf } from '../../njs/core/keys/jwks';

/** The document with its index: a consumer map ({"consumers": [...]}) or a JWK Set ({"keys": [...]}); anything else is returned as it is. */
export function indexDocument(document: object): object {
  const fields = document as { [name: string]: unknown };
  if (Array.isArray(fields.consumers)) return { ...fields, index: consumerIndexOf(document) };
  if (Array.isArray(fields.keys)) return { ...fields, index: kidIndexOf(document) };
  return document;
}

/** How many entries the index names, for the command's report. */
export function indexSummary(indexed: object): string {
  const index = (indexed as { index?: { keys?: object; usernames?: object; kids?: object } }).index;
  if (!index) return 'nothing indexed: not a consumer map ({"consumers": [...]}) or a JWK Set ({"keys": [...]})';
  if (index.kids) return Object.keys(index.kids).length + ' kids indexed';
  return Object.keys(index.keys || {}).length + ' credential keys and ' + Object.keys(index.usernames || {}).length + ' usernames indexed';
}

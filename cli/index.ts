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
import { formatLayout, Layout, LAYOUT_LENGTH, LAYOUT_PREFIX } from '../njs/core/keys/layout';

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

/**
 * The file `jwt-gateway index` writes: the indexed document as compact JSON
 * and a newline.
 * A consumer map also gets its layout (njs/core/keys/layout.ts): the index
 * first, with where its tables and every consumer's text sit in the file, so
 * the gateway can read one consumer by position. Indexing the parsed file
 * again gives the same text back.
 */
export function indexedText(document: object): string {
  const indexed = indexDocument(document) as { [name: string]: unknown };
  if (!Array.isArray(indexed.consumers)) return JSON.stringify(indexed) + '\n';
  const index = indexed.index as ReturnType<typeof consumerIndexOf>;
  const entries = (indexed.consumers as unknown[]).map((consumer) => JSON.stringify(consumer));
  const rest = Object.keys(indexed)
    .filter((name) => name !== 'index' && name !== 'consumers')
    .map((name) => ',' + JSON.stringify(name) + ':' + JSON.stringify(indexed[name]))
    .join('');
  const bytes = (text: string) => Buffer.byteLength(text);
  const tableHead = (table: HashTable) => '{"probes":' + table.probes + ',"digits":' + table.digits + ',"slots":"';
  // The pieces before and after the entries table, whose width (entriesDigits) must hold every offset in the file.
  const head = (digits: number) => [
    LAYOUT_PREFIX,
    'L'.repeat(LAYOUT_LENGTH - LAYOUT_PREFIX.length),
    '","hash":' + JSON.stringify(index.hash) + ',"keys":' + tableHead(index.keys),
    index.keys.slots,
    '"},"usernames":' + tableHead(index.usernames),
    index.usernames.slots,
    '"},"entries":{"digits":' + digits + ',"at":"',
  ];
  const tail = '"}},"consumers":[' + entries.join(',') + ']' + rest + '}\n';
  // The file's size with fields of `digits` characters: the smallest width whose fields hold every offset in it.
  const sizeWith = (digits: number) => bytes(head(digits).join('')) + 2 * digits * entries.length + bytes(tail);
  let digits = 1;
  while (Math.pow(36, digits) <= sizeWith(digits)) digits++;
  const pieces = head(digits);
  const offsets = pieces.map((_, i) => bytes(pieces.slice(0, i).join('')));
  const entriesAt = offsets[6] + bytes(pieces[6]);
  let at = entriesAt + 2 * digits * entries.length + bytes('"}},"consumers":[');
  const field = (value: number) => value.toString(36).padStart(digits, '0');
  const table = entries.map((text, i) => {
    const length = bytes(text);
    const fields = field(at) + field(length);
    at += length + (i + 1 < entries.length ? 1 : 0);
    return fields;
  });
  const size = entriesAt + table.join('').length + bytes(tail);
  const layout: Layout = {
    size,
    count: entries.length,
    keys: { at: offsets[3], slots: index.keys.slots.length / (2 * index.keys.digits), probes: index.keys.probes, digits: index.keys.digits },
    usernames: { at: offsets[5], slots: index.usernames.slots.length / index.usernames.digits, probes: index.usernames.probes, digits: index.usernames.digits },
    entriesAt,
    entriesDigits: digits,
  };
  pieces[1] = formatLayout(layout);
  return pieces.join('') + table.join('') + tail;
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

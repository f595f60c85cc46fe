/**
 * The hash tables `jwt-gateway index` stores in a consumer map or JWK Set
 * ("index" member), read by the gateway without building anything.
 *
 * Why a table in a string: njs parses a js_preload_object at every start and
 * reload. 200,000 object properties (plus an array per entry) made a
 * 100,000-consumer map start 70% slower and its workers 74 MB bigger; a long
 * array of numbers was worse still (njs stores large arrays as objects). One
 * string costs about its length.
 *
 * A table is open addressing with linear probing. `slots` is a string of
 * fixed-width fields, `digits` base-36 characters each, `width` fields a slot;
 * a field holds a position in the document plus one (0: empty slot). The slot
 * count is a power of two at least `spread` times the entries, and `probes`
 * is the longest distance an entry sits from its home slot, so a lookup reads
 * at most probes + 1 slots. A lookup reads on to the first empty slot (a name
 * may have several entries), each slot read and checked costing a request
 * several thousand instructions in njs: the sparser the table, the fewer
 * (about 2.5 slots at a spread of 2, 1.15 at 8). Whatever a slot says is only
 * a candidate: the caller checks it against the document, so a stale or
 * edited table can only make an entry not found. Readers take the slot count
 * from the table's length, so any spread reads the same way.
 */

/** Names the hash and layout below; a table made otherwise is not read. */
export const INDEX_HASH = 'fnv1a-32 code points, base-36 slots';

export interface HashTable {
  probes: number;
  digits: number;
  slots: string;
}

/**
 * FNV-1a over the code points of `text`. njs (classic) strings index code
 * points, Node and QuickJS UTF-16 units: pairs are combined so both agree.
 */
export function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = (c - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        i++;
      }
    }
    hash = Math.imul(hash ^ c, 16777619) >>> 0;
  }
  return hash;
}

/** A table of `names[i]` -> `values[i]` (each `width` positions), in order: on one name, earlier entries are probed first. */
export function buildTable(names: string[], values: number[][], width: number, spread: number): HashTable {
  let count = 2;
  while (count < names.length * spread) count *= 2;
  const fields: number[] = [];
  for (let i = 0; i < count * width; i++) fields.push(0);
  let probes = 0;
  let largest = 0;
  for (let e = 0; e < names.length; e++) {
    let slot = hashOf(names[e]) & (count - 1);
    let distance = 0;
    while (fields[slot * width] !== 0) {
      slot = (slot + 1) & (count - 1);
      distance++;
    }
    for (let k = 0; k < width; k++) fields[slot * width + k] = values[e][k] + 1;
    for (let k = 0; k < width; k++) if (values[e][k] + 1 > largest) largest = values[e][k] + 1;
    if (distance > probes) probes = distance;
  }
  const digits = largest.toString(36).length;
  const text: string[] = [];
  for (let i = 0; i < fields.length; i++) text.push(fields[i].toString(36).padStart(digits, '0'));
  return { probes, digits, slots: text.join('') };
}

/** Whether `value` is a table with `width` fields a slot (checks its shape only, not its slots). */
export function isTable(value: unknown, width: number): value is HashTable {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const table = value as HashTable;
  if (typeof table.slots !== 'string' || typeof table.probes !== 'number' || !(table.probes >= 0)) return false;
  if (typeof table.digits !== 'number' || !(table.digits >= 1 && table.digits <= 10) || Math.floor(table.digits) !== table.digits) return false;
  const count = table.slots.length / (width * table.digits);
  return count >= 1 && Math.floor(count) === count && (count & (count - 1)) === 0;
}

/** Field `at` of a table: a position, or -1 for an empty slot (NaN for an edited one). */
export function tableField(table: HashTable, at: number): number {
  return parseInt(table.slots.slice(at * table.digits, (at + 1) * table.digits), 36) - 1;
}

/**
 * Calls `visit(first, second)` with the positions of each occupied slot on
 * `name`'s probe path (`second` is -1 for tables of one field a slot) until
 * `visit` returns true or the path ends.
 */
export function probe(table: HashTable, width: number, name: string, visit: (first: number, second: number) => boolean): void {
  const count = table.slots.length / (width * table.digits);
  visitSlots(table.slots, table.digits, width, hashOf(name) & (count - 1), Math.min(table.probes, count - 1), visit);
}

/**
 * `visit` for the occupied slots of `slots` from `slot` on, `last` + 1 at
 * most, wrapping at the end, until an empty one or `visit` returns true.
 * Inlined decoding: this runs on every request, where each njs function call counts.
 */
export function visitSlots(slots: string, digits: number, width: number, slot: number, last: number, visit: (first: number, second: number) => boolean): void {
  const size = width * digits;
  const count = slots.length / size;
  for (let distance = 0; distance <= last; distance++) {
    const at = slot * size;
    const first = parseInt(slots.slice(at, at + digits), 36) - 1;
    if (first === -1) return;
    if (visit(first, width > 1 ? parseInt(slots.slice(at + digits, at + 2 * digits), 36) - 1 : -1)) return;
    slot = slot + 1 === count ? 0 : slot + 1;
  }
}

/**
 * Where the tables and entries of a consumer map written by `jwt-gateway
 * index` sit in its file, so the gateway can read one credential with a few
 * positioned reads instead of parsing the whole file.
 *
 * Why: a 100,000-consumer map is 17 MB of JSON. njs >= 0.8 needs 30-50 s to
 * load that as a js_preload_object (at every start and reload), QuickJS has
 * no js_preload_object and holds ~90 MB per context after parsing it, and the
 * classic engine would parse a file path on every request. Read by position,
 * a lookup costs the same with one consumer or a million, on every engine,
 * and nothing is held between requests, so an edited file is seen at once.
 *
 * The file stays the JSON it was (check, js_preload_object and editors read
 * it as before): it starts with `{"index":{"layout":"` and a fixed-width
 * string, a tag and a JSON array of numbers padded with spaces, saying where
 * the rest is (one JSON.parse: reading twelve fields one by one cost njs
 * 0.7.9 about 40k instructions a request). The entries table
 * gives, for each consumer position, the byte offset and length of that
 * consumer's JSON text. Every slot read is still only a candidate: the entry
 * is parsed and checked, and a file whose size is not the one recorded is
 * not read by position at all (an edit after indexing).
 */
import { configProblem, isProblem, Problem } from '../errors';
import { decodeUtf8, parseJsonObject } from '../strict-json';
import { Candidates, ConsumerStore } from './consumers';
import { hashOf, visitSlots } from './hash-index';

export const LAYOUT_PREFIX = '{"index":{"layout":"';
export const LAYOUT_TAG = 'jwt-gateway positions 1';
/** The layout's numbers, in order: size, count, keys (at, slots, probes, digits), usernames (the same), entriesAt, entriesDigits. */
const FIELD_COUNT = 12;
/** Characters per number, spaces before it: up to 1 TB. */
const NUMBER_WIDTH = 13;
/** Bytes from the start of the file to the end of the layout string (ASCII): the prefix, the tag, " [", the numbers and their commas, "]". */
export const LAYOUT_LENGTH = LAYOUT_PREFIX.length + LAYOUT_TAG.length + 2 + FIELD_COUNT * (NUMBER_WIDTH + 1);

/** A table of the file: where its slots start, how many there are, as in HashTable. */
export interface TableAt {
  at: number;
  slots: number;
  probes: number;
  digits: number;
}

export interface Layout {
  /** The file's size in bytes when it was written. */
  size: number;
  /** How many consumers the map has. */
  count: number;
  keys: TableAt;
  usernames: TableAt;
  /** Where the entries table starts: per consumer, its offset and length, `digits` base-36 characters each. */
  entriesAt: number;
  entriesDigits: number;
}

/** The layout string (without quotes), LAYOUT_LENGTH - LAYOUT_PREFIX.length characters. */
export function formatLayout(layout: Layout): string {
  const values = [
    layout.size,
    layout.count,
    layout.keys.at,
    layout.keys.slots,
    layout.keys.probes,
    layout.keys.digits,
    layout.usernames.at,
    layout.usernames.slots,
    layout.usernames.probes,
    layout.usernames.digits,
    layout.entriesAt,
    layout.entriesDigits,
  ];
  const padded: string[] = [];
  for (let i = 0; i < values.length; i++) padded.push(String(values[i]).padStart(NUMBER_WIDTH, ' '));
  return LAYOUT_TAG + ' [' + padded.join(',') + ']';
}

/** The layout at the start of a file (its first LAYOUT_LENGTH bytes), or null when it has none. */
export function parseLayout(head: Uint8Array): Layout | null {
  const text = head.length >= LAYOUT_LENGTH ? decodeUtf8(head.subarray(0, LAYOUT_LENGTH)) : null;
  if (text === null || text.slice(0, LAYOUT_PREFIX.length + LAYOUT_TAG.length) !== LAYOUT_PREFIX + LAYOUT_TAG) return null;
  let values: number[];
  try {
    values = JSON.parse(text.slice(LAYOUT_PREFIX.length + LAYOUT_TAG.length + 1));
  } catch (e) {
    return null;
  }
  // Shape only: a number a hand edit made wrong only makes reads find nothing (each entry is checked) or fail (a 401).
  if (!Array.isArray(values) || values.length !== FIELD_COUNT) return null;
  const table = (first: number): TableAt => ({ at: values[first], slots: values[first + 1], probes: values[first + 2], digits: values[first + 3] });
  const layout = { size: values[0], count: values[1], keys: table(2), usernames: table(6), entriesAt: values[10], entriesDigits: values[11] };
  return isPowerOfTwo(layout.keys.slots) && isPowerOfTwo(layout.usernames.slots) && layout.entriesDigits >= 1 && layout.entriesDigits <= 10 ? layout : null;
}

function isPowerOfTwo(count: number): boolean {
  return count >= 1 && (count & (count - 1)) === 0;
}

/** Reads `length` bytes at `offset` of the file as it was opened; null when the file is shorter. */
export type ReadAt = (offset: number, length: number) => Uint8Array | null;

/** ASCII bytes as text (slots and the entries table are base-36 digits); '' for anything else, which no slot matches. */
export function asciiText(bytes: Uint8Array): string {
  return decodeUtf8(bytes) || '';
}

/**
 * The slots on `home`'s longest probe path as one string: probes + 1 slots
 * from `home`, in one read (two where the path wraps past the end). Visiting
 * it from its slot 0 (visitSlots) sees the same slots, in the same order, as
 * the whole table from `home`.
 */
export function slotRun(read: ReadAt, table: TableAt, width: number, home: number): string | null {
  const size = width * table.digits;
  const wanted = Math.min(table.probes + 1, table.slots);
  const first = Math.min(wanted, table.slots - home);
  const head = read(table.at + home * size, first * size);
  const tail = first < wanted ? read(table.at, (wanted - first) * size) : null;
  if (!head || (first < wanted && !tail)) return null;
  return asciiText(head) + (tail ? asciiText(tail) : '');
}

/**
 * Runs `use` with the file open (one open for nested calls), given its size
 * now; a Problem when it cannot be opened or read.
 */
export type FileAccess = <T>(use: (read: ReadAt, size: number) => T) => T | Problem;

function edited(origin: string): Problem {
  return configProblem(origin, undefined, 'index', 'changed since it was indexed (its size is not the one recorded): run `jwt-gateway index` again');
}

/** The entry texts a store keeps parsed: a lookup reads its consumer twice (found, then identified). */
const KEPT_ENTRIES = 1000;

/**
 * The consumer store (consumers.ts) of an indexed file read by position.
 * A file no longer its recorded size is an edit after indexing: nothing is
 * found in it, and `problem` says so. `whole` reads and parses the whole
 * file, for `check`-style walks only.
 */
export function positionedStore(layout: Layout, file: FileAccess, origin: string, whole: () => unknown): ConsumerStore {
  let parsed: { [position: string]: unknown } = {};
  let kept = 0;
  let problem: Problem | null = null;

  function entry(read: ReadAt, i: number): unknown {
    const digits = layout.entriesDigits;
    const field = i < layout.count ? read(layout.entriesAt + i * 2 * digits, 2 * digits) : null;
    if (!field) return undefined;
    const text = asciiText(field);
    const offset = parseInt(text.slice(0, digits), 36);
    const length = parseInt(text.slice(digits), 36);
    if (!(offset >= 0 && length >= 2 && offset + length <= layout.size)) return undefined;
    const bytes = read(offset, length);
    const value = bytes ? parseJsonObject(bytes) : 'short';
    return typeof value === 'string' ? undefined : value;
  }

  /** `use` on the file as it was indexed, or nothing (and `problem` says why). */
  function reading<T>(use: (read: ReadAt) => T): T | undefined {
    const result = file((read, size) => (size === layout.size ? { value: use(read) } : null));
    problem = result === null ? edited(origin) : isProblem(result) ? result : null;
    return problem ? undefined : (result as { value: T }).value;
  }

  function consumer(i: number): unknown {
    if (parsed['#' + i] !== undefined) return parsed['#' + i];
    const value = reading((read) => entry(read, i));
    if (++kept > KEPT_ENTRIES) {
      parsed = {};
      kept = 1;
    }
    if (value !== undefined) parsed['#' + i] = value;
    return value;
  }

  function candidates(table: TableAt, width: number): Candidates {
    return (name, visit) => {
      reading((read) => {
        const run = slotRun(read, table, width, hashOf(name) & (table.slots - 1));
        if (run) visitSlots(run, table.digits, width, 0, run.length / (width * table.digits) - 1, visit);
      });
    };
  }

  return {
    consumer,
    count: layout.count,
    keys: candidates(layout.keys, 2),
    usernames: candidates(layout.usernames, 1),
    document: whole,
    problem: () => problem,
  };
}

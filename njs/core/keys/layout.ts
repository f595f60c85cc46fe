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
 * string of decimal numbers saying where the rest is. The entries table
 * gives, for each consumer position, the byte offset and length of that
 * consumer's JSON text. Every slot read is still only a candidate: the entry
 * is parsed and checked, and a file whose size is not the one recorded is
 * not read by position at all (an edit after indexing).
 */
import { configProblem, isProblem, Problem } from '../errors';
import { parseJsonObject } from '../strict-json';
import { Candidates, ConsumerStore } from './consumers';
import { hashOf, visitSlots } from './hash-index';

export const LAYOUT_PREFIX = '{"index":{"layout":"';
export const LAYOUT_TAG = 'jwt-gateway positions 1';
const FIELDS = [
  'size',
  'count',
  'keysAt',
  'keysSlots',
  'keysProbes',
  'keysDigits',
  'usernamesAt',
  'usernamesSlots',
  'usernamesProbes',
  'usernamesDigits',
  'entriesAt',
  'entriesDigits',
];
const NUMBER_WIDTH = 12;
/** Bytes from the start of the file to the end of the layout string (ASCII). */
export const LAYOUT_LENGTH = LAYOUT_PREFIX.length + LAYOUT_TAG.length + FIELDS.length * (1 + NUMBER_WIDTH);

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
  let text = LAYOUT_TAG;
  for (let i = 0; i < values.length; i++) text += ' ' + String(values[i]).padStart(NUMBER_WIDTH, '0');
  return text;
}

/** The layout at the start of a file (its first LAYOUT_LENGTH bytes), or null when it has none. */
export function parseLayout(head: Uint8Array): Layout | null {
  if (head.length < LAYOUT_LENGTH) return null;
  let text = '';
  for (let i = 0; i < LAYOUT_LENGTH; i++) text += String.fromCharCode(head[i]);
  if (text.slice(0, LAYOUT_PREFIX.length + LAYOUT_TAG.length) !== LAYOUT_PREFIX + LAYOUT_TAG) return null;
  const values: number[] = [];
  let at = LAYOUT_PREFIX.length + LAYOUT_TAG.length;
  for (let i = 0; i < FIELDS.length; i++) {
    const field = text.slice(at + 1, at + 1 + NUMBER_WIDTH);
    if (text.charAt(at) !== ' ' || !/^[0-9]+$/.test(field)) return null;
    values.push(Number(field));
    at += 1 + NUMBER_WIDTH;
  }
  const table = (first: number): TableAt => ({ at: values[first], slots: values[first + 1], probes: values[first + 2], digits: values[first + 3] });
  const layout = { size: values[0], count: values[1], keys: table(2), usernames: table(6), entriesAt: values[10], entriesDigits: values[11] };
  return isPowerOfTwo(layout.keys.slots) && isPowerOfTwo(layout.usernames.slots) && layout.entriesDigits >= 1 && layout.entriesDigits <= 10 ? layout : null;
}

function isPowerOfTwo(count: number): boolean {
  return count >= 1 && (count & (count - 1)) === 0;
}

/** Reads `length` bytes at `offset` of the file as it was opened; null when the file is shorter. */
export type ReadAt = (offset: number, length: number) => Uint8Array | null;

/** ASCII bytes as text (slots and the entries table are base-36 digits). */
export function asciiText(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
  return text;
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
  const edited = configProblem(origin, undefined, 'index', 'changed since it was indexed (its size is not the one recorded): run `jwt-gateway index` again');

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
    problem = isProblem(result) ? result : result === null ? edited : null;
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

/**
 * Consumer maps read by position (njs/core/keys/layout.ts): the text
 * `jwt-gateway index` writes (cli/index.ts, indexedText) says in its first
 * bytes where its tables and every consumer sit, and the gateway reads one
 * credential with a few positioned reads of it (positionedStore, storeSource).
 * The file is served here from a Buffer by a FileAccess like the adapter's
 * (njs/nginx/files.ts), which can also lie about the size, fail, or log reads.
 */
import { indexDocument, indexedText } from '../../cli/index';
import { findAlgorithm } from '../../njs/core/algorithms';
import { authenticate } from '../../njs/core/authenticate';
import { configProblem, Problem } from '../../njs/core/errors';
import { storeSource } from '../../njs/core/keys/consumers';
import { hashOf, HashTable, tableField, visitSlots } from '../../njs/core/keys/hash-index';
import {
  FileAccess,
  formatLayout,
  Layout,
  LAYOUT_LENGTH,
  LAYOUT_PREFIX,
  LAYOUT_TAG,
  parseLayout,
  positionedStore,
  ReadAt,
  slotRun,
} from '../../njs/core/keys/layout';
import { Identity, KeyMatch, LocalKeySource } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { CAPS, expectFailure, expectOk, JACK, jackConsumer, NOW, policy, signRaw } from '../support/core';
import { repointed } from '../support/index-documents';
import { INDEXED, LAYOUT_MAP } from '../njs/layout';

const ORIGIN = '/etc/nginx/consumers.json';
const HS256 = findAlgorithm('HS256')!;

/** Reads of a file served from `bytes`: [offset, length] of each, in order. */
type ReadLog = [number, number][];

/** A FileAccess over `bytes` that reports `size` as the file's size now (its length unless told) and logs its reads. */
function bufferAccess(bytes: Uint8Array, size: number = bytes.length, log?: ReadLog): FileAccess {
  const read: ReadAt = (offset, length) => {
    if (log) log.push([offset, length]);
    return offset >= 0 && length >= 0 && offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : null;
  };
  return (use) => use(read, size);
}

interface Positioned {
  source: LocalKeySource;
  layout: Layout;
  /** How many times the store read the whole file (walks only: lookups never should). */
  wholeReads: () => number;
}

/** The key source the gateway makes of an indexed file: its layout from its first bytes, then positioned reads through `access`. */
function positioned(text: string | Uint8Array, access?: FileAccess): Positioned {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const layout = parseLayout(bytes.subarray(0, LAYOUT_LENGTH));
  if (!layout) throw new Error('no layout at the start of the text');
  let wholeReads = 0;
  const whole = () => {
    wholeReads++;
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  };
  const source = storeSource(positionedStore(layout, access ?? bufferAccess(bytes), ORIGIN, whole), ORIGIN, CAPS);
  return { source, layout, wholeReads: () => wholeReads };
}

function lookup(source: LocalKeySource, key: unknown): KeyMatch | Problem {
  return source.lookup({ header: { alg: 'HS256' }, payload: { key } }, HS256, { keyClaim: 'key' });
}

/** The identity and secret a lookup found, or its failure code. */
function found(source: LocalKeySource, key: unknown): { identity?: Identity; secret: string } | string {
  const result = lookup(source, key);
  if ('code' in result) return result.code;
  return { identity: result.identity, secret: Buffer.from(result.keys[0].material).toString('utf8') };
}

function secretOf(i: number, j = 0): string {
  return 'secret-' + i + '-' + j + '-of-at-least-32-bytes-0123456789';
}

/** consumers[i]: user-i, a custom_id on even positions, a second credential on every 7th. */
function consumerAt(i: number, username = 'user-' + i, key = 'key-' + i): JsonObject {
  const credentials: JsonObject[] = [{ id: 'cred-' + i, key, secret: secretOf(i) }];
  if (i % 7 === 3) credentials.push({ key: key + '-second', secret: secretOf(i, 1) });
  return i % 2 === 0 ? { username, labels: { custom_id: 'c-' + i }, credentials } : { username, credentials };
}

function identityAt(i: number, username = 'user-' + i, j = 0): Identity {
  const identity: Identity = { consumer: username };
  if (j === 0) identity.credential = 'cred-' + i;
  if (i % 2 === 0) identity.customId = 'c-' + i;
  return identity;
}

/** Each consumer's [offset, length] as the entries table of the parsed file gives them. */
function entryTable(parsed: JsonObject): [number, number][] {
  const entries = (parsed.index as { entries: { digits: number; at: string } }).entries;
  const digits = entries.digits;
  const out: [number, number][] = [];
  for (let at = 0; at < entries.at.length; at += 2 * digits) {
    out.push([parseInt(entries.at.slice(at, at + digits), 36), parseInt(entries.at.slice(at + digits, at + 2 * digits), 36)]);
  }
  return out;
}

/** The smallest table `buildTable` makes for `entries` names: a power of two at least twice as many slots. */
function slotsFor(entries: number): number {
  let slots = 2;
  while (slots < entries * 2) slots *= 2;
  return slots;
}

/** `count` names starting with `prefix` whose home slot in a table of `slots` is `home`. */
function namesAtHome(prefix: string, slots: number, home: number, count: number): string[] {
  const names: string[] = [];
  for (let n = 0; names.length < count; n++) if ((hashOf(prefix + n) & (slots - 1)) === home) names.push(prefix + n);
  return names;
}

/** The slot of a table holding `positions`, or -1. */
function slotOf(table: HashTable, positions: number[]): number {
  const width = positions.length;
  for (let slot = 0; slot < table.slots.length / (width * table.digits); slot++) {
    if (positions.every((value, k) => tableField(table, slot * width + k) === value)) return slot;
  }
  return -1;
}

const EDITED = /changed since it was indexed/;

describe('indexedText: the file `jwt-gateway index` writes for a consumer map', () => {
  const doc = {
    $schema: 'https://example.com/consumers.schema.json',
    consumers: [jackConsumer(), consumerAt(1), consumerAt(2), consumerAt(3)],
    description: { owner: 'platform team', tags: ['a', 'b'] },
  };
  const text = indexedText(doc);
  const bytes = Buffer.from(text);

  test('is the JSON it stands for: JSON.stringify of the parsed file, and a newline, gives the same text back', () => {
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.stringify(JSON.parse(text)) + '\n').toBe(text);
    expect(text.startsWith(LAYOUT_PREFIX + LAYOUT_TAG + ' ')).toBe(true);
  });

  test('starts with its layout: the size of the file in bytes, the number of consumers, where each table is', () => {
    const layout = parseLayout(bytes.subarray(0, LAYOUT_LENGTH))!;
    expect(layout).not.toBeNull();
    expect(layout.size).toBe(bytes.length);
    expect(layout.count).toBe(doc.consumers.length);
    const parsed = JSON.parse(text);
    expect(parsed.index.layout).toBe(formatLayout(layout));
    const { keys, usernames } = parsed.index as { keys: HashTable; usernames: HashTable };
    expect(bytes.subarray(layout.keys.at, layout.keys.at + keys.slots.length).toString('latin1')).toBe(keys.slots);
    expect(layout.keys).toEqual({ at: layout.keys.at, slots: keys.slots.length / (2 * keys.digits), probes: keys.probes, digits: keys.digits });
    expect(bytes.subarray(layout.usernames.at, layout.usernames.at + usernames.slots.length).toString('latin1')).toBe(usernames.slots);
    expect(layout.usernames).toEqual({
      at: layout.usernames.at,
      slots: usernames.slots.length / usernames.digits,
      probes: usernames.probes,
      digits: usernames.digits,
    });
    expect(layout.entriesDigits).toBe(parsed.index.entries.digits);
    expect(bytes.subarray(layout.entriesAt, layout.entriesAt + 2 * layout.entriesDigits * layout.count).toString('latin1')).toBe(parsed.index.entries.at);
  });

  test("the entries table gives exactly each consumer's JSON text", () => {
    const parsed = JSON.parse(text);
    const table = entryTable(parsed);
    expect(table).toHaveLength(doc.consumers.length);
    table.forEach(([offset, length], i) => {
      expect(bytes.subarray(offset, offset + length).toString('utf8')).toBe(JSON.stringify(doc.consumers[i]));
      // exactly: the byte before is the array's "[" or a ",", the one after a "," or the closing "]"
      expect([bytes[offset - 1], bytes[offset + length]].map((c) => String.fromCharCode(c))).toEqual([i === 0 ? '[' : ',', i + 1 < table.length ? ',' : ']']);
    });
  });

  test('keeps the members beside "consumers" and "index" (values and all), and the index is the one indexDocument makes', () => {
    const parsed = JSON.parse(text);
    expect(parsed.$schema).toBe(doc.$schema);
    expect(parsed.description).toEqual(doc.description);
    expect(parsed.consumers).toEqual(doc.consumers);
    const tables = { ...parsed.index };
    delete tables.layout;
    delete tables.entries;
    expect(tables).toEqual((indexDocument(doc) as JsonObject).index);
    expect(Object.keys(parsed).sort()).toEqual(['$schema', 'consumers', 'description', 'index']);
  });

  test('indexing the file again writes the same text; a stale "index" member is replaced', () => {
    expect(indexedText(JSON.parse(text))).toBe(text);
    expect(indexedText({ ...doc, index: 'stale' })).toBe(text);
    expect(indexedText({ index: { layout: 'jwt-gateway positions 1 000000000001' }, ...doc })).toBe(text);
  });

  test('does not change the document it is given', () => {
    const copy = JSON.parse(JSON.stringify(doc));
    indexedText(copy);
    expect(copy).toEqual(doc);
  });

  test('non-ASCII usernames and keys (é, emoji outside the BMP): offsets and sizes are in bytes, and each is found by position', () => {
    const names = ['zoë', 'ünïcödé-ñame', '\u{1F600}', 'k\u{1F680}\u{10FFFF}x', '日本語のユーザー', '\u2028line'];
    const odd = {
      consumers: names.map((name, i) => ({
        username: name,
        labels: { custom_id: 'é' + i },
        credentials: [{ id: 'cred-' + name, key: name + '-key-\u{1F511}', secret: secretOf(i) }],
      })),
    };
    const oddText = indexedText(odd);
    const oddBytes = Buffer.from(oddText);
    expect(oddBytes.length).toBeGreaterThan(oddText.length);
    expect(JSON.stringify(JSON.parse(oddText)) + '\n').toBe(oddText);
    const { source, layout, wholeReads } = positioned(oddBytes);
    expect([layout.size, layout.count]).toEqual([oddBytes.length, names.length]);
    entryTable(JSON.parse(oddText)).forEach(([offset, length], i) => {
      expect(oddBytes.subarray(offset, offset + length).toString('utf8')).toBe(JSON.stringify(odd.consumers[i]));
    });
    names.forEach((name, i) => {
      expect(found(source, name + '-key-\u{1F511}')).toEqual({
        identity: { consumer: name, credential: 'cred-' + name, customId: 'é' + i },
        secret: secretOf(i),
      });
      expect(source.consumer!(name)).toEqual({ consumer: name, customId: 'é' + i });
    });
    // the same name spelt otherwise is another name
    expect(found(source, 'zoe\u0308-key-\u{1F511}')).toBe('CREDENTIAL_UNKNOWN');
    expect(source.consumer!('zoe\u0308')).toBeNull();
    expect(wholeReads()).toBe(0);
  });

  test('0 consumers: a layout of no entries; a lookup in it is refused, saying the map has no credentials', () => {
    const empty = indexedText({ consumers: [] });
    expect(JSON.stringify(JSON.parse(empty)) + '\n').toBe(empty);
    const { source, layout } = positioned(empty);
    expect([layout.size, layout.count]).toEqual([Buffer.byteLength(empty), 0]);
    expect(JSON.parse(empty).consumers).toEqual([]);
    const failure = expectFailure(lookup(source, 'jack-key'), 'CREDENTIAL_UNKNOWN');
    expect(failure.configProblems).toEqual([configProblem(ORIGIN, 'consumer map', 'consumers', expect.stringMatching(/^no credentials/))]);
    expect(source.consumer!('jack')).toBeNull();
  });

  test('a JWK Set, a revocation list or anything else gets no layout: its text is JSON.stringify and a newline', () => {
    const jwks = { keys: [{ kty: 'oct', kid: 'o', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' }] };
    const jwksText = indexedText(jwks);
    expect(jwksText).toBe(JSON.stringify(indexDocument(jwks)) + '\n');
    expect(JSON.parse(jwksText).index).toBeDefined();
    expect(parseLayout(Buffer.from(jwksText))).toBeNull();
    for (const other of [{ jti: ['x'] }, { users: [] }]) expect(indexedText(other)).toBe(JSON.stringify(other) + '\n');
  });

  test('a member named like an array index ("1"): indexing the parsed file again gives the same text', () => {
    const numbered = indexedText({ consumers: [jackConsumer()], '1': 'one' });
    expect(indexedText(JSON.parse(numbered))).toBe(numbered);
    expect(parseLayout(Buffer.from(numbered))).not.toBeNull();
  });
});

describe('the indexed map pasted into the njs suite (test/njs/layout.ts)', () => {
  test('is still the text indexedText writes for its map (else re-make INDEXED as its comment says)', () => {
    expect(INDEXED).toBe(indexedText(LAYOUT_MAP));
    const { source } = positioned(INDEXED);
    expect(found(source, 'zo\u00eb-key-\u{1F511}')).toEqual({
      identity: { consumer: 'zo\u00eb', credential: 'cred-zoe' },
      secret: 'zoe-secret-0123456789-0123456789',
    });
  });
});

describe('positionedStore + storeSource: a few thousand consumers read by position', () => {
  const count = 3000;
  const wrapping = 4;
  // Every 7th consumer (i % 7 == 3) has a second credential; the last `wrapping` consumers one credential each.
  let credentials = wrapping;
  for (let i = 0; i < count - wrapping; i++) credentials += i % 7 === 3 ? 2 : 1;
  const keySlots = slotsFor(credentials);
  const usernameSlots = slotsFor(count);
  // Keys and usernames whose home is the last slot of their table: their probe paths wrap past its end.
  const wrapKeys = namesAtHome('wrap-key-', keySlots, keySlots - 1, wrapping);
  const wrapNames = namesAtHome('wrap-user-', usernameSlots, usernameSlots - 1, wrapping);
  const consumers: JsonObject[] = [];
  for (let i = 0; i < count - wrapping; i++) consumers.push(consumerAt(i));
  for (let w = 0; w < wrapping; w++)
    consumers.push({ username: wrapNames[w], credentials: [{ id: 'cred-' + wrapKeys[w], key: wrapKeys[w], secret: secretOf(w) }] });
  const text = indexedText({ consumers });
  const bytes = Buffer.from(text);
  const parsed = JSON.parse(text) as { index: { keys: HashTable; usernames: HashTable } };
  let store: Positioned;

  beforeEach(() => {
    store = positioned(bytes);
  });

  test('every credential is found with its identity (consumer, credential id, custom_id) and its secret', () => {
    const { source, layout, wholeReads } = store;
    expect([layout.count, layout.keys.slots, layout.usernames.slots]).toEqual([count, keySlots, usernameSlots]);
    for (let i = 0; i < count - wrapping; i++) {
      expect(found(source, 'key-' + i)).toEqual({ identity: identityAt(i), secret: secretOf(i) });
      if (i % 7 === 3) expect(found(source, 'key-' + i + '-second')).toEqual({ identity: identityAt(i, 'user-' + i, 1), secret: secretOf(i, 1) });
    }
    expect(wholeReads()).toBe(0);
  });

  test('consumer(username) finds each consumer, and nobody else', () => {
    const { source, wholeReads } = store;
    for (let i = 0; i < count - wrapping; i += 13) {
      expect(source.consumer!('user-' + i)).toEqual(i % 2 === 0 ? { consumer: 'user-' + i, customId: 'c-' + i } : { consumer: 'user-' + i });
    }
    for (const name of ['user-' + count, 'USER-1', 'user-1 ', '', '__proto__', 'constructor', 'key-1']) expect(source.consumer!(name)).toBeNull();
    expect(wholeReads()).toBe(0);
  });

  test('an unknown key is CREDENTIAL_UNKNOWN, without a config problem (the file was read as indexed)', () => {
    const { source, wholeReads } = store;
    for (const key of ['key-' + count, 'KEY-1', 'key-1 ', 'user-1', '__proto__', 'toString', 'wrap-key-x', 'key-3-second-']) {
      const failure = expectFailure(lookup(source, key), 'CREDENTIAL_UNKNOWN');
      expect(failure.message).toBe('Invalid user key in JWT token');
      expect(failure.configProblems).toBeUndefined();
    }
    expect(wholeReads()).toBe(0);
  });

  test('real tokens verify through it, and a wrong secret does not', async () => {
    const { source } = store;
    const token = signRaw('HS256', secretOf(2990), { alg: 'HS256' }, { key: 'key-2990' });
    expect(expectOk(await authenticate(token, source, policy(), NOW)).identity).toEqual(identityAt(2990));
    const wrong = signRaw('HS256', secretOf(2989), { alg: 'HS256' }, { key: 'key-2990' });
    expectFailure(await authenticate(wrong, source, policy(), NOW), 'SIGNATURE_INVALID');
  });

  test('keys and usernames whose probe path wraps past the end of the table are found', () => {
    const { source, wholeReads } = store;
    // they all start at the last slot, so all but (at most) one sit at the start of the table
    const keySlotsUsed = wrapKeys.map((_, w) => slotOf(parsed.index.keys, [count - wrapping + w, 0]));
    const nameSlotsUsed = wrapNames.map((_, w) => slotOf(parsed.index.usernames, [count - wrapping + w]));
    expect(keySlotsUsed.filter((slot) => slot >= 0 && slot < wrapping + parsed.index.keys.probes).length).toBeGreaterThanOrEqual(wrapping - 1);
    expect(nameSlotsUsed.filter((slot) => slot >= 0 && slot < wrapping + parsed.index.usernames.probes).length).toBeGreaterThanOrEqual(wrapping - 1);
    for (let w = 0; w < wrapping; w++) {
      expect(hashOf(wrapKeys[w]) & (keySlots - 1)).toBe(keySlots - 1);
      expect(found(source, wrapKeys[w])).toEqual({ identity: { consumer: wrapNames[w], credential: 'cred-' + wrapKeys[w] }, secret: secretOf(w) });
      expect(source.consumer!(wrapNames[w])).toEqual({ consumer: wrapNames[w] });
    }
    // an unknown name with the same home walks the same wrapped path and finds nothing
    const stranger = namesAtHome('stranger-', keySlots, keySlots - 1, 1)[0];
    expect(found(source, stranger)).toBe('CREDENTIAL_UNKNOWN');
    expect(source.consumer!(namesAtHome('stranger-', usernameSlots, usernameSlots - 1, 1)[0])).toBeNull();
    expect(wholeReads()).toBe(0);
  });

  test('the wrapped probe path is read in two pieces: the end of the table, then its start', () => {
    const log: ReadLog = [];
    const source = positioned(bytes, bufferAccess(bytes, bytes.length, log)).source;
    const layout = store.layout;
    expect(found(source, wrapKeys[wrapping - 1])).not.toBe('CREDENTIAL_UNKNOWN');
    const slotSize = 2 * layout.keys.digits;
    expect(log).toEqual(
      expect.arrayContaining([
        [layout.keys.at + (keySlots - 1) * slotSize, slotSize],
        [layout.keys.at, Math.min(layout.keys.probes, keySlots - 1) * slotSize],
      ]),
    );
  });
});

describe('slotRun: the slots of a probe path, read by position', () => {
  const consumers = Array.from({ length: 300 }, (_, i) => consumerAt(i));
  const text = indexedText({ consumers });
  const bytes = Buffer.from(text);
  const layout = parseLayout(bytes)!;
  const parsed = JSON.parse(text) as { index: { keys: HashTable; usernames: HashTable } };
  const read: ReadAt = (offset, length) => (offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : null);

  function visits(slots: string, digits: number, width: number, slot: number, last: number): number[][] {
    const seen: number[][] = [];
    visitSlots(slots, digits, width, slot, last, (first, second) => {
      seen.push([first, second]);
      return false;
    });
    return seen;
  }

  test.each([
    ['keys', 2],
    ['usernames', 1],
  ] as const)('from every home slot of the %s table, visiting the run from its start sees what the whole table does', (name, width) => {
    const table = parsed.index[name];
    const at = layout[name];
    const runs: number[] = [];
    for (let home = 0; home < at.slots; home++) {
      const run = slotRun(read, at, width, home)!;
      expect(run).not.toBeNull();
      runs.push(run.length);
      const inRun = visits(run, at.digits, width, 0, run.length / (width * at.digits) - 1);
      expect(inRun).toEqual(visits(table.slots, table.digits, width, home, Math.min(table.probes, at.slots - 1)));
    }
    expect(Math.max(...runs)).toBe((at.probes + 1) * width * at.digits);
  });

  test('a table shorter than the file says (a truncated read) gives no run', () => {
    const short: ReadAt = (offset, length) => (offset + length <= layout.keys.at + 4 ? bytes.subarray(offset, offset + length) : null);
    expect(slotRun(short, layout.keys, 2, layout.keys.slots - 1)).toBeNull();
    expect(slotRun(short, layout.keys, 2, 0)).toBeNull();
  });
});

describe('positionedStore: a file that is not the one indexed finds nothing', () => {
  const kimSecret = 'kim-secret-0123456789-0123456789';
  const doc = {
    consumers: [
      jackConsumer(),
      { username: 'kim', credentials: [{ id: 'cred-kim', key: 'kim-key', secret: kimSecret }] },
      { username: 'lee', credentials: [{ id: 'cred-lee', key: 'lee-key', secret: 'lee-secret-0123456789-0123456789' }] },
    ],
  };
  const text = indexedText(doc);
  const bytes = Buffer.from(text);
  const JACK_IDENTITY = { consumer: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a' };
  const jackWithKimsSecret = () => signRaw('HS256', kimSecret, { alg: 'HS256' }, { key: JACK.key });

  /** The file with its "index" member changed by `edit` and written again: the same length, so its layout still holds. */
  function handEdited(edit: (index: JsonObject) => JsonObject): string {
    const parsed = JSON.parse(text);
    parsed.index = edit(parsed.index);
    const edited = JSON.stringify(parsed) + '\n';
    expect(Buffer.byteLength(edited)).toBe(bytes.length);
    expect(parseLayout(Buffer.from(edited))).toEqual(parseLayout(bytes));
    return edited;
  }

  test('the file as indexed: jack and kim are found', async () => {
    const { source } = positioned(text);
    expect(expectOk(await authenticate(JACK.seedToken, source, policy(), NOW)).identity).toEqual(JACK_IDENTITY);
    expect(found(source, 'kim-key')).toEqual({ identity: { consumer: 'kim', credential: 'cred-kim' }, secret: kimSecret });
  });

  test("a key slot edited to point at kim's credential finds nothing for jack's key, even signed with kim's secret", async () => {
    const edited = handEdited((index) => repointed(index, 'keys', [0, 0], [1, 0]));
    const { source } = positioned(edited);
    expect(found(source, JACK.key)).toBe('CREDENTIAL_UNKNOWN');
    expectFailure(await authenticate(jackWithKimsSecret(), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expectFailure(await authenticate(JACK.seedToken, source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    // kim's own slot is untouched
    expect(found(source, 'kim-key')).toEqual({ identity: { consumer: 'kim', credential: 'cred-kim' }, secret: kimSecret });
  });

  test.each([[[0, 1]], [[3, 0]], [['zz', 'zz']], [['!', '!']]])('a key slot edited to %j finds nothing', (to) => {
    const { source } = positioned(handEdited((index) => repointed(index, 'keys', [0, 0], to)));
    expect(found(source, JACK.key)).toBe('CREDENTIAL_UNKNOWN');
  });

  test('a username slot edited to point at kim finds nobody for jack', () => {
    const { source } = positioned(handEdited((index) => repointed(index, 'usernames', [0], [1])));
    expect(source.consumer!('jack')).toBeNull();
    expect(source.consumer!('kim')).toEqual({ consumer: 'kim' });
  });

  test("the entries table edited to give jack's position kim's text finds nothing for jack, even signed with kim's secret", async () => {
    const edited = handEdited((index) => {
      const entries = index.entries as { digits: number; at: string };
      const field = 2 * entries.digits;
      return { ...index, entries: { ...entries, at: entries.at.slice(field, 2 * field) + entries.at.slice(field) } };
    });
    const { source } = positioned(edited);
    expect(found(source, JACK.key)).toBe('CREDENTIAL_UNKNOWN');
    expectFailure(await authenticate(jackWithKimsSecret(), source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expect(source.consumer!('jack')).toBeNull();
  });

  test.each([
    ['one byte longer', bytes.length + 1],
    ['one byte shorter', bytes.length - 1],
    ['empty', 0],
  ])('a file now %s than its layout says finds nothing, and the failure says it changed since it was indexed', async (_name, size) => {
    const { source, wholeReads } = positioned(bytes, bufferAccess(bytes, size));
    for (const key of [JACK.key, 'kim-key', 'nobody']) {
      const failure = expectFailure(lookup(source, key), 'CREDENTIAL_UNKNOWN');
      expect(failure.configProblems).toEqual([configProblem(ORIGIN, undefined, 'index', expect.stringMatching(EDITED))]);
      expect(failure.configProblems![0].message).toMatch(/run `jwt-gateway index` again/);
    }
    const failure = expectFailure(await authenticate(JACK.seedToken, source, policy(), NOW), 'CREDENTIAL_UNKNOWN');
    expect(failure.configProblems![0]).toMatchObject({ file: ORIGIN, field: 'index', message: expect.stringMatching(EDITED) });
    expect(source.consumer!('jack')).toBeNull();
    expect(wholeReads()).toBe(0);
  });

  test('an edit after indexing that changes the size (a space appended) is one of those', () => {
    const appended = Buffer.concat([bytes, Buffer.from(' ')]);
    const layout = parseLayout(bytes)!;
    const source = storeSource(
      positionedStore(layout, bufferAccess(appended), ORIGIN, () => undefined),
      ORIGIN,
      CAPS,
    );
    const failure = expectFailure(lookup(source, JACK.key), 'CREDENTIAL_UNKNOWN');
    expect(failure.configProblems).toEqual([configProblem(ORIGIN, undefined, 'index', expect.stringMatching(EDITED))]);
  });

  test('a file that cannot be read: CREDENTIAL_UNKNOWN, and the failure carries why', async () => {
    const unreadable = configProblem(ORIGIN, undefined, undefined, "cannot be read: ENOENT: no such file or directory, open '" + ORIGIN + "'");
    let opens = 0;
    const broken: FileAccess = () => {
      opens++;
      return unreadable;
    };
    const { source } = positioned(bytes, broken);
    const failure = expectFailure(lookup(source, JACK.key), 'CREDENTIAL_UNKNOWN');
    expect(failure.configProblems).toEqual([unreadable]);
    expect(expectFailure(await authenticate(JACK.seedToken, source, policy(), NOW), 'CREDENTIAL_UNKNOWN').configProblems).toEqual([unreadable]);
    expect(source.consumer!('jack')).toBeNull();
    expect(opens).toBeGreaterThan(0);
  });

  test('reads that come back short (a file truncated under the same size) find nothing, and do not throw', () => {
    const truncated = bytes.subarray(0, bytes.length - 40);
    const { source } = positioned(bytes, bufferAccess(truncated, bytes.length));
    // lee is the last consumer: its entry is past the end of what can be read
    expect(found(source, 'lee-key')).toBe('CREDENTIAL_UNKNOWN');
    expect(found(source, JACK.key)).toEqual({ identity: JACK_IDENTITY, secret: JACK.secret });
  });
});

describe('positionedStore: a lookup reads a few bytes, not the file', () => {
  const count = 10000;
  const consumers = Array.from({ length: count }, (_, i) => consumerAt(i));
  const text = indexedText({ consumers });
  const bytes = Buffer.from(text);
  const table = entryTable(JSON.parse(text));
  const entryAt: { [offset: number]: number } = {};
  table.forEach(([offset, length]) => (entryAt[offset] = length));

  /** The bytes a fresh source reads for `run`: all of it, and the part that is not some consumer's text. */
  function readsOf(run: (source: LocalKeySource) => unknown): { total: number; besideEntries: number; entries: number; largest: number } {
    const log: ReadLog = [];
    const { source, wholeReads } = positioned(bytes, bufferAccess(bytes, bytes.length, log));
    run(source);
    expect(wholeReads()).toBe(0);
    let total = 0;
    let besideEntries = 0;
    let entries = 0;
    for (const [offset, length] of log) {
      total += length;
      if (entryAt[offset] === length) entries++;
      else besideEntries += length;
    }
    return { total, besideEntries, entries, largest: Math.max(...log.map(([, length]) => length)) };
  }

  test('finding a credential: well under 1 KB beside the entries on its probe path, never the whole file', () => {
    expect(bytes.length).toBeGreaterThan(1_000_000);
    const probes = parseLayout(bytes)!.keys.probes;
    let worst = 0;
    let sampled = 0;
    let alone = 0;
    for (let i = 0; i < count; i += 37) {
      const reads = readsOf((source) => expect(found(source, 'key-' + i)).toEqual({ identity: identityAt(i), secret: secretOf(i) }));
      sampled++;
      if (reads.entries === 1 && reads.besideEntries < 256) alone++;
      expect(reads.besideEntries).toBeLessThan(1024);
      expect(reads.entries).toBeGreaterThanOrEqual(1);
      expect(reads.entries).toBeLessThanOrEqual(probes + 1);
      expect(reads.largest).toBeLessThan(1024);
      worst = Math.max(worst, reads.besideEntries);
    }
    // the usual lookup: the credential sits at its home slot, so its entry is the only one read, and little else
    expect(alone).toBeGreaterThan(sampled / 2);
    expect(worst).toBeLessThan(1024);
  });

  test('an unknown key and a username read as little', () => {
    const unknown = readsOf((source) => expect(found(source, 'key-' + count)).toBe('CREDENTIAL_UNKNOWN'));
    expect(unknown.besideEntries).toBeLessThan(1024);
    expect(unknown.total).toBeLessThan(bytes.length / 100);
    const user = readsOf((source) => expect(source.consumer!('user-4242')).toEqual({ consumer: 'user-4242', customId: 'c-4242' }));
    expect(user.besideEntries).toBeLessThan(1024);
    expect(user.total).toBeLessThan(bytes.length / 100);
  });

  test('a second lookup of the same credential reads nothing more (the source keeps it)', () => {
    const log: ReadLog = [];
    const { source } = positioned(bytes, bufferAccess(bytes, bytes.length, log));
    found(source, 'key-77');
    const first = log.length;
    expect(first).toBeGreaterThan(0);
    found(source, 'key-77');
    expect(log.length).toBe(first);
  });
});

describe('parseLayout', () => {
  const layout: Layout = {
    size: 123456,
    count: 42,
    keys: { at: 300, slots: 128, probes: 3, digits: 2 },
    usernames: { at: 900, slots: 128, probes: 2, digits: 2 },
    entriesAt: 1300,
    entriesDigits: 4,
  };
  const head = LAYOUT_PREFIX + formatLayout(layout);
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  /** The head with the digits of its size (123456, once in it) replaced by `value`, of the same length. */
  const withSize = (value: string) => {
    expect([head.split('123456').length, value.length]).toEqual([2, 6]);
    return head.replace('123456', value);
  };

  test('reads what formatLayout wrote, in LAYOUT_LENGTH bytes, whatever follows', () => {
    expect(head.length).toBe(LAYOUT_LENGTH);
    expect(parseLayout(latin1(head))).toEqual(layout);
    expect(parseLayout(latin1(head + '","hash":"anything"}'))).toEqual(layout);
    expect(formatLayout(layout).length).toBe(LAYOUT_LENGTH - LAYOUT_PREFIX.length);
    const largest = { ...layout, size: 999999999999, keys: { ...layout.keys, slots: 2 ** 36 } };
    expect(parseLayout(latin1(LAYOUT_PREFIX + formatLayout(largest)))).toEqual(largest);
  });

  test.each([
    ['another first member', '{"indexes":{"layout":"' + head.slice(LAYOUT_PREFIX.length)],
    ['a space after the brace', '{ "index":{"layout":"' + head.slice(LAYOUT_PREFIX.length, -1)],
    ['another tag', head.replace(LAYOUT_TAG, 'jwt-gateway positions 2')],
    ['a byte order mark first', '\u00ef\u00bb\u00bf' + head],
    ['a consumer map that starts with "consumers"', '{"consumers":[],"index":{"layout":"' + formatLayout(layout) + '"}}'],
  ])('refuses %s', (_name, text) => {
    expect(parseLayout(latin1(text))).toBeNull();
  });

  test('refuses the file `jwt-gateway index` wrote once it is reformatted (pretty-printed)', () => {
    const text = indexedText({ consumers: [jackConsumer()] });
    expect(parseLayout(Buffer.from(text))).not.toBeNull();
    expect(parseLayout(Buffer.from(JSON.stringify(JSON.parse(text), null, 2)))).toBeNull();
    expect(parseLayout(Buffer.from(JSON.stringify(JSON.parse(text), null, '\t')))).toBeNull();
  });

  test.each([
    ['a letter', '12345x'],
    ['letters only', 'abcdef'],
    ['spaces only', '      '],
    ['a control character', '12345\u0001'],
    ['a byte that is not UTF-8', '12345\u00ff'],
  ])('refuses a number with %s', (_name, value) => {
    expect(parseLayout(latin1(withSize('123456')))).toEqual(layout);
    expect(parseLayout(latin1(withSize(value)))).toBeNull();
  });

  test('refuses a layout whose numbers end early', () => {
    expect(parseLayout(latin1(head.slice(0, -3) + '   '))).toBeNull();
    expect(parseLayout(latin1(head.slice(0, -1) + ' '))).toBeNull();
  });

  test.each([[0], [3], [6], [100], [2 ** 20 + 1]])('refuses %d key or username slots (not a power of two)', (slots) => {
    expect(parseLayout(latin1(LAYOUT_PREFIX + formatLayout({ ...layout, keys: { ...layout.keys, slots } })))).toBeNull();
    expect(parseLayout(latin1(LAYOUT_PREFIX + formatLayout({ ...layout, usernames: { ...layout.usernames, slots } })))).toBeNull();
  });

  test.each([[1], [2], [1024], [2 ** 30]])('reads %d slots (a power of two)', (slots) => {
    const powered = { ...layout, keys: { ...layout.keys, slots }, usernames: { ...layout.usernames, slots } };
    expect(parseLayout(latin1(LAYOUT_PREFIX + formatLayout(powered)))).toEqual(powered);
  });

  test.each([[0], [11], [12]])('refuses entries of %d digits (1 to 10)', (entriesDigits) => {
    expect(parseLayout(latin1(LAYOUT_PREFIX + formatLayout({ ...layout, entriesDigits })))).toBeNull();
  });

  test('refuses input shorter than LAYOUT_LENGTH', () => {
    expect(parseLayout(new Uint8Array(0))).toBeNull();
    expect(parseLayout(latin1(LAYOUT_PREFIX))).toBeNull();
    expect(parseLayout(latin1(head.slice(0, -1)))).toBeNull();
    expect(parseLayout(latin1(head))).not.toBeNull();
  });
});

describe('indexedText: the width of the entries table', () => {
  /** The writer once estimated the file's size a few bytes short, so an offset just past a power of 36 got a wider field than the table's. */
  test('every offset fits the width, whatever the size of the file (here near 36^2 = 1296 bytes)', () => {
    for (let pad = 300; pad < 1000; pad++) {
      const doc = { consumers: [{ username: 'u'.repeat(pad), credentials: [{ id: 'c', key: 'k', secret: secretOf(0) }] }, {}] };
      const text = indexedText(doc);
      const parsed = JSON.parse(text);
      const { layout } = positioned(text);
      expect([pad, parsed.index.entries.at.length]).toEqual([pad, 2 * layout.entriesDigits * doc.consumers.length]);
      expect([pad, found(positioned(text).source, 'k')]).toEqual([pad, { identity: { consumer: 'u'.repeat(pad), credential: 'c' }, secret: secretOf(0) }]);
    }
  });

  test('maps of valid consumers around the same sizes are fine', () => {
    const widths = new Set<number>();
    for (let pad = 300; pad < 1000; pad++) {
      const doc = { consumers: [{ username: 'u'.repeat(pad), credentials: [{ id: 'c', key: 'k', secret: secretOf(0) }] }, consumerAt(1)] };
      const text = indexedText(doc);
      const { layout, source } = positioned(text);
      expect([pad, JSON.parse(text).index.entries.at.length]).toEqual([pad, 2 * layout.entriesDigits * 2]);
      expect([pad, found(source, 'key-1')]).toEqual([pad, { identity: identityAt(1), secret: secretOf(1) }]);
      expect([pad, found(source, 'k')]).toEqual([pad, { identity: { consumer: 'u'.repeat(pad), credential: 'c' }, secret: secretOf(0) }]);
      widths.add(layout.entriesDigits);
    }
    // the sizes cross 36^2 bytes: both widths were written
    expect([...widths].sort()).toEqual([2, 3]);
  });
});

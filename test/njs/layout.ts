/**
 * Consumer maps read by position (njs/core/keys/layout.ts) inside the real
 * engine: the layout at the start of the file, the hash of names outside
 * ASCII and the BMP (njs strings index code points, QuickJS UTF-16 units),
 * and the entries parsed from their bytes. The file is served from memory by
 * a FileAccess like the adapter's (njs/nginx/files.ts); its text was written
 * by `jwt-gateway index` (Node only), so it is pasted here.
 */
import { authenticate } from '../../njs/core/authenticate';
import { findAlgorithm } from '../../njs/core/algorithms';
import { configProblem, isProblem, Problem } from '../../njs/core/errors';
import { storeSource } from '../../njs/core/keys/consumers';
import { FileAccess, LAYOUT_LENGTH, parseLayout, positionedStore, ReadAt } from '../../njs/core/keys/layout';
import { Identity, KeyMatch, LocalKeySource } from '../../njs/core/keys/types';
import { isPromise } from '../../njs/core/maybe';
import { bytesEqual, utf8 } from './bytes';
import { check, describeError, fail, Group, group, report } from './harness';

/** The map of INDEXED below (test/unit/layout.test.ts checks that INDEXED is still what indexedText writes for it). */
export const LAYOUT_MAP = {
  consumers: [
    {
      username: 'jack',
      labels: { custom_id: '495aec6a' },
      credentials: [{ id: 'cred-jack-jwt-auth', key: 'jack-key', secret: 'jack-hs256-secret-that-is-very-long' }],
    },
    { username: 'zo\u00eb', credentials: [{ id: 'cred-zoe', key: 'zo\u00eb-key-\ud83d\udd11', secret: 'zoe-secret-0123456789-0123456789' }] },
    {
      username: 'kim',
      labels: { custom_id: 'k-7' },
      credentials: [
        { id: 'cred-kim', key: 'kim-key', secret: 'kim-secret-0123456789-0123456789' },
        { key: 'kim-key-2', algorithm: 'HS384', secret: 'kim-second-secret-0123456789-0123456789-0123456789' },
      ],
    },
  ],
};

/**
 * indexedText(LAYOUT_MAP) (cli/index.ts, Node only), made once with
 *   npx tsx -e "import('./cli/index.ts').then(async (i) => console.log(JSON.stringify(i.indexedText((await import('./test/njs/layout.ts')).LAYOUT_MAP))))"
 * and pasted, cut after the index and after each consumer, non-ASCII as escapes.
 * Re-make it when the layout's format changes (the unit test says so).
 */
export const INDEXED =
  '{"index":{"layout":"jwt-gateway positions 1 [          958,            3,          299,            8,            0,            1,          362,            8,            0,            1,          401,            2]","hash":"fnv1a-32 code points, base-36 slots","keys":{"probes":0,"digits":1,"slots":"' +
  '0000312111320000"},' +
  '"usernames":{"probes":0,"digits":1,"slots":"00103002"},"entries":{"digits":2,"at":"by4hgg3bjs6r"}},"consumers":[' +
  '{"username":"jack","labels":{"custom_id":"495aec6a"},"credentials":[{"id":"cred-jack-jwt-auth","key":"jack-key","secret":"jack-hs256-secret-that-is-very-long"}]},' +
  '{"username":"zo\u00eb","credentials":[{"id":"cred-zoe","key":"zo\u00eb-key-\ud83d\udd11","secret":"zoe-secret-0123456789-0123456789"}]},' +
  '{"username":"kim","labels":{"custom_id":"k-7"},"credentials":[{"id":"cred-kim","key":"kim-key","secret":"kim-secret-0123456789-0123456789"},{"key":"kim-key-2","algorithm":"HS384","secret":"kim-second-secret-0123456789-0123456789-0123456789"}]}]}\n';

const ORIGIN = '/etc/nginx/consumers.json';

/**
 * Tokens for the map, signed with node:crypto (test/support/tokens.ts signRaw), never by the code under test:
 * jack's is the APISIX seed token (payload {"key":"jack-key","nbf":1729132271});
 * zoe's payload {"key":"zo\u00eb-key-\u{1F511}","iat":1729132271} (HS256), kim's {"key":"kim-key-2","iat":1729132271} (HS384).
 */
const TOKENS: [string, string, Identity][] = [
  [
    'jack',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU',
    { consumer: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a' },
  ],
  [
    'zo\u00eb',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ6b8OrLWtleS3wn5SRIiwiaWF0IjoxNzI5MTMyMjcxfQ.b4psMV36G6Mhekx6P2QqxG-1vv-EydwbAfBVav_-xAk',
    { consumer: 'zo\u00eb', credential: 'cred-zoe' },
  ],
  [
    'kim (HS384)',
    'eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJraW0ta2V5LTIiLCJpYXQiOjE3MjkxMzIyNzF9.-ylDeUrR5HIkK2-yjCXFDPTr2n7YOSh5fQa1gC0LhVCvAYcePgzRfzkQdjT8yPYo',
    { consumer: 'kim', customId: 'k-7' },
  ],
];
const NOW = 1729132271 + 3600;

/** Each credential: its key, the identity and secret it must come with, the algorithm it is bound to. */
const CREDENTIALS: [string, Identity, string, string][] = [
  ['jack-key', { consumer: 'jack', credential: 'cred-jack-jwt-auth', customId: '495aec6a' }, 'jack-hs256-secret-that-is-very-long', 'HS256'],
  ['zo\u00eb-key-\ud83d\udd11', { consumer: 'zo\u00eb', credential: 'cred-zoe' }, 'zoe-secret-0123456789-0123456789', 'HS256'],
  ['kim-key', { consumer: 'kim', credential: 'cred-kim', customId: 'k-7' }, 'kim-secret-0123456789-0123456789', 'HS256'],
  ['kim-key-2', { consumer: 'kim', customId: 'k-7' }, 'kim-second-secret-0123456789-0123456789-0123456789', 'HS384'],
];

/** A FileAccess over `bytes` that reports `size` as the file's size; `reads[0]` counts the bytes read. */
function memoryAccess(bytes: Uint8Array, size: number, reads: number[]): FileAccess {
  const read: ReadAt = (offset, length) => {
    reads[0] += length;
    return offset >= 0 && offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : null;
  };
  return (use) => use(read, size);
}

interface Positioned {
  source: LocalKeySource;
  wholeReads: number[];
}

/** The key source the gateway makes of the file: its layout from its first bytes, then positioned reads through `access`. */
function positioned(bytes: Uint8Array, access: FileAccess): Positioned | string {
  const layout = parseLayout(bytes.subarray(0, LAYOUT_LENGTH));
  if (!layout) return 'no layout at the start of the text';
  const wholeReads = [0];
  const whole = () => {
    wholeReads[0]++;
    return undefined;
  };
  return { source: storeSource(positionedStore(layout, access, ORIGIN, whole), ORIGIN, { ed25519: false }), wholeReads };
}

function sameIdentity(a: Identity | null | undefined, b: Identity): boolean {
  return !!a && a.consumer === b.consumer && a.credential === b.credential && a.customId === b.customId;
}

function lookup(source: LocalKeySource, key: string, alg: string): KeyMatch | Problem {
  return source.lookup({ header: { alg }, payload: { key } }, findAlgorithm(alg)!, { keyClaim: 'key' });
}

function refused(result: KeyMatch | Problem): boolean {
  return isProblem(result) && result.code === 'CREDENTIAL_UNKNOWN';
}

function layoutChecks(g: Group, bytes: Uint8Array): void {
  const layout = parseLayout(bytes.subarray(0, LAYOUT_LENGTH));
  check(g, 'the text is more bytes of UTF-8 than characters (' + bytes.length + ')', bytes.length > INDEXED.length);
  check(g, 'its layout says its size and 3 consumers', !!layout && layout.size === bytes.length && layout.count === 3, JSON.stringify(layout));
  check(g, 'a layout cut short is refused', parseLayout(bytes.subarray(0, LAYOUT_LENGTH - 1)) === null);
}

async function lookups(g: Group, bytes: Uint8Array): Promise<void> {
  const reads = [0];
  const made = positioned(bytes, memoryAccess(bytes, bytes.length, reads));
  if (typeof made === 'string') {
    fail(g, made);
    return;
  }
  const source = made.source;
  for (let i = 0; i < CREDENTIALS.length; i++) {
    const key = CREDENTIALS[i][0];
    const result = lookup(source, key, CREDENTIALS[i][3]);
    const match = isProblem(result) ? null : result;
    check(
      g,
      'key ' + JSON.stringify(key) + ' is found as ' + JSON.stringify(CREDENTIALS[i][1]),
      !!match && sameIdentity(match.identity, CREDENTIALS[i][1]),
      JSON.stringify(isProblem(result) ? result : result.identity),
    );
    check(
      g,
      'key ' + JSON.stringify(key) + ' comes with its secret, bound to ' + CREDENTIALS[i][3],
      !!match &&
        match.keys.length === 1 &&
        bytesEqual(match.keys[0].material, utf8(CREDENTIALS[i][2])) &&
        match.keys[0].algorithms.join() === CREDENTIALS[i][3],
    );
  }
  const usernames = ['jack', 'zo\u00eb', 'kim'];
  for (let i = 0; i < usernames.length; i++) {
    const identity = source.consumer!(usernames[i]);
    check(g, 'consumer ' + JSON.stringify(usernames[i]) + ' is found', !!identity && identity.consumer === usernames[i], JSON.stringify(identity));
  }
  const strangers = ['zoe', 'zo\u00eb\u00eb', 'zoe\u0308', 'JACK', '__proto__', ''];
  for (let i = 0; i < strangers.length; i++) check(g, 'no consumer ' + JSON.stringify(strangers[i]), source.consumer!(strangers[i]) === null);
  const unknown = ['nobody', 'JACK-KEY', 'zo\u00eb-key-', 'zoe-key-\ud83d\udd11', 'zo\u00eb-key-\ud83d\udd12', 'kim-key-3', '__proto__', 'toString'];
  for (let i = 0; i < unknown.length; i++) {
    const result = lookup(source, unknown[i], 'HS256');
    check(
      g,
      'unknown key ' + JSON.stringify(unknown[i]) + ' is CREDENTIAL_UNKNOWN, without a config problem',
      refused(result) && (result as Problem).configProblems === undefined,
      JSON.stringify(result),
    );
  }
  for (let i = 0; i < TOKENS.length; i++) {
    const maybe = authenticate(TOKENS[i][1], source, { maxTokenBytes: 16384, leeway: 0, requiredClaims: [], keyClaim: 'key' }, NOW);
    const result = isPromise(maybe) ? await maybe : maybe;
    check(
      g,
      TOKENS[i][0] + "'s token verifies as " + JSON.stringify(TOKENS[i][2]),
      result.ok && sameIdentity(result.identity, TOKENS[i][2]),
      JSON.stringify(result),
    );
  }
  check(g, 'no lookup read the whole file', made.wholeReads[0] === 0);
  check(g, 'the lookups read by position (' + reads[0] + ' bytes in all)', reads[0] > 0);
}

function editedAndUnreadable(g: Group): void {
  // jack's entry in the entries table now gives zoe's text: the slot's candidate is checked and refused.
  const table = /"entries":\{"digits":(\d+),"at":"([0-9a-z]+)"/.exec(INDEXED);
  if (!table) {
    fail(g, 'no entries table in the text');
    return;
  }
  const field = 2 * Number(table[1]);
  const swapped = utf8(INDEXED.replace(table[0], table[0].replace(table[2], table[2].slice(field, 2 * field) + table[2].slice(field))));
  const edited = positioned(swapped, memoryAccess(swapped, swapped.length, [0]));
  if (typeof edited === 'string') fail(g, 'edited text: ' + edited);
  else {
    check(g, "an entries table giving jack's position zoe's text: jack-key finds nothing", refused(lookup(edited.source, 'jack-key', 'HS256')));
    check(g, '... and consumer "jack" is nobody', edited.source.consumer!('jack') === null);
    const zoe = lookup(edited.source, 'zo\u00eb-key-\ud83d\udd11', 'HS256');
    check(g, '... and zoe is found where her own entry is', !isProblem(zoe) && sameIdentity(zoe.identity, CREDENTIALS[1][1]), JSON.stringify(zoe));
  }
  const bytes = utf8(INDEXED);
  const unreadable = configProblem(ORIGIN, undefined, undefined, 'cannot be read: EACCES');
  const broken: FileAccess = () => unreadable;
  const made = positioned(bytes, broken);
  if (typeof made === 'string') fail(g, 'unreadable file: ' + made);
  else {
    const result = lookup(made.source, 'jack-key', 'HS256');
    const problems = isProblem(result) ? result.configProblems : undefined;
    check(
      g,
      'a file that cannot be read: CREDENTIAL_UNKNOWN, carrying why',
      refused(result) && !!problems && problems.length === 1 && problems[0].message === 'cannot be read: EACCES',
      JSON.stringify(result),
    );
  }
}

export async function layoutChecksInEngine(): Promise<void> {
  const g = group('consumer maps read by position (layout)');
  try {
    const bytes = utf8(INDEXED);
    layoutChecks(g, bytes);
    await lookups(g, bytes);
    editedAndUnreadable(g);
  } catch (e) {
    fail(g, 'exception: ' + describeError(e));
  }
  report(g);
}

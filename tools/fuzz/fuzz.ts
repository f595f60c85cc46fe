/**
 * `npm run fuzz [-- --count N] [--seed S]`: a bounded fuzz run through real
 * nginx (1 worker). The gateway guards a tiny `return 200` upstream in four
 * locations: a consumer map (/c/), a JWK Set (/k/), the auth_request style
 * over the consumer map (/a/) and the cached auth_request style (/v/, a
 * server of its own, reached by Host: cached.fuzz), each with HS256, RS256
 * and ES256 keys. N
 * requests (default 100000) carry mutated tokens (bit flips, character edits,
 * segment swaps and drops, re-encodings, unsigned claim and header changes,
 * algorithm confusion, raw garbage, oversized tokens) and some valid ones, in
 * the header, the query or the cookie at random, 48 at a time over keep-alive
 * connections on loopback. Every request is valid HTTP (no CR/LF/NUL in
 * headers, query bytes percent-encoded, sizes within the configured buffers),
 * so every answer comes from the gateway, not from nginx's request parser.
 *
 * It fails (exit 1) when a response is outside {200, 401, 403}, a worker
 * crashed (an `exited on signal` line, or a worker PID that went away), a
 * forged token got a 200, a valid token did not, a request got no answer, or
 * nginx logged at error level or worse (the gateway's "unexpected error"). A
 * worker that stops answering or grows past 1 GiB stops the run: it is killed,
 * and the requests that were in flight are sent again one at a time to name
 * the one that hangs it.
 *
 * The mutations come from a seeded PRNG (mulberry32) and the valid tokens
 * have fixed claims, so a seed replays the same requests; only signature
 * bytes differ between runs, as the keys are fresh each time. Closing line:
 *   fuzz: 100000 sent, 0 outside {200,401,403}, 0 worker crashes
 */
import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseCommandLine } from '../../cli/args';
import {
  ALG_VALUES,
  applyMutation,
  B64URL_CHARS,
  CLAIM_NAMES,
  HEADER_NAMES,
  interestingValues,
  JUNK_TEXTS,
  Mutation,
  MutationContext,
} from '../../test/support/mutations';
import { mintJwt } from '../../test/support/tokens';
import { authLocation } from '../../test/support/gateway';
import { Nginx, startNginx, workerProcesses } from '../../test/support/nginx';
import { toolHttp } from '../config';

const USAGE = `usage: npm run fuzz [-- --count N] [--seed S]
  --count N   requests to send (default 100000)
  --seed S    PRNG seed for the mutations (default 1)`;
const CONCURRENCY = 48;
const REQUEST_TIMEOUT_MS = 10000;
/** No answer at all for this long means the worker is stuck (answers take milliseconds). */
const STALL_MS = 5000;
/** A worker this large is leaking or looping (it starts at ~20 MiB). */
const MAX_WORKER_MIB = 1024;
const EXAMPLES = 10;
const ISSUED_AT = 1729132271;
/** 2100-01-01: valid tokens stay valid. */
const EXPIRES_AT = 4102444800;

const CONFIG =
  toolHttp('fuzz', {
    errorLogLevel: 'warn',
    keepalive: 16,
    // Room for the oversized tokens (up to ~32 KB), so they reach the gateway instead of nginx's 400/494.
    http: ['large_client_header_buffers 4 64k;', 'keepalive_requests 100000;'],
  }) +
  `
    server {
        listen 127.0.0.1:\${UPSTREAM_PORT};
        keepalive_requests 100000;
        location / {
            return 200 "ok\\n";
        }
    }
    server {
        listen 127.0.0.1:\${PORT};
        include \${ROOT}/nginx/jwt-auth-request-locations.conf;

${authLocation('/c/', ['set $auth_jwt_consumers fuzz_consumers;'], [], 'fuzz_upstream')}
${authLocation('/k/', ['set $auth_jwt_key_file fuzz_jwks;'], [], 'fuzz_upstream')}
        location /a/ {
            set $auth_jwt_consumers fuzz_consumers;
            include \${ROOT}/nginx/jwt-auth-request.conf;
            proxy_pass http://fuzz_upstream;
        }
    }
    server {
        listen 127.0.0.1:\${PORT};
        server_name cached.fuzz;
        include \${ROOT}/nginx/jwt-auth-cache-locations.conf;

        location /v/ {
            set $auth_jwt_consumers fuzz_consumers;
            include \${ROOT}/nginx/jwt-auth-request.conf;
            proxy_pass http://fuzz_upstream;
        }
    }
}
`;

interface Options {
  count: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine(
    argv,
    USAGE,
    { count: { type: 'number', min: 1, max: 0xffffffff }, seed: { type: 'number', min: 0, max: 0xffffffff } },
    { help: true },
  );
  return { count: values.count ?? 100000, seed: values.seed ?? 1 };
}

// ---------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, deterministic; plenty for choosing mutations. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
  /** Characters from `alphabet`, or any code unit (lone surrogates included) when none is given. */
  text(length: number, alphabet?: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet ? alphabet[this.int(alphabet.length)] : String.fromCharCode(this.int(this.chance(0.7) ? 0x80 : 0x10000));
    return out;
  }
}

// ---------------------------------------------------------------------------
// Keys, consumers and valid tokens (fresh each run: no key lives in the repository)

type Location = 'c' | 'k' | 'a' | 'v';

interface Keys {
  files: { [name: string]: string };
  /** Valid tokens per location. */
  valid: { [location in Location]: string[] };
  /** Valid tokens to borrow segments from, public key material and the attacker's keys. */
  mutation: MutationContext;
}

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

function makeKeys(): Keys {
  const hsSecret = randomBytes(24).toString('hex');
  const jwksSecret = randomBytes(32);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaJwks = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecJwks = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const consumers = {
    consumers: [
      { username: 'hs', labels: { custom_id: 'hs-1' }, credentials: [{ id: 'cred-hs', key: 'hs-key', secret: hsSecret }] },
      { username: 'rs', credentials: [{ id: 'cred-rs', key: 'rs-key', algorithm: 'RS256', public_key: pem(rsa.publicKey) }] },
      { username: 'es', credentials: [{ id: 'cred-es', key: 'es-key', algorithm: 'ES256', public_key: pem(ec.publicKey) }] },
    ],
  };
  const jwk = (key: KeyObject, extra: object) => ({ ...(key.export({ format: 'jwk' }) as object), ...extra });
  const jwks = {
    keys: [
      { kty: 'oct', kid: 'hs', alg: 'HS256', k: jwksSecret.toString('base64url') },
      jwk(rsaJwks.publicKey, { kid: 'rs', alg: 'RS256' }),
      jwk(ecJwks.publicKey, { kid: 'es', use: 'sig' }),
    ],
  };
  // Fixed times, so header and payload (and what the mutations make of them) are the same in every run with a seed.
  const mint = (alg: string, key: KeyObject | Uint8Array, claims: object, header: object = {}) =>
    mintJwt(alg, key, { sub: 'fuzzer', jti: 'fuzz-1', ...claims, iat: ISSUED_AT, exp: EXPIRES_AT }, header);
  const consumerTokens = [
    mint('HS256', Buffer.from(hsSecret), { key: 'hs-key' }),
    mint('RS256', rsa.privateKey, { key: 'rs-key' }),
    mint('ES256', ec.privateKey, { key: 'es-key' }),
  ];
  const jwksTokens = [
    mint('HS256', jwksSecret, {}, { kid: 'hs' }),
    mint('RS256', rsaJwks.privateKey, {}, { kid: 'rs' }),
    mint('ES256', ecJwks.privateKey, {}, { kid: 'es' }),
  ];
  return {
    files: { 'consumers.json': JSON.stringify(consumers), 'jwks.json': JSON.stringify(jwks) },
    valid: { c: consumerTokens, k: jwksTokens, a: consumerTokens, v: consumerTokens },
    mutation: {
      tokens: [...consumerTokens, ...jwksTokens],
      publicMaterials: [rsa, ec, rsaJwks, ecJwks].flatMap(({ publicKey }) => [
        pem(publicKey),
        publicKey.export({ type: 'spki', format: 'der' }),
        JSON.stringify(jwk(publicKey, {})),
      ]),
      attackerRsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      attackerEc: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    },
  };
}

// ---------------------------------------------------------------------------
// Mutations: the shared vocabulary (test/support/mutations.ts), drawn from the seeded PRNG.

/** Claim and header values; the clock is the fuzzer's start, as the tokens' is. */
const FUZZ_VALUES = interestingValues(Math.floor(Date.now() / 1000));
/** Positions are taken modulo the token's length. */
const ANYWHERE = 0x7fffffff;

type Kind = Mutation['kind'];
const KINDS: readonly Kind[] = [
  'flipBit',
  'setByte',
  'substitute',
  'insert',
  'delete',
  'truncate',
  'swap',
  'duplicate',
  'drop',
  'replaceSegment',
  'borrowSegment',
  'padding',
  'standardBase64',
  'claim',
  'header',
  'alg',
  'reserialize',
  'signature',
  'resign',
  'confusion',
  'rawMember',
  'junk',
];

function member(rng: Rng, names: string[]): { name: string; value: unknown; remove: boolean } {
  return { name: rng.pick(names), value: rng.pick(FUZZ_VALUES), remove: rng.chance(0.3) };
}

function randomMutation(rng: Rng): Mutation {
  const kind = rng.pick(KINDS);
  const segment = rng.int(3);
  switch (kind) {
    case 'flipBit':
      return { kind, segment, byte: rng.int(ANYWHERE), bit: rng.int(8) };
    case 'setByte':
      return { kind, segment, byte: rng.int(ANYWHERE), value: rng.int(256) };
    case 'substitute':
      return { kind, at: rng.int(ANYWHERE), char: rng.chance(0.7) ? rng.text(1, B64URL_CHARS + '.=+/ %') : rng.text(1) };
    case 'insert':
      return { kind, at: rng.int(ANYWHERE), text: rng.chance(0.5) ? rng.pick(JUNK_TEXTS) : rng.text(1 + rng.int(8)) };
    case 'delete':
      return { kind, at: rng.int(ANYWHERE), length: 1 + rng.int(8) };
    case 'truncate':
      return { kind, length: rng.int(ANYWHERE) };
    case 'swap':
      return { kind, a: segment, b: rng.int(3) };
    case 'duplicate':
      return { kind, segment, at: rng.int(4) };
    case 'drop':
      return { kind, segment };
    case 'replaceSegment':
      return { kind, segment, bytes: rng.bytes(rng.int(300)) };
    case 'borrowSegment':
      return { kind, segment, from: rng.int(ANYWHERE) };
    case 'padding':
      return { kind, segment, pad: rng.pick(['=', '==', '===']) };
    case 'standardBase64':
      return { kind, padded: rng.chance(0.5) };
    case 'claim':
      return { kind, ...member(rng, CLAIM_NAMES) };
    case 'header':
      return { kind, ...member(rng, HEADER_NAMES) };
    case 'alg':
      return { kind, alg: rng.pick(ALG_VALUES) };
    case 'reserialize':
      return { kind, segment: rng.int(2), style: rng.pick(['spaces', 'reorder', 'escape', 'duplicate', 'bom', 'utf16'] as const) };
    case 'signature':
      return { kind, change: rng.pick(['empty', 'zeros', 'zeroHalf', 'shorten', 'lengthen', 'highBit'] as const), amount: 1 + rng.int(32) };
    case 'resign':
      return { kind, how: rng.pick(['none', 'noneKeepSignature', 'attackerRsa', 'attackerEc', 'attackerHs'] as const) };
    case 'confusion':
      return { kind, alg: rng.pick(['HS256', 'HS384', 'HS512'] as const), material: rng.int(ANYWHERE) };
    case 'rawMember':
      // Raw text in the JSON: names with quotes, backslashes or control characters (or an "alg" put first), sometimes twice.
      return rng.chance(0.2)
        ? { kind, segment: 0, name: 'alg', value: '"none"', twice: false }
        : { kind, segment: rng.int(2), name: rng.text(1 + rng.int(12)), value: rng.pick(['1', 'null', '"x"', '{}', '[']), twice: rng.chance(0.5) };
    case 'junk':
      return { kind, where: rng.chance(0.5) ? 'prefix' : 'suffix', text: rng.chance(0.5) ? rng.pick(JUNK_TEXTS) : rng.text(1 + rng.int(16)) };
  }
}

// ---------------------------------------------------------------------------
// Requests

type Placement = 'header' | 'query' | 'cookie';

interface Probe {
  index: number;
  location: Location;
  placement: Placement;
  /** What was done to the token, for the report. */
  kind: string;
  /** The token as the client meant it (before transport encoding). */
  token: string;
  /** The request. */
  path: string;
  headers: { [name: string]: string };
  /** The token the gateway sees, as far as this script can tell (for judging 200s). */
  seen: string;
}

/** Header values travel as bytes: the token's UTF-8, minus what HTTP forbids (CR, LF, NUL and other controls but tab). */
function headerSafe(token: string): string {
  return Buffer.from(token, 'utf8')
    .toString('latin1')
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '');
}

/** Query values: every byte percent-encoded but the unreserved ones (and sometimes +/= left as they are). */
function queryEncode(token: string, rng: Rng): string {
  const keepSome = rng.chance(0.1);
  let out = '';
  for (const byte of Buffer.from(token, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) || (keepSome && /[/=]/.test(c)) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function makeToken(rng: Rng, keys: Keys, location: Location): { token: string; kind: string } {
  const roll = rng.next();
  if (roll < 0.1) return { token: rng.pick(keys.valid[location]), kind: 'valid' };
  if (roll < 0.14) {
    const style = rng.int(4);
    if (style === 0) return { token: rng.text(1 + rng.int(200)), kind: 'garbage (any characters)' };
    if (style === 1) return { token: rng.bytes(1 + rng.int(200)).toString('latin1'), kind: 'garbage (bytes)' };
    if (style === 2) return { token: rng.text(1 + rng.int(400), B64URL_CHARS + '.'), kind: 'garbage (token alphabet)' };
    return { token: [0, 1, 2].map(() => rng.bytes(rng.int(200)).toString('base64url')).join('.'), kind: 'garbage (random segments)' };
  }
  if (roll < 0.16) {
    const size = 16000 + rng.int(16000);
    if (rng.chance(0.5)) return { token: rng.text(size, B64URL_CHARS + '.'), kind: 'oversized (' + size + ' chars)' };
    const valid = rng.pick(keys.valid[location]).split('.');
    valid[rng.int(2)] += rng.text(size, B64URL_CHARS);
    return { token: valid.join('.'), kind: 'oversized segment' };
  }
  if (roll < 0.17) return { token: rng.pick(['', ' ', '.', '..', 'Bearer', 'null', 'undefined', '\t']), kind: 'empty-ish' };
  let token = rng.pick(keys.valid[location]);
  const applied: string[] = [];
  for (let n = 1 + (rng.chance(0.4) ? 1 + rng.int(2) : 0); n > 0; n--) {
    const mutation = randomMutation(rng);
    try {
      token = applyMutation(token, mutation, keys.mutation);
    } catch (e) {
      throw new Error('mutation ' + JSON.stringify(mutation) + ' failed on ' + JSON.stringify(token.slice(0, 200)) + ': ' + (e as Error).message, { cause: e });
    }
    applied.push(mutation.kind);
  }
  return { token, kind: applied.join('+') };
}

function makeProbe(index: number, rng: Rng, keys: Keys): Probe {
  const location: Location = rng.pick(['c', 'c', 'k', 'k', 'a', 'v', 'v'] as const);
  const { token, kind } = makeToken(rng, keys, location);
  const placement: Placement = rng.pick(['header', 'query', 'cookie'] as const);
  const headers: { [name: string]: string } = location === 'v' ? { host: 'cached.fuzz' } : {};
  let query = '';
  let seen: string;
  if (placement === 'header') {
    const prefix = rng.pick(['Bearer ', 'Bearer ', 'bearer ', 'BEARER\t', '']);
    headers.authorization = headerSafe(prefix + token);
    // The gateway reads the header's bytes as UTF-8, strips "Bearer " and trims (Unicode spaces too).
    seen = Buffer.from(headers.authorization, 'latin1')
      .toString('utf8')
      .trim()
      .replace(/^bearer\s+/i, '')
      .trim();
  } else if (placement === 'query') {
    query = (rng.chance(0.3) ? 'x=1&' : '') + 'jwt=' + queryEncode(token, rng);
    seen = token.trim();
  } else {
    const value = headerSafe(token);
    headers.cookie = (rng.chance(0.3) ? 'other=1; ' : '') + 'jwt=' + value;
    seen = Buffer.from(value, 'latin1').toString('utf8').split(/[;,]/)[0].trim();
  }
  return { index, location, placement, kind, token, path: '/' + location + '/fuzz' + (query ? '?' + query : ''), headers, seen };
}

interface Reply {
  status: number | string;
}

function send(agent: http.Agent, port: number, probe: Probe): Promise<Reply> {
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, path: probe.path, headers: probe.headers, agent, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode || 0 }));
      response.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 'error ' + (e.code || e.message) }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 'error ' + (e.code || e.message) }));
    request.end();
  });
}

/** A request on a kept-alive connection can meet the server closing it; that one is retried on a new connection (unless the run is stopping). */
async function sendWithRetry(agent: http.Agent, port: number, probe: Probe, stopping: () => boolean): Promise<Reply> {
  const reply = await send(agent, port, probe);
  if ((reply.status === 'error ECONNRESET' || reply.status === 'error EPIPE') && !stopping()) return send(agent, port, probe);
  return reply;
}

// ---------------------------------------------------------------------------
// nginx workers

function workerPids(nginx: Nginx): number[] {
  return workerProcesses(nginx.masterPid)
    .map((worker) => worker.pid)
    .sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------

function describeProbe(probe: Probe, status: number | string, limit = 160): string {
  const token = JSON.stringify(probe.token.length > limit ? probe.token.slice(0, limit) + '...' : probe.token);
  return `  #${probe.index} ${status} ${probe.path.slice(0, 3)} ${probe.placement} [${probe.kind}] ${token}`;
}

/** Resident memory of a process in MiB (0 when it is gone). */
function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/' + pid + '/status', 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function killWorkers(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Waits until the master has a worker again (it starts a new one for each killed worker). */
async function workersUp(nginx: Nginx): Promise<number[]> {
  for (let i = 0; i < 40; i++) {
    const pids = workerPids(nginx);
    if (pids.length) return pids;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}

function errorCount(nginx: Nginx): number {
  return (nginx.errorLog().match(/\[(error|crit|alert|emerg)\]/g) || []).length;
}

/**
 * Sends the requests that were in flight when a worker hung again, one at a
 * time on a fresh connection, and names those that hang a worker or make
 * nginx log an error. (A bug may hang only some of the time; the same request
 * then often fails with an "unexpected error" instead.)
 */
async function isolate(nginx: Nginx, suspects: Probe[]): Promise<string[]> {
  const culprits: string[] = [];
  suspects.sort((a, b) => a.index - b.index);
  for (const probe of suspects) {
    const workers = await workersUp(nginx);
    const errorsBefore = errorCount(nginx);
    const agent = new http.Agent({ keepAlive: false });
    const reply = await Promise.race([
      send(agent, nginx.ports.PORT, probe),
      new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 'no answer in 2 s' }), 2000)),
    ]);
    agent.destroy();
    const hung = typeof reply.status === 'string';
    if (hung) killWorkers(workers);
    else await new Promise((resolve) => setTimeout(resolve, 20));
    const errors = errorCount(nginx) - errorsBefore;
    if (hung || errors > 0) {
      const what = hung ? String(reply.status) + ' (worker killed)' : reply.status + ' with ' + errors + ' error line(s) in error.log';
      culprits.push(describeProbe(probe, what, 4000) + '\n    request: GET ' + probe.path.slice(0, 4000) + ' ' + JSON.stringify(probe.headers).slice(0, 4000));
      if (culprits.length >= 5) break;
    }
  }
  await workersUp(nginx);
  return culprits;
}

/** Answers outside {200, 401, 403}, forged tokens let through and valid ones refused: counts and the first examples. */
interface Tally {
  sent: number;
  validSent: number;
  statuses: { [status: string]: number };
  outside: { count: number; examples: string[] };
  forged: { count: number; examples: string[] };
  validRefused: { count: number; examples: string[] };
}

function newTally(): Tally {
  return {
    sent: 0,
    validSent: 0,
    statuses: {},
    outside: { count: 0, examples: [] },
    forged: { count: 0, examples: [] },
    validRefused: { count: 0, examples: [] },
  };
}

function note(bucket: { count: number; examples: string[] }, example: () => string): void {
  if (bucket.count++ < EXAMPLES) bucket.examples.push(example());
}

function judge(tally: Tally, keys: Keys, probe: Probe, status: number | string): void {
  tally.sent++;
  tally.statuses[status] = (tally.statuses[status] || 0) + 1;
  const valid = keys.valid[probe.location];
  const isValid = valid.indexOf(probe.token) >= 0;
  if (isValid) tally.validSent++;
  if (status !== 200 && status !== 401 && status !== 403) note(tally.outside, () => describeProbe(probe, status));
  else if (status === 200 && valid.indexOf(probe.seen) < 0)
    note(tally.forged, () => describeProbe(probe, status) + ' seen as ' + JSON.stringify(probe.seen.slice(0, 80)));
  else if (status !== 200 && isValid) note(tally.validRefused, () => describeProbe(probe, status));
}

/** The run as it goes: what is in flight, when the last answer came, and why it stopped early (a worker that stopped answering or ate memory). */
interface RunState {
  inFlight: Map<number, Probe>;
  lastAnswer: number;
  hang: string;
  suspects: Probe[];
}

/**
 * A worker stuck in a loop answers nothing and grows without bound: stop the run, keep the
 * requests in flight (the likely causes), and kill the worker before it takes the machine down.
 */
function startWatchdog(nginx: Nginx, agent: http.Agent, state: RunState): NodeJS.Timeout {
  return setInterval(() => {
    if (state.hang) return;
    const workers = workerPids(nginx);
    const fat = workers.find((pid) => rssMiB(pid) > MAX_WORKER_MIB);
    const stalled = state.inFlight.size > 0 && Date.now() - state.lastAnswer > STALL_MS;
    if (!fat && !stalled) return;
    state.hang = (fat ? `worker ${fat} grew past ${MAX_WORKER_MIB} MiB` : `no answer for ${STALL_MS / 1000} s`) + `; killed worker(s) ${workers.join(' ')}`;
    state.suspects = [...state.inFlight.values()];
    killWorkers(workers);
    agent.destroy();
  }, 500);
}

/** `count` probes, CONCURRENCY at a time, until done or the watchdog stops the run. */
async function sendAll(nginx: Nginx, agent: http.Agent, keys: Keys, options: Options, state: RunState, tally: Tally): Promise<void> {
  const rng = new Rng(options.seed);
  let next = 0;
  const loop = async () => {
    while (next < options.count && !state.hang) {
      // Probes are made in index order from one PRNG, so a seed always gives the same probes.
      const probe = makeProbe(next++, rng, keys);
      state.inFlight.set(probe.index, probe);
      const reply = await sendWithRetry(agent, nginx.ports.PORT, probe, () => state.hang !== '');
      state.inFlight.delete(probe.index);
      if (state.hang) break;
      state.lastAnswer = Date.now();
      judge(tally, keys, probe, reply.status);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

/** Workers that crashed and error.log lines at error level or worse. */
function workerHealth(nginx: Nginx, workersBefore: number[]): { workersAfter: number[]; exitedOnSignal: number; crashes: number; errorLines: string[] } {
  const workersAfter = workerPids(nginx);
  const log = nginx.errorLog();
  const exitedOnSignal = (log.match(/exited on signal/g) || []).length;
  const gone = workersBefore.filter((pid) => workersAfter.indexOf(pid) < 0).length;
  return {
    workersAfter,
    exitedOnSignal,
    crashes: Math.max(exitedOnSignal, gone),
    errorLines: log.split('\n').filter((line) => /\[(error|crit|alert|emerg)\]/.test(line)),
  };
}

function printBucket(title: string, bucket: { count: number; examples: string[] }): void {
  console.log(`${title}: ${bucket.count}`);
  for (const line of bucket.examples) console.log(line);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const keys = makeKeys();
  const nginx = await startNginx({ config: CONFIG, ports: ['PORT', 'UPSTREAM_PORT'], files: keys.files });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const tally = newTally();
  const state: RunState = { inFlight: new Map(), lastAnswer: Date.now(), hang: '', suspects: [] };
  const started = Date.now();
  let health = { workersAfter: [] as number[], exitedOnSignal: 0, crashes: 0, errorLines: [] as string[] };
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const workersBefore = workerPids(nginx);
    console.log(
      `fuzz: seed ${options.seed}, ${options.count} requests, ${CONCURRENCY} in flight, nginx worker ${workersBefore.join(' ')} (prefix ${nginx.prefix})`,
    );
    watchdog = startWatchdog(nginx, agent, state);
    await sendAll(nginx, agent, keys, options, state, tally);
    clearInterval(watchdog);
    const seconds = (Date.now() - started) / 1000;
    agent.destroy();
    // Give the master a moment to log a crashed worker and start another.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const culprits = state.suspects.length ? await isolate(nginx, state.suspects) : [];
    health = workerHealth(nginx, workersBefore);

    const histogram = Object.keys(tally.statuses)
      .sort()
      .map((status) => status + ': ' + tally.statuses[status])
      .join(', ');
    console.log(`sent ${tally.sent} in ${seconds.toFixed(1)} s (${Math.round(tally.sent / seconds)} req/s), ${tally.validSent} with a valid token`);
    console.log(`status histogram: ${histogram || '-'}`);
    if (state.hang) {
      console.log(
        `RUN STOPPED: ${state.hang}; the ${state.suspects.length} requests in flight, sent again one at a time: ${culprits.length ? 'these hang a worker or make nginx log an error:' : 'none of them fails again'}`,
      );
      for (const line of culprits) console.log(line);
    }
    printBucket('responses outside {200,401,403}', tally.outside);
    printBucket('forged tokens answered 200', tally.forged);
    printBucket('valid tokens not answered 200', tally.validRefused);
    console.log(
      `workers before: ${workersBefore.join(' ') || '-'}, after: ${health.workersAfter.join(' ') || '-'}; "exited on signal" in error.log: ${health.exitedOnSignal}`,
    );
    console.log(`error.log lines at error level or worse: ${health.errorLines.length}`);
    for (const line of health.errorLines.slice(0, EXAMPLES)) console.log('  ' + line.slice(0, 300));
  } finally {
    clearInterval(watchdog);
    agent.destroy();
    await nginx.stop();
  }
  console.log(`fuzz: ${tally.sent} sent, ${tally.outside.count} outside {200,401,403}, ${health.crashes} worker crashes`);
  const failed =
    tally.outside.count > 0 ||
    health.crashes > 0 ||
    tally.forged.count > 0 ||
    tally.validRefused.count > 0 ||
    health.errorLines.length > 0 ||
    tally.sent !== options.count ||
    state.hang !== '';
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error('fuzz: ' + ((e as Error).stack || e));
  process.exitCode = 1;
});

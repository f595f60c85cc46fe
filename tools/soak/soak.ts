/**
 * `npm run soak [-- --duration S] [--concurrency C] [--reload [--reloads N]]`
 *
 * Soak: starts one nginx (1 worker, a tiny keep-alive upstream that answers
 * 200) with a consumer map (HS256, RS256, ES256 and PS256 credentials), also
 * behind the cached auth_request style, and a JWK Set, and drives mixed traffic from Node over loopback for S seconds:
 * valid tokens of each algorithm, expired, tampered, missing, malformed and
 * wrong-key ones. Reports requests, req/s, the statuses per traffic kind,
 * 5xx, mismatches (a valid token not answered 200 with its identity, an
 * invalid one not 401), worker RSS and crashes in error.log.
 *
 * --reload: the same traffic while the consumer map and the JWK Set are
 * replaced and nginx reloaded N times, in a cycle: add a consumer, add a new
 * kid (the old one kept), remove the old kid, remove the consumer. A token
 * valid before and after a reload must get 200 throughout it; after each
 * reload (once no old worker is left) the added consumer and key must be
 * accepted and the removed ones refused. A request that meets a connection
 * closed by an old worker is retried once on a new connection (counted).
 *
 * Exits 1 on any 5xx, mismatch, request error, crash or failed reload check.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { base64url, CryptoKey, exportJWK, exportSPKI, generateKeyPair, JWK, JWTHeaderParameters, JWTPayload, SignJWT } from 'jose';
import { parseCommandLine } from '../../cli/args';
import { cachedStyleHttp, configHead, isAlive, Nginx, startNginx, workerProcesses } from '../../test/support/nginx';
import { Clock, drive, emptyStats, Expected, Kind, request, send, Target, TrafficStats } from './traffic';

const USAGE = `usage: npm run soak -- [--duration S] [--concurrency C] [--reload [--reloads N]]
  --duration S     seconds of traffic (default 60)
  --concurrency C  requests in flight, over keep-alive connections (default 16)
  --reload         reload nginx under load, replacing the consumer map and JWK Set
  --reloads N      number of reloads (default 10; implies --reload)`;

const CONFIG =
  configHead({ errorLogLevel: '${LOG_LEVEL}' }) +
  `
    access_log off;

    js_import jwt from \${BUNDLE};
    js_preload_object soak_consumers from \${PREFIX}/consumers.json;
    js_preload_object soak_jwks from \${PREFIX}/jwks.json;
    include \${ROOT}/nginx/jwt-variables.conf;

    # The cached auth_request style: its verifier server on a unix socket.
    ${cachedStyleHttp()}

    upstream soak_upstream {
        server 127.0.0.1:\${UPSTREAM_PORT};
        keepalive 32;
    }

    server {
        listen 127.0.0.1:\${PORT};

        location = /consumers {
            set $auth_jwt_consumers soak_consumers;
            include \${ROOT}/nginx/jwt-auth.conf;
            include \${ROOT}/nginx/jwt-proxy-headers.conf;
            proxy_set_header X-Jwt-Sub $jwt_claim_sub;
            proxy_pass http://soak_upstream;
        }

        location = /jwks {
            set $auth_jwt_key_file soak_jwks;
            include \${ROOT}/nginx/jwt-auth.conf;
            include \${ROOT}/nginx/jwt-proxy-headers.conf;
            proxy_set_header X-Jwt-Sub $jwt_claim_sub;
            proxy_pass http://soak_upstream;
        }

        include \${ROOT}/nginx/jwt-auth-cache-locations.conf;
        location = /cached {
            set $auth_jwt_consumers soak_consumers;
            include \${ROOT}/nginx/jwt-auth-request.conf;
            proxy_pass http://soak_upstream;
        }

        location = /_soak_status {
            stub_status;
        }
    }
}
`;

// The upstream runs in an nginx of its own: were it a server of the gateway's
// nginx, a reload would close, from the old worker's side, the kept-alive
// upstream connections the new worker uses, and each such race is logged as
// "recv() failed ... while reading response header from upstream".
// It answers 200 with the identity the gateway passed on, so the client can
// check that each answer belongs to its own token.
const UPSTREAM_CONFIG =
  configHead({ errorLogLevel: 'warn', njs: false }) +
  `
    access_log off;

    server {
        listen 127.0.0.1:\${PORT};
        location / {
            default_type text/plain;
            return 200 "ok consumer=$http_x_consumer_username sub=$http_x_jwt_sub\\n";
        }
    }
}
`;

interface Options {
  duration: number;
  concurrency: number;
  reloads: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine(
    argv,
    USAGE,
    {
      duration: { type: 'number', min: 1, max: 3600 },
      concurrency: { type: 'number', min: 1, max: 512 },
      reload: { type: 'boolean' },
      reloads: { type: 'number', min: 1, max: 200 },
    },
    { help: true },
  );
  return { duration: values.duration ?? 60, concurrency: values.concurrency ?? 16, reloads: values.reloads ?? (values.reload ? 10 : 0) };
}

// ---------------------------------------------------------------- key material

type Alg = 'HS256' | 'RS256' | 'ES256' | 'PS256';
type SigningKey = CryptoKey | Uint8Array;

interface Credential {
  username: string;
  key: string;
  alg: Alg;
  signingKey: SigningKey;
  /** The consumer map's credential entry. */
  entry: object;
}

interface JwkEntry {
  kid: string;
  alg: Alg;
  signingKey: SigningKey;
  jwk: JWK;
}

async function credential(username: string, alg: Alg): Promise<Credential> {
  const key = username + '-key';
  const id = 'cred-' + username;
  if (alg === 'HS256') {
    const secret = randomBytes(32).toString('hex');
    return { username, key, alg, signingKey: new TextEncoder().encode(secret), entry: { id, key, algorithm: alg, secret } };
  }
  const pair = await generateKeyPair(alg, alg === 'ES256' ? {} : { modulusLength: 2048 });
  return { username, key, alg, signingKey: pair.privateKey, entry: { id, key, algorithm: alg, public_key: await exportSPKI(pair.publicKey) } };
}

async function jwkEntry(kid: string, alg: Alg): Promise<JwkEntry> {
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    return { kid, alg, signingKey: secret, jwk: { kty: 'oct', kid, alg, use: 'sig', k: base64url.encode(secret) } };
  }
  const pair = await generateKeyPair(alg, alg === 'ES256' ? {} : { modulusLength: 2048 });
  return { kid, alg, signingKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

const NOW = () => Math.floor(Date.now() / 1000);

function sign(payload: JWTPayload, header: JWTHeaderParameters, key: SigningKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** A token that stays valid for the whole run (payload `key` names the credential). */
function consumerToken(c: Credential, claims: JWTPayload = {}): Promise<string> {
  return sign({ key: c.key, sub: c.username, iat: NOW(), exp: NOW() + 7200, ...claims }, { alg: c.alg, typ: 'JWT' }, c.signingKey);
}

function jwkToken(k: JwkEntry, claims: JWTPayload = {}, signingKey: SigningKey = k.signingKey): Promise<string> {
  return sign({ sub: 'svc-' + k.kid, iat: NOW(), exp: NOW() + 7200, ...claims }, { alg: k.alg, typ: 'JWT', kid: k.kid }, signingKey);
}

function segment(value: unknown): string {
  return base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));
}

/** Changes one character in the middle of the signature. */
function flipSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const at = dot + Math.floor((token.length - dot) / 2);
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

/** Replaces the payload, keeping header and signature. */
function swapPayload(token: string, payload: object): string {
  const parts = token.split('.');
  return parts[0] + '.' + segment(payload) + '.' + parts[2];
}

// ---------------------------------------------------------------- the reload plan

type StepType = 'add consumer' | 'add kid' | 'remove kid' | 'remove consumer';
const CYCLE: StepType[] = ['add consumer', 'add kid', 'remove kid', 'remove consumer'];

interface State {
  guests: number[];
  kids: number[];
}

interface Step {
  type: StepType;
  subject: string;
}

interface Plan {
  steps: Step[];
  /** Configuration generation g (0 = start, g = after reload g). */
  states: State[];
  guestCount: number;
  kidCount: number;
}

const GUEST_ALGS: Alg[] = ['HS256', 'ES256', 'RS256', 'PS256'];
const KID_ALGS: Alg[] = ['ES256', 'RS256'];
const guestName = (i: number) => 'guest' + i;
const kidName = (i: number) => 'rot-' + i;

function plan(reloads: number): Plan {
  const steps: Step[] = [];
  const states: State[] = [{ guests: [], kids: [0] }];
  let guestCount = 0;
  let kidCount = 1;
  for (let i = 0; i < reloads; i++) {
    const type = CYCLE[i % CYCLE.length];
    const cycle = Math.floor(i / CYCLE.length);
    const last = states[states.length - 1];
    const state: State = { guests: last.guests.slice(), kids: last.kids.slice() };
    let subject: string;
    if (type === 'add consumer') {
      state.guests.push(cycle);
      guestCount = cycle + 1;
      subject = guestName(cycle) + ' (' + GUEST_ALGS[cycle % GUEST_ALGS.length] + ')';
    } else if (type === 'add kid') {
      state.kids.push(cycle + 1);
      kidCount = cycle + 2;
      subject = kidName(cycle + 1) + ' (' + KID_ALGS[(cycle + 1) % KID_ALGS.length] + '), ' + kidName(cycle) + ' kept';
    } else if (type === 'remove kid') {
      state.kids = state.kids.filter((k) => k !== cycle);
      subject = kidName(cycle);
    } else {
      state.guests = state.guests.filter((g) => g !== cycle);
      subject = guestName(cycle);
    }
    steps.push({ type, subject });
    states.push(state);
  }
  return { steps, states, guestCount, kidCount };
}

// ---------------------------------------------------------------- setup

interface Setup {
  kinds: Kind[];
  /** consumers.json and jwks.json of each generation. */
  files(generation: number): { [name: string]: string };
}

function bearer(token: string): { [name: string]: string } {
  return { Authorization: 'Bearer ' + token };
}

async function setup(p: Plan): Promise<Setup> {
  const stable: Credential[] = [];
  for (const alg of ['HS256', 'RS256', 'ES256', 'PS256'] as Alg[]) stable.push(await credential(alg.toLowerCase().slice(0, 2) + alg.slice(2), alg));
  const [hs, rs, es, ps] = stable;
  const guests: Credential[] = [];
  for (let i = 0; i < p.guestCount; i++) guests.push(await credential(guestName(i), GUEST_ALGS[i % GUEST_ALGS.length]));
  const stableKeys: JwkEntry[] = [await jwkEntry('stable-hs', 'HS256'), await jwkEntry('stable-rs', 'RS256'), await jwkEntry('stable-es', 'ES256')];
  const [khs, krs, kes] = stableKeys;
  const rotating: JwkEntry[] = [];
  for (let i = 0; i < p.kidCount; i++) rotating.push(await jwkEntry(kidName(i), KID_ALGS[i % KID_ALGS.length]));
  const otherRsa = await generateKeyPair('RS256', { modulusLength: 2048 });
  const otherEc = await generateKeyPair('ES256');
  const otherSecret = new TextEncoder().encode(randomBytes(32).toString('hex'));

  const last = p.states.length - 1;
  const at = (g: number) => p.states[Math.max(0, Math.min(last, g))];
  const always = (status: Expected) => () => status;
  const onConsumers = (headers: { [name: string]: string }, query = ''): Target => ({ path: '/consumers' + query, headers });
  const onJwks = (headers: { [name: string]: string }, query = ''): Target => ({ path: '/jwks' + query, headers });
  // The cached auth_request style over the same consumer map; it passes no claim headers (sub= stays empty).
  const onCached = (headers: { [name: string]: string }, query = ''): Target => ({ path: '/cached' + query, headers });
  const kinds: Kind[] = [];

  // Valid tokens: each algorithm through the consumer map and the JWK Set.
  for (const c of stable) {
    const token = await consumerToken(c);
    kinds.push({ name: c.alg + ' consumer', group: 'valid', variants: [onConsumers(bearer(token))], expect: always(200), body: `ok consumer=${c.username} sub=${c.username}\n` });
    kinds.push({ name: c.alg + ' consumer, cached', group: 'valid', variants: [onCached(bearer(token))], expect: always(200), body: `ok consumer=${c.username} sub=\n` });
  }
  for (const k of stableKeys) {
    kinds.push({ name: k.alg + ' JWK kid ' + k.kid, group: 'valid', variants: [onJwks(bearer(await jwkToken(k)))], expect: always(200), body: `ok consumer= sub=svc-${k.kid}\n` });
  }
  // Tokens whose validity changes with the reloads (the soak has only rot-0, always valid).
  for (let i = 0; i < guests.length; i++) {
    const c = guests[i];
    const token = await consumerToken(c);
    const expect = (g: number): Expected => (at(g).guests.indexOf(i) >= 0 ? 200 : 401);
    kinds.push({ name: c.alg + ' consumer ' + c.username, group: 'valid', variants: [onConsumers(bearer(token))], expect, body: `ok consumer=${c.username} sub=${c.username}\n` });
    kinds.push({ name: c.alg + ' consumer ' + c.username + ', cached', group: 'valid', variants: [onCached(bearer(token))], expect, body: `ok consumer=${c.username} sub=\n` });
  }
  for (let i = 0; i < rotating.length; i++) {
    const k = rotating[i];
    kinds.push({
      name: k.alg + ' JWK kid ' + k.kid,
      group: 'valid',
      variants: [onJwks(bearer(await jwkToken(k)))],
      expect: (g) => (at(g).kids.indexOf(i) >= 0 ? 200 : 401),
      body: `ok consumer= sub=svc-${k.kid}\n`,
    });
  }

  const expired = { iat: NOW() - 7200, exp: NOW() - 3600 };
  kinds.push({
    name: 'exp passed / nbf ahead',
    group: 'expired',
    variants: [
      onConsumers(bearer(await consumerToken(hs, expired))),
      onConsumers(bearer(await consumerToken(rs, expired))),
      onJwks(bearer(await jwkToken(kes, expired))),
      onConsumers(bearer(await consumerToken(es, { nbf: NOW() + 3600 }))),
    ],
    expect: always(401),
  });

  kinds.push({
    name: 'signature or payload changed',
    group: 'tampered',
    variants: [
      onConsumers(bearer(swapPayload(await consumerToken(rs), { key: rs.key, sub: 'admin', exp: NOW() + 7200 }))),
      onConsumers(bearer(flipSignature(await consumerToken(es)))),
      onConsumers(bearer(flipSignature(await consumerToken(ps)))),
      onConsumers(bearer(flipSignature(await consumerToken(hs)))),
      onJwks(bearer(flipSignature(await jwkToken(khs)))),
      onJwks(bearer(swapPayload(await jwkToken(krs), { sub: 'admin', exp: NOW() + 7200 }))),
      onCached(bearer(swapPayload(await consumerToken(hs), { key: hs.key, sub: 'admin', exp: NOW() + 7200 }))),
      onCached(bearer(flipSignature(await consumerToken(rs)))),
    ],
    expect: always(401),
  });

  kinds.push({ name: 'no token', group: 'missing', variants: [onConsumers({}), onJwks({}), onCached({})], expect: always(401) });

  const good = await consumerToken(hs);
  const goodPayload = good.split('.')[1];
  kinds.push({
    name: 'not a JWT',
    group: 'malformed',
    variants: [
      onConsumers(bearer('not-a-jwt')),
      onConsumers(bearer('a.b')),
      onJwks(bearer(good + '.extra')),
      onConsumers(bearer(segment('hello') + '.' + goodPayload + '.' + good.split('.')[2])),
      onConsumers(bearer(segment({ alg: 'none', typ: 'JWT' }) + '.' + goodPayload + '.')),
      onConsumers(bearer(segment('{"alg":"HS256","alg":"none"}') + '.' + goodPayload + '.' + good.split('.')[2])),
      onJwks(bearer(segment({ alg: 'ES256', kid: 'stable-es' }) + '.' + segment([1, 2]) + '.' + 'AAAA')),
      onConsumers(bearer(good + '==')),
      onConsumers({ Authorization: 'Bearer ' }),
      onConsumers({}, '?jwt=%00%ff.%2e.x'),
      onJwks({ Cookie: 'jwt=..' }),
      onConsumers(bearer('A'.repeat(6000))),
    ],
    expect: always(401),
  });

  kinds.push({
    name: 'other key, unknown kid, alg confusion',
    group: 'wrong-key',
    variants: [
      onConsumers(bearer(await sign({ key: hs.key, sub: 'hs', exp: NOW() + 7200 }, { alg: 'HS256' }, otherSecret))),
      onConsumers(bearer(await sign({ key: rs.key, sub: 'rs', exp: NOW() + 7200 }, { alg: 'RS256' }, otherRsa.privateKey))),
      onConsumers(bearer(await sign({ key: es.key, sub: 'es', exp: NOW() + 7200 }, { alg: 'ES256' }, otherEc.privateKey))),
      onCached(bearer(await sign({ key: es.key, sub: 'es', exp: NOW() + 7200 }, { alg: 'ES256' }, otherEc.privateKey))),
      // RS256 public key used as an HMAC secret.
      onConsumers(bearer(await sign({ key: rs.key, sub: 'rs', exp: NOW() + 7200 }, { alg: 'HS256' }, new TextEncoder().encode((rs.entry as { public_key: string }).public_key)))),
      onJwks(bearer(await jwkToken(kes, {}, otherEc.privateKey))),
      onJwks(bearer(await sign({ sub: 'x', exp: NOW() + 7200 }, { alg: 'RS256', kid: 'no-such-kid' }, otherRsa.privateKey))),
      onJwks(bearer(await sign({ sub: 'x', exp: NOW() + 7200 }, { alg: 'RS256' }, otherRsa.privateKey))),
    ],
    expect: always(401),
  });

  const files = (g: number) => {
    const state = at(g);
    const consumers = stable.concat(state.guests.map((i) => guests[i])).map((c) => ({ username: c.username, credentials: [c.entry] }));
    const keys = stableKeys.concat(state.kids.map((i) => rotating[i])).map((k) => k.jwk);
    return {
      'consumers.json': JSON.stringify({ consumers }, null, 2),
      'jwks.json': JSON.stringify({ keys }, null, 2),
    };
  };
  return { kinds, files };
}

// ---------------------------------------------------------------- processes and logs

/** VmRSS in kB, or 0 when the process is gone. */
function rssKb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/' + pid + '/status', 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** RSS of the serving worker (the largest, if a reload left two). */
function workerRss(master: number): number {
  let largest = 0;
  for (const w of workerProcesses(master)) if (!w.shuttingDown) largest = Math.max(largest, rssKb(w.pid));
  return largest;
}

interface LogCounts {
  crashes: number;
  emerg: number;
  alert: number;
  crit: number;
  error: number;
  warn: number;
  jsExceptions: number;
  samples: string[];
}

function scanErrorLog(text: string): LogCounts {
  const counts: LogCounts = { crashes: 0, emerg: 0, alert: 0, crit: 0, error: 0, warn: 0, jsExceptions: 0, samples: [] };
  for (const line of text.split('\n')) {
    const level = /\[(emerg|alert|crit|error|warn)\]/.exec(line);
    const crash = /exited on signal/.test(line);
    const js = /js exception|jwt-gateway: unexpected error/.test(line);
    if (level) counts[level[1] as 'emerg' | 'alert' | 'crit' | 'error' | 'warn']++;
    if (crash) counts.crashes++;
    if (js) counts.jsExceptions++;
    if ((level || crash || js) && counts.samples.length < 5) counts.samples.push(line.slice(0, 300));
  }
  return counts;
}

async function stubStatus(nginx: Nginx): Promise<{ accepted: number; requests: number } | null> {
  const answer = await send(nginx.ports.PORT, { path: '/_soak_status', headers: {} }, false, 5000);
  if ('error' in answer) return null;
  const match = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(answer.body);
  return match ? { accepted: Number(match[1]), requests: Number(match[3]) } : null;
}

// ---------------------------------------------------------------- reloads

interface ReloadResult {
  generation: number;
  step: Step;
  settledMs: number;
  problems: string[];
  probes: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Reload into `generation`: write its files, SIGHUP (the runner's reload),
 * then wait until every worker of the older generation has exited, so a
 * request started afterwards can only meet the new configuration. Then probe
 * each token whose answer this reload changes, on a new connection.
 */
async function reloadTo(nginx: Nginx, master: number, s: Setup, p: Plan, generation: number, clock: Clock): Promise<ReloadResult> {
  const step = p.steps[generation - 1];
  const result: ReloadResult = { generation, step, settledMs: 0, problems: [], probes: [] };
  const old = workerProcesses(master).map((w) => w.pid);
  const started = Date.now();
  clock.phase = 2 * generation - 1;
  // reload() is true once the new worker has logged its start (a notice): a config nginx refuses starts none.
  if (!(await nginx.reload(s.files(generation)))) result.problems.push('nginx started no new worker within 3 s (is the new configuration valid? see error.log)');
  const deadline = Date.now() + 10000;
  while (old.some(isAlive) && Date.now() < deadline) await sleep(5);
  const fresh = workerProcesses(master).filter((w) => old.indexOf(w.pid) < 0);
  if (old.some(isAlive)) result.problems.push('old worker(s) ' + old.filter(isAlive).join(', ') + ' still running 10 s after the reload');
  if (fresh.length !== 1) result.problems.push('expected 1 new worker after the reload, found ' + fresh.length + ' (is the new configuration valid? see error.log)');
  result.settledMs = Date.now() - started;
  clock.phase = 2 * generation;
  for (const kind of s.kinds) {
    const before = kind.expect(generation - 1);
    const after = kind.expect(generation);
    if (before === after) continue;
    for (const target of kind.variants) {
      const answer = await send(nginx.ports.PORT, target, false, 5000);
      const got = 'error' in answer ? answer.error : answer.status;
      const ok = got === after && (after !== 200 || kind.body === undefined || ('body' in answer && answer.body === kind.body));
      result.probes.push(kind.name + ' ' + got + (ok ? '' : ' (expected ' + after + ')'));
      if (!ok) result.problems.push('after reload ' + generation + ' (' + step.type + ' ' + step.subject + '): ' + kind.name + ' got ' + got + ', expected ' + after);
    }
  }
  return result;
}

// ---------------------------------------------------------------- report

function mb(kb: number): string {
  return (kb / 1024).toFixed(1) + ' MB';
}

function histogram(statuses: { [status: string]: number }): string {
  return Object.keys(statuses)
    .sort()
    .map((s) => s + ':' + statuses[s])
    .join(' ');
}

function printKinds(kinds: Kind[], stats: TrafficStats, generations: number): void {
  const expectation = (kind: Kind) => {
    const seen: number[] = [];
    for (let g = 0; g < generations; g++) if (seen.indexOf(kind.expect(g)) < 0) seen.push(kind.expect(g));
    return seen.length === 1 ? String(seen[0]) : 'varies';
  };
  const rows = kinds.map((k) => [k.group, k.name, expectation(k), String(stats.byKind[k.name].requests), histogram(stats.byKind[k.name].statuses), String(stats.byKind[k.name].mismatches)]);
  const header = ['kind', 'tokens', 'expect', 'requests', 'statuses', 'mismatches'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => (i === 3 || i === 5 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  // The same per traffic kind.
  const groups: { [group: string]: { [status: string]: number } } = {};
  for (const k of kinds) {
    const g = (groups[k.group] = groups[k.group] || {});
    for (const s of Object.keys(stats.byKind[k.name].statuses)) g[s] = (g[s] || 0) + stats.byKind[k.name].statuses[s];
  }
  console.log('\nper traffic kind: ' + Object.keys(groups).map((g) => g + ' ' + histogram(groups[g])).join(' | '));
}

// ---------------------------------------------------------------- main

let nginx: Nginx | null = null;
let upstream: Nginx | null = null;
let stopping: Promise<void> | null = null;
let interrupted = false;

/**
 * Stops both nginx. The runner SIGKILLs a master that does not quit within
 * 5 s, which would leave a stuck worker running on its own: any worker of
 * ours still alive after stop() is killed.
 */
function shutdown(): Promise<void> {
  // stop() also kills a worker that outlives its master.
  if (!stopping) stopping = Promise.all([nginx?.stop(), upstream?.stop()]).then(() => undefined);
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\nsoak: ' + signal + ', stopping nginx\n');
    shutdown().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const reloadMode = options.reloads > 0;
  const label = reloadMode ? 'reload' : 'soak';
  const p = plan(options.reloads);
  const s = await setup(p);
  upstream = await startNginx({ config: UPSTREAM_CONFIG, ports: ['PORT'] });
  nginx = await startNginx({
    config: CONFIG,
    ports: ['PORT'],
    // The runner's reload() waits for the "start worker process" notice.
    variables: { LOG_LEVEL: reloadMode ? 'notice' : 'warn', UPSTREAM_PORT: String(upstream.ports.PORT) },
    files: s.files(0),
  });
  const master = nginx.masterPid;
  const clock: Clock = { phase: 0 };
  const failures: string[] = [];

  // Every token once on its own connection: a broken setup fails here, fast.
  const preflight = emptyStats(s.kinds);
  for (const kind of s.kinds) {
    for (const target of kind.variants) {
      await request({ port: nginx.ports.PORT, kinds: s.kinds, concurrency: 1, clock, done: () => false }, preflight, false, kind, target);
    }
  }
  if (preflight.mismatches || preflight.errors) {
    console.error(label + ': the first request of each token already fails:');
    for (const f of preflight.samples) console.error('  ' + f.kind + ' ' + f.path + ': got ' + f.status + ', expected ' + f.expected + ' ' + JSON.stringify(f.body));
    process.exitCode = 1;
    return;
  }

  const variantCount = s.kinds.reduce((n, k) => n + k.variants.length, 0);
  process.stderr.write(
    `${label}: ${options.duration} s, ${options.concurrency} in flight, nginx 1 worker (pid ${workerProcesses(master).map((w) => w.pid).join(',')}), ` +
      `${s.kinds.length} token rows, ${variantCount} distinct requests` +
      (reloadMode ? `, ${options.reloads} reloads every ${(options.duration / (options.reloads + 1)).toFixed(1)} s` : '') +
      '\n',
  );

  const rssStart = workerRss(master);
  const masterStart = rssKb(master);
  let rssPeak = rssStart;
  const statusBefore = await stubStatus(nginx);
  const stats = emptyStats(s.kinds);
  const started = Date.now();
  const deadline = started + options.duration * 1000;
  const progressEvery = Math.max(5, Math.round(options.duration / 6)) * 1000;
  let lastProgress = started;
  let lastRequests = 0;
  // The sampler also notices when this process itself was frozen (a starved
  // machine): requests timing out then say nothing about the gateway.
  let lastTick = started;
  let longestStall = 0;
  const sampler = setInterval(() => {
    longestStall = Math.max(longestStall, Date.now() - lastTick - 250);
    lastTick = Date.now();
    const rss = workerRss(master);
    rssPeak = Math.max(rssPeak, rss);
    const now = Date.now();
    if (now - lastProgress >= progressEvery - 500) {
      const rate = ((stats.requests - lastRequests) * 1000) / (now - lastProgress);
      process.stderr.write(`  ${Math.round((now - started) / 1000)} s: ${stats.requests} requests, ${Math.round(rate)} req/s, worker RSS ${mb(rss)}, mismatches ${stats.mismatches}\n`);
      lastProgress = now;
      lastRequests = stats.requests;
    }
  }, 250);

  const reloads: Promise<ReloadResult[]> = (async () => {
    const results: ReloadResult[] = [];
    const interval = (options.duration * 1000) / (options.reloads + 1);
    for (let g = 1; g <= options.reloads; g++) {
      await sleep(started + g * interval - Date.now());
      if (interrupted) break;
      const r = await reloadTo(nginx!, master, s, p, g, clock);
      rssPeak = Math.max(rssPeak, workerRss(master));
      process.stderr.write(`  reload ${g}: ${r.step.type} ${r.step.subject}: settled in ${r.settledMs} ms${r.problems.length ? ': ' + r.problems.join('; ') : ''}\n`);
      results.push(r);
    }
    return results;
  })();
  try {
    await drive({ port: nginx.ports.PORT, kinds: s.kinds, concurrency: options.concurrency, clock, done: () => Date.now() >= deadline || interrupted }, stats);
  } finally {
    clearInterval(sampler);
  }
  const elapsed = (Date.now() - started) / 1000;
  const reloadResults = await reloads;
  const rssEnd = workerRss(master);
  rssPeak = Math.max(rssPeak, rssEnd);
  const masterEnd = rssKb(master);
  const statusAfter = await stubStatus(nginx);
  const masterAlive = isAlive(master);
  const log = scanErrorLog(nginx.errorLog());
  const upstreamLog = scanErrorLog(upstream.errorLog());

  console.log(`\n${label}: ${options.duration} s of mixed traffic, ${options.concurrency} in flight, 1 nginx worker` + (reloadMode ? `, ${options.reloads} reloads` : '') + '\n');
  printKinds(s.kinds, stats, p.states.length);
  const rows: [string, string][] = [
    ['requests', String(stats.requests)],
    ['req/s', String(Math.round(stats.requests / elapsed))],
    ['latency p50 / p99 / max', `${stats.latency.quantile(0.5).toFixed(2)} / ${stats.latency.quantile(0.99).toFixed(2)} / ${stats.latency.maximum().toFixed(1)} ms`],
    ['5xx', String(stats.fiveXX)],
    ['mismatches', String(stats.mismatches)],
    ['request errors (no answer)', String(stats.errors) + (stats.errors ? ' ' + JSON.stringify(stats.errorCodes) : '')],
    ['connection retries', String(stats.retries) + (stats.retries ? ' ' + JSON.stringify(stats.retryCodes) : '')],
    ['worker RSS start / end / peak', `${mb(rssStart)} / ${mb(rssEnd)} / ${mb(rssPeak)}`],
    ['master RSS start / end', `${mb(masterStart)} / ${mb(masterEnd)}`],
    ['client connections accepted', statusBefore && statusAfter ? String(statusAfter.accepted - statusBefore.accepted - 1) : '?'],
    ['error.log', `${log.crashes} exited on signal, ${log.emerg + log.alert + log.crit} emerg/alert/crit, ${log.error} error, ${log.warn} warn, ${log.jsExceptions} js exceptions`],
    ['upstream error.log', `${upstreamLog.crashes} exited on signal, ${upstreamLog.emerg + upstreamLog.alert + upstreamLog.crit + upstreamLog.error} error or above`],
  ];
  if (reloadMode) {
    rows.push(['reloads done', String(reloadResults.length) + ' of ' + options.reloads]);
    rows.push(['reload failures (valid before and after, not 200)', String(stats.reloadFailures)]);
    rows.push(['transitional (validity changed in flight)', String(stats.transitional)]);
  }
  console.log('');
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [name, value] of rows) console.log(name.padEnd(width) + '  ' + value);
  if (reloadMode) {
    console.log('');
    for (const r of reloadResults) {
      const per = stats.perReload[r.generation] || { spanning: 0, failures: 0, retries: 0 };
      console.log(
        `reload ${String(r.generation).padStart(2)}: ${(r.step.type + ' ' + r.step.subject).padEnd(38)} settled ${String(r.settledMs).padStart(4)} ms, ` +
          `${per.spanning} in flight, ${per.failures} failed, ${per.retries} retried; after: ${r.probes.join(', ')}`,
      );
    }
  }
  if (stats.samples.length) {
    console.log('\nfirst failures:');
    for (const f of stats.samples) console.log(`  ${f.kind} ${f.path} (phase ${f.phases}): got ${f.status}, expected ${f.expected}${f.body ? ' body ' + JSON.stringify(f.body) : ''}`);
  }
  if (log.samples.length) console.log('\nerror.log lines:\n  ' + log.samples.join('\n  '));

  if (stats.requests === 0) failures.push('no requests were answered');
  if (stats.fiveXX) failures.push(stats.fiveXX + ' responses were 5xx');
  if (stats.mismatches) failures.push(stats.mismatches + ' mismatches');
  if (stats.errors) failures.push(stats.errors + ' requests got no answer');
  if (longestStall > 2000) failures.push('this client was frozen for ' + (longestStall / 1000).toFixed(1) + ' s (a starved machine): timeouts may not be the gateway\'s; run again');
  // Without reloads nothing should close a kept-alive connection under a request.
  if (!reloadMode && stats.retries) failures.push(stats.retries + ' connection errors without a reload');
  if (log.crashes) failures.push(log.crashes + ' workers exited on a signal');
  if (log.emerg + log.alert + log.crit + log.error) failures.push('error.log has ' + (log.emerg + log.alert + log.crit + log.error) + ' lines at error level or above');
  if (log.jsExceptions) failures.push(log.jsExceptions + ' js exceptions in error.log');
  if (upstreamLog.crashes + upstreamLog.emerg + upstreamLog.alert + upstreamLog.crit + upstreamLog.error) failures.push('the upstream nginx logged errors: ' + upstreamLog.samples.join(' | '));
  if (!masterAlive) failures.push('the nginx master is gone');
  if (reloadMode && reloadResults.length !== options.reloads) failures.push('only ' + reloadResults.length + ' of ' + options.reloads + ' reloads ran');
  for (const r of reloadResults) for (const problem of r.problems) failures.push('reload ' + r.generation + ': ' + problem);
  console.log('\n' + label + ': ' + (failures.length ? 'FAILED\n  ' + failures.join('\n  ') : 'passed'));
  if (failures.length) process.exitCode = 1;
}

main()
  .catch((e) => {
    if (interrupted) return;
    console.error('soak failed: ' + (e instanceof Error ? e.stack || e.message : String(e)));
    process.exitCode = 1;
  })
  .finally(async () => {
    await shutdown();
  });

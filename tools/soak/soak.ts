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
import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseCommandLine } from '../../cli/args';
import { runTool, signals } from '../run';
import { authLocation } from '../../test/support/gateway';
import { tampered, withPayload } from '../../test/support/mutations';
import { b64u, b64uJson, mintJwt, SigningKey, signRaw } from '../../test/support/tokens';
import { configHead, isAlive, Nginx, startNginx, workerProcesses } from '../../test/support/nginx';
import { toolHttp } from '../config';
import { Clock, drive, emptyStats, Expected, Kind, request, send, Target, TrafficStats } from './traffic';

const USAGE = `usage: npm run soak -- [--duration S] [--concurrency C] [--reload [--reloads N]]
  --duration S     seconds of traffic (default 60)
  --concurrency C  requests in flight, over keep-alive connections (default 16)
  --reload         reload nginx under load, replacing the consumer map and JWK Set
  --reloads N      number of reloads (default 10; implies --reload)`;

const SUB_HEADER = ['proxy_set_header X-Jwt-Sub $jwt_claim_sub;'];
const CONFIG =
  toolHttp('soak', { errorLogLevel: '${LOG_LEVEL}', keepalive: 32 }) +
  `
    server {
        listen 127.0.0.1:\${PORT};

${authLocation('= /consumers', ['set $auth_jwt_consumers soak_consumers;'], SUB_HEADER, 'soak_upstream')}
${authLocation('= /jwks', ['set $auth_jwt_key_file soak_jwks;'], SUB_HEADER, 'soak_upstream')}

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
  jwk: object;
}

type Claims = { [name: string]: unknown };

/** A fresh private key for `alg` (node:crypto; RSA 2048, P-256). */
function keyPair(alg: Alg): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function credential(username: string, alg: Alg): Credential {
  const key = username + '-key';
  const id = 'cred-' + username;
  if (alg === 'HS256') {
    const secret = randomBytes(32).toString('hex');
    return { username, key, alg, signingKey: secret, entry: { id, key, algorithm: alg, secret } };
  }
  const pair = keyPair(alg);
  return {
    username,
    key,
    alg,
    signingKey: pair.privateKey,
    entry: { id, key, algorithm: alg, public_key: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  };
}

function jwkEntry(kid: string, alg: Alg): JwkEntry {
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    return { kid, alg, signingKey: secret, jwk: { kty: 'oct', kid, alg, use: 'sig', k: b64u(secret) } };
  }
  const pair = keyPair(alg);
  return { kid, alg, signingKey: pair.privateKey, jwk: { ...(pair.publicKey.export({ format: 'jwk' }) as object), kid, alg, use: 'sig' } };
}

const NOW = () => Math.floor(Date.now() / 1000);

/** A token that stays valid for the whole run (payload `key` names the credential). */
function consumerToken(c: Credential, claims: Claims = {}): string {
  return mintJwt(c.alg, c.signingKey, { key: c.key, sub: c.username, iat: NOW(), exp: NOW() + 7200, ...claims });
}

function jwkToken(k: JwkEntry, claims: Claims = {}, signingKey: SigningKey = k.signingKey): string {
  return mintJwt(k.alg, signingKey, { sub: 'svc-' + k.kid, iat: NOW(), exp: NOW() + 7200, ...claims }, { kid: k.kid });
}

/** A token of `alg` with no typ (the wrong-key kinds). */
function bareToken(alg: Alg, key: SigningKey, claims: Claims, header: Claims = {}): string {
  return signRaw(alg, key, { alg, ...header }, claims);
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

/** The run's keys, fresh each time: the stable credentials and keys, those the reloads add and remove, an attacker's. */
interface Material {
  /** HS256, RS256, ES256 and PS256 consumers. */
  stable: Credential[];
  guests: Credential[];
  /** HS256, RS256 and ES256 keys of the JWK Set. */
  stableKeys: JwkEntry[];
  rotating: JwkEntry[];
  other: { rsa: KeyObject; ec: KeyObject; secret: string };
}

type Headers = { [name: string]: string };

function bearer(token: string): Headers {
  return { Authorization: 'Bearer ' + token };
}

/** Requests to one location; the cached auth_request style (/cached) passes no claim headers (sub= stays empty). */
const on =
  (route: string) =>
  (headers: Headers, query = ''): Target => ({ path: route + query, headers });
const onConsumers = on('/consumers');
const onJwks = on('/jwks');
const onCached = on('/cached');
const always = (status: Expected) => () => status;

/** Configuration generation g, clamped to the plan. */
function stateAt(p: Plan, g: number): State {
  return p.states[Math.max(0, Math.min(p.states.length - 1, g))];
}

function material(p: Plan): Material {
  const algs: Alg[] = ['HS256', 'RS256', 'ES256', 'PS256'];
  return {
    stable: algs.map((alg) => credential(alg.toLowerCase().slice(0, 2) + alg.slice(2), alg)),
    guests: Array.from({ length: p.guestCount }, (_, i) => credential(guestName(i), GUEST_ALGS[i % GUEST_ALGS.length])),
    stableKeys: [jwkEntry('stable-hs', 'HS256'), jwkEntry('stable-rs', 'RS256'), jwkEntry('stable-es', 'ES256')],
    rotating: Array.from({ length: p.kidCount }, (_, i) => jwkEntry(kidName(i), KID_ALGS[i % KID_ALGS.length])),
    other: { rsa: keyPair('RS256').privateKey, ec: keyPair('ES256').privateKey, secret: randomBytes(32).toString('hex') },
  };
}

/** A consumer's token through the consumer map and the cached style, valid while `expect` says 200. */
function consumerKinds(c: Credential, label: string, expect: (g: number) => Expected): Kind[] {
  const token = consumerToken(c);
  return [
    { name: label, group: 'valid', variants: [onConsumers(bearer(token))], expect, body: `ok consumer=${c.username} sub=${c.username}\n` },
    { name: label + ', cached', group: 'valid', variants: [onCached(bearer(token))], expect, body: `ok consumer=${c.username} sub=\n` },
  ];
}

function jwkKind(k: JwkEntry, expect: (g: number) => Expected): Kind {
  return { name: k.alg + ' JWK kid ' + k.kid, group: 'valid', variants: [onJwks(bearer(jwkToken(k)))], expect, body: `ok consumer= sub=svc-${k.kid}\n` };
}

/** Valid tokens: each algorithm through the consumer map and the JWK Set, and those whose validity changes with the reloads. */
function validKinds(m: Material, p: Plan): Kind[] {
  return [
    ...m.stable.flatMap((c) => consumerKinds(c, c.alg + ' consumer', always(200))),
    ...m.stableKeys.map((k) => jwkKind(k, always(200))),
    // The soak has only rot-0, always valid.
    ...m.guests.flatMap((c, i) => consumerKinds(c, c.alg + ' consumer ' + c.username, (g) => (stateAt(p, g).guests.indexOf(i) >= 0 ? 200 : 401))),
    ...m.rotating.map((k, i) => jwkKind(k, (g) => (stateAt(p, g).kids.indexOf(i) >= 0 ? 200 : 401))),
  ];
}

function expiredKind(m: Material): Kind {
  const [hs, rs, es] = m.stable;
  const expired = { iat: NOW() - 7200, exp: NOW() - 3600 };
  return {
    name: 'exp passed / nbf ahead',
    group: 'expired',
    variants: [
      onConsumers(bearer(consumerToken(hs, expired))),
      onConsumers(bearer(consumerToken(rs, expired))),
      onJwks(bearer(jwkToken(m.stableKeys[2], expired))),
      onConsumers(bearer(consumerToken(es, { nbf: NOW() + 3600 }))),
    ],
    expect: always(401),
  };
}

function tamperedKind(m: Material): Kind {
  const [hs, rs, es, ps] = m.stable;
  const [khs, krs] = m.stableKeys;
  const admin = { sub: 'admin', exp: NOW() + 7200 };
  return {
    name: 'signature or payload changed',
    group: 'tampered',
    variants: [
      onConsumers(bearer(withPayload(consumerToken(rs), { key: rs.key, ...admin }))),
      onConsumers(bearer(tampered(consumerToken(es)))),
      onConsumers(bearer(tampered(consumerToken(ps)))),
      onConsumers(bearer(tampered(consumerToken(hs)))),
      onJwks(bearer(tampered(jwkToken(khs)))),
      onJwks(bearer(withPayload(jwkToken(krs), admin))),
      onCached(bearer(withPayload(consumerToken(hs), { key: hs.key, ...admin }))),
      onCached(bearer(tampered(consumerToken(rs)))),
    ],
    expect: always(401),
  };
}

function malformedKind(m: Material): Kind {
  const good = consumerToken(m.stable[0]);
  const [, goodPayload, goodSignature] = good.split('.');
  return {
    name: 'not a JWT',
    group: 'malformed',
    variants: [
      onConsumers(bearer('not-a-jwt')),
      onConsumers(bearer('a.b')),
      onJwks(bearer(good + '.extra')),
      onConsumers(bearer(b64u('hello') + '.' + goodPayload + '.' + goodSignature)),
      onConsumers(bearer(b64uJson({ alg: 'none', typ: 'JWT' }) + '.' + goodPayload + '.')),
      onConsumers(bearer(b64u('{"alg":"HS256","alg":"none"}') + '.' + goodPayload + '.' + goodSignature)),
      onJwks(bearer(b64uJson({ alg: 'ES256', kid: 'stable-es' }) + '.' + b64uJson([1, 2]) + '.' + 'AAAA')),
      onConsumers(bearer(good + '==')),
      onConsumers({ Authorization: 'Bearer ' }),
      onConsumers({}, '?jwt=%00%ff.%2e.x'),
      onJwks({ Cookie: 'jwt=..' }),
      onConsumers(bearer('A'.repeat(6000))),
    ],
    expect: always(401),
  };
}

function wrongKeyKind(m: Material): Kind {
  const [hs, rs, es] = m.stable;
  const { other } = m;
  const exp = NOW() + 7200;
  return {
    name: 'other key, unknown kid, alg confusion',
    group: 'wrong-key',
    variants: [
      onConsumers(bearer(bareToken('HS256', other.secret, { key: hs.key, sub: 'hs', exp }))),
      onConsumers(bearer(bareToken('RS256', other.rsa, { key: rs.key, sub: 'rs', exp }))),
      onConsumers(bearer(bareToken('ES256', other.ec, { key: es.key, sub: 'es', exp }))),
      onCached(bearer(bareToken('ES256', other.ec, { key: es.key, sub: 'es', exp }))),
      // RS256 public key used as an HMAC secret.
      onConsumers(bearer(bareToken('HS256', (rs.entry as { public_key: string }).public_key, { key: rs.key, sub: 'rs', exp }))),
      onJwks(bearer(jwkToken(m.stableKeys[2], {}, other.ec))),
      onJwks(bearer(bareToken('RS256', other.rsa, { sub: 'x', exp }, { kid: 'no-such-kid' }))),
      onJwks(bearer(bareToken('RS256', other.rsa, { sub: 'x', exp }))),
    ],
    expect: always(401),
  };
}

function setup(p: Plan): Setup {
  const m = material(p);
  const kinds: Kind[] = [
    ...validKinds(m, p),
    expiredKind(m),
    tamperedKind(m),
    { name: 'no token', group: 'missing', variants: [onConsumers({}), onJwks({}), onCached({})], expect: always(401) },
    malformedKind(m),
    wrongKeyKind(m),
  ];
  const files = (g: number) => {
    const state = stateAt(p, g);
    const consumers = m.stable.concat(state.guests.map((i) => m.guests[i])).map((c) => ({ username: c.username, credentials: [c.entry] }));
    const keys = m.stableKeys.concat(state.kids.map((i) => m.rotating[i])).map((k) => k.jwk);
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
  if (!(await nginx.reload(s.files(generation))))
    result.problems.push('nginx started no new worker within 3 s (is the new configuration valid? see error.log)');
  const deadline = Date.now() + 10000;
  while (old.some(isAlive) && Date.now() < deadline) await sleep(5);
  const fresh = workerProcesses(master).filter((w) => old.indexOf(w.pid) < 0);
  if (old.some(isAlive)) result.problems.push('old worker(s) ' + old.filter(isAlive).join(', ') + ' still running 10 s after the reload');
  if (fresh.length !== 1)
    result.problems.push('expected 1 new worker after the reload, found ' + fresh.length + ' (is the new configuration valid? see error.log)');
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
      if (!ok)
        result.problems.push('after reload ' + generation + ' (' + step.type + ' ' + step.subject + '): ' + kind.name + ' got ' + got + ', expected ' + after);
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
  const rows = kinds.map((k) => [
    k.group,
    k.name,
    expectation(k),
    String(stats.byKind[k.name].requests),
    histogram(stats.byKind[k.name].statuses),
    String(stats.byKind[k.name].mismatches),
  ]);
  const header = ['kind', 'tokens', 'expect', 'requests', 'statuses', 'mismatches'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 3 || i === 5 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  // The same per traffic kind.
  const groups: { [group: string]: { [status: string]: number } } = {};
  for (const k of kinds) {
    const g = (groups[k.group] = groups[k.group] || {});
    for (const s of Object.keys(stats.byKind[k.name].statuses)) g[s] = (g[s] || 0) + stats.byKind[k.name].statuses[s];
  }
  console.log(
    '\nper traffic kind: ' +
      Object.keys(groups)
        .map((g) => g + ' ' + histogram(groups[g]))
        .join(' | '),
  );
}

// ---------------------------------------------------------------- main

let nginx: Nginx | null = null;
let upstream: Nginx | null = null;
let stopping: Promise<void> | null = null;

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

/** Every token once on its own connection: a broken setup fails here, fast. False (and the first failures printed) when one fails. */
async function preflight(s: Setup, port: number, clock: Clock, label: string): Promise<boolean> {
  const stats = emptyStats(s.kinds);
  for (const kind of s.kinds) {
    for (const target of kind.variants) await request({ port, kinds: s.kinds, concurrency: 1, clock, done: () => false }, stats, false, kind, target);
  }
  if (!stats.mismatches && !stats.errors) return true;
  console.error(label + ': the first request of each token already fails:');
  for (const f of stats.samples) console.error('  ' + f.kind + ' ' + f.path + ': got ' + f.status + ', expected ' + f.expected + ' ' + JSON.stringify(f.body));
  return false;
}

/** The worker's RSS peak, a progress line every few seconds, and the longest time this process was frozen. */
interface Sampler {
  rssStart: number;
  rssPeak: number;
  longestStall: number;
  stop(): void;
}

function startSampler(master: number, stats: TrafficStats, started: number, duration: number): Sampler {
  const progressEvery = Math.max(5, Math.round(duration / 6)) * 1000;
  let lastProgress = started;
  let lastRequests = 0;
  // The sampler also notices when this process itself was frozen (a starved
  // machine): requests timing out then say nothing about the gateway.
  let lastTick = started;
  const rssStart = workerRss(master);
  const sampler: Sampler = { rssStart, rssPeak: rssStart, longestStall: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    sampler.longestStall = Math.max(sampler.longestStall, Date.now() - lastTick - 250);
    lastTick = Date.now();
    const rss = workerRss(master);
    sampler.rssPeak = Math.max(sampler.rssPeak, rss);
    const now = Date.now();
    if (now - lastProgress >= progressEvery - 500) {
      const rate = ((stats.requests - lastRequests) * 1000) / (now - lastProgress);
      process.stderr.write(
        `  ${Math.round((now - started) / 1000)} s: ${stats.requests} requests, ${Math.round(rate)} req/s, worker RSS ${mb(rss)}, mismatches ${stats.mismatches}\n`,
      );
      lastProgress = now;
      lastRequests = stats.requests;
    }
  }, 250);
  return sampler;
}

/** The reloads, spread evenly over the run. */
async function runReloads(nginx: Nginx, s: Setup, p: Plan, options: Options, started: number, clock: Clock, sampler: Sampler): Promise<ReloadResult[]> {
  const results: ReloadResult[] = [];
  const interval = (options.duration * 1000) / (options.reloads + 1);
  for (let g = 1; g <= options.reloads; g++) {
    await sleep(started + g * interval - Date.now());
    if (signals.interrupted) break;
    const r = await reloadTo(nginx, nginx.masterPid, s, p, g, clock);
    sampler.rssPeak = Math.max(sampler.rssPeak, workerRss(nginx.masterPid));
    process.stderr.write(
      `  reload ${g}: ${r.step.type} ${r.step.subject}: settled in ${r.settledMs} ms${r.problems.length ? ': ' + r.problems.join('; ') : ''}\n`,
    );
    results.push(r);
  }
  return results;
}

/** What the run measured, for the report and the verdict. */
interface RunResult {
  stats: TrafficStats;
  elapsed: number;
  reloads: ReloadResult[];
  rss: { start: number; end: number; peak: number };
  masterRss: { start: number; end: number };
  accepted: string;
  masterAlive: boolean;
  log: LogCounts;
  upstreamLog: LogCounts;
  longestStall: number;
}

/** Drives the traffic for the run's duration (and the reloads beside it), then reads RSS, stub_status and both error logs. */
async function run(nginx: Nginx, upstream: Nginx, s: Setup, p: Plan, options: Options, clock: Clock): Promise<RunResult> {
  const master = nginx.masterPid;
  const masterStart = rssKb(master);
  const statusBefore = await stubStatus(nginx);
  const stats = emptyStats(s.kinds);
  const started = Date.now();
  const deadline = started + options.duration * 1000;
  const sampler = startSampler(master, stats, started, options.duration);
  const reloads = runReloads(nginx, s, p, options, started, clock, sampler);
  try {
    await drive(
      { port: nginx.ports.PORT, kinds: s.kinds, concurrency: options.concurrency, clock, done: () => Date.now() >= deadline || signals.interrupted },
      stats,
    );
  } finally {
    sampler.stop();
  }
  const elapsed = (Date.now() - started) / 1000;
  const reloadResults = await reloads;
  const rssEnd = workerRss(master);
  const statusAfter = await stubStatus(nginx);
  return {
    stats,
    elapsed,
    reloads: reloadResults,
    rss: { start: sampler.rssStart, end: rssEnd, peak: Math.max(sampler.rssPeak, rssEnd) },
    masterRss: { start: masterStart, end: rssKb(master) },
    accepted: statusBefore && statusAfter ? String(statusAfter.accepted - statusBefore.accepted - 1) : '?',
    masterAlive: isAlive(master),
    log: scanErrorLog(nginx.errorLog()),
    upstreamLog: scanErrorLog(upstream.errorLog()),
    longestStall: sampler.longestStall,
  };
}

function errorLines(log: LogCounts): number {
  return log.emerg + log.alert + log.crit + log.error;
}

function printSummary(r: RunResult, options: Options): void {
  const { stats, log, upstreamLog } = r;
  const rows: [string, string][] = [
    ['requests', String(stats.requests)],
    ['req/s', String(Math.round(stats.requests / r.elapsed))],
    [
      'latency p50 / p99 / max',
      `${stats.latency.quantile(0.5).toFixed(2)} / ${stats.latency.quantile(0.99).toFixed(2)} / ${stats.latency.maximum().toFixed(1)} ms`,
    ],
    ['5xx', String(stats.fiveXX)],
    ['mismatches', String(stats.mismatches)],
    ['request errors (no answer)', String(stats.errors) + (stats.errors ? ' ' + JSON.stringify(stats.errorCodes) : '')],
    ['connection retries', String(stats.retries) + (stats.retries ? ' ' + JSON.stringify(stats.retryCodes) : '')],
    ['worker RSS start / end / peak', `${mb(r.rss.start)} / ${mb(r.rss.end)} / ${mb(r.rss.peak)}`],
    ['master RSS start / end', `${mb(r.masterRss.start)} / ${mb(r.masterRss.end)}`],
    ['client connections accepted', r.accepted],
    [
      'error.log',
      `${log.crashes} exited on signal, ${log.emerg + log.alert + log.crit} emerg/alert/crit, ${log.error} error, ${log.warn} warn, ${log.jsExceptions} js exceptions`,
    ],
    ['upstream error.log', `${upstreamLog.crashes} exited on signal, ${errorLines(upstreamLog)} error or above`],
  ];
  if (options.reloads > 0) {
    rows.push(['reloads done', String(r.reloads.length) + ' of ' + options.reloads]);
    rows.push(['reload failures (valid before and after, not 200)', String(stats.reloadFailures)]);
    rows.push(['transitional (validity changed in flight)', String(stats.transitional)]);
  }
  console.log('');
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [name, value] of rows) console.log(name.padEnd(width) + '  ' + value);
}

function printDetails(r: RunResult): void {
  if (r.reloads.length) console.log('');
  for (const reload of r.reloads) {
    const per = r.stats.perReload[reload.generation] || { spanning: 0, failures: 0, retries: 0 };
    console.log(
      `reload ${String(reload.generation).padStart(2)}: ${(reload.step.type + ' ' + reload.step.subject).padEnd(38)} settled ${String(reload.settledMs).padStart(4)} ms, ` +
        `${per.spanning} in flight, ${per.failures} failed, ${per.retries} retried; after: ${reload.probes.join(', ')}`,
    );
  }
  if (r.stats.samples.length) {
    console.log('\nfirst failures:');
    for (const f of r.stats.samples)
      console.log(`  ${f.kind} ${f.path} (phase ${f.phases}): got ${f.status}, expected ${f.expected}${f.body ? ' body ' + JSON.stringify(f.body) : ''}`);
  }
  if (r.log.samples.length) console.log('\nerror.log lines:\n  ' + r.log.samples.join('\n  '));
}

/** What makes the run fail. */
function failuresOf(r: RunResult, options: Options): string[] {
  const { stats, log, upstreamLog } = r;
  const failures: string[] = [];
  if (stats.requests === 0) failures.push('no requests were answered');
  if (stats.fiveXX) failures.push(stats.fiveXX + ' responses were 5xx');
  if (stats.mismatches) failures.push(stats.mismatches + ' mismatches');
  if (stats.errors) failures.push(stats.errors + ' requests got no answer');
  if (r.longestStall > 2000)
    failures.push('this client was frozen for ' + (r.longestStall / 1000).toFixed(1) + " s (a starved machine): timeouts may not be the gateway's; run again");
  // Without reloads nothing should close a kept-alive connection under a request.
  if (options.reloads === 0 && stats.retries) failures.push(stats.retries + ' connection errors without a reload');
  if (log.crashes) failures.push(log.crashes + ' workers exited on a signal');
  if (errorLines(log)) failures.push('error.log has ' + errorLines(log) + ' lines at error level or above');
  if (log.jsExceptions) failures.push(log.jsExceptions + ' js exceptions in error.log');
  if (upstreamLog.crashes + errorLines(upstreamLog)) failures.push('the upstream nginx logged errors: ' + upstreamLog.samples.join(' | '));
  if (!r.masterAlive) failures.push('the nginx master is gone');
  if (options.reloads > 0 && r.reloads.length !== options.reloads) failures.push('only ' + r.reloads.length + ' of ' + options.reloads + ' reloads ran');
  for (const reload of r.reloads) for (const problem of reload.problems) failures.push('reload ' + reload.generation + ': ' + problem);
  return failures;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const reloadMode = options.reloads > 0;
  const label = reloadMode ? 'reload' : 'soak';
  const p = plan(options.reloads);
  const s = setup(p);
  upstream = await startNginx({ config: UPSTREAM_CONFIG, ports: ['PORT'] });
  nginx = await startNginx({
    config: CONFIG,
    ports: ['PORT'],
    // The runner's reload() waits for the "start worker process" notice.
    variables: { LOG_LEVEL: reloadMode ? 'notice' : 'warn', UPSTREAM_PORT: String(upstream.ports.PORT) },
    files: s.files(0),
  });
  const clock: Clock = { phase: 0 };
  if (!(await preflight(s, nginx.ports.PORT, clock, label))) {
    process.exitCode = 1;
    return;
  }
  const variantCount = s.kinds.reduce((n, k) => n + k.variants.length, 0);
  process.stderr.write(
    `${label}: ${options.duration} s, ${options.concurrency} in flight, nginx 1 worker (pid ${workerProcesses(nginx.masterPid)
      .map((w) => w.pid)
      .join(',')}), ` +
      `${s.kinds.length} token rows, ${variantCount} distinct requests` +
      (reloadMode ? `, ${options.reloads} reloads every ${(options.duration / (options.reloads + 1)).toFixed(1)} s` : '') +
      '\n',
  );
  const result = await run(nginx, upstream, s, p, options, clock);
  console.log(
    `\n${label}: ${options.duration} s of mixed traffic, ${options.concurrency} in flight, 1 nginx worker` +
      (reloadMode ? `, ${options.reloads} reloads` : '') +
      '\n',
  );
  printKinds(s.kinds, result.stats, p.states.length);
  printSummary(result, options);
  printDetails(result);
  const failures = failuresOf(result, options);
  console.log('\n' + label + ': ' + (failures.length ? 'FAILED\n  ' + failures.join('\n  ') : 'passed'));
  if (failures.length) process.exitCode = 1;
}

runTool('soak', main, shutdown, { stack: true });

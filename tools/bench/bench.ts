/**
 * `npm run bench [-- --quick | --duration N] [--engines LIST]`: the gateway's
 * throughput and added latency next to a plain proxy, measured with wrk over
 * loopback against one nginx (1 worker) and a tiny keepalive upstream.
 *
 * Engines (test/support/engines.mjs): every case runs on each engine of
 * --engines in turn (default: the installed one and, when
 * test/support/fetch-engines.sh has fetched it, sid-qjs, njs 1.0 QuickJS);
 * an engine that is not there is reported and skipped. Each row names its
 * engine (`engine`: id, nginx and njs versions, classic or QuickJS) and its
 * ratio is to the plain proxy of the same engine in the same run.
 *
 * Cases (config nginx/bench/nginx.conf, scale cases nginx/bench/scale.conf):
 * - plain proxy_pass, measured first and last; its row is the mean of both,
 *   so drift of a noisy machine shows and is halved in the ratios;
 * - "hand-written njs floor" (nginx/bench/floor.js): a minimal js_set HS256
 *   check with a fixed secret, the least JavaScript a check can be, so the
 *   direct style's gap to it shows in every run (issue 14);
 * - each integration style of the README with HS256, RS256, PS256 and ES256:
 *   "direct" (jwt-auth.conf + jwt-proxy-headers.conf, rewrite phase),
 *   "auth_request" (jwt-auth-request.conf + jwt-auth-request-locations.conf)
 *   and "cached" (jwt-auth-request.conf + jwt-auth-cache-locations.conf,
 *   proxy_cache in front of the verifier server, its own server block);
 * - token "repeated" (one token on every request) and "fresh". Fresh tokens
 *   are measured in the direct style only: in the cached style a fresh token
 *   is a cache miss, i.e. an auth_request verification plus a cache write,
 *   and a repeated one is a cache hit, which is what that row measures. Fresh
 *   tokens come from a pool minted with node:crypto (never with the code
 *   under test; one token per algorithm is checked with jose first), sized
 *   from the repeated-token rate so that no token repeats within a wrk run.
 *   RSA signing costs ~1 ms per token in Node, so RS256/PS256 pools are
 *   capped by a minting time budget and may wrap; the row's `token_pool`
 *   says how many distinct tokens were used. A wrap does not flatter the
 *   direct style: the classic njs engine keeps nothing between requests, so
 *   a token seen before costs exactly what a new one costs.
 * - on engines with ngx.shared (njs >= 0.8), "direct, shared cache": the
 *   direct style with $auth_jwt_cache_zone (a js_shared_dict_zone), reused
 *   token, HS256/RS256/ES256; its preflight also requires $jwt_cache_status
 *   (sent back as X-Bench-Cache) to be "hit" on a repeated request;
 * - scale, direct style, HS256, a token of the LAST entry of the file:
 *   consumer map with 1 vs 100,000 consumers, JWK Set with 1 vs 1,000 `oct`
 *   (HS256) keys looked up by `kid`. nginx is started once with one entry
 *   in both files and once per large file, which gives each row its start
 *   time (spawn until the first case answers 200 with its token), reload
 *   time (SIGHUP until a new worker answers that request) and worker VmRSS
 *   (after its runs). The files are the ones `jwt-gateway index` writes:
 *   the consumer map is named by path and read by position (its layout) on
 *   every engine, the JWK Set preloaded (by path on QuickJS). Each
 *   start is time-boxed: a phase that has not finished in time is stopped
 *   and its cases are rows with `skipped` saying what was measured.
 *
 * Per case: a warm-up run, a saturation run (wrk -t1 -c16) that gives
 * req/s and `ratio` (to the plain proxy), then the added latency at half
 * the peak rate: wrk has no fixed-rate mode (wrk2 is not installed), so the
 * run is a closed loop paced with wrk's delay() hook (whole ms between an
 * answer and the connection's next request). Connections and delay are
 * calibrated by short probes until the achieved rate is within 15% of half
 * the peak; the row records that rate (`latency_rps`) and its p50/p99
 * (`p50_ms`, `p99_ms`); the saturation latency is kept as `p50_ms_peak`,
 * `p99_ms_peak`. wrk times each request from its write to its answer; at half
 * load queueing is rare, but unlike wrk2 there is no correction for
 * coordinated omission, so p99 may be a little optimistic.
 *
 * Before measuring, every case must answer 200 with its token and 401
 * without it and with a tampered one. Results are written only when no run
 * had non-2xx answers, socket errors, broken keepalive (stub_status counts
 * connections) or nginx errors: rows to tools/bench/results/latest.json, the chart
 * to latest.svg, machine and versions to latest-meta.json (--quick: quick.*).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { parseCommandLine, usageError } from '../../cli/args';
import { runTool } from '../run';
import { tampered } from '../../test/support/mutations';
import { mintJwt, SigningKey } from '../../test/support/tokens';
import { benchRow, BenchRow, CaseInfo, EngineInfo, engineLabel, formatTable, Measurement, meanMeasurement } from './bench-results';
import { ratioChart, round, rowProblems, withTargets } from './bench-results';
import { bootIdFile, cachedStyleHttp, Nginx, ROOT, startNginx, workerProcesses } from '../../test/support/nginx';
import { describeEngine, ENGINE_IDS, ENGINE_VARIABLE } from '../../test/support/engines.mjs';
import { indexedText } from '../../cli/index';
import { instructions } from './instructions';
import { adjustPacing, initialPacing, parseWrk, WrkResult, wrkArgs, wrkScript } from './wrk';

const USAGE = `usage: npm run bench [-- --quick | --duration N | --instructions [--cases PATTERN]] [--engines LIST]
  --quick         1 s per run, no warm-up: a smoke run of a few minutes per engine, written to tools/bench/results/quick.*
  --duration N    N seconds per measured run (default 10; warm-up 2 s)
  --instructions  instead of wrk: instructions a request under callgrind (valgrind), which repeat where req/s do not;
                  --cases PATTERN runs the cases whose name matches the regular expression
  --engines LIST  comma-separated engines of test/support/engines.mjs (${ENGINE_IDS.join(', ')}; default: system and,
                  when fetched, sid-qjs); an engine that is not there is reported and skipped
  wrk runs 1 thread, 16 connections at saturation; nginx runs 1 worker.`;
const DEFAULT_ENGINES = ['system', 'sid-qjs'];
const CONNECTIONS = 16;
const TIMEOUT_S = 5;
const BIG_CONSUMERS = 100000;
const BIG_KEYS = 1000;
/** A saturation run with fewer requests is not paced at half its rate (see measure()). */
const MIN_PACED_REQUESTS = 20;
const RESULTS_DIR = path.join(ROOT, 'tools', 'bench', 'results');
type Alg = 'HS256' | 'RS256' | 'PS256' | 'ES256';
const ALGS: Alg[] = ['HS256', 'RS256', 'PS256', 'ES256'];

interface Options {
  quick: boolean;
  duration: number;
  warmup: number;
  /** Length of each pacing probe of the latency run. */
  probe: number;
  /** Milliseconds of signing allowed per fresh-token pool. */
  mintBudgetMs: number;
  engines: string[];
  /** Seconds a scale phase (start, its cases, reload) may take before it is stopped and reported. */
  phaseLimitS: number;
  /** --instructions: callgrind's counts instead of wrk's rates (instructions.ts), for the cases matching `cases`. */
  instructions: boolean;
  cases?: RegExp;
}

/** One credential and its signing key (tokens from test/support/tokens.ts, independent of the gateway's code). */
interface Signer {
  alg: Alg;
  /** The `key` claim (consumer map) or the `kid` header (JWK Set). */
  key: string;
  viaKid?: boolean;
  signingKey: SigningKey;
  /** What jose verifies with, to check the minting. */
  verifyKey: KeyObject | Uint8Array;
}

interface BenchCase extends CaseInfo {
  style: 'plain' | 'floor' | 'direct' | 'auth_request' | 'cached';
  alg: Alg | '-';
  token: 'repeated' | 'fresh' | '-';
  nginx: Nginx;
  path: string;
  portName?: string;
  /** The time box the case runs in, if any: once expired, its runs stop. */
  box?: TimeBox;
}

/** A time-boxed part of the run: what it measured so far, for the reason when it does not finish. */
interface TimeBox {
  expired: boolean;
  progress: string[];
  /** The saturation run of the case being measured, once it has one. */
  peak?: WrkResult;
}

function fail(message: string): never {
  throw new Error(message);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine(
    argv,
    USAGE,
    {
      quick: { type: 'boolean' },
      duration: { type: 'number', min: 1, max: 300, unit: 'seconds' },
      engines: { type: 'string' },
      instructions: { type: 'boolean' },
      cases: { type: 'string' },
    },
    { help: true },
  );
  const engines = values.engines === undefined ? DEFAULT_ENGINES : values.engines.split(',').map((id) => id.trim());
  for (const id of engines) {
    if (!ENGINE_IDS.includes(id) && !/^njs-\d+\.\d+\.\d+(-qjs)?$/.test(id)) usageError(USAGE, `--engines: unknown engine ${JSON.stringify(id)}`);
  }
  if (new Set(engines).size !== engines.length) usageError(USAGE, '--engines names an engine twice');
  if (values.cases !== undefined && !values.instructions) usageError(USAGE, '--cases goes with --instructions');
  let cases: RegExp | undefined;
  try {
    cases = values.cases === undefined ? undefined : new RegExp(values.cases);
  } catch (e) {
    usageError(USAGE, '--cases: ' + (e as Error).message);
  }
  const common = { engines, instructions: values.instructions === true, cases };
  const options: Options = values.quick
    ? { quick: true, duration: 1, warmup: 0, probe: 1, mintBudgetMs: 600, phaseLimitS: 90, ...common }
    : { quick: false, duration: 10, warmup: 2, probe: 2, mintBudgetMs: 15000, phaseLimitS: 300, ...common };
  if (values.duration !== undefined) {
    options.duration = values.duration;
    options.warmup = options.duration >= 10 ? 2 : 1;
    options.probe = Math.min(2, options.duration);
  }
  return options;
}

// ---- tokens and key files --------------------------------------------------

function hmacSigner(key: string, secret: Buffer, viaKid = false): Signer {
  return { alg: 'HS256', key, viaKid, signingKey: secret, verifyKey: new Uint8Array(secret) };
}

function mint(signer: Signer, serial: number, now: number): string {
  const claims = { sub: 'bench', jti: String(serial), iat: now, exp: now + 3600 };
  return signer.viaKid
    ? mintJwt(signer.alg, signer.signingKey, claims, { kid: signer.key })
    : mintJwt(signer.alg, signer.signingKey, { key: signer.key, ...claims });
}

/** Up to `count` distinct tokens, fewer when signing takes longer than `budgetMs`. */
function mintPool(signer: Signer, count: number, budgetMs: number): string[] {
  const started = Date.now();
  const now = Math.floor(started / 1000);
  const tokens: string[] = [];
  while (tokens.length < count && (tokens.length % 64 !== 0 || Date.now() - started < budgetMs)) tokens.push(mint(signer, tokens.length + 1, now));
  return tokens;
}

async function checkMinting(signer: Signer): Promise<string> {
  const token = mint(signer, 0, Math.floor(Date.now() / 1000));
  try {
    await jwtVerify(token, signer.verifyKey, { algorithms: [signer.alg] });
  } catch (e) {
    fail(`the bench's own ${signer.alg} token does not verify with jose: ${(e as Error).message}`);
  }
  return token;
}

/** The main consumer map: one consumer per algorithm; key pairs and the secret are fresh each run. */
function mainConsumers(): { document: object; signers: { [alg: string]: Signer } } {
  const secret = randomBytes(32);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPss = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
  const signers: { [alg: string]: Signer } = {
    HS256: hmacSigner('hs-key', secret),
    RS256: { alg: 'RS256', key: 'rs-key', signingKey: rsa.privateKey, verifyKey: rsa.publicKey },
    PS256: { alg: 'PS256', key: 'ps-key', signingKey: rsaPss.privateKey, verifyKey: rsaPss.publicKey },
    ES256: { alg: 'ES256', key: 'es-key', signingKey: ec.privateKey, verifyKey: ec.publicKey },
  };
  const document = {
    consumers: [
      { username: 'hs', credentials: [{ id: 'cred-hs256', key: 'hs-key', algorithm: 'HS256', secret: secret.toString('base64'), base64_secret: true }] },
      { username: 'rs', credentials: [{ id: 'cred-rs256', key: 'rs-key', algorithm: 'RS256', public_key: pem(rsa.publicKey) }] },
      { username: 'ps', credentials: [{ id: 'cred-ps256', key: 'ps-key', algorithm: 'PS256', public_key: pem(rsaPss.publicKey) }] },
      { username: 'es', credentials: [{ id: 'cred-es256', key: 'es-key', algorithm: 'ES256', public_key: pem(ec.publicKey) }] },
    ],
  };
  return { document, signers };
}

/** The floor's fixed secret (base64): the main map's HS256 consumer's, so one token serves both. */
function floorSecret(document: object): string {
  return (document as { consumers: { credentials: { secret: string }[] }[] }).consumers[0].credentials[0].secret;
}

/** Large files as plain objects, serialized once; secrets derive from one random seed. */
function scaleFiles(consumers: number, keys: number, seed: string): { consumers: object; jwks: object; consumerSigner: Signer; keySigner: Signer } {
  const secret = (i: number) =>
    createHash('sha256')
      .update(seed + ':' + i)
      .digest();
  const list = new Array(consumers);
  for (let i = 0; i < consumers; i++) {
    list[i] = { username: 'user-' + i, credentials: [{ id: 'cred-' + i, key: 'key-' + i, secret: secret(i).toString('base64'), base64_secret: true }] };
  }
  const jwks = new Array(keys);
  for (let i = 0; i < keys; i++) jwks[i] = { kty: 'oct', kid: 'kid-' + i, alg: 'HS256', k: secret(1e9 + i).toString('base64url') };
  return {
    consumers: { consumers: list },
    jwks: { keys: jwks },
    consumerSigner: hmacSigner('key-' + (consumers - 1), secret(consumers - 1)),
    keySigner: hmacSigner('kid-' + (keys - 1), secret(1e9 + keys - 1), true),
  };
}

// ---- HTTP checks -----------------------------------------------------------

/** One GET on a new connection (so a reload's new worker is reached as soon as it listens). */
function get(url: string, token?: string, timeoutMs = 30000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: token ? { Authorization: 'Bearer ' + token } : {}, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
    });
    request.on('timeout', () => request.destroy(new Error('no answer from ' + url + ' in ' + timeoutMs + ' ms')));
    request.on('error', reject);
  });
}

function caseName(c: BenchCase): string {
  return c.engine.id + ': ' + c.case + ' ' + c.alg;
}

function caseUrl(c: BenchCase): string {
  return c.nginx.url(c.path, c.portName);
}

/**
 * The case answers 200 "ok" with its token, and (gateway cases) 401 without
 * one and with a tampered signature; a shared-cache case answers a repeated
 * request from the cache (X-Bench-Cache: hit, its $jwt_cache_status).
 * Returns the time of one request, in ms.
 */
async function verifyCase(c: BenchCase, token?: string): Promise<number> {
  const url = caseUrl(c);
  const started = process.hrtime.bigint();
  const ok = await get(url, token);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (ok.status !== 200 || ok.body !== 'ok\n') {
    fail(`${caseName(c)}: expected 200 "ok" from ${url} with its token, got ${ok.status} ${JSON.stringify(ok.body.slice(0, 200))}`);
  }
  if (!token) return ms;
  const missing = await get(url);
  if (missing.status !== 401) fail(`${caseName(c)}: expected 401 from ${url} without a token, got ${missing.status}`);
  const bad = await get(url, tampered(token));
  if (bad.status !== 401) fail(`${caseName(c)}: expected 401 from ${url} with a tampered signature, got ${bad.status}`);
  if (c.shared_cache) {
    const again = await get(url, token);
    const status = again.headers['x-bench-cache'];
    if (again.status !== 200 || status !== 'hit') {
      fail(
        `${caseName(c)}: a repeated request to ${url} was not answered from the shared cache ($jwt_cache_status ${JSON.stringify(status)}, status ${again.status})`,
      );
    }
  }
  return ms;
}

/** nginx's total of accepted connections (stub_status). */
async function acceptedConnections(nginx: Nginx): Promise<number> {
  const status = await get(nginx.url('/_bench_status'));
  const match = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(status.body);
  if (status.status !== 200 || !match) fail('cannot read /_bench_status: ' + status.status + ' ' + status.body);
  return Number(match[1]);
}

function workerRssMb(nginx: Nginx): number {
  const workers = workerProcesses(nginx.masterPid).filter((w) => !w.shuttingDown);
  if (workers.length !== 1) fail('expected one nginx worker, found ' + workers.length);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/' + workers[0].pid + '/status', 'utf8'));
  if (!match) fail('no VmRSS for worker ' + workers[0].pid);
  return Number(match[1]) / 1024;
}

/** SIGHUP, then seconds until a worker other than the one before answers, and answers `url` with `token`. */
async function reloadSeconds(nginx: Nginx, url: string, token: string, box: TimeBox): Promise<number> {
  const before = (await get(nginx.url('/_bench_pid'))).body;
  const started = Date.now();
  process.kill(nginx.masterPid, 'SIGHUP');
  while (Date.now() - started < 60000) {
    try {
      const answer = await get(nginx.url('/_bench_pid'), undefined, 5000);
      if (answer.status === 200 && answer.body !== before) {
        await firstAnswer(url, token, box);
        return (Date.now() - started) / 1000;
      }
    } catch {
      // the old worker closed the connection while shutting down: ask again
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return fail('no new worker answered within 60 s of a reload:\n' + nginx.errorLog().slice(-2000));
}

// ---- wrk -------------------------------------------------------------------

let activeWrk: ChildProcess | null = null;
let scratch = '';
let scriptSerial = 0;

function runWrk(url: string, seconds: number, connections: number, timeoutS: number, script: string): Promise<WrkResult> {
  const file = path.join(scratch, 'run-' + ++scriptSerial + '.lua');
  writeFileSync(file, script);
  const args = wrkArgs({ url, connections, seconds, timeoutSeconds: timeoutS, script: file });
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    activeWrk = child;
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (err += chunk));
    // wrk stops itself after `seconds`; this only bounds a wrk that hangs.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + timeoutS + 20) * 1000);
    child.once('error', (e) => {
      clearTimeout(timer);
      activeWrk = null;
      reject(new Error('cannot run wrk (install it: apt-get install wrk): ' + e.message));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      activeWrk = null;
      if (code !== 0) {
        reject(new Error('wrk ' + args.join(' ') + ' ended with ' + (signal || code) + '\n' + out + err));
        return;
      }
      try {
        const result = parseWrk(out);
        if (result.non2xx) fail(result.non2xx + ' responses were not 2xx/3xx: the measurement is not of successful requests');
        resolve(result);
      } catch (e) {
        reject(new Error(url + ': ' + (e as Error).message + '\nwrk output:\n' + out + err));
      }
    });
  });
}

/** Problems that make the run's numbers meaningless. */
const warnings: string[] = [];

/** A run, checked for socket errors and for keepalive (new connections counted by stub_status). */
async function checkedRun(c: BenchCase, seconds: number, connections: number, timeoutS: number, script: string): Promise<WrkResult> {
  const acceptedBefore = await acceptedConnections(c.nginx);
  if (c.box?.expired) fail(caseName(c) + ': out of time');
  const result = await runWrk(caseUrl(c), seconds, connections, timeoutS, script);
  const accepted = (await acceptedConnections(c.nginx)) - acceptedBefore;
  if (c.box?.expired) fail(caseName(c) + ': out of time');
  // With keepalive working, new connections are wrk's own plus the upstream
  // and verifier pools, renewed every 1000 requests (keepalive_requests);
  // without it, about one per request (the `Connection ""` pitfall in NJS_NOTES).
  if (accepted > 100 + connections + result.requests / 20) {
    warnings.push(`${caseName(c)}: ${accepted} connections accepted for ${result.requests} requests: keepalive is not working in ${c.path}`);
  }
  if (result.socketErrors) warnings.push(`${caseName(c)}: wrk socket errors: ${result.socketErrors}`);
  return result;
}

function poolFile(tokens: string[]): string {
  const file = path.join(scratch, 'pool-' + ++scriptSerial + '.txt');
  writeFileSync(file, tokens.join('\n') + '\n');
  return file;
}

/**
 * Warm-up, saturation, then the paced run at about half the peak rate.
 * `token` is the repeated token; `pool` the file of fresh ones.
 */
async function measure(c: BenchCase, options: Options, source: { token?: string; tokenFile?: string }, singleMs: number): Promise<Measurement> {
  // A case slower than ~60 ms a request (the scale cases without an index)
  // gets fewer connections and a longer timeout, so requests do not queue
  // for seconds behind each other and time out.
  let connections = singleMs * CONNECTIONS > 1000 ? Math.max(1, Math.floor(1000 / singleMs)) : CONNECTIONS;
  const timeoutS = Math.max(TIMEOUT_S, Math.ceil((4 * singleMs * connections) / 1000));
  process.stderr.write(`  ${caseName(c).padEnd(48)} `);
  if (options.warmup > 0) await runWrk(caseUrl(c), options.warmup, connections, timeoutS, wrkScript(source));
  c.box?.progress.push(`${caseName(c)}: one request took ${singleMs.toFixed(1)} ms`);
  let peak = await checkedRun(c, options.duration, connections, timeoutS, wrkScript(source));
  let note: string | undefined;
  if (peak.requests === 0) {
    // Seen on QuickJS with 100,000 consumers: concurrent requests each get a
    // context of their own, and each context reads the file first. One
    // connection shows the rate of a reused context; no request at all is a
    // row without figures.
    const what = `no request completed in ${options.duration} s with -c${connections} (one request alone: ${singleMs.toFixed(1)} ms)`;
    if (connections === 1) {
      process.stderr.write(what + '\n');
      return { ...partialMeasurement(), skipped: what };
    }
    note = what + '; measured with -c1';
    process.stderr.write(`0 req/s with -c${connections}, -c1: `);
    connections = 1;
    peak = await checkedRun(c, options.duration, connections, timeoutS, wrkScript(source));
    if (peak.requests === 0) {
      process.stderr.write('no request either\n');
      return { ...partialMeasurement(), skipped: what + ', nor with -c1' };
    }
  }
  if (c.box) {
    c.box.peak = peak;
    c.box.progress.push(`${caseName(c)}: ${Math.round(peak.rps)} req/s at saturation (-c${connections})`);
  }
  process.stderr.write(`${String(Math.round(peak.rps)).padStart(6)} req/s; at ~half: `);

  if (peak.requests < MIN_PACED_REQUESTS) {
    // Too slow to pace in this run length: half the rate would be a handful
    // of requests. The saturation run's latency stands in (with so few
    // connections there is little queueing); latency_delay_ms 0 marks it.
    process.stderr.write(`too slow to pace, latency from the saturation run\n`);
    return { peak, latency: peak, pacing: { connections, delayMs: 0 }, connections, note };
  }
  const target = peak.rps / 2;
  // In flight at low load: the worker's time per request (1 / peak) plus ~0.1 ms of loopback and wrk.
  let pacing = initialPacing(target, 1000 / Math.max(peak.rps, 0.001) + 0.1, connections);
  let latency: WrkResult | null = null;
  for (let attempt = 1; attempt <= 4; attempt++) {
    const probe = await checkedRun(c, options.probe, pacing.connections, timeoutS, wrkScript({ ...source, delayMs: pacing.delayMs }));
    if (Math.abs(probe.rps - target) <= 0.15 * target || attempt === 4) {
      latency = probe;
      break;
    }
    pacing = adjustPacing(pacing, target, probe.rps);
  }
  if (options.duration > options.probe) {
    latency = await checkedRun(c, options.duration, pacing.connections, timeoutS, wrkScript({ ...source, delayMs: pacing.delayMs }));
  }
  if (Math.abs(latency!.rps - target) > 0.25 * target) {
    process.stderr.write(`(missed the half rate: ${Math.round(latency!.rps)} req/s) `);
  }
  process.stderr.write(`${Math.round(latency!.rps)} req/s, p50 ${latency!.p50.toFixed(3)} ms (-c${pacing.connections}, ${pacing.delayMs} ms delay)\n`);
  return { peak, latency: latency!, pacing, connections, note };
}

// ---- output ----------------------------------------------------------------

function versionOf(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return ((result.stdout || '') + (result.stderr || '')).split('\n')[0].trim() || 'unknown';
}

function machine(): { [name: string]: string | number } {
  const cpus = os.cpus();
  let distro = '';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    kernel: os.type() + ' ' + os.release(),
    os: distro,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    nginx: versionOf('nginx', ['-v']).replace(/^nginx version:\s*(nginx\/)?/, ''),
    njs: versionOf('njs', ['-v']),
    node: process.version,
    wrk: versionOf('wrk', ['-v']).replace(/\s*Copyright.*$/, ''),
  };
}

// ---- the run ---------------------------------------------------------------

/** The error line of the fetched JWK Set's case before the refresher's first fetch, which fetchedKeys waits out. */
const KEYS_NOT_FETCHED_YET = /rejected 401 KEYS_UNAVAILABLE: keys of \S+\/_bench_idp\/jwks not fetched yet/;

const running: Nginx[] = [];
let stopping: Promise<unknown> | null = null;

async function stopNginx(nginx: Nginx): Promise<void> {
  const errors = nginx
    .errorLog()
    .split('\n')
    .filter((l) => /\[(error|crit|alert|emerg)\]/.test(l) && !KEYS_NOT_FETCHED_YET.test(l));
  if (errors.length) warnings.push(`nginx logged ${errors.length} errors, e.g.:\n    ` + errors.slice(0, 3).join('\n    '));
  running.splice(running.indexOf(nginx), 1);
  await nginx.stop();
}

function shutdown(): Promise<unknown> {
  if (!stopping) {
    if (activeWrk && activeWrk.exitCode === null) activeWrk.kill('SIGKILL');
    stopping = Promise.all(running.map((n) => n.stop())).finally(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });
  }
  return stopping;
}

interface Measured {
  c: BenchCase;
  m: Measurement;
  extra?: Partial<BenchRow>;
}

async function runCase(c: BenchCase, options: Options, source: { token?: string; tokenFile?: string; verifyToken?: string }): Promise<Measurement> {
  const singleMs = await verifyCase(c, source.verifyToken ?? source.token);
  return measure(c, options, { token: source.token, tokenFile: source.tokenFile }, singleMs);
}

const NOTHING: WrkResult = { rps: 0, p50: 0, p99: 0, requests: 0, non2xx: 0, socketErrors: '' };

/** The measurement of a case that was stopped: nothing, or its saturation run where it had one (latency_delay_ms 0 marks it). */
function partialMeasurement(peak?: WrkResult): Measurement {
  return { peak: peak ?? NOTHING, latency: peak ?? NOTHING, pacing: { connections: 0, delayMs: 0 }, connections: 0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Until `url` answers 200 with `token`, on a new connection (after a start or once a new worker listens). */
async function firstAnswer(url: string, token: string, box: TimeBox): Promise<void> {
  for (;;) {
    const answer = await get(url, token).catch(() => null);
    if (answer?.status === 200) return;
    if (box.expired) fail('out of time');
    if (answer && answer.status !== 200) fail(`${url} answered ${answer.status} to its token`);
    await sleep(5);
  }
}

/** The JWK Set of scale.conf's /jwks-remote: served by the same nginx, fetched by the refresher. */
const REMOTE_JWKS_LOCATIONS = [
  'include ${ROOT}/nginx/jwt-jwks-refresh.conf;',
  'location = /_bench_idp/jwks {',
  '    default_type application/json;',
  '    alias ${PREFIX}/jwks.json;',
  '}',
  'location = /jwks-remote {',
  '    set $auth_jwt_jwks_uri http://127.0.0.1:${PORT}/_bench_idp/jwks;',
  '    include ${ROOT}/nginx/jwt-auth.conf;',
  '    include ${ROOT}/nginx/jwt-proxy-headers.conf;',
  '    proxy_pass http://bench_upstream;',
  '}',
].join('\n        ');

/** Waits until a fetched JWK Set's case answers 200 (401 until the refresher has fetched it), at most 10 s. */
async function fetchedKeys(url: string, token: string, box: TimeBox): Promise<void> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const answer = await get(url, token).catch(() => null);
    if (answer?.status === 200) return;
    if (box.expired || Date.now() > deadline) throw new Error(`${url} did not answer 200 within 10 s (its keys not fetched)`);
    await sleep(100);
  }
}

/**
 * The scale cases of one nginx start: start, run the cases, reload, stop,
 * within options.phaseLimitS. A phase that does not finish is stopped; the
 * cases it did not measure are rows with `skipped`: the limit and the last
 * things measured (request times, rates) and nginx's first error, if any.
 */
async function scalePhase(
  files: { consumersJson: string; jwksJson: string },
  cases: { c: Omit<BenchCase, 'nginx'>; token: string }[],
  options: Options,
  preload: boolean,
  remote = false,
): Promise<Measured[]> {
  const box: TimeBox = { expired: false, progress: [] };
  const out: Measured[] = [];
  let nginx: Nginx | null = null;
  const work = (async () => {
    const started = Date.now();
    const phaseNginx = await startNginx({
      config: readFileSync(path.join(ROOT, 'nginx', 'bench', 'scale.conf'), 'utf8')
        .replace(
          '${PRELOADED_CONSUMERS_HTTP}',
          preload
            ? 'js_preload_object scale_consumers from ${PREFIX}/consumers.json;'
            : '# no preloaded consumer map on this engine (njs >= 0.8 loads it slowly, QuickJS has none)',
        )
        .replace('${REMOTE_JWKS_HTTP}', remote ? 'js_shared_dict_zone zone=jwt_jwks:1m;' : '# no js_periodic before njs 0.8.1: /jwks-remote is not measured')
        .replace('${REMOTE_JWKS_SERVER}', remote ? REMOTE_JWKS_LOCATIONS : ''),
      ports: ['PORT', 'UPSTREAM_PORT'],
      files: { 'consumers.json': files.consumersJson, 'jwks.json': files.jwksJson },
      startTimeoutMs: options.phaseLimitS * 1000,
    });
    nginx = phaseNginx;
    running.push(phaseNginx);
    // Started: the first case answers 200 with its token (on QuickJS, that request reads the files).
    const firstUrl = phaseNginx.url(cases[0].c.path);
    await firstAnswer(firstUrl, cases[0].token, box);
    const startS = (Date.now() - started) / 1000;
    box.progress.push(`started in ${startS.toFixed(2)} s`);
    for (const { c, token } of cases) {
      // A fetched JWK Set answers once the refresher has fetched it (about a second after the first request).
      if (c.remote) await fetchedKeys(phaseNginx.url(c.path), token, box);
      const full: BenchCase = { ...c, nginx: phaseNginx, box };
      box.peak = undefined;
      const m = await runCase(full, options, { token });
      out.push({ c: full, m, extra: { rss_mb: round(workerRssMb(phaseNginx), 1), start_s: round(startS, 2) } });
    }
    const reloadS = await reloadSeconds(phaseNginx, firstUrl, cases[0].token, box);
    for (const item of out) item.extra!.reload_s = round(reloadS, 2);
  })();
  const finished = await Promise.race([work.then(() => true), sleep(options.phaseLimitS * 1000).then(() => false)]);
  if (finished) {
    await stopNginx(nginx!);
    return out;
  }
  box.expired = true;
  work.catch(() => undefined);
  const measured = out.slice();
  if (activeWrk && activeWrk.exitCode === null) activeWrk.kill('SIGKILL');
  const stopped = nginx as Nginx | null;
  let firstError = '';
  if (stopped) {
    firstError =
      stopped
        .errorLog()
        .split('\n')
        .find((l) => /\[(error|crit|alert|emerg)\]/.test(l)) ?? '';
    running.splice(running.indexOf(stopped), 1);
    await stopped.stop();
  }
  const reason =
    `did not finish within ${options.phaseLimitS} s, stopped` +
    (box.progress.length ? '; measured: ' + box.progress.slice(-3).join('; ') : '; nginx did not answer') +
    (firstError ? '; nginx: ' + firstError.replace(/^\S+ \S+ /, '').slice(0, 200) : '');
  process.stderr.write(`\n  ${cases.map((x) => x.c.case).join(', ')} (${cases[0].c.engine.id}): ${reason}\n`);
  return cases.map(({ c }) => {
    const done = measured.find((item) => item.c.case === c.case);
    if (done) return done;
    const current = measured.length === cases.findIndex((x) => x.c === c) ? box.peak : undefined;
    return { c: { ...c, nginx: stopped! }, m: partialMeasurement(current), extra: { skipped: reason } };
  });
}

/** The nginx of the style cases: nginx/bench/nginx.conf with the main consumer map (and the shared cache's zone where there is ngx.shared). */
async function startMainNginx(document: object, sharedDict: boolean): Promise<Nginx> {
  const nginx = await startNginx({
    config: readFileSync(path.join(ROOT, 'nginx', 'bench', 'nginx.conf'), 'utf8').replace(
      '${CACHED_STYLE_HTTP}',
      // The fast generation the README recommends: jwt-boot-id.sh's id, no JavaScript on a hit.
      cachedStyleHttp({
        cache: 'keys_zone=jwt_cache:10m max_size=64m inactive=10m',
        bootId: bootIdFile(scratch),
        verifierLines: ['js_import jwt from ${BUNDLE};'],
      }),
    ),
    ports: ['PORT', 'CACHED_PORT', 'FLOOR_PORT', 'UPSTREAM_PORT'],
    files: { 'consumers.json': JSON.stringify(document, null, 2) },
    variables: {
      // The HS256 consumer's secret (base64), for the hand-written floor.
      FLOOR_SECRET: floorSecret(document),
      SHARED_CACHE_HTTP: sharedDict
        ? 'js_shared_dict_zone zone=jwt_verified:10m timeout=60s evict;'
        : '# no js_shared_dict_zone before njs 0.8.0: /jwt-shared is not measured',
    },
  });
  running.push(nginx);
  return nginx;
}

/** Each integration style and algorithm; the direct style also with fresh tokens (pool sized from the repeated rate) and, with ngx.shared, the shared cache. */
async function styleCases(
  nginx: Nginx,
  engine: EngineInfo,
  sharedDict: boolean,
  signers: { [alg: string]: Signer },
  tokens: { [alg: string]: string },
  options: Options,
): Promise<Measured[]> {
  const results: Measured[] = [];
  const floor: BenchCase = {
    case: 'hand-written njs floor',
    engine,
    style: 'floor',
    alg: 'HS256',
    token: 'repeated',
    nginx,
    path: '/floor',
    portName: 'FLOOR_PORT',
  };
  results.push({ c: floor, m: await runCase(floor, options, { token: tokens.HS256 }) });
  for (const alg of ALGS) {
    const repeated: BenchCase = { case: 'direct', engine, style: 'direct', alg, token: 'repeated', nginx, path: '/jwt' };
    const m = await runCase(repeated, options, { token: tokens[alg] });
    results.push({ c: repeated, m });
    const wanted = Math.ceil(m.peak.rps * Math.max(options.duration, options.warmup) * 1.2) + 64;
    const pool = mintPool(signers[alg], wanted, options.mintBudgetMs);
    const fresh: BenchCase = { case: 'direct, fresh tokens', engine, style: 'direct', alg, token: 'fresh', nginx, path: '/jwt' };
    const mf = await runCase(fresh, options, { tokenFile: poolFile(pool), verifyToken: pool[0] });
    mf.pool = pool.length;
    results.push({ c: fresh, m: mf });
  }
  const styles: Omit<BenchCase, 'alg' | 'token' | 'nginx' | 'engine'>[] = [
    { case: 'auth_request', style: 'auth_request', path: '/jwt-auth-request' },
    { case: 'cached (hits)', style: 'cached', path: '/jwt-cached', portName: 'CACHED_PORT' },
  ];
  for (const style of styles) {
    for (const alg of ALGS) {
      const c: BenchCase = { ...style, engine, alg, token: 'repeated', nginx };
      results.push({ c, m: await runCase(c, options, { token: tokens[alg] }) });
    }
  }
  if (sharedDict) {
    for (const alg of ['HS256', 'RS256', 'ES256'] as Alg[]) {
      const c: BenchCase = { case: 'direct, shared cache', engine, style: 'direct', shared_cache: true, alg, token: 'repeated', nginx, path: '/jwt-shared' };
      results.push({ c, m: await runCase(c, options, { token: tokens[alg] }) });
    }
  }
  return results;
}

/** The scale cases' files, made (and indexed) once for every engine. */
interface ScaleSet {
  small: { consumersJson: string; jwksJson: string };
  bigConsumers: { consumersJson: string; jwksJson: string };
  bigKeys: { consumersJson: string; jwksJson: string };
  tokens: { smallConsumer: string; smallKey: string; bigConsumer: string; bigKey: string };
}

function scaleSet(): ScaleSet {
  const seed = randomBytes(16).toString('hex');
  const small = scaleFiles(1, 1, seed);
  const big = scaleFiles(BIG_CONSUMERS, BIG_KEYS, seed);
  // The files `jwt-gateway index` writes: consumer maps with their layout, read by position.
  const json = (document: object) => indexedText(document);
  const [smallConsumers, smallJwks] = [json(small.consumers), json(small.jwks)];
  const mintOne = (signer: Signer) => mint(signer, 1, Math.floor(Date.now() / 1000));
  return {
    small: { consumersJson: smallConsumers, jwksJson: smallJwks },
    bigConsumers: { consumersJson: json(big.consumers), jwksJson: smallJwks },
    bigKeys: { consumersJson: smallConsumers, jwksJson: json(big.jwks) },
    tokens: {
      smallConsumer: mintOne(small.consumerSigner),
      smallKey: mintOne(small.keySigner),
      bigConsumer: mintOne(big.consumerSigner),
      bigKey: mintOne(big.keySigner),
    },
  };
}

/**
 * Scale: one start with one entry in each file, then one per large file. The
 * map is read by path (by position) on every engine; where njs loads a
 * js_preload_object fast (0.7.9) the same map is measured preloaded too.
 */
async function scaleCases(set: ScaleSet, engine: EngineInfo, options: Options): Promise<Measured[]> {
  const scaleCase = (name: string, route: string, counts: { consumers?: number; keys?: number; preloaded?: boolean; remote?: boolean }) =>
    ({ case: name, engine, style: 'direct', alg: 'HS256', token: 'repeated', path: route, ...counts }) as Omit<BenchCase, 'nginx'>;
  const features = describeEngine(engine.id).features;
  const preload = features.preloadObject && !features.slowPreload;
  const preloaded = (name: string, consumers: number, token: string) =>
    preload ? [{ c: scaleCase(name + ', preloaded', '/consumers-preloaded', { consumers, preloaded: true }), token }] : [];
  const remote = features.periodic;
  const fetched = remote
    ? [{ c: scaleCase('direct, JWK Set 1 key, fetched by URL', '/jwks-remote', { keys: 1, remote: true }), token: set.tokens.smallKey }]
    : [];
  const scale = [
    ...(await scalePhase(
      set.small,
      [
        { c: scaleCase('direct, 1 consumer', '/consumers', { consumers: 1 }), token: set.tokens.smallConsumer },
        ...preloaded('direct, 1 consumer', 1, set.tokens.smallConsumer),
        { c: scaleCase('direct, JWK Set 1 key', '/jwks', { keys: 1 }), token: set.tokens.smallKey },
        ...fetched,
      ],
      options,
      preload,
      remote,
    )),
    ...(await scalePhase(
      set.bigConsumers,
      [
        { c: scaleCase('direct, 100,000 consumers', '/consumers', { consumers: BIG_CONSUMERS }), token: set.tokens.bigConsumer },
        ...preloaded('direct, 100,000 consumers', BIG_CONSUMERS, set.tokens.bigConsumer),
      ],
      options,
      preload,
    )),
    ...(await scalePhase(
      set.bigKeys,
      [{ c: scaleCase('direct, JWK Set 1,000 keys', '/jwks', { keys: BIG_KEYS }), token: set.tokens.bigKey }],
      options,
      preload,
    )),
  ];
  return scale;
}

/** The plain proxy's first and last runs of one engine, which that engine's ratios are to. */
interface Baseline {
  engine: EngineInfo;
  first: Measurement;
  last: Measurement;
}

function engineInfo(id: string): { info: EngineInfo; sharedDict: boolean } {
  const engine = describeEngine(id);
  return {
    info: { id: engine.id, nginx: engine.nginxVersion, njs: engine.njsVersion, js: engine.qjs ? 'QuickJS' : 'classic' },
    sharedDict: engine.features.sharedDict,
  };
}

/** Every case on one engine: plain proxy first, the styles, the scale phases, plain proxy last. */
async function engineRun(
  id: string,
  setup: { document: object; signers: { [alg: string]: Signer } },
  tokens: { [alg: string]: string },
  scale: ScaleSet,
  options: Options,
): Promise<{ rows: BenchRow[]; plain: Baseline }> {
  const { info: engine, sharedDict } = engineInfo(id);
  process.env[ENGINE_VARIABLE] = id;
  process.stderr.write(`${engineLabel(engine)}\n`);
  const nginx = await startMainNginx(setup.document, sharedDict);
  try {
    const plainCase: BenchCase = { case: 'plain proxy', engine, style: 'plain', alg: '-', token: '-', nginx, path: '/plain' };
    const first = await runCase(plainCase, options, {});
    const results = [...(await styleCases(nginx, engine, sharedDict, setup.signers, tokens, options)), ...(await scaleCases(scale, engine, options))];
    const last = await runCase(plainCase, options, {});
    const baseline = (first.peak.rps + last.peak.rps) / 2;
    const rows = [benchRow(plainCase, meanMeasurement(first, last), baseline), ...results.map((r) => benchRow(r.c, r.m, baseline, r.extra))];
    return { rows, plain: { engine, first, last } };
  } finally {
    if (running.includes(nginx)) await stopNginx(nginx);
  }
}

function printReport(rows: BenchRow[], plains: Baseline[], skipped: { id: string; reason: string }[], meta: { [name: string]: string | number }): void {
  console.log('');
  console.log(formatTable(rows));
  console.log('');
  for (const plain of plains) {
    const drift = (plain.last.peak.rps - plain.first.peak.rps) / plain.first.peak.rps;
    console.log(
      `${engineLabel(plain.engine)}: plain proxy ${Math.round(plain.first.peak.rps)} req/s first, ${Math.round(plain.last.peak.rps)} last (${drift >= 0 ? '+' : ''}${(drift * 100).toFixed(1)}%); ratios are to their mean.`,
    );
    if (Math.abs(drift) > 0.1)
      console.log('note: the plain proxy drifted by more than 10% during the run (a noisy machine): re-run before trusting the ratios');
  }
  for (const engine of skipped) console.log(`${engine.id}: skipped, ${engine.reason}`);
  console.log('p50/p99 ms: paced run at about half the case\'s peak ("at req/s"); "peak": the saturation run.');
  console.log(`machine: ${meta.cpu}, ${meta.cores} cores, ${meta.kernel}; ${meta.wrk}`);
}

/** Rows, meta and chart to tools/bench/results/{latest,quick}.*. */
function writeResults(
  rows: BenchRow[],
  plains: Baseline[],
  skipped: { id: string; reason: string }[],
  meta: { [name: string]: string | number },
  options: Options,
  elapsed: number,
): void {
  const base = path.join(RESULTS_DIR, options.quick ? 'quick' : 'latest');
  const date = new Date().toISOString();
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(base + '.json', JSON.stringify(rows, null, 2) + '\n');
  const runMeta = {
    date,
    mode: options.quick ? 'quick' : 'full',
    seconds_per_run: options.duration,
    warmup_seconds: options.warmup,
    wrk_connections: CONNECTIONS,
    nginx_workers: 1,
    engines: plains.map((plain) => ({
      ...plain.engine,
      plain_rps_first: Math.round(plain.first.peak.rps),
      plain_rps_last: Math.round(plain.last.peak.rps),
    })),
    skipped_engines: skipped,
    elapsed_s: round(elapsed, 1),
    machine: meta,
  };
  writeFileSync(base + '-meta.json', JSON.stringify(runMeta, null, 2) + '\n');
  const engines = plains.map((plain) => plain.engine.id + ' = nginx ' + plain.engine.nginx + ' / njs ' + plain.engine.njs + ' ' + plain.engine.js).join(', ');
  const svg = ratioChart(
    rows,
    `${date.slice(0, 10)}, ${options.quick ? 'quick run, ' : ''}${engines}, 1 worker, wrk -t1 -c${CONNECTIONS}; ${meta.cpu}, ${meta.cores} cores`,
  );
  writeFileSync(base + '.svg', svg);
  console.log(`\n${elapsed.toFixed(0)} s; written: ${['.json', '-meta.json', '.svg'].map((s) => path.relative(process.cwd(), base + s)).join(', ')}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const began = Date.now();
  const meta = machine();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'jwt-bench-'));

  // An engine that is not there (not fetched, no QuickJS) is reported and skipped.
  const skipped: { id: string; reason: string }[] = [];
  const engines = options.engines.filter((id) => {
    try {
      engineInfo(id);
      return true;
    } catch (e) {
      skipped.push({ id, reason: (e as Error).message });
      process.stderr.write(`engine ${id} skipped: ${(e as Error).message}\n`);
      return false;
    }
  });
  if (!engines.length) fail('none of the engines ' + options.engines.join(', ') + ' is there');

  const setup = mainConsumers();
  const tokens: { [alg: string]: string } = {};
  for (const alg of ALGS) tokens[alg] = await checkMinting(setup.signers[alg]);
  const scale = scaleSet();
  if (options.instructions) {
    await instructions(engines, { consumers: setup.document, floorSecret: floorSecret(setup.document), tokens, scale }, options.cases);
    return;
  }
  process.stderr.write(
    `nginx 1 worker; wrk -t1 -c${CONNECTIONS} for ${options.duration} s after ${options.warmup} s of warm-up, then paced at half the peak rate` + '\n',
  );
  const all: BenchRow[] = [];
  const plains: Baseline[] = [];
  for (const id of engines) {
    try {
      const { rows, plain } = await engineRun(id, setup, tokens, scale, options);
      all.push(...rows);
      plains.push(plain);
    } catch (e) {
      // One engine's failure does not hide the others' rows; the results are not written.
      warnings.push(`${id}: ${(e as Error).message}`);
      process.stderr.write(`\nengine ${id} failed: ${(e as Error).message}\n`);
      if (activeWrk && activeWrk.exitCode === null) activeWrk.kill('SIGKILL');
    }
  }

  const rows = withTargets(all);
  warnings.push(...rowProblems(rows));
  printReport(rows, plains, skipped, meta);
  if (warnings.length) {
    // A run with broken keepalive, socket errors or nginx errors does not measure the gateway: keep the last good results.
    console.error('\nbench failed, results not written:\n  ' + warnings.join('\n  '));
    process.exitCode = 1;
    return;
  }
  writeResults(rows, plains, skipped, meta, options, (Date.now() - began) / 1000);
}

runTool('bench', main, shutdown);

/**
 * `npm run bench [-- --quick | --duration N]`: starts one nginx (1 worker,
 * config nginx/bench/nginx.conf) and measures with wrk over loopback a plain
 * proxy_pass and the gateway with HS256, RS256 and ES256 tokens (plus the
 * auth_request style with HS256) against the same keepalive upstream.
 * Prints req/s, the ratio to the plain proxy of the same run and p50/p99
 * latency, and writes the rows to bench/results/latest.json.
 *
 * The plain proxy is measured first and last; its row is the mean of both, so
 * drift of a noisy machine during the run shows and is halved in the ratios.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportSPKI, generateKeyPair } from 'jose';
import { DemoConsumer, tokenFor } from './lib/demo-consumers';
import { Nginx, ROOT, startNginx } from './lib/nginx';

const USAGE = `usage: npm run bench [-- --quick | --duration N]
  --quick        ~3 s per case (1 s warm-up): a smoke run
  --duration N   N seconds per case (default 10, warm-up 2 s)
  wrk runs 1 thread, 16 connections; nginx runs 1 worker.`;
const CONNECTIONS = 16;
const RESULTS = path.join(ROOT, 'bench', 'results', 'latest.json');

interface Options {
  duration: number;
  warmup: number;
}

interface BenchCase {
  name: string;
  alg: string;
  path: string;
  /** Sent as `Authorization: Bearer <token>`; none for the plain proxy. */
  token?: string;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  socketErrors: string;
}

export interface BenchRow {
  case: string;
  alg: string;
  rps: number;
  ratio: number;
  p50_ms: number;
  p99_ms: number;
}

function fail(message: string): never {
  throw new Error(message);
}

function parseArgs(argv: string[]): Options {
  let duration = 10;
  let warmup = 2;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--quick') {
      duration = 3;
      warmup = 1;
    } else if (arg === '--duration' || arg.startsWith('--duration=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value || !/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 300) {
        console.error('--duration needs a whole number of seconds from 1 to 300\n' + USAGE);
        process.exit(2);
      }
      duration = Number(value);
      warmup = duration >= 10 ? 2 : 1;
    } else {
      console.error('unknown argument ' + JSON.stringify(arg) + '\n' + USAGE);
      process.exit(2);
    }
  }
  return { duration, warmup };
}

/** A consumer map with one credential per algorithm; key pairs and the secret are fresh each run. */
async function benchConsumers(): Promise<{ document: object; consumers: DemoConsumer[] }> {
  const rsa = await generateKeyPair('RS256', { modulusLength: 2048 });
  const ec = await generateKeyPair('ES256');
  const secret = randomBytes(24).toString('hex');
  const consumers: DemoConsumer[] = [
    { username: 'hs', credentialId: 'cred-hs256', key: 'hs-key', alg: 'HS256', signingKey: new TextEncoder().encode(secret) },
    { username: 'rs', credentialId: 'cred-rs256', key: 'rs-key', alg: 'RS256', signingKey: rsa.privateKey },
    { username: 'es', credentialId: 'cred-es256', key: 'es-key', alg: 'ES256', signingKey: ec.privateKey },
  ];
  const document = {
    consumers: [
      { username: 'hs', credentials: [{ id: 'cred-hs256', key: 'hs-key', algorithm: 'HS256', secret }] },
      { username: 'rs', credentials: [{ id: 'cred-rs256', key: 'rs-key', algorithm: 'RS256', public_key: await exportSPKI(rsa.publicKey) }] },
      { username: 'es', credentials: [{ id: 'cred-es256', key: 'es-key', algorithm: 'ES256', public_key: await exportSPKI(ec.publicKey) }] },
    ],
  };
  return { document, consumers };
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    headers: token ? { Authorization: 'Bearer ' + token } : {},
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: await response.text() };
}

/** Each case must reach the upstream with its token, and a gateway case must refuse a missing or tampered token. */
async function verifyCases(nginx: Nginx, cases: BenchCase[]): Promise<void> {
  for (const c of cases) {
    const url = nginx.url(c.path);
    const ok = await get(url, c.token);
    if (ok.status !== 200 || ok.body !== 'ok\n') {
      fail(`${c.name} ${c.alg}: expected 200 "ok" from ${url} with its token, got ${ok.status} ${JSON.stringify(ok.body.slice(0, 200))}`);
    }
    if (!c.token) continue;
    const missing = await get(url);
    if (missing.status !== 401) fail(`${c.name} ${c.alg}: expected 401 from ${url} without a token, got ${missing.status}`);
    const last = c.token.charAt(c.token.length - 1);
    const tampered = c.token.slice(0, -1) + (last === 'A' ? 'Q' : 'A');
    const bad = await get(url, tampered);
    if (bad.status !== 401) fail(`${c.name} ${c.alg}: expected 401 from ${url} with a tampered signature, got ${bad.status}`);
  }
}

/** nginx's total of accepted connections (stub_status). */
async function acceptedConnections(nginx: Nginx): Promise<number> {
  const status = await get(nginx.url('/_bench_status'));
  const match = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(status.body);
  if (status.status !== 200 || !match) fail('cannot read /_bench_status: ' + status.status + ' ' + status.body);
  return Number(match[1]);
}

let activeWrk: ChildProcess | null = null;

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 'ms') return n;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60000;
  return fail('unknown latency unit ' + unit);
}

function runWrk(url: string, seconds: number, token?: string): Promise<WrkResult> {
  const args = ['-t1', '-c' + CONNECTIONS, '-d' + seconds + 's', '--timeout', '5s', '--latency'];
  if (token) args.push('-H', 'Authorization: Bearer ' + token);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    activeWrk = child;
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (err += chunk));
    // wrk stops itself after `seconds`; this only bounds a wrk that hangs.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
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
        resolve(parseWrk(out));
      } catch (e) {
        reject(new Error((e as Error).message + '\nwrk output:\n' + out + err));
      }
    });
  });
}

function parseWrk(out: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const requests = /^\s*(\d+) requests in /m.exec(out);
  if (!rps || !p50 || !p99 || !requests) fail('cannot parse wrk output');
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) fail(non2xx[1] + ' responses were not 2xx/3xx: the measurement is not of successful requests');
  const errors = /Socket errors:\s*(.*)/.exec(out);
  return {
    rps: Number(rps[1]),
    p50: toMs(p50[1], p50[2]),
    p99: toMs(p99[1], p99[2]),
    requests: Number(requests[1]),
    socketErrors: errors ? errors[1].trim() : '',
  };
}

/** Problems that make the run's numbers meaningless. */
const warnings: string[] = [];

async function measure(nginx: Nginx, c: BenchCase, options: Options): Promise<WrkResult> {
  const url = nginx.url(c.path);
  process.stderr.write(`  ${(c.name + ' ' + c.alg).padEnd(24)} warm-up ${options.warmup} s, measure ${options.duration} s ... `);
  await runWrk(url, options.warmup, c.token);
  const acceptedBefore = await acceptedConnections(nginx);
  const result = await runWrk(url, options.duration, c.token);
  const accepted = (await acceptedConnections(nginx)) - acceptedBefore;
  process.stderr.write(`${Math.round(result.rps)} req/s\n`);
  // With keepalive working, new connections are wrk's own plus the upstream
  // pool, renewed every 1000 requests (keepalive_requests); without it, about
  // one per request (the missing `Connection ""` pitfall in NJS_NOTES).
  if (accepted > 100 + result.requests / 20) {
    warnings.push(`${c.name} ${c.alg}: ${accepted} connections accepted for ${result.requests} requests: keepalive to the upstream is not working in ${c.path}`);
  }
  if (result.socketErrors) warnings.push(`${c.name} ${c.alg}: wrk socket errors: ${result.socketErrors}`);
  return result;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function printTable(rows: BenchRow[]): void {
  const header = ['case', 'alg', 'req/s', 'ratio', 'p50 ms', 'p99 ms'];
  const cells = rows.map((r) => [r.case, r.alg, String(Math.round(r.rps)), r.ratio.toFixed(2), r.p50_ms.toFixed(3), r.p99_ms.toFixed(3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

let nginx: Nginx | null = null;
let stopping: Promise<void> | null = null;
let interrupted = false;

function shutdown(): Promise<void> {
  if (!stopping) {
    if (activeWrk && activeWrk.exitCode === null) activeWrk.kill('SIGKILL');
    stopping = nginx ? nginx.stop() : Promise.resolve();
  }
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\nbench: ' + signal + ', stopping nginx\n');
    shutdown().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const setup = await benchConsumers();
  nginx = await startNginx({
    config: readFileSync(path.join(ROOT, 'nginx', 'bench', 'nginx.conf'), 'utf8'),
    ports: ['PORT', 'UPSTREAM_PORT'],
    files: { 'consumers.json': JSON.stringify(setup.document, null, 2) },
  });
  const tokens: { [alg: string]: string } = {};
  for (const consumer of setup.consumers) tokens[consumer.alg] = await tokenFor(consumer);
  const plain: BenchCase = { name: 'plain proxy', alg: '-', path: '/plain' };
  const gateway: BenchCase[] = [
    { name: 'gateway', alg: 'HS256', path: '/jwt', token: tokens.HS256 },
    { name: 'gateway', alg: 'RS256', path: '/jwt', token: tokens.RS256 },
    { name: 'gateway', alg: 'ES256', path: '/jwt', token: tokens.ES256 },
    { name: 'auth_request', alg: 'HS256', path: '/jwt-auth-request', token: tokens.HS256 },
  ];
  await verifyCases(nginx, [plain].concat(gateway));

  const runs = 2 + gateway.length;
  process.stderr.write(
    `nginx 1 worker, wrk -t1 -c${CONNECTIONS}, ${runs} runs of ${options.warmup} + ${options.duration} s (about ${runs * (options.warmup + options.duration)} s)\n`,
  );
  const first = await measure(nginx, plain, options);
  const measured: WrkResult[] = [];
  for (const c of gateway) measured.push(await measure(nginx, c, options));
  const last = await measure(nginx, plain, options);

  const errors = nginx.errorLog().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
  if (errors.length) warnings.push(`nginx logged ${errors.length} errors, e.g.:\n    ` + errors.slice(0, 3).join('\n    '));

  const baseline = (first.rps + last.rps) / 2;
  const row = (c: BenchCase, rps: number, p50: number, p99: number): BenchRow => ({
    case: c.name,
    alg: c.alg,
    rps: Math.round(rps),
    ratio: round(rps / baseline, 3),
    p50_ms: round(p50, 3),
    p99_ms: round(p99, 3),
  });
  const rows = [row(plain, baseline, (first.p50 + last.p50) / 2, (first.p99 + last.p99) / 2)];
  gateway.forEach((c, i) => rows.push(row(c, measured[i].rps, measured[i].p50, measured[i].p99)));

  console.log('');
  printTable(rows);
  const drift = (last.rps - first.rps) / first.rps;
  console.log(`\nplain proxy: ${Math.round(first.rps)} req/s first, ${Math.round(last.rps)} last (${drift >= 0 ? '+' : ''}${(drift * 100).toFixed(1)}%); ratios are to their mean.`);
  if (Math.abs(drift) > 0.1) console.log('note: the plain proxy drifted by more than 10% during the run (a noisy machine): re-run before trusting the ratios');
  if (warnings.length) {
    // A run with broken keepalive, socket errors or nginx errors does not measure the gateway: keep the last good results.
    console.error('\nbench failed, ' + path.relative(process.cwd(), RESULTS) + ' not written:\n  ' + warnings.join('\n  '));
    process.exitCode = 1;
    return;
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(rows, null, 2) + '\n');
  console.log('rows written to ' + path.relative(process.cwd(), RESULTS));
}

main()
  .catch((e) => {
    if (interrupted) return;
    console.error('bench failed: ' + (e instanceof Error ? e.message : String(e)));
    process.exitCode = 1;
  })
  .finally(async () => {
    await shutdown();
  });

/**
 * Mixed HTTP traffic from Node for the soak and reload runs (tools/soak/soak.ts):
 * bounded concurrency over keep-alive connections, every response judged
 * against what its token should get in the configuration that served it.
 *
 * Configurations are numbered by generation (0 at start, +1 per reload). The
 * `Clock` says where the run is: an even phase 2g means "generation g, and no
 * worker of an older one is left"; an odd phase 2g-1 is the reload into g
 * (SIGHUP sent, old workers may still serve). A request is judged by every
 * generation it may have met between its start and its end: when its kind
 * expects the same status in all of them, that status is required (a token
 * valid before and after a reload must get 200); when they differ, either is
 * accepted and the request is counted as transitional.
 */
import http from 'node:http';

export type Expected = 200 | 401;

export interface Target {
  path: string;
  headers: { [name: string]: string };
}

export interface Kind {
  /** Row label, e.g. "valid HS256 consumer". */
  name: string;
  /** Traffic kind: valid, expired, tampered, missing, malformed, wrong-key. */
  group: string;
  /** Requests sent for this kind, in turn. */
  variants: Target[];
  /** Status this kind must get in configuration generation `g`. */
  expect(generation: number): Expected;
  /** Body a 200 must carry: the upstream echoes the identity the gateway passed on. */
  body?: string;
}

export interface Clock {
  phase: number;
}

export interface KindStats {
  statuses: { [status: string]: number };
  requests: number;
  mismatches: number;
  /** Requests that met a reload while their token's expected status changed with it. */
  transitional: number;
  /** Requests that met a reload, with a token valid on both sides, and did not get 200. */
  reloadFailures: number;
}

export interface ReloadStats {
  /** Requests in flight during the reload (they met both generations). */
  spanning: number;
  /** Of those, tokens valid before and after that were not answered 200. */
  failures: number;
  retries: number;
}

export interface Failure {
  kind: string;
  path: string;
  status: number | string;
  expected: string;
  body: string;
  phases: string;
}

export interface TrafficStats {
  requests: number;
  byKind: { [name: string]: KindStats };
  fiveXX: number;
  mismatches: number;
  reloadFailures: number;
  transitional: number;
  /** Connection-level errors retried once on a new connection. */
  retries: number;
  retryCodes: { [code: string]: number };
  /** Requests with no HTTP answer even after the retry (or a timeout). */
  errors: number;
  errorCodes: { [code: string]: number };
  perReload: { [generation: number]: ReloadStats };
  /** The first few failures, for the report. */
  samples: Failure[];
  latency: Latency;
}

export interface DriveOptions {
  port: number;
  kinds: Kind[];
  concurrency: number;
  clock: Clock;
  /** Traffic stops once this returns true (checked before each request). */
  done(): boolean;
  timeoutMs?: number;
}

/** Latency histogram in 10 us steps up to 1 s, one overflow bucket. */
export class Latency {
  private readonly counts = new Uint32Array(100001);
  private total = 0;
  private max = 0;

  add(ms: number): void {
    this.counts[Math.min(100000, Math.floor(ms * 100))]++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  quantile(q: number): number {
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank && seen > 0) return (i + 1) / 100;
    }
    return 0;
  }

  maximum(): number {
    return this.max;
  }
}

const CONNECTION_ERRORS = ['ECONNRESET', 'EPIPE', 'ECONNABORTED'];

export type Answer = { status: number; body: string } | { error: string };

/** One GET; `agent: false` makes a new connection. Never rejects: a failure is `{ error: code }`. */
export function send(port: number, target: Target, agent: http.Agent | false, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: Answer) => {
      if (!settled) {
        settled = true;
        resolve(answer);
      }
    };
    const req = http.request({ host: '127.0.0.1', port, path: target.path, method: 'GET', headers: target.headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => finish({ status: res.statusCode ?? 0, body }));
      res.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code || e.message }));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      finish({ error: 'TIMEOUT' });
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code || e.message }));
    req.end();
  });
}

/** Generations a request may have met, from the phase at its start to the phase at its end. */
function generations(startPhase: number, endPhase: number): number[] {
  const out: number[] = [];
  for (let g = Math.floor(startPhase / 2); g <= Math.ceil(endPhase / 2); g++) out.push(g);
  return out;
}

function newKindStats(): KindStats {
  return { statuses: {}, requests: 0, mismatches: 0, transitional: 0, reloadFailures: 0 };
}

function reloadStats(stats: TrafficStats, generation: number): ReloadStats {
  return (stats.perReload[generation] = stats.perReload[generation] || { spanning: 0, failures: 0, retries: 0 });
}

export function emptyStats(kinds: Kind[]): TrafficStats {
  const byKind: { [name: string]: KindStats } = {};
  for (const kind of kinds) byKind[kind.name] = newKindStats();
  return {
    requests: 0,
    byKind,
    fiveXX: 0,
    mismatches: 0,
    reloadFailures: 0,
    transitional: 0,
    retries: 0,
    retryCodes: {},
    errors: 0,
    errorCodes: {},
    perReload: {},
    samples: [],
    latency: new Latency(),
  };
}

function record(stats: TrafficStats, kind: Kind, target: Target, startPhase: number, endPhase: number, answer: Answer): void {
  const own = stats.byKind[kind.name];
  const status = 'error' in answer ? 'ERR ' + answer.error : answer.status;
  own.statuses[status] = (own.statuses[status] || 0) + 1;
  own.requests++;
  stats.requests++;
  const spanned = generations(startPhase, endPhase);
  const expectations = spanned.map((g) => kind.expect(g));
  const agreed = expectations.every((e) => e === expectations[0]) ? expectations[0] : null;
  const latest = spanned[spanned.length - 1];
  if (spanned.length > 1) reloadStats(stats, latest).spanning++;
  const bodyOk = (a: { status: number; body: string }) => a.status !== 200 || kind.body === undefined || a.body === kind.body;
  let ok: boolean;
  if ('error' in answer) {
    stats.errors++;
    stats.errorCodes[answer.error] = (stats.errorCodes[answer.error] || 0) + 1;
    ok = false;
  } else {
    if (answer.status >= 500) stats.fiveXX++;
    ok = agreed === null ? (answer.status === 200 || answer.status === 401) && bodyOk(answer) : answer.status === agreed && bodyOk(answer);
  }
  if (agreed === null) {
    own.transitional++;
    stats.transitional++;
  }
  if (ok) return;
  own.mismatches++;
  stats.mismatches++;
  if (spanned.length > 1 && agreed === 200) {
    own.reloadFailures++;
    stats.reloadFailures++;
    reloadStats(stats, latest).failures++;
  }
  // A few per kind, so one broken token does not hide the others.
  if (stats.samples.length < 12 && stats.samples.filter((f) => f.kind === kind.name).length < 3) {
    stats.samples.push({
      kind: kind.name,
      path: target.path,
      status,
      expected: agreed === null ? '200 or 401' : String(agreed) + (kind.body !== undefined && agreed === 200 ? ' ' + JSON.stringify(kind.body) : ''),
      body: 'error' in answer ? '' : answer.body.slice(0, 200),
      phases: startPhase === endPhase ? String(startPhase) : startPhase + '..' + endPhase,
    });
  }
}

/**
 * One GET, judged and recorded. A connection-level error (the server closed a
 * kept-alive connection as the request went out, which is what old workers do
 * after a reload) is retried once on a new connection, as HTTP clients do for
 * idempotent requests; the retry is counted on its own.
 */
export async function request(options: DriveOptions, stats: TrafficStats, agent: http.Agent | false, kind: Kind, target: Target): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10000;
  const startPhase = options.clock.phase;
  const started = performance.now();
  let answer = await send(options.port, target, agent, timeoutMs);
  if ('error' in answer && CONNECTION_ERRORS.indexOf(answer.error) >= 0) {
    stats.retries++;
    stats.retryCodes[answer.error] = (stats.retryCodes[answer.error] || 0) + 1;
    if (options.clock.phase > 0) reloadStats(stats, Math.ceil(options.clock.phase / 2)).retries++;
    answer = await send(options.port, target, false, timeoutMs);
  }
  stats.latency.add(performance.now() - started);
  record(stats, kind, target, startPhase, options.clock.phase, answer);
}

/** Sends the kinds in turn from `concurrency` loops over one keep-alive agent until `done()`. */
export async function drive(options: DriveOptions, stats: TrafficStats): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  let next = 0;
  const loop = async () => {
    while (!options.done()) {
      const turn = next++;
      const kind = options.kinds[turn % options.kinds.length];
      const target = kind.variants[Math.floor(turn / options.kinds.length) % kind.variants.length];
      await request(options, stats, agent, kind, target);
    }
  };
  const loops: Promise<void>[] = [];
  for (let i = 0; i < options.concurrency; i++) loops.push(loop());
  try {
    await Promise.all(loops);
  } finally {
    agent.destroy();
  }
}

/**
 * The benchmark's results, pure: a row per case from its wrk runs, the check
 * that rows carry what tools/bench/results/latest.json promises, the printed table
 * and the ratio chart. Used by tools/bench/bench.ts and test/unit/bench.test.ts.
 */
import { barChart } from './chart';
import { Pacing, WrkResult } from './wrk';

/** Fields every row of latest.json has (issue 5's contract, and issue 11's `engine`). */
export const REQUIRED_FIELDS = ['case', 'alg', 'rps', 'ratio', 'p50_ms', 'p99_ms', 'engine'] as const;

/** The nginx/njs a row was measured with (test/support/engines.mjs). */
export interface EngineInfo {
  /** system, trixie, sid or sid-qjs. */
  id: string;
  nginx: string;
  njs: string;
  js: 'classic' | 'QuickJS';
}

export interface CaseInfo {
  case: string;
  engine: EngineInfo;
  /** plain, direct, auth_request or cached. */
  style: string;
  alg: string;
  /** repeated, fresh, or - for the plain proxy. */
  token: string;
  consumers?: number;
  keys?: number;
  /** The consumer map as a js_preload_object instead of by path (scale cases, engines that load it fast). */
  preloaded?: boolean;
  /** The direct style with $auth_jwt_cache_zone (a js_shared_dict_zone, njs >= 0.8). */
  shared_cache?: boolean;
  /** The JWK Set fetched by nginx from a URL ($auth_jwt_jwks_uri, njs >= 0.8.1) instead of read from a file. */
  remote?: boolean;
}

export interface Measurement {
  /** The saturation run. */
  peak: WrkResult;
  /** The run paced at about half the peak (or the saturation run when pacing.delayMs is 0). */
  latency: WrkResult;
  pacing: Pacing;
  /** Connections of the saturation run. */
  connections: number;
  /** Distinct tokens sent (fresh tokens). */
  pool?: number;
  /** How the case had to be measured otherwise (e.g. with one connection), and why. */
  note?: string;
  /** Why the case has no figures. */
  skipped?: string;
}

export interface BenchRow extends CaseInfo {
  /** Saturation req/s and its ratio to the plain proxy. */
  rps: number;
  ratio: number;
  /** Latency of the paced run at about half of `rps` (its rate: latency_rps). */
  p50_ms: number;
  p99_ms: number;
  latency_rps: number;
  p50_ms_peak: number;
  p99_ms_peak: number;
  /** Requests completed in the saturation run. */
  requests: number;
  connections: number;
  latency_connections: number;
  /** Mean delay of the paced run; 0 when the case was too slow to pace. */
  latency_delay_ms: number;
  token_pool?: number;
  rss_mb?: number;
  start_s?: number;
  reload_s?: number;
  /** The target of issue 5 or 11 for this case (ratio to the plain proxy), and whether the run met it. */
  target?: number;
  meets_target?: boolean;
  /**
   * Why the case was not measured (e.g. it did not finish within its time
   * box); its figures are then those it got (0 where none).
   */
  skipped?: string;
  /** How the case had to be measured otherwise, and why (e.g. "no request completed with -c16; measured with -c1"). */
  note?: string;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function benchRow(info: CaseInfo, m: Measurement, baselineRps: number, extra: Partial<BenchRow> = {}): BenchRow {
  return {
    case: info.case,
    engine: info.engine,
    style: info.style,
    alg: info.alg,
    token: info.token,
    ...(info.consumers !== undefined ? { consumers: info.consumers } : {}),
    ...(info.keys !== undefined ? { keys: info.keys } : {}),
    ...(info.shared_cache ? { shared_cache: true } : {}),
    ...(info.preloaded ? { preloaded: true } : {}),
    ...(info.remote ? { remote: true } : {}),
    rps: Math.round(m.peak.rps),
    ratio: round(m.peak.rps / baselineRps, 3),
    p50_ms: round(m.latency.p50, 3),
    p99_ms: round(m.latency.p99, 3),
    latency_rps: Math.round(m.latency.rps),
    p50_ms_peak: round(m.peak.p50, 3),
    p99_ms_peak: round(m.peak.p99, 3),
    requests: m.peak.requests,
    connections: m.connections,
    latency_connections: m.pacing.connections,
    latency_delay_ms: m.pacing.delayMs,
    ...(m.pool !== undefined ? { token_pool: m.pool } : {}),
    ...(m.note !== undefined ? { note: m.note } : {}),
    ...(m.skipped !== undefined ? { skipped: m.skipped } : {}),
    ...extra,
  };
}

function meanRun(a: WrkResult, b: WrkResult): WrkResult {
  return { ...a, rps: (a.rps + b.rps) / 2, p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2, requests: Math.round((a.requests + b.requests) / 2) };
}

/** The plain proxy's two measurements (first and last of the run) as one. */
export function meanMeasurement(first: Measurement, last: Measurement): Measurement {
  return { ...last, peak: meanRun(first.peak, last.peak), latency: meanRun(first.latency, last.latency) };
}

/**
 * The targets, as ratios to the plain proxy of the same engine. Issue 5:
 * with a reused token HS256 0.75 and RS256/ES256 0.35; with a fresh token on
 * every request RS256 0.10 and ES256 0.06; a 100,000-consumer map or a
 * 1,000-key JWK Set may lose at most 5% against the same case with one entry
 * (same engine). Issue 11: the direct style with the shared cache, reused
 * token, HS256/RS256/ES256 0.80; a fresh token on QuickJS RS256 0.25 and
 * ES256 0.15. Issue 12: the fetched JWK Set (known kid, reused token) within
 * 5% of the same JWK Set from a file. Other rows (the plain proxy, the
 * hand-written floor) have none.
 */
export function targetFor(row: BenchRow, rows: BenchRow[]): number | undefined {
  const big = (row.consumers ?? 0) > 1 || (row.keys ?? 0) > 1 || row.remote === true;
  if (big) {
    const single = rows.find(
      (r) =>
        r.engine.id === row.engine.id &&
        r.style === row.style &&
        r.alg === row.alg &&
        r.skipped === undefined &&
        !r.preloaded === !row.preloaded &&
        !r.remote &&
        (row.consumers !== undefined ? r.consumers === 1 : r.keys === 1),
    );
    return single === undefined ? undefined : round(single.ratio * 0.95, 3);
  }
  // The hand-written floor is a reference for the others, with no target of its own.
  if (row.consumers !== undefined || row.keys !== undefined || row.style === 'floor') return undefined;
  const qjs = row.engine.js === 'QuickJS';
  const byAlg: { [alg: string]: number } = row.shared_cache
    ? row.token === 'repeated'
      ? { HS256: 0.8, RS256: 0.8, ES256: 0.8 }
      : {}
    : row.token === 'fresh'
      ? qjs
        ? { RS256: 0.25, ES256: 0.15 }
        : { RS256: 0.1, ES256: 0.06 }
      : row.token === 'repeated'
        ? { HS256: 0.75, RS256: 0.35, ES256: 0.35 }
        : {};
  return byAlg[row.alg];
}

/** The rows with their targets filled in. */
export function withTargets(rows: BenchRow[]): BenchRow[] {
  return rows.map((row) => {
    const target = targetFor(row, rows);
    return target === undefined ? row : { ...row, target, meets_target: row.ratio >= target };
  });
}

/** What is wrong with the rows, as sentences; none for rows fit to publish. */
export function rowProblems(rows: BenchRow[]): string[] {
  const problems: string[] = [];
  const seen: { [label: string]: boolean } = {};
  rows.forEach((row, i) => {
    const record = row as unknown as { [field: string]: unknown };
    for (const field of REQUIRED_FIELDS) {
      const value = record[field];
      const ok =
        field === 'case' || field === 'alg'
          ? typeof value === 'string' && value !== ''
          : field === 'engine'
            ? isEngineInfo(value)
            : typeof value === 'number' && Number.isFinite(value) && value >= 0;
      if (!ok) problems.push(`row ${i} (${row.case}): ${field} is ${JSON.stringify(value)}`);
    }
    if (row.skipped !== undefined && (typeof row.skipped !== 'string' || row.skipped === '')) problems.push(`row ${i} (${row.case}): skipped without a reason`);
    if (!isEngineInfo(row.engine)) return;
    const label = row.engine.id + ': ' + rowLabel(row) + ' ' + row.token;
    if (seen[label]) problems.push(`row ${i}: case ${JSON.stringify(label)} appears twice`);
    seen[label] = true;
  });
  const engines = [...new Set(rows.filter((row) => isEngineInfo(row.engine)).map((row) => row.engine.id))];
  for (const id of engines.length ? engines : ['any engine']) {
    if (!rows.some((row) => row.engine?.id === id && row.style === 'plain' && row.ratio === 1)) problems.push(`no plain proxy row with ratio 1 for ${id}`);
  }
  return problems;
}

function isEngineInfo(value: unknown): value is EngineInfo {
  const engine = value as { [field: string]: unknown } | null;
  return (
    typeof engine === 'object' &&
    engine !== null &&
    ['id', 'nginx', 'njs'].every((field) => typeof engine[field] === 'string' && engine[field] !== '') &&
    (engine.js === 'classic' || engine.js === 'QuickJS')
  );
}

/** "sid-qjs: nginx 1.30.0 / njs 1.0.2 (QuickJS)". */
export function engineLabel(engine: EngineInfo): string {
  return `${engine.id}: nginx ${engine.nginx} / njs ${engine.njs} (${engine.js})`;
}

export function rowLabel(row: BenchRow): string {
  return row.case + (row.alg === '-' ? '' : ' ' + row.alg);
}

export function formatTable(rows: BenchRow[]): string {
  const header = [
    'engine',
    'case',
    'alg',
    'token',
    'req/s',
    'ratio',
    'target',
    'p50 ms',
    'p99 ms',
    'at req/s',
    'p50 peak',
    'p99 peak',
    'RSS MB',
    'start s',
    'reload s',
    'note',
  ];
  const opt = (value: number | undefined, digits: number) => (value === undefined ? '' : value.toFixed(digits));
  const cells = rows.map((r) => [
    r.engine.id,
    r.case,
    r.alg,
    r.token,
    String(r.rps),
    r.ratio.toFixed(3),
    r.target === undefined ? '' : (r.meets_target ? 'met ' : 'MISSED ') + r.target.toFixed(2),
    r.p50_ms.toFixed(3),
    r.p99_ms.toFixed(3),
    String(r.latency_rps),
    r.p50_ms_peak.toFixed(3),
    r.p99_ms_peak.toFixed(3),
    opt(r.rss_mb, 1),
    opt(r.start_s, 2),
    opt(r.reload_s, 2),
    r.skipped !== undefined ? 'skipped: ' + r.skipped : (r.note ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i < 4 || i === header.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** The chart of latest.svg: one bar per row, its ratio to the plain proxy (labels name the engine when there are several). */
export function ratioChart(rows: BenchRow[], subtitle: string): string {
  const several = new Set(rows.map((r) => r.engine.id)).size > 1;
  return barChart(
    rows.map((r) => ({
      label: (several ? r.engine.id + ': ' : '') + rowLabel(r),
      value: r.ratio,
      note: r.skipped === undefined ? r.rps.toLocaleString('en-US') + ' req/s, p99 ' + r.p99_ms.toFixed(2) + ' ms' : 'skipped (see the table)',
      group: r.consumers !== undefined || r.keys !== undefined ? 'scale' : r.shared_cache ? 'shared cache' : r.style,
      target: r.target,
    })),
    {
      title: 'njs-jwt-gateway: throughput as a ratio to a plain proxy_pass (higher is better)',
      subtitle,
      reference: { value: 1, label: 'plain proxy = 1.0' },
    },
  );
}

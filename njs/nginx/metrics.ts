/**
 * Counters of what the gateway decides (njs >= 0.8.0), in
 * `js_shared_dict_zone zone=jwt_metrics:1m type=number;`, which every worker
 * counts into; `js_content jwt.metrics` shows them (njs/core/metrics-text.ts).
 * Without that zone nothing is counted. Labels come from the config (reason
 * codes, consumer names of the map or the issuers' names, provider URLs),
 * never from a token, so there are only so many series.
 */
import { Decision } from '../core/decision';
import { metricsText, series } from '../core/metrics-text';
import { Outcome } from './outcome';
import { sharedZone } from './revocation';

const METRICS_ZONE = 'jwt_metrics';

/** What a counting zone has beyond SharedZone's (a type=number zone). */
interface CountingZone {
  type?: string;
  incr(key: string, delta: number, init: number): number;
  keys(maxCount?: number): string[];
  get(key: string): unknown;
}

function countingZone(): CountingZone | null {
  return sharedZone(METRICS_ZONE) as unknown as CountingZone | null;
}

function count(zone: CountingZone, key: string): void {
  try {
    zone.incr(key, 1, 0);
  } catch (e) {
    // a full zone, or one not of type=number (the metrics page says so): the request is decided all the same
  }
}

/** Counts a decided request: its style and outcome; the reason it was denied (or, reported, would be); its consumer; the direct style's cache. */
export function countDecision(outcome: Outcome, decision: Decision, style: 'direct' | 'auth_request'): void {
  const zone = countingZone();
  if (!zone) return;
  const add = (family: string, labels: [string, string][]) => count(zone, series(family, labels));
  const failure = decision.failure;
  const identity = outcome.verdict.identity;
  const result = decision.wouldDeny ? 'would_deny' : !decision.allow ? 'denied' : decision.anonymous ? 'anonymous' : 'allowed';
  add('jwt_gateway_requests_total', [
    ['style', style],
    ['outcome', result],
  ]);
  if (failure && !decision.allow)
    add('jwt_gateway_denials_total', [
      ['code', failure.code],
      ['status', String(failure.status)],
    ]);
  if (failure && decision.wouldDeny)
    add('jwt_gateway_would_deny_total', [
      ['code', failure.code],
      ['status', String(failure.status)],
    ]);
  if (identity && !decision.wouldDeny)
    add('jwt_gateway_consumer_requests_total', [
      ['consumer', identity.consumer],
      ['outcome', result],
    ]);
  if (outcome.cache) add('jwt_gateway_cache_total', [['result', outcome.cache]]);
}

/** Counts a fetch of a provider's keys by the refresher. */
export function countFetch(provider: string, ok: boolean): void {
  const zone = countingZone();
  if (zone)
    count(
      zone,
      series('jwt_gateway_jwks_fetches_total', [
        ['provider', provider],
        ['result', ok ? 'ok' : 'failed'],
      ]),
    );
}

/** The js_content handler of the metrics page; protect its location (allow/deny). */
export function metrics(r: NginxHTTPRequest): void {
  const zone = countingZone();
  if (!zone || zone.type !== 'number') {
    const why = zone
      ? 'the zone ' + METRICS_ZONE + ' must be declared with type=number'
      : 'metrics need njs >= 0.8.0 and `js_shared_dict_zone zone=' +
        METRICS_ZONE +
        ':1m type=number;` at http level (this is njs ' +
        njs.version +
        '); without them, log $jwt_auth_reason (README, "Metrics")';
    r.return(501, JSON.stringify({ message: why }) + '\n');
    return;
  }
  const keys = zone.keys(1000000);
  const counts: [string, number][] = [];
  for (let i = 0; i < keys.length; i++) counts.push([keys[i], Number(zone.get(keys[i]))]);
  r.headersOut['Content-Type'] = 'text/plain; version=0.0.4; charset=utf-8';
  r.return(200, metricsText(counts));
}

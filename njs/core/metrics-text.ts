/**
 * The gateway's counters as the Prometheus text format (version 0.0.4) has
 * them: a series is its family's name and labels, e.g.
 * `jwt_gateway_requests_total{style="direct",outcome="allowed"}`; that text is
 * also the counter's key in the shared zone, so the page is the keys sorted,
 * with each family's HELP and TYPE first.
 */

/** The families, by name: what the HELP line says. Every one is a counter. (A function: a module's top-level object costs every request in njs.) */
export function metricFamilies(): { [name: string]: string } {
  return {
    jwt_gateway_requests_total: 'Requests the gateway decided, by style and outcome (allowed, denied, anonymous, would_deny).',
    jwt_gateway_denials_total: 'Denied requests, by reason code and status.',
    jwt_gateway_would_deny_total: 'Requests a report-only location ($auth_jwt_mode report) let through but would deny, by reason code and status.',
    jwt_gateway_consumer_requests_total: 'Requests of a known consumer (from the config, never from a token), by outcome.',
    jwt_gateway_cache_total: "The direct style's cache of verified tokens, by result (hit, miss).",
    jwt_gateway_jwks_fetches_total: "Fetches of an identity provider's keys by the refresher, by provider and result (ok, failed).",
  };
}

function labelValue(value: string): string {
  // Codes, outcomes and most names have nothing to escape: three scans a label instead of three regex replaces, on every counted request.
  if (value.indexOf('\\') < 0 && value.indexOf('"') < 0 && value.indexOf('\n') < 0) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The series of a family with these labels, in this order. */
export function series(family: string, labels: [string, string][]): string {
  let text = '';
  for (let i = 0; i < labels.length; i++) text += (i ? ',' : '') + labels[i][0] + '="' + labelValue(labels[i][1]) + '"';
  return family + '{' + text + '}';
}

/** The page: every family that has a series, its series sorted; counts that are not whole numbers are left out. */
export function metricsText(counts: [string, number][]): string {
  const help = metricFamilies();
  const byFamily: { [family: string]: string[] } = {};
  for (let i = 0; i < counts.length; i++) {
    const family = counts[i][0].slice(0, counts[i][0].indexOf('{'));
    if (help[family] === undefined || !(counts[i][1] >= 0) || Math.floor(counts[i][1]) !== counts[i][1]) continue;
    (byFamily[family] = byFamily[family] || []).push(counts[i][0] + ' ' + counts[i][1]);
  }
  let text = '';
  const families = Object.keys(help);
  for (let i = 0; i < families.length; i++) {
    const lines = byFamily[families[i]];
    if (!lines) continue;
    lines.sort();
    text += '# HELP ' + families[i] + ' ' + help[families[i]] + '\n# TYPE ' + families[i] + ' counter\n' + lines.join('\n') + '\n';
  }
  return text;
}

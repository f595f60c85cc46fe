/**
 * `jwt-gateway decode TOKEN [--json]`: a token's header and payload as the
 * gateway parses them (the same strict parser: canonical base64url, strict
 * JSON, one signature segment), its dates in UTC, and never a claim that it
 * is valid: nothing is verified here (`verify` does that).
 */
import { describeProblem, isProblem, Problem } from '../njs/core/errors';
import { JsonObject } from '../njs/core/strict-json';
import { DEFAULT_MAX_TOKEN_BYTES, parseToken } from '../njs/core/token';

/** The registered claims that are dates (RFC 7519 4.1). */
const DATE_CLAIMS = ['exp', 'nbf', 'iat'];

export interface Decoded {
  header: JsonObject;
  payload: JsonObject;
  /** The date claims that are numbers, in UTC (ISO 8601). */
  dates: { [claim: string]: string };
  verified: false;
}

/** The token's parts, or why it is no token (the gateway's reason: TOKEN_MALFORMED, TOKEN_TOO_LARGE). */
export function decodeToken(token: string): Decoded | Problem {
  const parsed = parseToken(token.trim(), DEFAULT_MAX_TOKEN_BYTES);
  if (isProblem(parsed)) return parsed;
  const dates: { [claim: string]: string } = {};
  for (const claim of DATE_CLAIMS) {
    const value = parsed.payload[claim];
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e12) dates[claim] = new Date(value * 1000).toISOString();
  }
  return { header: parsed.header, payload: parsed.payload, dates, verified: false };
}

/** What `decode` prints without --json. */
export function decodedText(decoded: Decoded): string {
  const dates = Object.keys(decoded.dates).map((claim) => claim + ': ' + decoded.dates[claim] + '\n');
  return (
    'NOT VERIFIED: decoded only; the signature and the claims were not checked\n' +
    'header: ' +
    JSON.stringify(decoded.header, null, 2) +
    '\npayload: ' +
    JSON.stringify(decoded.payload, null, 2) +
    '\n' +
    dates.join('')
  );
}

/** The problem line for a token that does not parse. */
export function undecodable(problem: Problem): string {
  return problem.code + ': ' + (problem.detail || describeProblem(problem));
}

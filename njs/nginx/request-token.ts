/**
 * Where the token is: the header (`Bearer ` optional, any case), else the
 * query argument, else the cookie; the first found wins, as in APISIX.
 * Different tokens are refused (Kong's anti-smuggling rule): a proxy and the
 * upstream must not each see a different identity.
 *
 * Query arguments and cookies are parsed here, from the raw query string and
 * from every Cookie header, with one rule for reading and for hiding: a name
 * matches when it equals the setting's after percent-decoding (`j%77t` is
 * `jwt`, as njs's r.args reads it) and ignoring ASCII case (as nginx's
 * $arg_name and $cookie_name do), and cookies are split on `,` as well as
 * `;` (as nginx 1.22's $cookie_name does). So every argument or cookie an
 * upstream or nginx might take for the token is a candidate: two different
 * ones are "Multiple tokens provided", and hide_credentials removes them all.
 */
import { knownOutcome, logUnexpected } from './outcome';
import { readSettings, Settings } from './settings';

const BEARER = /^bearer\s+/i;

export interface FoundToken {
  token: string;
  /** Different tokens were sent, in different places or twice in one. */
  conflicting: boolean;
}

/** `text` percent-decoded, `+` as a space (query strings); as sent when it is not valid percent-encoding. */
function decodeComponent(text: string): string {
  if (text.indexOf('%') < 0 && text.indexOf('+') < 0) return text;
  const spaced = text.indexOf('+') < 0 ? text : text.split('+').join(' ');
  try {
    return decodeURIComponent(spaced);
  } catch (e) {
    return spaced;
  }
}

/**
 * Whether `raw` (a name as sent) names `name` (lowercase ASCII): after
 * percent-decoding, equal but for ASCII case. Not toLowerCase() alone: it
 * maps the Kelvin sign to `k`, which neither nginx nor an upstream does.
 */
function sameName(raw: string, name: string): boolean {
  const decoded = decodeComponent(raw);
  if (decoded.length !== name.length || decoded.toLowerCase() !== name) return false;
  for (let i = 0; i < decoded.length; i++) if (decoded.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A cheap test that `text` may hold `name` in some spelling (string scans are cheap in njs, loops are not). */
function mayHold(text: string, name: string): boolean {
  return text.indexOf('%') >= 0 || text.toLowerCase().indexOf(name) >= 0 || (name.indexOf(' ') >= 0 && text.indexOf('+') >= 0);
}

/** Values of the query arguments named `name` (lowercase), decoded and trimmed, in order. */
export function queryTokens(query: string, name: string): string[] {
  const found: string[] = [];
  if (query === '' || !mayHold(query, name)) return found;
  const pairs = query.split('&');
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    const eq = pair.indexOf('=');
    if (eq < 0 || !sameName(pair.slice(0, eq), name)) continue;
    found.push(decodeComponent(pair.slice(eq + 1)).trim());
  }
  return found;
}

/** Values of the cookies named `name` (lowercase) in a Cookie header (all of them, joined by `; `), trimmed, in order. */
export function cookieTokens(header: string, name: string): string[] {
  const found: string[] = [];
  if (header === '' || !mayHold(header, name)) return found;
  const parts = header.split(';');
  for (let i = 0; i < parts.length; i++) {
    const pieces = parts[i].split(',');
    for (let j = 0; j < pieces.length; j++) {
      const piece = pieces[j];
      const eq = piece.indexOf('=');
      if (eq < 0 || !sameName(piece.slice(0, eq).trim(), name)) continue;
      found.push(piece.slice(eq + 1).trim());
    }
  }
  return found;
}

/** The client's query string: an auth_request subrequest (or the cached style's verifier) has none of its own and reads $request_uri. */
function clientQuery(r: NginxHTTPRequest, isSubrequest: boolean): string {
  if (!isSubrequest) return r.variables.args || '';
  const uri = r.variables.request_uri || '';
  const start = uri.indexOf('?');
  return start < 0 ? '' : uri.slice(start + 1);
}

/** The header's token: its value without a leading `Bearer` (any case) and whitespace; "Bearer " itself is read without a regex. */
function headerToken(value: string): string {
  if (value.charCodeAt(6) === 32 && value.charCodeAt(7) > 32 && value.slice(0, 6).toLowerCase() === 'bearer') return value.slice(7).trim();
  return value.replace(BEARER, '').trim();
}

export function findToken(r: NginxHTTPRequest, settings: Settings, isSubrequest: boolean): FoundToken {
  const candidates: string[] = [];
  const header = r.headersIn[settings.header];
  if (header) candidates.push(headerToken(String(header)));
  // Names are lowercased only for a query or cookie that is there (each call counts in njs).
  const query = clientQuery(r, isSubrequest);
  const args = query === '' ? [] : queryTokens(query, settings.query.toLowerCase());
  for (let i = 0; i < args.length; i++) candidates.push(args[i]);
  const cookie = r.variables.http_cookie || '';
  const cookies = cookie === '' ? [] : cookieTokens(cookie, settings.cookie.toLowerCase());
  for (let i = 0; i < cookies.length; i++) candidates.push(cookies[i]);
  let token = '';
  let conflicting = false;
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i] === '') continue;
    if (token === '') token = candidates[i];
    else if (candidates[i] !== token) conflicting = true;
  }
  return { token, conflicting: conflicting && settings.rejectMultipleTokens };
}

/** The query string without any argument that names the token (hide_credentials); the rest stays byte for byte. */
export function argsWithoutToken(query: string, name: string): string {
  const lower = name.toLowerCase();
  if (query === '' || !mayHold(query, lower)) return query;
  const pairs = query.split('&');
  const kept: string[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const eq = pairs[i].indexOf('=');
    if (!sameName(eq < 0 ? pairs[i] : pairs[i].slice(0, eq), lower)) kept.push(pairs[i]);
  }
  return kept.length === pairs.length ? query : kept.join('&');
}

/**
 * A Cookie header (all of them, joined by `; `) without any cookie that names
 * the token (hide_credentials), whatever its case, spelling or separator;
 * the other cookies and their separators stay byte for byte.
 */
export function cookiesWithoutToken(header: string, name: string): string {
  const lower = name.toLowerCase();
  if (header === '' || !mayHold(header, lower)) return header;
  const parts = header.split(';');
  let out = '';
  let removed = false;
  let lastRemoved = false;
  for (let i = 0; i < parts.length; i++) {
    const pieces = parts[i].split(',');
    for (let j = 0; j < pieces.length; j++) {
      const piece = pieces[j];
      const eq = piece.indexOf('=');
      const pieceName = (eq < 0 ? piece : piece.slice(0, eq)).trim();
      lastRemoved = pieceName !== '' && sameName(pieceName, lower);
      if (lastRemoved) removed = true;
      // Each piece goes with the separator after it.
      else out += piece + (j < pieces.length - 1 ? ',' : i < parts.length - 1 ? ';' : '');
    }
  }
  if (!removed) return header;
  out = out.trim();
  // The last cookie went: the separator that led to it goes too.
  const end = out.charCodeAt(out.length - 1);
  if (lastRemoved && (end === 0x3b || end === 0x2c)) out = out.slice(0, out.length - 1).trim();
  return out;
}

/** The settings read for the upstream variables of one request (by $request_id), when its outcome is not known. */
let hidingSettings: { id: string; settings: Settings } | null = null;

/**
 * The settings that decide what reaches the upstream: the request's outcome's
 * when it is known, else read now, once per request (the auth_request styles
 * compute the upstream variables in the main request, which never verifies).
 * Nothing here runs verification.
 */
function upstreamSettings(r: NginxHTTPRequest): Settings {
  const known = knownOutcome(r);
  if (known) return known.settings;
  const id = r.variables.request_id || '';
  if (hidingSettings !== null && hidingSettings.id === id && id !== '') return hidingSettings.settings;
  const settings = readSettings(r).settings;
  hidingSettings = { id, settings };
  return settings;
}

/**
 * One of the values jwt-proxy-headers.conf (and the auth_request snippets)
 * send upstream, from the settings and the request alone. An exception is
 * logged and gives `failed`, which hides rather than leaks.
 */
export function upstreamValue(r: NginxHTTPRequest, compute: (r: NginxHTTPRequest, settings: Settings) => string, failed: string): string {
  try {
    return compute(r, upstreamSettings(r));
  } catch (e) {
    logUnexpected(r, e, 'the upstream gets no credentials');
    return failed;
  }
}

/** $jwt_hide_credentials: "1" when the token must not reach the upstream. */
export function hideValue(_r: NginxHTTPRequest, settings: Settings): string {
  return settings.hideCredentials ? '1' : '';
}

/** $jwt_upstream_authorization: the Authorization header, or nothing when it is the token's header and hiding is on. */
export function upstreamAuthorization(r: NginxHTTPRequest, settings: Settings): string {
  if (settings.hideCredentials && settings.header.toLowerCase() === 'authorization') return '';
  const sent = r.headersIn.Authorization;
  return sent === undefined ? '' : String(sent);
}

/** $jwt_upstream_args: the query string, without the token's arguments when hiding is on. */
export function upstreamArgs(r: NginxHTTPRequest, settings: Settings): string {
  const args = r.variables.args || '';
  return settings.hideCredentials ? argsWithoutToken(args, settings.query) : args;
}

/** $jwt_upstream_cookie: every Cookie header as one, without the token's cookies when hiding is on. */
export function upstreamCookie(r: NginxHTTPRequest, settings: Settings): string {
  const cookies = r.variables.http_cookie || '';
  return settings.hideCredentials ? cookiesWithoutToken(cookies, settings.cookie) : cookies;
}

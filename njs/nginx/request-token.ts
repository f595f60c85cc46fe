/**
 * Where the token is: the header (`Bearer ` optional, any case), else the
 * query argument, else the cookie; the first found wins, as in APISIX.
 * Different tokens in several places are refused (Kong's anti-smuggling rule):
 * a proxy and the upstream must not each see a different identity.
 */
import { Settings } from './settings';

const BEARER = /^bearer\s+/i;

export interface FoundToken {
  token: string;
  /** Different tokens were sent in different places (or twice in the query). */
  conflicting: boolean;
}

/** The name of a `name=value` query argument or cookie (all of it when there is no `=`). */
function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  return eq < 0 ? pair : pair.slice(0, eq);
}

function queryArguments(query: string, name: string): string[] {
  const found: string[] = [];
  const pairs = query.split('&');
  for (let i = 0; i < pairs.length; i++) {
    if (nameOf(pairs[i]) !== name) continue;
    const eq = pairs[i].indexOf('=');
    try {
      found.push(eq < 0 ? '' : decodeURIComponent(pairs[i].slice(eq + 1).split('+').join(' ')));
    } catch (e) {
      found.push(pairs[i].slice(eq + 1));
    }
  }
  return found;
}

/** The client's query arguments of that name; an auth_request subrequest has none of its own, so it reads $request_uri. */
function clientArguments(r: NginxHTTPRequest, name: string, isSubrequest: boolean): string[] {
  if (!isSubrequest) {
    const value = r.args[name] as string | string[] | undefined;
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }
  const uri = r.variables.request_uri || '';
  const start = uri.indexOf('?');
  return start < 0 ? [] : queryArguments(uri.slice(start + 1), name);
}

export function findToken(r: NginxHTTPRequest, settings: Settings, isSubrequest: boolean): FoundToken {
  const candidates: string[] = [];
  const header = r.headersIn[settings.header];
  if (header) candidates.push(String(header).replace(BEARER, '').trim());
  const args = clientArguments(r, settings.query, isSubrequest);
  for (let i = 0; i < args.length; i++) candidates.push(args[i].trim());
  const cookie = r.variables['cookie_' + settings.cookie];
  if (cookie) candidates.push(cookie.trim());
  let token = '';
  let conflicting = false;
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i] === '') continue;
    if (token === '') token = candidates[i];
    else if (candidates[i] !== token) conflicting = true;
  }
  return { token, conflicting: conflicting && settings.rejectMultipleTokens };
}

/** The query string without the token's argument (hide_credentials); other arguments stay as sent. */
export function argsWithoutToken(args: string, name: string): string {
  const kept: string[] = [];
  const pairs = args.split('&');
  for (let i = 0; i < pairs.length; i++) {
    if (nameOf(pairs[i]) !== name) kept.push(pairs[i]);
  }
  return kept.join('&');
}

/** The Cookie header without the token's cookie (hide_credentials); other cookies stay as sent. */
export function cookiesWithoutToken(cookieHeader: string, name: string): string {
  const kept: string[] = [];
  const cookies = cookieHeader.split(';');
  for (let i = 0; i < cookies.length; i++) {
    const cookie = cookies[i].trim();
    if (cookie !== '' && nameOf(cookie) !== name) kept.push(cookie);
  }
  return kept.join('; ');
}

/**
 * Where the token is: the header (`Bearer ` optional, any case), else the
 * query argument, else the cookie. The first one found wins, as in APISIX.
 */
import { Settings } from './settings';

const BEARER = /^bearer\s+/i;

function queryArgument(query: string, name: string): string | undefined {
  const pairs = query.split('&');
  for (let i = 0; i < pairs.length; i++) {
    const eq = pairs[i].indexOf('=');
    const key = eq < 0 ? pairs[i] : pairs[i].slice(0, eq);
    if (key === name) return eq < 0 ? '' : decodeURIComponent(pairs[i].slice(eq + 1).replace(/\+/g, ' '));
  }
  return undefined;
}

/** The client's query argument; an auth_request subrequest has none of its own, so it reads $request_uri. */
function clientArgument(r: NginxHTTPRequest, name: string, isSubrequest: boolean): string | undefined {
  if (!isSubrequest) {
    const value = r.args[name] as string | string[] | undefined;
    return Array.isArray(value) ? value[0] : value;
  }
  const uri = r.variables.request_uri || '';
  const start = uri.indexOf('?');
  if (start < 0) return undefined;
  try {
    return queryArgument(uri.slice(start + 1), name);
  } catch (e) {
    return undefined;
  }
}

export function findToken(r: NginxHTTPRequest, settings: Settings, isSubrequest: boolean): string {
  const header = r.headersIn[settings.header];
  if (header) {
    const token = String(header).replace(BEARER, '').trim();
    if (token) return token;
  }
  const argument = clientArgument(r, settings.query, isSubrequest);
  if (argument) return argument.trim();
  const cookie = r.variables['cookie_' + settings.cookie];
  return cookie ? cookie.trim() : '';
}

/**
 * Per-location settings, read from nginx variables that the config sets with
 * `set $auth_jwt_<name> value;` (names follow NGINX Plus auth_jwt_*). One
 * typed accessor with the defaults, so nothing else reads r.variables for them.
 */
import { DEFAULT_MAX_TOKEN_BYTES } from '../core/token';

export interface Settings {
  /** JWK Set: a js_preload_object name or a file path. */
  keyFile: string;
  /** Consumer map: a js_preload_object name or a file path. */
  consumers: string;
  realm: string;
  leeway: number;
  header: string;
  query: string;
  cookie: string;
  keyClaim: string;
  maxTokenBytes: number;
  requiredClaims: string[];
}

export interface SettingsProblem {
  variable: string;
  message: string;
}

function text(r: NginxHTTPRequest, name: string, fallback: string): string {
  const value = r.variables['auth_jwt_' + name];
  return value === undefined || value === '' ? fallback : value;
}

function wholeNumber(r: NginxHTTPRequest, name: string, fallback: number, problems: SettingsProblem[]): number {
  const value = text(r, name, String(fallback));
  if (!/^[0-9]{1,9}$/.test(value)) {
    problems.push({ variable: '$auth_jwt_' + name, message: 'must be a whole number, got ' + JSON.stringify(value) });
    return fallback;
  }
  return Number(value);
}

export function readSettings(r: NginxHTTPRequest): { settings: Settings; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  const claims = text(r, 'claims_to_verify', '').split(/[\s,]+/);
  const requiredClaims: string[] = [];
  for (let i = 0; i < claims.length; i++) if (claims[i] !== '') requiredClaims.push(claims[i]);
  const settings: Settings = {
    keyFile: text(r, 'key_file', ''),
    consumers: text(r, 'consumers', ''),
    realm: text(r, 'realm', 'jwt'),
    leeway: wholeNumber(r, 'leeway', 0, problems),
    header: text(r, 'header', 'authorization'),
    query: text(r, 'query', 'jwt'),
    cookie: text(r, 'cookie', 'jwt'),
    keyClaim: text(r, 'key_claim_name', 'key'),
    maxTokenBytes: wholeNumber(r, 'max_token_size', DEFAULT_MAX_TOKEN_BYTES, problems),
    requiredClaims,
  };
  if (settings.keyFile && settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'set either $auth_jwt_key_file or $auth_jwt_consumers in a location, not both' });
  }
  if (!settings.keyFile && !settings.consumers) {
    problems.push({ variable: '$auth_jwt_key_file', message: 'no key source: set $auth_jwt_key_file (JWK Set) or $auth_jwt_consumers (consumer map)' });
  }
  return { settings, problems };
}

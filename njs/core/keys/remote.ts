/**
 * Keys of identity providers, fetched by URL: a JWK Set URL
 * ($auth_jwt_jwks_uri) or an OpenID Provider's issuer ($auth_jwt_oidc_issuer),
 * whose discovery document names its JWK Set. What is decided here is the
 * same wherever the fetching happens (the `jwt-gateway jwks sync` command,
 * or nginx's refresher, njs/nginx/remote-keys.ts): which answers may replace
 * good keys, how long keys are kept, and which provider's keys a token may
 * be verified with.
 */
import { Algorithm } from '../algorithms';
import { configProblem, fail, isProblem, Problem, quote } from '../errors';
import { andThen, Maybe } from '../maybe';
import { JsonObject, parseJsonObject } from '../strict-json';
import { keyFromJwk } from './prepare';
import { Capabilities, DecodedToken, KeyMatch, KeySource, LookupOptions } from './types';

/** A JWK Set or discovery document larger than this is refused: a provider's is a few KB. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** One identity provider of a location. */
export interface Provider {
  /** An OpenID Provider's issuer: tokens it signs must carry it as `iss`; absent for a bare JWK Set URL. */
  issuer?: string;
  /** A JWK Set URL ($auth_jwt_jwks_uri); absent for an issuer, whose discovery document names it. */
  jwksUri?: string;
  /** The `name=` given to an issuer: the consumer ($jwt_consumer) its tokens run as. */
  name?: string;
}

/** How often a provider's keys are fetched, in seconds. */
export interface RefreshPolicy {
  minRefresh: number;
  maxRefresh: number;
  /** At most one fetch this often for tokens with an unknown kid. */
  refetchInterval: number;
}

/** The discovery document's address for an issuer (OpenID Connect Discovery 1.0, 4). */
export function discoveryUrl(issuer: string): string {
  return (issuer.charAt(issuer.length - 1) === '/' ? issuer.slice(0, -1) : issuer) + '/.well-known/openid-configuration';
}

/** The JWK Set URL a discovery document names, when it is for exactly this issuer (Discovery 4.3). */
export function discoveredJwksUri(document: JsonObject, issuer: string, url: string): string | Problem {
  if (document.issuer !== issuer) {
    return configProblem(
      url,
      'discovery document',
      'issuer',
      'is ' + JSON.stringify(document.issuer) + ', not ' + JSON.stringify(issuer) + ' (OpenID Connect Discovery 4.3): refused',
    );
  }
  const jwksUri = document.jwks_uri;
  if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri))
    return configProblem(url, 'discovery document', 'jwks_uri', 'missing or not an http(s) URL');
  // TLS on the discovery document vouches for the URL, not for the keys: an https issuer's keys come over https too (RFC 8414 2).
  if (issuer.slice(0, 8) === 'https://' && jwksUri.slice(0, 8) !== 'https://') {
    return configProblem(url, 'discovery document', 'jwks_uri', 'is ' + JSON.stringify(jwksUri) + ', not https like the issuer: refused');
  }
  return jwksUri;
}

/**
 * A fetched JWK Set that may replace the keys in use: the keys the gateway
 * can use (only those are kept: the others would cost every request a look)
 * and how many were listed; a Problem (keep the old keys) otherwise.
 */
export function acceptedJwks(document: JsonObject, url: string, capabilities: Capabilities): { keys: unknown[]; listed: number } | Problem {
  const listed = document.keys;
  if (!Array.isArray(listed)) return configProblem(url, 'JWK Set', 'keys', 'missing (expected {"keys": [...]})');
  const keys: unknown[] = [];
  for (let i = 0; i < listed.length; i++) {
    const jwk = listed[i];
    if (jwk !== null && typeof jwk === 'object' && !Array.isArray(jwk) && !isProblem(keyFromJwk(jwk as JsonObject, capabilities))) keys.push(jwk);
  }
  if (keys.length === 0) return configProblem(url, 'JWK Set', 'keys', 'no key the gateway can use (of ' + listed.length + '): the last good keys are kept');
  return { keys, listed: listed.length };
}

/** What a fetch brought, whichever way it went (ngx.fetch, a subrequest): what the gateway reads of it. */
export interface Answer {
  status: number;
  body: Uint8Array;
  cacheControl: string | null;
}

/** Fetches a URL; a Problem when it could not (unreachable, timed out). */
export type Get = (url: string) => Promise<Answer | Problem>;

/** The JSON object a fetch answered, or why it is none. */
function answeredDocument(url: string, answer: Answer): JsonObject | Problem {
  if (answer.status !== 200) return configProblem(url, undefined, undefined, 'answered ' + answer.status + ', not 200');
  if (answer.body.byteLength > MAX_DOCUMENT_BYTES) return configProblem(url, undefined, undefined, 'is over the cap of ' + MAX_DOCUMENT_BYTES + ' bytes');
  const document = parseJsonObject(answer.body);
  return typeof document === 'string' ? configProblem(url, undefined, undefined, document) : document;
}

/** A provider's JWK Set that may replace the keys in use, with what its answer said of caching. */
export interface FetchedKeys {
  keys: unknown[];
  listed: number;
  cacheControl: string | null;
}

/** Fetches the provider's JWK Set (for an issuer, after its discovery document): the keys that may replace those in use, or why there are none. */
export function fetchProviderKeys(provider: Provider, get: Get, capabilities: Capabilities): Promise<FetchedKeys | Problem> {
  const issuer = provider.issuer;
  const jwksUri =
    issuer === undefined
      ? Promise.resolve<string | Problem>(provider.jwksUri!)
      : get(discoveryUrl(issuer)).then((answer) => {
          const document = isProblem(answer) ? answer : answeredDocument(discoveryUrl(issuer), answer);
          return isProblem(document) ? document : discoveredJwksUri(document, issuer, discoveryUrl(issuer));
        });
  return jwksUri.then((url) => {
    if (isProblem(url)) return url;
    return get(url).then((answer) => {
      const document = isProblem(answer) ? answer : answeredDocument(url, answer);
      if (isProblem(document)) return document;
      const accepted = acceptedJwks(document, url, capabilities);
      if (isProblem(accepted)) return accepted;
      return { keys: accepted.keys, listed: accepted.listed, cacheControl: (answer as Answer).cacheControl };
    });
  });
}

/** The error line of a fetch that gave no keys: why, what stays in use, when it is tried again. */
export function notRefreshedLine(provider: Provider, why: string, keptAge: number | null, retry: number): string {
  const consequence =
    keptAge !== null
      ? 'the keys fetched ' + keptAge + ' s ago stay in use, up to $auth_jwt_jwks_max_stale'
      : 'there are no keys yet, so its tokens are refused';
  return 'keys of ' + providerName(provider) + ' not refreshed: ' + why + '; ' + consequence + '; next try in ' + retry + ' s';
}

/** The info line of a fetch that gave keys. */
export function fetchedLine(provider: Provider, fetched: FetchedKeys, after: number): string {
  return 'keys of ' + providerName(provider) + ' fetched: ' + fetched.keys.length + ' usable of ' + fetched.listed + ', next fetch in ' + after + ' s';
}

/**
 * A provider's keys as njs 0.7.9's auth_request styles keep them between
 * requests, in a file of $auth_jwt_jwks_dir (the refresher's zone holds the
 * same facts under several keys).
 */
export interface KeptKeys {
  /** The provider and refresh policy (a file never gives another provider's keys). */
  id: string;
  /** When these keys were fetched; 0 for none yet. */
  fetchedAt: number;
  /** When they were last asked for: a token's unknown kid asks again a refetch interval later. */
  checkedAt: number;
  /** When they are due again. */
  next: number;
  keys: unknown[];
}

/** The kept keys a file holds for this provider, or null (another provider's, or not such a record). */
export function keptKeys(document: JsonObject, id: string): KeptKeys | null {
  const kept = document as unknown as KeptKeys;
  if (kept.id !== id || !Array.isArray(kept.keys)) return null;
  if (typeof kept.fetchedAt !== 'number' || typeof kept.checkedAt !== 'number' || typeof kept.next !== 'number') return null;
  return kept;
}

/** Seconds until the next fetch: the answer's Cache-Control max-age within the bounds; the upper bound without one. */
export function refreshAfter(cacheControl: string | null | undefined, policy: RefreshPolicy): number {
  const found = cacheControl ? /(?:^|,)\s*max-age\s*=\s*"?([0-9]{1,9})/i.exec(cacheControl) : null;
  const noStore = cacheControl ? /(?:^|,)\s*no-(?:store|cache)\b/i.test(cacheControl) : false;
  const wanted = noStore ? 0 : found ? Number(found[1]) : policy.maxRefresh;
  return Math.max(policy.minRefresh, Math.min(policy.maxRefresh, wanted));
}

/** Keys as they are kept between the refresher and the requests: when they were last fetched, then the JWK Set. */
export function storedKeys(fetchedAt: number, keys: unknown[]): string {
  return fetchedAt + '\n' + JSON.stringify({ keys });
}

/** The fetch time of stored keys (NaN for text that is not stored keys). */
export function storedFetchTime(text: string): number {
  const end = text.indexOf('\n');
  return end > 0 ? Number(text.slice(0, end)) : NaN;
}

export function storedDocument(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\n') + 1));
}

/** What names a provider and its refresh policy wherever its keys are kept (the refresher's zone, njs 0.7.9's files). */
export function sourceId(provider: Provider, policy: RefreshPolicy): string {
  const kind = provider.issuer !== undefined ? 'issuer ' + provider.issuer : 'jwks ' + provider.jwksUri;
  return kind + ' ' + policy.minRefresh + ' ' + policy.maxRefresh + ' ' + policy.refetchInterval;
}

/** Who names the provider in messages. */
export function providerName(provider: Provider): string {
  return provider.issuer !== undefined ? 'issuer ' + provider.issuer : provider.jwksUri!;
}

/** A provider's keys for this request, found on first need: a key source, or why there is none (not fetched yet, too old). */
export type ProviderKeys = () => KeySource | Problem;

/**
 * The location's providers as one key source. A token's `iss` only chooses
 * the issuer whose keys are tried, and since `iss` is part of the signed
 * payload, a token that verifies was issued by that provider; tokens of no
 * configured issuer are tried with the JWK Set URLs' keys, if any.
 * `unknownKid` hears of a kid none of the chosen keys has (to fetch again).
 */
export function providersSource(providers: Provider[], keysOf: ProviderKeys[], unknownKid: (position: number) => void): KeySource {
  const origin = providers.length === 1 ? providerName(providers[0]) : 'the identity providers';

  function chosen(iss: unknown): number[] {
    const out: number[] = [];
    for (let i = 0; i < providers.length; i++) if (providers[i].issuer !== undefined && providers[i].issuer === iss) return [i];
    for (let i = 0; i < providers.length; i++) if (providers[i].issuer === undefined) out.push(i);
    return out;
  }

  function tryFrom(positions: number[], at: number, token: DecodedToken, algorithm: Algorithm, options: LookupOptions): Maybe<KeyMatch | Problem> {
    const position = positions[at];
    const keys = keysOf[position]();
    if (isProblem(keys)) return at + 1 < positions.length ? tryFrom(positions, at + 1, token, algorithm, options) : keys;
    return andThen(keys.lookup(token, algorithm, options), (match) => {
      const found = !isProblem(match) && match.keys.length > 0;
      if (!found && at + 1 < positions.length) return tryFrom(positions, at + 1, token, algorithm, options);
      // None of them has the kid: each one tried may have rotated it in.
      if (!found && typeof token.header.kid === 'string') for (let i = 0; i <= at; i++) unknownKid(positions[i]);
      if (found && providers[position].name !== undefined) (match as KeyMatch).identity = { consumer: providers[position].name! };
      return match;
    });
  }

  return {
    origin,
    lookup(token: DecodedToken, algorithm: Algorithm, options: LookupOptions): Maybe<KeyMatch | Problem> {
      const positions = chosen(token.payload.iss);
      if (positions.length === 0) return fail('KEY_NOT_FOUND', 'iss ' + quote(token.payload.iss) + ' is none of the identity providers');
      return tryFrom(positions, 0, token, algorithm, options);
    },
  };
}

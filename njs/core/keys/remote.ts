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
import { JsonObject } from '../strict-json';
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
    problems(): Problem[] {
      const all: Problem[] = [];
      for (let i = 0; i < keysOf.length; i++) {
        const keys = keysOf[i]();
        const found = isProblem(keys) ? [keys] : keys.problems();
        for (let j = 0; j < found.length; j++) all.push(found[j]);
      }
      return all;
    },
  };
}

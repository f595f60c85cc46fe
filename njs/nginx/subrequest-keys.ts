/**
 * Identity providers' keys where njs has no shared memory (0.7.9), for the
 * auth_request styles, whose js_content handler may wait. nginx fetches them
 * through a subrequest to /_jwt_jwks (nginx/jwt-jwks-request-locations.conf),
 * which proxies the URL with proxy_cache: the requests and workers that ask
 * at once make one fetch. Each provider's last good keys are kept in a file of
 * $auth_jwt_jwks_dir, which an answer that is no usable JWK Set never
 * replaces. Requests read that file, and ask again only when the keys are
 * due (Cache-Control max-age within the bounds) or for a token whose kid is
 * not there, at most once per refetch interval: the file is every worker's,
 * so that holds for the whole nginx.
 */
import { Algorithm } from '../core/algorithms';
import { configProblem, describeProblem, fail, isProblem, LOG_PREFIX, Problem } from '../core/errors';
import { jwksSource } from '../core/keys/jwks';
import {
  Answer,
  fetchedLine,
  fetchProviderKeys,
  KeptKeys,
  keptKeys,
  notRefreshedLine,
  Provider,
  providerName,
  providersSource,
  refreshAfter,
  sourceId,
} from '../core/keys/remote';
import { DecodedToken, KeyMatch, KeySource, LookupOptions } from '../core/keys/types';
import { andThen, Maybe } from '../core/maybe';
import { parseJsonObject } from '../core/strict-json';
import { engineCapabilities, sha256Base64 } from './engine';
import { readFile, replaceFile } from './files';
import { Settings } from './settings';

/** The internal location of nginx/jwt-jwks-request-locations.conf. */
const FETCH_LOCATION = '/_jwt_jwks';

function header(reply: NginxHTTPRequest, name: string): string | null {
  const value = reply.headersOut[name];
  return typeof value === 'string' ? value : null;
}

/**
 * A GET through /_jwt_jwks, the URL as the subrequest's arguments: $args is
 * the subrequest's own, where a variable (js_set, map) would keep the value
 * of the request's first subrequest. The callback form: a promise resolved
 * with the reply makes njs 0.7.9 warn of deprecated members.
 */
function subrequestAnswer(r: NginxHTTPRequest, url: string): Promise<Answer | Problem> {
  return new Promise((resolve) => {
    try {
      r.subrequest(FETCH_LOCATION, { args: url }, (reply: NginxHTTPRequest) =>
        resolve({
          status: reply.status,
          body: reply.responseBuffer || new Uint8Array(0),
          cacheControl: header(reply, 'Cache-Control'),
        }),
      );
    } catch (e) {
      resolve(configProblem(url, undefined, undefined, 'cannot be fetched through ' + FETCH_LOCATION + ': ' + (e as { message?: string }).message));
    }
  });
}

/** The file of a provider's kept keys: named by a digest of its ID, which the file also holds. */
function keptPath(dir: string, id: string): string {
  return dir.replace(/\/+$/, '') + '/jwks-' + sha256Base64(id).replace(/\//g, '_').replace(/\+/g, '-').replace(/=+$/, '') + '.json';
}

function readKept(path: string, id: string): KeptKeys | null {
  let bytes: Uint8Array;
  try {
    bytes = readFile(path);
  } catch (e) {
    return null;
  }
  const document = parseJsonObject(bytes);
  return typeof document === 'string' ? null : keptKeys(document, id);
}

/** Keeps the keys for the next requests; a directory that cannot be written refuses the tokens and says so. */
function keep(path: string, kept: KeptKeys): Problem | null {
  try {
    replaceFile(path, JSON.stringify(kept));
    return null;
  } catch (e) {
    const problem = fail(
      'KEYS_UNAVAILABLE',
      describeProblem(
        configProblem(
          path,
          undefined,
          undefined,
          'cannot be written (' + (e as { message?: string }).message + '): $auth_jwt_jwks_dir must be a directory the nginx worker user can write',
        ),
      ),
    );
    problem.severity = 'error';
    return problem;
  }
}

interface Held {
  kept: KeptKeys;
  /** Whether this request asked for them (so it logs at error what it found wrong). */
  asked: boolean;
}

/** The kept keys as they stay when nothing newer comes: asked for now, due again a refetch interval later. */
function retried(id: string, kept: KeptKeys | null, now: number, settings: Settings): KeptKeys {
  const known = kept !== null && kept.keys.length > 0;
  return { id, fetchedAt: known ? kept!.fetchedAt : 0, checkedAt: now, next: now + settings.jwksRefresh.refetchInterval, keys: known ? kept!.keys : [] };
}

/**
 * Fetches the provider's keys through the cache and keeps what may be kept;
 * what went wrong is logged here. The fetch is claimed in the file first:
 * meanwhile the other requests and workers use the kept keys, and a fetch
 * that never ends (nginx drops the request whose answer is over
 * subrequest_output_buffer_size) is tried again a refetch interval later.
 */
function refresh(
  r: NginxHTTPRequest,
  path: string,
  id: string,
  provider: Provider,
  settings: Settings,
  kept: KeptKeys | null,
  now: number,
): Promise<Held | Problem> {
  const claimed = keep(path, retried(id, kept, now, settings));
  if (claimed) return Promise.resolve(claimed);
  return fetchProviderKeys(provider, (url) => subrequestAnswer(r, url), engineCapabilities()).then((found) => {
    if (!isProblem(found)) {
      // The cache's copy is at most a few seconds old (proxy_cache_valid), never a stale one.
      const after = refreshAfter(found.cacheControl, settings.jwksRefresh);
      r.log(LOG_PREFIX + fetchedLine(provider, found, after));
      const fresh: KeptKeys = { id, fetchedAt: now, checkedAt: now, next: now + after, keys: found.keys };
      return keep(path, fresh) || { kept: fresh, asked: true };
    }
    // This request's claim, or keys another worker kept meanwhile.
    const latest = readKept(path, id) || retried(id, kept, now, settings);
    const keptAge = latest.keys.length > 0 ? now - latest.fetchedAt : null;
    r.error(LOG_PREFIX + notRefreshedLine(provider, describeProblem(found), keptAge, settings.jwksRefresh.refetchInterval));
    return { kept: latest, asked: true };
  });
}

/** The kept keys as a key source, or why they may not be used (none yet, past the maximum stale age). */
function usable(held: Held, provider: Provider, settings: Settings, now: number): KeySource | Problem {
  const kept = held.kept;
  let problem: Problem | null = null;
  if (kept.keys.length === 0)
    problem = fail(
      'KEYS_UNAVAILABLE',
      'keys of ' + providerName(provider) + ' not fetched yet (the first fetch is under way, or failed: its error is in this log)',
    );
  else if (now - kept.fetchedAt > settings.jwksMaxStale)
    problem = fail(
      'KEYS_UNAVAILABLE',
      'keys of ' +
        providerName(provider) +
        ' last fetched ' +
        (now - kept.fetchedAt) +
        ' s ago, over $auth_jwt_jwks_max_stale (' +
        settings.jwksMaxStale +
        ' s): every fetch since failed, see the errors in this log',
    );
  if (problem === null) return jwksSource({ keys: kept.keys }, providerName(provider), engineCapabilities());
  // Logged at error by the request that asked, at info by those that use its answer until the next try.
  if (held.asked) problem.severity = 'error';
  return problem;
}

function found(match: KeyMatch | Problem): boolean {
  return !isProblem(match) && match.keys.length > 0;
}

/** One provider's keys for this request: read from its file, fetched first when due, fetched again for an unknown kid when allowed. */
function providerSource(r: NginxHTTPRequest, provider: Provider, settings: Settings, now: number): KeySource {
  const id = sourceId(provider, settings.jwksRefresh);
  const path = keptPath(settings.jwksDir, id);
  let held: Maybe<Held | Problem> | null = null;

  function current(): Maybe<Held | Problem> {
    if (held !== null) return held;
    const kept = readKept(path, id);
    // A file that says it is due later than the longest refresh is not believed.
    const due = kept === null || now >= kept.next || kept.next > now + settings.jwksRefresh.maxRefresh;
    held = due ? refresh(r, path, id, provider, settings, kept, now) : { kept: kept!, asked: false };
    return held;
  }

  function lookupIn(ready: Held | Problem, token: DecodedToken, algorithm: Algorithm, options: LookupOptions): Maybe<KeyMatch | Problem> {
    if (isProblem(ready)) return ready;
    const keys = usable(ready, provider, settings, now);
    return isProblem(keys) ? keys : keys.lookup(token, algorithm, options);
  }

  return {
    origin: providerName(provider),
    lookup(token: DecodedToken, algorithm: Algorithm, options: LookupOptions): Maybe<KeyMatch | Problem> {
      return andThen(current(), (ready) =>
        andThen(lookupIn(ready, token, algorithm, options), (match) => {
          if (found(match) || isProblem(ready) || ready.asked || typeof token.header.kid !== 'string') return match;
          if (now - ready.kept.checkedAt < settings.jwksRefresh.refetchInterval) return match;
          held = refresh(r, path, id, provider, settings, ready.kept, now);
          return andThen(held, (again) => lookupIn(again, token, algorithm, options));
        }),
      );
    },
  };
}

/** The location's identity providers, fetched through subrequests; the setting that is missing for it otherwise. */
export function subrequestKeySource(r: NginxHTTPRequest, settings: Settings, now: number): KeySource | Problem {
  if (!settings.jwksDir) {
    return configProblem(
      undefined,
      '$auth_jwt_jwks_dir',
      undefined,
      'not set: njs ' +
        njs.version +
        ' has no js_shared_dict_zone, so the auth_request styles keep the providers\' keys in files of this directory (README, "Identity providers")',
    );
  }
  const keysOf = settings.providers.map((provider) => {
    const source = providerSource(r, provider, settings, now);
    return () => source;
  });
  return providersSource(settings.providers, keysOf, () => undefined);
}

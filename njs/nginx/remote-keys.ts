/**
 * Identity providers' keys in nginx (njs >= 0.8.1): a js_periodic handler,
 * the refresher (nginx/jwt-jwks-refresh.conf, one worker), fetches them with
 * ngx.fetch into a js_shared_dict_zone, and requests read them from there
 * synchronously, so the direct style (js_set) can use them. Requests never
 * fetch: they register their provider for the refresher, and a token with an
 * unknown kid only raises a flag, which the refresher answers at most once
 * per $auth_jwt_jwks_refetch_interval however many tokens raise it.
 *
 * The zone holds, per provider and refresh policy (the "source"):
 *   `source ID`  the provider is wanted (ID: kind, URL and policy, e.g.
 *                `issuer https://idp.example 60 600 30`);
 *   `keys ID`    its last good JWK Set and when it was fetched;
 *   `state ID`   the refresher's timing (next fetch, last attempt);
 *   `refetch ID` a token's kid was not found;
 *   `logged ID`  when a request last logged at error that its keys are not there.
 */
import { configProblem, describeProblem, fail, isProblem, LOG_PREFIX, Problem } from '../core/errors';
import { jwksSource } from '../core/keys/jwks';
import {
  Answer,
  fetchedLine,
  fetchProviderKeys,
  MAX_DOCUMENT_BYTES,
  notRefreshedLine,
  Provider,
  providerName,
  providersSource,
  RefreshPolicy,
  refreshAfter,
  sourceId,
  storedDocument,
  storedFetchTime,
  storedKeys,
} from '../core/keys/remote';
import { KeySource } from '../core/keys/types';
import { engineCapabilities } from './engine';
import { countFetch } from './metrics';
import { SharedZone, sharedZone } from './revocation';
import { Settings } from './settings';

/** What was built from a provider's stored keys, in a VM that outlives the request (QuickJS); rebuilt when the text changes. */
const built: { [id: string]: { text: string; source: KeySource } } = {};

/** Adds a key unless it is there; a full zone is logged by the refresher, not here. */
function flag(zone: SharedZone, key: string): void {
  try {
    zone.add(key, '1');
  } catch (e) {
    // the zone is full: the refresher cannot hear of it, and the request is decided as it is
  }
}

function seconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Keys that are not there: a 401, logged at error once per refetch interval
 * and provider (every such request would otherwise write an error line), at
 * info for the others.
 */
function unavailable(zone: SharedZone, id: string, policy: RefreshPolicy, now: number, detail: string): Problem {
  const problem = fail('KEYS_UNAVAILABLE', detail);
  const logged = Number(zone.get('logged ' + id) || 0);
  if (now - logged >= policy.refetchInterval) {
    try {
      zone.set('logged ' + id, String(now));
    } catch (e) {
      // a full zone: the line is logged at error all the same
    }
    problem.severity = 'error';
  }
  return problem;
}

/** Whether stored keys are within the maximum stale age (false for none). */
function isFresh(text: unknown, maxStale: number, now: number): text is string {
  return typeof text === 'string' && now - storedFetchTime(text) <= maxStale;
}

function providerKeys(zone: SharedZone, id: string, provider: Provider, settings: Settings, now: number): KeySource | Problem {
  const text = zone.get('keys ' + id);
  if (typeof text !== 'string') {
    flag(zone, 'source ' + id);
    const missing =
      'keys of ' + providerName(provider) + ' not fetched yet (the refresher of nginx/jwt-jwks-refresh.conf fetches them; its errors are in this log)';
    return unavailable(zone, id, settings.jwksRefresh, now, missing);
  }
  if (!isFresh(text, settings.jwksMaxStale, now)) {
    const stale =
      'keys of ' +
      providerName(provider) +
      ' last fetched ' +
      (now - storedFetchTime(text)) +
      ' s ago, over $auth_jwt_jwks_max_stale (' +
      settings.jwksMaxStale +
      ' s): every fetch since failed, see the refresher errors in this log';
    return unavailable(zone, id, settings.jwksRefresh, now, stale);
  }
  const kept = built[id];
  if (kept !== undefined && kept.text === text) return kept.source;
  const source = jwksSource(storedDocument(text), providerName(provider), engineCapabilities());
  built[id] = { text, source };
  return source;
}

/** Whether this njs has js_shared_dict_zone (0.8.0+; the refresher's js_periodic is 0.8.1+). */
export function hasSharedZones(): boolean {
  return typeof ngx === 'object' && !!(ngx as unknown as { shared?: unknown }).shared;
}

/** The direct style's config error where njs has no shared memory (0.7.9): what to use instead. */
export function remoteKeysNeedShared(settings: Settings): Problem {
  return configProblem(
    undefined,
    settings.providers[0].issuer !== undefined ? '$auth_jwt_oidc_issuer' : '$auth_jwt_jwks_uri',
    undefined,
    'the direct style needs njs >= 0.8.1 (js_shared_dict_zone, js_periodic), this is njs ' +
      njs.version +
      ': use an auth_request style (nginx/jwt-jwks-request-locations.conf) or `jwt-gateway jwks sync` with $auth_jwt_key_file (README, "Identity providers")',
  );
}

/** The location's identity providers as one key source, from the refresher's zone; a config error without the zone. */
export function remoteKeySource(settings: Settings, now: number): KeySource | Problem {
  const zone = sharedZone(settings.jwksZone);
  if (!zone) {
    return configProblem(
      undefined,
      '$auth_jwt_jwks_zone',
      undefined,
      'no js_shared_dict_zone named "' + settings.jwksZone + '": declare it at http level (js_shared_dict_zone zone=' + settings.jwksZone + ':1m;)',
    );
  }
  const providers = settings.providers;
  const ids: string[] = [];
  const keysOf: (() => KeySource | Problem)[] = [];
  for (let i = 0; i < providers.length; i++) {
    const id = sourceId(providers[i], settings.jwksRefresh);
    ids.push(id);
    keysOf.push(() => providerKeys(zone, id, providers[i], settings, now));
  }
  return providersSource(providers, keysOf, (position) => flag(zone, 'refetch ' + ids[position]));
}

/**
 * Whether every provider of the location has keys within the maximum stale
 * age: a token the direct style's cache holds is passed from it only then,
 * so keys past that age refuse cached tokens too.
 */
export function remoteKeysFresh(settings: Settings, now: number): boolean {
  const zone = sharedZone(settings.jwksZone);
  if (!zone) return false;
  for (let i = 0; i < settings.providers.length; i++) {
    if (!isFresh(zone.get('keys ' + sourceId(settings.providers[i], settings.jwksRefresh)), settings.jwksMaxStale, now)) return false;
  }
  return true;
}

type Reply = Awaited<ReturnType<typeof ngx.fetch>>;

/** A GET with ngx.fetch: the body is read only from a 200. */
function fetchAnswer(url: string): Promise<Answer | Problem> {
  return ngx.fetch(url, { max_response_body_size: MAX_DOCUMENT_BYTES, headers: { Accept: 'application/json' } }).then(
    (reply: Reply) => {
      const answer: Answer = {
        status: reply.status,
        body: new Uint8Array(0),
        cacheControl: reply.headers.get('Cache-Control'),
      };
      if (reply.status !== 200) return answer;
      return reply.arrayBuffer().then((body: ArrayBuffer) => {
        answer.body = new Uint8Array(body);
        return answer;
      });
    },
    (e: { message?: string }) =>
      configProblem(url, undefined, undefined, 'cannot be fetched (unreachable, timed out, or over the cap of ' + MAX_DOCUMENT_BYTES + ' bytes): ' + e.message),
  );
}

interface RefreshState {
  /** When the next regular fetch is due. */
  next: number;
  /** When the last fetch began. */
  attempt: number;
  /** When the fetch under way began; 0 for none. njs ends a run still going when the next one starts, so a run that finds it set knows that fetch was cut off. */
  busy: number;
}

function readState(zone: SharedZone, id: string): RefreshState {
  const text = zone.get('state ' + id);
  return typeof text === 'string' ? (JSON.parse(text) as RefreshState) : { next: 0, attempt: 0, busy: 0 };
}

function parseSourceId(id: string): { provider: Provider; policy: RefreshPolicy } {
  const parts = id.split(' ');
  const provider: Provider = parts[0] === 'issuer' ? { issuer: parts[1] } : { jwksUri: parts[1] };
  return { provider, policy: { minRefresh: Number(parts[2]), maxRefresh: Number(parts[3]), refetchInterval: Number(parts[4]) } };
}

/** A fetch that did not give keys: logged with what stays in use, and tried again a refetch interval later. */
function failed(zone: SharedZone, id: string, state: RefreshState, policy: RefreshPolicy, why: string): void {
  const done = seconds();
  state.busy = 0;
  state.next = done + policy.refetchInterval;
  zone.set('state ' + id, JSON.stringify(state));
  const kept = zone.get('keys ' + id);
  const keptAge = typeof kept === 'string' ? done - storedFetchTime(kept) : null;
  const provider = parseSourceId(id).provider;
  countFetch(providerName(provider), false);
  ngx.log(ngx.ERR, LOG_PREFIX + notRefreshedLine(provider, why, keptAge, policy.refetchInterval));
}

/** Fetches one source's keys when they are due (or a token's kid was not found, at most once per refetch interval). */
function refreshSource(zone: SharedZone, id: string, now: number): Promise<void> | null {
  const source = parseSourceId(id);
  const policy = source.policy;
  const state = readState(zone, id);
  if (state.busy) {
    failed(
      zone,
      id,
      state,
      policy,
      'the fetch begun ' + (now - state.busy) + ' s ago did not end before the refresher ran again (js_periodic interval in jwt-jwks-refresh.conf)',
    );
    return null;
  }
  const unknownKid = zone.get('refetch ' + id) !== undefined;
  if (now < state.next && !(unknownKid && now - state.attempt >= policy.refetchInterval)) return null;
  state.busy = now;
  state.attempt = now;
  zone.set('state ' + id, JSON.stringify(state));
  return fetchProviderKeys(source.provider, fetchAnswer, engineCapabilities())
    .then((found) => {
      if (isProblem(found)) {
        failed(zone, id, state, policy, describeProblem(found));
        return;
      }
      const done = seconds();
      const after = refreshAfter(found.cacheControl, policy);
      zone.set('keys ' + id, storedKeys(done, found.keys));
      zone.delete('refetch ' + id);
      state.busy = 0;
      state.next = done + after;
      zone.set('state ' + id, JSON.stringify(state));
      countFetch(providerName(source.provider), true);
      ngx.log(ngx.INFO, LOG_PREFIX + fetchedLine(source.provider, found, after));
    })
    .catch((e: { message?: string }) => failed(zone, id, state, policy, 'refresher: ' + e.message));
}

/** The js_periodic handler: every wanted provider whose keys are due. */
export function refreshKeys(session: NginxPeriodicSession): Promise<unknown> | void {
  const name = session.variables.auth_jwt_jwks_zone || 'jwt_jwks';
  const zone = sharedZone(name);
  if (!zone) {
    ngx.log(ngx.ERR, LOG_PREFIX + 'the refresher has no js_shared_dict_zone named "' + name + '" (njs >= 0.8.1): declare it at http level');
    return;
  }
  const now = seconds();
  const names = zone.keys();
  const work: Promise<void>[] = [];
  for (let i = 0; i < names.length; i++) {
    if (names[i].indexOf('source ') !== 0) continue;
    try {
      const running = refreshSource(zone, names[i].slice(7), now);
      if (running) work.push(running);
    } catch (e) {
      ngx.log(ngx.ERR, LOG_PREFIX + 'refresher: ' + (e as { message?: string }).message);
    }
  }
  return Promise.all(work);
}

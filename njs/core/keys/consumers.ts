/**
 * A consumer map, as APISIX and Kong users know it: consumers with labels and
 * credentials; the token names its credential through a claim (`key` by
 * default). Credentials are found by key through an index and their key
 * material prepared only when a token names them. A broken credential is
 * skipped; the others keep working.
 *
 * The classic engine builds a key source per request, so for large maps the
 * index comes with the document: `jwt-gateway index` stores the positions of
 * credentials and consumers in its "index" member (hash tables, hash-index.ts),
 * and a lookup then reads a slot or two and checks them against the document
 * (a stale entry finds nothing). A map without one is indexed at first use, a
 * walk over every entry.
 */
import { Algorithm, findAlgorithm } from '../algorithms';
import { configProblem, fail, isProblem, located, Problem, quote } from '../errors';
import { JsonObject } from '../strict-json';
import { buildTable, HashTable, INDEX_HASH, isTable, probe } from './hash-index';
import { keyFromPem, keyFromSecret } from './prepare';
import { Capabilities, DecodedToken, Identity, isPosition, KeyMatch, LocalKeySource, LookupOptions, VerificationKey } from './types';

export const DEFAULT_ALGORITHM = 'HS256';

export interface PreparedCredential {
  key: VerificationKey;
  graceSeconds: number;
}

/** A credential of the map: where it sits, its fields, whose it is, and its key once prepared. */
export interface Credential {
  consumerIndex: number;
  credentialIndex: number;
  fields: JsonObject;
  identity: Identity;
  prepared?: PreparedCredential | Problem;
}

/** Entry names are built only for messages: quoting costs a regex per call in njs. */
function consumerEntry(index: number, consumer: unknown): string {
  return 'consumers[' + index + ']' + (isObject(consumer) && typeof consumer.username === 'string' ? ' (' + quote(consumer.username) + ')' : '');
}

export function credentialEntry(consumers: ConsumerAt, consumerIndex: number, credentialIndex: number): string {
  const consumer = consumers(consumerIndex) as JsonObject;
  const fields = (consumer.credentials as unknown[])[credentialIndex];
  const id = isObject(fields) && typeof fields.id === 'string' ? ' (' + quote(fields.id) + ')' : '';
  return consumerEntry(consumerIndex, consumer) + '.credentials[' + credentialIndex + ']' + id;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const ENV_REFERENCE = /^\$env:\/\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** `$env://NAME` (as in APISIX) is replaced by the environment variable; null when it is not set. */
function resolveReference(value: unknown, capabilities: Capabilities): unknown {
  const match = typeof value === 'string' ? ENV_REFERENCE.exec(value) : null;
  if (!match) return value;
  const resolved = capabilities.env ? capabilities.env(match[1]) : undefined;
  return resolved === undefined || resolved === '' ? null : resolved;
}

/** A credential's key and grace period, or why it cannot verify (the entry is for the key source to add). */
export function prepareCredential(fields: JsonObject, capabilities: Capabilities): PreparedCredential | Problem {
  const name = fields.algorithm === undefined ? DEFAULT_ALGORITHM : fields.algorithm;
  const algorithm = findAlgorithm(name);
  if (!algorithm) return configProblem(undefined, undefined, 'algorithm', 'unsupported algorithm ' + JSON.stringify(name));
  const grace = fields.lifetime_grace_period === undefined ? 0 : fields.lifetime_grace_period;
  if (typeof grace !== 'number' || !(grace >= 0) || grace !== Math.floor(grace)) {
    return configProblem(undefined, undefined, 'lifetime_grace_period', 'must be a whole number of seconds >= 0');
  }
  const field = algorithm.kty === 'oct' ? 'secret' : 'public_key';
  const material = resolveReference(fields[field], capabilities);
  if (material === null)
    return configProblem(
      undefined,
      undefined,
      field,
      'references ' + fields[field] + ', which is not set in the environment (njs >= 0.8.8 also needs `env NAME;` in nginx.conf)',
    );
  const key =
    algorithm.kty === 'oct' ? keyFromSecret(material, fields.base64_secret === true, algorithm.name) : keyFromPem(material, algorithm.name, capabilities);
  if (isProblem(key)) return key;
  return { key, graceSeconds: grace };
}

/** What `jwt-gateway index` stores: credential key -> [consumer, credential] (2 numbers a slot), username -> consumer. */
export interface StoredConsumerIndex {
  hash: string;
  keys: HashTable;
  usernames: HashTable;
}

/** consumers[i] of the map (undefined past its end or where the entry cannot be read). */
export type ConsumerAt = (i: number) => unknown;

/** Visits the stored index's candidates for a name (hash-index.ts probe): positions in the map. */
export type Candidates = (name: string, visit: (first: number, second: number) => boolean) => void;

/**
 * Where a consumer source reads the map: its parsed document, or its file
 * read by position (layout.ts). Lookups go through `consumer` and the stored
 * index only; `document` is for the walks over every entry (maps without an
 * index, `check`).
 */
export interface ConsumerStore {
  consumer: ConsumerAt;
  count: number;
  /** The stored index, null when the map has none (or not one this version reads). */
  keys: Candidates | null;
  usernames: Candidates | null;
  document(): unknown;
  /** Why the last read of the store found nothing, when it could not read (a file store). */
  problem?(): Problem | null;
}

/** A source keeps at most this many lookups: on QuickJS it lives as long as its context, which njs drops when it grows past 4 MB. */
const REMEMBERED_LOOKUPS = 1000;

/** Every consumer and credential of a map, found by walking it, with what is wrong with them. */
export interface ConsumerIndex {
  byKey: { [key: string]: Credential };
  /** Position of the first consumer with each username, in document order. */
  byUsername: { [username: string]: number };
  credentials: Credential[];
  problems: Problem[];
}

function consumerIdentity(consumer: JsonObject): Identity {
  const labels = isObject(consumer.labels) ? consumer.labels : {};
  const identity: Identity = { consumer: consumer.username as string };
  if (typeof labels.custom_id === 'string') identity.customId = labels.custom_id;
  return identity;
}

function credentialOf(consumers: ConsumerAt, consumerIndex: number, credentialIndex: number, fields: JsonObject): Credential {
  const consumer = consumers(consumerIndex) as JsonObject;
  const identity = consumerIdentity(consumer);
  if (typeof fields.id === 'string') identity.credential = fields.id;
  return { consumerIndex, credentialIndex, fields, identity };
}

function notAMap(origin: string): Problem {
  return configProblem(origin, 'consumer map', 'consumers', 'missing (expected {"consumers": [ ... ]})');
}

/** Every consumer and credential, in order, with what is wrong with them: the first of duplicates wins. */
export function indexConsumers(document: unknown, origin: string): ConsumerIndex {
  const built: ConsumerIndex = { byKey: {}, byUsername: {}, credentials: [], problems: [] };
  const listed = isObject(document) ? document.consumers : undefined;
  if (!Array.isArray(listed)) {
    built.problems.push(notAMap(origin));
    return built;
  }
  const consumers: ConsumerAt = (i) => listed[i];
  for (let i = 0; i < listed.length; i++) {
    const consumer = listed[i];
    if (!isObject(consumer)) {
      built.problems.push(configProblem(origin, consumerEntry(i, consumer), '-', 'not a JSON object'));
      continue;
    }
    const username = consumer.username;
    if (typeof username !== 'string' || username === '') {
      built.problems.push(configProblem(origin, consumerEntry(i, consumer), 'username', 'missing (a non-empty string is required)'));
      continue;
    }
    if (built.byUsername['#' + username] !== undefined)
      built.problems.push(configProblem(origin, consumerEntry(i, consumer), 'username', 'duplicate username'));
    else built.byUsername['#' + username] = i;
    const list = consumer.credentials;
    if (!Array.isArray(list)) {
      built.problems.push(configProblem(origin, consumerEntry(i, consumer), 'credentials', 'missing (expected an array of credentials)'));
      continue;
    }
    for (let j = 0; j < list.length; j++) {
      const fields = list[j];
      if (!isObject(fields)) {
        built.problems.push(configProblem(origin, credentialEntry(consumers, i, j), '-', 'not a JSON object'));
        continue;
      }
      if (typeof fields.key !== 'string' || fields.key === '') {
        built.problems.push(configProblem(origin, credentialEntry(consumers, i, j), 'key', 'missing (a non-empty string is required)'));
        continue;
      }
      if (built.byKey['#' + fields.key]) {
        const message = 'duplicate key ' + quote(fields.key) + ' (the first credential with it is used)';
        built.problems.push(configProblem(origin, credentialEntry(consumers, i, j), 'key', message));
        continue;
      }
      const credential = credentialOf(consumers, i, j, fields);
      built.byKey['#' + fields.key] = credential;
      built.credentials.push(credential);
    }
  }
  return built;
}

/** What `jwt-gateway index` stores for this map: the credentials and usernames that win (the first of duplicates). */
export function consumerIndexOf(document: unknown): StoredConsumerIndex {
  const built = indexConsumers(document, '');
  const keys: string[] = [];
  const keyPositions: number[][] = [];
  for (let i = 0; i < built.credentials.length; i++) {
    const credential = built.credentials[i];
    keys.push(credential.fields.key as string);
    keyPositions.push([credential.consumerIndex, credential.credentialIndex]);
  }
  const names = Object.keys(built.byUsername);
  const usernames: string[] = [];
  const consumerPositions: number[][] = [];
  for (let i = 0; i < names.length; i++) {
    usernames.push(names[i].slice(1));
    consumerPositions.push([built.byUsername[names[i]]]);
  }
  // A spread of 2: maps of 100,000 consumers and more, whose tables a sparser spread would make megabytes longer.
  return { hash: INDEX_HASH, keys: buildTable(keys, keyPositions, 2, 2), usernames: buildTable(usernames, consumerPositions, 1, 2) };
}

/** The map's "index" member, when it is one this version reads. */
function storedIndex(document: unknown): StoredConsumerIndex | null {
  const index = isObject(document) ? document.index : undefined;
  return isObject(index) && index.hash === INDEX_HASH && isTable(index.keys, 2) && isTable(index.usernames, 1)
    ? (index as unknown as StoredConsumerIndex)
    : null;
}

/** Where a parsed map is read: the document, through its stored index when it has one. */
export function documentStore(document: unknown): ConsumerStore {
  const listed = isObject(document) ? document.consumers : undefined;
  const consumers: unknown[] = Array.isArray(listed) ? listed : [];
  const stored = Array.isArray(listed) ? storedIndex(document) : null;
  return {
    consumer: (i) => consumers[i],
    count: consumers.length,
    keys: stored && ((key, visit) => probe(stored.keys, 2, key, visit)),
    usernames: stored && ((username, visit) => probe(stored.usernames, 1, username, visit)),
    document: () => document,
  };
}

/** The consumer source of a parsed map. */
export function consumersSource(document: unknown, origin: string, capabilities: Capabilities): LocalKeySource {
  return storeSource(documentStore(document), origin, capabilities);
}

/** The credential the store's index names for `key`, if the map still has it there (null without an index). */
export function credentialThroughIndex(store: ConsumerStore, key: string): Credential | null {
  if (store.keys === null) return null;
  const consumers = store.consumer;
  let credential: Credential | null = null;
  store.keys(key, (i, j) => {
    const consumer = isPosition(i) && isPosition(j) ? consumers(i) : undefined;
    const list = isObject(consumer) && typeof consumer.username === 'string' && consumer.username !== '' ? consumer.credentials : undefined;
    const fields = Array.isArray(list) ? list[j] : undefined;
    if (isObject(fields) && fields.key === key) credential = credentialOf(consumers, i, j, fields);
    return credential !== null;
  });
  return credential;
}

/** The position of the consumer the store's index names for `username`, or -1 (also without an index). */
export function consumerThroughIndex(store: ConsumerStore, username: string): number {
  if (store.usernames === null) return -1;
  let position = -1;
  store.usernames(username, (i) => {
    const consumer = isPosition(i) ? store.consumer(i) : undefined;
    if (isObject(consumer) && consumer.username === username) position = i;
    return position >= 0;
  });
  return position;
}

/** Why no token can verify: no consumer map, or no credential in it. */
export function noCredentials(document: unknown, origin: string): Problem {
  if (!isObject(document) || !Array.isArray(document.consumers)) return notAMap(origin);
  return configProblem(origin, 'consumer map', 'consumers', 'no credentials: no token can verify, so every token is refused');
}

/** The consumer source of a map read through `store`. */
export function storeSource(store: ConsumerStore, origin: string, capabilities: Capabilities): LocalKeySource {
  const consumers = store.consumer;
  const stored = store.keys !== null && store.usernames !== null;
  let built: ConsumerIndex | null = null;
  const index = (): ConsumerIndex => built || (built = indexConsumers(store.document(), origin));
  /** Credentials read through the stored index, kept while the source lives (bounded). */
  let found: { [key: string]: Credential | null } = {};
  let remembered = 0;

  /** The credential the stored index names for `key`, remembered. */
  function storedCredential(key: string): Credential | null {
    if (found['#' + key] !== undefined) return found['#' + key];
    const credential = credentialThroughIndex(store, key);
    if (++remembered > REMEMBERED_LOOKUPS) {
      found = {};
      remembered = 1;
    }
    found['#' + key] = credential;
    return credential;
  }

  function prepare(credential: Credential): PreparedCredential | Problem {
    if (credential.prepared === undefined) credential.prepared = prepareCredential(credential.fields, capabilities);
    return credential.prepared;
  }

  function entryOf(credential: Credential): string {
    return credentialEntry(consumers, credential.consumerIndex, credential.credentialIndex);
  }

  return {
    origin,
    lookup(token: DecodedToken, _algorithm: Algorithm, options: LookupOptions): KeyMatch | Problem {
      // The payload first, then the header, as Kong does: so `kid` can name the credential too.
      const claim = options.keyClaim;
      const own = Object.prototype.hasOwnProperty;
      const value = own.call(token.payload, claim) ? token.payload[claim] : own.call(token.header, claim) ? token.header[claim] : undefined;
      if (value === undefined || value === null || value === '') return fail('KEY_CLAIM_MISSING', 'no ' + quote(options.keyClaim) + ' claim in the token');
      const credential = typeof value !== 'string' ? undefined : stored ? storedCredential(value) : index().byKey['#' + value];
      if (!credential) {
        const unknown = fail('CREDENTIAL_UNKNOWN', 'no credential with key ' + quote(value) + ' in ' + origin);
        // A map without any credential refuses every token: say so in the log (cheap checks only, this is a failure path anyone can reach).
        if (store.count === 0 || (!stored && index().credentials.length === 0)) unknown.configProblems = [noCredentials(store.document(), origin)];
        const unread = store.problem ? store.problem() : null;
        if (unread) unknown.configProblems = [unread];
        return unknown;
      }
      const ready = prepare(credential);
      if (!isProblem(ready)) {
        // Tokens that name their credential by kid: revoking that kid revokes the credential, whether the kid came in the header or the payload.
        return {
          keys: [ready.key],
          identity: credential.identity,
          graceSeconds: ready.graceSeconds,
          skipped: [],
          kid: claim === 'kid' ? (value as string) : undefined,
        };
      }
      const problem = located(ready, origin, entryOf(credential));
      const failure = fail('CREDENTIAL_UNKNOWN', 'credential for key ' + quote(value) + ' is disabled by a config error');
      failure.configProblems = [problem];
      return failure;
    },
    consumer(username: string): Identity | null {
      const position = stored ? consumerThroughIndex(store, username) : index().byUsername['#' + username];
      return position === undefined || position < 0 ? null : consumerIdentity(consumers(position) as JsonObject);
    },
  };
}

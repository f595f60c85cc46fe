/**
 * `jwt-gateway consumer add|remove|rotate|list FILE`: the consumer map's
 * entries as commands, the way APISIX's and Kong's Admin APIs create a
 * consumer and give it a JWT credential. The changes here are pure (a new
 * document from the old one); cli/edit.ts checks and writes them.
 *
 * A credential's material is a public key PEM (its algorithm read from the
 * key unless `--alg` says otherwise), a secret from a file (keygen's
 * `.secret`), or, for an HMAC algorithm with neither, a new random secret
 * of the hash's size, kept in the map only (`sign` reads it there).
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { configProblem, isProblem, Problem } from '../njs/core/errors';
import { DEFAULT_ALGORITHM } from '../njs/core/keys/consumers';
import { JsonObject } from '../njs/core/strict-json';
import { newSecret } from './keygen';

export interface Material {
  algorithm: string;
  secret?: string;
  public_key?: string;
  /** Whether the secret was made here (the command says so; it never prints it). */
  generated: boolean;
}

const HMAC = ['HS256', 'HS384', 'HS512'];
const CURVE_ALGORITHMS: { [curve: string]: string } = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

function optionProblem(option: string, message: string): Problem {
  return configProblem(undefined, option, undefined, message);
}

/** The algorithm a public key is for: its type's (an EC key's curve), or `wanted` when that fits the key. */
function publicKeyAlgorithm(pem: string, file: string, wanted: string | undefined): string | Problem {
  if (/PRIVATE KEY/.test(pem))
    return configProblem(file, undefined, undefined, "is a private key: give the public one (keygen's .public.pem); the map never holds private keys");
  let details: { type?: string; curve?: string };
  try {
    const key = createPublicKey(pem);
    details = { type: key.asymmetricKeyType, curve: key.asymmetricKeyDetails?.namedCurve };
  } catch (e) {
    return configProblem(file, undefined, undefined, 'not a public key PEM: ' + (e as Error).message);
  }
  const fits =
    details.type === 'rsa'
      ? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
      : details.type === 'ed25519'
        ? ['EdDSA']
        : [CURVE_ALGORITHMS[details.curve ?? '']];
  if (!fits[0]) return configProblem(file, undefined, undefined, 'its key type (' + (details.curve ?? details.type) + ') is not one the gateway verifies with');
  if (wanted === undefined) return fits[0];
  return fits.includes(wanted) ? wanted : optionProblem('--alg', wanted + ' does not fit ' + file + ' (it fits ' + fits.join(', ') + ')');
}

/** What a secret file holds, when it is one: text on one line, not a PEM or a JWK (a key given where a secret was meant). */
function secretOf(text: string, file: string): string | Problem {
  const secret = text.replace(/\r?\n$/, '');
  if (/-----BEGIN/.test(secret) || /^\s*\{/.test(secret) || /[\r\n]/.test(secret)) {
    return configProblem(file, undefined, undefined, "is not a secret on one line (a PEM or a JWK?): give keygen's .secret, or a key with --public-key");
  }
  return secret;
}

/**
 * The key material the options give: `--public-key`, `--secret-file`, or a
 * new secret. `current` is the algorithm of the credential a rotation
 * changes: kept unless `--alg` says otherwise (or the new public key is of another type).
 */
export function materialOf(options: { alg?: string; secretFile?: string; publicKey?: string }, current?: string): Material | Problem {
  if (options.secretFile !== undefined && options.publicKey !== undefined)
    return optionProblem('--secret-file', 'give --secret-file or --public-key, not both');
  const readText = (file: string): string | Problem => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      return configProblem(file, undefined, undefined, 'cannot be read: ' + (e as Error).message);
    }
  };
  if (options.publicKey !== undefined) {
    const pem = readText(options.publicKey);
    if (typeof pem !== 'string') return pem;
    const kept = options.alg === undefined && current !== undefined && typeof publicKeyAlgorithm(pem, options.publicKey, current) === 'string';
    const algorithm = publicKeyAlgorithm(pem, options.publicKey, kept ? current : options.alg);
    return typeof algorithm === 'string' ? { algorithm, public_key: pem, generated: false } : algorithm;
  }
  const algorithm = options.alg ?? current ?? DEFAULT_ALGORITHM;
  if (!HMAC.includes(algorithm))
    return optionProblem('--alg', algorithm + ' needs --public-key PEM (an HMAC algorithm, ' + HMAC.join(', ') + ', takes a secret)');
  if (options.secretFile === undefined) return { algorithm, secret: newSecret(algorithm), generated: true };
  const text = readText(options.secretFile);
  if (typeof text !== 'string') return text;
  const secret = secretOf(text, options.secretFile);
  return typeof secret === 'string' ? { algorithm, secret, generated: false } : secret;
}

function consumersOf(document: JsonObject): JsonObject[] | Problem {
  return Array.isArray(document.consumers)
    ? (document.consumers as JsonObject[])
    : configProblem(undefined, 'consumer map', 'consumers', 'missing: not a consumer map ({"consumers": [...]})');
}

/** The position of the consumer with this username, -1 when none; a Problem when several have it (an edit of one would leave the other). */
function positionOf(consumers: JsonObject[], username: string): number | Problem {
  const found: number[] = [];
  consumers.forEach((consumer, i) => {
    if (consumer !== null && typeof consumer === 'object' && consumer.username === username) found.push(i);
  });
  if (found.length > 1) {
    return optionProblem(
      '--username',
      found.length +
        ' consumers are ' +
        JSON.stringify(username) +
        ' (consumers[' +
        found.join('], consumers[') +
        ']): make the usernames unique by hand first',
    );
  }
  return found.length ? found[0] : -1;
}

function credentialsOf(consumer: JsonObject): JsonObject[] {
  return Array.isArray(consumer.credentials) ? (consumer.credentials as JsonObject[]) : [];
}

function allKeys(consumers: JsonObject[]): string[] {
  return consumers.flatMap((consumer) =>
    consumer && typeof consumer === 'object'
      ? credentialsOf(consumer).map((credential) => (credential && typeof credential.key === 'string' ? credential.key : ''))
      : [],
  );
}

function withMaterial(credential: JsonObject, material: Material): JsonObject {
  const changed: JsonObject = { ...credential, algorithm: material.algorithm };
  delete changed.secret;
  delete changed.base64_secret;
  delete changed.public_key;
  if (material.secret !== undefined) changed.secret = material.secret;
  else changed.public_key = material.public_key as string;
  return changed;
}

function replaced(document: JsonObject, consumers: JsonObject[]): JsonObject {
  return { ...document, consumers };
}

/** The username, or username-2, username-3, ... : the first no credential has. */
function freeKey(username: string, keys: string[]): string {
  let key = username;
  for (let n = 2; keys.includes(key); n++) key = username + '-' + n;
  return key;
}

export interface AddOptions {
  username: string;
  /** The credential's `key`, which tokens name in their key claim (default: the username, or username-2, ... when taken). */
  key?: string;
  /** The credential's `id` ($jwt_credential, X-Credential-Identifier; default: its key). */
  id?: string;
  customId?: string;
  material: Material;
}

/** A new consumer with one credential, or one more credential for an existing consumer. */
export function addConsumer(document: JsonObject, options: AddOptions): JsonObject | Problem {
  const consumers = consumersOf(document);
  if (!Array.isArray(consumers)) return consumers;
  const keys = allKeys(consumers);
  const key = options.key ?? freeKey(options.username, keys);
  if (keys.includes(key))
    return optionProblem('--key', 'a credential with key ' + JSON.stringify(key) + ' is in the map already (keys name credentials, so each is unique)');
  const credential = withMaterial({ id: options.id ?? key, key }, options.material);
  const at = positionOf(consumers, options.username);
  if (isProblem(at)) return at;
  const changed = consumers.slice();
  if (at < 0) {
    const consumer: JsonObject = { username: options.username, credentials: [credential] };
    if (options.customId !== undefined) consumer.labels = { custom_id: options.customId };
    changed.push(consumer);
  } else {
    const consumer: JsonObject = { ...consumers[at], credentials: credentialsOf(consumers[at]).concat([credential]) };
    if (options.customId !== undefined) consumer.labels = { ...((consumer.labels as JsonObject) || {}), custom_id: options.customId };
    changed[at] = consumer;
  }
  return replaced(document, changed);
}

/** The consumer and which of its credentials `wanted` (an id or key) names: its only one when not given. */
function findCredential(consumers: JsonObject[], username: string, wanted: string | undefined): { at: number; credential: number } | Problem {
  const at = positionOf(consumers, username);
  if (isProblem(at)) return at;
  if (at < 0) return optionProblem('--username', 'no consumer ' + JSON.stringify(username) + ' in the map');
  const credentials = credentialsOf(consumers[at]);
  if (credentials.length === 0) return optionProblem('--username', JSON.stringify(username) + ' has no credentials');
  const names = credentials
    .map((credential) => JSON.stringify(credential && credential.id !== undefined ? credential.id : credential && credential.key))
    .join(', ');
  if (wanted === undefined) {
    if (credentials.length === 1) return { at, credential: 0 };
    return optionProblem(
      '--credential',
      JSON.stringify(username) + ' has ' + credentials.length + ' credentials' + (names ? ' (' + names + ')' : '') + ': name one with --credential ID',
    );
  }
  // The id first ($jwt_credential, what the upstream is told); a key that names another credential makes it ambiguous.
  const byId = credentials.findIndex((entry) => entry && entry.id === wanted);
  const byKey = credentials.findIndex((entry) => entry && entry.key === wanted);
  if (byId >= 0 && byKey >= 0 && byId !== byKey) {
    return optionProblem(
      '--credential',
      JSON.stringify(wanted) + ' is the id of one credential of ' + JSON.stringify(username) + ' and the key of another: rename one',
    );
  }
  const credential = byId >= 0 ? byId : byKey;
  if (credential < 0)
    return optionProblem(
      '--credential',
      JSON.stringify(username) + ' has no credential with id or key ' + JSON.stringify(wanted) + (names ? ' (it has ' + names + ')' : ''),
    );
  return { at, credential };
}

/** Without the consumer, or (with `credential`) without that one credential of it. */
export function removeConsumer(document: JsonObject, username: string, credential?: string): JsonObject | Problem {
  const consumers = consumersOf(document);
  if (!Array.isArray(consumers)) return consumers;
  if (credential === undefined) {
    const at = positionOf(consumers, username);
    if (isProblem(at)) return at;
    if (at < 0) return optionProblem('--username', 'no consumer ' + JSON.stringify(username) + ' in the map');
    return replaced(
      document,
      consumers.filter((_, i) => i !== at),
    );
  }
  const found = findCredential(consumers, username, credential);
  if (isProblem(found)) return found;
  const changed = consumers.slice();
  changed[found.at] = { ...consumers[found.at], credentials: credentialsOf(consumers[found.at]).filter((_, i) => i !== found.credential) };
  return replaced(document, changed);
}

/**
 * The credential with new key material (and algorithm); its key and id stay,
 * so tokens name it as before. `materialFor` gets the credential's algorithm
 * now, which the new material keeps unless told otherwise.
 */
export function rotateCredential(
  document: JsonObject,
  username: string,
  credential: string | undefined,
  materialFor: (current: string) => Material | Problem,
): JsonObject | Problem {
  const consumers = consumersOf(document);
  if (!Array.isArray(consumers)) return consumers;
  const found = findCredential(consumers, username, credential);
  if (isProblem(found)) return found;
  const changed = consumers.slice();
  const credentials = credentialsOf(consumers[found.at]).slice();
  const old = credentials[found.credential];
  const material = materialFor(old && typeof old.algorithm === 'string' ? old.algorithm : DEFAULT_ALGORITHM);
  if (isProblem(material)) return material;
  credentials[found.credential] = withMaterial(old, material);
  changed[found.at] = { ...consumers[found.at], credentials };
  return replaced(document, changed);
}

export interface ListedConsumer {
  username: string;
  custom_id?: string;
  /** Each credential's id, key and algorithm: never its secret. */
  credentials: { id?: string; key?: string; algorithm: string }[];
}

export function listConsumers(document: JsonObject): ListedConsumer[] | Problem {
  const consumers = consumersOf(document);
  if (!Array.isArray(consumers)) return consumers;
  return consumers
    .filter((consumer) => consumer !== null && typeof consumer === 'object')
    .map((consumer) => {
      const labels = consumer.labels as JsonObject | undefined;
      const listed: ListedConsumer = {
        username: String(consumer.username),
        custom_id: labels && typeof labels.custom_id === 'string' ? labels.custom_id : undefined,
        credentials: [],
      };
      listed.credentials = credentialsOf(consumer)
        .filter((credential) => credential !== null && typeof credential === 'object')
        .map((credential) => {
          const shown: { id?: string; key?: string; algorithm: string } = {
            algorithm: typeof credential.algorithm === 'string' ? credential.algorithm : DEFAULT_ALGORITHM,
          };
          if (typeof credential.id === 'string') shown.id = credential.id;
          if (typeof credential.key === 'string') shown.key = credential.key;
          return shown;
        });
      return listed;
    });
}

export function consumersText(listed: ListedConsumer[]): string {
  return listed
    .map(
      (consumer) =>
        consumer.username +
        (consumer.custom_id !== undefined ? ' (custom id ' + consumer.custom_id + ')' : '') +
        ': ' +
        (consumer.credentials
          .map(
            (credential) =>
              'key ' +
              credential.key +
              ' ' +
              credential.algorithm +
              (credential.id !== undefined && credential.id !== credential.key ? ' id ' + credential.id : ''),
          )
          .join(', ') || 'no credentials') +
        '\n',
    )
    .join('');
}

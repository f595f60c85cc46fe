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
  if (!fits[0]) return configProblem(file, undefined, undefined, 'a ' + (details.curve ?? details.type) + ' key, which the gateway does not verify with');
  if (wanted === undefined) return fits[0];
  return fits.includes(wanted) ? wanted : optionProblem('--alg', wanted + ' does not fit ' + file + ' (it fits ' + fits.join(', ') + ')');
}

/** The key material the options give: `--public-key`, `--secret-file`, or a new secret. */
export function materialOf(options: { alg?: string; secretFile?: string; publicKey?: string }): Material | Problem {
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
    const algorithm = publicKeyAlgorithm(pem, options.publicKey, options.alg);
    return typeof algorithm === 'string' ? { algorithm, public_key: pem, generated: false } : algorithm;
  }
  const algorithm = options.alg ?? DEFAULT_ALGORITHM;
  if (!HMAC.includes(algorithm))
    return optionProblem('--alg', algorithm + ' needs --public-key PEM (an HMAC algorithm, ' + HMAC.join(', ') + ', takes a secret)');
  if (options.secretFile === undefined) return { algorithm, secret: newSecret(algorithm), generated: true };
  const text = readText(options.secretFile);
  return typeof text === 'string' ? { algorithm, secret: text.replace(/\r?\n$/, ''), generated: false } : text;
}

function consumersOf(document: JsonObject): JsonObject[] | Problem {
  return Array.isArray(document.consumers)
    ? (document.consumers as JsonObject[])
    : configProblem(undefined, 'consumer map', 'consumers', 'missing: not a consumer map ({"consumers": [...]})');
}

function positionOf(consumers: JsonObject[], username: string): number {
  return consumers.findIndex((consumer) => consumer !== null && typeof consumer === 'object' && consumer.username === username);
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
  if (at < 0) return optionProblem('--username', 'no consumer ' + JSON.stringify(username) + ' in the map');
  const credentials = credentialsOf(consumers[at]);
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
  const credential = credentials.findIndex((entry) => entry && (entry.id === wanted || entry.key === wanted));
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

/** The credential with new key material (and algorithm); its key and id stay, so tokens name it as before. */
export function rotateCredential(document: JsonObject, username: string, credential: string | undefined, material: Material): JsonObject | Problem {
  const consumers = consumersOf(document);
  if (!Array.isArray(consumers)) return consumers;
  const found = findCredential(consumers, username, credential);
  if (isProblem(found)) return found;
  const changed = consumers.slice();
  const credentials = credentialsOf(consumers[found.at]).slice();
  credentials[found.credential] = withMaterial(credentials[found.credential], material);
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

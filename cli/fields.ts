/**
 * The members of the files `check` reads (consumer maps, JWK Sets, deny
 * lists): each with its type and meaning, in one place. `check` reports a
 * member of a closed object that is not listed here (unknown field), and
 * build/schemas.ts writes the JSON Schemas editors validate and complete the
 * files with (nginx/schemas/). The gateway reads only the members it uses
 * and ignores the others, so nothing here is in the request bundle.
 */
import { algorithmNames, findAlgorithm } from '../njs/core/algorithms';
import { configProblem, Problem } from '../njs/core/errors';
import { JsonObject } from '../njs/core/strict-json';

/** What a member may hold, as far as the files' readers tell. */
export type Shape =
  | { type: 'string'; enum?: string[]; minLength?: number; pattern?: string }
  | { type: 'boolean' }
  | { type: 'integer'; minimum?: number; maximum?: number }
  | { type: 'array'; items: Shape; contains?: string }
  | { type: 'anyOf'; of: Shape[] }
  /** A member that must not be there at all. */
  | { type: 'absent' }
  | ObjectShape;

export interface Field {
  name: string;
  /** One line: what the member means to the gateway. */
  description: string;
  shape: Shape;
  required?: boolean;
  /** For tools, not the gateway ($schema): accepted, but left out of the "known:" list of check's messages. */
  tooling?: boolean;
}

export interface ObjectShape {
  type: 'object';
  fields: Field[];
  /** Members it does not list are unknown fields (check) and refused (schema); an open object has room for others (RFC 7517 lets JWKs and JWK Sets have more). */
  closed: boolean;
  /** Members that some values of another member require (a JWK's kty); `orAbsent` when its default is one of the values. */
  cases?: { field: string; values: string[]; orAbsent?: boolean; required: string[] }[];
}

export interface DocumentSpec {
  /** Its schema's file name in nginx/schemas/. */
  schemaFile: string;
  title: string;
  description: string;
  shape: ObjectShape;
}

const string = (more: { enum?: string[]; minLength?: number; pattern?: string } = {}): Shape => ({ type: 'string', ...more });
const nonEmpty = string({ minLength: 1 });
const base64url = string({ pattern: '^[A-Za-z0-9_-]+$' });
const wholeNumber = (minimum?: number, maximum?: number): Shape => ({ type: 'integer', minimum, maximum });
const object = (fields: Field[], closed: boolean, cases?: ObjectShape['cases']): ObjectShape => ({ type: 'object', fields, closed, cases });
const field = (name: string, shape: Shape, description: string, required = false): Field => ({ name, shape, description, required });

const SCHEMA: Field = { name: '$schema', shape: string(), description: 'The JSON Schema of this file, for editors; the gateway ignores it.', tooling: true };

const hmacAlgorithms = algorithmNames().filter((name) => findAlgorithm(name)!.kty === 'oct');
const keyAlgorithms = algorithmNames().filter((name) => findAlgorithm(name)!.kty !== 'oct');
/** Key types and curves as the algorithms name them: oct, RSA, EC, OKP; P-256, P-384, P-521, Ed25519. */
const unique = (values: (string | undefined)[]) => values.filter((value, i): value is string => value !== undefined && values.indexOf(value) === i);
const keyTypes = unique(algorithmNames().map((name) => findAlgorithm(name)!.kty));
const curves = unique(algorithmNames().map((name) => findAlgorithm(name)!.crv));

export const CREDENTIAL = object(
  [
    field('id', string(), 'Credential id, unique in the map: sent upstream as X-Credential-Identifier.'),
    field('key', nonEmpty, "What the token's key claim (`key` by default) carries to name this credential; unique in the map.", true),
    field('algorithm', string({ enum: algorithmNames() }), 'The only algorithm this credential verifies (default HS256).'),
    field('secret', nonEmpty, 'HMAC secret for HS256/384/512, at least 32, 48 or 64 bytes (RFC 7518 3.2); or $env://NAME.'),
    field('base64_secret', { type: 'boolean' }, 'The secret is base64 (default false).'),
    field('public_key', nonEmpty, 'PEM public key (PUBLIC KEY or RSA PUBLIC KEY) for RS*, PS*, ES* and EdDSA; or $env://NAME.'),
    field('lifetime_grace_period', wholeNumber(0), "Extra seconds of leeway for this credential's exp and nbf (default 0)."),
    field('desc', string(), 'A description, for people.'),
  ],
  true,
  [
    { field: 'algorithm', values: hmacAlgorithms, orAbsent: true, required: ['secret'] },
    { field: 'algorithm', values: keyAlgorithms, required: ['public_key'] },
  ],
);

export const RATE_LIMIT = object(
  [
    field('count', wholeNumber(1), 'Requests allowed in each time_window.', true),
    field('time_window', wholeNumber(1), 'The window, in seconds.', true),
    field('rejected_code', wholeNumber(400, 599), "The status of the requests over the limit (default 429; one for the whole location's consumers)."),
  ],
  false,
);

export const CONSUMER = object(
  [
    field('username', nonEmpty, "The consumer's name, unique in the map: $jwt_consumer, sent upstream as X-Consumer-Username.", true),
    field(
      'labels',
      object([field('custom_id', string(), 'Sent upstream as X-Consumer-Custom-Id.')], false),
      'Labels, as in APISIX: custom_id is sent upstream.',
    ),
    field('credentials', { type: 'array', items: CREDENTIAL }, "The consumer's credentials (none for the anonymous consumer).", true),
    field('limit', RATE_LIMIT, 'A rate limit, as APISIX limit-count: `jwt-gateway rate-limits` writes its nginx configuration.'),
    field('desc', string(), 'A description, for people.'),
  ],
  true,
);

const index = (what: string) =>
  field('index', object([], false), 'Written by `jwt-gateway index` (' + what + '): never edited, written again after every change of the file.');

export const CONSUMER_MAP: DocumentSpec = {
  schemaFile: 'consumers.schema.json',
  title: 'jwt-gateway consumer map',
  description: 'Consumers and their credentials ($auth_jwt_consumers); a token names its credential by its key claim.',
  shape: object(
    [
      SCHEMA,
      field('consumers', { type: 'array', items: CONSUMER }, 'The consumers, each with a unique username.', true),
      index('hash tables of credential keys and usernames, and the layout of the file'),
    ],
    false,
  ),
};

export const JWK = object(
  [
    field('kty', string({ enum: keyTypes }), 'Key type: oct (an HMAC secret), RSA, EC, or OKP (Ed25519, njs >= 0.9.7).', true),
    field('kid', string(), 'Key id: a token whose header names it is checked against the keys with it only.'),
    field('alg', string({ enum: algorithmNames() }), 'The only algorithm this key verifies; without it, those its type allows.'),
    field('use', string({ enum: ['sig'] }), 'Public key use: only signature keys verify ("enc" keys are refused).'),
    field('key_ops', { type: 'array', items: string(), contains: 'verify' }, 'Key operations: must include "verify".'),
    field('k', base64url, 'oct: the secret, base64url, at least as long as the hash (32, 48 or 64 bytes).'),
    field('n', base64url, 'RSA: the modulus, base64url, at least 2048 bits.'),
    field('e', base64url, 'RSA: the public exponent, base64url.'),
    field('crv', string({ enum: curves }), 'EC: P-256, P-384 or P-521; OKP: Ed25519.'),
    field('x', base64url, 'EC: the x coordinate; OKP: the public key; base64url.'),
    field('y', base64url, 'EC: the y coordinate, base64url.'),
    field('d', { type: 'absent' }, 'A private key: never configured here, publish only the public key.'),
  ],
  false,
  [
    { field: 'kty', values: ['oct'], required: ['k'] },
    { field: 'kty', values: ['RSA'], required: ['n', 'e'] },
    { field: 'kty', values: ['EC'], required: ['crv', 'x', 'y'] },
    { field: 'kty', values: ['OKP'], required: ['crv', 'x'] },
  ],
);

export const JWK_SET: DocumentSpec = {
  schemaFile: 'jwks.schema.json',
  title: 'jwt-gateway JWK Set',
  description: "A JWK Set (RFC 7517) of verification keys ($auth_jwt_key_file); a token's kid, else its alg, picks the keys tried.",
  shape: object(
    [
      SCHEMA,
      field('keys', { type: 'array', items: JWK }, 'The keys; several may share a kid when their kty, crv or alg tells them apart.', true),
      index('a hash table of kids, and the keys to try for tokens without one'),
    ],
    false,
  ),
};

/** A deny list's values: an array, or an object whose member names are the values (its members' values are notes). */
const REVOKED: Shape = { type: 'anyOf', of: [{ type: 'array', items: string() }, object([], false)] };

export const DENY_LIST: DocumentSpec = {
  schemaFile: 'deny-list.schema.json',
  title: 'jwt-gateway deny list',
  description:
    'Revoked tokens ($auth_jwt_revocation_list): each list is an array of values, or an object whose member names are the values (faster for long lists).',
  shape: object(
    [
      SCHEMA,
      field('jti', REVOKED, 'Token ids: a token whose jti is listed is refused.'),
      field('sub', REVOKED, 'Subjects: every token whose sub is listed is refused.'),
      field('kid', REVOKED, 'Key ids: a token whose header names a listed kid, or that a key with it verified, is refused.'),
    ],
    true,
  ),
};

export const DOCUMENTS: DocumentSpec[] = [CONSUMER_MAP, JWK_SET, DENY_LIST];

/** The field of `shape` with this name, if it lists one. */
export function fieldNamed(shape: ObjectShape, name: string): Field | undefined {
  return shape.fields.find((candidate) => candidate.name === name);
}

/** check's problem for a member that the closed `shape` does not list. */
export function unknownField(shape: ObjectShape, origin: string, entry: string, name: string): Problem {
  const known = shape.fields.filter((candidate) => !candidate.tooling).map((candidate) => candidate.name);
  return configProblem(origin, entry, name, 'unknown field (known: ' + known.join(', ') + ')');
}

/** check's problem for each member of `members` that the closed `shape` does not list. */
export function unknownFields(members: JsonObject, shape: ObjectShape, origin: string, entry: string, into: Problem[]): void {
  for (const name of Object.keys(members)) if (!fieldNamed(shape, name)) into.push(unknownField(shape, origin, entry, name));
}
